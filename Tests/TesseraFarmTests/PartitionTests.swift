import Foundation
import Testing
import TesseraCore
import TesseraStore

/// A worker cut off from the coordinator by the network (two Linux network namespaces joined
/// through a bridge by `NamespaceNetwork`, the worker's link set down) for longer than the
/// liveness window.
@Suite(.serialized) struct PartitionTests {
    @Test("a worker cut off by a downed link past the liveness window: its tasks are requeued and done elsewhere, it rejoins, no duplicate output",
          .enabled(if: Faults.canUseNetworkNamespaces, "needs root with CAP_NET_ADMIN for ip netns (skipped: not permitted here)"))
    func partitionedWorkerRejoins() throws {
        let tmp = try TemporaryDirectory("partition")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("coordinator.db")
        let control = "ipc://\(tmp.sub("control.ipc"))"
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "8", "--size", "640x480", "--seed", "71"]).status == 0)
        let net = try NamespaceNetwork(hosts: ["farm-head", "remote"])
        defer { net.destroy() }
        var processes: [TesseraProcess.Background] = []
        defer { for p in processes.reversed() { p.stop() } }

        let keys = try FarmKeys(directory: tmp.sub("keys"), db: db)
        // 200 ms beats × 5: the coordinator declares a silent worker lost after 1 s.
        let coordinator = try net.start(on: "farm-head", [
            "coordinator", "--listen", "tcp://\(net.host("farm-head").address):*", "--control", control, "--db", db,
            "--heartbeat-ms", "200", "--liveness-beats", "5", "--log-level", "error"] + keys.coordinatorArgs)
        processes.append(coordinator)
        let banner = try #require(coordinator.waitForLine(containing: "coordinator listening"), "coordinator did not start")
        let endpoint = try #require(banner.split(separator: " ").first { $0.hasPrefix("tcp://") }.map(String.init))
        processes.append(try net.start(on: "farm-head", [
            "worker", "--connect", endpoint, "--slots", "1", "--name", "steady", "--log-level", "error"] + keys.workerArgs))
        processes.append(try net.start(on: "remote", [
            "worker", "--connect", endpoint, "--slots", "1", "--name", "remote", "--log-level", "error"] + keys.workerArgs))

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

        try net.link(of: "remote", up: false)
        let cutAt = try succeeded()
        // Declared lost by the coordinator, and the job moves on without it while it is cut off.
        let lost = try Faults.poll(upTo: 30) {
            try store.events(job: nil, after: 0, limit: 100_000).contains { $0.kind == "worker.lost" && $0.message.hasPrefix("remote") }
        }
        #expect(lost, "the cut-off worker was never declared lost")
        #expect(try Faults.poll(upTo: 60) { try succeeded() >= cutAt + 10 || store.jobSummaries(jobID).first?.state.isFinished == true })
        try net.link(of: "remote", up: true)

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
