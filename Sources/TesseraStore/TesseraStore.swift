import Foundation
import GRDB
import TesseraCore

/// Where the store reads the time. Every operation reads it once, at the start of its transaction.
public struct StoreClock: Sendable {
    /// Milliseconds since the Unix epoch (UTC).
    public let now: @Sendable () -> Int64

    /// A clock from any source (tests pass a counter to make timestamps deterministic).
    public init(_ now: @escaping @Sendable () -> Int64) { self.now = now }

    /// The wall clock (`Date()`), truncated to milliseconds.
    public static let system = StoreClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// How the store opens its database file.
public struct StoreOptions: Sendable {
    /// What a successful commit guarantees.
    public enum Durability: Sendable, Hashable {
        /// `PRAGMA synchronous = FULL`: the WAL is fsync'ed at every commit, so every returned call
        /// survives power loss and OS crashes. The default.
        case full
        /// `PRAGMA synchronous = NORMAL`: commits survive a crash of the process; the last
        /// transactions may be lost on power loss (the file stays consistent). Faster.
        case normal
    }

    public var durability: Durability
    /// How long a call waits for another process's write lock before failing with
    /// ``StoreError/isBusy``, in seconds.
    public var busyTimeout: Double
    /// The time source for every timestamp the store writes.
    public var clock: StoreClock

    /// Defaults: full durability, 10 s busy timeout, the system clock.
    public init(durability: Durability = .full, busyTimeout: Double = 10, clock: StoreClock = .system) {
        self.durability = durability
        self.busyTimeout = busyTimeout
        self.clock = clock
    }
}

/// The coordinator's durable state: jobs, frames, tasks, attempts, workers and events in one
/// SQLite file (WAL mode, GRDB `DatabasePool`). The only owner of SQL in Tessera; it exposes
/// domain operations only.
///
/// Threading: `Sendable`; call any method from any thread. Every method is one transaction:
/// writes are serialised (one writer connection, `BEGIN IMMEDIATE`), reads run concurrently on
/// snapshot connections and see every write that returned before they started. Methods block the
/// calling thread for the duration of their transaction (typically tens of microseconds, plus an
/// fsync per write with ``StoreOptions/Durability/full``) — call them from a dedicated thread or
/// accept that cost on the cooperative pool.
///
/// Ids: a job's frames and its decode tasks get consecutive ids; a frame's tile tasks get
/// consecutive ids. Timestamps are `Int64` milliseconds since the Unix epoch.
public final class TesseraStore: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    let clock: StoreClock
    /// A directory removed when the store is released (``inMemory(options:)``).
    private let temporaryDirectory: String?

    /// Opens (creating if needed) the database file at `path` and migrates it to the current schema.
    /// The parent directory must exist. Opening the same file again (after ``close()`` or from
    /// another process) is safe: migrations are applied once.
    public convenience init(path: String, options: StoreOptions = StoreOptions()) throws(StoreError) {
        try self.init(path: path, options: options, temporaryDirectory: nil)
    }

    private init(path: String, options: StoreOptions, temporaryDirectory: String?) throws(StoreError) {
        self.path = path
        self.clock = options.clock
        self.temporaryDirectory = temporaryDirectory
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(options.busyTimeout)
        config.label = "TesseraStore"
        let synchronous = options.durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            // Two processes opening a new file at once both try its migrations, each in its own
            // transaction: the loser fails ("table … already exists") and finds them applied
            // when it tries again.
            for attempt in 1... {
                do {
                    try Schema.migrator.migrate(pool)
                    break
                } catch where attempt < 5 {
                    Thread.sleep(forTimeInterval: 0.02 * Double(attempt))  // back-off before re-checking the applied migrations
                }
            }
            self.pool = pool
        } catch {
            throw StoreError.wrap(error, operation: "opening the database", path: path)
        }
    }

    /// A store on a fresh file in a new temporary directory, removed when the store is released.
    /// Meant for tests (SQLite's `:memory:` cannot be shared by a pool's connections).
    public static func inMemory(options: StoreOptions = StoreOptions()) throws(StoreError) -> TesseraStore {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tessera-store-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.invalidArgument, "cannot create temporary directory \(base.path): \(error)")
        }
        return try TesseraStore(path: base.appendingPathComponent("tessera.sqlite").path,
                                options: options, temporaryDirectory: base.path)
    }

    deinit {
        if let temporaryDirectory {
            try? pool.close()
            try? FileManager.default.removeItem(atPath: temporaryDirectory)
        }
    }

    /// Closes every connection (checkpointing the WAL). Later calls fail with ``StoreError/Kind/sqlite``.
    /// Optional: releasing the store closes it too.
    public func close() throws(StoreError) {
        do { try pool.close() } catch { throw StoreError.wrap(error, operation: "closing", path: path) }
    }

    /// SQLite's `PRAGMA integrity_check`: `"ok"`, or the problems found, one per line.
    public func integrityCheck() throws(StoreError) -> String {
        try read("integrity check") { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
        }
    }

    // MARK: - Transactions

    /// Runs `body` in one write transaction (rolled back if it throws), with the clock read once.
    func write<T>(_ operation: @autoclosure () -> String,
                  _ body: (Database, Int64) throws -> T) throws(StoreError) -> T {
        let now = clock.now()
        do {
            return try pool.write { db in try body(db, now) }
        } catch {
            throw StoreError.wrap(error, operation: operation(), path: path)
        }
    }

    /// Runs `body` in one read transaction (a consistent snapshot).
    func read<T>(_ operation: @autoclosure () -> String,
                 _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read { db in try body(db) }
        } catch {
            throw StoreError.wrap(error, operation: operation(), path: path)
        }
    }
}

// MARK: - Row helpers shared by the operation files

/// Decodes a stored enum raw value, naming the column and row when it is unknown.
func decodeEnum<E: RawRepresentable>(_ type: E.Type, _ raw: E.RawValue, column: String,
                                     row: String) throws -> E {
    guard let value = E(rawValue: raw) else {
        throw StoreError(.corruptRow, "\(row): unknown \(column) value '\(raw)'")
    }
    return value
}

/// Per-job counter changes accumulated during one transaction and applied with one UPDATE per job.
struct JobDelta {
    var queued = 0, running = 0, succeeded = 0, failed = 0, cancelled = 0
    var framesDone = 0, framesFailed = 0

    mutating func add(_ state: TaskState, _ n: Int) {
        switch state {
        case .queued: queued += n
        case .running: running += n
        case .succeeded: succeeded += n
        case .failed: failed += n
        case .cancelled: cancelled += n
        }
    }

    mutating func move(from: TaskState, to: TaskState, count: Int = 1) {
        add(from, -count)
        add(to, count)
    }
}

/// The counter changes of one transaction, keyed by job id.
struct Ledger {
    var jobs: [Int64: JobDelta] = [:]

    mutating func move(job: Int64, from: TaskState, to: TaskState, count: Int = 1) {
        jobs[job, default: JobDelta()].move(from: from, to: to, count: count)
    }

    /// Writes the counters; settles the state of every job whose finished-frame count changed.
    func apply(_ db: Database, now: Int64) throws {
        let update = try db.cachedStatement(sql: """
            UPDATE jobs SET tasks_queued = tasks_queued + ?, tasks_running = tasks_running + ?,
                tasks_succeeded = tasks_succeeded + ?, tasks_failed = tasks_failed + ?,
                tasks_cancelled = tasks_cancelled + ?, frames_done = frames_done + ?,
                frames_failed = frames_failed + ?
            WHERE id = ?
            """)
        for (job, d) in jobs.sorted(by: { $0.key < $1.key }) {
            try update.execute(arguments: [d.queued, d.running, d.succeeded, d.failed, d.cancelled,
                                           d.framesDone, d.framesFailed, job])
            if d.framesDone != 0 || d.framesFailed != 0 {
                _ = try settleJob(db, job: job, now: now)
            }
        }
    }
}

/// Moves a running job to its finished state once every frame is done or failed; returns the
/// job's (possibly new) state. Paused or cancelled jobs keep their state.
func settleJob(_ db: Database, job: Int64, now: Int64) throws -> JobState {
    guard let row = try Row.fetchOne(
        db.cachedStatement(sql: "SELECT state, frames_total, frames_done, frames_failed FROM jobs WHERE id = ?"),
        arguments: [job])
    else { throw StoreError(.notFound, "job-\(job) does not exist") }
    let state = try decodeEnum(JobState.self, row[0] as String, column: "state", row: "job-\(job)")
    guard !state.isFinished else { return state }
    let total: Int = row[1], done: Int = row[2], failed: Int = row[3]
    guard done + failed >= total else { return state }
    let final: JobState = failed == 0 ? .succeeded : (done == 0 ? .failed : .completedWithFailures)
    try db.execute(sql: "UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?",
                   arguments: [final.rawValue, now, job])
    return final
}
