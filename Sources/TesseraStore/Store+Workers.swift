import GRDB
import TesseraCore

// Workers and the operator event log.

extension TesseraStore {
    /// Registers a worker session and returns its new id. A worker that reconnects after being
    /// declared lost registers again and gets a new id. `memoryBytes` in bytes; `slots` is how
    /// many tasks it runs at once.
    public func registerWorker(name: String, host: String, cores: Int, memoryBytes: Int64, slots: Int,
                               version: String) throws(StoreError) -> WorkerID {
        try write("registering worker '\(name)' on \(host)") { db, now in
            try db.execute(sql: """
                INSERT INTO workers (name, host, cores, memory_bytes, slots, version, active, registered_at, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
                """, arguments: [name, host, cores, memoryBytes, slots, version, now, now])
            return WorkerID(db.lastInsertedRowID)
        }
    }

    /// Refreshes a worker's last-seen time. One small transaction; batch with ``workersSeen(_:)``.
    public func workerSeen(_ id: WorkerID) throws(StoreError) {
        try workersSeen([id])
    }

    /// Refreshes the last-seen time of several workers in one transaction. Unknown ids throw
    /// ``StoreError/Kind/notFound`` (nothing is written).
    public func workersSeen(_ ids: [WorkerID]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try write("refreshing \(ids.count) workers") { db, now in
            let update = try db.cachedStatement(sql: "UPDATE workers SET last_seen = ? WHERE id = ?")
            for id in ids {
                try update.execute(arguments: [now, id.rawValue])
                if db.changesCount == 0 { throw StoreError(.notFound, "\(id) is not registered") }
            }
        }
    }

    /// Declares a worker lost (inactive, with `reason`) and takes back its running tasks as
    /// ``requeueTasks(of:reason:maxAttempts:)`` does — one transaction. Returns how many tasks
    /// were taken back. Idempotent.
    @discardableResult
    public func workerLost(_ id: WorkerID, reason: String, maxAttempts: Int = .max) throws(StoreError) -> Int {
        try write("declaring \(id) lost") { db, now in
            try db.execute(sql: """
                UPDATE workers SET active = 0, lost_at = COALESCE(lost_at, ?), lost_reason = COALESCE(lost_reason, ?)
                WHERE id = ?
                """, arguments: [now, reason, id.rawValue])
            if db.changesCount == 0 { throw StoreError(.notFound, "\(id) is not registered") }
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM tasks WHERE state = 'running' AND worker_id = ? ORDER BY id",
                                         arguments: [id.rawValue])
            return try takeBack(db, tasks: ids, reason: reason, maxAttempts: maxAttempts, now: now)
        }
    }

    /// Every worker ever registered, in id order.
    public func workers() throws(StoreError) -> [WorkerRecord] {
        try read("listing workers") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, name, host, cores, memory_bytes, slots, version, active, registered_at, last_seen,
                    lost_at, lost_reason
                FROM workers ORDER BY id
                """).map { row in
                WorkerRecord(id: WorkerID(row[0] as Int64), name: row[1], host: row[2], cores: row[3],
                             memoryBytes: row[4], slots: row[5], version: row[6], active: row[7],
                             registeredAt: row[8], lastSeen: row[9], lostAt: row[10], lostReason: row[11])
            }
        }
    }

    /// Appends an operator event and returns its sequence number. An event about a frame or a
    /// task that names no job is filed under the frame's (or task's) job, so `events JOB` shows it.
    @discardableResult
    public func appendEvent(_ e: NewEvent) throws(StoreError) -> Int64 {
        try write("appending event \(e.kind)") { db, now in
            try db.execute(sql: """
                INSERT INTO events (at, level, kind, message, job_id, frame_id, task_id, worker_id)
                VALUES (?, ?, ?, ?,
                    COALESCE(?, (SELECT job_id FROM frames WHERE id = ?), (SELECT job_id FROM tasks WHERE id = ?)),
                    ?, ?, ?)
                """, arguments: [e.at ?? now, e.level.rawValue, e.kind, e.message, e.job?.rawValue, e.frame?.rawValue, e.task?.rawValue,
                                 e.frame?.rawValue, e.task?.rawValue, e.worker?.rawValue])
            return db.lastInsertedRowID
        }
    }

    /// Events with a sequence number greater than `after` (0 for the beginning), oldest first,
    /// at most `limit`; only those of `job` when given.
    public func events(job: JobID?, after: Int64, limit: Int) throws(StoreError) -> [EventRecord] {
        guard limit > 0 else { return [] }
        return try read("reading events") { db in
            let rows: [Row]
            if let job {
                rows = try Row.fetchAll(db, sql: """
                    SELECT id, at, level, kind, message, job_id, frame_id, task_id, worker_id FROM events
                    WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?
                    """, arguments: [job.rawValue, after, limit])
            } else {
                rows = try Row.fetchAll(db, sql: """
                    SELECT id, at, level, kind, message, job_id, frame_id, task_id, worker_id FROM events
                    WHERE id > ? ORDER BY id LIMIT ?
                    """, arguments: [after, limit])
            }
            return try rows.map { row in
                let id: Int64 = row[0]
                let job: Int64? = row[5], frame: Int64? = row[6], task: Int64? = row[7], worker: Int64? = row[8]
                return EventRecord(id: id, at: row[1],
                                   level: try decodeEnum(EventLevel.self, row[2], column: "level", row: "event-\(id)"),
                                   kind: row[3], message: row[4], job: job.map { JobID(rawValue: $0) },
                                   frame: frame.map { FrameID(rawValue: $0) }, task: task.map { TaskID(rawValue: $0) },
                                   worker: worker.map { WorkerID(rawValue: $0) })
            }
        }
    }
}
