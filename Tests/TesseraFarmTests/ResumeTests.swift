import Foundation
import Testing
import TesseraCore
import TesseraStore

/// `tessera run` killed mid-job (kill -9: no cleanup at all) and run again resumes from its
/// database: finished tasks are not recomputed and the outputs are what an uninterrupted run gives.
@Suite(.serialized) struct ResumeTests {
    /// Processes whose command line says they are workers of `parent` (`--parent-pid`).
    static func workers(ofParent parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return args.contains("worker") && zip(args, args.dropFirst()).contains { $0 == "--parent-pid" && $1 == "\(parent)" }
        }
    }

    @Test("kill -9 of tessera run, then the same command again, finishes the job without recomputing finished tasks")
    func resumeAfterKill() throws {
        let tmp = try TemporaryDirectory("resume")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        let synth = try TesseraProcess.run(["synth", shoot, "--frames", "8", "--size", "640x480", "--seed", "21"])
        #expect(synth.status == 0)
        let args = ["run", shoot, "--out", out, "--workers", "2", "--tile-size", "128", "--format", "tiff", "--db", db]

        let first = try TesseraProcess.start(args)
        // Wait (bounded) until part of the job is done, then kill the whole coordinator process.
        let deadline = Date().addingTimeInterval(120)
        var finishedAtKill: [TaskID: Int] = [:]
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: db), let store = try? TesseraStore(path: db),
               let job = try? store.jobSummaries(nil).first, job.taskCounts[.succeeded, default: 0] >= 60 {
                break
            }
            Thread.sleep(forTimeInterval: 0.02)  // polling a condition, bounded by the deadline
        }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)
        // Its worker processes notice their parent is gone and exit by themselves (bounded wait).
        let orphanDeadline = Date().addingTimeInterval(15)
        while Date() < orphanDeadline, !Self.workers(ofParent: first.process.processIdentifier).isEmpty {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(Self.workers(ofParent: first.process.processIdentifier).isEmpty, "orphaned workers are still running")

        let store = try TesseraStore(path: db)
        let job = try #require(try store.jobSummaries(nil).first)
        #expect(!job.state.isFinished, "the job must still be unfinished when killed (killed too late to test resume)")
        for task in try store.tasks(of: job.id) where task.state == .succeeded { finishedAtKill[task.id] = task.attempts }
        #expect(finishedAtKill.count >= 60)

        let second = try TesseraProcess.run(args)
        #expect(second.status == 0, "resumed run failed: \(second.stdout) \(second.stderr)")
        #expect(second.stderr.contains("resuming job"))

        let after = try TesseraStore(path: db)
        let tasks = try after.tasks(of: job.id)
        #expect(tasks.allSatisfy { $0.state == .succeeded })
        let attempts = try after.attempts(of: job.id)
        for (task, count) in finishedAtKill {
            #expect(tasks.first { $0.id == task }?.attempts == count, "finished \(task) was dispatched again")
            #expect(attempts.filter { $0.taskID == task }.count == count)
        }
        #expect(try after.integrityCheck() == "ok")

        for frame in try after.frames(of: job.id) {
            let reference = tmp.sub("ref/\(frame.stem).tif")
            let developed = try TesseraProcess.run(["develop", frame.path, "--out", reference, "--format", "tiff"])
            #expect(developed.status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(frame.stem).tif")),
                    "\(frame.stem).tif differs from an uninterrupted develop")
        }
    }
}
