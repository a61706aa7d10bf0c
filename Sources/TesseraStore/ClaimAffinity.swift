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
    ///
    /// Cost: O(C + Σ held + Σ_w (C_w log C_w + counts[w])) for C candidates, where C_w counts
    /// the candidates of worker w's own frames — no term grows with workers × candidates or
    /// workers × held frames, so a claim round stays cheap on a farm of hundreds of workers.
    public func assign(frames: [FrameID], workers: [WorkerID], counts: [Int]) -> [[Int]] {
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
        // Candidates by frame, and the frames some worker holds.
        var candidatesOf: [FrameID: [Int]] = [:]
        for (i, frame) in frames.enumerated() { candidatesOf[frame, default: []].append(i) }
        var held = Set<FrameID>()
        for frames in planes.values { held.formUnion(frames.keys) }
        // After its own frames, every worker fills from one order: tasks of frames nobody
        // holds, then the rest, each in id order. (A worker's own frames are exhausted before
        // it fills, so "held by another" is "held by anyone" for what is left.)
        let fillOrder = frames.indices.filter { !held.contains(frames[$0]) } + frames.indices.filter { held.contains(frames[$0]) }
        var fillCursor = 0
        for (w, worker) in workers.enumerated() where counts[w] > 0 {
            var picks: [Int] = []
            if let mine = planes[worker], !mine.isEmpty {
                var own: [(held: Int, index: Int)] = []
                for (frame, count) in mine {
                    for i in candidatesOf[frame] ?? [] where !taken[i] { own.append((count, i)) }
                }
                own.sort { $0.held != $1.held ? $0.held > $1.held : $0.index < $1.index }
                for pick in own.prefix(counts[w]) {
                    taken[pick.index] = true
                    picks.append(pick.index)
                }
            }
            // The shared fill order; its cursor only moves past taken candidates, never back.
            var scan = fillCursor
            while picks.count < counts[w], scan < fillOrder.count {
                let i = fillOrder[scan]
                if !taken[i] {
                    taken[i] = true
                    picks.append(i)
                }
                scan += 1
            }
            while fillCursor < fillOrder.count, taken[fillOrder[fillCursor]] { fillCursor += 1 }
            result[w] = picks.sorted()
        }
        return result
    }
}
