import TesseraCore

/// Which frames' inputs each worker already holds (its input cache, as the coordinator tracks
/// it) — so a batched claim hands a worker those frames' tasks first and it is sent references
/// instead of pixels. Affinity never holds work back: every worker still gets as many tasks as
/// it would without it; only which of the queued tasks goes to whom changes, within a window
/// of ``lookahead`` tasks past what the claim needs.
public struct ClaimAffinity: Sendable {
    /// Per worker: frames it holds planes of, and how many of each frame's planes (a burst's
    /// merge tiles need every member's plane: the more held, the less is sent).
    public var planes: [WorkerID: [FrameID: Int]]
    /// Queued tasks looked at beyond those a claim takes, per job.
    public var lookahead: Int

    /// No affinity: tasks go out in id order, as ``TesseraStore/claimTasks(for:)`` always did.
    public static let none = ClaimAffinity(planes: [:], lookahead: 0)

    public init(planes: [WorkerID: [FrameID: Int]], lookahead: Int = 64) {
        self.planes = planes
        self.lookahead = max(0, lookahead)
    }

    /// Whether this affinity changes nothing.
    public var isEmpty: Bool { planes.values.allSatisfy(\.isEmpty) }

    /// Assigns candidate tasks (frames in id order; `frames.count` may exceed the total
    /// wanted by up to ``lookahead``) to `workers` in request order, each taking `counts[i]`:
    /// first tasks of the frames it holds (most planes first, then id order), then tasks of
    /// frames no other worker in ``planes`` holds, then any — always the lowest ids among equals.
    /// Returns the candidate indices each worker takes, each list in id order. Without
    /// affinity this is consecutive slices in request order.
    func assign(frames: [FrameID], workers: [WorkerID], counts: [Int]) -> [[Int]] {
        var taken = [Bool](repeating: false, count: frames.count)
        var result = [[Int]](repeating: [], count: workers.count)
        if isEmpty {
            var next = 0
            for (w, count) in counts.enumerated() {
                let take = min(count, frames.count - next)
                result[w] = Array(next..<(next + take))
                next += take
            }
            return result
        }
        for (w, worker) in workers.enumerated() {
            let mine = planes[worker] ?? [:]
            // Frames another worker holds (requesting now or not: it will soon) are left to it when possible.
            let others = Set(planes.filter { $0.key != worker }.values.flatMap(\.keys))
            func rank(_ i: Int) -> (Int, Int) {
                if let held = mine[frames[i]] { return (-held, i) }
                return (others.contains(frames[i]) ? 1 : 0, i)
            }
            let free = frames.indices.filter { !taken[$0] }
            let picks = free.sorted { rank($0) < rank($1) }.prefix(counts[w])
            for i in picks { taken[i] = true }
            result[w] = picks.sorted()
        }
        return result
    }
}
