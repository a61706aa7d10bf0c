import GRDB
import TesseraCore

// The operators' views (`tessera jobs`, `job`, `workers`) and steering (retry, drain). Every
// query is indexed and bounded: a page of jobs or workers reads one row each (counters are kept
// by triggers, migration v4), and a job's detail reads only that job's frames and tasks.

/// One job as the operators' table shows it: state, counters and times.
public struct JobOverview: Sendable, Hashable {
    public var id: JobID
    public var name: String
    public var state: JobState
    public var paused: Bool
    public var priority: Int
    public var framesTotal: Int
    public var framesDone: Int
    public var framesFailed: Int
    /// Task counts by state.
    public var taskCounts: [TaskState: Int]
    /// Pixels of the frames written (width × height).
    public var pixelsDone: Int64
    public var outputDir: String
    /// Milliseconds since the epoch.
    public var createdAt: Int64
    /// When its first task was dispatched (ms since the epoch), if any was.
    public var startedAt: Int64?
    /// When it finished (ms since the epoch), if it did.
    public var finishedAt: Int64?

    /// Creates an overview (the store builds these; public for tests and other front ends).
    public init(id: JobID, name: String, state: JobState, paused: Bool, priority: Int, framesTotal: Int, framesDone: Int,
                framesFailed: Int, taskCounts: [TaskState: Int], pixelsDone: Int64, outputDir: String, createdAt: Int64,
                startedAt: Int64?, finishedAt: Int64?) {
        self.id = id
        self.name = name
        self.state = state
        self.paused = paused
        self.priority = priority
        self.framesTotal = framesTotal
        self.framesDone = framesDone
        self.framesFailed = framesFailed
        self.taskCounts = taskCounts
        self.pixelsDone = pixelsDone
        self.outputDir = outputDir
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// A page of the job table and how many jobs there are in all.
public struct JobOverviewPage: Sendable, Hashable {
    /// Jobs in the database.
    public var total: Int
    /// Unfinished jobs first (priority descending, then id), then finished ones (most recent first).
    public var jobs: [JobOverview]
}

/// A written output of a frame.
public struct FrameOutputRecord: Sendable, Hashable {
    public var frameID: FrameID
    public var path: String
    /// Bytes.
    public var bytes: Int64
}

/// One job in detail: frames and tasks by state, failures and outputs (each list bounded).
public struct JobDetail: Sendable, Hashable {
    public var overview: JobOverview
    /// Frame state name → count.
    public var frameStates: [String: Int]
    /// `"<kind>.<state>"` → count.
    public var taskStates: [String: Int]
    /// Failed frames, in id order (at most the limit asked for).
    public var failures: [FrameFailure]
    /// Written outputs, in id order (at most the limit asked for).
    public var outputs: [FrameOutputRecord]
}

/// One worker session as the operators' table shows it.
public struct WorkerOverview: Sendable, Hashable {
    public var id: WorkerID
    public var name: String
    public var host: String
    public var slots: Int
    /// Registered and not lost/left.
    public var active: Bool
    /// When an operator asked it to drain (ms since the epoch).
    public var drainingAt: Int64?
    /// Why it is gone (left or lost), if it is.
    public var goneReason: String?
    /// ms since the epoch.
    public var registeredAt: Int64
    /// ms since the epoch.
    public var lastSeen: Int64
    /// Tasks it holds now.
    public var runningTasks: Int
    /// Attempts it completed.
    public var tasksSucceeded: Int
    /// Attempts it failed or lost.
    public var tasksFailed: Int
    /// Compute time it reported, µs.
    public var computeMicros: Int64

    /// Whether it left gracefully (as opposed to being lost).
    public var left: Bool { !active && (goneReason?.hasPrefix("worker left") ?? false) }
}

/// A page of the worker table.
public struct WorkerOverviewPage: Sendable, Hashable {
    /// Workers matching the request in the database.
    public var total: Int
    /// By id.
    public var workers: [WorkerOverview]
}

/// What ``TesseraStore/retryJob(_:onlyFailed:)`` did.
public struct RetryOutcome: Sendable, Hashable {
    /// Frames put back in work.
    public var framesReopened: Int
    /// Tasks queued again.
    public var tasksRequeued: Int
    /// Frames whose tiles are all done but whose assembly failed: the coordinator must assemble them.
    public var framesToAssemble: [FrameID]
    /// The job's state afterwards.
    public var state: JobState
}

private let overviewColumns = """
    id, name, state, paused, priority, frames_total, frames_done, frames_failed, tasks_queued, tasks_running,
    tasks_succeeded, tasks_failed, tasks_cancelled, pixels_done, output_dir, created_at, started_at, finished_at
    """

private func decodeOverview(_ row: Row) throws -> JobOverview {
    let id: Int64 = row[0]
    return JobOverview(
        id: JobID(id), name: row[1], state: try decodeEnum(JobState.self, row[2], column: "state", row: "job-\(id)"),
        paused: row[3], priority: row[4], framesTotal: row[5], framesDone: row[6], framesFailed: row[7],
        taskCounts: [.queued: row[8], .running: row[9], .succeeded: row[10], .failed: row[11], .cancelled: row[12]],
        pixelsDone: row[13], outputDir: row[14], createdAt: row[15], startedAt: row[16], finishedAt: row[17])
}

extension TesseraStore {
    /// A page of at most `limit` jobs: unfinished ones first (priority descending, then id), then
    /// finished ones, most recent first; and the number of jobs in all. Indexed (`jobs_by_state`);
    /// reads one row per job listed.
    public func jobOverviews(limit: Int) throws(StoreError) -> JobOverviewPage {
        try read("listing jobs") { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0
            var jobs = try Row.fetchAll(db, sql: """
                SELECT \(overviewColumns) FROM jobs WHERE state IN ('queued', 'running')
                ORDER BY priority DESC, id LIMIT ?
                """, arguments: [max(0, limit)]).map(decodeOverview)
            if jobs.count < limit {
                jobs += try Row.fetchAll(db, sql: """
                    SELECT \(overviewColumns) FROM jobs WHERE state NOT IN ('queued', 'running') ORDER BY id DESC LIMIT ?
                    """, arguments: [limit - jobs.count]).map(decodeOverview)
            }
            return JobOverviewPage(total: total, jobs: jobs)
        }
    }

    /// One job's overview, or `nil` if it does not exist.
    public func jobOverview(_ id: JobID) throws(StoreError) -> JobOverview? {
        try read("reading \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(overviewColumns) FROM jobs WHERE id = ?", arguments: [id.rawValue]).map(decodeOverview)
        }
    }

    /// One job in detail, with at most `limit` failures and `limit` outputs; `nil` if it does not
    /// exist. Reads only the job's frames (`frames_by_job`) and their tasks (`tasks_by_frame`).
    public func jobDetail(_ id: JobID, limit: Int) throws(StoreError) -> JobDetail? {
        try read("reading the detail of \(id)") { db in
            guard let overview = try Row.fetchOne(db, sql: "SELECT \(overviewColumns) FROM jobs WHERE id = ?",
                                                  arguments: [id.rawValue]).map(decodeOverview)
            else { return nil }
            var frameStates: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM frames WHERE job_id = ? GROUP BY state",
                                        arguments: [id.rawValue]) {
                frameStates[row[0]] = row[1]
            }
            var taskStates: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT t.kind, t.state, COUNT(*) FROM frames f JOIN tasks t ON t.frame_id = f.id
                WHERE f.job_id = ? GROUP BY t.kind, t.state
                """, arguments: [id.rawValue]) {
                let kind = try decodeEnum(TaskKind.self, row[0], column: "kind", row: "tasks of \(id)")
                taskStates["\(kind).\(row[1] as String)"] = row[2]
            }
            let failures = try Row.fetchAll(db, sql: """
                SELECT id, path, failure_code, failure_reason, failure_attempts FROM frames
                WHERE job_id = ? AND state = 'failed' ORDER BY id LIMIT ?
                """, arguments: [id.rawValue, limit]).map {
                FrameFailure(frameID: FrameID($0[0] as Int64), path: $0[1], code: $0[2], reason: ($0[3] as String?) ?? "", attempts: $0[4])
            }
            let outputs = try Row.fetchAll(db, sql: """
                SELECT id, output_path, output_bytes FROM frames
                WHERE job_id = ? AND state = 'done' AND output_path IS NOT NULL ORDER BY id LIMIT ?
                """, arguments: [id.rawValue, limit]).map {
                FrameOutputRecord(frameID: FrameID($0[0] as Int64), path: $0[1], bytes: ($0[2] as Int64?) ?? 0)
            }
            return JobDetail(overview: overview, frameStates: frameStates, taskStates: taskStates, failures: failures, outputs: outputs)
        }
    }

    /// At most `limit` workers by id — only registered ones unless `includeGone` — with their
    /// running task counts and lifetime counters; and how many match in all. Indexed
    /// (`workers_active`, `tasks_running`); reads one row per worker plus the running tasks.
    public func workerOverviews(includeGone: Bool, limit: Int) throws(StoreError) -> WorkerOverviewPage {
        try read("listing workers") { db in
            let filter = includeGone ? "" : "WHERE active = 1"
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workers \(filter)") ?? 0
            var running: [Int64: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT worker_id, COUNT(*) FROM tasks INDEXED BY tasks_running WHERE state = 'running' GROUP BY worker_id
                """) {
                if let worker: Int64 = row[0] { running[worker] = row[1] }
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, name, host, slots, active, draining_at, lost_reason, registered_at, last_seen,
                    tasks_succeeded, tasks_failed, compute_micros
                FROM workers \(filter) ORDER BY id LIMIT ?
                """, arguments: [max(0, limit)])
            let workers = rows.map { row in
                let id: Int64 = row[0]
                return WorkerOverview(
                    id: WorkerID(id), name: row[1], host: row[2], slots: row[3], active: row[4], drainingAt: row[5],
                    goneReason: row[6], registeredAt: row[7], lastSeen: row[8], runningTasks: running[id, default: 0],
                    tasksSucceeded: row[9], tasksFailed: row[10], computeMicros: row[11])
            }
            return WorkerOverviewPage(total: total, workers: workers)
        }
    }

    /// Records that an operator asked `worker` to drain. Throws ``StoreError/Kind/notFound`` for
    /// an unknown worker and ``StoreError/Kind/invalidState`` for one that is no longer registered.
    public func markDraining(_ worker: WorkerID) throws(StoreError) {
        try write("marking \(worker) draining") { db, now in
            guard let active = try Bool.fetchOne(db, sql: "SELECT active FROM workers WHERE id = ?", arguments: [worker.rawValue])
            else { throw StoreError(.notFound, "\(worker) does not exist") }
            guard active else { throw StoreError(.invalidState, "\(worker) is not connected (it left or was lost)") }
            try db.execute(sql: "UPDATE workers SET draining_at = COALESCE(draining_at, ?) WHERE id = ?", arguments: [now, worker.rawValue])
        }
    }

    /// Puts a job's failed frames back in work (`onlyFailed`), or every frame without output
    /// (failed frames and those whose tasks were cancelled, e.g. by a job cancel). Each reopened
    /// frame's failed and cancelled tasks are queued again with a fresh attempt budget; succeeded
    /// tasks are kept (a frame whose decode succeeded only re-runs its failed tiles). Frames whose
    /// tiles are all done but whose assembly failed are returned for the coordinator to assemble.
    /// The job becomes `running` (unpaused state is kept) if anything was reopened. One
    /// transaction. Throws ``StoreError/Kind/notFound`` for an unknown job.
    public func retryJob(_ id: JobID, onlyFailed: Bool) throws(StoreError) -> RetryOutcome {
        try write("retrying \(id)") { db, now in
            guard let raw = try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [id.rawValue])
            else { throw StoreError(.notFound, "\(id) does not exist") }
            var state = try decodeEnum(JobState.self, raw, column: "state", row: "\(id)")
            let filter = onlyFailed ? "state = 'failed'" : "state != 'done'"
            let frames = try Row.fetchAll(db, sql: """
                SELECT id, state, width, tiles_total, tiles_done FROM frames WHERE job_id = ? AND \(filter) ORDER BY id
                """, arguments: [id.rawValue])
            let selectTasks = try db.cachedStatement(sql: """
                SELECT id, kind, state FROM tasks WHERE frame_id = ? AND state IN ('failed', 'cancelled') ORDER BY id
                """)
            let requeue = try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'queued', worker_id = NULL, finished_at = NULL, not_before = 0, retry_base = attempts
                WHERE id = ?
                """)
            let reopen = try db.cachedStatement(sql: """
                UPDATE frames SET state = ?, failure_code = NULL, failure_reason = NULL, failure_attempts = 0, finished_at = NULL
                WHERE id = ?
                """)
            var ledger = Ledger()
            var reopened = 0, requeued = 0
            var toAssemble: [FrameID] = []
            for frame in frames {
                let frameID: Int64 = frame[0]
                let frameState = try decodeEnum(FrameState.self, frame[1], column: "state", row: "frame-\(frameID)")
                let tasks = try Row.fetchAll(selectTasks, arguments: [frameID])
                var newState: FrameState
                if tasks.isEmpty {
                    let width: Int? = frame[2], tilesTotal: Int = frame[3], tilesDone: Int = frame[4]
                    guard width != nil, tilesTotal > 0, tilesDone >= tilesTotal else { continue }
                    // Every tile done: the assembly (or the output write) failed, or the job was
                    // cancelled while the frame was being assembled.
                    newState = .assembling
                    toAssemble.append(FrameID(frameID))
                } else {
                    var decodeRequeued = false
                    for task in tasks {
                        let taskID: Int64 = task[0]
                        let kind = try decodeEnum(TaskKind.self, task[1], column: "kind", row: "task-\(taskID)")
                        let taskState = try decodeEnum(TaskState.self, task[2], column: "state", row: "task-\(taskID)")
                        try requeue.execute(arguments: [taskID])
                        ledger.move(job: id.rawValue, from: taskState, to: .queued)
                        if kind == .decode { decodeRequeued = true }
                    }
                    requeued += tasks.count
                    newState = decodeRequeued ? .pending : .developing
                }
                if frameState == .failed { ledger.jobs[id.rawValue, default: JobDelta()].framesFailed -= 1 }
                try reopen.execute(arguments: [newState.rawValue, frameID])
                reopened += 1
            }
            if reopened > 0 {
                try db.execute(sql: "UPDATE jobs SET state = 'running', finished_at = NULL WHERE id = ?", arguments: [id.rawValue])
                state = .running
            }
            try ledger.apply(db, now: now)
            return RetryOutcome(framesReopened: reopened, tasksRequeued: requeued, framesToAssemble: toAssemble, state: state)
        }
    }

    /// The job of each of `tasks` that exists (primary-key lookups; for the few stuck tasks).
    public func jobIDs(ofTasks tasks: [TaskID]) throws(StoreError) -> [TaskID: JobID] {
        guard !tasks.isEmpty else { return [:] }
        return try read("reading the jobs of \(tasks.count) task(s)") { db in
            let select = try db.cachedStatement(sql: "SELECT job_id FROM tasks WHERE id = ?")
            var jobs: [TaskID: JobID] = [:]
            for task in tasks {
                if let job = try Int64.fetchOne(select, arguments: [task.rawValue]) { jobs[task] = JobID(job) }
            }
            return jobs
        }
    }

    /// Farm-wide totals for the metrics endpoint: sums of the job counters, jobs by state,
    /// runnable queue depth and workers by state — aggregates over the job and worker rows
    /// (one row each, no scan of frames or tasks).
    public func farmTotals() throws(StoreError) -> FarmTotals {
        try read("reading farm totals") { db in
            var totals = FarmTotals()
            if let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(tasks_queued), 0), COALESCE(SUM(tasks_running), 0), COALESCE(SUM(tasks_succeeded), 0),
                    COALESCE(SUM(tasks_failed), 0), COALESCE(SUM(tasks_cancelled), 0), COALESCE(SUM(frames_done), 0),
                    COALESCE(SUM(frames_failed), 0), COALESCE(SUM(pixels_done), 0),
                    COALESCE(SUM(CASE WHEN state = 'running' AND paused = 0 THEN tasks_queued ELSE 0 END), 0)
                FROM jobs
                """) {
                totals.tasks = [.queued: row[0], .running: row[1], .succeeded: row[2], .failed: row[3], .cancelled: row[4]]
                totals.framesDone = row[5]
                totals.framesFailed = row[6]
                totals.pixelsDone = row[7]
                totals.queueDepth = row[8]
            }
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM jobs GROUP BY state") {
                if let state = JobState(rawValue: row[0]) { totals.jobs[state] = row[1] }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT active, draining_at IS NOT NULL, lost_reason LIKE 'worker left%', COUNT(*) FROM workers GROUP BY 1, 2, 3
                """) {
                let active: Bool = row[0], draining: Bool = row[1], left: Bool = (row[2] as Bool?) ?? false
                let state = active ? (draining ? "draining" : "connected") : (left ? "left" : "lost")
                totals.workers[state, default: 0] += row[3] as Int
            }
            return totals
        }
    }
}

/// Farm-wide totals (see ``TesseraStore/farmTotals()``).
public struct FarmTotals: Sendable, Hashable {
    /// Tasks by state, over all jobs.
    public var tasks: [TaskState: Int] = [:]
    /// Jobs by state.
    public var jobs: [JobState: Int] = [:]
    /// Workers by state: connected, draining, left, lost.
    public var workers: [String: Int] = [:]
    public var framesDone = 0
    public var framesFailed = 0
    /// Pixels of the frames written.
    public var pixelsDone: Int64 = 0
    /// Queued tasks of running, unpaused jobs (what dispatch can hand out).
    public var queueDepth = 0

    /// Empty totals.
    public init() {}
}
