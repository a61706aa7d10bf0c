import Foundation
import TesseraZMQ
import Testing

/// Throughput figures, printed, not asserted (timings on a shared 2-core box are not pass/fail).
/// Off by default; run with `TESSERA_BENCH=1 swift test -c release --filter ThroughputBenchmarks`.
@Suite("Throughput benchmarks", .serialized, .enabled(if: ProcessInfo.processInfo.environment["TESSERA_BENCH"] != nil))
struct ThroughputBenchmarks {
    @Test("tiny ROUTER echo round trips over tcp, 64 in flight")
    func tinyRoundTrips() throws {
        let count = 200_000
        let window = 64
        let context = try ZMQContext()
        let endpoint = Shared<String?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let failure = Shared<String?>(nil)
        let echo = startThread {
            do {
                let socket = try context.makeSocket(.router)
                try socket.set(.receiveTimeout, 10_000)
                try socket.bind("tcp://127.0.0.1:*")
                let resolved = try socket.lastEndpoint
                endpoint.update { $0 = resolved }
                bound.signal()
                for _ in 0..<count {
                    guard let message = try socket.receiveMultipart() else {
                        failure.update { $0 = "echo timed out" }
                        return
                    }
                    try socket.send(message)
                }
            } catch {
                failure.update { $0 = "\(error)" }
                bound.signal()
            }
        }
        try #require(wait(bound))
        let dealer = try context.makeSocket(.dealer)
        try dealer.set(.receiveTimeout, 10_000)
        try dealer.connect(try #require(endpoint.value))
        let payload: [UInt8] = Array(repeating: 7, count: 32)
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        while sent < window {
            try dealer.send([payload])
            sent += 1
        }
        for _ in 0..<count {
            try #require(try dealer.receiveMultipart() != nil)
            if sent < count {
                try dealer.send([payload])
                sent += 1
            }
        }
        let seconds = Self.seconds(start.duration(to: clock.now))
        #expect(wait(echo))
        #expect(failure.value == nil)
        print("tiny round trips: \(Int(Double(count) / seconds)) /s (\(count) in \(String(format: "%.2f", seconds)) s)")
    }

    @Test("1 MiB messages over tcp: copying send (baseline) vs zero-copy send")
    func megabyteThroughput() throws {
        let size = 1 << 20
        let count = 2_000
        let buffer = makePatternBuffer(byteCount: size, seed: 1)
        defer { buffer.deallocate() }
        let bytes = [UInt8](UnsafeRawBufferPointer(buffer))
        let copying = try Self.measure(count: count, size: size) { socket in
            try socket.send([bytes])
        }
        let zeroCopy = try Self.measure(count: count, size: size) { socket in
            // The buffer outlives the run, so the deallocator only acknowledges the release.
            try socket.send([ZMQMessage(takingOwnershipOf: buffer) { _ in }])
        }
        print(
            "1 MiB over tcp: copying \(String(format: "%.2f", copying)) GB/s, zero-copy "
                + "\(String(format: "%.2f", zeroCopy)) GB/s, ratio \(String(format: "%.2f", zeroCopy / copying))×")
    }

    /// Sends `count` messages from a PUSH (this thread) to a PULL on its own thread; returns GB/s.
    private static func measure(count: Int, size: Int, send: (ZMQSocket) throws -> Void) throws -> Double {
        let context = try ZMQContext()
        let endpoint = Shared<String?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let received = Shared(0)
        let sink = startThread {
            do {
                let pull = try context.makeSocket(.pull)
                try pull.set(.receiveTimeout, 10_000)
                try pull.bind("tcp://127.0.0.1:*")
                let resolved = try pull.lastEndpoint
                endpoint.update { $0 = resolved }
                bound.signal()
                for _ in 0..<count {
                    guard let message = try pull.receiveMultipart(), message[0].count == size else { break }
                    received.update { $0 += 1 }
                }
            } catch {
                bound.signal()
            }
        }
        try #require(wait(bound))
        let push = try context.makeSocket(.push)
        try push.connect(try #require(endpoint.value))
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<count { try send(push) }
        try #require(wait(sink, seconds: 60))
        let seconds = Self.seconds(start.duration(to: clock.now))
        try #require(received.value == count)
        return Double(count * size) / seconds / 1e9
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
