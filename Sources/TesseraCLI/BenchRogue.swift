import ArgumentParser
import Foundation
import Synchronization
import TesseraCoordinator
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire
import TesseraZMQ

/// `tessera bench rogue`: the same job on a real embedded farm (in-process coordinator with CURVE
/// on TCP loopback, `tessera worker` processes) run clean and under attack by rogue peers, in
/// alternating rounds; reports throughput of each, the ratio, what the rogues sent and what the
/// coordinator counted (issue 6, must-show 3: ratio ≥ 0.90).
///
/// Fairness: a rogue stands for another machine, so the farm (this process's threads and its
/// worker processes) is pinned to one CPU set and the rogue threads (and their libzmq I/O
/// threads) to another, in both the clean and the attacked runs. On 2 CPUs: farm on CPU 0,
/// rogues on CPU 1. With one CPU nothing is pinned and the output says so.
struct BenchRogue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rogue",
        abstract: "Job throughput under attack by rogue peers vs clean, farm and rogues on separate CPUs.")

    @Option(help: "Frames in the job.")
    var frames: Int = 8

    @Option(help: "Frame size as WIDTHxHEIGHT.")
    var size: String = "1536x1024"

    @Option(help: "Tile size of the job.")
    var tileSize: Int = 256

    @Option(help: "Rounds (each one clean and one attacked run, their order alternating).")
    var rounds: Int = 3

    @Option(help: "Rogue sets; each is a wrong-key CURVE client reconnecting in a loop, a compromised (allow-listed) worker key blasting malformed frames and reconnecting when cut, and a raw TCP client writing random bytes.")
    var rogues: Int = 1

    @Option(help: "Worker processes of the farm (one slot each).")
    var workers: Int = 2

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// One round's figures.
    struct Round: Codable {
        var cleanSeconds: Double
        var attackedSeconds: Double
        var cleanFramesPerSecond: Double
        var attackedFramesPerSecond: Double
        /// attacked frames/s ÷ clean frames/s.
        var ratio: Double
        /// CPU seconds the farm (coordinator process + worker processes) spent on the job.
        var cleanFarmCPUSeconds: Double
        var attackedFarmCPUSeconds: Double
        /// clean ÷ attacked farm CPU seconds: the throughput ratio a farm with its CPUs to itself
        /// would see (robust to other load on a shared machine, unlike wall time).
        var cpuRatio: Double
        /// The coordinator process's share of the farm CPU seconds.
        var cleanCoordinatorCPUSeconds: Double
        var attackedCoordinatorCPUSeconds: Double
        /// Whether the attacked run went first in this round.
        var attackedFirst: Bool
    }

    /// What the coordinator counted during the attacked runs (sums over rounds).
    struct Counted: Codable {
        var malformed: Int
        var peersDisconnected: Int
        var authRefused: Int
        var handshakeFailures: Int
        /// `peer.disconnected` events recorded.
        var disconnectEvents: Int
    }

    /// The whole report.
    struct Report: Codable {
        var frames: Int
        var width: Int
        var height: Int
        var tasksPerJob: Int
        var workers: Int
        var rogueSets: Int
        /// e.g. "farm on CPU 0, rogues on CPU 1".
        var pinning: String
        var rounds: [Round]
        var medianRatio: Double
        var minRatio: Double
        var maxRatio: Double
        var medianCPURatio: Double
        var minCPURatio: Double
        var maxCPURatio: Double
        /// Rogue sends per kind (all rounds): garbage messages of the compromised key, sockets of
        /// the wrong-key clients (each handshaking again and again), raw TCP connections with
        /// random bytes.
        var compromisedMessages: Int
        var wrongKeyConnections: Int
        var rawTCPConnections: Int
        var counted: Counted
        /// Counters that moved during the clean runs (should be 0: the rogues were stopped).
        var cleanRunMalformed: Int
        var goal: String
    }

    func validate() throws {
        guard frames > 0, rounds > 0, rogues >= 0, workers > 0, tileSize >= 64 else {
            throw ValidationError("--frames, --rounds and --workers must be positive, --rogues ≥ 0, --tile-size ≥ 64")
        }
        _ = try parseSize()
    }

    private func parseSize() throws -> (Int, Int) {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (64...20_000).contains(parts[0]), (64...20_000).contains(parts[1]) else {
            throw ValidationError("--size must be WIDTHxHEIGHT with each side 64...20000, e.g. 1024x768")
        }
        return (parts[0], parts[1])
    }

    func run() throws {
        let (width, height) = try parseSize()
        // Pin before anything starts a thread or a process: they inherit the mask.
        let plan = CPUAffinity.plan()
        if let farm = plan.farm { try CPUAffinity.pinProcess(getpid(), to: farm) }
        if !json { FileHandle.standardError.write(Data("bench rogue: \(plan.description)\n".utf8)) }

        let directory = try BenchFigures.scratchDirectory("rogue")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        let shoot = directory + "/shoot"
        var synth = SynthOptions()
        synth.frames = frames
        synth.width = width
        synth.height = height
        synth.seed = 11
        _ = try ShootSynthesizer.write(synth, to: shoot, truthDirectory: nil)

        let keys = try EphemeralFarmKeys(directory: directory)
        var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: nil, databasePath: directory + "/farm.db")
        config.security = keys.coordinatorSecurity
        let coordinator = try Coordinator(config: config, logger: BenchCoordinator.quietLogger())
        try coordinator.start()
        defer { coordinator.stop() }
        guard let endpoint = coordinator.taskEndpoint, let serverKey = coordinator.publicKey else {
            throw ValidationError("the coordinator bound no task endpoint or has no CURVE key")
        }
        let pool = try WorkerPool(count: workers, slots: 1, endpoint: endpoint, logLevel: "error", keyArguments: keys.workerArguments)
        defer { pool.stop() }
        if let farm = plan.farm {
            for pid in pool.processIDs { try CPUAffinity.pinProcess(pid, to: farm) }
        }

        var jobIndex = 0
        func timedJob() throws -> (seconds: Double, cpu: Double, coordinatorCPU: Double, tasks: Int) {
            jobIndex += 1
            let coordinatorBefore = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
            let cpuBefore = coordinatorBefore + pool.processIDs.map(ProcessCPU.seconds).reduce(0, +)
            let started = ContinuousClock.now
            let job = try coordinator.submit(JobRequest(captureDirectory: shoot, outputDirectory: directory + "/out\(jobIndex)",
                                                        tileSize: tileSize, format: .jpeg)).job
            let deadline = started + .seconds(600)
            var summary = try coordinator.store.jobSummaries(job).first
            while summary.map({ !$0.state.isFinished }) ?? false {
                try pool.superviseAlive()
                guard ContinuousClock.now < deadline else { throw ValidationError("job \(jobIndex) did not finish in 600 s") }
                Thread.sleep(forTimeInterval: 0.005)  // polling the job's state
                summary = try coordinator.store.jobSummaries(job).first
            }
            let seconds = BenchFigures.seconds(ContinuousClock.now - started)
            let coordinatorCPU = BenchBurst.cpuSeconds(Int32(RUSAGE_SELF.rawValue)) - coordinatorBefore
            let cpu = coordinatorCPU + coordinatorBefore + pool.processIDs.map(ProcessCPU.seconds).reduce(0, +) - cpuBefore
            guard let summary, summary.state == .succeeded else {
                throw ValidationError("job \(jobIndex) did not succeed: \(String(describing: summary?.state))")
            }
            return (seconds, cpu, coordinatorCPU, summary.taskCounts.values.reduce(0, +))
        }

        // Warm-up (workers registered, caches and page cache hot); not timed.
        let warm = try timedJob()
        let counters = coordinator.counters
        func snapshot() -> [Int] {
            [counters.malformed.load(ordering: .relaxed), counters.peersDisconnected.load(ordering: .relaxed),
             counters.authRefused.load(ordering: .relaxed), counters.handshakeFailures.load(ordering: .relaxed)]
        }
        var results: [Round] = []
        var counted = [0, 0, 0, 0]
        var cleanMalformed = 0
        var sent = [0, 0, 0]
        let decoyKey = try KeyFiles.write(try CurveKeyPair.generate(), name: "decoy", directory: directory, force: true).secret
        for round in 1...rounds {
            let attackedFirst = round % 2 == 0
            var clean = 0.0, attacked = 0.0, cleanCPU = 0.0, attackedCPU = 0.0, cleanCoordinator = 0.0, attackedCoordinator = 0.0
            for attackedRun in attackedFirst ? [true, false] : [false, true] {
                let before = snapshot()
                if attackedRun {
                    let compromised = try CurveKeyPair.generate()
                    try coordinator.store.allowKey(name: "compromised-\(round)", publicKey: compromised.publicKey, role: .worker)
                    let keyFile = try KeyFiles.write(compromised, name: "compromised-\(round)", directory: directory, force: true).secret
                    let attack = try RogueProcess(endpoint: endpoint, serverKey: serverKey, keyFile: keyFile, sets: rogues, cpus: plan.rogues, idle: false)
                    let measured = try timedJob()
                    let rogueSent = try attack.stop()
                    attacked = measured.seconds
                    attackedCPU = measured.cpu
                    attackedCoordinator = measured.coordinatorCPU
                    for (i, v) in rogueSent.enumerated() { sent[i] += v }
                    let after = snapshot()
                    for i in counted.indices { counted[i] += after[i] - before[i] }
                } else {
                    // The rogue CPUs are kept as busy as in an attacked run, without any traffic:
                    // both runs then see the same machine (see ``RogueAttack/idle``).
                    let decoy = try RogueProcess(endpoint: endpoint, serverKey: serverKey, keyFile: decoyKey, sets: rogues,
                                                 cpus: plan.rogues, idle: true)
                    let measured = try timedJob()
                    _ = try decoy.stop()
                    clean = measured.seconds
                    cleanCPU = measured.cpu
                    cleanCoordinator = measured.coordinatorCPU
                    cleanMalformed += snapshot()[0] - before[0]
                }
            }
            let row = Round(cleanSeconds: clean, attackedSeconds: attacked, cleanFramesPerSecond: Double(frames) / clean,
                            attackedFramesPerSecond: Double(frames) / attacked, ratio: clean / attacked,
                            cleanFarmCPUSeconds: cleanCPU, attackedFarmCPUSeconds: attackedCPU, cpuRatio: cleanCPU / attackedCPU,
                            cleanCoordinatorCPUSeconds: cleanCoordinator, attackedCoordinatorCPUSeconds: attackedCoordinator,
                            attackedFirst: attackedFirst)
            results.append(row)
            if !json {
                FileHandle.standardError.write(Data(String(format: "round %d: clean %.2f s (farm CPU %.2f s, coordinator %.2f s), under attack %.2f s (farm CPU %.2f s, coordinator %.2f s) → %.1f %% wall, %.1f %% CPU\n",
                                                           round, clean, cleanCPU, cleanCoordinator, attacked, attackedCPU, attackedCoordinator,
                                                           row.ratio * 100, row.cpuRatio * 100).utf8))
            }
        }
        let events = try coordinator.store.events(job: nil, after: 0, limit: 100_000).filter { $0.kind == "peer.disconnected" }.count
        let ratios = results.map(\.ratio).sorted(), cpuRatios = results.map(\.cpuRatio).sorted()
        let report = Report(
            frames: frames, width: width, height: height, tasksPerJob: warm.tasks, workers: workers, rogueSets: rogues,
            pinning: plan.description, rounds: results, medianRatio: ratios[ratios.count / 2], minRatio: ratios.first ?? 0,
            maxRatio: ratios.last ?? 0, medianCPURatio: cpuRatios[cpuRatios.count / 2], minCPURatio: cpuRatios.first ?? 0,
            maxCPURatio: cpuRatios.last ?? 0, compromisedMessages: sent[0], wrongKeyConnections: sent[1], rawTCPConnections: sent[2],
            counted: Counted(malformed: counted[0], peersDisconnected: counted[1], authRefused: counted[2], handshakeFailures: counted[3],
                             disconnectEvents: events),
            cleanRunMalformed: cleanMalformed, goal: "attacked/clean throughput >= 0.90")
        if json {
            try BenchFigures.printJSON(report)
            return
        }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        print("rogue bench: \(frames) frames \(width)x\(height), \(report.tasksPerJob) tasks/job, \(workers) worker processes, CURVE, TCP loopback; \(rogues) rogue set(s)")
        print("pinning: \(plan.description)")
        print("| round | clean s | attacked s | clean frames/s | attacked frames/s | wall ratio | farm CPU s clean | attacked | CPU ratio |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (i, r) in results.enumerated() {
            print("| \(i + 1)\(r.attackedFirst ? " (attack first)" : "") | \(f(r.cleanSeconds)) | \(f(r.attackedSeconds)) | \(f(r.cleanFramesPerSecond)) | \(f(r.attackedFramesPerSecond)) | \(String(format: "%.3f", r.ratio)) | \(f(r.cleanFarmCPUSeconds)) | \(f(r.attackedFarmCPUSeconds)) | \(String(format: "%.3f", r.cpuRatio)) |")
        }
        print("wall ratio median \(String(format: "%.3f", report.medianRatio)) (min \(String(format: "%.3f", report.minRatio)), max \(String(format: "%.3f", report.maxRatio))); farm-CPU ratio median \(String(format: "%.3f", report.medianCPURatio)) (min \(String(format: "%.3f", report.minCPURatio)), max \(String(format: "%.3f", report.maxCPURatio))); goal ≥ 0.90")
        print("rogues sent: \(report.compromisedMessages) garbage messages (compromised key), \(report.wrongKeyConnections) wrong-key CURVE sockets (handshaking in a loop), \(report.rawTCPConnections) raw TCP connections of random bytes")
        print("coordinator counted (attacked runs): malformed \(counted[0]), peers disconnected \(counted[1]) (\(events) peer.disconnected events), ZAP refusals \(counted[2]), failed handshakes \(counted[3]); malformed during clean runs \(cleanMalformed)")
    }
}

/// CPU affinity through `sched_setaffinity(2)` (looked up with `dlsym`: Glibc's Swift overlay
/// does not export it).
enum CPUAffinity {
    /// Which CPUs the farm and the rogues get; nil sets mean "not pinned".
    struct Plan {
        var farm: [Int]?
        var rogues: [Int]?
        var description: String
    }

    private typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
    private typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    private static let maskWords = 16  // cpu_set_t: 1024 bits

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(pointer, to: type)
    }

    /// The CPUs this process may run on.
    static func allowed() -> [Int] {
        guard let get = symbol("sched_getaffinity", as: GetAffinity.self) else { return [] }
        var mask = [UInt64](repeating: 0, count: maskWords)
        guard mask.withUnsafeMutableBytes({ get(0, $0.count, $0.baseAddress!) }) == 0 else { return [] }
        return (0..<(maskWords * 64)).filter { mask[$0 / 64] & (1 << UInt64($0 % 64)) != 0 }
    }

    /// Splits the allowed CPUs: the first half for the farm, the rest for the rogues (2 CPUs:
    /// farm on CPU 0, rogues on CPU 1). With one CPU (or no affinity call), nothing is pinned.
    static func plan() -> Plan {
        let cpus = allowed()
        guard cpus.count >= 2, symbol("sched_setaffinity", as: SetAffinity.self) != nil else {
            return Plan(farm: nil, rogues: nil, description: "NOT pinned: only \(cpus.count) CPU available, farm and rogues share it (the ratio then measures CPU contention, not the rejection path)")
        }
        let farm = Array(cpus.prefix((cpus.count + 1) / 2)), rogues = Array(cpus.dropFirst(farm.count))
        func list(_ c: [Int]) -> String { (c.count == 1 ? "CPU " : "CPUs ") + c.map(String.init).joined(separator: ",") }
        return Plan(farm: farm, rogues: rogues,
                    description: "farm (coordinator + workers) on \(list(farm)), rogues on \(list(rogues)), in clean and attacked runs alike")
    }

    /// Pins one thread (`tid` 0: the calling thread) to `cpus`.
    static func pinThread(_ tid: pid_t, to cpus: [Int]) throws {
        guard let set = symbol("sched_setaffinity", as: SetAffinity.self) else {
            throw ValidationError("sched_setaffinity is not available")
        }
        var mask = [UInt64](repeating: 0, count: maskWords)
        for cpu in cpus { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
        guard mask.withUnsafeBytes({ set(tid, $0.count, $0.baseAddress!) }) == 0 else {
            throw ValidationError("cannot pin thread \(tid) to CPUs \(cpus): \(String(cString: strerror(errno)))")
        }
    }

    /// Pins every thread of process `pid` (from /proc/PID/task) to `cpus`; threads it starts
    /// later inherit the mask.
    static func pinProcess(_ pid: pid_t, to cpus: [Int]) throws {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for tid in tasks.compactMap({ pid_t($0) }) {
            do { try pinThread(tid, to: cpus) } catch where !FileManager.default.fileExists(atPath: "/proc/\(pid)/task/\(tid)") {
                continue  // the thread ended meanwhile
            }
        }
    }
}

/// Rogue peers on their own threads (each pinned to `cpus`, if given, before it makes its libzmq
/// context, so the context's I/O thread inherits the mask), until ``stop()``; with `idle`, the
/// same number of threads only spin (the clean runs' decoy load).
///
/// Per set: (1) two CURVE clients, one with an unknown key and one with the wrong server key,
/// handshaking again 1 ms after each failure, replaced with fresh keys every 20 ms; (2) the compromised worker key blasting random frames, random
/// multi-frame messages and corrupted valid headers with non-blocking sends, libzmq
/// reconnecting it 1 ms after it is cut (its key is then suspended: refused in ZAP); (3) a raw
/// TCP client connecting and writing 256 random bytes instead of ZMTP, over and over.
final class RogueAttack: Sendable {
    /// What the rogues sent (shared across attacks).
    final class Sent: Sendable {
        let compromised = Atomic<Int>(0)
        let wrongKey = Atomic<Int>(0)
        let rawTCP = Atomic<Int>(0)
    }

    private let endpoint: String
    private let serverKey: String
    private let compromised: CurveKeyPair
    private let sets: Int
    private let cpus: [Int]?
    private let sent: Sent
    /// Spin instead of attacking: the same threads, as busy, sending nothing.
    let idle: Bool
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()
    /// Keeps the idle spinners' work observable.
    private let spun = Atomic<UInt64>(0)

    init(endpoint: String, serverKey: String, compromised: CurveKeyPair, sets: Int, cpus: [Int]?, sent: Sent, idle: Bool = false) {
        self.idle = idle
        self.endpoint = endpoint
        self.serverKey = serverKey
        self.compromised = compromised
        self.sets = sets
        self.cpus = cpus
        self.sent = sent
    }

    /// Starts 3 threads per set.
    func start() {
        for set in 0..<sets where idle {
            for kind in 0..<3 { spawn("rogue-idle-\(set)-\(kind)") { self.spin(seed: UInt64(400 + 3 * set + kind)) } }
        }
        for set in 0..<sets where !idle {
            spawn("rogue-wrong-key-\(set)") { self.wrongKeyLoop(seed: UInt64(100 + set)) }
            spawn("rogue-compromised-\(set)") { self.compromisedLoop(seed: UInt64(200 + set)) }
            spawn("rogue-raw-tcp-\(set)") { self.rawTCPLoop(seed: UInt64(300 + set)) }
        }
    }

    /// Stops the rogues and waits for their threads (and sockets) to end.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        finished.enter()
        let cpus = self.cpus, finished = self.finished
        let thread = Thread {
            defer { finished.leave() }
            if let cpus { try? CPUAffinity.pinThread(0, to: cpus) }
            body()
        }
        thread.name = name
        thread.start()
    }

    private func spin(seed: UInt64) {
        var rng = SplitMix64(seed: seed), sum: UInt64 = 0
        while !isStopping {
            for _ in 0..<10_000 { sum &+= rng.next() }
        }
        spun.add(sum)
    }

    private func wrongKeyLoop(seed: UInt64) {
        guard let context = try? ZMQContext(ioThreads: 1) else { return }
        defer { context.shutdown() }
        var rng = SplitMix64(seed: seed)
        let hello = WireCodec.encode(.hello(Hello(workerName: "intruder", hostname: "rogue", softwareVersion: TesseraVersion.string,
                                                  cores: 1, memoryBytes: 1 << 30, slots: 4, taskKinds: Set(TaskKind.allCases), capabilities: [])))
        var generation = 0
        while !isStopping {
            generation += 1
            // Two sockets at a time, each handshaking again 1 ms after every failure (libzmq's
            // reconnect): an unknown client key (refused by ZAP) and the wrong server key (the
            // handshake fails before ZAP). Fresh keys every 20 ms.
            var sockets: [ZMQSocket] = []
            for wrongServer in [false, true] {
                guard let keys = try? CurveKeyPair.generate(), let socket = try? context.makeSocket(.dealer) else { return }
                let server = wrongServer ? ((try? CurveKeyPair.generate().publicKey) ?? serverKey) : serverKey
                try? socket.applyClientSecurity(.curve(keys: keys, serverKey: server))
                try? socket.set(.reconnectInterval, 1)
                try? socket.set(.reconnectIntervalMax, 0)
                try? socket.set(.handshakeInterval, 1000)
                guard (try? socket.connect(endpoint)) != nil else { socket.close(); return }
                _ = try? socket.send([hello], dontWait: true)
                sockets.append(socket)
                sent.wrongKey.add(1)
            }
            var poller = ZMQPoller()
            for socket in sockets { _ = poller.add(socket) }
            let until = ContinuousClock.now + .milliseconds(20 + Int(rng.next() % 5))
            while !isStopping, ContinuousClock.now < until {
                _ = try? poller.poll(timeoutMilliseconds: 10)  // nothing ever arrives: the handshakes fail
            }
            for socket in sockets { socket.close() }
        }
    }

    private func compromisedLoop(seed: UInt64) {
        guard let context = try? ZMQContext(ioThreads: 1), let socket = try? context.makeSocket(.dealer) else { return }
        defer {
            socket.close()
            context.shutdown()
        }
        try? socket.applyClientSecurity(.curve(keys: compromised, serverKey: serverKey))
        try? socket.set(.sendHighWaterMark, 1000)
        try? socket.set(.reconnectInterval, 1)
        try? socket.set(.reconnectIntervalMax, 0)
        guard (try? socket.connect(endpoint)) != nil else { return }
        var poller = ZMQPoller()
        _ = poller.add(socket, events: .writable)
        var rng = SplitMix64(seed: seed)
        let valid = WireCodec.encode(.credit(Credit(credits: 5)))
        while !isStopping {
            let frames: [[UInt8]]
            switch rng.next() % 3 {
            case 0: frames = [(0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }]
            case 1: frames = (0..<Int(2 + rng.next() % 30)).map { _ in [UInt8(truncatingIfNeeded: rng.next())] }
            default:
                var header = valid
                header[Int(rng.next() % UInt64(header.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                frames = [header]
            }
            if (try? socket.send(frames, dontWait: true)) == true {
                sent.compromised.add(1)
            } else {
                _ = try? poller.poll(timeoutMilliseconds: 1)  // not connected (cut, or refused): libzmq reconnects
            }
        }
    }

    private func rawTCPLoop(seed: UInt64) {
        guard let port = UInt16(endpoint.split(separator: ":").last ?? "") else { return }
        var rng = SplitMix64(seed: seed)
        while !isStopping {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected == 0 {
                let garbage = (0..<256).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                _ = garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                sent.rawTCP.add(1)
            }
            close(fd)
        }
    }
}

extension Atomic where Value == Int {
    /// Adds `delta` (relaxed: statistics).
    fileprivate func add(_ delta: Int) { _ = wrappingAdd(delta, ordering: .relaxed) }
}

extension Atomic where Value == UInt64 {
    /// Adds `delta` (relaxed).
    fileprivate func add(_ delta: UInt64) { _ = wrappingAdd(delta, ordering: .relaxed) }
}

/// CPU time of a live process from /proc/PID/stat (user + system, clock-tick resolution).
enum ProcessCPU {
    /// CPU seconds `pid` has used so far; 0 if it is gone.
    static func seconds(_ pid: pid_t) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// The rogues as a separate process (`tessera bench rogue-peers`), as another machine would be:
/// their CPU time is not the farm's, and they are pinned to their own CPUs. Started ready to
/// attack; ``stop()`` closes its stdin and reads what it sent. SecurityTests drives the same
/// rogues against a job.
public final class RogueProcess {
    private let process = Process()
    private let input = Pipe(), output = Pipe()

    /// Starts the rogue process (`executable`, default this process's own binary: `tessera`)
    /// and waits until its rogues are running: per set, wrong-key CURVE clients handshaking in a
    /// loop, a client with `keyFile`'s (allow-listed, compromised) key blasting malformed
    /// messages, and a raw TCP client writing random bytes, all at `endpoint`. `cpus`: pin the
    /// process there; `idle`: spin the same threads without sending (a clean run's decoy).
    public init(executable: String? = nil, endpoint: String, serverKey: String, keyFile: String, sets: Int, cpus: [Int]?, idle: Bool) throws {
        process.executableURL = URL(fileURLWithPath: try executable ?? WorkerPool.executablePath())
        process.arguments = ["bench", "rogue-peers", "--endpoint", endpoint, "--server-key=\(serverKey)", "--key", keyFile,
                             "--sets", "\(sets)"] + (idle ? ["--idle"] : []) + (cpus.map { ["--cpus", $0.map(String.init).joined(separator: ",")] } ?? [])
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = readLine()
        guard line == "ready" else {
            process.terminate()
            throw ValidationError("the rogue process did not start: \(line.isEmpty ? "it exited" : line)")
        }
    }

    private func readLine() -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while Foundation.read(output.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Stops the rogues; returns what they sent: garbage messages, wrong-key sockets, raw TCP
    /// connections.
    public func stop() throws -> [Int] {
        try input.fileHandleForWriting.close()
        let line = readLine()
        process.waitUntilExit()
        let counts = line.split(separator: " ").compactMap { Int($0) }
        guard counts.count == 3 else { throw ValidationError("the rogue process reported '\(line)' (status \(process.terminationStatus))") }
        return counts
    }
}

/// `tessera bench rogue-peers` (hidden; started by `tessera bench rogue`): runs the rogues of
/// ``RogueAttack`` against a coordinator until its stdin closes, then prints what they sent.
struct BenchRoguePeers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rogue-peers", abstract: "Rogue peers for `tessera bench rogue` (until stdin closes).", shouldDisplay: false)

    @Option(help: "The coordinator's task endpoint (tcp://HOST:PORT).")
    var endpoint: String

    @Option(help: "The coordinator's public key (pass as --server-key=KEY).")
    var serverKey: String

    @Option(help: "The compromised (allow-listed) worker key's secret file.")
    var key: String

    @Option(help: "Rogue sets.")
    var sets: Int = 1

    @Option(help: "CPUs to pin every thread to, comma-separated.")
    var cpus: String?

    @Flag(help: "Busy-spin the same threads without sending anything (the clean runs' decoy).")
    var idle = false

    func run() throws {
        let compromised = try KeyFiles.readSecret(key)
        if let cpus {
            let list = cpus.split(separator: ",").compactMap { Int($0) }
            guard !list.isEmpty else { throw ValidationError("--cpus must list CPU numbers, e.g. 1 or 1,3") }
            try CPUAffinity.pinProcess(getpid(), to: list)
        }
        let sent = RogueAttack.Sent()
        let attack = RogueAttack(endpoint: endpoint, serverKey: serverKey, compromised: compromised, sets: sets, cpus: nil, sent: sent,
                                 idle: idle)
        attack.start()
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        var byte: UInt8 = 0
        while Foundation.read(STDIN_FILENO, &byte, 1) == 1 {}  // until the bench closes our stdin
        attack.stop()
        FileHandle.standardOutput.write(Data("\(sent.compromised.load(ordering: .relaxed)) \(sent.wrongKey.load(ordering: .relaxed)) \(sent.rawTCP.load(ordering: .relaxed))\n".utf8))
    }
}
