import GRDB

// The CURVE key allow-list: which public keys may connect, as what, under which name.
// docs/security.md describes key distribution; docs/store.md the table.

/// What a key may do once its handshake is admitted.
public enum KeyRole: String, Sendable, Codable, CaseIterable {
    /// Takes tasks on the task socket; on the control socket it may only read status.
    case worker
    /// Submits, cancels and reads status on the control socket; never gets tasks.
    case `operator`
}

/// One allow-listed (or revoked) public key.
public struct KeyRecord: Sendable, Hashable {
    /// The name sessions authenticated with this key are tagged with (unique among live keys).
    public var name: String
    /// The CURVE public key, 40 Z85 characters.
    public var publicKey: String
    public var role: KeyRole
    /// When it was allowed (ms since the epoch).
    public var addedAt: Int64
    /// When it was revoked, nil while it is allowed.
    public var revokedAt: Int64?

    /// Creates a record (the store builds these; tests compare against them).
    public init(name: String, publicKey: String, role: KeyRole, addedAt: Int64, revokedAt: Int64?) {
        self.name = name
        self.publicKey = publicKey
        self.role = role
        self.addedAt = addedAt
        self.revokedAt = revokedAt
    }
}

enum KeySchema {
    /// "v5-keys": the allow-list. Self-contained (touches no other table), registered after v3.
    static func register(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-keys") { db in
            try db.execute(sql: """
                CREATE TABLE curve_keys (
                    public_key  TEXT    PRIMARY KEY CHECK (length(public_key) = 40),
                    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
                    role        TEXT    NOT NULL CHECK (role IN ('worker', 'operator')),
                    added_at    INTEGER NOT NULL,
                    revoked_at  INTEGER
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX curve_keys_live_name ON curve_keys(name) WHERE revoked_at IS NULL;
                """)
        }
    }
}

extension TesseraStore {
    /// Allows `publicKey` (40 Z85 characters) as `role` under `name`. Allowing a revoked key
    /// again restores it (with the new name and role); allowing a live key renames it. Throws
    /// ``StoreError/Kind/invalidArgument`` for a malformed key or name, or a name another live
    /// key already uses.
    public func allowKey(name: String, publicKey: String, role: KeyRole) throws(StoreError) {
        guard publicKey.utf8.count == 40, publicKey.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw StoreError(.invalidArgument, "'\(publicKey)' is not a CURVE public key (40 Z85 characters)")
        }
        guard (1...128).contains(name.utf8.count), !name.contains(where: { $0.isNewline || $0 == ":" }) else {
            throw StoreError(.invalidArgument, "key name '\(name)' must be 1–128 bytes without ':' or line breaks")
        }
        try write("allowing key '\(name)'") { db, now in
            if let other = try String.fetchOne(db, sql: """
                SELECT public_key FROM curve_keys WHERE name = ? AND revoked_at IS NULL AND public_key <> ?
                """, arguments: [name, publicKey]) {
                throw StoreError(.invalidArgument, "key name '\(name)' is already used by key \(other); revoke it first or pick another name")
            }
            try db.execute(sql: """
                INSERT INTO curve_keys (public_key, name, role, added_at, revoked_at) VALUES (?, ?, ?, ?, NULL)
                ON CONFLICT (public_key) DO UPDATE SET name = excluded.name, role = excluded.role,
                    added_at = excluded.added_at, revoked_at = NULL
                """, arguments: [publicKey, name, role.rawValue, now])
        }
    }

    /// Revokes the live key called `name` (or whose public key is `name`); new handshakes with it
    /// are refused at once. Returns the revoked record. Throws ``StoreError/Kind/notFound``.
    @discardableResult
    public func revokeKey(_ nameOrKey: String) throws(StoreError) -> KeyRecord {
        try write("revoking key '\(nameOrKey)'") { db, now in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT public_key, name, role, added_at FROM curve_keys
                WHERE (name = ? OR public_key = ?) AND revoked_at IS NULL
                """, arguments: [nameOrKey, nameOrKey]) else {
                throw StoreError(.notFound, "no live key named '\(nameOrKey)' (see `tessera keys list`)")
            }
            try db.execute(sql: "UPDATE curve_keys SET revoked_at = ? WHERE public_key = ?", arguments: [now, row[0] as String])
            return KeyRecord(name: row[1], publicKey: row[0], role: try decodeEnum(KeyRole.self, row[2], column: "role", row: "key \(row[1] as String)"),
                             addedAt: row[3], revokedAt: now)
        }
    }

    /// Every key, live and revoked, by name.
    public func keys() throws(StoreError) -> [KeyRecord] {
        try read("listing keys") { db in
            try Row.fetchAll(db, sql: "SELECT public_key, name, role, added_at, revoked_at FROM curve_keys ORDER BY name, added_at")
                .map { row in
                    KeyRecord(name: row[1], publicKey: row[0],
                              role: try decodeEnum(KeyRole.self, row[2], column: "role", row: "key \(row[1] as String)"),
                              addedAt: row[3], revokedAt: row[4])
                }
        }
    }

    /// The live record of `publicKey`, or nil if it is unknown or revoked. One indexed read: the
    /// ZAP handler calls it for every handshake, so a revocation applies to the next one.
    public func liveKey(_ publicKey: String) throws(StoreError) -> KeyRecord? {
        try read("looking up a key") { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT public_key, name, role, added_at FROM curve_keys WHERE public_key = ? AND revoked_at IS NULL
                """, arguments: [publicKey]) else { return nil }
            return KeyRecord(name: row[1], publicKey: row[0],
                             role: try decodeEnum(KeyRole.self, row[2], column: "role", row: "key \(row[1] as String)"),
                             addedAt: row[3], revokedAt: nil)
        }
    }
}
