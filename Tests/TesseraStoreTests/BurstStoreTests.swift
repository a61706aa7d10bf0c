import Foundation
import Testing
import TesseraCore
import TesseraStore

/// A burst frame's life in the store: member decodes (a failed one only skips the member), the
/// plan with its merge tiles, the merged hand-over to develop tiles, and the restart queries.
@Suite struct BurstStoreTests {
    func burstJob(_ store: TesseraStore, members: Int) throws -> (JobID, FrameID) {
        let paths = (0..<members).map { "/captures/IMG_\($0).dng" }
        let frame = NewFrame(path: paths[0], stem: "IMG_0-merged", byteCount: 100, members: Array(paths.dropFirst()))
        let job = try store.createJob(sampleJob(tileSize: 100), frames: [frame])
        return (job, try #require(try store.frames(of: job).first).id)
    }

    @Test func memberDecodesThenPlanThenMergeThenDevelop() throws {
        let store = try makeStore()
        let (job, frame) = try burstJob(store, members: 3)
        let worker = try registerWorker(store)
        let decodes = try store.claimTasks(worker: worker, limit: 10)
        #expect(decodes.map(\.member) == [0, 1, 2])
        #expect(decodes.allSatisfy { $0.members == ["/captures/IMG_1.dng", "/captures/IMG_2.dng"] })
        try expectCountersConsistent(store, job)

        // Member 1 is corrupt: only the member is left out, the frame stays pending.
        let failure = try store.recordFailure(task: decodes[1].taskID, attempt: 1, code: "decodeFailed", reason: "truncated",
                                              retryable: false, maxAttempts: 3)
        #expect(failure == .memberSkipped(frame))
        #expect(try store.frame(frame)?.state == .pending)
        #expect(try store.recordMemberDecoded(task: decodes[0].taskID, attempt: 1, result: "{\"m\":0}", computeMicros: 5)
                == .accepted(frame: frame, membersFinished: false))
        #expect(try store.burstsToPlan().isEmpty, "a member is still decoding")
        // The decode-task API does not accept a member's result, and a replay is stale.
        #expect(try store.recordDecoded(task: decodes[2].taskID, attempt: 1, width: 2, height: 2, metadata: "{}", spoolPath: "/s",
                                        tiles: [PixelRect(x: 0, y: 0, width: 2, height: 2)], computeMicros: 1) == .stale)
        #expect(try store.recordMemberDecoded(task: decodes[2].taskID, attempt: 1, result: "{\"m\":2}", computeMicros: 5)
                == .accepted(frame: frame, membersFinished: true))
        #expect(try store.recordMemberDecoded(task: decodes[2].taskID, attempt: 1, result: "{}", computeMicros: 5) == .stale)
        #expect(try store.burstsToPlan() == [frame])
        let members = try store.burstMembers(of: frame)
        #expect(members.map(\.state) == [.succeeded, .failed, .succeeded])
        #expect(members.map(\.path) == ["/captures/IMG_0.dng", "/captures/IMG_1.dng", "/captures/IMG_2.dng"])
        #expect(members[1].failure == "truncated" && members[2].result == "{\"m\":2}")
        try expectCountersConsistent(store, job)

        // Plan: 4 merge tiles; planning twice records once.
        let cores = TilePlanner(tileSize: 100).cores(width: 200, height: 200)
        guard case .accepted(let mergeIDs) = try store.recordBurstPlanned(frame: frame, plan: "{\"plan\":1}", width: 200, height: 200, tiles: cores)
        else { Issue.record("plan not accepted"); return }
        #expect(try store.recordBurstPlanned(frame: frame, plan: "{}", width: 200, height: 200, tiles: cores) == .stale)
        #expect(try store.frame(frame)?.state == .merging)
        #expect(try store.burstsToPlan().isEmpty)
        let merges = try store.claimTasks(worker: worker, limit: 10)
        #expect(merges.map(\.taskID) == mergeIDs && merges.allSatisfy { $0.kind == .mergeTile && $0.frameMetadata == "{\"plan\":1}" })
        #expect(try store.taskCore(mergeIDs[3]) == cores[3])
        for (i, task) in merges.enumerated() {
            let outcome = try store.recordMergeTileDone(task: task.taskID, attempt: 1, computeMicros: 7, result: "{\"w\":\(i)}")
            #expect(outcome == (i == 3 ? .frameComplete(frame) : .frameIncomplete))
        }
        #expect(try store.recordTileDone(task: merges[0].taskID, attempt: 1, computeMicros: 1) == .stale, "a merge tile is not a develop tile")
        #expect(try store.frame(frame)?.state == .merged)
        #expect(try store.framesMerged() == [frame])
        #expect(try store.mergeTileResults(of: frame).map(\.result) == ["{\"w\":0}", "{\"w\":1}", "{\"w\":2}", "{\"w\":3}"])
        try expectCountersConsistent(store, job)

        // The merged raw becomes a decoded frame with develop tiles.
        guard case .accepted(let developIDs) = try store.recordMerged(frame: frame, width: 200, height: 200, metadata: "{\"info\":1}",
                                                                       spoolPath: "/spool/frame.cfa", tiles: cores)
        else { Issue.record("merged not accepted"); return }
        #expect(try store.recordMerged(frame: frame, width: 200, height: 200, metadata: "{}", spoolPath: "/s", tiles: cores) == .stale)
        #expect(try store.framesMerged().isEmpty)
        let record = try #require(try store.frame(frame))
        #expect(record.state == .developing && record.tiles == cores && record.spoolPath == "/spool/frame.cfa")
        let tiles = try store.claimTasks(worker: worker, limit: 10)
        #expect(tiles.map(\.taskID) == developIDs)
        let outcomes = try store.recordTilesDone(tiles.map { ($0.taskID, attempt: 1, computeMicros: 1) })
        #expect(outcomes.last == .frameComplete(frame))
        try store.recordFrameOutput(frame: frame, outputPath: "/out/IMG_0-merged.jpg", byteCount: 10, checksum: 1)
        #expect(try store.job(job)?.state == .succeeded)
        try expectCountersConsistent(store, job)
    }

    @Test func everyMemberFailingLeavesTheFrameToThePlanner() throws {
        let store = try makeStore()
        let (job, frame) = try burstJob(store, members: 2)
        let worker = try registerWorker(store)
        for task in try store.claimTasks(worker: worker, limit: 10) {
            #expect(try store.recordFailure(task: task.taskID, attempt: 1, code: "decodeFailed", reason: "bad", retryable: false,
                                            maxAttempts: 3) == .memberSkipped(frame))
        }
        // Still pending: the coordinator's planner sees no decoded member and fails it.
        #expect(try store.burstsToPlan() == [frame])
        try store.recordFrameFailed(frame: frame, reason: "no frame of the burst decoded")
        #expect(try store.burstsToPlan().isEmpty)
        #expect(try store.job(job)?.state == .failed)
        try expectCountersConsistent(store, job)
    }
}
