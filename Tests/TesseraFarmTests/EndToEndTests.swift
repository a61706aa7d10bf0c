import Foundation
import Testing
import XCTest
import TesseraCore
import TesseraImaging
import TesseraStore

/// The farm end to end, through the real `tessera` executable: real DNG files from
/// `tessera synth`, real worker processes, real ZeroMQ sockets, a real SQLite file.
@Suite(.serialized) struct EndToEndTests {
    private func synth(_ dir: String, frames: Int, size: String, seed: Int, pattern: String = "RGGB", truth: String? = nil) throws {
        var args = ["synth", dir, "--frames", "\(frames)", "--size", size, "--seed", "\(seed)", "--pattern", pattern]
        if let truth { args += ["--truth", truth] }
        let result = try TesseraProcess.run(args)
        #expect(result.status == 0, "synth failed: \(result.stderr)")
    }

    private func dngs(in dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".dng") }.sorted()
    }

    @Test("tiled farm output is byte-identical to whole-frame develop", arguments: ["RGGB", "GBRG"])
    func tiledMatchesWholeFrame(pattern: String) throws {
        let tmp = try TemporaryDirectory("tiled")
        let shoot = tmp.sub("shoot")
        try synth(shoot, frames: 3, size: "1100x802", seed: 3, pattern: pattern)
        let names = try dngs(in: shoot)
        #expect(names.count == 3)
        var reference: [String: Data] = [:]
        for name in names {
            let stem = (name as NSString).deletingPathExtension
            let out = tmp.sub("ref/\(stem).tif")
            let developed = try TesseraProcess.run(["develop", shoot + "/" + name, "--out", out, "--format", "tiff"])
            #expect(developed.status == 0, "develop failed: \(developed.stderr)")
            reference[stem] = try Data(contentsOf: URL(fileURLWithPath: out))
        }
        // 4096 ≥ the frame: each frame is developed whole inside its decode task on a worker.
        for tileSize in [256, 512, 1000, 4096] {
            let out = tmp.sub("out-\(tileSize)")
            let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--tile-size", "\(tileSize)", "--format", "tiff"])
            #expect(run.status == 0, "run with tile size \(tileSize) failed: \(run.stdout) \(run.stderr)")
            for (stem, bytes) in reference {
                let tiled = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(stem).tif"))
                #expect(tiled == bytes, "\(stem).tif with \(tileSize)-px tiles differs from whole-frame develop")
            }
        }
    }

    @Test("frames no larger than a tile are developed whole on workers: one task each, same bytes")
    func smallFramesAreOneTask() throws {
        let tmp = try TemporaryDirectory("whole")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        try synth(shoot, frames: 3, size: "400x300", seed: 4)
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--format", "png", "--db", db])
        #expect(run.status == 0, "run failed: \(run.stdout) \(run.stderr)")
        let store = try TesseraStore(path: db)
        let job = try #require(try store.jobSummaries(nil).first)
        let tasks = try store.tasks(of: job.id)
        #expect(tasks.count == 3 && tasks.allSatisfy { $0.kind == .decode && $0.state == .succeeded })
        for frame in try store.frames(of: job.id) {
            #expect(frame.state == .done && frame.tilesTotal == 0)
            let reference = tmp.sub("ref-\(frame.stem).png")
            let developed = try TesseraProcess.run(["develop", frame.path, "--out", reference])
            #expect(developed.status == 0, "\(developed.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(frame.stem).png")))
        }
    }

    @Test("a 12-frame shoot completes with one attempt per task and status reports it")
    func twelveFrameShoot() throws {
        let tmp = try TemporaryDirectory("twelve")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out"), db = tmp.sub("farm.db")
        try synth(shoot, frames: 12, size: "640x480", seed: 12)
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--tile-size", "256", "--db", db])
        #expect(run.status == 0, "run failed: \(run.stdout) \(run.stderr)")
        for name in try dngs(in: shoot) {
            let jpeg = "\(out)/\((name as NSString).deletingPathExtension).jpg"
            #expect(FileManager.default.fileExists(atPath: jpeg), "missing \(jpeg)")
        }

        let store = try TesseraStore(path: db)
        let job = try #require(try store.jobSummaries(nil).first)
        let tasks = try store.tasks(of: job.id)
        #expect(tasks.count == 12 + 12 * 6, "12 decodes + 12 × 6 tiles of 256 px")
        #expect(tasks.allSatisfy { $0.state == .succeeded })
        let attempts = try store.attempts(of: job.id)
        #expect(attempts.count == tasks.count)
        #expect(attempts.allSatisfy { $0.attempt == 1 })
        #expect(try store.integrityCheck() == "ok")
        let events = try store.events(job: nil, after: 0, limit: 1000)
        let kinds = events.map(\.kind)
        #expect(kinds.filter { $0 == "job.submitted" }.count == 1)
        #expect(kinds.filter { $0 == "worker.joined" }.count == 2)
        #expect(kinds.filter { $0 == "frame.done" }.count == 12)
        #expect(kinds.filter { $0 == "job.finished" }.count == 1)
        #expect(!kinds.contains("frame.failed") && !kinds.contains("task.retry"))

        let status = try TesseraProcess.run(["status", "--json", "--db", db])
        #expect(status.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let jobs = try #require(report?["jobs"] as? [[String: Any]])
        let first = try #require(jobs.first)
        #expect(first["state"] as? String == "succeeded")
        #expect(first["complete"] as? Bool == true)
        let frames = try #require(first["frames"] as? [String: Int])
        #expect(frames == ["total": 12, "done": 12, "failed": 0])
        let counts = try #require(first["tasks"] as? [String: Int])
        #expect(counts["succeeded"] == tasks.count)
        #expect(counts["queued"] == 0 && counts["running"] == 0 && counts["failed"] == 0)
    }

    @Test("developed output matches the synthetic ground truth (PSNR ≥ 30 dB)")
    func colourPathAgainstGroundTruth() throws {
        let tmp = try TemporaryDirectory("truth")
        let shoot = tmp.sub("shoot"), truth = tmp.sub("truth")
        try synth(shoot, frames: 2, size: "768x512", seed: 7, truth: truth)
        for name in try dngs(in: shoot) {
            let stem = (name as NSString).deletingPathExtension
            let out = tmp.sub("\(stem).tif")
            let developed = try TesseraProcess.run(["develop", shoot + "/" + name, "--out", out, "--recipe", "neutral", "--format", "tiff"])
            #expect(developed.status == 0, "develop failed: \(developed.stderr)")
            let image = try ImageReader.read(path: out)
            let reference = try ImageReader.read(path: "\(truth)/\(stem).srgb.tif")
            let psnr = ImageMetrics.psnr(image, reference, crop: 4, gainFit: true)
            print("\(stem): PSNR vs sRGB ground truth \(String(format: "%.2f", psnr)) dB")
            #expect(psnr >= 30, "\(stem): \(psnr) dB")
        }
    }

    @Test("coordinator, two workers, submit and status complete a job over tcp loopback")
    func multiProcessFarm() throws {
        let tmp = try TemporaryDirectory("farm")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        try synth(shoot, frames: 4, size: "600x400", seed: 5)
        let coordinator = try TesseraProcess.start([
            "coordinator", "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--db", tmp.sub("coordinator.db"),
        ])
        defer { coordinator.stop() }
        let line = try #require(coordinator.waitForLine(containing: "coordinator listening"), "coordinator did not start: \(coordinator.stderr)")
        let endpoints = line.split(separator: " ").filter { $0.contains("://") }.map(String.init)
        #expect(endpoints.count == 2, "\(line)")
        let (taskEndpoint, controlEndpoint) = (endpoints[0], endpoints[1])
        // Started without --key, the coordinator made its key pair next to the database. Keys
        // for the workers and this operator, made and allowed with the CLI.
        let coordinatorKey = tmp.sub("coordinator.pub")
        #expect(FileManager.default.fileExists(atPath: coordinatorKey))
        for (name, role) in [("worker", "worker"), ("operator", "operator")] {
            #expect(try TesseraProcess.run(["keygen", name, "--dir", tmp.sub("keys")]).status == 0)
            let allowed = try TesseraProcess.run(["keys", "allow", "farm-\(name)", tmp.sub("keys/\(name).pub"), "--role", role,
                                                  "--db", tmp.sub("coordinator.db")])
            #expect(allowed.status == 0, "\(allowed.stderr)")
        }
        let operatorKeys = ["--key", tmp.sub("keys/operator.key"), "--coordinator-key", coordinatorKey]
        let workers = try (1...2).map { i in
            try TesseraProcess.start(["worker", "--connect", taskEndpoint, "--slots", "1", "--name", "w\(i)",
                                      "--key", tmp.sub("keys/worker.key"), "--coordinator-key", coordinatorKey])
        }
        defer { workers.forEach { $0.stop() } }

        let submit = try TesseraProcess.run(["submit", shoot, "--out", out, "--tile-size", "256", "--coordinator", controlEndpoint] + operatorKeys)
        #expect(submit.status == 0, "submit failed: \(submit.stderr)")
        let jobID = try #require(Int64(submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "job id: \(submit.stdout)")

        let status = try TesseraProcess.run(["status", "\(jobID)", "--wait", "--json", "--coordinator", controlEndpoint] + operatorKeys,
                                            timeout: 120)
        #expect(status.status == 0, "status: \(status.stdout) \(status.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let job = try #require((report?["jobs"] as? [[String: Any]])?.first)
        #expect(job["state"] as? String == "succeeded")
        #expect((report?["workersConnected"] as? Int) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".jpg") }.count == 4)

        let unknown = try TesseraProcess.run(["status", "999", "--coordinator", controlEndpoint] + operatorKeys)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("999"))
    }

    @Test("corrupt, empty and non-RAW files fail their frames with reasons; the rest succeed")
    func badInputFailsOnlyThoseFrames() throws {
        let tmp = try TemporaryDirectory("bad")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        try synth(shoot, frames: 3, size: "512x384", seed: 9)
        let good = try Data(contentsOf: URL(fileURLWithPath: shoot + "/IMG_0001.dng"))
        #expect(FileManager.default.createFile(atPath: shoot + "/BAD_EMPTY.dng", contents: Data()))
        #expect(FileManager.default.createFile(atPath: shoot + "/BAD_TRUNCATED.dng", contents: good.prefix(good.count * 2 / 5)))
        #expect(FileManager.default.createFile(atPath: shoot + "/BAD_TEXT.dng", contents: Data("this is a shopping list, not a raw file\n".utf8)))

        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--json"])
        #expect(run.status == 1, "exit code must say some frames failed: \(run.status)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let job = try #require((report?["jobs"] as? [[String: Any]])?.first, "\(run.stdout)\n\(run.stderr)")
        #expect(job["state"] as? String == "completedWithFailures")
        #expect((job["frames"] as? [String: Int]) == ["total": 6, "done": 3, "failed": 3])
        let failures = try #require(job["failures"] as? [[String: Any]])
        let reasons = Dictionary(uniqueKeysWithValues: failures.map {
            (($0["path"] as? String).map { ($0 as NSString).lastPathComponent } ?? "", $0["reason"] as? String ?? "")
        })
        #expect(Set(reasons.keys) == ["BAD_EMPTY.dng", "BAD_TRUNCATED.dng", "BAD_TEXT.dng"])
        for (file, reason) in reasons {
            print("\(file): \(reason)")
            #expect(reason.count > 10, "\(file) needs a clear reason, got '\(reason)'")
        }
        #expect(reasons["BAD_EMPTY.dng"]?.lowercased().contains("empty") == true)
        #expect(reasons["BAD_TRUNCATED.dng"]?.contains("truncated") == true)
        #expect(reasons["BAD_TEXT.dng"]?.contains("not a RAW file") == true)
        for stem in ["IMG_0001", "IMG_0002", "IMG_0003"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(stem).jpg"))
        }
        #expect(!FileManager.default.fileExists(atPath: "\(out)/BAD_EMPTY.jpg"))
    }
}

/// Outputs already in the output directory are never replaced unless asked.
@Suite(.serialized) struct OverwriteTests {
    @Test("an existing output fails only that frame, with a clear reason, not held against a worker; --overwrite replaces it")
    func existingOutputIsKept() throws {
        let tmp = try TemporaryDirectory("overwrite")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "2", "--size", "256x192", "--seed", "61"]).status == 0)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let precious = Data("the client's retouched version\n".utf8)
        #expect(FileManager.default.createFile(atPath: "\(out)/IMG_0001.jpg", contents: precious))

        let db = tmp.sub("farm.db")
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--json", "--db", db])
        #expect(run.status == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001.jpg")) == precious, "an existing file is never replaced")
        #expect(FileManager.default.fileExists(atPath: "\(out)/IMG_0002.jpg"))
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let job = try #require((report?["jobs"] as? [[String: Any]])?.first)
        let failures = try #require(job["failures"] as? [[String: Any]])
        #expect(failures.count == 1)
        let reason = failures.first?["reason"] as? String ?? ""
        #expect(reason.contains("already exists") && reason.contains("--overwrite"), "\(reason)")
        #expect(failures.first?["attempts"] as? Int == 1, "not retried: retrying cannot help")
        let store = try TesseraStore(path: db)
        let jobID = try #require(try store.jobSummaries(nil).first?.id)
        #expect(try store.badWorkers(of: jobID).isEmpty)

        let again = try TesseraProcess.run(["run", shoot, "--out", tmp.sub("out"), "--workers", "2", "--overwrite", "--db", tmp.sub("again.db")])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001.jpg")) != precious)
    }
}

/// Keeps XCTest's summary meaningful (PLATFORM.md): the CLI answers --version.
final class CLISmokeXCTests: XCTestCase {
    func testVersion() throws {
        let result = try TesseraProcess.run(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), TesseraVersion.string)
    }
}

/// Recipes through the farm: every stage, geometry changes, and refusal before dispatch.
@Suite(.serialized) struct RecipeFarmTests {
    @Test("tiled ≡ whole-frame with every stage enabled, including crop and resize (tiles planned in output space)")
    func everyStageTiledMatchesWhole() throws {
        let tmp = try TemporaryDirectory("recipe-stages")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "2", "--size", "900x640", "--seed", "41", "--iso", "800"]).status == 0)
        // An identity-ish but non-trivial LUT (a slight warm shift) to exercise the LUT stage.
        var cube = "TITLE \"warm\"\nLUT_3D_SIZE 5\n"
        for b in 0..<5 { for g in 0..<5 { for r in 0..<5 {
            cube += String(format: "%.6f %.6f %.6f\n", min(1, Double(r) / 4 * 1.03), Double(g) / 4, Double(b) / 4 * 0.97)
        } } }
        let cubePath = tmp.sub("warm.cube")
        try cube.write(toFile: cubePath, atomically: true, encoding: .utf8)
        let recipe = """
        version: 2
        name: everything
        demosaic: quality
        whiteBalance: { mode: auto }
        color: { outputSpace: displayP3 }
        tone:
          exposure: 0.4
          highlights: reconstruct
          contrast: 0.2
          saturation: 0.1
          vibrance: 0.2
          curve: filmic
        look: \(cubePath)
        crop: { x: 20, y: 10, width: 860, height: 600 }
        resize: { longEdge: 700 }
        sharpen: { radius: 1.0, amount: 0.6, threshold: 0.01 }
        """
        let recipePath = tmp.sub("everything.yaml")
        try recipe.write(toFile: recipePath, atomically: true, encoding: .utf8)

        let reference = tmp.sub("ref/IMG_0001.tif")
        let developed = try TesseraProcess.run(["develop", shoot + "/IMG_0001.dng", "--out", reference, "--recipe", recipePath, "--format", "tiff"])
        #expect(developed.status == 0, "\(developed.stderr)")
        let whole = try ImageReader.read(path: reference)
        #expect(whole.width == 700 && whole.height == 488, "crop 860×600 then long edge 700: \(whole.width)x\(whole.height)")

        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--tile-size", "160", "--recipe", recipePath,
                                          "--format", "tiff"])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/IMG_0001.tif")),
                "tiled output with every stage differs from whole-frame develop")
        // The job carries the LUT itself, not just its path: its recipe (and hash) are complete.
        let store = try TesseraStore(path: out + "/.tessera/tessera.db")
        let job = try #require(try store.job(JobID(1)))
        let pinned = try Recipe.resolve(recipePath).pinningFiles()
        #expect(job.recipeDocument.contains("LUT_3D_SIZE 5") && job.recipeHash == pinned.hash)
    }

    @Test("a recipe with an unknown key, a wrong type or an out-of-range value is refused before any task exists")
    func badRecipesAreRefusedUpFront() throws {
        let tmp = try TemporaryDirectory("recipe-bad")
        let shoot = tmp.sub("shoot")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "1", "--size", "256x192", "--seed", "42"]).status == 0)
        let cases: [(String, String)] = [
            ("version: 2\nname: bad\ntone:\n  contrastt: 0.2\n", "tone.contrastt"),
            ("version: 2\nname: bad\nsharpen: { radius: fast, amount: 0.5 }\n", "sharpen.radius"),
            ("version: 2\nname: bad\ntone:\n  exposure: 99\n", "tone.exposure"),
        ]
        for (index, (text, key)) in cases.enumerated() {
            let path = tmp.sub("bad-\(index).yaml")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let db = tmp.sub("bad-\(index).db")
            let run = try TesseraProcess.run(["run", shoot, "--out", tmp.sub("out-\(index)"), "--recipe", path, "--db", db])
            #expect(run.status != 0)
            #expect(run.stderr.contains(key), "error must name \(key): \(run.stderr)")
            #expect(run.stderr.contains("bad-\(index).yaml:"), "error must give the file and line: \(run.stderr)")
            let store = try TesseraStore(path: db)
            #expect(try store.jobSummaries(nil).isEmpty, "no job may be created for a bad recipe")
        }
    }

    @Test("outputs carry the capture's EXIF and the output space's ICC profile, named by the recipe's template")
    func metadataAndNaming() throws {
        let tmp = try TemporaryDirectory("recipe-meta")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "2", "--size", "320x240", "--seed", "43"]).status == 0)
        let recipePath = tmp.sub("named.yaml")
        try "version: 2\nname: named\ncolor: { outputSpace: adobeRGB }\noutput:\n  naming: \"{seq:03}-{stem}-{recipe}\"\n"
            .write(toFile: recipePath, atomically: true, encoding: .utf8)
        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--recipe", recipePath])
        #expect(run.status == 0, "\(run.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }.sorted()
        #expect(names == ["001-IMG_0001-named.jpg", "002-IMG_0002-named.jpg"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(out)/001-IMG_0001-named.jpg")))
        let metadata = try ImageReader.readMetadata(bytes: bytes, name: "001-IMG_0001-named.jpg")
        #expect(!metadata.make.isEmpty && !metadata.model.isEmpty, "camera make/model in EXIF")
        #expect(metadata.dateTimeOriginal != nil)
        #expect(metadata.iccProfile == OutputColorSpace.adobeRGB.iccProfile(), "the Adobe RGB profile is embedded")
    }
}
