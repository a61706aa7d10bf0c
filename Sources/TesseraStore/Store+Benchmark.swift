import Foundation
import GRDB
import TesseraCore

// Batched dispatch (one transaction for many workers' claims) and benchmark jobs: jobs whose
// decode tasks are no-ops, for measuring the coordinator's dispatch path (`tessera bench
// dispatch|farm|restart`, docs/performance.md).

extension TesseraStore {
    /// The `jobs.format` of a benchmark job. Its tasks are `decode` tasks that the coordinator
    /// prepares without reading anything (empty parameters, no payloads) and records as done
    /// without output; real workers must never get them (protos/PROTOCOL.md §4.2: reserved for
    /// benchmarks). No SUBMIT can create such a job: the wire's OutputFormat has no value for it.
    public static let benchmarkFormat = "bench-noop"

    /// Claims tasks for several workers in ONE transaction: the result has one array per request,
    /// in order, each as ``claimTasks(worker:limit:)`` would return it. A worker that is unknown
    /// or was declared lost gets `[]` (the others still claim).
    /// `affinity`: which queued tasks go to whom follows the workers' input caches (``ClaimAffinity``).
    public func claimTasks(for requests: [(worker: WorkerID, limit: Int)], affinity: ClaimAffinity = .none) throws(StoreError) -> [[ClaimedTask]] {
        guard requests.contains(where: { $0.limit > 0 }) else { return requests.map { _ in [] } }
        return try write("claiming tasks for \(requests.count) workers") { db, now in
            try claimBatch(db, requests, now: now, affinity: affinity)
        }
    }

    /// Creates a benchmark job (``benchmarkFormat``) of `tasks` no-op tasks, with consecutive
    /// ids — one transaction. `name` names the job (and its pseudo capture directory).
    public func createBenchmarkJob(name: String, tasks: Int, priority: Int = 0) throws(StoreError) -> JobID {
        guard tasks > 0 else { throw StoreError(.invalidArgument, "benchmark job '\(name)' needs at least one task", databasePath: path) }
        let job = NewJob(name: name, captureDir: "/bench/\(name)", outputDir: "/bench/\(name)/out", recipeName: "bench",
                         recipeDocument: "{}", recipeHash: "0", tileSize: 1, format: Self.benchmarkFormat, priority: priority)
        return try createJob(job, frames: (0..<tasks).map { NewFrame(path: "/bench/\(name)/\($0)", stem: "t\($0)", byteCount: 0) })
    }

    /// Records results of benchmark tasks in ONE transaction: each task that is running with that
    /// attempt and belongs to a benchmark job succeeds and its frame is done (no output); the
    /// job finishes with its last frame. Stale results (late, duplicate, not a benchmark task)
    /// change nothing. Returns how many were accepted. `computeMicros` is the worker's compute time.
    @discardableResult
    public func recordBenchmarkResults(_ results: [(TaskID, attempt: Int, computeMicros: Int64)]) throws(StoreError) -> Int {
        guard !results.isEmpty else { return 0 }
        return try write("recording \(results.count) benchmark results") { db, now in
            try recordBenchmark(db, results, now: now)
        }
    }

    /// Records `results` (as ``recordBenchmarkResults(_:)``) and then claims for `requests` (as
    /// ``claimTasks(for:)``) in ONE transaction: what the dispatcher does with the benchmark
    /// results and the credit that arrived together. Returns the claims, one array per request.
    public func claimTasks(for requests: [(worker: WorkerID, limit: Int)],
                           recordingBenchmarkResults results: [(TaskID, attempt: Int, computeMicros: Int64)],
                           affinity: ClaimAffinity = .none) throws(StoreError) -> [[ClaimedTask]] {
        guard !results.isEmpty else { return try claimTasks(for: requests, affinity: affinity) }
        return try write("recording \(results.count) benchmark results and claiming for \(requests.count) workers") { db, now in
            _ = try recordBenchmark(db, results, now: now)
            return try claimBatch(db, requests, now: now, affinity: affinity)
        }
    }
}

/// The body of ``TesseraStore/recordBenchmarkResults(_:)`` inside a write transaction.
///
/// Set-based, like ``TesseraStore/claimBatch(_:_:now:)``: three statements for the whole batch
/// (tasks, attempts, frames), each walking a JSON array of the results with `json_each`, so the
/// per-result work stays inside SQLite. A task is accepted only if it is running with that
/// attempt, is a decode task of no burst member, and belongs to a benchmark job; a result given
/// twice in one batch is accepted once.
private func recordBenchmark(_ db: Database, _ results: [(TaskID, attempt: Int, computeMicros: Int64)], now: Int64) throws -> Int {
            var batch = "["
            for (index, (task, attempt, _)) in results.enumerated() {
                if index > 0 { batch += "," }
                batch += "[\(task.rawValue),\(attempt)]"
            }
            batch += "]"
            let finish = try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'succeeded', worker_id = NULL, finished_at = ?
                FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS attempt FROM json_each(?)) AS r
                WHERE tasks.id = r.id AND tasks.attempts = r.attempt AND tasks.state = 'running'
                    AND tasks.kind = \(TaskKind.decode.rawValue) AND tasks.member IS NULL
                    AND (SELECT format FROM jobs WHERE jobs.id = tasks.job_id) = '\(TesseraStore.benchmarkFormat)'
                RETURNING tasks.id, tasks.job_id, tasks.frame_id, tasks.attempts
                """)
            var micros: [Int64: Int64] = [:]
            micros.reserveCapacity(results.count)
            for (task, _, computeMicros) in results where micros[task.rawValue] == nil { micros[task.rawValue] = computeMicros }
            var ledger = Ledger()
            var accepted = 0
            var attempts = "[", frames = "["
            let rows = try Row.fetchCursor(finish, arguments: [now, batch])
            while let row = try rows.next() {
                let task: Int64 = row[0], job: Int64 = row[1], frame: Int64 = row[2], attempt: Int64 = row[3]
                if accepted > 0 {
                    attempts += ","
                    frames += ","
                }
                attempts += "[\(task),\(attempt),\(micros[task] ?? 0)]"
                frames += String(frame)
                ledger.move(job: job, from: .running, to: .succeeded)
                accepted += 1
            }
            guard accepted > 0 else { return 0 }
            attempts += "]"
            frames += "]"
            try db.cachedStatement(sql: """
                UPDATE attempts SET outcome = 'succeeded', finished_at = ?, error_code = NULL, error = NULL, compute_micros = r.micros
                FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS attempt,
                             json_extract(value, '$[2]') AS micros FROM json_each(?)) AS r
                WHERE attempts.task_id = r.id AND attempts.attempt = r.attempt
                """).execute(arguments: [now, attempts])
            let done = try Row.fetchCursor(db.cachedStatement(sql: """
                UPDATE frames SET state = 'done', tiles_total = 0, tiles_done = 0, finished_at = ?
                WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending'
                RETURNING job_id
                """), arguments: [now, frames])
            while let row = try done.next() { ledger.jobs[row[0], default: JobDelta()].framesDone += 1 }
            try ledger.apply(db, now: now)
            return accepted
}

extension StoreBenchmark {
    /// The store-only ceiling of the coordinator's dispatch path, measured on a fresh file in
    /// `directory` (which must exist; the file is removed afterwards) with full durability.
    public struct DispatchBaseline: Sendable {
        /// Plain `UPDATE tasks … WHERE id = ?` rows per second, `batch` rows per transaction:
        /// the SQLite batched-update rate on this disk.
        public var batchedUpdatesPerSecond: Double
        /// Benchmark tasks per second through ``TesseraStore/claimTasks(for:)`` (`workers`
        /// workers, `credit` each, one transaction per round) and
        /// ``TesseraStore/recordBenchmarkResults(_:)`` (one transaction per round): the
        /// dispatcher's store work without sockets.
        public var claimAndRecordPerSecond: Double
    }

    /// Measures ``DispatchBaseline`` with `tasks` benchmark tasks.
    public static func dispatchBaseline(directory: String, tasks: Int, workers: Int, credit: Int,
                                        batch: Int = 256) throws(StoreError) -> DispatchBaseline {
        precondition(tasks > 0 && workers > 0 && credit > 0 && batch > 0)
        let path = (directory as NSString).appendingPathComponent("dispatch-baseline-\(UUID().uuidString).sqlite")
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try TesseraStore(path: path)
        let ids = try (0..<workers).map { (i) throws(StoreError) in
            try store.registerWorker(name: "sim-\(i)", host: "localhost", cores: 1, memoryBytes: 1 << 30, slots: credit, version: "bench")
        }
        // 1. Raw batched updates over the rows of a benchmark job.
        let updateJob = try store.createBenchmarkJob(name: "updates", tasks: tasks)
        let first = try store.write("finding the first task") { db, _ in
            try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM tasks WHERE job_id = ?", arguments: [updateJob.rawValue]) ?? 0
        }
        let updateStart = DispatchTime.now().uptimeNanoseconds
        var done = 0
        while done < tasks {
            let count = min(batch, tasks - done)
            let from = first + Int64(done)
            try store.write("batched updates") { db, now in
                let update = try db.cachedStatement(sql: "UPDATE tasks SET started_at = ? WHERE id = ?")
                for id in from..<(from + Int64(count)) { try update.execute(arguments: [now, id]) }
            }
            done += count
        }
        let updateSeconds = Double(DispatchTime.now().uptimeNanoseconds - updateStart) / 1e9
        _ = try store.cancelJob(updateJob)

        // 2. Claim + record rounds, as the dispatcher does them.
        _ = try store.createBenchmarkJob(name: "cycle", tasks: tasks)
        let cycleStart = DispatchTime.now().uptimeNanoseconds
        var recorded = 0
        while true {
            let claimed = try store.claimTasks(for: ids.map { (worker: $0, limit: credit) }).flatMap { $0 }
            if claimed.isEmpty { break }
            recorded += try store.recordBenchmarkResults(claimed.map { ($0.taskID, attempt: $0.attempt, computeMicros: 1) })
        }
        let cycleSeconds = Double(DispatchTime.now().uptimeNanoseconds - cycleStart) / 1e9
        try store.close()
        guard recorded == tasks else {
            throw StoreError(.invalidState, "dispatch baseline: recorded \(recorded) of \(tasks) tasks", databasePath: path)
        }
        return DispatchBaseline(batchedUpdatesPerSecond: Double(tasks) / updateSeconds,
                                claimAndRecordPerSecond: Double(tasks) / cycleSeconds)
    }

    /// Builds a database at `path` for a restart measurement: `tasks` benchmark task rows in jobs
    /// of at most 100,000 (all but the last cancelled: history), `running` of the last job's tasks
    /// claimed by a worker (in flight when the "previous coordinator" died). Returns the file's size.
    @discardableResult
    public static func buildRestartDatabase(path: String, tasks: Int, running: Int = 500) throws(StoreError) -> Int64 {
        precondition(tasks > 0)
        let store = try TesseraStore(path: path)
        var made = 0
        while made < tasks {
            let count = min(100_000, tasks - made)
            let job = try store.createBenchmarkJob(name: "restart-\(made)", tasks: count)
            made += count
            if made < tasks { _ = try store.cancelJob(job) }
        }
        let worker = try store.registerWorker(name: "before", host: "localhost", cores: 1, memoryBytes: 1 << 30,
                                              slots: running, version: "bench")
        _ = try store.claimTasks(worker: worker, limit: running)
        try store.close()
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The store-only restart: open `path` (migrations), requeue running tasks, register a worker
    /// and claim its first task — what a coordinator does before its first dispatch, without
    /// sockets. Returns the seconds taken. Changes the database (use a copy).
    public static func restartToFirstClaim(path: String) throws(StoreError) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        let store = try TesseraStore(path: path)
        _ = try store.requeueAllRunning(reason: "restart")
        let worker = try store.registerWorker(name: "after", host: "localhost", cores: 1, memoryBytes: 1 << 30, slots: 1, version: "bench")
        let first = try store.claimTasks(worker: worker, limit: 1)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try store.close()
        guard first.count == 1 else { throw StoreError(.invalidState, "restart: nothing to claim", databasePath: path) }
        return seconds
    }
}
