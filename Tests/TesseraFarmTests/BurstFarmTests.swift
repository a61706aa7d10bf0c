import Foundation
import Testing
import TesseraCore
import TesseraImaging
import TesseraStore

/// Bursts through `tessera run --merge-bursts`: grouped by capture time, members decoded and
/// merge tiles aligned and merged on many workers, written as NAME-merged.dng + NAME-merged.<ext>.
@Suite(.serialized) struct BurstFarmTests {
    @Test("a burst merged in tiles on 3 worker processes is byte-identical to the whole-burst merge in one process")
    func tiledMergeMatchesWholeBurst() throws {
        let tmp = try TemporaryDirectory("burst-tiles")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--burst-size", "6", "--size", "320x240", "--iso", "3200",
                                        "--seed", "53"]).status == 0)
        // Tile 128: 3×2 merge tiles and 3×2 develop tiles over the 320×240 frame.
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "3", "--merge-bursts", "--recipe", "standard",
                                          "--format", "tiff", "--tile-size", "128", "--db", db])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let store = try TesseraStore(path: db)
        let job = try #require(try store.jobSummaries(nil).first)
        let tasks = try store.tasks(of: job.id)
        #expect(tasks.filter { $0.kind == .decode }.count == 6, "one decode task per member")
        #expect(tasks.filter { $0.kind == .mergeTile && $0.state == .succeeded }.count == 6, "six merge tiles")
        #expect(tasks.filter { $0.kind == .developTile && $0.state == .succeeded }.count == 6, "six develop tiles")
        let attempts = try store.attempts(of: job.id)
        let tileWorkers = Set(attempts.filter { a in tasks.contains { $0.id == a.taskID && $0.kind == .mergeTile } }.map(\.workerID))
        #expect(tileWorkers.count >= 2, "merge tiles ran on \(tileWorkers.count) worker(s): \(tileWorkers)")

        // The whole burst in this process: same decode, same plan, BurstMerger.mergeFrames, develop whole.
        let (plan, dng, developed) = try Self.mergeInProcess(shoot: shoot, frames: 6, recipe: "standard")
        let farmDNG = try Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001-merged.dng"))
        let farmTIFF = try Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001-merged.tif"))
        #expect(Array(farmDNG) == dng, "merged DNG: farm \(farmDNG.count) bytes vs in-process \(dng.count) bytes")
        #expect(Array(farmTIFF) == developed, "developed output: farm \(farmTIFF.count) bytes vs in-process \(developed.count) bytes")
        #expect(plan.frameCount == 6)
    }

    /// The reference result: the burst `IMG_0001…` of `shoot` merged whole in this process and
    /// developed whole — the merged DNG's and the TIFF's bytes.
    static func mergeInProcess(shoot: String, frames count: Int, recipe name: String) throws -> (BurstPlan, [UInt8], [UInt8]) {
        let names = (1...count).map { String(format: "IMG_%04d.dng", $0) }
        let frames = try names.map { name -> (name: String, raw: Result<DecodedRaw, any Error>) in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(shoot)/\(name)"))
            return (name, Result { try bytes.withUnsafeBytes { try RawDecoder().decode(bytes: $0, name: name) } })
        }
        let (plan, merged) = try BurstPlan.mergeInProcess(frames, source: "test")
        let dng = try DNGWriter.encode(plan.dng(merged: merged.plane, effectiveFrames: merged.effectiveFrames))
        let recipe = try Recipe.resolve(name)
        let raw = DecodedRaw(info: plan.info, plane: merged.plane)
        let statistics = DevelopSettings.needsStatistics(recipe) ? FrameStatistics.measure(plane: raw.plane, info: raw.info) : nil
        let settings = try DevelopSettings.resolve(recipe: recipe, info: plan.info, statistics: statistics)
        let developed = try OutputFile.encode(try Developer.developFrame(raw, settings: settings, threads: 1), format: .tiff,
                                              recipe: recipe, info: plan.info)
        return (plan, dng, developed)
    }

    @Test("tessera submit --merge-bursts to a coordinator killed mid-merge and restarted: finished merge tiles are not redone, output byte-identical")
    func remoteSubmitSurvivesCoordinatorRestart() throws {
        let tmp = try TemporaryDirectory("burst-restart")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("coordinator.db")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "5", "--burst-size", "5", "--size", "320x240", "--iso", "1600",
                                        "--seed", "54"]).status == 0)
        // ipc endpoints with fixed names: the restarted coordinator binds the same ones, so the
        // workers reconnect by themselves.
        let tasksEndpoint = "ipc://\(tmp.sub("tasks"))", controlEndpoint = "ipc://\(tmp.sub("control"))"
        let keys = try FarmKeys(directory: tmp.sub("keys"), db: db)
        let coordinatorArgs = ["coordinator", "--listen", tasksEndpoint, "--control", controlEndpoint, "--db", db] + keys.coordinatorArgs
        var coordinator = try TesseraProcess.start(coordinatorArgs)
        #expect(coordinator.waitForLine(containing: "coordinator listening") != nil, "coordinator did not start: \(coordinator.stderr)")
        let workers = try (1...2).map { i in
            try TesseraProcess.start(["worker", "--connect", tasksEndpoint, "--slots", "1", "--name", "w\(i)"] + keys.workerArgs)
        }
        defer { workers.forEach { $0.stop() } }
        // Tile 64: 5×4 = 20 merge tiles.
        let submit = try TesseraProcess.run(["submit", shoot, "--out", out, "--merge-bursts", "--burst-gap", "2", "--tile-size", "64",
                                             "--recipe", "neutral", "--format", "tiff", "--coordinator", controlEndpoint] + keys.operatorArgs)
        #expect(submit.status == 0, "submit failed: \(submit.stderr)")
        let jobID = try #require(Int64(submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "job id: \(submit.stdout)")

        // Kill the coordinator (no cleanup at all) once part of the merge is done.
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let store = try? TesseraStore(path: db), let tasks = try? store.tasks(of: JobID(jobID)),
               tasks.filter({ $0.kind == .mergeTile && $0.state == .succeeded }).count >= 4 {
                break
            }
            Thread.sleep(forTimeInterval: 0.02)  // polling a condition, bounded by the deadline
        }
        kill(coordinator.process.processIdentifier, SIGKILL)
        coordinator.process.waitUntilExit()
        var finishedAtKill: [TaskID: Int] = [:]
        do {
            let store = try TesseraStore(path: db)
            let tasks = try store.tasks(of: JobID(jobID))
            #expect(tasks.filter { $0.kind == .mergeTile }.contains { $0.state != .succeeded }, "killed too late: the merge was finished")
            for task in tasks where task.state == .succeeded { finishedAtKill[task.id] = task.attempts }
            #expect(tasks.filter { $0.kind == .mergeTile && $0.state == .succeeded }.count >= 4)
        }

        coordinator = try TesseraProcess.start(coordinatorArgs)
        defer { coordinator.stop() }
        #expect(coordinator.waitForLine(containing: "coordinator listening") != nil, "coordinator did not restart: \(coordinator.stderr)")
        let status = try TesseraProcess.run(["status", "\(jobID)", "--wait", "--json", "--coordinator", controlEndpoint] + keys.operatorArgs, timeout: 240)
        #expect(status.status == 0, "status: \(status.stdout) \(status.stderr)")

        let store = try TesseraStore(path: db)
        let tasks = try store.tasks(of: JobID(jobID))
        #expect(tasks.filter { $0.kind == .mergeTile }.count == 20)
        #expect(tasks.allSatisfy { $0.state == .succeeded }, "\(tasks.filter { $0.state != .succeeded })")
        let attempts = try store.attempts(of: JobID(jobID))
        for (task, count) in finishedAtKill {
            #expect(tasks.first { $0.id == task }?.attempts == count, "finished \(task) was dispatched again")
            #expect(attempts.filter { $0.taskID == task }.count == count)
        }
        let (_, dng, developed) = try Self.mergeInProcess(shoot: shoot, frames: 5, recipe: "neutral")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001-merged.dng"))) == dng)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001-merged.tif"))) == developed)
    }

    @Test("a noisy 8-frame burst merged on the farm beats its sharpest single frame against ground truth")
    func mergedBurstBeatsSingleFrame() throws {
        let tmp = try TemporaryDirectory("burst-farm")
        let shoot = tmp.sub("shoot"), truth = tmp.sub("truth"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "8", "--burst-size", "8", "--size", "320x240", "--iso", "6400",
                                        "--seed", "51", "--truth", truth]).status == 0)
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--merge-bursts", "--recipe", "neutral",
                                          "--format", "tiff", "--db", db])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }.sorted()
        #expect(names == ["IMG_0001-merged.dng", "IMG_0001-merged.tif"], "one merged burst named after its first frame")

        // The merge is registered to the reference frame the worker chose; compare with its truth.
        let store = try TesseraStore(path: db)
        let merged = try #require(try store.events(job: nil, after: 0, limit: 1000).first { $0.kind == "burst.merged" })
        let reference = try #require(merged.message.split(separator: " ").map { $0.trimmingCharacters(in: .punctuationCharacters) }
            .first { $0.hasPrefix("IMG_") && $0.hasSuffix(".dng") })
        let stem = String(reference.dropLast(4))
        let single = tmp.sub("single.tif")
        #expect(try TesseraProcess.run(["develop", "\(shoot)/\(stem).dng", "--out", single, "--recipe", "neutral", "--format", "tiff"]).status == 0)
        let groundTruth = try ImageReader.read(path: "\(truth)/\(stem).srgb.tif")
        let singlePSNR = ImageMetrics.psnr(try ImageReader.read(path: single), groundTruth, crop: 32, gainFit: true)
        let mergedPSNR = ImageMetrics.psnr(try ImageReader.read(path: "\(out)/IMG_0001-merged.tif"), groundTruth, crop: 32, gainFit: true)
        print("burst of 8 at ISO 6400 (sRGB, 32-px border): single frame \(String(format: "%.2f", singlePSNR)) dB, merged \(String(format: "%.2f", mergedPSNR)) dB")
        #expect(mergedPSNR >= singlePSNR + 3, "merged \(mergedPSNR) dB vs single \(singlePSNR) dB")

        // The merged DNG is a real raw file: LibRaw reads it back at the reference's size.
        let dng = try RawDecoder.decode(path: "\(out)/IMG_0001-merged.dng")
        #expect(dng.info.width == 320 && dng.info.height == 240)
    }

    @Test("a burst with one corrupt frame merges the rest and records the skipped frame with its reason")
    func corruptFrameIsSkipped() throws {
        let tmp = try TemporaryDirectory("burst-corrupt")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--burst-size", "6", "--size", "256x192", "--iso", "3200",
                                        "--seed", "52"]).status == 0)
        let victim = "\(shoot)/IMG_0005.dng"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: victim))  // header intact, image data cut
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--merge-bursts", "--tile-size", "128", "--db", db])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/IMG_0001-merged.jpg"))
        #expect(FileManager.default.fileExists(atPath: "\(out)/IMG_0001-merged.dng"))
        let events = try TesseraStore(path: db).events(job: nil, after: 0, limit: 1000)
        let skipped = try #require(events.first { $0.kind == "burst.frame-skipped" })
        #expect(skipped.message.contains("IMG_0005.dng") && skipped.message.contains("truncated"), "\(skipped.message)")
        #expect(events.contains { $0.kind == "burst.merged" && $0.message.contains("5 frames merged") })
    }
}
