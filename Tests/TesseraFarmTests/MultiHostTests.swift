import Foundation
import Testing
import TesseraCore
import TesseraStore

/// A farm spread over "machines": the coordinator, three workers, an operator's laptop and an
/// intruder, each in its own Linux network namespace, joined through a bridge by
/// `NamespaceNetwork`; real tcp, CURVE on, keys set up the way an operator does it
/// (docs/deploy.md, "Multi-host test").
@Suite(.serialized) struct MultiHostTests {
    static let workers = ["worker-1", "worker-2", "worker-3"]

    @Test("coordinator, 3 workers, an operator and an intruder on 6 namespaced hosts over tcp with CURVE: the job completes, every worker works, the intruder gets nothing",
          .enabled(if: Faults.canUseNetworkNamespaces, "needs root with CAP_NET_ADMIN for ip netns (skipped: not permitted here)"))
    func curveFarmAcrossHosts() throws {
        let started = Date()
        let tmp = try TemporaryDirectory("multihost")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "480x320", "--seed", "83"]).status == 0)
        let net = try NamespaceNetwork(hosts: ["farm-head"] + Self.workers + ["laptop", "intruder"])
        defer { net.destroy() }
        var processes: [TesseraProcess.Background] = []
        defer { for p in processes.reversed() { p.stop() } }

        // Each host's own directory stands for its disk (/etc/tessera, ~/.config/tessera); only
        // .pub files are copied between them, as an operator would with scp.
        func dir(_ host: String) -> String { tmp.sub("hosts/\(host)") }
        func copy(_ from: String, _ to: String) throws {
            try? FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        func succeeded(_ output: TesseraProcess.Output, _ what: String) -> Bool {
            #expect(output.status == 0, "\(what): \(output.stderr)")
            return output.status == 0
        }
        let head = dir("farm-head"), db = head + "/tessera.db"
        // 1. The coordinator's key pair, made on farm-head.
        guard succeeded(try net.run(on: "farm-head", ["keygen", "coordinator", "--dir", head]), "keygen coordinator") else { return }
        // 2. Every other host makes its own key pair and receives coordinator.pub.
        let keyNames = Dictionary(uniqueKeysWithValues: (Self.workers + ["intruder"]).map { ($0, $0) } + [("laptop", "alice")])
        for (host, name) in keyNames.sorted(by: { $0.key < $1.key }) {
            guard succeeded(try net.run(on: host, ["keygen", name, "--dir", dir(host)]), "keygen \(name) on \(host)") else { return }
            try copy(head + "/coordinator.pub", dir(host) + "/coordinator.pub")
        }
        // 3. The workers' and alice's .pub files go to farm-head and are allowed there; the
        //    intruder's never is.
        for (host, role) in Self.workers.map({ ($0, "worker") }) + [("laptop", "operator")] {
            let name = keyNames[host]!
            try copy(dir(host) + "/\(name).pub", head + "/\(name).pub")
            guard succeeded(try net.run(on: "farm-head", ["keys", "allow", name, head + "/\(name).pub", "--role", role, "--db", db]),
                            "keys allow \(name)") else { return }
        }
        func clientKeys(_ host: String) -> [String] {
            ["--key", dir(host) + "/\(keyNames[host]!).key", "--coordinator-key", dir(host) + "/coordinator.pub"]
        }

        // Both sockets bound to farm-head's address only: every peer crosses the bridge.
        let address = net.host("farm-head").address
        let coordinator = try net.start(on: "farm-head", [
            "coordinator", "--listen", "tcp://\(address):*", "--control", "tcp://\(address):*", "--db", db,
            "--key", head + "/coordinator.key", "--log-level", "warning"])
        processes.append(coordinator)
        let banner = try #require(coordinator.waitForLine(containing: "coordinator listening"), "coordinator did not start")
        let endpoints = banner.split(separator: " ").filter { $0.hasPrefix("tcp://") }.map(String.init)
        try #require(endpoints.count == 2, "no task and control endpoints in '\(banner)'")
        let (taskEndpoint, controlEndpoint) = (endpoints[0], endpoints[1])

        for host in Self.workers {
            processes.append(try net.start(on: host, [
                "worker", "--connect", taskEndpoint, "--slots", "1", "--name", host, "--log-level", "error"] + clientKeys(host)))
        }
        let store = try TesseraStore(path: db)
        // All three have joined before the job exists, so each has a fair chance at its tasks.
        let joined = try Faults.poll(upTo: 60) {
            Set(try store.workers().filter(\.active).map(\.name)).isSuperset(of: Self.workers)
        }
        let present = try store.workers().map(\.name)
        try #require(joined, "workers joined: \(present)")

        // 4. Alice submits from her laptop and waits there.
        let submitted = Date()
        let submit = try net.run(on: "laptop", ["submit", shoot, "--out", out, "--tile-size", "128", "--format", "tiff",
                                                "--coordinator", controlEndpoint] + clientKeys("laptop"))
        try #require(submit.status == 0, "submit from the laptop: \(submit.stderr)")
        let job = try #require(Int64(submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "job id in '\(submit.stdout)'")

        // 5. A worker with a key the coordinator never allowed, while tasks are queued: refused
        //    at the CURVE handshake, it stops with the reason.
        let intruder = try net.start(on: "intruder", [
            "worker", "--connect", taskEndpoint, "--slots", "1", "--name", "intruder", "--log-level", "error"] + clientKeys("intruder"))
        processes.append(intruder)
        #expect(Faults.poll(upTo: 60) { !intruder.process.isRunning }, "the intruder worker kept running")
        if !intruder.process.isRunning {
            #expect(intruder.process.terminationStatus != 0)
            let said = intruder.stderr.wait()
            #expect(said.contains("not allow-listed"), "the intruder's stderr: \(said)")
        }

        let wait = try net.run(on: "laptop", ["status", String(job), "--wait", "--coordinator", controlEndpoint] + clientKeys("laptop"), timeout: 300)
        #expect(wait.status == 0, "status --wait on the laptop: \(wait.stdout)\(wait.stderr)")
        let jobSeconds = Date().timeIntervalSince(submitted)
        let jobID = JobID(job)
        #expect(try store.jobSummaries(jobID).first?.state == .succeeded)

        // Every worker did some of the job; the intruder never became a worker.
        let names = Dictionary(uniqueKeysWithValues: try store.workers().map { ($0.id, $0.name) })
        let attempts = try store.attempts(of: jobID)
        var done: [String: Int] = [:]
        for attempt in attempts where attempt.outcome == .succeeded { done[names[attempt.workerID] ?? "?", default: 0] += 1 }
        for host in Self.workers { #expect(done[host, default: 0] > 0, "\(host) did no task: \(done)") }
        #expect(Set(done.keys).isSubset(of: Self.workers), "tasks done by \(done.keys.sorted())")
        #expect(!names.values.contains("intruder"), "the intruder registered as a worker")
        #expect(attempts.filter { $0.outcome == .succeeded }.count == (try store.tasks(of: jobID)).count, "no task succeeded twice")
        #expect(try Faults.events(db, kind: "worker.joined").filter { $0.message.hasPrefix("intruder") }.isEmpty)
        try Faults.expectOutputsMatchDevelop(db: db, job: jobID, out: out, refDir: tmp.sub("ref"))

        // The coordinator logged the refusal with the intruder's address on the bridge. (Workers
        // first: they say GOODBYE to a live coordinator instead of lingering for an answer.)
        let intruderAddress = net.host("intruder").address
        let workerProcesses = processes.filter { $0 !== coordinator }
        for worker in workerProcesses where worker.process.isRunning { worker.process.terminate() }
        for worker in workerProcesses { worker.stop() }
        coordinator.stop()
        let log = coordinator.stderr.wait()
        #expect(log.split(separator: "\n").contains { $0.contains("refused a connection") && $0.contains(intruderAddress) },
                "no refusal of \(intruderAddress) in the coordinator's log:\n\(log)")
        print("multihost: \(attempts.count) attempts for \(try store.tasks(of: jobID).count) tasks, by worker \(done.sorted { $0.key < $1.key }); "
              + "job \(String(format: "%.1f", jobSeconds)) s, test \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
