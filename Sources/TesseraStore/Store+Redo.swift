import GRDB
import TesseraCore

// Redoing work whose persisted result was lost: a spooled tile or plane that is missing or fails
// its checksum (see the coordinator's Spool). Nothing here is a failure of the task or the worker.

extension TesseraStore {
    /// Queues again finished tiles of `frame` whose spooled pixels were found corrupt or missing
    /// (`tasks`, tile tasks of this frame that succeeded): each goes back to `queued` (its next
    /// claim is a new attempt), the frame goes back to `developing` with its done-tile count
    /// lowered, and the job's counters move — one transaction. `reason` is kept as the tasks'
    /// last error. Tasks that are not succeeded tile tasks of this frame are skipped. Returns how
    /// many were queued again (0 when the frame is not `developing` or `assembling`).
    @discardableResult
    public func redoTiles(frame: FrameID, tasks: [TaskID], reason: String) throws(StoreError) -> Int {
        try write("redoing \(tasks.count) tiles of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state FROM frames WHERE id = ?", arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            let state = try decodeEnum(FrameState.self, row[1], column: "state", row: "\(frame)")
            guard state == .developing || state == .assembling else { return 0 }
            var ledger = Ledger()
            var count = 0
            for task in tasks {
                guard let t = try TaskRow.fetch(db, task.rawValue), t.frame == frame.rawValue, t.kind == .developTile,
                      t.state == .succeeded
                else { continue }
                try db.execute(sql: """
                    UPDATE tasks SET state = 'queued', worker_id = NULL, finished_at = NULL, last_error = ?, not_before = 0
                    WHERE id = ?
                    """, arguments: [reason, t.id])
                ledger.move(job: job, from: .succeeded, to: .queued)
                count += 1
            }
            guard count > 0 else { return 0 }
            try db.execute(sql: """
                UPDATE frames SET state = 'developing', tiles_done = max(0, tiles_done - ?) WHERE id = ?
                """, arguments: [count, frame.rawValue])
            try ledger.apply(db, now: now)
            return count
        }
    }

    /// Takes `frame` back to before its decode because its decoded plane was found corrupt or
    /// missing: its tile tasks are cancelled (superseded: they keep their ids and history, and
    /// leases on them become stale; running attempts end `cancelled`), its decode task is queued
    /// again (its next claim is a new attempt), and the frame returns to `pending` without size,
    /// metadata or spool path — one transaction. The next decode plans fresh tile tasks (new
    /// ids: a task id is never reused). A burst frame's merge tiles are cancelled too and every
    /// decoded member is decoded again. Returns false (and changes nothing) unless the frame is
    /// `pending`, `merging`, `merged`, `developing` or `assembling`.
    @discardableResult
    public func redoDecode(frame: FrameID, reason: String) throws(StoreError) -> Bool {
        try write("redoing the decode of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state, members IS NOT NULL FROM frames WHERE id = ?",
                                             arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            let state = try decodeEnum(FrameState.self, row[1], column: "state", row: "\(frame)")
            let isBurst: Bool = row[2]
            // A burst frame may be redone from pending (a member's plane or proxy lost before
            // planning: only if some member had decoded), merging or merged (member planes or
            // merged cores lost) too.
            guard [.developing, .assembling, .merging, .merged].contains(state) || (state == .pending && isBurst) else { return false }
            var ledger = Ledger()
            let tiles = try Row.fetchAll(db, sql: """
                SELECT id, state, attempts FROM tasks
                WHERE frame_id = ? AND kind IN (\(TaskKind.developTile.rawValue), \(TaskKind.mergeTile.rawValue)) AND state != 'cancelled'
                """, arguments: [frame.rawValue])
            for tile in tiles {
                let id: Int64 = tile[0]
                let taskState = try decodeEnum(TaskState.self, tile[1], column: "state", row: "task-\(id)")
                if taskState == .running {
                    try cancelRunningTask(db, task: id, attempt: tile[2], now: now)
                } else {
                    try db.execute(sql: "UPDATE tasks SET state = 'cancelled', finished_at = ?, last_error = ? WHERE id = ?",
                                   arguments: [now, reason, id])
                }
                ledger.move(job: job, from: taskState, to: .cancelled)
            }
            var requeued = 0
            let decodes = try Row.fetchAll(db, sql: """
                SELECT id, state FROM tasks WHERE frame_id = ? AND kind = \(TaskKind.decode.rawValue)
                """, arguments: [frame.rawValue])
            for decode in decodes {
                let id: Int64 = decode[0]
                let taskState = try decodeEnum(TaskState.self, decode[1], column: "state", row: "task-\(id)")
                guard taskState == .succeeded else { continue }
                try db.execute(sql: """
                    UPDATE tasks SET state = 'queued', worker_id = NULL, finished_at = NULL, last_error = ?, not_before = 0
                    WHERE id = ?
                    """, arguments: [reason, id])
                ledger.move(job: job, from: .succeeded, to: .queued)
                requeued += 1
            }
            if state == .pending, requeued == 0 { return false }
            try db.execute(sql: """
                UPDATE frames SET state = 'pending', width = NULL, height = NULL, metadata = NULL, spool_path = NULL,
                    tiles_total = 0, tiles_done = 0, decoded_at = NULL
                WHERE id = ?
                """, arguments: [frame.rawValue])
            try ledger.apply(db, now: now)
            return true
        }
    }
}
