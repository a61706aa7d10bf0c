import GRDB

/// Every failure of the store: SQLite errors (with SQLite's extended result code and the SQL that
/// failed), references to rows that do not exist, arguments the domain rejects, and operations
/// that do not fit an entity's current state.
///
/// Pattern-match on ``kind``; print ``description`` for operators (it names the database file,
/// the entity and, for SQLite errors, the code and the statement).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, coarsely.
    public enum Kind: Sendable, Hashable {
        /// SQLite reported an error; ``StoreError/extendedResultCode`` and ``StoreError/sql`` are set.
        case sqlite
        /// A job, frame, task or worker id does not exist.
        case notFound
        /// An argument is out of its domain (empty frame list, tile outside the frame, …).
        case invalidArgument
        /// The operation does not fit the current state (e.g. recording output for a frame that is
        /// not assembling, claiming for a lost worker).
        case invalidState
        /// A stored value could not be decoded (unknown enum raw value): the file was written by a
        /// newer or foreign program, or was edited by hand.
        case corruptRow
    }

    /// The coarse category, for pattern matching.
    public var kind: Kind
    /// A human sentence naming the entity involved (`frame-12`, `worker-3`, the file path).
    public var message: String
    /// The database file the store was opened on.
    public var databasePath: String
    /// SQLite's extended result code (e.g. 2067 `SQLITE_CONSTRAINT_UNIQUE`, 5 `SQLITE_BUSY`) for
    /// ``Kind/sqlite`` errors.
    public var extendedResultCode: Int32?
    /// SQLite's own message for ``Kind/sqlite`` errors.
    public var sqliteMessage: String?
    /// The SQL statement that failed, when known.
    public var sql: String?

    /// Creates an error; the store fills `databasePath` when it is thrown out of an operation.
    public init(_ kind: Kind, _ message: String, databasePath: String = "",
                extendedResultCode: Int32? = nil, sqliteMessage: String? = nil, sql: String? = nil) {
        self.kind = kind
        self.message = message
        self.databasePath = databasePath
        self.extendedResultCode = extendedResultCode
        self.sqliteMessage = sqliteMessage
        self.sql = sql
    }

    /// Whether SQLite reported the database busy or locked (another process held the write lock
    /// longer than the busy timeout). Retrying later is reasonable.
    public var isBusy: Bool {
        guard let code = extendedResultCode else { return false }
        let primary = code & 0xFF
        return primary == 5 || primary == 6  // SQLITE_BUSY, SQLITE_LOCKED
    }

    public var description: String {
        var text = "store \(databasePath.isEmpty ? "<unknown>" : databasePath): \(message)"
        if let code = extendedResultCode {
            text += " (SQLite error \(code)"
            if let m = sqliteMessage { text += ": \(m)" }
            text += ")"
        }
        if let sql { text += " in `\(sql)`" }
        return text
    }

    /// Wraps any error thrown inside a store operation: `StoreError`s pass through (gaining the
    /// database path), GRDB's `DatabaseError`s keep their code and SQL, anything else becomes
    /// ``Kind/sqlite`` with its description.
    static func wrap(_ error: any Error, operation: String, path: String) -> StoreError {
        if var e = error as? StoreError {
            if e.databasePath.isEmpty { e.databasePath = path }
            return e
        }
        if let e = error as? DatabaseError {
            return StoreError(.sqlite, "\(operation) failed", databasePath: path,
                              extendedResultCode: e.extendedResultCode.rawValue,
                              sqliteMessage: e.message, sql: e.sql)
        }
        if let e = error as? RowDecodingError {
            return StoreError(.corruptRow, "\(operation): \(e)", databasePath: path)
        }
        return StoreError(.sqlite, "\(operation) failed: \(error)", databasePath: path)
    }
}
