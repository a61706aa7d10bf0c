import GRDB
import TesseraCore

// Dispatch and results: claiming tasks, recording decodes, tiles, failures and outputs, and
// taking tasks back from lost workers.

/// The columns of a task needed to judge a result.
struct TaskRow {
    var id: Int64
    var job: Int64
    var frame: Int64
    var kind: TaskKind
    var state: TaskState
    var attempts: Int
    /// The burst member a decode task decodes; nil for every other task.
    var member: Int? = nil
    /// `attempts` when an operator last retried the task (0 if never): the attempt budget
    /// (`maxAttempts`) counts from there.
    var retryBase: Int = 0

    /// Attempts made since the task was last retried by an operator.
    var attemptsSinceRetry: Int { attempts - retryBase }

    static func fetch(_ db: Database, _ id: Int64) throws -> TaskRow? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT job_id, frame_id, kind, state, attempts, member, retry_base FROM tasks WHERE id = ?
            """), arguments: [id])
        else { return nil }
        return TaskRow(id: id, job: row[0], frame: row[1],
                       kind: try decodeEnum(TaskKind.self, row[2], column: "kind", row: "task-\(id)"),
                       state: try decodeEnum(TaskState.self, row[3], column: "state", row: "task-\(id)"),
                       attempts: row[4], member: row[5], retryBase: row[6])
    }

    /// Whether a result for `attempt` of a task of `kind` is current (not late, not duplicate).
    func accepts(_ attempt: Int, kind expected: TaskKind? = nil) -> Bool {
        state == .running && attempts == attempt && (expected == nil || kind == expected)
    }
}

extension TesseraStore {
    /// Hands up to `limit` queued tasks to `worker`: each becomes `running` with its attempt count
    /// incremented, the worker and start time set, and an attempt row inserted — one transaction.
    /// Order: job priority descending, then job id, then task id; paused and finished jobs are
    /// skipped. Also refreshes the worker's last-seen time. Returns `[]` when nothing is queued.
    /// Throws ``StoreError/Kind/notFound`` for an unknown worker and
    /// ``StoreError/Kind/invalidState`` for a lost one (it must register again).
    public func claimTasks(worker: WorkerID, limit: Int) throws(StoreError) -> [ClaimedTask] {
        guard limit > 0 else { return [] }
        return try write("claiming tasks for \(worker)") { db, now in
            try claimTasks(db, worker: worker, limit: limit, now: now)
        }
    }

    /// The body of ``claimTasks(worker:limit:)`` inside a write transaction (also used by the
    /// batched ``claimTasks(for:)``).
    func claimTasks(_ db: Database, worker: WorkerID, limit: Int, now: Int64) throws -> [ClaimedTask] {
            guard let me = try Row.fetchOne(db.cachedStatement(sql: "SELECT active, name FROM workers WHERE id = ?"),
                                            arguments: [worker.rawValue])
            else { throw StoreError(.notFound, "\(worker) is not registered") }
            guard me[0] as Bool else { throw StoreError(.invalidState, "\(worker) was declared lost; it must register again") }
            return try claimBatch(db, [(worker, limit)], now: now)[0]
    }

    /// Claims for several workers in one transaction: one query for the workers, one for the
    /// claimable jobs and the bans, one task query per job for everyone's total, then the tasks
    /// are handed out in request order (each worker's in id order, as if it had claimed alone in
    /// its turn). A worker that is unknown or lost gets `[]`. Refreshes the claiming workers'
    /// last-seen time.
    ///
    /// Set-based: however many tasks are claimed, the batch costs a fixed number of statements
    /// (the task ids travel as one JSON array, read with `json_each`): the per-row work happens
    /// inside SQLite, not in one statement call per task (docs/store.md, "Batched claims").
    /// With `affinity`, which queued tasks go to whom follows the workers' input caches
    /// (``ClaimAffinity/assign(frames:workers:counts:)``); how many each gets does not change.
    func claimBatch(_ db: Database, _ requests: [(worker: WorkerID, limit: Int)], now: Int64,
                    affinity: ClaimAffinity = .none) throws -> [[ClaimedTask]] {
            var result = [[ClaimedTask]](repeating: [], count: requests.count)
            let asking = requests.filter { $0.limit > 0 }.map(\.worker.rawValue)
            guard !asking.isEmpty else { return result }
            // The active workers among those asking, with their names (for the bans).
            var active: [Int64: String] = [:]
            let askingJSON = jsonArray(asking)
            let workers = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT id, name FROM workers WHERE id IN (SELECT value FROM json_each(?)) AND active = 1
                """), arguments: [askingJSON])
            while let row = try workers.next() { active[row[0]] = row[1] }
            guard !active.isEmpty else { return result }
            try db.cachedStatement(sql: """
                UPDATE workers SET last_seen = ? WHERE id IN (SELECT value FROM json_each(?)) AND active = 1
                """).execute(arguments: [now, askingJSON])
            var names: [String?] = []
            var remaining: [Int] = []
            for request in requests {
                let name = request.limit > 0 ? active[request.worker.rawValue] : nil
                names.append(name)
                remaining.append(name == nil ? 0 : request.limit)
            }
            let jobs = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT id, recipe_name, recipe_document, recipe_hash, format, tile_size, output_dir FROM jobs
                WHERE state = 'running' AND paused = 0 AND tasks_queued > 0
                ORDER BY priority DESC, id
                """))
            var bans: [Int64: Set<String>] = [:]
            let banRows = jobs.isEmpty ? [] : try Row.fetchAll(db.cachedStatement(sql: """
                SELECT b.job_id, b.worker_name FROM job_bad_workers b JOIN jobs j ON j.id = b.job_id
                WHERE b.banned_at IS NOT NULL AND j.state = 'running'
                """))
            for row in banRows { bans[row[0], default: []].insert(row[1]) }
            let select = try db.cachedStatement(sql: """
                SELECT t.id, t.frame_id, t.kind, t.attempts, t.core_x, t.core_y, t.core_width, t.core_height,
                    f.path, f.width, f.height, f.spool_path, f.metadata, f.stem, f.members, t.member
                FROM tasks t JOIN frames f ON f.id = t.frame_id
                WHERE t.job_id = ? AND t.state = 'queued' AND t.not_before <= ? ORDER BY t.id LIMIT ?
                """)
            // (task id, worker id) of every claim, for the two set-based writes below.
            var claims = "["
            var claimCount = 0
            var ledger = Ledger()
            for job in jobs {
                let jobID: Int64 = job[0]
                let banned = bans[jobID] ?? []
                let eligible = requests.indices.filter { remaining[$0] > 0 && !banned.contains(names[$0] ?? "") }
                let wanted = eligible.reduce(0) { $0 + remaining[$1] }
                guard wanted > 0 else { continue }
                let recipeName: String = job[1], recipeDocument: String = job[2], recipeHash: String = job[3]
                let format: String = job[4], tileSize: Int = job[5], outputDir: String = job[6]
                var tasks: [ClaimedTask] = []
                tasks.reserveCapacity(wanted)
                let rows = try Row.fetchCursor(select, arguments: [jobID, now, wanted + affinity.lookahead])
                while let row = try rows.next() {
                    let task: Int64 = row[0]
                    let members: String? = row[14]
                    tasks.append(ClaimedTask(
                        taskID: TaskID(task), jobID: JobID(jobID), frameID: FrameID(row[1] as Int64),
                        kind: try decodeEnum(TaskKind.self, row[2], column: "kind", row: "task-\(task)"),
                        attempt: (row[3] as Int) + 1, core: decodeCore(row, at: 4), framePath: row[8],
                        frameWidth: row[9], frameHeight: row[10], spoolPath: row[11], frameMetadata: row[12],
                        recipeName: recipeName, recipeDocument: recipeDocument, recipeHash: recipeHash,
                        format: format, tileSize: tileSize, outputDir: outputDir, stem: row[13],
                        members: members == nil ? [] : FrameMembers.decode(members), member: row[15]))
                }
                let picks = affinity.assign(frames: tasks.map(\.frameID), workers: eligible.map { requests[$0].worker },
                                            counts: eligible.map { remaining[$0] })
                var claimed = 0
                for (index, picked) in zip(eligible, picks) where !picked.isEmpty {
                    let worker = requests[index].worker.rawValue
                    for task in picked.map({ tasks[$0] }) {
                        if claimCount > 0 { claims += "," }
                        claims += "[\(task.taskID.rawValue),\(worker)]"
                        claimCount += 1
                        result[index].append(task)
                    }
                    remaining[index] -= picked.count
                    claimed += picked.count
                }
                ledger.move(job: jobID, from: .queued, to: .running, count: claimed)
                if !remaining.contains(where: { $0 > 0 }) { break }
            }
            guard claimCount > 0 else { return result }
            claims += "]"
            // Every claimed task runs its next attempt on its worker, and that attempt is recorded.
            try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'running', attempts = attempts + 1, worker_id = c.worker, started_at = ?
                FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS worker FROM json_each(?)) AS c
                WHERE tasks.id = c.id AND tasks.state = 'queued'
                """).execute(arguments: [now, claims])
            guard db.changesCount == claimCount else {
                throw StoreError(.invalidState, "claiming \(claimCount) tasks changed \(db.changesCount) rows")
            }
            try db.cachedStatement(sql: """
                INSERT INTO attempts (task_id, attempt, worker_id, started_at, outcome)
                SELECT t.id, t.attempts, t.worker_id, t.started_at, 'running'
                FROM tasks t WHERE t.id IN (SELECT json_extract(value, '$[0]') FROM json_each(?))
                """).execute(arguments: [claims])
            try ledger.apply(db, now: now)
            return result
    }

    /// Records a successful decode: the task succeeds, the frame becomes `developing` with its
    /// size, metadata, spool path and tile count, and one queued tile task per core in `tiles`
    /// is inserted (consecutive ids, same order) — one transaction.
    ///
    /// Returns ``DecodeOutcome/stale`` and changes nothing when the task is unknown, is not a
    /// decode task, or is not running with this `attempt` (late or duplicate result). Throws
    /// ``StoreError/Kind/invalidArgument`` for a non-positive size, no tiles, or a tile outside
    /// the frame. `computeMicros` is the worker's compute time in microseconds.
    public func recordDecoded(task: TaskID, attempt: Int, width: Int, height: Int, metadata: String,
                              spoolPath: String, tiles: [PixelRect], computeMicros: Int64) throws(StoreError) -> DecodeOutcome {
        let bounds = PixelRect(x: 0, y: 0, width: max(0, width), height: max(0, height))
        guard width > 0, height > 0, !tiles.isEmpty else {
            throw StoreError(.invalidArgument, "decode of \(task): \(width)x\(height) with \(tiles.count) tiles is not a frame", databasePath: path)
        }
        if let bad = tiles.first(where: { $0.isEmpty || !bounds.contains($0) }) {
            throw StoreError(.invalidArgument, "decode of \(task): tile \(bad) is empty or outside the \(width)x\(height) frame", databasePath: path)
        }
        return try write("recording the decode of \(task)") { db, now in
            guard let t = try TaskRow.fetch(db, task.rawValue), t.accepts(attempt, kind: .decode), t.member == nil else { return .stale }
            let frameState = try String.fetchOne(db, sql: "SELECT state FROM frames WHERE id = ?", arguments: [t.frame])
            guard frameState == FrameState.pending.rawValue else { return .stale }
            try closeAttempt(db, task: t.id, attempt: attempt, outcome: .succeeded, now: now, computeMicros: computeMicros)
            try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'succeeded', worker_id = NULL, finished_at = ? WHERE id = ?
                """).execute(arguments: [now, t.id])
            try db.execute(sql: """
                UPDATE frames SET state = 'developing', width = ?, height = ?, metadata = ?, spool_path = ?,
                    tiles_total = ?, tiles_done = 0, decoded_at = ?
                WHERE id = ?
                """, arguments: [width, height, metadata, spoolPath, tiles.count, now, t.frame])
            let insert = try db.cachedStatement(sql: """
                INSERT INTO tasks (job_id, frame_id, kind, state, core_x, core_y, core_width, core_height)
                VALUES (?, ?, \(TaskKind.developTile.rawValue), 'queued', ?, ?, ?, ?)
                """)
            var ids: [TaskID] = []
            ids.reserveCapacity(tiles.count)
            for core in tiles {
                insert.setUncheckedArguments([t.job, t.frame, core.x, core.y, core.width, core.height])
                try insert.execute()
                ids.append(TaskID(db.lastInsertedRowID))
            }
            var ledger = Ledger()
            ledger.move(job: t.job, from: .running, to: .succeeded)
            ledger.jobs[t.job, default: JobDelta()].add(.queued, tiles.count)
            try ledger.apply(db, now: now)
            return .accepted(ids)
        }
    }

    /// Records a frame that a worker decoded, developed and encoded whole in its decode task
    /// (a frame no larger than the job's tile): the decode task succeeds, the frame becomes
    /// `done` with its size, metadata and output — one transaction, after the caller has written
    /// the output file atomically. Returns the job's state afterwards, or nil when the result is
    /// stale (task not running with this `attempt`, or frame no longer pending) and nothing changed.
    public func recordDevelopedWhole(task: TaskID, attempt: Int, width: Int, height: Int, metadata: String,
                                     outputPath: String, byteCount: Int64, checksum: UInt64,
                                     computeMicros: Int64) throws(StoreError) -> JobState? {
        guard width > 0, height > 0 else {
            throw StoreError(.invalidArgument, "decode of \(task): \(width)x\(height) is not a frame", databasePath: path)
        }
        return try write("recording the whole-frame develop of \(task)") { db, now in
            guard let t = try TaskRow.fetch(db, task.rawValue), t.accepts(attempt, kind: .decode) else { return nil }
            let frameState = try String.fetchOne(db, sql: "SELECT state FROM frames WHERE id = ?", arguments: [t.frame])
            guard frameState == FrameState.pending.rawValue else { return nil }
            try closeAttempt(db, task: t.id, attempt: attempt, outcome: .succeeded, now: now, computeMicros: computeMicros)
            try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'succeeded', worker_id = NULL, finished_at = ? WHERE id = ?
                """).execute(arguments: [now, t.id])
            try db.execute(sql: """
                UPDATE frames SET state = 'done', width = ?, height = ?, metadata = ?, tiles_total = 0, tiles_done = 0,
                    decoded_at = ?, output_path = ?, output_bytes = ?, output_checksum = ?, finished_at = ?
                WHERE id = ?
                """, arguments: [width, height, metadata, now, outputPath, byteCount, Int64(bitPattern: checksum), now, t.frame])
            var ledger = Ledger()
            ledger.move(job: t.job, from: .running, to: .succeeded)
            ledger.jobs[t.job, default: JobDelta()].framesDone += 1
            try ledger.apply(db, now: now)
            return try settleJob(db, job: t.job, now: now)
        }
    }

    /// Records one finished tile; see ``recordTilesDone(_:)``.
    public func recordTileDone(task: TaskID, attempt: Int, computeMicros: Int64) throws(StoreError) -> TileOutcome {
        try recordTilesDone([(task, attempt: attempt, computeMicros: computeMicros)])[0]
    }

    /// Records finished tiles in one transaction, returning one outcome per result in order.
    /// Each accepted tile task succeeds and counts towards its frame; the frame's last tile moves
    /// it to `assembling` (``TileOutcome/frameComplete(_:)``). A result for an unknown task, a
    /// non-tile task, or a task not running with that attempt (late, or duplicated — also within
    /// the same batch) is ``TileOutcome/stale`` and changes nothing.
    public func recordTilesDone(_ results: [(TaskID, attempt: Int, computeMicros: Int64)]) throws(StoreError) -> [TileOutcome] {
        guard !results.isEmpty else { return [] }
        return try write("recording \(results.count) finished tiles") { db, now in
            try recordTiles(db, results.map { ($0.0, $0.attempt, $0.computeMicros, nil) }, kind: .developTile, now: now)
        }
    }

    /// Records one finished merge tile of a burst (``TaskKind/mergeTile``) with its result
    /// document (kept in `tasks.result`, read back by ``mergeTileResults(of:)``): the task
    /// succeeds and counts towards its frame; the last one moves the frame from `merging` to
    /// `merged` (``TileOutcome/frameComplete(_:)``). Late or duplicate results are
    /// ``TileOutcome/stale`` and change nothing.
    public func recordMergeTileDone(task: TaskID, attempt: Int, computeMicros: Int64, result: String) throws(StoreError) -> TileOutcome {
        try write("recording merge tile \(task)") { db, now in
            try recordTiles(db, [(task, attempt, computeMicros, result)], kind: .mergeTile, now: now)[0]
        }
    }
}

/// Finished tile tasks of one kind: develop tiles move a `developing` frame to `assembling`,
/// merge tiles move a `merging` frame to `merged`.
func recordTiles(_ db: Database, _ results: [(TaskID, Int, Int64, String?)], kind: TaskKind, now: Int64) throws -> [TileOutcome] {
    let (countingState, completeState): (FrameState, FrameState) =
        kind == .mergeTile ? (.merging, .merged) : (.developing, .assembling)
    struct FrameProgress { var state: String; var total: Int; var done: Int; var changed = false }
    var frames: [Int64: FrameProgress] = [:]
    var ledger = Ledger()
    var outcomes: [TileOutcome] = []
    outcomes.reserveCapacity(results.count)
    let finish = try db.cachedStatement(sql: """
        UPDATE tasks SET state = 'succeeded', worker_id = NULL, finished_at = ?, result = ? WHERE id = ?
        """)
    let readFrame = try db.cachedStatement(sql: "SELECT state, tiles_total, tiles_done FROM frames WHERE id = ?")
    for (task, attempt, micros, result) in results {
        guard let t = try TaskRow.fetch(db, task.rawValue), t.accepts(attempt, kind: kind) else {
            outcomes.append(.stale)
            continue
        }
        try closeAttempt(db, task: t.id, attempt: attempt, outcome: .succeeded, now: now, computeMicros: micros)
        finish.setUncheckedArguments([now, result, t.id])
        try finish.execute()
        ledger.move(job: t.job, from: .running, to: .succeeded)
        var progress: FrameProgress
        if let cached = frames[t.frame] {
            progress = cached
        } else {
            guard let row = try Row.fetchOne(readFrame, arguments: [t.frame]) else {
                throw StoreError(.corruptRow, "task-\(t.id) refers to missing frame-\(t.frame)")
            }
            progress = FrameProgress(state: row[0], total: row[1], done: row[2])
        }
        var outcome = TileOutcome.frameIncomplete
        if progress.state == countingState.rawValue {
            progress.done += 1
            progress.changed = true
            if progress.done >= progress.total {
                progress.state = completeState.rawValue
                outcome = .frameComplete(FrameID(t.frame))
            }
        }
        frames[t.frame] = progress
        outcomes.append(outcome)
    }
    let writeFrame = try db.cachedStatement(sql: "UPDATE frames SET state = ?, tiles_done = ? WHERE id = ?")
    for (frame, progress) in frames where progress.changed {
        try writeFrame.execute(arguments: [progress.state, progress.done, frame])
    }
    try ledger.apply(db, now: now)
    return outcomes
}

extension TesseraStore {
    /// Records a failed attempt reported by a worker. With `retryable` and fewer than
    /// `maxAttempts` attempts so far, the task is queued again (``FailureOutcome/requeued``).
    /// Otherwise the task fails, its frame fails with `code`/`reason`, and the frame's other
    /// queued or running tasks are cancelled (``FailureOutcome/frameFailed(_:)``); if that was the
    /// job's last unfinished frame the job finishes. ``FailureOutcome/stale`` (nothing changes)
    /// when the task is unknown or not running with this `attempt`.
    public func recordFailure(task: TaskID, attempt: Int, code: String, reason: String, retryable: Bool,
                              maxAttempts: Int) throws(StoreError) -> FailureOutcome {
        try recordFailure(task: task, attempt: attempt, code: code, reason: reason, retryable: retryable,
                          policy: RetryPolicy(maxAttempts: maxAttempts, backoffMillis: 0, badWorkerThreshold: .max)).outcome
    }

    /// Records a task's failure under `policy`: a retryable failure with attempts left requeues
    /// the task, not before `backoffMillis · 2^(attempt−1)` (capped) from now; otherwise the task
    /// fails and fails its frame. A retryable failure also counts against the worker that ran the
    /// attempt (by name) for this job; at `badWorkerThreshold` failures the worker is put on the
    /// job's bad-worker list and ``claimTasks(worker:limit:)`` gives it no more of this job's tasks.
    /// `FailureRecord.bannedWorker` names a worker listed by this very failure.
    public func recordFailure(task: TaskID, attempt: Int, code: String, reason: String, retryable: Bool,
                              policy: RetryPolicy) throws(StoreError) -> FailureRecord {
        try write("recording the failure of \(task)") { db, now in
            guard let t = try TaskRow.fetch(db, task.rawValue), t.accepts(attempt) else { return FailureRecord(outcome: .stale) }
            let workerName = try String.fetchOne(db, sql: """
                SELECT w.name FROM attempts a JOIN workers w ON w.id = a.worker_id WHERE a.task_id = ? AND a.attempt = ?
                """, arguments: [t.id, attempt])
            try closeAttempt(db, task: t.id, attempt: attempt, outcome: .failed, now: now, errorCode: code, error: reason)
            var banned: String?
            // A task handed back (`cancelled`, e.g. by a draining worker) is not the worker's fault.
            if retryable, !RetryPolicy.notTheWorkersFault.contains(code), let workerName {
                try db.execute(sql: """
                    INSERT INTO job_bad_workers (job_id, worker_name, failures) VALUES (?, ?, 1)
                    ON CONFLICT (job_id, worker_name) DO UPDATE SET failures = failures + 1
                    """, arguments: [t.job, workerName])
                let failures = try Int.fetchOne(db, sql: """
                    SELECT failures FROM job_bad_workers WHERE job_id = ? AND worker_name = ? AND banned_at IS NULL
                    """, arguments: [t.job, workerName]) ?? 0
                if failures >= policy.badWorkerThreshold {
                    try db.execute(sql: "UPDATE job_bad_workers SET banned_at = ? WHERE job_id = ? AND worker_name = ?",
                                   arguments: [now, t.job, workerName])
                    banned = workerName
                }
            }
            var ledger = Ledger()
            // The coordinator's own trouble (output disk full, spool write failed) is retried
            // until it clears, however many attempts that takes: it says nothing about the task.
            if retryable && (t.attemptsSinceRetry < policy.maxAttempts || code == RetryPolicy.coordinatorErrorCode) {
                let delay = policy.backoffMillis <= 0 ? 0 : min(policy.maxBackoffMillis, policy.backoffMillis << min(20, t.attempts - 1))
                try db.cachedStatement(sql: """
                    UPDATE tasks SET state = 'queued', worker_id = NULL, last_error = ?, not_before = ? WHERE id = ?
                    """).execute(arguments: [reason, now + delay, t.id])
                ledger.move(job: t.job, from: .running, to: .queued)
                try ledger.apply(db, now: now)
                return FailureRecord(outcome: .requeued, bannedWorker: banned)
            }
            let frameFailed = try failTask(db, t, code: code, reason: reason, now: now, ledger: &ledger)
            try ledger.apply(db, now: now)
            return FailureRecord(outcome: frameFailed ? .frameFailed(FrameID(t.frame)) : .memberSkipped(FrameID(t.frame)),
                                 bannedWorker: banned)
        }
    }

    /// The names of the workers on `job`'s bad-worker list.
    public func badWorkers(of job: JobID) throws(StoreError) -> [String] {
        try read("reading the bad workers of \(job)") { db in
            try String.fetchAll(db, sql: """
                SELECT worker_name FROM job_bad_workers WHERE job_id = ? AND banned_at IS NOT NULL ORDER BY worker_name
                """, arguments: [job.rawValue])
        }
    }

    /// Records the assembled output of a frame in `assembling`: the frame becomes `done`, the
    /// job's counters move, and the job finishes if this was its last unfinished frame. Returns
    /// the job's state afterwards. Recording the same output path again for a `done` frame is a
    /// no-op (idempotent); any other state throws ``StoreError/Kind/invalidState``.
    /// `checksum` is the XXH64 of the file.
    @discardableResult
    public func recordFrameOutput(frame: FrameID, outputPath: String, byteCount: Int64,
                                  checksum: UInt64) throws(StoreError) -> JobState {
        try write("recording the output of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state, output_path FROM frames WHERE id = ?",
                                             arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            let state = try decodeEnum(FrameState.self, row[1], column: "state", row: "\(frame)")
            if state == .done, (row[2] as String?) == outputPath { return try settleJob(db, job: job, now: now) }
            guard state == .assembling else {
                throw StoreError(.invalidState, "\(frame) is \(state.rawValue), not assembling: cannot record output \(outputPath)")
            }
            try db.execute(sql: """
                UPDATE frames SET state = 'done', output_path = ?, output_bytes = ?, output_checksum = ?, finished_at = ?
                WHERE id = ?
                """, arguments: [outputPath, byteCount, Int64(bitPattern: checksum), now, frame.rawValue])
            var ledger = Ledger()
            ledger.jobs[job, default: JobDelta()].framesDone += 1
            try ledger.apply(db, now: now)
            return try settleJob(db, job: job, now: now)
        }
    }

    /// Fails a frame outside any task (unreadable file, encode or write failure): the frame
    /// becomes `failed` with `reason`, its queued and running tasks are cancelled, and the job
    /// finishes if this was its last unfinished frame. Returns the job's state afterwards.
    /// Failing an already failed frame is a no-op; a `done` frame throws
    /// ``StoreError/Kind/invalidState``.
    @discardableResult
    public func recordFrameFailed(frame: FrameID, reason: String) throws(StoreError) -> JobState {
        try write("recording the failure of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state FROM frames WHERE id = ?",
                                             arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            let state = try decodeEnum(FrameState.self, row[1], column: "state", row: "\(frame)")
            if state == .done { throw StoreError(.invalidState, "\(frame) is already done; cannot fail it (\(reason))") }
            var ledger = Ledger()
            if state != .failed {
                try failFrame(db, frame: frame.rawValue, job: job, code: nil, reason: reason, attempts: 0,
                              now: now, ledger: &ledger)
            }
            try ledger.apply(db, now: now)
            return try settleJob(db, job: job, now: now)
        }
    }

    /// Takes every running task away from `worker` (e.g. it stopped answering): each attempt ends
    /// as `lost` with `reason` and the task is queued again — unless it has already had
    /// `maxAttempts` attempts, in which case it fails and fails its frame (a task that keeps
    /// killing workers must not loop forever). Returns how many tasks were taken back.
    /// Does not change the worker's registration (see ``workerLost(_:reason:maxAttempts:)``).
    @discardableResult
    public func requeueTasks(of worker: WorkerID, reason: String, maxAttempts: Int = .max) throws(StoreError) -> Int {
        try write("requeueing the tasks of \(worker)") { db, now in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM tasks WHERE state = 'running' AND worker_id = ? ORDER BY id",
                                         arguments: [worker.rawValue])
            return try takeBack(db, tasks: ids, reason: reason, maxAttempts: maxAttempts, now: now)
        }
    }

    /// Coordinator start-up: every running task goes back to the queue (attempts end as `lost`)
    /// and every active worker is marked lost — the previous coordinator's sessions are gone.
    /// Returns how many tasks were requeued.
    @discardableResult
    public func requeueAllRunning(reason: String) throws(StoreError) -> Int {
        try write("requeueing all running tasks") { db, now in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM tasks WHERE state = 'running' ORDER BY id")
            let count = try takeBack(db, tasks: ids, reason: reason, maxAttempts: .max, now: now)
            try db.execute(sql: "UPDATE workers SET active = 0, lost_at = ?, lost_reason = ? WHERE active = 1",
                           arguments: [now, reason])
            return count
        }
    }
}

/// Requeues (or, past `maxAttempts`, fails) running tasks whose worker is gone; returns how many
/// were still running when reached (a frame failure earlier in the loop may cancel later ones).
func takeBack(_ db: Database, tasks: [Int64], reason: String, maxAttempts: Int, now: Int64) throws -> Int {
    var ledger = Ledger()
    var count = 0
    for id in tasks {
        guard let t = try TaskRow.fetch(db, id), t.state == .running else { continue }
        count += 1
        try closeAttempt(db, task: t.id, attempt: t.attempts, outcome: .lost, now: now, errorCode: "lost", error: reason)
        if t.attemptsSinceRetry >= maxAttempts {
            try failTask(db, t, code: "lost", reason: "lost \(t.attempts) times, last: \(reason)", now: now, ledger: &ledger)
        } else {
            try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'queued', worker_id = NULL, last_error = ? WHERE id = ?
                """).execute(arguments: [reason, t.id])
            ledger.move(job: t.job, from: .running, to: .queued)
        }
    }
    try ledger.apply(db, now: now)
    return count
}

/// A running task fails for good and fails its frame — except a burst member's decode, which
/// only leaves that member out of its burst. Returns whether the frame failed.
@discardableResult
func failTask(_ db: Database, _ t: TaskRow, code: String, reason: String, now: Int64, ledger: inout Ledger) throws -> Bool {
    try db.cachedStatement(sql: """
        UPDATE tasks SET state = 'failed', worker_id = NULL, finished_at = ?, last_error = ? WHERE id = ?
        """).execute(arguments: [now, reason, t.id])
    ledger.move(job: t.job, from: .running, to: .failed)
    if t.member != nil { return false }
    try failFrame(db, frame: t.frame, job: t.job, code: code, reason: reason, attempts: t.attempts, now: now, ledger: &ledger)
    return true
}

/// Fails a frame that is not finished: cancels its queued and running tasks (closing running
/// attempts as cancelled) and records the failure. The ledger gets the counter changes.
func failFrame(_ db: Database, frame: Int64, job: Int64, code: String?, reason: String, attempts: Int,
               now: Int64, ledger: inout Ledger) throws {
    guard let raw = try String.fetchOne(db, sql: "SELECT state FROM frames WHERE id = ?", arguments: [frame])
    else { throw StoreError(.notFound, "frame-\(frame) does not exist") }
    let state = try decodeEnum(FrameState.self, raw, column: "state", row: "frame-\(frame)")
    guard !state.isFinished else { return }
    let open = try Row.fetchAll(db, sql: """
        SELECT id, state, attempts FROM tasks WHERE frame_id = ? AND state IN ('queued', 'running')
        """, arguments: [frame])
    for row in open {
        let id: Int64 = row[0]
        let taskState = try decodeEnum(TaskState.self, row[1], column: "state", row: "task-\(id)")
        if taskState == .running {
            try cancelRunningTask(db, task: id, attempt: row[2], now: now)
        } else {
            try db.execute(sql: "UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE id = ?", arguments: [now, id])
        }
        ledger.move(job: job, from: taskState, to: .cancelled)
    }
    try db.execute(sql: """
        UPDATE frames SET state = 'failed', failure_code = ?, failure_reason = ?, failure_attempts = ?, finished_at = ?
        WHERE id = ?
        """, arguments: [code, reason, attempts, now, frame])
    ledger.jobs[job, default: JobDelta()].framesFailed += 1
}

/// `values` as a JSON array of integers (the argument of a `json_each` batch).
func jsonArray(_ values: [Int64]) -> String {
    var text = "["
    for (index, value) in values.enumerated() {
        if index > 0 { text += "," }
        text += String(value)
    }
    return text + "]"
}
