import Foundation
import Logging
import TesseraCoordinator
import TesseraCore
import TesseraStore
import TesseraWire
import TesseraZMQ

/// Many simulated workers on ONE thread: N DEALER sockets speaking the real worker protocol
/// (HELLO, WELCOME, CREDIT, TASK, RESULT, HEARTBEAT) with CURVE keys, against a real
/// coordinator. Used by `tessera bench dispatch|farm|restart`.
///
/// Each worker runs at most `slots` tasks at once and grants `credit` (running plus queued)
/// like `WorkerRuntime`: one CREDIT after WELCOME, then a RESULT and a CREDIT 1 per finished
/// task. With no `duration` a task is answered the moment it arrives (no-op); otherwise it
/// "runs" for `duration(taskID)` of wall time. Threading: `run()` blocks the calling thread and
/// owns every socket it creates.
final class SimulatedFarm {
    /// What the farm is and does.
    struct Options {
        var endpoint: String
        var workers: Int
        /// Tasks each worker holds at once (running plus queued): its CREDIT.
        var credit: Int
        /// Tasks each worker runs at once (ignored without `duration`).
        var slots: Int = 1
        var security: ClientSecurity
        /// How long a task runs; nil answers every task at once.
        var duration: (@Sendable (TaskID) -> Duration)?
        /// Stop after this many RESULTs.
        var tasks: Int
        /// Give up (throw) after this long.
        var timeout: Duration = .seconds(600)
        var heartbeatMillis: Int = 1000
        /// After the last RESULT, keep the workers connected (heartbeating) until this holds,
        /// e.g. the job is recorded finished; nil stops at once.
        var finished: (() throws -> Bool)?
    }

    /// What the farm measured.
    struct Report {
        /// When the first CREDIT went out (all workers registered: the dispatch clock starts).
        var creditStart: ContinuousClock.Instant
        var firstTask: ContinuousClock.Instant
        var lastResult: ContinuousClock.Instant
        /// When each tenth of the tasks had been answered (10 instants).
        var deciles: [ContinuousClock.Instant]
        /// Credit → TASK latencies (oldest credit of the worker served first), microseconds.
        var latenciesMicros: [Double]
        /// Sum of the simulated task durations, seconds (0 for no-op tasks).
        var busySeconds: Double
        /// How late the simulator noticed finished tasks on average (its own overhead: timer
        /// rounding, a busy thread), milliseconds (0 for no-op tasks).
        var latenessMeanMillis: Double
        var results: Int
        /// When `finished` first held (the last RESULT's instant without it).
        var finishedAt: ContinuousClock.Instant
        /// CPU seconds the simulated workers used from the first CREDIT to `finishedAt`: the
        /// farm's thread plus its own libzmq I/O thread (CURVE, TCP), measured per thread.
        var cpuSeconds: Double
        /// CPU seconds the whole process used over the same span (coordinator + simulated workers).
        var processCPUSeconds: Double
    }

    /// Why the farm stopped early.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct Worker {
        var socket: ZMQSocket
        var welcomed = false
        /// When each outstanding credit was granted, oldest first (`head` is the next one).
        var credits: [ContinuousClock.Instant] = []
        var head = 0
        var queued: [(TaskID, UInt32)] = []
        var running: [(end: ContinuousClock.Instant, task: TaskID, attempt: UInt32, micros: UInt64)] = []
        var lastSent: ContinuousClock.Instant = .now
    }

    let options: Options

    init(_ options: Options) { self.options = options }

    /// Connects every worker, waits until all are registered, grants credit and serves tasks
    /// until `tasks` results were sent. Throws on a REFUSE, a transport error or the timeout.
    func run() throws -> Report {
        let libzmqThreadsBefore = ThreadCPU.threadIDs(named: "ZMQbg")
        let context = try ZMQContext(ioThreads: 1)
        defer { context.shutdown() }
        var farmThreads: Set<Int32> = [ThreadCPU.currentThreadID()]
        var cpuAtCredit = 0.0, processCPUAtCredit = 0.0
        var workers: [Worker] = []
        var poller = ZMQPoller()
        defer { for worker in workers { worker.socket.close() } }
        for index in 0..<options.workers {
            let socket = try context.makeSocket(.dealer)
            try socket.set(.linger, 0)
            try socket.set(.reconnectInterval, 10)
            try socket.applyClientSecurity(options.security)
            try socket.connect(options.endpoint)
            workers.append(Worker(socket: socket))
            poller.add(socket)
            try send(.hello(Hello(workerName: "sim-\(index)", hostname: "bench", softwareVersion: TesseraVersion.string, cores: 1,
                                  memoryBytes: 1 << 30, slots: UInt16(clamping: options.slots), taskKinds: Set(TaskKind.allCases),
                                  capabilities: [])), on: &workers[index])
        }
        let deadline = ContinuousClock.now + options.timeout
        var welcomed = 0
        var creditStart: ContinuousClock.Instant?
        var firstTask: ContinuousClock.Instant?
        var lastResult = ContinuousClock.now
        var results = 0
        var deciles: [ContinuousClock.Instant] = []
        var latencies: [Double] = []
        latencies.reserveCapacity(options.tasks + options.workers * options.credit)
        var busy = 0.0
        var lateness = 0.0, finished = 0
        let beat = Duration.milliseconds(options.heartbeatMillis) / 2

        func finish(_ index: Int, _ task: TaskID, _ attempt: UInt32, micros: UInt64) throws {
            try send(.result(TaskResult(taskID: task, attempt: attempt, computeMicros: max(1, micros), metadata: [], payloads: [])),
                     on: &workers[index])
            try send(.credit(Credit(credits: 1)), on: &workers[index])
            workers[index].credits.append(.now)
            results += 1
            lastResult = .now
            while deciles.count < 10, results * 10 >= options.tasks * (deciles.count + 1) { deciles.append(lastResult) }
        }

        while results < options.tasks {
            let now = ContinuousClock.now
            guard now < deadline else {
                throw Failure(description: "simulated farm: \(results) of \(options.tasks) results after \(options.timeout) (\(welcomed) of \(options.workers) workers registered)")
            }
            // Wake for the next task to finish or the next heartbeat, whichever is first.
            var wake = now + beat
            for worker in workers { for r in worker.running where r.end < wake { wake = r.end } }
            let waitMicros = max(0, (wake - now) / .microseconds(1))
            let ready = try poller.poll(timeoutMilliseconds: Int((waitMicros + 999) / 1000))
            for index in workers.indices where ready.isReadable(index) {
                while let parts = try workers[index].socket.receiveMultipartBytes(dontWait: true) {
                    guard let header = parts.first else { continue }
                    switch try WireCodec.decode(header) {
                    case .welcome:
                        if !workers[index].welcomed {
                            workers[index].welcomed = true
                            welcomed += 1
                        }
                        if welcomed == options.workers, creditStart == nil {
                            // Everyone is registered: grant credit everywhere at once.
                            creditStart = .now
                            // The farm's own threads: this one and the libzmq threads its context
                            // started with its first socket (the coordinator's existed before).
                            farmThreads.formUnion(ThreadCPU.threadIDs(named: "ZMQbg").subtracting(libzmqThreadsBefore))
                            cpuAtCredit = ThreadCPU.seconds(of: farmThreads)
                            processCPUAtCredit = ThreadCPU.processSeconds()
                            for w in workers.indices {
                                try send(.credit(Credit(credits: UInt16(clamping: options.credit))), on: &workers[w])
                                workers[w].credits.append(contentsOf: repeatElement(ContinuousClock.now, count: options.credit))
                            }
                        }
                    case .task(let task):
                        let arrived = ContinuousClock.now
                        if firstTask == nil { firstTask = arrived }
                        if workers[index].head < workers[index].credits.count {
                            latencies.append(Double((arrived - workers[index].credits[workers[index].head]) / .nanoseconds(1)) / 1000)
                            workers[index].head += 1
                            if workers[index].head > 4096 {
                                workers[index].credits.removeFirst(workers[index].head)
                                workers[index].head = 0
                            }
                        }
                        if options.duration != nil {
                            workers[index].queued.append((task.taskID, task.attempt))
                        } else {
                            try finish(index, task.taskID, task.attempt, micros: 1)
                        }
                    case .refuse(let refuse):
                        throw Failure(description: "coordinator refused sim-\(index): \(refuse.reason)")
                    default:
                        break  // HEARTBEAT, CANCEL, DRAIN: nothing to do for a simulated worker
                    }
                }
            }
            // Finish what is due, start what fits.
            if let duration = options.duration {
                let now = ContinuousClock.now
                for index in workers.indices {
                    var w = workers[index]
                    let due = w.running.filter { $0.end <= now }
                    if !due.isEmpty {
                        for r in due { lateness += BenchFigures.seconds(now - r.end) }
                        finished += due.count
                        w.running.removeAll { $0.end <= now }
                        workers[index] = w
                        for r in due { try finish(index, r.task, r.attempt, micros: r.micros) }
                        w = workers[index]
                    }
                    while w.running.count < options.slots, !w.queued.isEmpty {
                        let (task, attempt) = w.queued.removeFirst()
                        let d = duration(task)
                        busy += Double(d / .nanoseconds(1)) / 1e9
                        w.running.append((ContinuousClock.now + d, task, attempt, UInt64(max(1, d / .microseconds(1)))))
                    }
                    workers[index] = w
                }
            }
            let later = ContinuousClock.now
            for index in workers.indices where later - workers[index].lastSent >= beat {
                try send(.heartbeat, on: &workers[index])
            }
        }
        var finishedAt = lastResult
        if let finished = options.finished {
            // Stay connected until the coordinator has recorded everything: closing the sockets
            // now would make it declare the workers lost.
            while try !finished() {
                guard ContinuousClock.now < deadline else { throw Failure(description: "simulated farm: not finished after \(options.timeout)") }
                _ = try poller.poll(timeoutMilliseconds: 1)
                for index in workers.indices {
                    while try workers[index].socket.receiveMultipartBytes(dontWait: true) != nil {}
                    if ContinuousClock.now - workers[index].lastSent >= beat { try send(.heartbeat, on: &workers[index]) }
                }
            }
            finishedAt = .now
        }
        guard let creditStart, let firstTask else { throw Failure(description: "simulated farm: no task arrived") }
        return Report(creditStart: creditStart, firstTask: firstTask, lastResult: lastResult, deciles: deciles,
                      latenciesMicros: latencies, busySeconds: busy, latenessMeanMillis: finished > 0 ? lateness / Double(finished) * 1000 : 0,
                      results: results, finishedAt: finishedAt, cpuSeconds: ThreadCPU.seconds(of: farmThreads) - cpuAtCredit,
                      processCPUSeconds: ThreadCPU.processSeconds() - processCPUAtCredit)
    }

    private func send(_ message: WireMessage, on worker: inout Worker) throws {
        guard try worker.socket.send([WireCodec.encode(message)]) else {
            throw Failure(description: "cannot send \(message.name) to the coordinator")
        }
        worker.lastSent = .now
    }
}

/// Raw libzmq round trips with the farm's shape: `workers` DEALERs on one thread, `credit`
/// messages in flight each, to a ROUTER on its own thread that answers every message at once —
/// the transport's ceiling for `tessera bench dispatch`.
enum RawRoundTrips {
    /// Round trips per second over `total` round trips, with CURVE when `curve`.
    static func perSecond(workers: Int, credit: Int, total: Int, curve: Bool, messageBytes: Int = 64) throws -> Double {
        let context = try ZMQContext(ioThreads: 1)
        defer { context.shutdown() }
        let keys = curve ? try (server: CurveKeyPair.generate(), client: CurveKeyPair.generate()) : nil
        let outcome = ReceiverOutcome()
        let bound = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let serverSecret = keys?.server.secretKey
        let answers = total + workers  // one warm-up message per worker
        let echo = Thread {
            defer { done.signal() }
            do {
                let router = try context.makeSocket(.router)
                defer { router.close() }
                try router.set(.linger, 0)
                try router.set(.receiveTimeout, 30_000)
                if let serverSecret {
                    try router.set(.curveServer, true)
                    try router.set(.curveSecretKey, serverSecret)
                }
                try router.bind("tcp://127.0.0.1:*")
                outcome.bound(at: try router.lastEndpoint)
                bound.signal()
                for _ in 0..<answers {
                    guard let parts = try router.receiveMultipartBytes() else { throw TransportRun.Failure(description: "echo timed out") }
                    _ = try router.send(parts)
                }
                outcome.finish(at: .now)
            } catch {
                outcome.fail("\(error)")
                bound.signal()
            }
        }
        echo.start()
        bound.wait()
        let endpoint = try outcome.endpoint()
        var sockets: [ZMQSocket] = []
        defer { for socket in sockets { socket.close() } }
        var poller = ZMQPoller()
        let message = [UInt8](repeating: 7, count: messageBytes)
        for _ in 0..<workers {
            let socket = try context.makeSocket(.dealer)
            try socket.set(.linger, 0)
            if let keys { try socket.applyClientSecurity(.curve(keys: keys.client, serverKey: keys.server.publicKey)) }
            try socket.connect(endpoint)
            sockets.append(socket)
            poller.add(socket)
            _ = try socket.send([message])
        }
        // Warm-up: every connection (and CURVE handshake) is up before the clock starts.
        var warm = 0
        while warm < workers {
            let ready = try poller.poll(timeoutMilliseconds: 30_000)
            guard !ready.isEmpty else { throw TransportRun.Failure(description: "raw round trips: warm-up timed out") }
            for index in sockets.indices where ready.isReadable(index) {
                while try sockets[index].receiveMultipartBytes(dontWait: true) != nil { warm += 1 }
            }
        }
        let start = ContinuousClock.now
        var sent = 0
        for socket in sockets {
            for _ in 0..<credit where sent < total {
                _ = try socket.send([message])
                sent += 1
            }
        }
        var received = 0
        while received < total {
            let ready = try poller.poll(timeoutMilliseconds: 30_000)
            guard !ready.isEmpty else { throw TransportRun.Failure(description: "raw round trips: timed out after \(received)") }
            for index in sockets.indices where ready.isReadable(index) {
                while try sockets[index].receiveMultipartBytes(dontWait: true) != nil {
                    received += 1
                    if sent < total {
                        _ = try sockets[index].send([message])
                        sent += 1
                    }
                }
            }
        }
        done.wait()
        let seconds = Double((try outcome.result() - start) / .nanoseconds(1)) / 1e9
        return Double(total) / seconds
    }
}

/// A coordinator for a benchmark: a real `Coordinator` on a real SQLite file in `directory`,
/// CURVE with a fresh server key admitting one fresh worker key (like `tessera run`), task
/// socket on TCP loopback, no control socket.
struct BenchCoordinator {
    let coordinator: Coordinator
    /// What the simulated workers connect with.
    let clientSecurity: ClientSecurity
    let endpoint: String

    /// Creates and starts it; `databasePath` may already hold state (restart).
    static func start(databasePath: String, maxPreparing: Int, heartbeatMillis: Int = 1000) throws -> BenchCoordinator {
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: nil, databasePath: databasePath)
        config.security = .curve(serverKeys: server, ephemeralKeys: [
            KeyRecord(name: "bench-worker", publicKey: client.publicKey, role: .worker, addedAt: 0, revokedAt: nil),
        ])
        config.maxPreparing = maxPreparing
        config.heartbeatMillis = heartbeatMillis
        let coordinator = try Coordinator(config: config, logger: BenchCoordinator.quietLogger())
        try coordinator.start()
        guard let endpoint = coordinator.taskEndpoint else {
            coordinator.stop()
            throw TransportRun.Failure(description: "the coordinator bound no task endpoint")
        }
        return BenchCoordinator(coordinator: coordinator, clientSecurity: .curve(keys: client, serverKey: server.publicKey), endpoint: endpoint)
    }

    /// A logger that keeps warnings and errors only (per-worker notices would swamp a bench).
    static func quietLogger() -> Logger {
        var logger = Logger(label: "tessera.bench")
        logger.logLevel = .warning
        return logger
    }
}

/// Shared helpers of the dispatch/farm/restart benches.
enum BenchFigures {
    /// The `q`-quantile (0…1) of `values` (nearest rank); 0 when empty.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
    }

    static func seconds(_ duration: Duration) -> Double { Double(duration / .nanoseconds(1)) / 1e9 }

    /// A fresh scratch directory, removed by the caller.
    static func scratchDirectory(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "tessera-bench-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Prints `report` as pretty, key-sorted JSON.
    static func printJSON<T: Encodable>(_ report: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}

/// CPU time of this process's threads, from `/proc/self/task` (Linux), to tell the simulated
/// workers' CPU from the coordinator's when both run in one process.
enum ThreadCPU {
    /// The kernel thread ids of this process's threads whose name starts with `prefix` now.
    static func threadIDs(named prefix: String) -> Set<Int32> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(names.compactMap { name in
            guard let id = Int32(name),
                  let comm = try? String(contentsOfFile: "/proc/self/task/\(name)/comm", encoding: .utf8),
                  comm.hasPrefix(prefix) else { return nil }
            return id
        })
    }

    /// The calling thread's kernel id.
    static func currentThreadID() -> Int32 {
        // /proc/thread-self links to /proc/PID/task/TID.
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return Int32(target.split(separator: "/").last ?? "") ?? 0
    }

    /// User + system CPU seconds used so far by the threads `ids` (threads that ended count 0).
    static func seconds(of ids: Set<Int32>) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for id in ids {
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(id)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after the command's closing parenthesis: state is field 3; utime and stime are 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            total += (user + system) / ticks
        }
        return total
    }

    /// User + system CPU seconds used so far by the whole process.
    static func processSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
