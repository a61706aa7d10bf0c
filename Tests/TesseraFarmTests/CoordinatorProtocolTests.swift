import Foundation
import Testing
import TesseraCoordinator
import TesseraCore
import TesseraWire
import TesseraZMQ

/// The coordinator's task socket against misbehaving peers, in process with real sockets.
@Suite struct CoordinatorProtocolTests {
    private func receiveReply(_ socket: ZMQSocket) throws -> WireMessage? {
        try socket.set(.receiveTimeout, 5000)
        guard let parts = try socket.receiveMultipart() else { return nil }
        return try WireCodec.decode(parts[0].bytes)
    }

    @Test("garbage and unknown versions are refused, counted, and do not disturb the coordinator")
    func malformedPeersAreRefused() throws {
        let tmp = try TemporaryDirectory("proto")
        var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: nil, databasePath: tmp.sub("c.db"))
        config.security = .insecure  // a plaintext peer, to reach the decoder without keys
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        defer { coordinator.stop() }
        let endpoint = try #require(coordinator.taskEndpoint)

        let context = try ZMQContext()
        defer { context.shutdown() }
        let peer = try context.makeSocket(.dealer)
        defer { peer.close() }
        try peer.connect(endpoint)

        // Random bytes: refused as malformed.
        try peer.send([[0xDE, 0xAD, 0xBE, 0xEF, 0x00]])
        guard case .refuse(let garbage) = try receiveReply(peer) else {
            Issue.record("no REFUSE for garbage")
            return
        }
        #expect(garbage.code == .malformed)

        // A HELLO from a future protocol version: refused with the version named.
        var hello = WireCodec.encode(.hello(Hello(
            workerName: "from-the-future", hostname: "h", softwareVersion: "9", cores: 1, memoryBytes: 1, slots: 1,
            taskKinds: [.decode], capabilities: [])))
        let future = WireCodec.version + 1
        hello[2] = future
        try peer.send([hello])
        guard case .refuse(let version) = try receiveReply(peer) else {
            Issue.record("no REFUSE for version \(future)")
            return
        }
        #expect(version.code == .unsupportedVersion)
        #expect(version.reason.contains("\(future)"))

        // A result from a peer that never said HELLO: told to register, nothing recorded.
        try peer.send([WireCodec.encode(.credit(Credit(credits: 3)))])
        guard case .refuse(let unregistered) = try receiveReply(peer) else {
            Issue.record("no REFUSE for an unregistered peer")
            return
        }
        #expect(unregistered.code == .notRegistered)
        #expect(coordinator.counters.malformed.load(ordering: .relaxed) == 2)

        // The same peer can then register properly and is welcomed.
        try peer.send([WireCodec.encode(.hello(Hello(
            workerName: "good", hostname: "h", softwareVersion: TesseraVersion.string, cores: 1, memoryBytes: 1 << 30, slots: 1,
            taskKinds: Set(TaskKind.allCases), capabilities: [])))])
        guard case .welcome(let welcome) = try receiveReply(peer) else {
            Issue.record("no WELCOME after a valid HELLO")
            return
        }
        #expect(welcome.workerID.rawValue > 0)
        #expect(try coordinator.store.workers().contains { $0.name == "good" })
    }
}
