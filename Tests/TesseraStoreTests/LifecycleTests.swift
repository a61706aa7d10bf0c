import Foundation
import Testing
import TesseraCore
import TesseraStore

@Suite struct LifecycleTests {
    @Test func threeFrameJobRunsToSuccess() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(3))
        var job = try #require(try store.job(jobID))
        #expect(job.state == .running)
        #expect(job.framesTotal == 3 && job.framesDone == 0)
        #expect(job.taskCounts == [.queued: 3, .running: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
        #expect(try store.findJob(captureDir: "/captures/shoot", outputDir: "/out/shoot") == jobID)
        #expect(try store.findJob(captureDir: "/captures/shoot", outputDir: "/elsewhere") == nil)

        let frames = try store.frames(of: jobID)
        #expect(frames.map(\.state) == [.pending, .pending, .pending])
        #expect(frames.map(\.index) == [0, 1, 2])
        #expect(frames[1].id.rawValue == frames[0].id.rawValue + 1 && frames[2].id.rawValue == frames[1].id.rawValue + 1)
        let tasks = try store.tasks(of: jobID)
        #expect(tasks.map(\.kind) == [.decode, .decode, .decode])
        #expect(tasks[2].id.rawValue - tasks[0].id.rawValue == 2, "decode tasks get consecutive ids")

        // Decode.
        let worker = try registerWorker(store)
        let decodes = try store.claimTasks(worker: worker, limit: 10)
        #expect(decodes.count == 3)
        #expect(decodes.map(\.frameID) == frames.map(\.id))
        for d in decodes {
            #expect(d.kind == .decode && d.attempt == 1 && d.core == nil)
            #expect(d.frameWidth == nil && d.spoolPath == nil && d.frameMetadata == nil)
            #expect(d.recipeDocument == #"{"wb":"camera"}"# && d.format == "jpeg" && d.tileSize == 100)
            #expect(d.outputDir == "/out/shoot" && d.stem.hasPrefix("IMG_") && d.framePath.hasSuffix(".dng"))
        }
        job = try #require(try store.job(jobID))
        #expect(job.taskCounts[.running] == 3 && job.taskCounts[.queued] == 0)
        try expectCountersConsistent(store, jobID)
        #expect(try store.claimTasks(worker: worker, limit: 10).isEmpty)

        var tileIDs: [FrameID: [TaskID]] = [:]
        for d in decodes {
            let outcome = try store.recordDecoded(task: d.taskID, attempt: d.attempt, width: 200, height: 200,
                                                  metadata: #"{"iso":100}"#, spoolPath: "/spool/\(d.frameID).cfa",
                                                  tiles: fourTiles, computeMicros: 12_000)
            guard case .accepted(let ids) = outcome else { Issue.record("decode not accepted: \(outcome)"); return }
            #expect(ids.count == 4)
            #expect(ids.last!.rawValue - ids.first!.rawValue == 3, "tile tasks get consecutive ids")
            tileIDs[d.frameID] = ids
            try expectCountersConsistent(store, jobID)
        }
        job = try #require(try store.job(jobID))
        #expect(job.taskCounts == [.queued: 12, .running: 0, .succeeded: 3, .failed: 0, .cancelled: 0])
        let decoded = try #require(try store.frame(frames[0].id))
        #expect(decoded.state == .developing && decoded.width == 200 && decoded.height == 200)
        #expect(decoded.tilesTotal == 4 && decoded.tilesDone == 0 && decoded.tiles == fourTiles)
        #expect(decoded.metadata == #"{"iso":100}"# && decoded.spoolPath == "/spool/\(frames[0].id).cfa")

        // Develop tiles.
        let tiles = try store.claimTasks(worker: worker, limit: 100)
        #expect(tiles.count == 12)
        #expect(tiles.map(\.taskID) == tiles.map(\.taskID).sorted())
        for t in tiles {
            #expect(t.kind == .developTile && t.attempt == 1 && t.frameWidth == 200 && t.frameHeight == 200)
            #expect(t.spoolPath == "/spool/\(t.frameID).cfa" && t.frameMetadata == #"{"iso":100}"#)
            #expect(t.core == fourTiles[Int(t.taskID.rawValue - tileIDs[t.frameID]![0].rawValue)])
        }
        var completed: [FrameID] = []
        for t in tiles {
            switch try store.recordTileDone(task: t.taskID, attempt: t.attempt, computeMicros: 3_000) {
            case .frameComplete(let frame): completed.append(frame)
            case .frameIncomplete: break
            case .stale: Issue.record("fresh tile result judged stale")
            }
            try expectCountersConsistent(store, jobID)
        }
        #expect(completed == frames.map(\.id))
        #expect(try store.framesToAssemble() == frames.map(\.id))
        #expect(try store.tiles(of: frames[1].id).allSatisfy { $0.state == .succeeded && $0.attempts == 1 })

        // Assemble.
        let checksum: UInt64 = 0xF00D_FACE_DEAD_BEEF  // above Int64.max: stored by bit pattern
        for (i, frame) in frames.enumerated() {
            let state = try store.recordFrameOutput(frame: frame.id, outputPath: "/out/shoot/\(frame.stem).jpg",
                                                    byteCount: 5_000, checksum: checksum)
            #expect(state == (i == 2 ? .succeeded : .running))
            try expectCountersConsistent(store, jobID)
        }
        // Recording the same output again is idempotent.
        #expect(try store.recordFrameOutput(frame: frames[0].id, outputPath: "/out/shoot/IMG_0.jpg", byteCount: 5_000,
                                            checksum: checksum) == .succeeded)
        job = try #require(try store.job(jobID))
        #expect(job.state == .succeeded && job.framesDone == 3 && job.finishedAt != nil)
        #expect(job.taskCounts == [.queued: 0, .running: 0, .succeeded: 15, .failed: 0, .cancelled: 0])
        let done = try #require(try store.frame(frames[2].id))
        #expect(done.state == .done && done.outputChecksum == checksum && done.outputBytes == 5_000)
        #expect(try store.framesToAssemble().isEmpty)

        let attempts = try store.attempts(of: jobID)
        #expect(attempts.count == 15)
        #expect(attempts.allSatisfy { $0.outcome == .succeeded && $0.workerID == worker && $0.finishedAt != nil })
        #expect(attempts.filter { $0.computeMicros == 12_000 }.count == 3)
        #expect(attempts.allSatisfy { $0.finishedAt! > $0.startedAt })

        let summary = try #require(try store.jobSummaries(jobID).first)
        #expect(summary.state == .succeeded && summary.failures.isEmpty && summary.framesDone == 3)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func staleAndDuplicateResultsChangeNothing() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let worker = try registerWorker(store)
        let decode = try #require(try store.claimTasks(worker: worker, limit: 1).first)
        // Wrong attempt number, unknown task: stale.
        #expect(try store.recordDecoded(task: decode.taskID, attempt: 2, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s", tiles: fourTiles, computeMicros: 1) == .stale)
        #expect(try store.recordDecoded(task: TaskID(999_999), attempt: 1, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s", tiles: fourTiles, computeMicros: 1) == .stale)
        // A decode task's id reported as a tile: stale.
        #expect(try store.recordTileDone(task: decode.taskID, attempt: 1, computeMicros: 1) == .stale)
        let first = try store.recordDecoded(task: decode.taskID, attempt: 1, width: 200, height: 200, metadata: "{}",
                                            spoolPath: "/s", tiles: fourTiles, computeMicros: 1)
        guard case .accepted = first else { Issue.record("decode not accepted"); return }
        // Duplicate decode result: stale, no extra tiles.
        #expect(try store.recordDecoded(task: decode.taskID, attempt: 1, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s", tiles: fourTiles, computeMicros: 1) == .stale)
        #expect(try store.tasks(of: jobID).count == 5)
        #expect(try store.recordFailure(task: decode.taskID, attempt: 1, code: "X", reason: "late", retryable: true,
                                        maxAttempts: 3) == .stale)

        let tiles = try store.claimTasks(worker: worker, limit: 4)
        // A batch with a duplicate inside it and a result for the wrong attempt.
        let outcomes = try store.recordTilesDone([
            (tiles[0].taskID, attempt: 1, computeMicros: 5),
            (tiles[0].taskID, attempt: 1, computeMicros: 5),
            (tiles[1].taskID, attempt: 7, computeMicros: 5),
        ])
        #expect(outcomes == [.frameIncomplete, .stale, .stale])
        #expect(try store.recordTileDone(task: tiles[0].taskID, attempt: 1, computeMicros: 5) == .stale)
        let frame = try #require(try store.frame(decode.frameID))
        #expect(frame.tilesDone == 1)
        let before = try store.job(jobID)
        #expect(try store.recordTilesDone([]) == [])
        #expect(try store.job(jobID) == before)
        try expectCountersConsistent(store, jobID)

        let rest = try store.recordTilesDone(tiles[1...].map { ($0.taskID, attempt: $0.attempt, computeMicros: 5) })
        #expect(rest == [.frameIncomplete, .frameIncomplete, .frameComplete(decode.frameID)])
        #expect(try store.recordTileDone(task: tiles[3].taskID, attempt: 1, computeMicros: 5) == .stale)
        #expect(try store.frame(decode.frameID)?.state == .assembling)
        try expectCountersConsistent(store, jobID)
    }

    @Test func retriesThenPermanentFailureFailsFrameAndJobCompletesWithFailures() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(3))
        let worker = try registerWorker(store)
        let decodes = try store.claimTasks(worker: worker, limit: 3)
        // Frame 2's decode fails without retry: frame failed at once.
        #expect(try store.recordFailure(task: decodes[2].taskID, attempt: 1, code: "UNSUPPORTED_RAW",
                                        reason: "not a RAW file", retryable: false, maxAttempts: 3)
                == .frameFailed(decodes[2].frameID))
        try expectCountersConsistent(store, jobID)
        for d in decodes.prefix(2) {
            _ = try store.recordDecoded(task: d.taskID, attempt: 1, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s/\(d.frameID)", tiles: fourTiles, computeMicros: 1)
        }
        let frameA = decodes[0].frameID, frameB = decodes[1].frameID
        // Claim two of A's tiles; the first fails retryably until attempts run out.
        var claim = try store.claimTasks(worker: worker, limit: 2)
        #expect(claim.allSatisfy { $0.frameID == frameA })
        let doomed = claim[0].taskID, sibling = claim[1]
        #expect(try store.recordFailure(task: doomed, attempt: 1, code: "DEVELOP", reason: "NaN in tile",
                                        retryable: true, maxAttempts: 3) == .requeued)
        try expectCountersConsistent(store, jobID)
        // The requeued tile is claimed again before later tasks (lowest id first).
        claim = try store.claimTasks(worker: worker, limit: 1)
        #expect(claim.first?.taskID == doomed && claim.first?.attempt == 2)
        #expect(try store.recordFailure(task: doomed, attempt: 2, code: "DEVELOP", reason: "NaN in tile",
                                        retryable: true, maxAttempts: 3) == .requeued)
        claim = try store.claimTasks(worker: worker, limit: 1)
        #expect(claim.first?.attempt == 3)
        #expect(try store.recordFailure(task: doomed, attempt: 3, code: "DEVELOP", reason: "NaN in tile again",
                                        retryable: true, maxAttempts: 3) == .frameFailed(frameA))
        try expectCountersConsistent(store, jobID)
        // Siblings are cancelled, including the running one, whose late result is stale.
        let tilesA = try store.tiles(of: frameA)
        #expect(tilesA.filter { $0.state == .failed }.map(\.taskID) == [doomed])
        #expect(tilesA.filter { $0.state == .cancelled }.count == 3)
        #expect(try store.recordTileDone(task: sibling.taskID, attempt: 1, computeMicros: 1) == .stale)
        let early = #expect(throws: StoreError.self) {
            try store.recordFrameOutput(frame: frameB, outputPath: "/o", byteCount: 1, checksum: 1)
        }
        #expect(early?.kind == .invalidState)
        #expect(early?.description.contains("\(frameB) is developing") == true)

        // Frame B finishes normally; the job completes with failures.
        let tilesB = try store.claimTasks(worker: worker, limit: 10)
        #expect(tilesB.count == 4 && tilesB.allSatisfy { $0.frameID == frameB })
        let outcomes = try store.recordTilesDone(tilesB.map { ($0.taskID, attempt: $0.attempt, computeMicros: 1) })
        #expect(outcomes.last == .frameComplete(frameB))
        #expect(try store.recordFrameOutput(frame: frameB, outputPath: "/out/b.jpg", byteCount: 10, checksum: 7)
                == .completedWithFailures)
        try expectCountersConsistent(store, jobID)
        let summary = try #require(try store.jobSummaries(jobID).first)
        #expect(summary.state == .completedWithFailures && summary.framesDone == 1 && summary.framesFailed == 2)
        #expect(summary.failures == [
            FrameFailure(frameID: frameA, path: "/captures/IMG_0.dng", code: "DEVELOP", reason: "NaN in tile again", attempts: 3),
            FrameFailure(frameID: decodes[2].frameID, path: "/captures/IMG_2.dng", code: "UNSUPPORTED_RAW",
                         reason: "not a RAW file", attempts: 1),
        ])
        let attempts = try store.attempts(of: jobID)
        #expect(attempts.filter { $0.taskID == doomed }.map(\.outcome) == [.failed, .failed, .failed])
        #expect(attempts.first { $0.taskID == sibling.taskID }?.outcome == .cancelled)
        #expect(attempts.first { $0.taskID == doomed }?.errorCode == "DEVELOP")
        // Failing an already failed frame is a no-op; failing a done frame is refused.
        #expect(try store.recordFrameFailed(frame: frameA, reason: "again") == .completedWithFailures)
        #expect(throws: StoreError.self) { try store.recordFrameFailed(frame: frameB, reason: "late") }
        #expect(try store.job(jobID)?.framesFailed == 2)
    }

    @Test func everyFrameFailedMeansJobFailed() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(2))
        let frames = try store.frames(of: jobID)
        #expect(try store.recordFrameFailed(frame: frames[0].id, reason: "unreadable") == .running)
        // The frame's queued decode task was cancelled with it.
        #expect(try store.job(jobID)?.taskCounts[.cancelled] == 1)
        #expect(try store.recordFrameFailed(frame: frames[1].id, reason: "unreadable") == .failed)
        let worker = try registerWorker(store)
        #expect(try store.claimTasks(worker: worker, limit: 10).isEmpty)
        let summary = try #require(try store.jobSummaries(nil).first)
        #expect(summary.failures.map(\.attempts) == [0, 0] && summary.failures.allSatisfy { $0.code == nil })
        try expectCountersConsistent(store, jobID)
    }

    @Test func cancelJobCancelsQueuedAndRunningTasks() throws {
        let store = try makeStore()
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(3))
        let worker = try registerWorker(store)
        let running = try store.claimTasks(worker: worker, limit: 1)
        let cancelled = try store.cancelJob(jobID)
        #expect(cancelled == [CancelledTask(taskID: running[0].taskID, workerID: worker, attempt: 1)])
        let job = try #require(try store.job(jobID))
        #expect(job.state == .cancelled && job.finishedAt != nil)
        #expect(job.taskCounts[.cancelled] == 3 && job.taskCounts[.queued] == 0 && job.taskCounts[.running] == 0)
        #expect(try store.recordDecoded(task: running[0].taskID, attempt: 1, width: 200, height: 200, metadata: "{}",
                                        spoolPath: "/s", tiles: fourTiles, computeMicros: 1) == .stale)
        #expect(try store.claimTasks(worker: worker, limit: 10).isEmpty)
        #expect(try store.cancelJob(jobID).isEmpty)
        #expect(try store.attempts(of: jobID).map(\.outcome) == [.cancelled])
        try expectCountersConsistent(store, jobID)
    }

    @Test func errorsNameTheEntityAndCarrySQLiteDetails() throws {
        let store = try makeStore()
        let empty = #expect(throws: StoreError.self) { try store.createJob(sampleJob("empty"), frames: []) }
        #expect(empty?.kind == .invalidArgument)
        #expect(empty?.description.contains("/captures/empty") == true)
        #expect(empty?.description.contains(store.path) == true)
        let unknown = #expect(throws: StoreError.self) { try store.claimTasks(worker: WorkerID(42), limit: 1) }
        #expect(unknown?.kind == .notFound && unknown?.message.contains("worker-42") == true)
        #expect(throws: StoreError.self) { try store.recordFrameOutput(frame: FrameID(7), outputPath: "/x", byteCount: 0, checksum: 0) }
        #expect(throws: StoreError.self) { try store.workerSeen(WorkerID(9)) }
        #expect(try store.job(JobID(5)) == nil && store.frame(FrameID(5)) == nil)
        let jobID = try store.createJob(sampleJob(), frames: sampleFrames(1))
        let worker = try registerWorker(store)
        let decode = try store.claimTasks(worker: worker, limit: 1)[0]
        let outside = #expect(throws: StoreError.self) {
            try store.recordDecoded(task: decode.taskID, attempt: 1, width: 150, height: 150, metadata: "{}",
                                    spoolPath: "/s", tiles: fourTiles, computeMicros: 1)
        }
        #expect(outside?.kind == .invalidArgument && outside?.message.contains("tile 100x100+100+0") == true)
        // Nothing changed: the decode is still running and can be recorded.
        try expectCountersConsistent(store, jobID)
        try store.close()
        let closed = #expect(throws: StoreError.self) { try store.job(jobID) }
        #expect(closed?.kind == .sqlite && closed?.extendedResultCode != nil)
    }
}
