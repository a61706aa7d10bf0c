import Testing
import TesseraCore
import TesseraWire

/// Encode/decode throughput, printed as ns per message and as a ratio to a baseline measured in
/// the same run (allocating a new array and copying the encoded bytes into it). Opt-in, meaningful in
/// release: `TESSERA_WIRE_BENCH=1 swift test -c release --filter WireBenchmark`.
@Suite(.enabled(if: ProcessInfoShim.environment("TESSERA_WIRE_BENCH") != nil))
struct WireBenchmark {
    static func nanosPerOp(_ iterations: Int, _ body: () -> Int) -> (Double, Int) {
        let clock = ContinuousClock()
        var sink = 0
        let elapsed = clock.measure { for _ in 0..<iterations { sink &+= body() } }
        let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return (nanos / Double(iterations), sink)
    }

    @Test func encodeAndDecodeRates() throws {
        let task = WireMessage.task(
            TaskAssignment(
                taskID: TaskID(123_456), attempt: 1, kind: .developTile, jobID: JobID(7), frameID: FrameID(42),
                parameters: Array(#"{"tile":{"x":512,"y":1024,"width":512,"height":512},"halo":8,"recipe":"standard"}"#.utf8),
                payloads: [PayloadDescriptor(length: 1 << 20, checksum: 0x1234_5678_9ABC_DEF0)]))
        let failure = WireMessage.failure(
            TaskFailure(taskID: TaskID(9), attempt: 2, code: .decodeFailed, retryable: false, reason: "LibRaw: data corrupted in IMG_0001.CR2"))
        let reply = WireMessage.statusReply(
            StatusReply(
                requestID: 1, workersConnected: 8,
                jobs: (0..<100).map { i in
                    JobStatus(
                        jobID: JobID(Int64(i + 1)), name: "job-\(i)", state: .running, framesTotal: 100, framesDone: 50, framesFailed: 1,
                        tasks: TaskCounts(queued: 10, running: 8, succeeded: 600), outputDir: "/data/out/job-\(i)",
                        failures: [WireFrameFailure(framePath: "/data/in/job-\(i)/IMG_0001.CR2", reason: "decodeFailed", attempts: 3)])
                }))
        let cases: [(String, WireMessage, Int)] = [
            ("HEARTBEAT", .heartbeat, 2_000_000), ("CREDIT", .credit(Credit(credits: 4)), 2_000_000),
            ("TASK", task, 1_000_000), ("FAILURE", failure, 1_000_000), ("STATUS_REPLY×100 jobs", reply, 5_000),
        ]
        for (name, message, iterations) in cases {
            let bytes = WireCodec.encode(message)
            let (baseline, s0) = Self.nanosPerOp(iterations) { bytes.withUnsafeBytes { [UInt8]($0) }.count }
            let (encode, s1) = Self.nanosPerOp(iterations) { WireCodec.encode(message).count }
            let (decode, s2) = Self.nanosPerOp(iterations) { (try? WireCodec.decode(bytes)) == nil ? 0 : 1 }
            #expect(s1 == s0 && s2 == iterations, "\(name): every iteration produced the full message")
            let line = "\(name) (\(bytes.count) B): copy \(fmt(baseline)) ns; encode \(fmt(encode)) ns (\(fmt(encode / baseline))× copy, \(fmt(1e3 / encode)) M msg/s); decode \(fmt(decode)) ns (\(fmt(decode / baseline))× copy, \(fmt(1e3 / decode)) M msg/s)"
            print(line)
        }
        let payload = [UInt8](repeating: 0xA5, count: 64 << 20)
        let descriptor = PayloadDescriptor(describing: payload)
        let (verify, _) = Self.nanosPerOp(5) {
            (try? WireCodec.verifyPayloads([payload], against: [descriptor])) == nil ? 0 : 1
        }
        print("verifyPayloads 64 MiB: \(fmt(Double(64 << 20) / verify)) GB/s")
    }

    /// The payload checksum alone: XXH3-64 (the protocol's since version 3) against XXH64 (the
    /// spool's, and the payloads' before), hashing in place and fused with a copy, next to a
    /// plain copy, from cache-resident (64 KiB) to memory-bound (64 MiB) sizes. GB/s = 10⁹ B/s.
    @Test func checksumRates() {
        var rng = SplitMix64(seed: 3)
        let largest = 64 << 20
        let source = [UInt8](unsafeUninitializedCapacity: largest) { buffer, initialized in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            for word in 0..<(largest / 8) { raw.storeBytes(of: rng.next(), toByteOffset: word * 8, as: UInt64.self) }
            initialized = largest
        }
        var destination = [UInt8](repeating: 0, count: largest)
        for size in [64 << 10, 1 << 20, 6 << 20, largest] {
            let iterations = max(5, (1 << 30) / size)
            source.withUnsafeBytes { all in
                destination.withUnsafeMutableBytes { out in
                    let bytes = UnsafeRawBufferPointer(rebasing: all[..<size]), to = out.baseAddress!
                    let (copy, _) = Self.nanosPerOp(iterations) { to.copyMemory(from: bytes.baseAddress!, byteCount: size); return Int(out[size / 2]) }
                    let (h64, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH64.hash(bytes)) }
                    let (h3, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH3.hash(bytes)) }
                    let (c64, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH64.hashCopying(bytes, to: to)) }
                    let (c3, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH3.hashCopying(bytes, to: to)) }
                    #expect(XXH3.hashCopying(bytes, to: to) == XXH3.hash(bytes))
                    let gbps = { (nanos: Double) in fmt(Double(size) / nanos) }
                    // Every build of the long loop this CPU runs, hashing and fused with a copy.
                    let builds = XXH3.Kernel.allCases.filter(\.isSupported).map { kernel -> String in
                        let (h, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH3.hash(bytes, kernel: kernel)) }
                        let (c, _) = Self.nanosPerOp(iterations) { Int(truncatingIfNeeded: XXH3.hashCopying(bytes, to: to, kernel: kernel)) }
                        #expect(XXH3.hash(bytes, kernel: kernel) == XXH3.hash(bytes), "\(kernel) build")
                        return "\(kernel.rawValue) \(gbps(h)) GB/s, copy+ \(gbps(c)) GB/s"
                    }
                    print("checksum \(size >> 10) KiB: copy \(gbps(copy)) GB/s; XXH64 \(gbps(h64)) GB/s, XXH3-64 \(gbps(h3)) GB/s (\(fmt(h64 / h3))×); "
                        + "copy+XXH64 \(gbps(c64)) GB/s, copy+XXH3-64 \(gbps(c3)) GB/s (\(fmt(c64 / c3))×); "
                        + "XXH3-64 active build \(XXH3.activeKernel.rawValue); by build: \(builds.joined(separator: "; "))")
                }
            }
        }
    }
}

private func fmt(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return "\(rounded)"
}
