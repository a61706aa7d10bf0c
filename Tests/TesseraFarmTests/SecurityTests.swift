import Foundation
import Testing
import TesseraCLI
import TesseraCoordinator
import TesseraCore
import TesseraStore
import TesseraWire
import TesseraZMQ

/// CURVE authentication and hostile peers against a real coordinator (in process) with real
/// sockets and real worker processes (docs/security.md).
@Suite(.serialized) struct SecurityTests {
    /// Polls `condition` until it holds or `seconds` pass.
    private func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)  // polling a condition, bounded by the deadline
        }
        return try condition()
    }

    private func hello(_ name: String) -> [UInt8] {
        WireCodec.encode(.hello(Hello(workerName: name, hostname: "h", softwareVersion: TesseraVersion.string, cores: 1,
                                      memoryBytes: 1 << 30, slots: 4, taskKinds: Set(TaskKind.allCases), capabilities: [])))
    }

    private func secureCoordinator(_ tmp: TemporaryDirectory, serverKeys: CurveKeyPair, control: Bool = true) throws -> Coordinator {
        var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: control ? "tcp://127.0.0.1:*" : nil,
                                       databasePath: tmp.sub("c.db"))
        config.security = .curve(serverKeys: serverKeys)
        config.heartbeatMillis = 200
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        return coordinator
    }

    @Test("a worker with no key, an unknown key, a revoked key or an operator key never completes a handshake and gets no task; a worker key cannot submit")
    func unauthenticatedPeersGetNothing() throws {
        let tmp = try TemporaryDirectory("sec-auth")
        let shoot = tmp.sub("shoot")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "2", "--size", "256x192", "--seed", "4"]).status == 0)
        let serverKeys = try CurveKeyPair.generate()
        let coordinator = try secureCoordinator(tmp, serverKeys: serverKeys)
        defer { coordinator.stop() }
        let taskEndpoint = try #require(coordinator.taskEndpoint), controlEndpoint = try #require(coordinator.controlEndpoint)
        #expect(coordinator.publicKey == serverKeys.publicKey)
        let store = coordinator.store
        let workerKeys = try CurveKeyPair.generate(), operatorKeys = try CurveKeyPair.generate()
        let revokedKeys = try CurveKeyPair.generate(), strangerKeys = try CurveKeyPair.generate()
        try store.allowKey(name: "good-worker", publicKey: workerKeys.publicKey, role: .worker)
        try store.allowKey(name: "ops", publicKey: operatorKeys.publicKey, role: .operator)
        try store.allowKey(name: "old-worker", publicKey: revokedKeys.publicKey, role: .worker)
        try store.revokeKey("old-worker")
        #expect(try store.keys().map(\.name) == ["good-worker", "old-worker", "ops"])
        _ = try coordinator.submit(JobRequest(captureDirectory: shoot, outputDirectory: tmp.sub("out"), tileSize: 128))

        // Raw peers: each says HELLO and grants credit, as a worker would.
        let context = try ZMQContext()
        defer { context.shutdown() }
        let intruders: [(String, ClientSecurity)] = [
            ("no-key", .plaintext),
            ("unknown-key", .curve(keys: strangerKeys, serverKey: serverKeys.publicKey)),
            ("revoked-key", .curve(keys: revokedKeys, serverKey: serverKeys.publicKey)),
            ("operator-key", .curve(keys: operatorKeys, serverKey: serverKeys.publicKey)),
            ("wrong-server-key", .curve(keys: workerKeys, serverKey: try CurveKeyPair.generate().publicKey)),
        ]
        var sockets: [ZMQSocket] = []
        for (name, security) in intruders {
            let socket = try context.makeSocket(.dealer)
            try socket.applyClientSecurity(security)
            try socket.connect(taskEndpoint)
            _ = try socket.send([hello(name)], dontWait: true)
            _ = try socket.send([WireCodec.encode(.credit(Credit(credits: 8)))], dontWait: true)
            sockets.append(socket)
        }
        defer { sockets.forEach { $0.close() } }
        // Refused by ZAP: unknown, revoked, operator-on-task-socket. Failed before ZAP: plaintext
        // (mechanism mismatch) and the wrong server key (the HELLO box does not open).
        #expect(eventually { coordinator.counters.authRefused.load(ordering: .relaxed) >= 3 })
        #expect(eventually { coordinator.counters.handshakeFailures.load(ordering: .relaxed) >= 2 })
        for socket in sockets {
            try socket.set(.receiveTimeout, 300)
            #expect(try socket.receiveMultipart() == nil, "an unauthenticated peer received something")
        }
        #expect(coordinator.counters.tasksSent.load(ordering: .relaxed) == 0)
        #expect(try store.workers().isEmpty, "no intruder registered")

        // Real worker processes with a revoked key and with none: they stop and say why.
        let keyDir = tmp.sub("keys")
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true)
        let serverPub = keyDir + "/coordinator.pub"
        try "public-key = \(serverKeys.publicKey)\n".write(toFile: serverPub, atomically: true, encoding: .utf8)
        let revokedFile = try FarmKeys.write(revokedKeys, name: "old", directory: keyDir)
        let revoked = try TesseraProcess.run(["worker", "--connect", taskEndpoint, "--key", revokedFile, "--coordinator-key", serverPub],
                                             timeout: 60)
        #expect(revoked.status != 0)
        #expect(revoked.stderr.contains("not allow-listed or was revoked"), "\(revoked.stderr)")
        let plaintext = try TesseraProcess.run(["worker", "--connect", taskEndpoint, "--insecure"], timeout: 60)
        #expect(plaintext.status != 0)
        #expect(plaintext.stderr.contains("requires CURVE"), "\(plaintext.stderr)")
        let keyless = try TesseraProcess.run(["worker", "--connect", taskEndpoint])
        #expect(keyless.status != 0 && keyless.stderr.contains("--key"), "\(keyless.stderr)")
        #expect(coordinator.counters.tasksSent.load(ordering: .relaxed) == 0)
        #expect(try store.workers().isEmpty)

        // The control socket: a worker key may read status but not submit; an operator key may.
        let workerFile = try FarmKeys.write(workerKeys, name: "worker", directory: keyDir)
        let operatorFile = try FarmKeys.write(operatorKeys, name: "ops", directory: keyDir)
        let asWorker = ["--coordinator", controlEndpoint, "--key", workerFile, "--coordinator-key", serverPub]
        let submitAsWorker = try TesseraProcess.run(["submit", shoot, "--out", tmp.sub("out2")] + asWorker)
        #expect(submitAsWorker.status != 0)
        #expect(submitAsWorker.stderr.contains("needs an operator key"), "\(submitAsWorker.stderr)")
        #expect(coordinator.counters.controlRefused.load(ordering: .relaxed) == 1)
        #expect(try TesseraProcess.run(["status"] + asWorker).status == 0)
        let asOperator = ["--coordinator", controlEndpoint, "--key", operatorFile, "--coordinator-key", serverPub]
        let submitted = try TesseraProcess.run(["submit", shoot, "--out", tmp.sub("out3"), "--tile-size", "128"] + asOperator)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let stranger = try TesseraProcess.run(["status", "--coordinator", controlEndpoint, "--key", revokedFile, "--coordinator-key", serverPub])
        #expect(stranger.status != 0 && stranger.stderr.contains("refused this key"), "\(stranger.stderr)")

        // The allowed worker key works, and its session is tagged with the key's name.
        let good = try TesseraProcess.start(["worker", "--connect", taskEndpoint, "--name", "good", "--key", workerFile,
                                             "--coordinator-key", serverPub, "--log-level", "error"])
        defer { good.stop() }
        #expect(try eventually(120) { try store.jobSummaries(nil).allSatisfy { $0.state == .succeeded } })
        #expect(try store.workers().map(\.name) == ["good"])
        #expect(try store.events(job: nil, after: 0, limit: 100).contains { $0.kind == "worker.joined" && $0.message.contains("key 'good-worker'") })

        // Revoked while connected: the open session ends (ZAP only runs at a handshake), the
        // worker stops and says why, its reconnect is refused, and it gets no more tasks — even
        // though a new key is allowed under the same name at once (sessions are matched to the
        // key itself, not to its name).
        let sentBefore = coordinator.counters.tasksSent.load(ordering: .relaxed)
        _ = try store.revokeKey("good-worker")
        try store.allowKey(name: "good-worker", publicKey: try CurveKeyPair.generate().publicKey, role: .worker)
        #expect(eventually(60) { !good.process.isRunning }, "the worker with a revoked key kept running")
        #expect(good.stop() != 0)
        #expect(good.stderr.wait().contains("revoked"), "\(good.stderr.wait())")
        #expect(coordinator.counters.sessionsRevoked.load(ordering: .relaxed) == 1)
        #expect(try store.events(job: nil, after: 0, limit: 200).contains { $0.kind == "key.revoked" && $0.message.contains("good-worker") })
        let workersAfter = try store.workers()
        #expect(workersAfter.allSatisfy { !$0.active }, "\(workersAfter)")
        _ = try coordinator.submit(JobRequest(captureDirectory: shoot, outputDirectory: tmp.sub("out4"), tileSize: 128))
        let again = try TesseraProcess.run(["worker", "--connect", taskEndpoint, "--key", workerFile, "--coordinator-key", serverPub],
                                           timeout: 60)
        #expect(again.status != 0 && again.stderr.contains("revoked"), "\(again.stderr)")
        #expect(coordinator.counters.tasksSent.load(ordering: .relaxed) == sentBefore, "a revoked key received tasks")
        // An operator key revoked while its connection stays open is refused on its next request.
        _ = try store.revokeKey("ops")
        let opsStatus = try TesseraProcess.run(["status"] + asOperator)
        #expect(opsStatus.status != 0 && opsStatus.stderr.contains("refused this key"), "\(opsStatus.stderr)")
    }

    /// Runs one job to completion on `coordinator`; returns its wall time in seconds.
    private func timedJob(_ coordinator: Coordinator, shoot: String, out: String) throws -> Double {
        let started = Date()
        let job = try coordinator.submit(JobRequest(captureDirectory: shoot, outputDirectory: out, tileSize: 256, format: .jpeg)).job
        #expect(try eventually(300) { try coordinator.store.jobSummaries(job).first?.state.isFinished == true })
        #expect(try coordinator.store.jobSummaries(job).first?.state == .succeeded)
        return Date().timeIntervalSince(started)
    }

    @Test("a rogue peer blasting garbage during a job: the job completes (throughput vs a clean run reported); the peer is disconnected and counted")
    func roguePeerIsDisconnected() throws {
        let tmp = try TemporaryDirectory("sec-rogue")
        let shoot = tmp.sub("shoot")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "768x512", "--seed", "8"]).status == 0)
        let serverKeys = try CurveKeyPair.generate()
        let coordinator = try secureCoordinator(tmp, serverKeys: serverKeys, control: false)
        defer { coordinator.stop() }
        let taskEndpoint = try #require(coordinator.taskEndpoint)
        let workerKeys = try CurveKeyPair.generate()
        try coordinator.store.allowKey(name: "workers", publicKey: workerKeys.publicKey, role: .worker)
        let keyDir = tmp.sub("keys")
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true)
        let workerFile = try FarmKeys.write(workerKeys, name: "worker", directory: keyDir)
        let workers = try (1...2).map { i in
            try TesseraProcess.start(["worker", "--connect", taskEndpoint, "--name", "w\(i)", "--slots", "1", "--key", workerFile,
                                      "--coordinator-key=\(serverKeys.publicKey)", "--log-level", "error"])
        }
        defer { workers.forEach { $0.stop() } }
        #expect(eventually { coordinator.counters.workersConnected.load(ordering: .relaxed) == 2 })

        // Pairs of runs (clean, then under attack), each attack with a fresh compromised key; the
        // machine is shared, so up to three pairs are measured and the best ratio is kept. The
        // rogues are `tessera bench rogue-peers`, the processes `tessera bench rogue` measures with.
        var ratios: [Double] = []
        var sent = [0, 0, 0]
        for round in 1...3 {
            let clean = try timedJob(coordinator, shoot: shoot, out: tmp.sub("clean\(round)"))
            let rogueKeys = try CurveKeyPair.generate()
            try coordinator.store.allowKey(name: "compromised-\(round)", publicKey: rogueKeys.publicKey, role: .worker)
            let rogueFile = try FarmKeys.write(rogueKeys, name: "compromised-\(round)", directory: keyDir)
            let rogues = try RogueProcess(executable: TesseraProcess.executable, endpoint: taskEndpoint, serverKey: serverKeys.publicKey,
                                          keyFile: rogueFile, sets: 1, cpus: nil, idle: false)
            let attacked = try timedJob(coordinator, shoot: shoot, out: tmp.sub("rogue\(round)"))
            sent = zip(sent, try rogues.stop()).map { $0 + $1 }
            ratios.append(clean / attacked)
            print("rogue benchmark round \(round): clean \(String(format: "%.2f", clean)) s, under attack \(String(format: "%.2f", attacked)) s → \(String(format: "%.0f", clean / attacked * 100))%")
            if clean / attacked >= 0.9 { break }  // a clean measurement: no need for more rounds
        }
        let c = coordinator.counters
        print("rogue benchmark: throughput under attack \(ratios.map { String(format: "%.0f%%", $0 * 100) }) of clean; rogues sent \(sent[0]) garbage messages, \(sent[1]) wrong-key sockets, \(sent[2]) raw TCP connections; malformed counted \(c.malformed.load(ordering: .relaxed)), peers disconnected \(c.peersDisconnected.load(ordering: .relaxed)), ZAP refusals \(c.authRefused.load(ordering: .relaxed)), failed handshakes \(c.handshakeFailures.load(ordering: .relaxed))")
        // The throughput ratio is a measurement, reported above and in docs/reliability.md, not
        // a pass/fail timing (a shared CI machine's noise exceeds the effect): what must hold is
        // that every attacked job completed (timedJob checks it) and the rogues were cut off.
        #expect(!ratios.isEmpty && ratios.allSatisfy { $0 > 0 })
        #expect(coordinator.counters.peersDisconnected.load(ordering: .relaxed) >= 1)
        #expect(coordinator.counters.handshakeFailures.load(ordering: .relaxed) >= 1, "the keyless rogue never got past the handshake")
        #expect(try coordinator.store.events(job: nil, after: 0, limit: 10_000).contains {
            $0.kind == "peer.disconnected" && $0.message.contains("compromised-1")
        })
        #expect(try !coordinator.store.workers().contains { $0.name.isEmpty })
    }
}
