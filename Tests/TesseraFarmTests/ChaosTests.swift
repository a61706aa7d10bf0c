import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Faults during real multi-process jobs: workers and the coordinator are killed with SIGKILL at
/// points chosen by job progress (seeded), then restarted. Nothing finished may be redone, every
/// frame must come out byte-identical to an uninterrupted develop, and the database must stay sound.
@Suite(.serialized) struct ChaosTests {
    /// A farm of separate processes on ipc endpoints in a scratch directory (stable across restarts).
    final class Farm {
        let tmp: TemporaryDirectory
        let db: String
        let taskEndpoint: String
        let controlEndpoint: String
        var coordinator: TesseraProcess.Background?
        var workers: [TesseraProcess.Background] = []
        let keys: FarmKeys

        init(_ tmp: TemporaryDirectory) throws {
            self.tmp = tmp
            db = tmp.sub("coordinator.db")
            taskEndpoint = "ipc://\(tmp.sub("tasks.ipc"))"
            controlEndpoint = "ipc://\(tmp.sub("control.ipc"))"
            keys = try FarmKeys(directory: tmp.sub("keys"), db: db)
        }

        func startCoordinator(extra: [String] = []) throws {
            let c = try TesseraProcess.start([
                "coordinator", "--listen", taskEndpoint, "--control", controlEndpoint, "--db", db,
                "--heartbeat-ms", "200", "--liveness-beats", "5", "--log-level", "error",
            ] + keys.coordinatorArgs + extra)
            _ = try #require(c.waitForLine(containing: "coordinator listening"), "coordinator did not start")
            coordinator = c
        }

        func startWorker(_ name: String, extra: [String] = []) throws -> TesseraProcess.Background {
            let w = try TesseraProcess.start(["worker", "--connect", taskEndpoint, "--slots", "1", "--name", name, "--log-level", "error"]
                                               + keys.workerArgs + extra)
            workers.append(w)
            return w
        }

        /// The job's progress as the database records it (nil until the job exists).
        func progress() -> JobSummary? {
            guard FileManager.default.fileExists(atPath: db), let store = try? TesseraStore(path: db) else { return nil }
            return try? store.jobSummaries(nil).first
        }

        /// Polls the database until `condition` holds (bounded).
        func wait(upTo seconds: TimeInterval = 120, until condition: (JobSummary) -> Bool) -> JobSummary? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let p = progress(), condition(p) { return p }
                Thread.sleep(forTimeInterval: 0.02)  // polling a condition, bounded by the deadline
            }
            return progress()
        }

        /// Submits a shoot (128-px tiles, TIFF) to this farm's coordinator; returns the job id.
        func submit(_ shoot: String, out: String) throws -> JobID {
            let submit = try TesseraProcess.run(["submit", shoot, "--out", out, "--tile-size", "128", "--format", "tiff",
                                                 "--coordinator", controlEndpoint] + keys.operatorArgs)
            #expect(submit.status == 0, "\(submit.stderr)")
            return JobID(try #require(Int64(submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))
        }

        /// A farm at work: a 6-frame 640×480 shoot synthesised with `seed` in `tmp`, a
        /// coordinator, workers w1 and w2, and the shoot submitted (``submit(_:out:)``). The
        /// caller stops it (``stopAll()``); if starting fails, it is stopped here.
        static func running(_ tmp: TemporaryDirectory, seed: Int) throws -> (farm: Farm, out: String, job: JobID) {
            let shoot = tmp.sub("shoot"), out = tmp.sub("out")
            #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "\(seed)"]).status == 0)
            let farm = try Farm(tmp)
            do {
                try farm.startCoordinator()
                _ = try farm.startWorker("w1")
                _ = try farm.startWorker("w2")
                return (farm, out, try farm.submit(shoot, out: out))
            } catch {
                farm.stopAll()
                throw error
            }
        }

        func stopAll() {
            for w in workers { w.stop() }
            coordinator?.stop()
        }
    }

    private func referenceCheck(_ farm: Farm, job: JobID, out: String) throws {
        let store = try TesseraStore(path: farm.db)
        #expect(try store.integrityCheck() == "ok")
        for frame in try store.frames(of: job) {
            #expect(frame.state == .done, "\(frame.stem) is \(frame.state)")
            let reference = farm.tmp.sub("ref/\(frame.stem).tif")
            let developed = try TesseraProcess.run(["develop", frame.path, "--out", reference, "--format", "tiff"])
            #expect(developed.status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(frame.stem).tif")),
                    "\(frame.stem).tif differs from an uninterrupted develop")
        }
    }

    @Test("workers killed with SIGKILL during a 200-tile job: every tile done once, outputs identical")
    func killWorkers() throws {
        let tmp = try TemporaryDirectory("chaos-workers")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "10", "--size", "640x480", "--seed", "31"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator()
        var live = try (1...3).map { try farm.startWorker("w\($0)") }
        let jobID = try farm.submit(shoot, out: out)

        var rng = SplitMix64(seed: 5)
        var kills = 0
        for threshold in stride(from: 30, through: 180, by: 30) {
            guard let p = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= threshold || $0.state.isFinished }),
                  !p.state.isFinished else { break }
            let victim = Int(rng.next() % UInt64(live.count))
            kill(live[victim].process.processIdentifier, SIGKILL)
            live[victim].process.waitUntilExit()
            kills += 1
            live[victim] = try farm.startWorker("w\(victim + 1)-r\(kills)")
        }
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        print("killed \(kills) workers; job \(final.state.rawValue)")
        #expect(kills >= 3, "the job finished before enough workers were killed")
        #expect(final.state == .succeeded)
        let store = try TesseraStore(path: farm.db)
        let tasks = try store.tasks(of: jobID)
        #expect(tasks.count == 10 + 10 * 20)
        #expect(tasks.allSatisfy { $0.state == .succeeded })
        let attempts = try store.attempts(of: jobID)
        #expect(attempts.filter { $0.outcome == .succeeded }.count == tasks.count, "each task succeeded exactly once")
        print("attempts: \(attempts.count) for \(tasks.count) tasks (\(attempts.count - tasks.count) lost to kills)")
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("the coordinator killed with SIGKILL three times mid-job: the job completes, nothing finished is redone")
    func killCoordinator() throws {
        let tmp = try TemporaryDirectory("chaos-coordinator")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "10", "--size", "640x480", "--seed", "32"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator()
        _ = try (1...2).map { try farm.startWorker("w\($0)") }
        let jobID = try farm.submit(shoot, out: out)

        var finished: [TaskID: Int] = [:]
        var restarts = 0
        for threshold in [40, 90, 140] {
            guard let p = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= threshold || $0.state.isFinished }),
                  !p.state.isFinished else { break }
            let coordinator = try #require(farm.coordinator)
            kill(coordinator.process.processIdentifier, SIGKILL)
            coordinator.process.waitUntilExit()
            let store = try TesseraStore(path: farm.db)
            for task in try store.tasks(of: jobID) where task.state == .succeeded { finished[task.id] = task.attempts }
            try farm.startCoordinator()
            restarts += 1
        }
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        print("coordinator restarted \(restarts) times; job \(final.state.rawValue)")
        #expect(restarts == 3, "the job finished before three coordinator kills")
        #expect(final.state == .succeeded)
        let store = try TesseraStore(path: farm.db)
        let tasks = try store.tasks(of: jobID)
        let attempts = try store.attempts(of: jobID)
        for (task, count) in finished {
            #expect(tasks.first { $0.id == task }?.attempts == count, "finished \(task) was dispatched again")
            #expect(attempts.filter { $0.taskID == task && $0.outcome == .succeeded }.count == 1)
        }
        print("tasks finished before the last kill: \(finished.count); redone: 0; attempts \(attempts.count) for \(tasks.count) tasks")
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("a worker frozen (SIGSTOP) past the liveness window loses its tasks, rejoins after SIGCONT, no duplicate output")
    func frozenWorkerRejoins() throws {
        let tmp = try TemporaryDirectory("chaos-frozen")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "8", "--size", "640x480", "--seed", "33"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator()
        let frozen = try farm.startWorker("frozen")
        _ = try farm.startWorker("steady")
        let jobID = try farm.submit(shoot, out: out)
        _ = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= 30 })

        kill(frozen.process.processIdentifier, SIGSTOP)
        // The coordinator (200 ms beats, 5 missed) must declare it lost and requeue its tasks.
        let store = try TesseraStore(path: farm.db)
        let deadline = Date().addingTimeInterval(30)
        var lost = false
        while Date() < deadline, !lost {
            lost = try store.events(job: nil, after: 0, limit: 10_000).contains { $0.kind == "worker.lost" && $0.message.hasPrefix("frozen") }
            if !lost { Thread.sleep(forTimeInterval: 0.02) }  // polling a condition, bounded
        }
        kill(frozen.process.processIdentifier, SIGCONT)
        #expect(lost, "the frozen worker was never declared lost")

        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded)
        if final.state != .succeeded {
            let stuck = try store.tasks(of: jobID).filter { $0.state != .succeeded }
            let stuckAttempts = try store.attempts(of: jobID).filter { a in stuck.contains { $0.id == a.taskID } }
            Issue.record("stuck: \(stuck) attempts: \(stuckAttempts) workers: \(try store.workers().map { "\($0.id) \($0.name) \($0.active)" })")
        }
        let rejoinDeadline = Date().addingTimeInterval(30)
        var joins = 0
        while Date() < rejoinDeadline {
            joins = try store.events(job: nil, after: 0, limit: 10_000).filter { $0.kind == "worker.joined" && $0.message.hasPrefix("frozen") }.count
            if joins >= 2 { break }
            Thread.sleep(forTimeInterval: 0.02)  // polling a condition, bounded
        }
        #expect(joins >= 2, "the frozen worker did not rejoin after SIGCONT")
        let attempts = try store.attempts(of: jobID)
        #expect(attempts.contains { $0.outcome == .lost }, "its in-flight tasks were requeued")
        let tasks = try store.tasks(of: jobID)
        #expect(attempts.filter { $0.outcome == .succeeded }.count == tasks.count, "no task succeeded twice")
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("a worker that fails every task is put on the job's bad-worker list; the job finishes on the others")
    func badWorkerIsListed() throws {
        let tmp = try TemporaryDirectory("chaos-bad")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "34"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator()
        _ = try farm.startWorker("bad", extra: ["--fail-every-task"])
        _ = try farm.startWorker("good-1")
        _ = try farm.startWorker("good-2")
        let jobID = try farm.submit(shoot, out: out)
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded, "\(final.failures)")

        let store = try TesseraStore(path: farm.db)
        #expect(try store.badWorkers(of: jobID) == ["bad"])
        #expect(try store.events(job: nil, after: 0, limit: 10_000).contains { $0.kind == "worker.banned" && $0.message.hasPrefix("bad") })
        let badIDs = Set(try store.workers().filter { $0.name == "bad" }.map(\.id))
        let badAttempts = try store.attempts(of: jobID).filter { badIDs.contains($0.workerID) }
        print("bad worker attempts: \(badAttempts.count), all failed: \(badAttempts.allSatisfy { $0.outcome == .failed })")
        #expect(badAttempts.allSatisfy { $0.outcome == .failed })
        #expect(badAttempts.count <= 3 + 2, "after 3 failures it gets nothing new (2 may already be in flight)")
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("a task that hangs on a live worker is requeued after its deadline and done elsewhere")
    func hungTaskIsRequeued() throws {
        let tmp = try TemporaryDirectory("chaos-hung")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "4", "--size", "640x480", "--seed", "35"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        // 2 s minimum: far above a healthy task on a loaded machine, so only the hung one expires.
        try farm.startCoordinator(extra: ["--task-timeout-min-ms", "2000"])
        // Its first task hangs forever (its other slot keeps working and answering heartbeats).
        _ = try farm.startWorker("hanger", extra: ["--slots", "2", "--hang-tasks", "1"])
        _ = try farm.startWorker("steady")
        let jobID = try farm.submit(shoot, out: out)
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded, "\(final.failures)")
        let store = try TesseraStore(path: farm.db)
        let attempts = try store.attempts(of: jobID)
        let timedOut = attempts.filter { $0.errorCode == "timeout" }
        print("hung attempts requeued: \(timedOut.count); attempts \(attempts.count) for \(try store.tasks(of: jobID).count) tasks")
        #expect(timedOut.count >= 1, "the hung task was requeued")
        #expect(timedOut.first.map { t in attempts.contains { $0.taskID == t.taskID && $0.outcome == .succeeded } } == true)
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("SIGTERM drains a worker: it finishes its running task, hands back the rest, and leaves; nothing is lost")
    func sigtermDrainsAWorker() throws {
        let tmp = try TemporaryDirectory("chaos-drain")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "36"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        // A generous liveness window (5 s): this test is about draining, not about a worker
        // starved of CPU by a loaded machine being declared lost.
        try farm.startCoordinator(extra: ["--liveness-beats", "25"])
        let leaving = try farm.startWorker("leaving")
        _ = try farm.startWorker("staying")
        let jobID = try farm.submit(shoot, out: out)
        _ = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= 30 })

        #expect(leaving.stop() == 0, "a drained worker exits cleanly")
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded)
        let store = try TesseraStore(path: farm.db)
        let leavingIDs = Set(try store.workers().filter { $0.name == "leaving" }.map(\.id))
        let attempts = try store.attempts(of: jobID).filter { leavingIDs.contains($0.workerID) }
        let workerEvents = try store.events(job: nil, after: 0, limit: 10_000).filter { $0.kind.hasPrefix("worker") || $0.kind == "task.retry" }
        #expect(!attempts.contains { $0.outcome == .lost },
                "draining lost no work: \(attempts.filter { $0.outcome != .succeeded }.map { "\($0.outcome) \($0.error ?? "")" }); events: \(workerEvents.map(\.message))")
        #expect(try store.badWorkers(of: jobID).isEmpty, "handing tasks back is not a failure of the worker")
        #expect(try store.events(job: nil, after: 0, limit: 10_000).contains { $0.kind == "worker.left" && $0.message.contains("drain") })
        try referenceCheck(farm, job: jobID, out: out)
    }

    @Test("SIGTERM on the coordinator stops it cleanly mid-job (exit 0, sound database); restarted, it finishes the job with nothing finished redone")
    func coordinatorSigtermIsClean() throws {
        let tmp = try TemporaryDirectory("chaos-coordinator-term")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "37"]).status == 0)
        let farm = try Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator()
        _ = try farm.startWorker("w1")
        _ = try farm.startWorker("w2")
        let jobID = try farm.submit(shoot, out: out)
        _ = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= 40 })

        let coordinator = try #require(farm.coordinator)
        #expect(coordinator.stop() == 0, "the coordinator exits cleanly on SIGTERM")
        farm.coordinator = nil
        let finishedAtStop: [TaskID: Int]
        do {
            let store = try TesseraStore(path: farm.db)
            #expect(try store.integrityCheck() == "ok")
            let tasks = try store.tasks(of: jobID)
            #expect(tasks.contains { $0.state != .succeeded }, "stopped too late: the job was finished")
            finishedAtStop = Dictionary(uniqueKeysWithValues: tasks.filter { $0.state == .succeeded }.map { ($0.id, $0.attempts) })
        }
        // The workers stay up and reconnect by themselves to the restarted coordinator.
        try farm.startCoordinator()
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded)
        let store = try TesseraStore(path: farm.db)
        for task in try store.tasks(of: jobID) where finishedAtStop[task.id] != nil {
            #expect(task.attempts == finishedAtStop[task.id], "task \(task.id) finished before the stop was run again")
        }
        try referenceCheck(farm, job: jobID, out: out)
    }

}
