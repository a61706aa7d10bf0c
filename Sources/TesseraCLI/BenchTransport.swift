import ArgumentParser
import Foundation
import TesseraCore
import TesseraWire
import TesseraZMQ

/// `tessera bench transport`: tile payload throughput through Tessera's protocol against raw
/// libzmq moving the same bytes over the same sockets, measured in the same run, in both
/// directions the protocol moves payloads.
///
/// Results: a DEALER (worker) sends to a bound ROUTER (coordinator). Tasks: a bound ROUTER
/// (coordinator) sends to a DEALER (worker). Each side runs on its own thread with its own libzmq
/// context (one I/O thread each, as two processes would have); with `--pin split` (the default)
/// the sending side — its thread and its context's I/O thread — is pinned to one CPU and the
/// receiving side to another, as if each had a machine of one CPU; raw and Tessera alike.
///
/// Method: raw and Tessera messages take turns over *one* connection, in rounds of `--megabytes`
/// each (raw, Tessera, Tessera, raw, …: ABBA, so a drift hits both alike), after two untimed
/// warm-up rounds. Same connection, same sockets and options (high-water marks sized to keep ≈ 16
/// MiB in flight per queue, the real sockets' options), so the only difference is the protocol;
/// a disturbance from elsewhere on the machine (builds, other benches) lasting longer than a
/// round hits both members of a pair. The receiver timestamps the end of every round (wall
/// clock and the process's CPU time); the figure is the median of the per-pair ratios, with
/// their spread.
///
/// Raw: each payload is one bare frame, sent zero-copy from an owned array
/// (``ZMQMessage/init(sharing:released:)``) and copied out on receipt. Tessera: the sending
/// thread encodes a RESULT (or TASK) header carrying the payload's descriptor and sends the
/// header frame and the payload frame zero-copy; the receiver decodes the header in libzmq's
/// buffer with the default limits and copies the payload out while verifying it
/// (``WireCodec/copyVerifying(_:index:against:)``). Both receivers end with the payload in an
/// array, as the real receivers hand it on.
///
/// Where the XXH3-64 checksum is made (`--checksums`): `producer` is what the real paths do —
/// the payload is described where it is made (the worker's execution thread as it writes the
/// result, ``TaskExecutor``; the coordinator's preparation queue as it cuts a window,
/// `FramePipeline.prepared`), so the socket thread never reads the payload; the bench measures
/// that describing pass separately, in the same run, on the sending thread
/// (`producerChecksumCPUSecondsPerGB`). `sender` charges it to the sending thread for every
/// message, as if one CPU made, described and sent each payload.
struct BenchTransport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Tile payload bytes/s through Tessera's protocol vs raw libzmq with the same message sizes.")

    @Option(help: "Payload sizes in bytes, comma-separated (default: 64 KiB, 1 MiB and a 1024² 16-bit RGB tile).")
    var sizes: String = "65536,1048576,6291456"

    @Option(help: "Bytes per round (MiB; at least 4 messages): each round is all raw or all Tessera.")
    var megabytes: Int = 128

    @Option(help: "Transport: tcp (loopback) or ipc.")
    var transport: String = "tcp"

    @Flag(help: "Encrypt both sides with CURVE (the farm's default), so the ratio isolates the protocol.")
    var curve = false

    @Option(help: "Which way: results (worker DEALER → coordinator ROUTER), tasks (coordinator ROUTER → worker DEALER) or both.")
    var direction: String = "both"

    @Option(help: "Timed raw/Tessera round pairs per size and direction (the median of the pairs' ratios is reported).")
    var repeats: Int = 32

    @Option(help: "CPU pinning: split (sender side on one CPU, receiver side on another, as on two machines; needs 2 CPUs) or none.")
    var pin: String = "split"

    @Option(help: "MiB each socket queue may hold (its high-water mark in messages: this ÷ payload size, at least 2); raw and Tessera alike.")
    var queueMegabytes: Int = 16

    @Option(help: "Where Tessera's payload checksum is made: producer (where the payload is made, as the worker and coordinator do; its cost reported separately), sender (on the sending thread, per message) or both.")
    var checksums: String = "both"

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// One payload size's figures: medians over the timed round pairs.
    struct Row: Codable {
        /// "results" or "tasks".
        var direction: String
        var payloadBytes: Int
        /// Where the checksum was made: "producer" (as the real paths do) or "sender".
        var checksums: String
        /// Messages per round.
        var messages: Int
        /// Timed pairs.
        var pairs: Int
        /// Raw libzmq, bare payload frames: gigabytes (10⁹ B) per second (median of the rounds).
        var baselineGBps: Double
        /// Header + checksummed payload, decoded and verified on receipt (median of the rounds).
        var tesseraGBps: Double
        /// Median of the pairs' tessera ÷ baseline throughput: the figure for the goal.
        var ratio: Double
        /// Spread of the pairs' ratios: least, 25th percentile, 75th percentile, greatest.
        var ratioMin: Double
        var ratioP25: Double
        var ratioP75: Double
        var ratioMax: Double
        /// CPU seconds (all threads of the process: sender, receiver, libzmq I/O) per GB moved
        /// (median of the rounds).
        var baselineCPUSecondsPerGB: Double
        var tesseraCPUSecondsPerGB: Double
        /// Median of the pairs' baseline ÷ tessera CPU per GB, and its 25th/75th percentiles.
        var cpuRatio: Double
        var cpuRatioP25: Double
        var cpuRatioP75: Double
        /// What the protocol costs: median of the pairs' tessera − baseline CPU per GB, and the
        /// same per message in microseconds (negative when the noise exceeds the cost).
        var protocolCPUSecondsPerGB: Double
        var protocolCPUMicrosPerMessage: Double
        /// Where it goes (medians of the pairs' differences, CPU s/GB): the sending thread, the
        /// receiving thread, and the rest of the process (libzmq's I/O threads and the kernel work
        /// they cause).
        var protocolSenderCPUSecondsPerGB: Double
        var protocolReceiverCPUSecondsPerGB: Double
        var protocolIOCPUSecondsPerGB: Double
        /// What describing each payload costs its producer (XXH3-64 of the payload, thread CPU
        /// seconds per GB, measured after the rounds on the sending thread): in `producer` rows
        /// it is spent outside the sending thread, in `sender` rows it is part of
        /// `protocolSenderCPUSecondsPerGB`.
        var producerChecksumCPUSecondsPerGB: Double
    }

    /// The whole report.
    struct Report: Codable {
        var transport: String
        var curve: Bool
        /// How the threads were pinned.
        var pinning: String
        /// Whether the process's allocator settings for large messages are in effect.
        var allocatorConfigured: Bool
        var rows: [Row]
        var goal: String
    }

    func validate() throws {
        guard ["tcp", "ipc"].contains(transport) else { throw ValidationError("--transport must be tcp or ipc") }
        guard direction == "both" || TransportRun.Direction(rawValue: direction) != nil else {
            throw ValidationError("--direction must be results, tasks or both")
        }
        guard ["split", "none"].contains(pin) else { throw ValidationError("--pin must be split or none") }
        guard checksums == "both" || TransportRun.ChecksumSite(rawValue: checksums) != nil else {
            throw ValidationError("--checksums must be producer, sender or both")
        }
        guard megabytes > 0, repeats > 0, queueMegabytes > 0 else {
            throw ValidationError("--megabytes, --repeats and --queue-megabytes must be positive")
        }
        guard !parsedSizes.isEmpty, parsedSizes.allSatisfy({ $0 > 0 && $0 <= 1 << 30 }) else {
            throw ValidationError("--sizes must be positive byte counts up to 1 GiB, e.g. 65536,1048576")
        }
    }

    private var parsedSizes: [Int] { sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        // What the worker and the coordinator do at start (for raw libzmq and the protocol alike).
        let allocator = MessageMemory.configure()
        let cpus = CPUAffinity.allowed()
        let pinned: (sender: Int, receiver: Int)? = pin == "split" && cpus.count >= 2 ? (cpus[0], cpus[1]) : nil
        let pinning = pinned.map { "sender side (thread + its I/O thread) on CPU \($0.sender), receiver side on CPU \($0.receiver)" }
            ?? (pin == "none" ? "not pinned" : "not pinned: only \(cpus.count) CPU available")
        var rows: [Row] = []
        let directions = TransportRun.Direction(rawValue: direction).map { [$0] } ?? TransportRun.Direction.allCases
        let sites = TransportRun.ChecksumSite(rawValue: checksums).map { [$0] } ?? TransportRun.ChecksumSite.allCases
        for way in directions {
            for size in parsedSizes {
                for site in sites {
                    let messages = max(4, (megabytes << 20) / size)
                    let run = TransportRun(size: size, messagesPerRound: messages, pairs: repeats, transport: transport, curve: curve,
                                           direction: way, checksums: site, cpus: pinned, queueBytes: queueMegabytes << 20)
                    let measured = try run.measure()
                    rows.append(Self.row(direction: way, size: size, checksums: site, messages: messages, rounds: measured.pairs,
                                         producerChecksumCPUSecondsPerGB: measured.producerChecksumCPUSecondsPerGB))
                }
            }
        }
        let report = Report(transport: transport, curve: curve, pinning: pinning, allocatorConfigured: allocator, rows: rows,
                            goal: "ratio (median of pairs) >= 0.90 with checksums made by the producer, as the worker and the coordinator do")
        if json {
            try BenchFigures.printJSON(report)
            return
        }
        func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
        print("transport: \(transport)\(curve ? " + CURVE" : ""), results DEALER → ROUTER, tasks ROUTER → DEALER, zero-copy sends; "
              + "raw and Tessera rounds alternate on one connection (ABBA), \(repeats) pairs per row, medians; \(pinning); "
              + "allocator \(allocator ? "configured (MessageMemory)" : "NOT configured: glibc defaults")")
        print("| direction | payload | checksum by | msgs/round | raw GB/s | tessera GB/s | ratio (median) | ratio p25–p75 | ratio min–max | raw CPU s/GB | tessera CPU s/GB | CPU ratio (p25–p75) | protocol CPU s/GB | protocol µs/msg | of which sender / receiver / I/O s/GB | producer's checksum s/GB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            print("| \(r.direction) | \(r.payloadBytes) B | \(r.checksums) | \(r.messages) | \(f(r.baselineGBps)) | \(f(r.tesseraGBps)) | **\(f(r.ratio, 3))** | "
                  + "\(f(r.ratioP25))–\(f(r.ratioP75)) | \(f(r.ratioMin))–\(f(r.ratioMax)) | \(f(r.baselineCPUSecondsPerGB, 3)) | "
                  + "\(f(r.tesseraCPUSecondsPerGB, 3)) | \(f(r.cpuRatio, 3)) (\(f(r.cpuRatioP25))–\(f(r.cpuRatioP75))) | "
                  + "\(f(r.protocolCPUSecondsPerGB, 3)) | \(f(r.protocolCPUMicrosPerMessage, 1)) | "
                  + "\(f(r.protocolSenderCPUSecondsPerGB, 3)) / \(f(r.protocolReceiverCPUSecondsPerGB, 3)) / \(f(r.protocolIOCPUSecondsPerGB, 3)) | "
                  + "\(f(r.producerChecksumCPUSecondsPerGB, 4)) |")
        }
    }

    /// Medians and spreads over round pairs.
    static func row(direction: TransportRun.Direction, size: Int, checksums: TransportRun.ChecksumSite, messages: Int,
                    rounds: [TransportRun.Pair], producerChecksumCPUSecondsPerGB: Double) -> Row {
        let ratios = rounds.map { $0.tessera.gigabytesPerSecond / $0.raw.gigabytesPerSecond }
        let cpuRatios = rounds.map { $0.raw.cpuSecondsPerGB / $0.tessera.cpuSecondsPerGB }
        let extra = rounds.map { $0.tessera.cpuSecondsPerGB - $0.raw.cpuSecondsPerGB }
        let sender = rounds.map { $0.tessera.senderCPUSecondsPerGB - $0.raw.senderCPUSecondsPerGB }
        let receiver = rounds.map { $0.tessera.receiverCPUSecondsPerGB - $0.raw.receiverCPUSecondsPerGB }
        let io = rounds.map {
            ($0.tessera.cpuSecondsPerGB - $0.tessera.senderCPUSecondsPerGB - $0.tessera.receiverCPUSecondsPerGB)
                - ($0.raw.cpuSecondsPerGB - $0.raw.senderCPUSecondsPerGB - $0.raw.receiverCPUSecondsPerGB)
        }
        let median = { (values: [Double]) in BenchFigures.quantile(values, 0.5) }
        return Row(
            direction: direction.rawValue, payloadBytes: size, checksums: checksums.rawValue, messages: messages, pairs: ratios.count,
            baselineGBps: median(rounds.map(\.raw.gigabytesPerSecond)), tesseraGBps: median(rounds.map(\.tessera.gigabytesPerSecond)),
            ratio: median(ratios), ratioMin: ratios.min() ?? 0, ratioP25: BenchFigures.quantile(ratios, 0.25),
            ratioP75: BenchFigures.quantile(ratios, 0.75), ratioMax: ratios.max() ?? 0,
            baselineCPUSecondsPerGB: median(rounds.map(\.raw.cpuSecondsPerGB)), tesseraCPUSecondsPerGB: median(rounds.map(\.tessera.cpuSecondsPerGB)),
            cpuRatio: median(cpuRatios), cpuRatioP25: BenchFigures.quantile(cpuRatios, 0.25), cpuRatioP75: BenchFigures.quantile(cpuRatios, 0.75),
            protocolCPUSecondsPerGB: median(extra), protocolCPUMicrosPerMessage: median(extra) * Double(size) / 1e9 * 1e6,
            protocolSenderCPUSecondsPerGB: median(sender), protocolReceiverCPUSecondsPerGB: median(receiver), protocolIOCPUSecondsPerGB: median(io),
            producerChecksumCPUSecondsPerGB: producerChecksumCPUSecondsPerGB)
    }
}

/// One row's transfer: rounds of `messagesPerRound` payloads of `size` bytes, raw and Tessera
/// alternating (ABBA) over one connection, from the sending side's thread to the receiving
/// side's thread, each side with its own libzmq context.
struct TransportRun {
    let size: Int
    let messagesPerRound: Int
    /// Timed (raw, Tessera) pairs; two untimed warm-up rounds come first.
    let pairs: Int
    let transport: String
    let curve: Bool
    /// Results (worker DEALER → coordinator ROUTER) or tasks (coordinator ROUTER → worker DEALER).
    var direction: Direction = .results
    /// Where Tessera's payload checksum is made.
    var checksums: ChecksumSite = .producer
    /// CPUs to pin the sending and the receiving side to (each side's thread and, because the
    /// context is made on the pinned thread, its I/O thread); nil: not pinned.
    var cpus: (sender: Int, receiver: Int)? = nil
    /// Bytes each socket queue may hold (``highWaterMark``).
    var queueBytes = 16 << 20

    /// Which way the payloads go, with the socket types the real protocol uses that way.
    enum Direction: String, CaseIterable, Codable {
        /// RESULT: a worker's DEALER sends to the coordinator's (bound) ROUTER.
        case results
        /// TASK: the coordinator's (bound) ROUTER sends to a worker's DEALER.
        case tasks
    }

    /// Where Tessera's XXH3-64 of each payload is computed.
    enum ChecksumSite: String, CaseIterable, Codable {
        /// Where the payload is made, as the real paths do (``DescribedPayload``): the sending
        /// thread gets the descriptor with the payload.
        case producer
        /// On the sending thread, for every message.
        case sender
    }

    /// What ``measure()`` returns.
    struct Measured {
        /// The timed pairs.
        var pairs: [Pair]
        /// Describing the payload (XXH3-64), thread CPU seconds per GB on the sending thread.
        var producerChecksumCPUSecondsPerGB: Double
    }

    /// One round's figures.
    struct Figures {
        /// 10⁹ payload bytes per second, the previous round's last receipt to this one's.
        var gigabytesPerSecond: Double
        /// CPU seconds of the whole process (every thread) per 10⁹ payload bytes, same span.
        var cpuSecondsPerGB: Double
        /// Of which the sending thread (its own round's span) and the receiving thread.
        var senderCPUSecondsPerGB: Double
        var receiverCPUSecondsPerGB: Double
    }

    /// A raw round and the Tessera round next to it.
    struct Pair {
        var raw: Figures
        var tessera: Figures
    }

    /// Why a run could not complete.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let warmUpRounds = 2

    /// Whether round `index` sends Tessera messages: warm-up raw, Tessera; then ABBA pairs.
    static func isTessera(round index: Int) -> Bool {
        guard index >= warmUpRounds else { return index == 1 }
        let k = index - warmUpRounds
        return (k % 4 == 1) || (k % 4 == 2)  // R T T R R T T R …
    }

    /// The payload bytes sent in every message (deterministic pseudo-random).
    func payloadBytes() -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: size)
        var generator = SplitMix64(seed: UInt64(size))
        for i in stride(from: 0, to: size, by: 8) {
            let word = generator.next()
            for b in 0..<min(8, size - i) { payload[i + b] = UInt8(truncatingIfNeeded: word >> (8 * b)) }
        }
        return payload
    }

    /// High-water mark of every queue (both modes alike): ≈ `queueBytes` in flight, at least 2.
    var highWaterMark: Int32 { Int32(clamping: max(2, queueBytes / size)) }

    /// Moves the bytes; returns the timed pairs' figures and what describing a payload costs.
    func measure() throws -> Measured {
        let shared = RunState()
        let keys = curve ? try (server: ZMQCurve.generateKeyPair(), client: ZMQCurve.generateKeyPair()) : nil
        let address = transport == "tcp" ? "tcp://127.0.0.1:*" : "ipc://\(NSTemporaryDirectory())tessera-bench-\(UUID().uuidString).ipc"
        let payload = payloadBytes()
        let run = self
        let router = Thread {
            defer { shared.routerDone.signal() }
            do { try run.routerSide(address: address, serverSecret: keys?.server.secretKey, payload: payload, shared: shared) } catch {
                shared.fail("ROUTER side: \(error)")
            }
        }
        let dealer = Thread {
            defer { shared.dealerDone.signal() }
            do {
                try run.dealerSide(keys: keys.map { (server: $0.server.publicKey, client: $0.client) }, payload: payload, shared: shared)
            } catch {
                shared.fail("DEALER side: \(error)")
            }
        }
        router.start()
        dealer.start()
        shared.routerDone.wait()
        shared.dealerDone.wait()
        let (ends, senderCPU) = try shared.roundEnds()
        let bytes = Double(messagesPerRound * size) / 1e9
        var raw: [Figures] = [], tessera: [Figures] = []
        // ends[0]: the first send; ends[r + 1]: round r's last receipt (senderCPU: round r's last send).
        for round in Self.warmUpRounds..<(ends.count - 1) {
            let seconds = BenchFigures.seconds(ends[round + 1].instant - ends[round].instant)
            let cpu = ends[round + 1].process - ends[round].process
            let figures = Figures(gigabytesPerSecond: bytes / seconds, cpuSecondsPerGB: cpu / bytes,
                                  senderCPUSecondsPerGB: (senderCPU[round + 1] - senderCPU[round]) / bytes,
                                  receiverCPUSecondsPerGB: (ends[round + 1].thread - ends[round].thread) / bytes)
            if Self.isTessera(round: round) { tessera.append(figures) } else { raw.append(figures) }
        }
        return Measured(pairs: zip(raw, tessera).map { Pair(raw: $0, tessera: $1) },
                        producerChecksumCPUSecondsPerGB: try shared.producerChecksumCPUSecondsPerGB())
    }

    /// Sets what both modes set on a ROUTER: the coordinator's options, ``highWaterMark``.
    private func configureRouter(_ socket: ZMQSocket, serverSecret: String?) throws {
        try socket.set(.sendHighWaterMark, highWaterMark)
        try socket.set(.receiveHighWaterMark, highWaterMark)
        try socket.set(.receiveTimeout, 30_000)
        try socket.set(.routerMandatory, true)
        try socket.set(.maxMessageSize, Int64(clamping: max(UInt64(WireLimits.default.maxHeaderLength), WireLimits.default.maxPayloadLength)))
        if let serverSecret {
            try socket.set(.curveServer, true)
            try socket.set(.curveSecretKey, serverSecret)
        }
    }

    /// Sets what both modes set on a DEALER: the worker's options, ``highWaterMark``.
    private func configureDealer(_ socket: ZMQSocket, keys: (server: String, client: (publicKey: String, secretKey: String))?) throws {
        try socket.set(.sendHighWaterMark, highWaterMark)
        try socket.set(.receiveHighWaterMark, highWaterMark)
        try socket.set(.receiveTimeout, 30_000)
        try socket.set(.immediate, true)
        if let keys {
            try socket.set(.curveServerKey, keys.server)
            try socket.set(.curvePublicKey, keys.client.publicKey)
            try socket.set(.curveSecretKey, keys.client.secretKey)
        }
    }

    /// The coordinator's side: binds a ROUTER; receives results or sends tasks.
    private func routerSide(address: String, serverSecret: String?, payload: [UInt8], shared: RunState) throws {
        let sending = direction == .tasks
        if let cpus { try CPUAffinity.pinThread(0, to: [sending ? cpus.sender : cpus.receiver]) }
        let context = try ZMQContext(ioThreads: 1)
        defer { context.shutdown() }
        shared.onFailure(context)
        let socket = try context.makeSocket(.router)
        defer { socket.close() }
        try configureRouter(socket, serverSecret: serverSecret)
        try socket.bind(address)
        shared.bound(at: try socket.lastEndpoint)
        // Warm-up: the DEALER's hello (the connection, and the CURVE handshake, are not timed);
        // answered so that the DEALER knows the path is open both ways.
        guard let hello = try socket.receiveMultipart(), hello.count == 2 else { throw Failure(description: "no warm-up message") }
        let routingID = hello[0].bytes
        guard try socket.send([routingID, [1]]) else { throw Failure(description: "warm-up reply refused") }
        if sending {
            try send(on: socket, routingID: routingID, payload: payload, shared: shared)
        } else {
            try receive(on: socket, framesBefore: 1, shared: shared)
        }
    }

    /// The worker's side: connects a DEALER; sends results or receives tasks.
    private func dealerSide(keys: (server: String, client: (publicKey: String, secretKey: String))?, payload: [UInt8], shared: RunState) throws {
        let sending = direction == .results
        if let cpus { try CPUAffinity.pinThread(0, to: [sending ? cpus.sender : cpus.receiver]) }
        let context = try ZMQContext(ioThreads: 1)
        defer { context.shutdown() }
        shared.onFailure(context)
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        try configureDealer(socket, keys: keys)
        guard let endpoint = shared.endpoint() else { return }  // the ROUTER side failed
        try socket.connect(endpoint)
        _ = try socket.send([[0]])
        guard try socket.receiveMultipart() != nil else { throw Failure(description: "no warm-up reply") }
        if sending {
            try send(on: socket, routingID: nil, payload: payload, shared: shared)
        } else {
            try receive(on: socket, framesBefore: 0, shared: shared)
        }
    }

    /// Sends every round; `routingID` on a ROUTER. A Tessera message is what the worker sends
    /// per result (`WorkerRuntime.report`) or the coordinator per task (`TaskDispatcher.send`):
    /// the header encoded with the payload's descriptor — made by the producer
    /// (``DescribedPayload``, as ``TaskExecutor`` and `FramePipeline.prepared` do) or, with
    /// ``ChecksumSite/sender``, here for every message — then the header frame and the payload
    /// frame (zero-copy). A raw message is the payload frame (zero-copy). Afterwards, times the
    /// producer's describing pass on this thread (``RunState/recordProducerChecksum(_:)``).
    private func send(on socket: ZMQSocket, routingID: [UInt8]?, payload: [UInt8], shared: RunState) throws {
        let produced = DescribedPayload(payload).descriptor
        shared.started()
        var index = 0
        for round in 0..<(Self.warmUpRounds + 2 * pairs) {
            let tessera = Self.isTessera(round: round)
            for _ in 0..<messagesPerRound {
                index += 1
                var parts: [ZMQMessage] = routingID.map { [ZMQMessage($0)] } ?? []
                if tessera {
                    let descriptor = checksums == .sender ? PayloadDescriptor(describing: payload) : produced
                    let id = TaskID(Int64(index))
                    let header: WireMessage = direction == .results
                        ? .result(TaskResult(taskID: id, attempt: 1, computeMicros: 1000, metadata: [], payloads: [descriptor]))
                        : .task(TaskAssignment(taskID: id, attempt: 1, kind: .developTile, jobID: JobID(1), frameID: FrameID(1),
                                               parameters: [], payloads: [descriptor]))
                    parts.append(ZMQMessage(WireCodec.encode(header)))
                }
                parts.append(ZMQMessage(sharing: payload))
                guard try socket.send(parts) else { throw Failure(description: "send \(index) failed") }
            }
            shared.roundSent()
        }
        // Closing the socket now would drop what is still queued (LINGER 0).
        shared.waitForReceiver()
        // What the producer pays to describe each payload (whichever thread it runs on).
        let before = RunState.threadCPUSeconds()
        for _ in 0..<messagesPerRound {
            guard DescribedPayload(payload).descriptor == produced else { throw Failure(description: "the payload's checksum changed") }
        }
        let seconds = RunState.threadCPUSeconds() - before
        shared.recordProducerChecksum(seconds / (Double(messagesPerRound * size) / 1e9))
    }

    /// Receives every round (after `framesBefore` routing-id frames), handing each payload to
    /// the application as an array, and timestamps each round's end. A Tessera message is
    /// handled as the coordinator handles a result (`TaskDispatcher.handle`/`accept`) or the
    /// worker a task (`WorkerRuntime.handle`): the header decoded in libzmq's buffer, the payload
    /// copied out while it is verified. A raw payload is copied out.
    private func receive(on socket: ZMQSocket, framesBefore: Int, shared: RunState) throws {
        for round in 0..<(Self.warmUpRounds + 2 * pairs) {
            let tessera = Self.isTessera(round: round)
            for _ in 0..<messagesPerRound {
                guard let parts = try socket.receiveMultipart() else { throw Failure(description: "receive timed out") }
                let bytes: [UInt8]
                if tessera {
                    guard parts.count == framesBefore + 2 else {
                        throw Failure(description: "round \(round): expected \(framesBefore + 2) frames, got \(parts.count)")
                    }
                    let message = try parts[framesBefore].withUnsafeBytes { header throws(WireError) in try WireCodec.decode(header) }
                    guard let descriptor = message.payloads.first, message.payloads.count == 1 else {
                        throw Failure(description: "\(message.name) without one payload descriptor")
                    }
                    bytes = try parts[framesBefore + 1].withUnsafeBytes { payload throws(WireError) in
                        try WireCodec.copyVerifying(payload, index: 0, against: descriptor)
                    }
                } else {
                    guard parts.count == framesBefore + 1 else {
                        throw Failure(description: "round \(round): expected \(framesBefore + 1) frames, got \(parts.count)")
                    }
                    bytes = parts[framesBefore].bytes
                }
                guard bytes.count == size else { throw Failure(description: "a \(bytes.count)-byte payload, expected \(size)") }
            }
            shared.roundEnded()
        }
        shared.finished()
    }
}

/// What the two sides of a run share, under a lock: the endpoint, the timed span's ends, the
/// first failure (which shuts both contexts down, so neither side waits out its timeout).
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private let boundSignal = DispatchSemaphore(value: 0), receiverSignal = DispatchSemaphore(value: 0)
    let routerDone = DispatchSemaphore(value: 0), dealerDone = DispatchSemaphore(value: 0)
    private var boundEndpoint: String?
    /// The sender's start, then every round's end: (instant, process CPU seconds, the marking
    /// thread's CPU seconds — the receiver's, the first mark's excepted).
    private var marks: [Mark] = []
    /// The sending thread's CPU seconds at its start and after each round's last send.
    private var senderCPU: [Double] = []
    private var complete = false
    private var producerChecksum: Double?
    private var error: String?
    private var contexts: [ZMQContext] = []

    /// Registers a context to shut down if either side fails.
    func onFailure(_ context: ZMQContext) {
        let failed = lock.withLock { () -> Bool in contexts.append(context); return error != nil }
        if failed { context.shutdown() }
    }

    func bound(at endpoint: String) {
        lock.withLock { boundEndpoint = endpoint }
        boundSignal.signal()
    }

    /// The ROUTER's endpoint once bound; nil if the ROUTER side failed first.
    func endpoint() -> String? {
        boundSignal.wait()
        return lock.withLock { boundEndpoint }
    }

    /// A point in time with the process's and the receiving thread's CPU seconds.
    struct Mark {
        var instant: ContinuousClock.Instant
        var process: Double
        var thread: Double
    }

    /// CPU seconds of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The sender is about to send its first message (the first mark; its receiver-thread CPU
    /// is not known and reads 0: only the warm-up round spans it).
    func started() {
        let cpu = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue)), thread = Self.threadCPUSeconds()
        lock.withLock {
            marks.insert(Mark(instant: .now, process: cpu, thread: 0), at: 0)
            senderCPU.insert(thread, at: 0)
        }
    }

    /// The sender has sent a round.
    func roundSent() {
        let thread = Self.threadCPUSeconds()
        lock.withLock { senderCPU.append(thread) }
    }

    /// The receiver has a round's last message.
    func roundEnded() {
        let now = ContinuousClock.now, cpu = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue)), thread = Self.threadCPUSeconds()
        lock.withLock { marks.append(Mark(instant: now, process: cpu, thread: thread)) }
    }

    /// The receiver has every round.
    func finished() {
        lock.withLock { complete = true }
        receiverSignal.signal()
    }

    /// The sender's measurement of describing a payload: thread CPU seconds per GB.
    func recordProducerChecksum(_ secondsPerGB: Double) { lock.withLock { producerChecksum = secondsPerGB } }

    /// ``recordProducerChecksum(_:)``'s figure; throws the first failure instead.
    func producerChecksumCPUSecondsPerGB() throws -> Double {
        try lock.withLock {
            if let error { throw TransportRun.Failure(description: error) }
            guard let producerChecksum else { throw TransportRun.Failure(description: "the sender did not time the checksum") }
            return producerChecksum
        }
    }

    /// Blocks the sender until the receiver has everything (or a side failed).
    func waitForReceiver() { receiverSignal.wait() }

    func fail(_ message: String) {
        let toStop = lock.withLock { () -> [ZMQContext] in
            if error == nil { error = message }
            return contexts
        }
        boundSignal.signal()  // a DEALER side waiting for the endpoint gives up
        receiverSignal.signal()  // a sender waiting for the receiver too
        for context in toStop { context.shutdown() }
    }

    /// The sender's start and every round's end, in order, and the sending thread's CPU seconds
    /// at its start and each round's last send; throws the first failure instead.
    func roundEnds() throws -> (marks: [Mark], senderCPU: [Double]) {
        try lock.withLock {
            if let error { throw TransportRun.Failure(description: error) }
            guard complete, senderCPU.count == marks.count else { throw TransportRun.Failure(description: "the run did not complete") }
            return (marks, senderCPU)
        }
    }
}

/// A receiver thread's verdict, handed to the sending thread under a lock (used by the farm
/// benches' raw-libzmq baselines).
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
