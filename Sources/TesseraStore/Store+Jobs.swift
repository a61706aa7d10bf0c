import GRDB
import TesseraCore

// Jobs: creation, lookup, status, cancellation, and the read-only views of frames, tiles, tasks
// and attempts.

private let jobColumns = """
    id, name, capture_dir, output_dir, recipe_name, recipe_document, recipe_hash, tile_size, format,
    priority, overwrite, state, paused, created_at, finished_at, frames_total, frames_done,
    frames_failed, tasks_queued, tasks_running, tasks_succeeded, tasks_failed, tasks_cancelled
    """

private func decodeJob(_ row: Row) throws -> JobRecord {
    let id: Int64 = row[0]
    return JobRecord(
        id: JobID(id), name: row[1], captureDir: row[2], outputDir: row[3], recipeName: row[4],
        recipeDocument: row[5], recipeHash: row[6], tileSize: row[7], format: row[8], priority: row[9],
        overwrite: row[10], state: try decodeEnum(JobState.self, row[11], column: "state", row: "job-\(id)"),
        paused: row[12], createdAt: row[13], finishedAt: row[14], framesTotal: row[15],
        framesDone: row[16], framesFailed: row[17],
        taskCounts: [.queued: row[18], .running: row[19], .succeeded: row[20], .failed: row[21],
                     .cancelled: row[22]])
}

private let frameColumns = """
    id, job_id, ordinal, path, stem, byte_count, state, width, height, metadata, spool_path,
    tiles_total, tiles_done, output_path, output_bytes, output_checksum, failure_code,
    failure_reason, failure_attempts, decoded_at, finished_at
    """

private func decodeFrame(_ row: Row, tiles: [PixelRect]) throws -> FrameRecord {
    let id: Int64 = row[0]
    let checksum: Int64? = row[15]
    return FrameRecord(
        id: FrameID(id), jobID: JobID(row[1] as Int64), index: row[2], path: row[3], stem: row[4],
        byteCount: row[5], state: try decodeEnum(FrameState.self, row[6], column: "state", row: "frame-\(id)"),
        width: row[7], height: row[8], metadata: row[9], spoolPath: row[10], tilesTotal: row[11],
        tilesDone: row[12], tiles: tiles, outputPath: row[13], outputBytes: row[14],
        outputChecksum: checksum.map { UInt64(bitPattern: $0) }, failureCode: row[16],
        failureReason: row[17], failureAttempts: row[18], decodedAt: row[19], finishedAt: row[20])
}

/// Reads a tile core stored in the four `core_*` columns starting at `index`; `nil` when NULL.
func decodeCore(_ row: Row, at index: Int) -> PixelRect? {
    guard let x: Int = row[index], let y: Int = row[index + 1], let w: Int = row[index + 2],
          let h: Int = row[index + 3], w >= 0, h >= 0
    else { return nil }
    return PixelRect(x: x, y: y, width: w, height: h)
}

extension TesseraStore {
    /// Creates a job in state `running` with its frames (`pending`, consecutive ids in the order
    /// given) and one queued decode task per frame (consecutive ids) — per member for a burst
    /// frame (`tasks.member` 0…n) — counters included, one transaction. Throws ``StoreError/Kind/invalidArgument`` for an empty frame list or a
    /// non-positive tile size.
    public func createJob(_ job: NewJob, frames: [NewFrame]) throws(StoreError) -> JobID {
        guard !frames.isEmpty else {
            throw StoreError(.invalidArgument, "job '\(job.name)' for \(job.captureDir) has no frames", databasePath: path)
        }
        guard job.tileSize > 0 else {
            throw StoreError(.invalidArgument, "job '\(job.name)': tile size \(job.tileSize) is not positive", databasePath: path)
        }
        return try write("creating job '\(job.name)' for \(job.captureDir)") { db, now in
            try db.execute(sql: """
                INSERT INTO jobs (name, capture_dir, output_dir, recipe_name, recipe_document, recipe_hash,
                    tile_size, format, priority, overwrite, state, created_at, frames_total, tasks_queued)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [job.name, job.captureDir, job.outputDir, job.recipeName, job.recipeDocument,
                                 job.recipeHash, job.tileSize, job.format, job.priority, job.overwrite,
                                 JobState.running.rawValue, now, frames.count,
                                 frames.reduce(0) { $0 + 1 + $1.members.count }])
            let jobID = db.lastInsertedRowID
            let insertFrame = try db.makeStatement(sql: """
                INSERT INTO frames (job_id, ordinal, path, stem, byte_count, state, members) VALUES (?, ?, ?, ?, ?, 'pending', ?)
                """)
            let insertTask = try db.makeStatement(sql: """
                INSERT INTO tasks (job_id, frame_id, kind, state, member) VALUES (?, ?, \(TaskKind.decode.rawValue), 'queued', ?)
                """)
            for (index, frame) in frames.enumerated() {
                insertFrame.setUncheckedArguments([jobID, index, frame.path, frame.stem, frame.byteCount,
                                                   frame.members.isEmpty ? nil : FrameMembers.encode(frame.members)])
                try insertFrame.execute()
                let frameID = db.lastInsertedRowID
                if frame.members.isEmpty {
                    insertTask.setUncheckedArguments([jobID, frameID, nil as Int?])
                    try insertTask.execute()
                } else {
                    // A burst: every member decodes on its own worker (docs/burst.md).
                    for member in 0...frame.members.count {
                        insertTask.setUncheckedArguments([jobID, frameID, member])
                        try insertTask.execute()
                    }
                }
            }
            return JobID(jobID)
        }
    }

    /// The most recent job (highest id) created for this capture and output directory, whatever
    /// its state — the caller decides whether to resume it. `nil` if there is none.
    public func findJob(captureDir: String, outputDir: String) throws(StoreError) -> JobID? {
        try read("finding the job for \(captureDir) → \(outputDir)") { db in
            try Int64.fetchOne(db, sql: """
                SELECT id FROM jobs WHERE capture_dir = ? AND output_dir = ? ORDER BY id DESC LIMIT 1
                """, arguments: [captureDir, outputDir]).map { JobID(rawValue: $0) }
        }
    }

    /// The job row with its counters, or `nil` if `id` does not exist.
    public func job(_ id: JobID) throws(StoreError) -> JobRecord? {
        try read("reading \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(jobColumns) FROM jobs WHERE id = ?", arguments: [id.rawValue])
                .map(decodeJob)
        }
    }

    /// Status of one job (`id`), or of every job when `id` is `nil`, in id order. Counts come
    /// from the counters in the job rows (no scan of tasks); failures list the failed frames.
    public func jobSummaries(_ id: JobID?) throws(StoreError) -> [JobSummary] {
        try read("reading job summaries") { db in
            let rows: [Row]
            if let id {
                rows = try Row.fetchAll(db, sql: "SELECT \(jobColumns) FROM jobs WHERE id = ?", arguments: [id.rawValue])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(jobColumns) FROM jobs ORDER BY id")
            }
            return try rows.map { row in
                let job = try decodeJob(row)
                var failures: [FrameFailure] = []
                if job.framesFailed > 0 {
                    let failed = try Row.fetchAll(db, sql: """
                        SELECT id, path, failure_code, failure_reason, failure_attempts
                        FROM frames WHERE job_id = ? AND state = 'failed' ORDER BY id
                        """, arguments: [job.id.rawValue])
                    failures = failed.map {
                        FrameFailure(frameID: FrameID($0[0] as Int64), path: $0[1], code: $0[2],
                                     reason: ($0[3] as String?) ?? "", attempts: $0[4])
                    }
                }
                return JobSummary(id: job.id, name: job.name, state: job.state, paused: job.paused,
                                  priority: job.priority, framesTotal: job.framesTotal,
                                  framesDone: job.framesDone, framesFailed: job.framesFailed,
                                  taskCounts: job.taskCounts, outputDir: job.outputDir,
                                  createdAt: job.createdAt, finishedAt: job.finishedAt, failures: failures)
            }
        }
    }

    /// Cancels a job: its queued and running tasks become `cancelled` (late results for them are
    /// stale), the job becomes `cancelled` and is never dispatched again. Frames keep their state;
    /// frames of a cancelled job are not returned by ``framesToAssemble()``. Returns the tasks
    /// that were running, so the coordinator can tell their workers to stop. A finished job is
    /// left unchanged (returns `[]`).
    @discardableResult
    public func cancelJob(_ id: JobID) throws(StoreError) -> [CancelledTask] {
        try write("cancelling \(id)") { db, now in
            guard let raw = try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [id.rawValue])
            else { throw StoreError(.notFound, "\(id) does not exist") }
            let state = try decodeEnum(JobState.self, raw, column: "state", row: "\(id)")
            guard !state.isFinished else { return [] }
            try db.execute(sql: """
                UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state = 'queued'
                """, arguments: [now, id.rawValue])
            let queued = db.changesCount
            let running = try Row.fetchAll(db, sql: """
                SELECT id, worker_id, attempts FROM tasks WHERE state = 'running' AND job_id = ? ORDER BY id
                """, arguments: [id.rawValue])
            var cancelled: [CancelledTask] = []
            for row in running {
                let task: Int64 = row[0], attempt: Int = row[2]
                try cancelRunningTask(db, task: task, attempt: attempt, now: now)
                cancelled.append(CancelledTask(taskID: TaskID(task), workerID: WorkerID(row[1] as Int64), attempt: attempt))
            }
            try db.execute(sql: """
                UPDATE jobs SET state = 'cancelled', finished_at = ?, tasks_queued = tasks_queued - ?,
                    tasks_running = tasks_running - ?, tasks_cancelled = tasks_cancelled + ?
                WHERE id = ?
                """, arguments: [now, queued, running.count, queued + running.count, id.rawValue])
            return cancelled
        }
    }

    /// Pauses (`true`) or resumes (`false`) dispatch of a job's tasks. Running tasks continue and
    /// their results are recorded normally.
    public func setPaused(_ id: JobID, _ paused: Bool) throws(StoreError) {
        try write("\(paused ? "pausing" : "resuming") \(id)") { db, _ in
            try db.execute(sql: "UPDATE jobs SET paused = ? WHERE id = ?", arguments: [paused, id.rawValue])
            if db.changesCount == 0 { throw StoreError(.notFound, "\(id) does not exist") }
        }
    }

    /// Changes a job's dispatch priority (higher first). Takes effect at the next claim.
    public func setPriority(_ id: JobID, _ priority: Int) throws(StoreError) {
        try write("setting the priority of \(id)") { db, _ in
            try db.execute(sql: "UPDATE jobs SET priority = ? WHERE id = ?", arguments: [priority, id.rawValue])
            if db.changesCount == 0 { throw StoreError(.notFound, "\(id) does not exist") }
        }
    }

    /// Frames in `assembling` (every tile done, output not yet recorded) of jobs that are not
    /// cancelled, in id order — what the coordinator must (re)assemble, e.g. after a restart.
    public func framesToAssemble() throws(StoreError) -> [FrameID] {
        try read("listing frames to assemble") { db in
            try Int64.fetchAll(db, sql: """
                SELECT f.id FROM frames f JOIN jobs j ON j.id = f.job_id
                WHERE f.state = 'assembling' AND j.state != 'cancelled' ORDER BY f.id
                """).map { FrameID(rawValue: $0) }
        }
    }

    /// One frame with every column and its tile cores (task-id order), or `nil`.
    public func frame(_ id: FrameID) throws(StoreError) -> FrameRecord? {
        try read("reading \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(frameColumns) FROM frames WHERE id = ?",
                                             arguments: [id.rawValue])
            else { return nil }
            let tiles = try Row.fetchAll(db, sql: """
                SELECT core_x, core_y, core_width, core_height FROM tasks
                WHERE frame_id = ? AND kind = \(TaskKind.developTile.rawValue) ORDER BY id
                """, arguments: [id.rawValue]).compactMap { decodeCore($0, at: 0) }
            return try decodeFrame(row, tiles: tiles)
        }
    }

    /// Every frame of a job in id order, with tile cores.
    public func frames(of job: JobID) throws(StoreError) -> [FrameRecord] {
        try read("reading the frames of \(job)") { db in
            var tiles: [Int64: [PixelRect]] = [:]
            let tileRows = try Row.fetchCursor(db, sql: """
                SELECT t.frame_id, t.core_x, t.core_y, t.core_width, t.core_height
                FROM frames f JOIN tasks t ON t.frame_id = f.id
                WHERE f.job_id = ? AND t.kind = \(TaskKind.developTile.rawValue) ORDER BY t.id
                """, arguments: [job.rawValue])
            while let row = try tileRows.next() {
                if let core = decodeCore(row, at: 1) { tiles[row[0] as Int64, default: []].append(core) }
            }
            return try Row.fetchAll(db, sql: "SELECT \(frameColumns) FROM frames WHERE job_id = ? ORDER BY id",
                                    arguments: [job.rawValue]).map { row in
                try decodeFrame(row, tiles: tiles[row[0] as Int64] ?? [])
            }
        }
    }

    /// The tile tasks of a frame in id order (empty before decode).
    public func tiles(of frame: FrameID) throws(StoreError) -> [TileRecord] {
        try read("reading the tiles of \(frame)") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, core_x, core_y, core_width, core_height, state, attempts FROM tasks
                WHERE frame_id = ? AND kind = \(TaskKind.developTile.rawValue) ORDER BY id
                """, arguments: [frame.rawValue]).map { row in
                let id: Int64 = row[0]
                guard let core = decodeCore(row, at: 1) else {
                    throw StoreError(.corruptRow, "task-\(id): tile task without a core rectangle")
                }
                return TileRecord(taskID: TaskID(id), core: core,
                                  state: try decodeEnum(TaskState.self, row[5], column: "state", row: "task-\(id)"),
                                  attempts: row[6])
            }
        }
    }

    /// Every task of a job in id order.
    public func tasks(of job: JobID) throws(StoreError) -> [TaskRecord] {
        try read("reading the tasks of \(job)") { db in
            try Row.fetchAll(db, sql: """
                SELECT t.id, t.job_id, t.frame_id, t.kind, t.state, t.attempts, t.worker_id, t.core_x,
                    t.core_y, t.core_width, t.core_height, t.started_at, t.finished_at, t.last_error
                FROM frames f JOIN tasks t ON t.frame_id = f.id WHERE f.job_id = ? ORDER BY t.id
                """, arguments: [job.rawValue]).map { row in
                let id: Int64 = row[0]
                let worker: Int64? = row[6]
                return TaskRecord(
                    id: TaskID(id), jobID: JobID(row[1] as Int64), frameID: FrameID(row[2] as Int64),
                    kind: try decodeEnum(TaskKind.self, row[3], column: "kind", row: "task-\(id)"),
                    state: try decodeEnum(TaskState.self, row[4], column: "state", row: "task-\(id)"),
                    attempts: row[5], workerID: worker.map { WorkerID(rawValue: $0) }, core: decodeCore(row, at: 7),
                    startedAt: row[11], finishedAt: row[12], lastError: row[13])
            }
        }
    }

    /// Every attempt of every task of a job, by task id then attempt number.
    public func attempts(of job: JobID) throws(StoreError) -> [AttemptRecord] {
        try read("reading the attempts of \(job)") { db in
            try Row.fetchAll(db, sql: """
                SELECT a.task_id, a.attempt, a.worker_id, a.started_at, a.finished_at, a.outcome,
                    a.error_code, a.error, a.compute_micros
                FROM frames f JOIN tasks t ON t.frame_id = f.id JOIN attempts a ON a.task_id = t.id
                WHERE f.job_id = ? ORDER BY a.task_id, a.attempt
                """, arguments: [job.rawValue]).map { row in
                let task: Int64 = row[0]
                return AttemptRecord(
                    taskID: TaskID(task), attempt: row[1], workerID: WorkerID(row[2] as Int64),
                    startedAt: row[3], finishedAt: row[4],
                    outcome: try decodeEnum(AttemptOutcome.self, row[5], column: "outcome", row: "task-\(task) attempt"),
                    errorCode: row[6], error: row[7], computeMicros: row[8])
            }
        }
    }
}

/// Marks a running task cancelled and closes its attempt. The caller adjusts the counters.
func cancelRunningTask(_ db: Database, task: Int64, attempt: Int, now: Int64) throws {
    try db.cachedStatement(sql: """
        UPDATE tasks SET state = 'cancelled', worker_id = NULL, finished_at = ? WHERE id = ?
        """).execute(arguments: [now, task])
    try closeAttempt(db, task: task, attempt: attempt, outcome: .cancelled, now: now)
}

/// Ends an attempt row with an outcome (and optional error and compute time).
func closeAttempt(_ db: Database, task: Int64, attempt: Int, outcome: AttemptOutcome, now: Int64,
                  errorCode: String? = nil, error: String? = nil, computeMicros: Int64? = nil) throws {
    try db.cachedStatement(sql: """
        UPDATE attempts SET outcome = ?, finished_at = ?, error_code = ?, error = ?, compute_micros = ?
        WHERE task_id = ? AND attempt = ?
        """).execute(arguments: [outcome.rawValue, now, errorCode, error, computeMicros, task, attempt])
}
