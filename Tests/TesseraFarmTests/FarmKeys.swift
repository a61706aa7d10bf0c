import Foundation
import TesseraStore
import TesseraZMQ

/// CURVE keys for a test farm: a coordinator key file, a worker and an operator key allow-listed
/// in the farm's database, and the flags each process needs (docs/security.md).
struct FarmKeys {
    let coordinatorSecret: String, coordinatorPublic: String
    let workerSecret: String, operatorSecret: String
    let coordinator: CurveKeyPair, worker: CurveKeyPair, operatorKeys: CurveKeyPair

    init(directory: String, db: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        coordinator = try .generate()
        worker = try .generate()
        operatorKeys = try .generate()
        coordinatorSecret = try Self.write(coordinator, name: "coordinator", directory: directory)
        coordinatorPublic = directory + "/coordinator.pub"
        workerSecret = try Self.write(worker, name: "worker", directory: directory)
        operatorSecret = try Self.write(operatorKeys, name: "operator", directory: directory)
        let store = try TesseraStore(path: db)
        try store.allowKey(name: "test-workers", publicKey: worker.publicKey, role: .worker)
        try store.allowKey(name: "test-operator", publicKey: operatorKeys.publicKey, role: .operator)
    }

    /// Writes NAME.key (0600) and NAME.pub in the format of `tessera keygen`; returns the secret path.
    static func write(_ keys: CurveKeyPair, name: String, directory: String) throws -> String {
        let secret = directory + "/\(name).key"
        try "name = \(name)\npublic-key = \(keys.publicKey)\nsecret-key = \(keys.secretKey)\n"
            .write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        try "name = \(name)\npublic-key = \(keys.publicKey)\n".write(toFile: directory + "/\(name).pub", atomically: true, encoding: .utf8)
        return secret
    }

    var coordinatorArgs: [String] { ["--key", coordinatorSecret] }
    var workerArgs: [String] { ["--key", workerSecret, "--coordinator-key", coordinatorPublic] }
    var operatorArgs: [String] { ["--key", operatorSecret, "--coordinator-key", coordinatorPublic] }
}
