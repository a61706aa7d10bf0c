import GRDB
import TesseraCore

// Bursts split into tiles across the farm (docs/burst.md): per-member decodes, the merge plan,
// merge tiles and the hand-over of the merged raw to the develop-tile path.

/// One member of a burst frame and the state of its decode task.
public struct BurstMemberRecord: Sendable, Hashable {
    /// 0 = the frame's `path`, k = its k-th other member (capture order).
    public var member: Int
    /// The member's input file.
    public var path: String
    public var taskID: TaskID
    public var state: TaskState
    /// The decode task's result document (set when it succeeded).
    public var result: String?
    /// Why the decode failed for good (set when it failed).
    public var failure: String?

    /// Memberwise initialiser.
    public init(member: Int, path: String, taskID: TaskID, state: TaskState, result: String?, failure: String?) {
        self.member = member
        self.path = path
        self.taskID = taskID
        self.state = state
        self.result = result
        self.failure = failure
    }
}

/// Result of ``TesseraStore/recordMemberDecoded(task:attempt:result:computeMicros:)``.
public enum MemberDecodeOutcome: Sendable, Hashable {
    /// Accepted; `membersFinished` when no member decode of the burst is queued or running any more
    /// (the burst can be planned).
    case accepted(frame: FrameID, membersFinished: Bool)
    /// Late or duplicate result, or the frame moved on: nothing changed.
    case stale
}

extension TesseraStore {
    /// Records a burst member's successful decode: the task succeeds with `result` (the member's
    /// decode summary, kept in `tasks.result`); the frame stays `pending` until every member is
    /// finished. One transaction.
    public func recordMemberDecoded(task: TaskID, attempt: Int, result: String, computeMicros: Int64) throws(StoreError) -> MemberDecodeOutcome {
        try write("recording the decode of burst member \(task)") { db, now in
            guard let t = try TaskRow.fetch(db, task.rawValue), t.accepts(attempt, kind: .decode), t.member != nil else { return .stale }
            let frameState = try String.fetchOne(db, sql: "SELECT state FROM frames WHERE id = ?", arguments: [t.frame])
            guard frameState == FrameState.pending.rawValue else { return .stale }
            try closeAttempt(db, task: t.id, attempt: attempt, outcome: .succeeded, now: now, computeMicros: computeMicros)
            try db.cachedStatement(sql: """
                UPDATE tasks SET state = 'succeeded', worker_id = NULL, finished_at = ?, result = ? WHERE id = ?
                """).execute(arguments: [now, result, t.id])
            var ledger = Ledger()
            ledger.move(job: t.job, from: .running, to: .succeeded)
            try ledger.apply(db, now: now)
            return .accepted(frame: FrameID(t.frame), membersFinished: try openMemberTasks(db, frame: t.frame) == 0)
        }
    }

    /// The members of burst frame `frame` with their decode tasks, in member order.
    public func burstMembers(of frame: FrameID) throws(StoreError) -> [BurstMemberRecord] {
        try read("reading the members of \(frame)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT path, members FROM frames WHERE id = ?", arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let paths = [row[0] as String] + FrameMembers.decode(row[1])
            return try Row.fetchAll(db, sql: """
                SELECT id, member, state, result, last_error FROM tasks
                WHERE frame_id = ? AND kind = \(TaskKind.decode.rawValue) AND member IS NOT NULL ORDER BY member, id
                """, arguments: [frame.rawValue]).map { r in
                let id: Int64 = r[0], member: Int = r[1]
                guard paths.indices.contains(member) else {
                    throw StoreError(.corruptRow, "task-\(id): member \(member) but \(frame) has \(paths.count) members")
                }
                let state = try decodeEnum(TaskState.self, r[2], column: "state", row: "task-\(id)")
                return BurstMemberRecord(member: member, path: paths[member], taskID: TaskID(id), state: state,
                                         result: r[3], failure: state == .failed ? r[4] : nil)
            }
        }
    }

    /// Records a burst's merge plan: a `pending` burst frame whose member decodes are all
    /// finished becomes `merging` with `plan` as its metadata, and one queued merge-tile task per
    /// core in `tiles` is inserted (consecutive ids, same order) — one transaction. `width` ×
    /// `height` is the merged raw frame, which every tile must lie in. ``DecodeOutcome/stale``
    /// (nothing changed) when the frame is no longer pending or a member is still decoding, e.g.
    /// because another thread planned it first.
    public func recordBurstPlanned(frame: FrameID, plan: String, width: Int, height: Int, tiles: [PixelRect]) throws(StoreError) -> DecodeOutcome {
        let bounds = PixelRect(x: 0, y: 0, width: max(0, width), height: max(0, height))
        guard !tiles.isEmpty else { throw StoreError(.invalidArgument, "burst \(frame): no merge tiles", databasePath: path) }
        if let bad = tiles.first(where: { $0.isEmpty || !bounds.contains($0) }) { throw StoreError(.invalidArgument, "burst \(frame): merge tile \(bad) is empty or outside \(width)x\(height)", databasePath: path) }
        return try write("recording the merge plan of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state FROM frames WHERE id = ?", arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            guard (row[1] as String) == FrameState.pending.rawValue, try openMemberTasks(db, frame: frame.rawValue) == 0 else { return .stale }
            try db.execute(sql: """
                UPDATE frames SET state = 'merging', metadata = ?, tiles_total = ?, tiles_done = 0, decoded_at = ? WHERE id = ?
                """, arguments: [plan, tiles.count, now, frame.rawValue])
            let ids = try insertTiles(db, job: job, frame: frame.rawValue, kind: .mergeTile, tiles: tiles)
            var ledger = Ledger()
            ledger.jobs[job, default: JobDelta()].add(.queued, tiles.count)
            try ledger.apply(db, now: now)
            return .accepted(ids)
        }
    }

    /// The cores and result documents of a burst's succeeded merge tiles, in task order.
    public func mergeTileResults(of frame: FrameID) throws(StoreError) -> [(core: PixelRect, result: String?)] {
        try read("reading the merge tiles of \(frame)") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, core_x, core_y, core_width, core_height, result FROM tasks
                WHERE frame_id = ? AND kind = \(TaskKind.mergeTile.rawValue) AND state = 'succeeded' ORDER BY id
                """, arguments: [frame.rawValue]).map { row in
                guard let core = decodeCore(row, at: 1) else {
                    throw StoreError(.corruptRow, "task-\(row[0] as Int64): merge tile without a core rectangle")
                }
                return (core, row[5])
            }
        }
    }

    /// The burst member a decode task decodes, or nil (not a member decode, or unknown task).
    public func taskMember(_ task: TaskID) throws(StoreError) -> Int? {
        try read("reading the member of \(task)") { db in
            try Int.fetchOne(db, sql: "SELECT member FROM tasks WHERE id = ?", arguments: [task.rawValue])
        }
    }

    /// The core of a tile task (develop or merge), or nil.
    public func taskCore(_ task: TaskID) throws(StoreError) -> PixelRect? {
        try read("reading the core of \(task)") { db in
            try Row.fetchOne(db, sql: "SELECT core_x, core_y, core_width, core_height FROM tasks WHERE id = ?",
                             arguments: [task.rawValue]).flatMap { decodeCore($0, at: 0) }
        }
    }

    /// Hands a merged burst to the develop path: a `merged` frame becomes `developing` with its
    /// output size, decode metadata and spooled (merged) plane, and one queued develop-tile task
    /// per core in `tiles` is inserted — exactly what ``recordDecoded(task:attempt:width:height:metadata:spoolPath:tiles:computeMicros:)``
    /// does for a single frame. ``DecodeOutcome/stale`` when the frame is not `merged`.
    public func recordMerged(frame: FrameID, width: Int, height: Int, metadata: String, spoolPath: String,
                             tiles: [PixelRect]) throws(StoreError) -> DecodeOutcome {
        let bounds = PixelRect(x: 0, y: 0, width: max(0, width), height: max(0, height))
        guard width > 0, height > 0, !tiles.isEmpty else {
            throw StoreError(.invalidArgument, "merged \(frame): \(width)x\(height) with \(tiles.count) tiles is not a frame", databasePath: path)
        }
        if let bad = tiles.first(where: { $0.isEmpty || !bounds.contains($0) }) {
            throw StoreError(.invalidArgument, "merged \(frame): tile \(bad) is empty or outside the \(width)x\(height) frame", databasePath: path)
        }
        return try write("recording the merged raw of \(frame)") { db, now in
            guard let row = try Row.fetchOne(db, sql: "SELECT job_id, state FROM frames WHERE id = ?", arguments: [frame.rawValue])
            else { throw StoreError(.notFound, "\(frame) does not exist") }
            let job: Int64 = row[0]
            guard (row[1] as String) == FrameState.merged.rawValue else { return .stale }
            try db.execute(sql: """
                UPDATE frames SET state = 'developing', width = ?, height = ?, metadata = ?, spool_path = ?,
                    tiles_total = ?, tiles_done = 0 WHERE id = ?
                """, arguments: [width, height, metadata, spoolPath, tiles.count, frame.rawValue])
            let ids = try insertTiles(db, job: job, frame: frame.rawValue, kind: .developTile, tiles: tiles)
            var ledger = Ledger()
            ledger.jobs[job, default: JobDelta()].add(.queued, tiles.count)
            try ledger.apply(db, now: now)
            return .accepted(ids)
        }
    }

    /// Burst frames still `pending` whose member decodes are all finished (a coordinator that
    /// stopped before planning them must plan them), of jobs not cancelled, in id order.
    public func burstsToPlan() throws(StoreError) -> [FrameID] {
        try read("listing bursts to plan") { db in
            try Int64.fetchAll(db, sql: """
                SELECT f.id FROM frames f JOIN jobs j ON j.id = f.job_id
                WHERE f.state = 'pending' AND f.members IS NOT NULL AND j.state != 'cancelled'
                  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.frame_id = f.id AND t.state IN ('queued', 'running'))
                ORDER BY f.id
                """).map { FrameID(rawValue: $0) }
        }
    }

    /// Bursts in `merged` (every merge tile done, merged raw not yet handed to the develop path)
    /// of jobs not cancelled, in id order — what a restarted coordinator must finish.
    public func framesMerged() throws(StoreError) -> [FrameID] {
        try read("listing merged bursts") { db in
            try Int64.fetchAll(db, sql: """
                SELECT f.id FROM frames f JOIN jobs j ON j.id = f.job_id
                WHERE f.state = 'merged' AND j.state != 'cancelled' ORDER BY f.id
                """).map { FrameID(rawValue: $0) }
        }
    }
}

/// Member decode tasks of a frame that are still queued or running.
func openMemberTasks(_ db: Database, frame: Int64) throws -> Int {
    try Int.fetchOne(db, sql: """
        SELECT count(*) FROM tasks WHERE frame_id = ? AND member IS NOT NULL AND state IN ('queued', 'running')
        """, arguments: [frame]) ?? 0
}

/// Inserts one queued task of `kind` per core (consecutive ids); returns the ids.
func insertTiles(_ db: Database, job: Int64, frame: Int64, kind: TaskKind, tiles: [PixelRect]) throws -> [TaskID] {
    let insert = try db.cachedStatement(sql: """
        INSERT INTO tasks (job_id, frame_id, kind, state, core_x, core_y, core_width, core_height)
        VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)
        """)
    var ids: [TaskID] = []
    ids.reserveCapacity(tiles.count)
    for core in tiles {
        insert.setUncheckedArguments([job, frame, kind.rawValue, core.x, core.y, core.width, core.height])
        try insert.execute()
        ids.append(TaskID(db.lastInsertedRowID))
    }
    return ids
}
