import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Retry backoff and the per-job bad-worker list.
@Suite struct RetryPolicyTests {
    /// A clock the test moves by hand.
    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int64 = 1_700_000_000_000
        func now() -> Int64 { lock.lock(); defer { lock.unlock() }; return value }
        func advance(_ millis: Int64) { lock.lock(); value += millis; lock.unlock() }
    }

    @Test("a retried task waits out its backoff, which doubles per attempt")
    func backoffDelaysTheRetry() throws {
        let clock = ManualClock()
        let store = try TesseraStore.inMemory(options: StoreOptions(durability: .normal, clock: StoreClock { clock.now() }))
        let job = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let worker = try registerWorker(store)
        let policy = RetryPolicy(maxAttempts: 5, backoffMillis: 1_000, badWorkerThreshold: 100)

        var task = try #require(try store.claimTasks(worker: worker, limit: 1).first)
        #expect(try store.recordFailure(task: task.taskID, attempt: task.attempt, code: "internalError", reason: "boom",
                                        retryable: true, policy: policy).outcome == .requeued)
        #expect(try store.claimTasks(worker: worker, limit: 1).isEmpty, "still inside the 1 s backoff")
        clock.advance(999)
        #expect(try store.claimTasks(worker: worker, limit: 1).isEmpty)
        clock.advance(1)
        task = try #require(try store.claimTasks(worker: worker, limit: 1).first)
        #expect(task.attempt == 2)

        _ = try store.recordFailure(task: task.taskID, attempt: 2, code: "internalError", reason: "boom", retryable: true, policy: policy)
        clock.advance(1_999)
        #expect(try store.claimTasks(worker: worker, limit: 1).isEmpty, "second retry waits 2 s")
        clock.advance(1)
        #expect(try store.claimTasks(worker: worker, limit: 1).first?.attempt == 3)
        try expectCountersConsistent(store, job)
    }

    @Test("a worker failing a job's tasks is listed after the threshold, by name, and gets none of that job")
    func badWorkerList() throws {
        let store = try makeStore()
        let job = try store.createJob(sampleJob("a"), frames: sampleFrames(6))
        let other = try store.createJob(sampleJob("b"), frames: sampleFrames(2, prefix: "B"))
        let flaky = try registerWorker(store, "flaky")
        let policy = RetryPolicy(maxAttempts: 10, backoffMillis: 0, badWorkerThreshold: 2)

        var banned: [String?] = []
        for _ in 0..<2 {
            let task = try #require(try store.claimTasks(worker: flaky, limit: 1).first)
            #expect(task.jobID == job)
            banned.append(try store.recordFailure(task: task.taskID, attempt: task.attempt, code: "internalError", reason: "oops",
                                                  retryable: true, policy: policy).bannedWorker)
        }
        #expect(banned == [nil, "flaky"])
        #expect(try store.badWorkers(of: job) == ["flaky"])
        #expect(try store.badWorkers(of: other).isEmpty)
        // Only the other job's tasks are handed to it now — also after it registers again.
        #expect(try store.claimTasks(worker: flaky, limit: 10).allSatisfy { $0.jobID == other })
        _ = try store.workerLost(flaky, reason: "restart")
        let again = try registerWorker(store, "flaky")
        #expect(try store.claimTasks(worker: again, limit: 10).allSatisfy { $0.jobID == other })
        // A non-retryable failure (the input's fault) does not count against a worker.
        let good = try registerWorker(store, "good")
        let task = try #require(try store.claimTasks(worker: good, limit: 1).first)
        _ = try store.recordFailure(task: task.taskID, attempt: task.attempt, code: "decodeFailed", reason: "corrupt",
                                    retryable: false, policy: RetryPolicy(maxAttempts: 3, badWorkerThreshold: 1))
        #expect(try store.badWorkers(of: task.jobID) == (task.jobID == job ? ["flaky"] : []))
        try expectCountersConsistent(store, job)
    }
}
