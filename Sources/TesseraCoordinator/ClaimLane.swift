import Foundation
import Synchronization
import TesseraCore
import TesseraStore
import TesseraWire

/// The dispatcher's store thread (`tessera-claims`): runs the claim transactions (with the
/// benchmark results recorded in them) so that their SQLite work and their fsync overlap with
/// the socket thread's receiving and sending instead of stalling it.
///
/// The socket thread keeps at most one batch in the lane: while one commits, the next batch's
/// CREDITs and results accumulate on the socket thread (group commit). Each batch's outcome is
/// handed back through `deliver` (the dispatcher posts it to its mailbox); the socket thread
/// sends a batch's tasks only then, so a task never leaves before its claim is durable, and a
/// result (which can only follow a sent task) is always recorded in a later transaction than
/// its claim.
final class ClaimLane: Sendable {
    /// One transaction's worth of work, and whom its claims are for.
    struct Batch: Sendable {
        /// Claims, one per session with credit, in the round-robin order of this dispatch.
        var requests: [(worker: WorkerID, limit: Int)]
        /// The session each request is for (routing id and session id), same order.
        var owners: [(routingID: [UInt8], session: UInt64)]
        /// Benchmark results to record before the claims, in the same transaction.
        var results: [(result: TaskResult, routingID: [UInt8], session: UInt64)]
        /// Which queued tasks go to whom among the requests (the workers' input caches).
        var affinity: ClaimAffinity = .none
    }

    private let store: TesseraStore
    private let deliver: @Sendable (Batch, Result<[[ClaimedTask]], StoreError>) -> Void
    /// Batches to run, oldest first; nil asks the thread to stop.
    private let queue = Mutex<[Batch?]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// A lane over `store`; `deliver` is called on the lane's thread with each batch's outcome.
    init(store: TesseraStore, deliver: @escaping @Sendable (Batch, Result<[[ClaimedTask]], StoreError>) -> Void) {
        self.store = store
        self.deliver = deliver
    }

    /// Starts the thread.
    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "tessera-claims"
        thread.start()
    }

    /// Queues `batch`; returns at once.
    func submit(_ batch: Batch) {
        queue.withLock { $0.append(batch) }
        wake.signal()
    }

    /// Runs what was queued before, then stops the thread and waits for it.
    func stop() {
        queue.withLock { $0.append(nil) }
        wake.signal()
        finished.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let next: Batch?? = queue.withLock { queued in queued.isEmpty ? .none : .some(queued.removeFirst()) }
            guard case .some(let item) = next else { continue }
            guard let batch = item else { return }
            let outcome: Result<[[ClaimedTask]], StoreError>
            do {
                outcome = .success(try store.claimTasks(for: batch.requests, recordingBenchmarkResults: batch.results.map {
                    ($0.result.taskID, attempt: Int($0.result.attempt), computeMicros: Int64($0.result.computeMicros))
                }, affinity: batch.affinity))
            } catch {
                outcome = .failure(error)
            }
            deliver(batch, outcome)
        }
    }
}
