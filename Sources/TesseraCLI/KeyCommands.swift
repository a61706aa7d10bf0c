import ArgumentParser
import Foundation
import TesseraStore
import TesseraZMQ

/// CURVE key files (docs/security.md).
///
/// A secret key file (`NAME.key`, mode 0600) holds both keys; a public key file (`NAME.pub`)
/// only the public one. Both are text:
/// ```
/// # Tessera CURVE secret key — keep it private
/// name = worker-7
/// public-key = <40 Z85 characters>
/// secret-key = <40 Z85 characters>
/// ```
/// Lines starting with `#` are comments (only at the start: `#` is a Z85 character).
enum KeyFiles {
    /// Errors naming the file and what to do.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `NAME.key` (0600) and `NAME.pub` into `directory`; refuses to replace existing
    /// files unless `force`. Returns both paths.
    static func write(_ keys: CurveKeyPair, name: String, directory: String, force: Bool) throws -> (secret: String, public: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secretPath = directory + "/" + name + ".key", publicPath = directory + "/" + name + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            guard force else { throw Failure(description: "\(path) already exists (pass --force to replace it)") }
            try FileManager.default.removeItem(atPath: path)
        }
        try create(secretPath, mode: 0o600, text: """
            # Tessera CURVE secret key — keep it private (mode 0600); never copy it off this machine
            name = \(name)
            public-key = \(keys.publicKey)
            secret-key = \(keys.secretKey)

            """)
        try create(publicPath, mode: 0o644, text: """
            # Tessera CURVE public key — give it to the coordinator (`tessera keys allow`) or its peers
            name = \(name)
            public-key = \(keys.publicKey)

            """)
        return (secretPath, publicPath)
    }

    /// Creates `path` exclusively with `mode` (never wider, whatever the umask) and writes `text`.
    private static func create(_ path: String, mode: mode_t, text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fchmod(fd, mode) == 0 else { throw Failure(description: "cannot set the mode of \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The `key = value` fields of a key file.
    private static func fields(_ path: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure(description: "cannot read key file \(path): \(error.localizedDescription)")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let line = line.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.range(of: " = ") else { continue }
            fields[String(line[..<equals.lowerBound])] = String(line[equals.upperBound...])
        }
        return fields
    }

    /// The key pair of a secret key file (its public key re-derived and checked). Warns on
    /// standard error when the file is readable by others.
    static func readSecret(_ path: String) throws -> CurveKeyPair {
        let fields = try fields(path)
        guard let secret = fields["secret-key"] else {
            throw Failure(description: "\(path) has no secret-key line — is it a public key file? Make a pair with `tessera keygen NAME`")
        }
        let keys: CurveKeyPair
        do { keys = try CurveKeyPair(secretKey: secret) } catch {
            throw Failure(description: "\(path): secret-key is not a CURVE key (40 Z85 characters)")
        }
        if let stated = fields["public-key"], stated != keys.publicKey {
            throw Failure(description: "\(path): public-key does not belong to its secret-key")
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            FileHandle.standardError.write(Data("warning: \(path) is readable by other users; run `chmod 600 \(path)`\n".utf8))
        }
        return keys
    }

    /// A public key given as its 40 Z85 characters or as a key file (public or secret).
    static func readPublic(_ argument: String) throws -> String {
        if CurveKeyPair.isValidKey(argument), !FileManager.default.fileExists(atPath: argument) { return argument }
        let fields = try fields(argument)
        if let key = fields["public-key"], CurveKeyPair.isValidKey(key) { return key }
        if let secret = fields["secret-key"], let keys = try? CurveKeyPair(secretKey: secret) { return keys.publicKey }
        throw Failure(description: "\(argument) is neither a CURVE public key (40 Z85 characters) nor a key file with a public-key line")
    }

    /// The `name` line of a key file, if any.
    static func name(_ path: String) -> String? { (try? fields(path))?["name"] }
}

/// `tessera keygen`: writes a CURVE key pair for a coordinator, a worker or an operator.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (public).")

    @Argument(help: "The key's name (also the file names, and the name sessions are tagged with once allowed).")
    var name: String

    @Option(help: "Directory for the two files.")
    var dir: String = "."

    @Flag(help: "Replace existing files.")
    var force = false

    func validate() throws {
        guard !name.isEmpty, !name.contains("/"), !name.contains(":"), !name.hasPrefix("."), name.utf8.count <= 128 else {
            throw ValidationError("NAME must be 1–128 bytes without '/', ':' or a leading '.'")
        }
    }

    func run() throws {
        let keys = try CurveKeyPair.generate()
        let paths = try KeyFiles.write(keys, name: name, directory: absolutePath(dir), force: force)
        print("secret key: \(paths.secret) (mode 0600 — keep it on this machine)")
        print("public key: \(paths.public)")
        print(keys.publicKey)
    }
}

/// `tessera keys allow|revoke|list`: the coordinator's allow-list, in its database.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the keys allowed to connect to a coordinator (kept in its database).",
        subcommands: [Allow.self, Revoke.self, List.self])

    struct DatabaseOption: ParsableArguments {
        @Option(help: "The coordinator's database file.")
        var db: String = "tessera.db"

        func open() throws -> TesseraStore {
            let path = absolutePath(db)
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return try TesseraStore(path: path)
        }
    }

    struct Allow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allow a public key; takes effect at the key's next handshake.")

        @Argument(help: "The name sessions with this key are tagged with.")
        var name: String

        @Argument(help: "The public key: a NAME.pub file or its 40 Z85 characters.")
        var key: String

        @Option(help: "worker (takes tasks, may read status) or operator (submits, cancels, reads status).")
        var role: String = "worker"

        @OptionGroup var database: DatabaseOption

        func run() throws {
            guard let role = KeyRole(rawValue: role) else { throw ValidationError("--role must be worker or operator") }
            let publicKey = try KeyFiles.readPublic(key)
            try database.open().allowKey(name: name, publicKey: publicKey, role: role)
            print("allowed \(role.rawValue) key '\(name)' \(publicKey)")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by name (or public key): its next handshake is refused.")

        @Argument(help: "The key's name or public key.")
        var name: String

        @OptionGroup var database: DatabaseOption

        func run() throws {
            let record = try database.open().revokeKey(name)
            print("revoked \(record.role.rawValue) key '\(record.name)' \(record.publicKey)")
            print("sessions already open with it end when the worker reconnects or the coordinator restarts")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List allowed and revoked keys.")

        @OptionGroup var database: DatabaseOption

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let keys = try database.open().keys()
            if json {
                let rows: [[String: Any]] = keys.map {
                    ["name": $0.name, "publicKey": $0.publicKey, "role": $0.role.rawValue, "addedAt": $0.addedAt,
                     "revokedAt": $0.revokedAt.map { $0 as Any } ?? NSNull()]
                }
                let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if keys.isEmpty { print("no keys; allow one with `tessera keys allow NAME KEY.pub --role worker|operator`") }
            for key in keys {
                let state = key.revokedAt == nil ? "allowed" : "revoked"
                print("\(key.name)\t\(key.role.rawValue)\t\(state)\t\(key.publicKey)")
            }
        }
    }
}

/// Key flags of commands that connect to a coordinator (`worker`, `submit`, `status`).
struct ClientKeyOptions: ParsableArguments {
    @Option(help: "This peer's secret key file (from `tessera keygen`; env TESSERA_KEY).")
    var key: String?

    @Option(help: "The coordinator's public key: a .pub file or 40 Z85 characters (env TESSERA_COORDINATOR_KEY).")
    var coordinatorKey: String?

    @Flag(help: "Connect in plaintext to a coordinator started with --insecure (no encryption, no authentication).")
    var insecure = false

    /// The security to connect with; throws a message saying which flag is missing.
    func security() throws -> ClientSecurity {
        let environment = ProcessInfo.processInfo.environment
        if insecure {
            FileHandle.standardError.write(Data("WARNING: --insecure: plaintext connection, nothing is encrypted or authenticated\n".utf8))
            return .plaintext
        }
        guard let keyPath = key ?? environment["TESSERA_KEY"] else {
            throw ValidationError("no key: pass --key FILE (make one with `tessera keygen NAME`, then allow it on the coordinator with `tessera keys allow`), or --insecure for a plaintext coordinator")
        }
        guard let serverKey = coordinatorKey ?? environment["TESSERA_COORDINATOR_KEY"] else {
            throw ValidationError("no coordinator key: pass --coordinator-key with the coordinator's public key (its .pub file, or the key it printed at start-up)")
        }
        return .curve(keys: try KeyFiles.readSecret(absolutePath(keyPath)), serverKey: try KeyFiles.readPublic(serverKey))
    }
}
