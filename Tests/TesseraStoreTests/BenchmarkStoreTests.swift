import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Batched claims across workers and benchmark jobs (no-op tasks recorded in batches): the
/// store side of `tessera bench dispatch` and of the dispatcher's one-transaction claims.
@Suite struct BenchmarkStoreTests {
    @Test("claimTasks(for:) claims for several workers in one call, in order, and skips lost or unknown workers")
    func batchedClaims() throws {
        let store = try makeStore()
        let job = try store.createBenchmarkJob(name: "b", tasks: 10)
        let a = try registerWorker(store, "a"), b = try registerWorker(store, "b"), lost = try registerWorker(store, "lost")
        _ = try store.workerLost(lost, reason: "test")
        let claimed = try store.claimTasks(for: [(a, 3), (lost, 2), (WorkerID(9_999), 2), (b, 4)])
        #expect(claimed.map(\.count) == [3, 0, 0, 4])
        // Consecutive ids, in request order, each leased to the worker that asked.
        let ids = claimed.flatMap { $0 }.map(\.taskID.rawValue)
        #expect(ids == Array(ids[0]..<(ids[0] + 7)))
        #expect(claimed[0].allSatisfy { $0.format == TesseraStore.benchmarkFormat && $0.attempt == 1 })
        // Only 3 left: the first worker gets them, the next gets none.
        let rest = try store.claimTasks(for: [(b, 8), (a, 8)])
        #expect(rest.map(\.count) == [3, 0])
        try expectCountersConsistent(store, job)
    }

    @Test("benchmark results are recorded in one batch; stale and duplicate results change nothing; the job finishes")
    func benchmarkResults() throws {
        let store = try makeStore()
        let job = try store.createBenchmarkJob(name: "b", tasks: 4)
        let worker = try registerWorker(store)
        let claimed = try store.claimTasks(worker: worker, limit: 4)
        #expect(claimed.count == 4)
        var results = claimed.map { ($0.taskID, attempt: $0.attempt, computeMicros: Int64(5)) }
        results.append(results[0])                                     // duplicate within the batch
        results.append((claimed[1].taskID, attempt: 7, computeMicros: 1))  // wrong attempt
        #expect(try store.recordBenchmarkResults(Array(results[0..<2])) == 2)
        #expect(try store.job(job)?.state == .running)
        #expect(try store.recordBenchmarkResults(results) == 2)  // the two not yet recorded
        let record = try #require(try store.job(job))
        #expect(record.state == .succeeded && record.taskCounts[.succeeded] == 4 && record.framesDone == 4)
        try expectCountersConsistent(store, job)
    }

    @Test("results of a real job's decode tasks are never recorded as benchmark results")
    func realTasksAreNotBenchmarkTasks() throws {
        let store = try makeStore()
        let job = try store.createJob(sampleJob(), frames: sampleFrames(2))
        let worker = try registerWorker(store)
        let claimed = try store.claimTasks(worker: worker, limit: 2)
        #expect(try store.recordBenchmarkResults(claimed.map { ($0.taskID, attempt: $0.attempt, computeMicros: 1) }) == 0)
        #expect(try store.job(job)?.taskCounts[.running] == 2)
        try expectCountersConsistent(store, job)
    }

    @Test("a restart database requeues its running tasks and claims again; the baseline reports positive rates")
    func restartDatabaseAndBaseline() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("restart.sqlite").path
        #expect(try StoreBenchmark.buildRestartDatabase(path: path, tasks: 250, running: 20) > 0)
        #expect(try StoreBenchmark.restartToFirstClaim(path: path) > 0)
        let store = try TesseraStore(path: path)
        // 20 requeued + 1 claimed again by the "after" worker.
        #expect(try store.jobSummaries(nil).map { $0.taskCounts[.running] ?? 0 }.reduce(0, +) == 1)
        let baseline = try StoreBenchmark.dispatchBaseline(directory: dir.path, tasks: 300, workers: 7, credit: 3, batch: 64)
        #expect(baseline.batchedUpdatesPerSecond > 0 && baseline.claimAndRecordPerSecond > 0)
    }
}
