import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Redoing work whose spooled result was lost: tiles queued again, a frame taken back to decode.
@Suite struct RedoTests {
    /// A one-frame job decoded into four tiles, all claimed by one worker; returns ids.
    private func decodedFrame(_ store: TesseraStore) throws -> (job: JobID, frame: FrameID, decode: TaskID, tiles: [TaskID], worker: WorkerID) {
        let job = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let worker = try registerWorker(store)
        let decode = try #require(try store.claimTasks(worker: worker, limit: 1).first)
        guard case .accepted(let tiles) = try store.recordDecoded(
            task: decode.taskID, attempt: decode.attempt, width: 200, height: 200, metadata: "{}",
            spoolPath: "/spool/frame.cfa", tiles: fourTiles, computeMicros: 1)
        else { throw StoreError(.invalidState, "decode not accepted") }
        return (job, decode.frameID, decode.taskID, tiles, worker)
    }

    @Test("redoTiles queues succeeded tiles again and takes an assembling frame back to developing")
    func redoTilesRequeues() throws {
        let store = try makeStore()
        let (job, frame, _, tiles, worker) = try decodedFrame(store)
        var last = TileOutcome.stale
        for claimed in try store.claimTasks(worker: worker, limit: 4) {
            last = try store.recordTileDone(task: claimed.taskID, attempt: claimed.attempt, computeMicros: 1)
        }
        #expect(last == .frameComplete(frame))
        #expect(try store.redoTiles(frame: frame, tasks: [tiles[1], tiles[3], TaskID(9_999)], reason: "spool: corrupt") == 2)
        let record = try #require(try store.frame(frame))
        #expect(record.state == .developing && record.tilesDone == 2)
        #expect(try store.tiles(of: frame).map(\.state) == [.succeeded, .queued, .succeeded, .queued])
        try expectCountersConsistent(store, job)
        // The redone tiles are claimed as new attempts and complete the frame again.
        let again = try store.claimTasks(worker: worker, limit: 4)
        #expect(again.map(\.taskID) == [tiles[1], tiles[3]] && again.allSatisfy { $0.attempt == 2 })
        for claimed in again { last = try store.recordTileDone(task: claimed.taskID, attempt: claimed.attempt, computeMicros: 1) }
        #expect(last == .frameComplete(frame))
        try expectCountersConsistent(store, job)
        // Not developing or assembling (done): nothing to redo.
        try store.recordFrameOutput(frame: frame, outputPath: "/out/x.jpg", byteCount: 1, checksum: 1)
        #expect(try store.redoTiles(frame: frame, tasks: tiles, reason: "late") == 0)
    }

    @Test("redoDecode cancels the tile tasks, queues the decode again and returns the frame to pending; ids are never reused")
    func redoDecodeReplans() throws {
        let store = try makeStore()
        let (job, frame, decode, tiles, worker) = try decodedFrame(store)
        let claimed = try store.claimTasks(worker: worker, limit: 2)
        _ = try store.recordTileDone(task: claimed[0].taskID, attempt: claimed[0].attempt, computeMicros: 1)
        #expect(try store.redoDecode(frame: frame, reason: "spool: plane corrupt"))
        #expect(try store.redoDecode(frame: frame, reason: "again") == false, "a pending frame is not redone twice")
        let record = try #require(try store.frame(frame))
        #expect(record.state == .pending && record.tilesTotal == 0 && record.spoolPath == nil && record.width == nil)
        #expect(try store.tiles(of: frame).allSatisfy { $0.state == .cancelled })
        #expect(try store.attempts(of: job).filter { $0.taskID == claimed[1].taskID }.map(\.outcome) == [.cancelled])
        #expect(try store.job(job)?.taskCounts[.cancelled] == 4)
        #expect(try store.job(job)?.taskCounts[.queued] == 1)
        // The running tile's late result is stale; the decode is claimed again as attempt 2.
        #expect(try store.recordTileDone(task: claimed[1].taskID, attempt: claimed[1].attempt, computeMicros: 1) == .stale)
        let redo = try #require(try store.claimTasks(worker: worker, limit: 1).first)
        #expect(redo.taskID == decode && redo.attempt == 2 && redo.kind == .decode)
        guard case .accepted(let replanned) = try store.recordDecoded(
            task: redo.taskID, attempt: 2, width: 200, height: 200, metadata: "{}", spoolPath: "/spool/frame.cfa",
            tiles: fourTiles, computeMicros: 1)
        else {
            Issue.record("the second decode was not accepted")
            return
        }
        #expect(replanned.count == 4 && Set(replanned).isDisjoint(with: tiles), "no task id is reused")
        let counts = try #require(try store.job(job)?.taskCounts)
        #expect(counts[.queued] == 4 && counts[.cancelled] == 4 && counts[.succeeded] == 1 && counts[.running] == 0)
    }
}
