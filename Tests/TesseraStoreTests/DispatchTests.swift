import Foundation
import Testing
import XCTest
import TesseraCore
import TesseraStore

@Suite struct DispatchTests {
    @Test func lostWorkerTasksGoBackToTheQueue() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(4))
        let w1 = try registerWorker(store, "one"), w2 = try registerWorker(store, "two")
        let first = try store.claimTasks(worker: w1, limit: 2)
        let second = try store.claimTasks(worker: w2, limit: 1)
        #expect(try store.workerLost(w1, reason: "missed 3 heartbeats") == 2)
        try expectCountersConsistent(store, jobID)
        #expect(try store.job(jobID)?.taskCounts[.queued] == 3)
        #expect(try store.workers().map(\.active) == [false, true])
        #expect(try store.workers().first?.lostReason == "missed 3 heartbeats")
        // A lost worker cannot claim; its late results are stale.
        let refused = #expect(throws: StoreError.self) { try store.claimTasks(worker: w1, limit: 1) }
        #expect(refused?.kind == .invalidState && refused?.message.contains("\(w1)") == true)
        #expect(try store.recordDecoded(task: first[0].taskID, attempt: 1, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s", tiles: fourTiles, computeMicros: 1) == .stale)
        // Another worker gets them back, in id order, as attempt 2.
        let again = try store.claimTasks(worker: w2, limit: 10)
        #expect(again.map(\.taskID) == (first.map(\.taskID) + [TaskID(first[1].taskID.rawValue + 2)]).sorted())
        #expect(again.filter { first.map(\.taskID).contains($0.taskID) }.allSatisfy { $0.attempt == 2 })
        let attempts = try store.attempts(of: jobID)
        #expect(attempts.filter { $0.outcome == .lost }.map(\.taskID) == first.map(\.taskID))
        #expect(attempts.filter { $0.outcome == .lost }.allSatisfy { $0.workerID == w1 && $0.error == "missed 3 heartbeats" })
        #expect(try store.workerLost(w1, reason: "again") == 0)
        #expect(second.count == 1)
        // Past maxAttempts a lost task fails its frame instead of looping.
        #expect(try store.requeueTasks(of: w2, reason: "crashed", maxAttempts: 2) == 4)
        let frames = try store.frames(of: jobID)
        #expect(frames.filter { $0.state == .failed }.count == 2)
        #expect(frames.first { $0.state == .failed }?.failureReason == "lost 2 times, last: crashed")
        try expectCountersConsistent(store, jobID)
        #expect(try store.job(jobID)?.taskCounts[.queued] == 2)
    }

    @Test func requeueAllRunningAtStartUp() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(5))
        let w1 = try registerWorker(store, "one"), w2 = try registerWorker(store, "two")
        _ = try store.claimTasks(worker: w1, limit: 2)
        _ = try store.claimTasks(worker: w2, limit: 2)
        try store.workerSeen(w1)
        try store.workersSeen([w1, w2])
        #expect(try store.requeueAllRunning(reason: "coordinator restarted") == 4)
        #expect(try store.job(jobID)?.taskCounts == [.queued: 5, .running: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
        #expect(try store.workers().allSatisfy { !$0.active && $0.lostReason == "coordinator restarted" })
        #expect(try store.attempts(of: jobID).allSatisfy { $0.outcome == .lost })
        #expect(try store.requeueAllRunning(reason: "again") == 0)
        try expectCountersConsistent(store, jobID)
        let w3 = try registerWorker(store, "three")
        #expect(try store.claimTasks(worker: w3, limit: 10).filter { $0.attempt == 2 }.count == 4)
    }

    @Test func claimOrderFollowsPriorityThenAgeAndSkipsPausedJobs() throws {
        let store = try makeStore()
        let low = try store.createJob(sampleJob("low", priority: 0), frames: sampleFrames(2, prefix: "L"))
        let highOld = try store.createJob(sampleJob("high-old", priority: 5), frames: sampleFrames(2, prefix: "H"))
        let highNew = try store.createJob(sampleJob("high-new", priority: 5), frames: sampleFrames(2, prefix: "N"))
        let paused = try store.createJob(sampleJob("paused", priority: 9), frames: sampleFrames(2, prefix: "P"))
        let cancelled = try store.createJob(sampleJob("cancelled", priority: 9), frames: sampleFrames(1, prefix: "C"))
        try store.setPaused(paused, true)
        try store.cancelJob(cancelled)
        let worker = try registerWorker(store)
        let claims = try store.claimTasks(worker: worker, limit: 5)
        #expect(claims.map(\.jobID) == [highOld, highOld, highNew, highNew, low])
        try store.setPaused(paused, false)
        try store.setPriority(low, 10)
        #expect(try store.claimTasks(worker: worker, limit: 5).map(\.jobID) == [low, paused, paused])
        #expect(try store.claimTasks(worker: worker, limit: 5).isEmpty)
        #expect(try store.jobSummaries(nil).map(\.id) == [low, highOld, highNew, paused, cancelled])
        for job in [low, highOld, highNew, paused, cancelled] { try expectCountersConsistent(store, job) }
        #expect(throws: StoreError.self) { try store.setPaused(JobID(99), true) }
    }

    @Test func concurrentClaimsNeverHandOneTaskToTwoWorkers() throws {
        let store = try makeStore()
        let jobs = try (0..<3).map { try store.createJob(sampleJob("c\($0)"), frames: sampleFrames(300, prefix: "c\($0)")) }
        let workers = try (0..<4).map { try registerWorker(store, "w\($0)") }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var claimed: [WorkerID: [TaskID]] = [:]
            var errors: [String] = []
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: workers.count) { i in
            var mine: [TaskID] = []
            do {
                while true {
                    let got = try store.claimTasks(worker: workers[i], limit: 7)
                    if got.isEmpty { break }
                    mine += got.map(\.taskID)
                }
            } catch {
                results.lock.lock(); results.errors.append("\(error)"); results.lock.unlock()
            }
            results.lock.lock(); results.claimed[workers[i]] = mine; results.lock.unlock()
        }
        #expect(results.errors.isEmpty, "\(results.errors)")
        let all = results.claimed.values.flatMap { $0 }
        #expect(all.count == 900)
        #expect(Set(all).count == 900, "a task was handed out twice")
        let owners = Dictionary(uniqueKeysWithValues: try jobs.flatMap { try store.tasks(of: $0) }.map { ($0.id, $0.workerID) })
        for (worker, tasks) in results.claimed {
            #expect(tasks.allSatisfy { owners[$0] == worker })
        }
        for job in jobs { try expectCountersConsistent(store, job) }
    }

    @Test func eventsAreAppendOnlyAndFilterable() throws {
        let store = try makeStore()
        let job = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let worker = try registerWorker(store)
        let first = try store.appendEvent(NewEvent(level: .info, kind: "job.created", message: "created", job: job))
        try store.appendEvent(NewEvent(level: .warning, kind: "worker.lost", message: "lost", worker: worker, at: 42))
        try store.appendEvent(NewEvent(level: .error, kind: "frame.failed", message: "bad file", job: job,
                                       frame: FrameID(1), task: TaskID(1)))
        let all = try store.events(job: nil, after: 0, limit: 10)
        #expect(all.map(\.kind) == ["job.created", "worker.lost", "frame.failed"])
        #expect(all[1].at == 42 && all[1].worker == worker && all[1].job == nil && all[1].level == .warning)
        #expect(all[2].frame == FrameID(1) && all[2].task == TaskID(1))
        #expect(try store.events(job: job, after: 0, limit: 10).map(\.kind) == ["job.created", "frame.failed"])
        #expect(try store.events(job: job, after: first, limit: 10).map(\.kind) == ["frame.failed"])
        #expect(try store.events(job: nil, after: 0, limit: 1).map(\.id) == [first])
        #expect(try store.events(job: JobID(77), after: 0, limit: 10).isEmpty)
    }

    @Test("an event naming only a frame or a task is filed under its job")
    func eventsFindTheirJob() throws {
        let store = try makeStore()
        _ = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let job = try store.createJob(sampleJob(), frames: sampleFrames(2))
        let frame = try #require(try store.frames(of: job).last?.id)
        let task = try #require(try store.tasks(of: job).last?.id)
        try store.appendEvent(NewEvent(level: .error, kind: "frame.failed", message: "bad file", frame: frame))
        try store.appendEvent(NewEvent(level: .warning, kind: "task.retry", message: "again", task: task))
        try store.appendEvent(NewEvent(level: .info, kind: "worker.joined", message: "hello"))
        let filed = try store.events(job: job, after: 0, limit: 10)
        #expect(filed.map(\.kind) == ["frame.failed", "task.retry"])
        #expect(filed.allSatisfy { $0.job == job })
        #expect(try store.events(job: nil, after: 0, limit: 10).last?.job == nil, "no frame, no task: no job")
    }
}

/// Kept so `swift test` prints a non-empty XCTest summary (see PLATFORM.md).
final class StoreXCTests: XCTestCase {
    func testOpensAndChecksIntegrity() throws {
        let store = try TesseraStore.inMemory()
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}
