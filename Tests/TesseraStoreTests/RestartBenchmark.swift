import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Opt-in measurement (prints, never asserts on time): how long a coordinator restart takes from
/// opening the database to its first dispatch with a large tasks table —
/// `TESSERA_STORE_BENCH_RESTART_TASKS=1000000 swift test -c release --filter restartToFirstDispatch`.
@Suite struct RestartBenchmark {
    @Test func restartToFirstDispatch() throws {
        guard let text = ProcessInfo.processInfo.environment["TESSERA_STORE_BENCH_RESTART_TASKS"], let total = Int(text), total > 0 else { return }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("restart.db").path
        do {
            let store = try TesseraStore(path: path)
            // Many jobs' worth of history: finished jobs plus one running job with work in flight.
            let perJob = 100_000
            var made = 0
            while made < total {
                let count = min(perJob, total - made)
                let job = try store.createJob(sampleJob("job\(made)"), frames: sampleFrames(count, prefix: "J\(made)"))
                made += count
                if made < total { try store.cancelJob(job) }
            }
            let worker = try registerWorker(store)
            _ = try store.claimTasks(worker: worker, limit: 500)
        }
        let start = ContinuousClock.now
        let store = try TesseraStore(path: path)
        let opened = ContinuousClock.now
        let requeued = try store.requeueAllRunning(reason: "restart")
        let recovered = ContinuousClock.now
        let worker = try registerWorker(store, "after")
        let first = try store.claimTasks(worker: worker, limit: 64)
        let dispatched = ContinuousClock.now
        print("restart with \(total) task rows: open+migrate \(opened - start), requeue \(requeued) running \(recovered - opened), "
              + "first claim of \(first.count) \(dispatched - recovered); total to first dispatch \(dispatched - start)")
        #expect(first.count == 64)
    }
}
