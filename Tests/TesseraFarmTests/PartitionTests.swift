import Foundation
import Testing
import TesseraCore
import TesseraStore

/// A worker cut off from the coordinator by the network (Linux network namespaces joined by a
/// veth pair, the worker's end set down) for longer than the liveness window.
@Suite(.serialized) struct PartitionTests {
    /// Two network namespaces joined by a veth pair with 10.a.b.1 (coordinator side) and
    /// 10.a.b.2 (worker side); unique names; removed by `destroy()` (also after a failure).
    final class Network {
        let coordinatorNS: String, workerNS: String
        let coordinatorLink: String, workerLink: String
        let coordinatorAddress: String, workerAddress: String
        private var created: [String] = []

        init() throws {
            let tag = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)).lowercased()
            coordinatorNS = "tsr-\(tag)-c"
            workerNS = "tsr-\(tag)-w"
            coordinatorLink = "tc\(tag)"
            workerLink = "tw\(tag)"
            var rng = SystemRandomNumberGenerator()
            let a = Int.random(in: 100...250, using: &rng), b = Int.random(in: 0...255, using: &rng)
            coordinatorAddress = "10.\(a).\(b).1"
            workerAddress = "10.\(a).\(b).2"
            try ip(["netns", "add", coordinatorNS])
            created.append(coordinatorNS)
            try ip(["netns", "add", workerNS])
            created.append(workerNS)
            try ip(["link", "add", coordinatorLink, "type", "veth", "peer", "name", workerLink])
            try ip(["link", "set", coordinatorLink, "netns", coordinatorNS])
            try ip(["link", "set", workerLink, "netns", workerNS])
            try ip(["-n", coordinatorNS, "addr", "add", "\(coordinatorAddress)/24", "dev", coordinatorLink])
            try ip(["-n", workerNS, "addr", "add", "\(workerAddress)/24", "dev", workerLink])
            for (ns, link) in [(coordinatorNS, coordinatorLink), (workerNS, workerLink)] {
                try ip(["-n", ns, "link", "set", "lo", "up"])
                try ip(["-n", ns, "link", "set", link, "up"])
            }
        }

        /// Sets the worker's end of the link down (partition) or up (heal).
        func workerLink(up: Bool) throws { try ip(["-n", workerNS, "link", "set", workerLink, up ? "up" : "down"]) }

        /// Deletes the namespaces (and with them the veth pair).
        func destroy() {
            for ns in created.reversed() { Faults.tool("/usr/sbin/ip", ["netns", "del", ns]) }
            created.removeAll()
        }

        deinit { destroy() }

        private func ip(_ args: [String]) throws {
            let result = Faults.tool("/usr/sbin/ip", args)
            guard result.status == 0 else { throw NetworkSetupError(command: "ip " + args.joined(separator: " "), output: result.output) }
        }

        /// Arguments that run `tessera args…` inside namespace `ns` (through `ip netns exec`).
        func tessera(in ns: String, _ args: [String]) -> [String] { ["netns", "exec", ns, TesseraProcess.executable] + args }
    }

    struct NetworkSetupError: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed: \(output)" }
    }

    /// Starts `ip netns exec NS tessera …` in the background.
    private func start(_ args: [String]) throws -> TesseraProcess.Background {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return TesseraProcess.Background(process: process, stdout: out.fileHandleForReading, stderr: TesseraProcess.Drain(err.fileHandleForReading))
    }

    @Test("a worker cut off by a downed link past the liveness window: its tasks are requeued and done elsewhere, it rejoins, no duplicate output",
          .enabled(if: Faults.canUseNetworkNamespaces, "needs root with CAP_NET_ADMIN for ip netns (skipped: not permitted here)"))
    func partitionedWorkerRejoins() throws {
        let tmp = try TemporaryDirectory("partition")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("coordinator.db")
        let control = "ipc://\(tmp.sub("control.ipc"))"
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "8", "--size", "640x480", "--seed", "71"]).status == 0)
        let net = try Network()
        defer { net.destroy() }
        var processes: [TesseraProcess.Background] = []
        defer { for p in processes.reversed() { p.stop() } }

        let keys = try FarmKeys(directory: tmp.sub("keys"), db: db)
        // 200 ms beats × 5: the coordinator declares a silent worker lost after 1 s.
        let coordinator = try start(net.tessera(in: net.coordinatorNS, [
            "coordinator", "--listen", "tcp://\(net.coordinatorAddress):*", "--control", control, "--db", db,
            "--heartbeat-ms", "200", "--liveness-beats", "5", "--log-level", "error"] + keys.coordinatorArgs))
        processes.append(coordinator)
        let banner = try #require(coordinator.waitForLine(containing: "coordinator listening"), "coordinator did not start")
        let endpoint = try #require(banner.split(separator: " ").first { $0.hasPrefix("tcp://") }.map(String.init))
        processes.append(try start(net.tessera(in: net.coordinatorNS, [
            "worker", "--connect", endpoint, "--slots", "1", "--name", "steady", "--log-level", "error"] + keys.workerArgs)))
        processes.append(try start(net.tessera(in: net.workerNS, [
            "worker", "--connect", endpoint, "--slots", "1", "--name", "remote", "--log-level", "error"] + keys.workerArgs)))

        let submit = try TesseraProcess.run(["submit", shoot, "--out", out, "--tile-size", "128", "--format", "tiff", "--coordinator", control] + keys.operatorArgs)
        #expect(submit.status == 0, "\(submit.stderr)")
        let jobID = JobID(try #require(Int64(submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))
        let store = try TesseraStore(path: db)
        func succeeded() throws -> Int { try store.jobSummaries(jobID).first?.taskCounts[.succeeded, default: 0] ?? 0 }
        func remoteIDs() throws -> Set<WorkerID> { Set(try store.workers().filter { $0.name == "remote" }.map(\.id)) }
        // The remote worker is working (it has finished tasks over the veth link).
        #expect(try Faults.poll(upTo: 120) {
            let ids = try remoteIDs()
            return try succeeded() >= 30 && store.attempts(of: jobID).contains { ids.contains($0.workerID) && $0.outcome == .succeeded }
        }, "the remote worker never finished a task")

        try net.workerLink(up: false)
        let cutAt = try succeeded()
        // Declared lost by the coordinator, and the job moves on without it while it is cut off.
        let lost = try Faults.poll(upTo: 30) {
            try store.events(job: nil, after: 0, limit: 100_000).contains { $0.kind == "worker.lost" && $0.message.hasPrefix("remote") }
        }
        #expect(lost, "the cut-off worker was never declared lost")
        #expect(try Faults.poll(upTo: 60) { try succeeded() >= cutAt + 10 || store.jobSummaries(jobID).first?.state.isFinished == true })
        try net.workerLink(up: true)

        let finished = try Faults.poll(upTo: 180) { try store.jobSummaries(jobID).first?.state.isFinished == true }
        #expect(finished)
        #expect(try store.jobSummaries(jobID).first?.state == .succeeded)
        // It rejoins once the link is back (a second HELLO, a second worker.joined).
        let rejoined = try Faults.poll(upTo: 30) {
            try store.events(job: nil, after: 0, limit: 100_000).filter { $0.kind == "worker.joined" && $0.message.hasPrefix("remote") }.count >= 2
        }
        #expect(rejoined, "the worker did not rejoin after the link came back")
        let ids = try remoteIDs()
        let attempts = try store.attempts(of: jobID)
        let requeued = attempts.filter { ids.contains($0.workerID) && $0.outcome == .lost }
        print("partition: \(requeued.count) task(s) of the cut-off worker requeued; \(attempts.count) attempts for \(try store.tasks(of: jobID).count) tasks; rejoined: \(rejoined)")
        #expect(!requeued.isEmpty, "its in-flight tasks were requeued")
        #expect(requeued.allSatisfy { lost in attempts.contains { $0.taskID == lost.taskID && $0.outcome == .succeeded && $0.attempt > lost.attempt } },
                "each requeued task was done again by a later attempt")
        #expect(attempts.filter { $0.outcome == .succeeded }.count == (try store.tasks(of: jobID)).count, "no task succeeded twice")
        try Faults.expectOutputsMatchDevelop(db: db, job: jobID, out: out, refDir: tmp.sub("ref"))
    }
}
