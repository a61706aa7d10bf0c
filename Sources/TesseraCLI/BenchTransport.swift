import ArgumentParser
import Foundation
import TesseraCore
import TesseraWire
import TesseraZMQ

/// `tessera bench transport`: tile payload throughput through Tessera's protocol against raw
/// libzmq moving the same bytes over the same sockets, measured in the same run, in both
/// directions the protocol moves payloads.
///
/// Results: a DEALER (worker) sends to a bound ROUTER (coordinator) on its own thread. Tasks: a
/// bound ROUTER (coordinator) sends to a DEALER (worker) on its own thread. Same high-water marks,
/// copying sends (the payload is copied into a libzmq message), the same message sizes. The
/// baseline sends each payload as one bare frame. Tessera sends what `WorkerRuntime` sends — a
/// RESULT (or TASK) header whose payload descriptor carries the payload's XXH3-64, computed while
/// the payload is copied into its message (`XXH3.hashCopying`), then the payload frame — and the
/// receiver decodes the header with the default limits and verifies every payload against its
/// descriptor in libzmq's buffer. The ratio is Tessera's bytes/s over the baseline's: the
/// protocol's whole cost. CPU seconds per GB (every thread of the process) are reported too:
/// with both ends on one machine the transfer is CPU-bound, and CPU time is steadier than wall
/// time on a shared machine.
struct BenchTransport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Tile payload bytes/s through Tessera's protocol vs raw libzmq with the same message sizes.")

    @Option(help: "Payload sizes in bytes, comma-separated (default: 64 KiB, 1 MiB and a 1024² 16-bit RGB tile).")
    var sizes: String = "65536,1048576,6291456"

    @Option(help: "Bytes moved per size and side (MiB); larger is steadier.")
    var megabytes: Int = 512

    @Option(help: "Transport: tcp (loopback) or ipc.")
    var transport: String = "tcp"

    @Flag(help: "Encrypt both sides with CURVE (the farm's default), so the ratio isolates the protocol.")
    var curve = false

    @Option(help: "Which way: results (worker DEALER → coordinator ROUTER), tasks (coordinator ROUTER → worker DEALER) or both.")
    var direction: String = "both"

    @Option(help: "Timed repetitions per size (the best of each side is reported).")
    var repeats: Int = 3

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// One payload size's figures.
    struct Row: Codable {
        /// "results" or "tasks".
        var direction: String
        var payloadBytes: Int
        var messages: Int
        /// Raw libzmq, bare payload frames: gigabytes (10⁹ B) per second.
        var baselineGBps: Double
        /// RESULT header + checksummed payload, decoded and verified on receipt.
        var tesseraGBps: Double
        /// tessera / baseline.
        var ratio: Double
        /// CPU seconds (all threads of the process: sender, receiver, libzmq I/O) per GB moved,
        /// the least of the repeats; on a shared machine steadier than wall time.
        var baselineCPUSecondsPerGB: Double
        var tesseraCPUSecondsPerGB: Double
        /// baseline ÷ tessera CPU per GB: the throughput ratio when CPU-bound (both ends on one
        /// machine, as here).
        var cpuRatio: Double
    }

    /// The whole report.
    struct Report: Codable {
        var transport: String
        var curve: Bool
        var rows: [Row]
        var goal: String
    }

    func validate() throws {
        guard ["tcp", "ipc"].contains(transport) else { throw ValidationError("--transport must be tcp or ipc") }
        guard direction == "both" || TransportRun.Direction(rawValue: direction) != nil else {
            throw ValidationError("--direction must be results, tasks or both")
        }
        guard megabytes > 0, repeats > 0 else { throw ValidationError("--megabytes and --repeats must be positive") }
        guard !parsedSizes.isEmpty, parsedSizes.allSatisfy({ $0 > 0 && $0 <= 1 << 30 }) else {
            throw ValidationError("--sizes must be positive byte counts up to 1 GiB, e.g. 65536,1048576")
        }
    }

    private var parsedSizes: [Int] { sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        var rows: [Row] = []
        let directions = TransportRun.Direction(rawValue: direction).map { [$0] } ?? TransportRun.Direction.allCases
        for way in directions {
        for size in parsedSizes {
            let messages = max(16, (megabytes << 20) / size)
            var baseline = 0.0, tessera = 0.0, baselineCPU = Double.infinity, tesseraCPU = Double.infinity
            // Alternate the two so drift on a shared machine hits both alike.
            for _ in 0..<repeats {
                let b = try TransportRun(size: size, messages: messages, transport: transport, curve: curve, protocol: false, direction: way).measure()
                let t = try TransportRun(size: size, messages: messages, transport: transport, curve: curve, protocol: true, direction: way).measure()
                baseline = max(baseline, b.gigabytesPerSecond)
                tessera = max(tessera, t.gigabytesPerSecond)
                baselineCPU = min(baselineCPU, b.cpuSecondsPerGB)
                tesseraCPU = min(tesseraCPU, t.cpuSecondsPerGB)
            }
            rows.append(Row(direction: way.rawValue, payloadBytes: size, messages: messages, baselineGBps: baseline, tesseraGBps: tessera, ratio: tessera / baseline,
                            baselineCPUSecondsPerGB: baselineCPU, tesseraCPUSecondsPerGB: tesseraCPU, cpuRatio: baselineCPU / tesseraCPU))
        }
        }
        let report = Report(transport: transport, curve: curve, rows: rows, goal: "ratio >= 0.90")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("transport: \(transport)\(curve ? " + CURVE" : ""), results DEALER → ROUTER, tasks ROUTER → DEALER, copying sends, best of \(repeats)")
        print("| direction | payload | messages | raw libzmq GB/s | tessera GB/s | ratio | raw CPU s/GB | tessera CPU s/GB | CPU ratio |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            print("| \(r.direction) | \(r.payloadBytes) B | \(r.messages) | \(String(format: "%.2f", r.baselineGBps)) | \(String(format: "%.2f", r.tesseraGBps)) | \(String(format: "%.3f", r.ratio)) | \(String(format: "%.3f", r.baselineCPUSecondsPerGB)) | \(String(format: "%.3f", r.tesseraCPUSecondsPerGB)) | \(String(format: "%.3f", r.cpuRatio)) |")
        }
    }
}

/// One timed transfer: `messages` payloads of `size` bytes from a DEALER on the calling thread to
/// a ROUTER on its own thread.
struct TransportRun {
    let size: Int
    let messages: Int
    let transport: String
    let curve: Bool
    /// True: RESULT header + checksummed payload, decoded and verified; false: bare payload frames.
    let `protocol`: Bool
    /// Results (worker DEALER → coordinator ROUTER) or tasks (coordinator ROUTER → worker DEALER).
    var direction: Direction = .results

    /// Which way the payloads go, with the socket types the real protocol uses that way.
    enum Direction: String, CaseIterable, Codable {
        /// RESULT: a worker's DEALER sends to the coordinator's (bound) ROUTER.
        case results
        /// TASK: the coordinator's (bound) ROUTER sends to a worker's DEALER.
        case tasks
    }

    /// Why a run could not complete.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Moves the bytes and returns 10⁹ bytes per second of payload, first send to last receipt.
    func gigabytesPerSecond() throws -> Double { try measure().gigabytesPerSecond }

    /// Moves the bytes; returns 10⁹ bytes per second of payload (first send to last receipt) and
    /// the CPU seconds this process (every thread) spent per 10⁹ bytes over the same span.
    func measure() throws -> (gigabytesPerSecond: Double, cpuSecondsPerGB: Double) {
        if direction == .tasks { return try measureTasks() }
        let context = try ZMQContext()
        defer { context.shutdown() }
        let keys = curve ? try (server: ZMQCurve.generateKeyPair(), client: ZMQCurve.generateKeyPair()) : nil
        let address = transport == "tcp" ? "tcp://127.0.0.1:*" : "ipc://\(NSTemporaryDirectory())tessera-bench-\(UUID().uuidString).ipc"
        let serverSecret = keys?.server.secretKey

        // The receiver thread owns the ROUTER (a socket lives on one thread).
        let outcome = ReceiverOutcome()
        let bound = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let expected = messages, size = self.size, verify = self.protocol
        let receiver = Thread {
            defer { done.signal() }
            do {
                let router = try context.makeSocket(.router)
                defer { router.close() }
                try router.set(.receiveHighWaterMark, 64)
                try router.set(.receiveTimeout, 30_000)
                if let serverSecret {
                    try router.set(.curveServer, true)
                    try router.set(.curveSecretKey, serverSecret)
                }
                try router.bind(address)
                outcome.bound(at: try router.lastEndpoint)
                bound.signal()
                // Warm-up: answer one message so connecting (and the CURVE handshake) is not timed.
                guard let hello = try router.receiveMultipart() else { throw Failure(description: "no warm-up message") }
                _ = try router.send([hello[0].bytes, [1]])
                for _ in 0..<expected {
                    guard let parts = try router.receiveMultipart() else { throw Failure(description: "receive timed out") }
                    if verify {
                        guard parts.count == 3 else { throw Failure(description: "expected 3 frames, got \(parts.count)") }
                        // Decoded and verified in place, in libzmq's buffers: no copy of the payload.
                        let message = try parts[1].withUnsafeBytes { header throws(WireError) in try WireCodec.decode(header) }
                        guard case .result(let result) = message else { throw Failure(description: "not a RESULT") }
                        try parts[2].withUnsafeBytes { payload throws(WireError) in
                            try WireCodec.verifyPayload(payload, index: 0, against: result.payloads[0])
                        }
                    } else {
                        guard parts.count == 2, parts[1].count == size else { throw Failure(description: "unexpected frames") }
                    }
                }
                outcome.finish(at: .now)
            } catch {
                outcome.fail("\(error)")
                bound.signal()
            }
        }
        receiver.start()
        bound.wait()
        let endpoint = try outcome.endpoint()

        let dealer = try context.makeSocket(.dealer)
        defer { dealer.close() }
        try dealer.set(.sendHighWaterMark, 64)
        try dealer.set(.receiveTimeout, 30_000)
        if let keys {
            try dealer.set(.curveServerKey, keys.server.publicKey)
            try dealer.set(.curvePublicKey, keys.client.publicKey)
            try dealer.set(.curveSecretKey, keys.client.secretKey)
        }
        try dealer.connect(endpoint)
        _ = try dealer.send([[0]])
        guard try dealer.receiveMultipart() != nil else { throw Failure(description: "no warm-up reply") }

        var payload = [UInt8](repeating: 0, count: size)
        var generator = SplitMix64(seed: UInt64(size))
        for i in stride(from: 0, to: size, by: 8) {
            let word = generator.next()
            for b in 0..<min(8, size - i) { payload[i + b] = UInt8(truncatingIfNeeded: word >> (8 * b)) }
        }
        let cpuStart = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        let start = ContinuousClock.now
        if verify {
            for index in 0..<messages {
                // What the worker does per result: copy the payload into its message while
                // checksumming it (one pass), encode the header, send both.
                var descriptor = PayloadDescriptor(length: 0, checksum: 0)
                let frame = payload.withUnsafeBytes { source in
                    ZMQMessage(count: size) { destination in descriptor = PayloadDescriptor(copying: source, to: destination.baseAddress!) }
                }
                let header = WireCodec.encode(.result(TaskResult(
                    taskID: TaskID(Int64(index + 1)), attempt: 1, computeMicros: 1000, metadata: [], payloads: [descriptor])))
                guard try dealer.send([ZMQMessage(header), frame]) else { throw Failure(description: "send failed") }
            }
        } else {
            for _ in 0..<messages {
                guard try dealer.send([payload]) else { throw Failure(description: "send failed") }
            }
        }
        done.wait()
        let cpu = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue)) - cpuStart
        let elapsed = try outcome.result() - start
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        let gigabytes = Double(messages * size) / 1e9
        return (gigabytes / seconds, cpu / gigabytes)
    }
}

/// The receiver thread's verdict, handed to the sending thread under a lock.
final class ReceiverOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var finished: ContinuousClock.Instant?
    private var error: String?
    private var boundEndpoint: String?

    func bound(at endpoint: String) { lock.withLock { boundEndpoint = endpoint } }

    func finish(at instant: ContinuousClock.Instant) { lock.withLock { finished = instant } }
    func fail(_ message: String) { lock.withLock { error = message } }

    /// The endpoint the receiver bound; throws what the receiver reported instead.
    func endpoint() throws -> String {
        try lock.withLock {
            if let error { throw TransportRun.Failure(description: "receiver: \(error)") }
            guard let boundEndpoint else { throw TransportRun.Failure(description: "receiver did not bind") }
            return boundEndpoint
        }
    }

    /// When the last message arrived; throws what the receiver reported instead.
    func result() throws -> ContinuousClock.Instant {
        try lock.withLock {
            if let error { throw TransportRun.Failure(description: "receiver: \(error)") }
            guard let finished else { throw TransportRun.Failure(description: "receiver did not finish") }
            return finished
        }
    }
}

extension TransportRun {
    /// The payload bytes sent in every message (deterministic pseudo-random).
    fileprivate func payloadBytes() -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: size)
        var generator = SplitMix64(seed: UInt64(size))
        for i in stride(from: 0, to: size, by: 8) {
            let word = generator.next()
            for b in 0..<min(8, size - i) { payload[i + b] = UInt8(truncatingIfNeeded: word >> (8 * b)) }
        }
        return payload
    }

    /// The TASK direction: the calling thread binds a ROUTER (the coordinator) and sends; a
    /// DEALER (the worker) on its own thread receives. With the protocol each message is a TASK
    /// header whose descriptor carries the payload's XXH3-64 (computed as the payload is copied
    /// into its message) and the payload; the receiver decodes the header and verifies the
    /// payload in libzmq's buffer. Without it, bare payload frames.
    fileprivate func measureTasks() throws -> (gigabytesPerSecond: Double, cpuSecondsPerGB: Double) {
        let context = try ZMQContext()
        defer { context.shutdown() }
        let keys = curve ? try (server: ZMQCurve.generateKeyPair(), client: ZMQCurve.generateKeyPair()) : nil
        let address = transport == "tcp" ? "tcp://127.0.0.1:*" : "ipc://\(NSTemporaryDirectory())tessera-bench-\(UUID().uuidString).ipc"
        let router = try context.makeSocket(.router)
        defer { router.close() }
        try router.set(.sendHighWaterMark, 64)
        try router.set(.receiveTimeout, 30_000)
        try router.set(.routerMandatory, true)
        if let keys {
            try router.set(.curveServer, true)
            try router.set(.curveSecretKey, keys.server.secretKey)
        }
        try router.bind(address)
        let endpoint = try router.lastEndpoint

        let outcome = ReceiverOutcome()
        let done = DispatchSemaphore(value: 0)
        let expected = messages, size = self.size, verify = self.protocol
        let clientKeys = keys.map { (server: $0.server.publicKey, client: $0.client) }
        let receiver = Thread {
            defer { done.signal() }
            do {
                let dealer = try context.makeSocket(.dealer)
                defer { dealer.close() }
                try dealer.set(.receiveHighWaterMark, 64)
                try dealer.set(.receiveTimeout, 30_000)
                if let clientKeys {
                    try dealer.set(.curveServerKey, clientKeys.server)
                    try dealer.set(.curvePublicKey, clientKeys.client.publicKey)
                    try dealer.set(.curveSecretKey, clientKeys.client.secretKey)
                }
                try dealer.connect(endpoint)
                _ = try dealer.send([[0]])  // warm-up: the ROUTER learns our routing id
                for _ in 0..<expected {
                    guard let parts = try dealer.receiveMultipart() else { throw Failure(description: "receive timed out") }
                    if verify {
                        guard parts.count == 2 else { throw Failure(description: "expected 2 frames, got \(parts.count)") }
                        let message = try parts[0].withUnsafeBytes { header throws(WireError) in try WireCodec.decode(header) }
                        guard case .task(let task) = message else { throw Failure(description: "not a TASK") }
                        try parts[1].withUnsafeBytes { payload throws(WireError) in
                            try WireCodec.verifyPayload(payload, index: 0, against: task.payloads[0])
                        }
                    } else {
                        guard parts.count == 1, parts[0].count == size else { throw Failure(description: "unexpected frames") }
                    }
                }
                outcome.finish(at: .now)
            } catch {
                outcome.fail("\(error)")
            }
        }
        receiver.start()
        guard let hello = try router.receiveMultipart(), hello.count == 2 else {
            done.wait()
            throw Failure(description: "no warm-up message from the receiver: \((try? outcome.result()).map { "\($0)" } ?? "")")
        }
        let routingID = hello[0].bytes
        let payload = payloadBytes()
        let cpuStart = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        let start = ContinuousClock.now
        for index in 0..<messages {
            if verify {
                var descriptor = PayloadDescriptor(length: 0, checksum: 0)
                let frame = payload.withUnsafeBytes { source in
                    ZMQMessage(count: size) { destination in descriptor = PayloadDescriptor(copying: source, to: destination.baseAddress!) }
                }
                let header = WireCodec.encode(.task(TaskAssignment(
                    taskID: TaskID(Int64(index + 1)), attempt: 1, kind: .developTile, jobID: JobID(1), frameID: FrameID(1),
                    parameters: [], payloads: [descriptor])))
                guard try router.send([ZMQMessage(routingID), ZMQMessage(header), frame]) else { throw Failure(description: "send failed") }
            } else {
                guard try router.send([routingID, payload]) else { throw Failure(description: "send failed") }
            }
        }
        done.wait()
        let cpu = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue)) - cpuStart
        let elapsed = try outcome.result() - start
        let gigabytes = Double(messages * size) / 1e9
        return (gigabytes / BenchFigures.seconds(elapsed), cpu / gigabytes)
    }
}
