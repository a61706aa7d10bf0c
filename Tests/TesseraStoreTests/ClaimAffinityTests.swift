import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Batched claims with input-cache affinity: workers get the tasks of frames whose planes they
/// hold, never fewer tasks than without affinity, and no affinity keeps the id order.
@Suite struct ClaimAffinityTests {
    /// A job of `frames` frames, each decoded into `tiles` tile tasks (tasks of frame k are
    /// consecutive), with every decode done. Returns the frames in order.
    private func decodedJob(_ store: TesseraStore, frames: Int, tiles: Int) throws -> [FrameID] {
        let job = try store.createJob(sampleJob(tileSize: 10), frames: sampleFrames(frames))
        let decoder = try registerWorker(store, "decoder")
        let decodes = try store.claimTasks(worker: decoder, limit: frames)
        #expect(decodes.count == frames)
        let cores = (0..<tiles).map { PixelRect(x: $0 * 10, y: 0, width: 10, height: 10) }
        for task in decodes {
            #expect(try store.recordDecoded(task: task.taskID, attempt: 1, width: tiles * 10, height: 10, metadata: "{}",
                                            spoolPath: "/spool/\(task.frameID.rawValue)", tiles: cores, computeMicros: 1) != .stale)
        }
        try expectCountersConsistent(store, job)
        return decodes.map(\.frameID)
    }

    @Test("each worker is handed the tiles of the frames it holds, the most planes first; counts are unchanged")
    func workersGetTheirFrames() throws {
        let store = try makeStore()
        let frames = try decodedJob(store, frames: 4, tiles: 3)
        let a = try registerWorker(store, "a"), b = try registerWorker(store, "b")
        // a holds frame 3, b holds frames 2 (one plane) and 4 (two planes): b takes 4 first.
        let affinity = ClaimAffinity(planes: [a: [frames[2]: 1], b: [frames[1]: 1, frames[3]: 2]])
        let claimed = try store.claimTasks(for: [(a, 3), (b, 4)], affinity: affinity)
        #expect(claimed[0].count == 3 && claimed[1].count == 4)
        #expect(claimed[0].allSatisfy { $0.frameID == frames[2] }, "a: \(claimed[0].map(\.frameID))")
        #expect(claimed[1].filter { $0.frameID == frames[3] }.count == 3, "b: \(claimed[1].map(\.frameID))")
        #expect(claimed[1].filter { $0.frameID == frames[1] }.count == 1)
        #expect(claimed[1].map(\.taskID) == claimed[1].map(\.taskID).sorted(), "each worker's tasks in id order")
        // A worker holding nothing takes the frames nobody holds (frame 1) before those others hold.
        let c = try registerWorker(store, "c")
        let rest = try store.claimTasks(for: [(c, 4)], affinity: affinity)
        #expect(rest[0].count == 4)
        #expect(rest[0].prefix(3).allSatisfy { $0.frameID == frames[0] }, "c: \(rest[0].map(\.frameID))")
        // Never held back: everything left is claimable by anyone.
        #expect(try store.claimTasks(worker: c, limit: 100).count == 1)
        #expect(try store.claimTasks(worker: c, limit: 100).isEmpty)
    }

    @Test("without affinity a batched claim hands out consecutive ids in request order, as before")
    func noAffinityKeepsOrder() throws {
        let store = try makeStore()
        _ = try decodedJob(store, frames: 3, tiles: 2)
        let a = try registerWorker(store, "a"), b = try registerWorker(store, "b")
        let claimed = try store.claimTasks(for: [(a, 2), (b, 3)], affinity: .none)
        let ids = (claimed[0] + claimed[1]).map { $0.taskID.rawValue }
        #expect(ids == Array(ids[0]..<(ids[0] + 5)))
        #expect(ClaimAffinity(planes: [a: [:]]).isEmpty)
    }

    /// The rule of ``ClaimAffinity/assign(frames:workers:counts:)`` written the obvious way
    /// (each worker ranks every free candidate: its own frames by planes held, then frames
    /// nobody else holds, then the rest, ids breaking ties) — quadratic, as the first version was.
    private func referenceAssign(_ affinity: ClaimAffinity, frames: [FrameID], workers: [WorkerID], counts: [Int]) -> [[Int]] {
        var taken = [Bool](repeating: false, count: frames.count)
        var result = [[Int]](repeating: [], count: workers.count)
        for (w, worker) in workers.enumerated() {
            let mine = affinity.planes[worker] ?? [:]
            let others = Set(affinity.planes.filter { $0.key != worker }.values.flatMap(\.keys))
            func rank(_ i: Int) -> (Int, Int) {
                if let held = mine[frames[i]] { return (-held, i) }
                return (others.contains(frames[i]) ? 1 : 0, i)
            }
            let picks = frames.indices.filter { !taken[$0] }.sorted { rank($0) < rank($1) }.prefix(counts[w])
            for i in picks { taken[i] = true }
            result[w] = picks.sorted()
        }
        return result
    }

    @Test("the assignment equals the obvious quadratic rule on random farms (seeded)")
    func assignmentMatchesReference() {
        var rng = SplitMix64(seed: 2026_11_25)
        for round in 0..<500 {
            let frameCount = 1 + Int(rng.next() % 12)
            var frames: [FrameID] = []
            for f in 0..<frameCount { frames += Array(repeating: FrameID(Int64(f + 1)), count: 1 + Int(rng.next() % 5)) }
            let workers = (0..<(1 + Int(rng.next() % 8))).map { WorkerID(Int64($0 + 1)) }
            var planes: [WorkerID: [FrameID: Int]] = [:]
            for worker in workers where rng.next() % 3 != 0 {
                var held: [FrameID: Int] = [:]
                for _ in 0..<Int(rng.next() % 4) { held[FrameID(Int64(1 + Int(rng.next() % UInt64(frameCount + 2))))] = 1 + Int(rng.next() % 3) }
                planes[worker] = held
            }
            let counts = workers.map { _ in Int(rng.next() % 6) }
            let affinity = ClaimAffinity(planes: planes)
            let got = affinity.assign(frames: frames, workers: workers, counts: counts)
            let want = affinity.isEmpty
                ? ClaimAffinity.none.assign(frames: frames, workers: workers, counts: counts)
                : referenceAssign(affinity, frames: frames, workers: workers, counts: counts)
            #expect(got == want, "round \(round): frames \(frames.map(\.rawValue)) planes \(planes) counts \(counts)")
            if got != want { return }
            // Counts never change: each worker gets min(its count, what is left).
            var left = frames.count
            for (w, count) in counts.enumerated() {
                #expect(got[w].count == min(count, left))
                left -= got[w].count
            }
        }
    }
}
