import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore
import TesseraZMQ

/// `tessera bench dispatch`: no-op tasks through the real coordinator (CURVE, SQLite with full
/// durability) to `--workers` simulated workers held by one thread, against the store-only
/// ceiling (the same claims and results without sockets), SQLite's batched-update rate and raw
/// libzmq round trips with the same sockets — all measured in the same run.
struct BenchDispatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "No-op tasks/s and dispatch latency through the real coordinator vs the store alone and raw libzmq round trips.")

    @Option(help: "Simulated workers (DEALER sockets on one thread).")
    var workers: Int = 200

    @Option(help: "Tasks each worker holds at once (its CREDIT).")
    var credit: Int = 4

    @Option(help: "No-op tasks in the benchmark job (1000000 for the 1M-row figure).")
    var tasks: Int = 100_000

    @Option(help: "Tasks for the store-only and raw libzmq baselines (default: min(tasks, 100000)).")
    var baselineTasks: Int?

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// The whole report.
    struct Report: Codable {
        var workers: Int
        var credit: Int
        var tasks: Int
        /// Seconds to create the job's rows (one transaction; not part of the rate).
        var createJobSeconds: Double
        /// Tasks per second, first CREDIT to the job recorded finished in SQLite.
        var tasksPerSecond: Double
        /// Tasks per second in each tenth of the run (flatness as the table fills).
        var decileTasksPerSecond: [Double]
        /// Credit granted → TASK received at the worker, milliseconds.
        var latencyP50Millis: Double
        var latencyP99Millis: Double
        /// Baselines measured in the same run.
        var storeOnlyTasksPerSecond: Double
        var sqliteBatchedUpdatesPerSecond: Double
        var rawZMQRoundTripsPerSecond: Double
        /// tasksPerSecond / storeOnlyTasksPerSecond.
        var ratioToStoreOnly: Double
        /// tasksPerSecond / rawZMQRoundTripsPerSecond.
        var ratioToRawZMQ: Double
        /// CPU of the coordinator (the process minus the simulated workers' threads) per task,
        /// microseconds, first CREDIT to the job recorded finished.
        var coordinatorCPUMicrosPerTask: Double
        /// CPU of the simulated workers (their thread and libzmq I/O thread) per task, microseconds.
        var simulatedWorkersCPUMicrosPerTask: Double
        /// Cores busy on average over the run: coordinator, simulated workers.
        var coordinatorCores: Double
        var simulatedWorkersCores: Double
        var goal: String
    }

    func validate() throws {
        guard workers > 0, workers <= 2_000 else { throw ValidationError("--workers must be 1...2000") }
        guard credit > 0, credit <= 64 else { throw ValidationError("--credit must be 1...64 (the coordinator caps tasks in flight per worker at 64)") }
        guard tasks > 0 else { throw ValidationError("--tasks must be positive") }
        if let baselineTasks, baselineTasks <= 0 { throw ValidationError("--baseline-tasks must be positive") }
    }

    func run() throws {
        let dir = try BenchFigures.scratchDirectory("dispatch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let baselineCount = baselineTasks ?? min(tasks, 100_000)
        let raw = try RawRoundTrips.perSecond(workers: workers, credit: credit, total: max(baselineCount, workers * credit), curve: true)
        let store = try StoreBenchmark.dispatchBaseline(directory: dir, tasks: baselineCount, workers: workers, credit: credit)

        // No-op tasks are prepared inline (nothing to read), so the preparation bound is the
        // farm's whole credit: claims are limited by credit alone.
        let bench = try BenchCoordinator.start(databasePath: dir + "/coordinator.sqlite", maxPreparing: workers * credit)
        defer { bench.coordinator.stop() }
        let created = ContinuousClock.now
        let job = try bench.coordinator.store.createBenchmarkJob(name: "dispatch", tasks: tasks)
        let createSeconds = BenchFigures.seconds(.now - created)
        let coordinatorStore = bench.coordinator.store
        let farm = SimulatedFarm(.init(endpoint: bench.endpoint, workers: workers, credit: credit,
                                       security: bench.clientSecurity, tasks: tasks,
                                       finished: { try coordinatorStore.job(job)?.state.isFinished == true }))
        let report = try farm.run()
        let finished = report.finishedAt
        guard let record = try bench.coordinator.store.job(job), record.taskCounts[.succeeded] == tasks else {
            throw ValidationError("the benchmark job finished without \(tasks) succeeded tasks")
        }
        let wall = BenchFigures.seconds(finished - report.creditStart)
        let rate = Double(tasks) / wall
        let coordinatorCPU = max(0, report.processCPUSeconds - report.cpuSeconds)
        var deciles: [Double] = []
        var previous = report.creditStart
        for (index, instant) in report.deciles.enumerated() {
            let count = (tasks * (index + 1)) / 10 - (tasks * index) / 10
            deciles.append(Double(count) / max(1e-9, BenchFigures.seconds(instant - previous)))
            previous = instant
        }
        let result = Report(
            workers: workers, credit: credit, tasks: tasks, createJobSeconds: createSeconds, tasksPerSecond: rate,
            decileTasksPerSecond: deciles,
            latencyP50Millis: BenchFigures.quantile(report.latenciesMicros, 0.5) / 1000,
            latencyP99Millis: BenchFigures.quantile(report.latenciesMicros, 0.99) / 1000,
            storeOnlyTasksPerSecond: store.claimAndRecordPerSecond, sqliteBatchedUpdatesPerSecond: store.batchedUpdatesPerSecond,
            rawZMQRoundTripsPerSecond: raw, ratioToStoreOnly: rate / store.claimAndRecordPerSecond, ratioToRawZMQ: rate / raw,
            coordinatorCPUMicrosPerTask: coordinatorCPU / Double(tasks) * 1e6,
            simulatedWorkersCPUMicrosPerTask: report.cpuSeconds / Double(tasks) * 1e6,
            coordinatorCores: coordinatorCPU / wall, simulatedWorkersCores: report.cpuSeconds / wall,
            goal: ">= 45000 tasks/s, flat as the tasks table grows to 1M rows")
        if json { return try BenchFigures.printJSON(result) }
        print("dispatch: \(workers) simulated workers × credit \(credit), \(tasks) no-op tasks, CURVE over TCP loopback, SQLite synchronous=FULL")
        print("| figure | value |")
        print("|---|---|")
        print(String(format: "| coordinator tasks/s (credit → durable result) | %.0f |", rate))
        print(String(format: "| dispatch latency p50 / p99 (credit → TASK) | %.2f / %.2f ms |", result.latencyP50Millis, result.latencyP99Millis))
        print("| tasks/s per tenth of the run | \(deciles.map { String(format: "%.0f", $0) }.joined(separator: ", ")) |")
        print(String(format: "| store only: claim + record rounds, tasks/s | %.0f |", store.claimAndRecordPerSecond))
        print(String(format: "| SQLite batched updates, rows/s | %.0f |", store.batchedUpdatesPerSecond))
        print(String(format: "| raw libzmq round trips/s (same sockets, CURVE) | %.0f |", raw))
        print(String(format: "| ratio to store only / to raw libzmq | %.3f / %.3f |", result.ratioToStoreOnly, result.ratioToRawZMQ))
        print(String(format: "| CPU per task: coordinator / simulated workers | %.1f / %.1f µs |",
                     result.coordinatorCPUMicrosPerTask, result.simulatedWorkersCPUMicrosPerTask))
        print(String(format: "| cores busy: coordinator / simulated workers | %.2f / %.2f |", result.coordinatorCores, result.simulatedWorkersCores))
        print(String(format: "| job creation (%d rows, not timed above) | %.2f s |", tasks, createSeconds))
        print("goal: \(result.goal)")
    }
}

/// `tessera bench farm`: a simulated farm with realistic task durations (log-normal, seeded)
/// through the real coordinator; makespan against the ideal (busy time spread over every slot,
/// or the longest task) and against a zero-overhead greedy schedule of the same durations
/// computed in the same run.
struct BenchFarm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm",
        abstract: "Makespan of a simulated farm with realistic task durations vs the ideal.")

    @Option(help: "Simulated workers.")
    var workers: Int = 200

    @Option(help: "Tasks each worker runs at once.")
    var slots: Int = 1

    @Option(help: "Tasks each worker holds queued beyond its slots (its CREDIT is slots + prefetch).")
    var prefetch: Int = 1

    @Option(help: "Tasks in the job (60000: ~30 s; with fewer, the tail where most slots idle dominates the ideal).")
    var tasks: Int = 60_000

    @Option(help: "Median task duration, milliseconds (log-normal).")
    var medianMillis: Double = 80

    @Option(help: "Log-normal sigma of task durations (0.6: the p90 is ~2.2× the median).")
    var sigma: Double = 0.6

    @Option(help: "Seed of the task durations.")
    var seed: UInt64 = 1

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// The whole report.
    struct Report: Codable {
        var workers: Int
        var slots: Int
        var tasks: Int
        var medianMillis: Double
        var sigma: Double
        var seed: UInt64
        /// Sum of the task durations, seconds.
        var busySeconds: Double
        /// First CREDIT to the job recorded finished in SQLite, seconds.
        var makespanSeconds: Double
        /// max(busy / (workers × slots), longest task), seconds.
        var idealSeconds: Double
        /// The same durations in task order, each to the first free slot, no overhead, seconds.
        var greedySeconds: Double
        /// idealSeconds / makespanSeconds.
        var efficiency: Double
        /// greedySeconds / makespanSeconds.
        var ratioToGreedy: Double
        /// The simulator's own mean lateness in noticing a finished task, ms (counted in the makespan).
        var simulatorLatenessMillis: Double
        var goal: String
    }

    func validate() throws {
        guard workers > 0, workers <= 2_000, slots > 0, slots <= 32, prefetch >= 0, slots + prefetch <= 64 else {
            throw ValidationError("--workers must be 1...2000, --slots 1...32, --prefetch >= 0 with slots + prefetch <= 64")
        }
        guard tasks > 0, medianMillis > 0, sigma >= 0 else { throw ValidationError("--tasks and --median-millis must be positive, --sigma >= 0") }
    }

    /// The duration of task `id`: log-normal with the given median and sigma, drawn from a
    /// SplitMix64 stream seeded by (seed, id), so every run gives every task the same duration.
    static func duration(of id: TaskID, seed: UInt64, medianMillis: Double, sigma: Double) -> Duration {
        var random = SplitMix64(seed: seed ^ (UInt64(bitPattern: id.rawValue) &* 0x9E37_79B9_7F4A_7C15))
        let u1 = max(Double(random.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(random.next() >> 11) / Double(1 << 53)
        let z = (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
        return .microseconds(Int64((medianMillis * 1000 * Foundation.exp(sigma * z)).rounded()))
    }

    func run() throws {
        let dir = try BenchFigures.scratchDirectory("farm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bench = try BenchCoordinator.start(databasePath: dir + "/coordinator.sqlite", maxPreparing: workers * (slots + prefetch))
        defer { bench.coordinator.stop() }
        let job = try bench.coordinator.store.createBenchmarkJob(name: "farm", tasks: tasks)
        let (seed, median, sigma) = (self.seed, medianMillis, self.sigma)
        let executed = DurationLog()
        let farm = SimulatedFarm(.init(endpoint: bench.endpoint, workers: workers, credit: slots + prefetch, slots: slots,
                                       security: bench.clientSecurity, duration: { id in
                                           let d = BenchFarm.duration(of: id, seed: seed, medianMillis: median, sigma: sigma)
                                           executed.add(id, d)
                                           return d
                                       }, tasks: tasks, finished: { [store = bench.coordinator.store] in
                                           try store.job(job)?.state.isFinished == true
                                       }))
        let report = try farm.run()
        let finished = report.finishedAt
        let makespan = BenchFigures.seconds(finished - report.creditStart)
        let durations = executed.inTaskOrder()
        let lanes = workers * slots
        let busy = durations.reduce(0, +)
        let ideal = max(busy / Double(lanes), durations.max() ?? 0)
        // Greedy list scheduling with zero overhead: each task, in id order, to the earliest free slot.
        var free = [Double](repeating: 0, count: lanes)
        for d in durations {
            var best = 0
            for i in 1..<lanes where free[i] < free[best] { best = i }
            free[best] += d
        }
        let greedy = free.max() ?? 0
        let result = Report(workers: workers, slots: slots, tasks: tasks, medianMillis: medianMillis, sigma: sigma, seed: seed,
                            busySeconds: busy, makespanSeconds: makespan, idealSeconds: ideal, greedySeconds: greedy,
                            efficiency: ideal / makespan, ratioToGreedy: greedy / makespan,
                            simulatorLatenessMillis: report.latenessMeanMillis, goal: "efficiency >= 0.95")
        if json { return try BenchFigures.printJSON(result) }
        print(String(format: "farm: %d simulated workers × %d slot(s) (+%d prefetch), %d tasks, log-normal median %.0f ms sigma %.2f, seed %llu",
                     workers, slots, prefetch, tasks, medianMillis, sigma, seed))
        print("| figure | seconds |")
        print("|---|---|")
        print(String(format: "| busy (sum of durations) | %.2f |", busy))
        print(String(format: "| ideal: max(busy / %d slots, longest task) | %.3f |", lanes, ideal))
        print(String(format: "| zero-overhead greedy schedule | %.3f |", greedy))
        print(String(format: "| makespan through the coordinator | %.3f |", makespan))
        print(String(format: "| simulator's mean lateness per task (its own overhead, in the makespan) | %.4f |", report.latenessMeanMillis / 1000))
        print(String(format: "efficiency (ideal / makespan) %.3f, ratio to greedy %.3f; goal: %@", result.efficiency, result.ratioToGreedy, result.goal))
    }
}

/// The durations the simulated farm drew, by task (written by the farm's thread, read after).
final class DurationLog: @unchecked Sendable {
    private let lock = NSLock()
    private var durations: [TaskID: Double] = [:]

    /// Records `duration` for `id` (a task run twice keeps its last draw: the same value).
    func add(_ id: TaskID, _ duration: Duration) {
        lock.withLock { durations[id] = BenchFigures.seconds(duration) }
    }

    /// Every recorded duration in seconds, by ascending task id.
    func inTaskOrder() -> [Double] {
        lock.withLock { durations.sorted { $0.key.rawValue < $1.key.rawValue }.map(\.value) }
    }
}

/// `tessera bench restart`: time from coordinator start to the first TASK a simulated worker
/// receives, on a database of `--tasks` task rows with tasks left running, against the store
/// alone doing the same recovery and first claim on an identical copy.
struct BenchRestart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Coordinator start → first TASK with a large tasks table vs the store-only recovery and claim.")

    @Option(help: "Task rows in the database (1000000 for the 1M-row figure).")
    var tasks: Int = 100_000

    @Option(help: "Tasks running when the previous coordinator stopped (requeued at start).")
    var running: Int = 500

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// The whole report.
    struct Report: Codable {
        var tasks: Int
        var running: Int
        var databaseBytes: Int64
        var buildSeconds: Double
        /// Open + recover + register + first claim, no sockets.
        var storeOnlySeconds: Double
        /// Coordinator init + start (recovery, ZAP, bind) + worker connect, CURVE handshake,
        /// HELLO/WELCOME/CREDIT → first TASK received.
        var coordinatorSeconds: Double
        /// coordinatorSeconds / storeOnlySeconds.
        var ratioToStoreOnly: Double
        var goal: String
    }

    func validate() throws {
        guard tasks > 0, running > 0, running <= tasks else { throw ValidationError("--tasks must be positive and --running 1...tasks") }
    }

    func run() throws {
        let dir = try BenchFigures.scratchDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/coordinator.sqlite", copy = dir + "/store-only.sqlite"
        let building = ContinuousClock.now
        let bytes = try StoreBenchmark.buildRestartDatabase(path: path, tasks: tasks, running: running)
        let buildSeconds = BenchFigures.seconds(.now - building)
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix)
        }
        let storeOnly = try StoreBenchmark.restartToFirstClaim(path: copy)

        let start = ContinuousClock.now
        let bench = try BenchCoordinator.start(databasePath: path, maxPreparing: 8)
        defer { bench.coordinator.stop() }
        let farm = SimulatedFarm(.init(endpoint: bench.endpoint, workers: 1, credit: 1, security: bench.clientSecurity,
                                       tasks: 1, timeout: .seconds(120)))
        let report = try farm.run()
        let coordinatorSeconds = BenchFigures.seconds(report.firstTask - start)
        let result = Report(tasks: tasks, running: running, databaseBytes: bytes, buildSeconds: buildSeconds,
                            storeOnlySeconds: storeOnly, coordinatorSeconds: coordinatorSeconds,
                            ratioToStoreOnly: coordinatorSeconds / storeOnly, goal: "coordinator start → first dispatch < 2 s with 1M task rows")
        if json { return try BenchFigures.printJSON(result) }
        print("restart: \(tasks) task rows (\(bytes >> 20) MiB), \(running) running when stopped; warm page cache")
        print("| figure | seconds |")
        print("|---|---|")
        print(String(format: "| store only: open, requeue, register, first claim | %.3f |", storeOnly))
        print(String(format: "| coordinator start → first TASK at a worker (CURVE) | %.3f |", coordinatorSeconds))
        print(String(format: "ratio to store only %.2f (database built in %.1f s); goal: %@", result.ratioToStoreOnly, buildSeconds, result.goal))
    }
}
