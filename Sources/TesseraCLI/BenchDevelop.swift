import ArgumentParser
import Foundation
import TesseraCore
import TesseraImaging

/// `tessera bench develop`: per-stage throughput of the develop path on one thread, and the
/// end-to-end time of the real `tessera develop` command against `dcraw_emu -q 3 -T` on the same
/// synthetic DNG in the same run (both pinned to one core with `taskset -c 0` when available).
///
/// In-process stages are timed on the calling thread (wall clock, best of `--repeats`); the two
/// commands are timed as subprocesses (wall clock and their CPU seconds, best of `--repeats`).
struct BenchDevelop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "develop",
        abstract: "Per-stage MP/s of the develop path on one thread, and `tessera develop` vs `dcraw_emu -q 3 -T` end to end on one core.")

    @Option(help: "Frame size as WIDTHxHEIGHT.")
    var size: String = "6000x4000"

    @Option(help: "Scene seed.")
    var seed: UInt64 = 7

    @Option(help: "Timed repetitions of each measurement (the best is reported).")
    var repeats: Int = 2

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// One measured stage.
    struct Stage: Codable {
        var stage: String
        /// Best wall-clock seconds (in-process: one thread; commands: whole process).
        var seconds: Double
        /// Megapixels of the frame per second for `seconds`.
        var megapixelsPerSecond: Double
        /// Best CPU seconds (user + system: of this process for in-process stages, of the child for commands).
        var cpuSeconds: Double?
        /// Commands only: user and system CPU seconds and peak resident set (MB) of the run with the best CPU time.
        var userSeconds: Double?
        var systemSeconds: Double?
        var peakRSSMegabytes: Double?
        /// Megapixels per CPU second (per core).
        var megapixelsPerCPUSecond: Double? { cpuSeconds.map { $0 > 0 ? Double(megapixels) / $0 : 0 } }
        /// The frame's megapixels.
        var megapixels: Double
    }

    /// The whole report.
    struct Report: Codable {
        var width: Int
        var height: Int
        var stages: [Stage]
        /// Wall seconds of `tessera develop --recipe neutral --format tiff` and of `dcraw_emu -q 3 -T`.
        var tesseraDevelopSeconds: Double
        var dcrawSeconds: Double?
        /// `dcrawSeconds / tesseraDevelopSeconds` (above 1: tessera is faster).
        var speedupOverDcraw: Double?
        /// dcraw_emu's CPU seconds over tessera's, per output (`tiff-deflate`, `tiff-none`, `jpeg`;
        /// above 1: tessera is faster). CPU time is the fair figure on a shared machine.
        var cpuSpeedupOverDcraw: [String: Double]?
        /// Whether both commands were pinned to CPU 0 with `taskset`.
        var pinnedToOneCore: Bool
        /// The develop kernel build that ran (`baseline`, `avx2`, `avx512`; `DevelopKernel.active`, after `TESSERA_SIMD`).
        var kernel: String?
        /// Baseline-kernel CPU seconds over active-kernel CPU seconds for the whole-frame neutral
        /// develop (in process) and for `tessera develop` to JPEG end to end (nil when only the baseline runs).
        var kernelSpeedup: [String: Double]?
        var notes: [String]
    }

    func run() throws {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (64...20_000).contains(parts[0]), (64...20_000).contains(parts[1]) else {
            throw ValidationError("--size must be WIDTHxHEIGHT with each side 64...20000, e.g. 6000x4000")
        }
        let (width, height) = (parts[0], parts[1])
        let runs = max(1, repeats)
        var notes: [String] = []
        let dir = NSTemporaryDirectory() + "tessera-bench-develop-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // One synthetic DNG (with the synthesiser's default noise).
        let options = SynthOptions(frames: 1, width: width, height: height, iso: 100, seed: seed, pattern: .rggb, margin: 0)
        let manifest = try ShootSynthesizer.plan(options)
        let frame = manifest.frames[0]
        let plane = ShootSynthesizer.mosaic(ShootSynthesizer.renderTruth(frame, options: options), frame: frame, options: options)
        let dngPath = dir + "/IMG_0001.dng"
        let dng = try DNGWriter.encode(ShootSynthesizer.dngImage(plane, frame: frame, options: options))
        guard FileManager.default.createFile(atPath: dngPath, contents: Data(dng)) else {
            throw ValidationError("cannot write \(dngPath)")
        }

        let megapixels = Double(width * height) / 1e6
        var stages: [Stage] = []
        var sink = 0
        func time(_ label: String, _ body: () throws -> Int) throws {
            var best = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<runs {
                var wall = 0.0
                let cpu = try BenchDemosaic.cpuSeconds {
                    wall = try BenchDemosaic.wallSeconds { sink &+= try body() }
                }
                best = min(best, wall)
                bestCPU = min(bestCPU, cpu)
            }
            stages.append(Stage(stage: label, seconds: best, megapixelsPerSecond: megapixels / best, cpuSeconds: bestCPU, megapixels: megapixels))
        }

        // In process, one thread.
        try time("decode (LibRaw unpack)") { try RawDecoder.decode(path: dngPath).plane.pixels.count }
        let decoded = try RawDecoder.decode(path: dngPath)
        let recipe = Recipe.neutral
        let neutral = try DevelopSettings.resolve(recipe: recipe, info: decoded.info)
        let core = PixelRect(x: 0, y: 0, width: width, height: height)
        for method in [DemosaicMethod.mhc, .rcd] {
            var settings = neutral
            settings.demosaic = method
            settings.stages = []
            let bare = try DevelopPipeline(settings: settings, frame: FrameSize(width: width, height: height), stages: [])
            let window = bare.cfaWindow(forOutput: core)
            let input = Developer.window(window, of: decoded.plane)
            let label = method == .mhc ? "fast (MHC)" : "quality (RCD)"
            try time("raw stage + demosaic \(label) + matrix") {
                try bare.developLinear(input, inputRect: window, core: core).pixels.count
            }
        }
        var image = RGBImage16(width: 0, height: 0, pixels: [])
        var full = try DevelopPipeline(settings: neutral, frame: FrameSize(width: width, height: height))
        let active = DevelopKernel.active
        // The whole-frame neutral develop with each kernel build this CPU runs (active last, so
        // `image` is its output); the builds must agree bit for bit.
        var kernelCPU: [DevelopKernel: Double] = [:]
        var kernelImages: [DevelopKernel: RGBImage16] = [:]
        for kernel in DevelopKernel.allCases where kernel.isSupported && kernel != active {
            full.kernel = kernel
            try time("neutral develop, whole frame, \(kernel) kernel") { try full.developFrame(decoded.plane, threads: 1).pixels.count }
            kernelCPU[kernel] = stages.last?.cpuSeconds
            kernelImages[kernel] = try full.developFrame(decoded.plane, threads: 1)
        }
        full.kernel = active
        try time("neutral develop, whole frame (raw, \(neutral.demosaic.rawValue), matrix, \(full.stages.count) stages, output encoding), \(active) kernel") {
            image = try full.developFrame(decoded.plane, threads: 1)
            return image.pixels.count
        }
        kernelCPU[active] = stages.last?.cpuSeconds
        for (kernel, other) in kernelImages where other != image {
            notes.append("the \(kernel) and \(active) kernels developed different bytes: a bug (they must be bit-identical)")
        }
        // The neutral develop with an uncompressed TIFF (dcraw_emu -T writes uncompressed TIFF).
        let uncompressedPath = dir + "/neutral-uncompressed.yaml"
        try "version: 2\nname: neutral-uncompressed\noutput: { tiff: { compression: none } }\n"
            .write(toFile: uncompressedPath, atomically: true, encoding: .utf8)
        let uncompressed = try Recipe.resolve(uncompressedPath)
        try time("jpeg encode (quality 92, 4:4:4)") {
            try OutputFile.encode(image, format: .jpeg, recipe: recipe, info: decoded.info).count
        }
        try time("neutral develop + jpeg encode, streamed (OutputFile.develop: 8-bit row bands into libjpeg)") {
            try OutputFile.develop(decoded.plane, pipeline: full, format: .jpeg, recipe: recipe, info: decoded.info, threads: 1).count
        }
        if try OutputFile.develop(decoded.plane, pipeline: full, format: .jpeg, recipe: recipe, info: decoded.info, threads: 1)
            != OutputFile.encode(image, format: .jpeg, recipe: recipe, info: decoded.info) {
            notes.append("the streamed JPEG differs from the whole-frame JPEG: a bug (they must be byte-identical)")
        }
        try time("tiff encode (16-bit, deflate: the neutral default)") {
            try OutputFile.encode(image, format: .tiff, recipe: recipe, info: decoded.info).count
        }
        // The strip encoder against libtiff's own deflate codec (the encoder before it; no
        // metadata on either: a few hundred bytes), and on two threads (CPU: both threads).
        try time("tiff encode (16-bit, deflate, libtiff's codec: the reference, no metadata)") {
            try ImageWriter.encodeTIFF(image, deflateEncoder: .libtiff).count
        }
        try time("tiff encode (16-bit, deflate, strip encoder, no metadata)") {
            try ImageWriter.encodeTIFF(image).count
        }
        try time("tiff encode (16-bit, deflate, strip encoder on 2 threads, no metadata)") {
            try ImageWriter.encodeTIFF(image, threads: 2).count
        }
        if try ImageWriter.encodeTIFF(image, threads: 2) != ImageWriter.encodeTIFF(image, deflateEncoder: .libtiff) {
            notes.append("the strip encoder's deflate TIFF differs from libtiff's: a bug (they must be byte-identical)")
        }
        try time("neutral develop + tiff encode (deflate), streamed (OutputFile.develop: 16-bit row bands into the strip encoder)") {
            try OutputFile.develop(decoded.plane, pipeline: full, format: .tiff, recipe: recipe, info: decoded.info, threads: 1).count
        }
        if try OutputFile.develop(decoded.plane, pipeline: full, format: .tiff, recipe: recipe, info: decoded.info, threads: 2)
            != OutputFile.encode(image, format: .tiff, recipe: recipe, info: decoded.info) {
            notes.append("the streamed deflate TIFF differs from the whole-frame TIFF: a bug (they must be byte-identical)")
        }
        try time("tiff encode (16-bit, uncompressed)") {
            try OutputFile.encode(image, format: .tiff, recipe: uncompressed, info: decoded.info).count
        }
        if sink == 0 { notes.append("no output produced") }

        // End to end: the real commands as subprocesses, pinned to one core when possible.
        let taskset = BenchDemosaic.find("taskset")
        if taskset == nil { notes.append("taskset not found: commands not pinned (tessera develop runs with --threads 1)") }
        func command(_ label: String, _ tool: String, _ arguments: [String], pin: Bool = true) throws -> Stage {
            var bestWall = Double.infinity
            var best: Usage?
            for _ in 0..<runs {
                var usage = Usage(user: 0, system: 0, peakRSSKB: nil)
                let pinned = pin ? taskset.map { ($0, ["-c", "0", tool] + arguments) } ?? (tool, arguments) : (tool, arguments)
                let wall = try BenchDemosaic.wallSeconds { usage = try Self.measure(pinned.0, pinned.1, logDirectory: dir) }
                bestWall = min(bestWall, wall)
                if best.map({ usage.cpu < $0.cpu }) ?? true { best = usage }
            }
            return Stage(stage: label, seconds: bestWall, megapixelsPerSecond: megapixels / bestWall, cpuSeconds: best?.cpu,
                         userSeconds: best?.user, systemSeconds: best?.system, peakRSSMegabytes: best?.peakRSSKB.map { Double($0) / 1024 },
                         megapixels: megapixels)
        }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let ours = try command("tessera develop --recipe neutral --format tiff --threads 1 (end to end)", me,
                               ["develop", dngPath, "--out", dir + "/tessera.tiff", "--recipe", "neutral", "--format", "tiff",
                                "--threads", "1", "--overwrite"])
        stages.append(ours)
        // The same on two threads (develop bands and deflate strips), not pinned.
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            stages.append(try command("tessera develop --recipe neutral --format tiff --threads 2 (end to end, not pinned)", me,
                                      ["develop", dngPath, "--out", dir + "/tessera-2.tiff", "--recipe", "neutral", "--format", "tiff",
                                       "--threads", "2", "--overwrite"], pin: false))
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/tessera.tiff"))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/tessera-2.tiff"))
            if a != b { notes.append("tessera develop wrote different TIFF bytes with --threads 2: a bug") }
        }
        let oursNone = try command("tessera develop, neutral with an uncompressed TIFF, --threads 1 (end to end)", me,
                                   ["develop", dngPath, "--out", dir + "/tessera-none.tiff", "--recipe", uncompressedPath,
                                    "--format", "tiff", "--threads", "1", "--overwrite"])
        stages.append(oursNone)
        let oursJPEG = try command("tessera develop --recipe neutral --format jpeg --threads 1 (end to end)", me,
                                   ["develop", dngPath, "--out", dir + "/tessera.jpg", "--recipe", "neutral", "--format", "jpeg",
                                    "--threads", "1", "--overwrite"])
        stages.append(oursJPEG)
        // The JPEG end to end again with the baseline kernel forced (same-run ratio of the builds).
        var oursJPEGBaseline: Stage?
        if active != .baseline, let env = BenchDemosaic.find("env") {
            oursJPEGBaseline = try command("tessera develop --recipe neutral --format jpeg --threads 1 (end to end), TESSERA_SIMD=baseline", env,
                                           ["\(DevelopKernel.environmentVariable)=baseline", me, "develop", dngPath, "--out", dir + "/tessera-baseline.jpg",
                                            "--recipe", "neutral", "--format", "jpeg", "--threads", "1", "--overwrite"])
            stages.append(oursJPEGBaseline!)
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/tessera.jpg"))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/tessera-baseline.jpg"))
            if a != b { notes.append("tessera develop wrote different JPEG bytes with TESSERA_SIMD=baseline: a bug") }
        }
        var kernelSpeedup: [String: Double]?
        if active != .baseline, let base = kernelCPU[.baseline], let mine = kernelCPU[active], mine > 0 {
            kernelSpeedup = ["neutral-develop": base / mine]
            if let b = oursJPEGBaseline?.cpuSeconds, let j = oursJPEG.cpuSeconds, j > 0 { kernelSpeedup?["jpeg-end-to-end"] = b / j }
        }
        var dcraw: Stage?
        if let tool = BenchDemosaic.find("dcraw_emu") {
            let theirs = try command("dcraw_emu -q 3 -T (end to end)", tool, ["-q", "3", "-T", "-Z", dir + "/dcraw.tiff", dngPath])
            stages.append(theirs)
            dcraw = theirs
        } else {
            notes.append("dcraw_emu not found (apt-get install libraw-bin): no baseline")
        }

        let report = Report(width: width, height: height, stages: stages, tesseraDevelopSeconds: ours.seconds,
                            dcrawSeconds: dcraw?.seconds, speedupOverDcraw: dcraw.map { $0.seconds / ours.seconds },
                            cpuSpeedupOverDcraw: dcraw.map { d in
                                ["tiff-deflate": ours, "tiff-none": oursNone, "jpeg": oursJPEG].mapValues { (d.cpuSeconds ?? 0) / max($0.cpuSeconds ?? 0, 1e-9) }
                            },
                            pinnedToOneCore: taskset != nil, kernel: active.rawValue, kernelSpeedup: kernelSpeedup, notes: notes)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("Develop speed, \(width)x\(height) synthetic DNG (seed \(seed)), one thread\(taskset != nil ? "; commands pinned with taskset -c 0" : ""), best of \(runs)")
        print("kernel: \(active) (\(DevelopKernel.environmentVariable)=\(ProcessInfo.processInfo.environment[DevelopKernel.environmentVariable] ?? "unset"); builds supported here: \(DevelopKernel.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", ")))")
        print("| stage | wall s | MP/s (wall) | CPU s | MP/s per core (CPU) | user s | sys s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|")
        func figure(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "–" }
        for s in stages {
            print(String(format: "| %@ | %.3f | %.1f | %@ | %@ | %@ | %@ | %@ |", s.stage, s.seconds, s.megapixelsPerSecond,
                         figure(s.cpuSeconds, "%.3f"), figure(s.megapixelsPerCPUSecond, "%.1f"), figure(s.userSeconds, "%.3f"),
                         figure(s.systemSeconds, "%.3f"), figure(s.peakRSSMegabytes, "%.0f")))
        }
        if let d = dcraw {
            func verdict(_ theirs: Double, _ mine: Double) -> String {
                String(format: "%.2f× %@", theirs >= mine ? theirs / mine : mine / theirs, theirs >= mine ? "faster" : "slower")
            }
            let dcrawCPU = d.cpuSeconds ?? 0
            // The goal's comparison: both write an 8-bit deliverable (dcraw_emu -T: an 8-bit
            // uncompressed TIFF; tessera: the JPEG a studio ships), one core, CPU seconds.
            if let jpegCPU = oursJPEG.cpuSeconds, jpegCPU > 0 {
                print(String(format: "goal (≥ 3× on one core, 8-bit output, CPU): tessera develop → JPEG %.3f s vs dcraw_emu -q 3 -T %.3f s: %.2f× — %@",
                             jpegCPU, dcrawCPU, dcrawCPU / jpegCPU, dcrawCPU / jpegCPU >= 3 ? "met" : "not met"))
            }
            print(String(format: "wall: tessera develop (deflate TIFF) %.3f s vs dcraw_emu -q 3 -T %.3f s: tessera is %@", ours.seconds, d.seconds,
                         verdict(d.seconds, ours.seconds)))
            for (name, mine) in [("16-bit deflate TIFF", ours), ("16-bit uncompressed TIFF", oursNone), ("JPEG", oursJPEG)] {
                let cpu = mine.cpuSeconds ?? 0
                print(String(format: "CPU: tessera develop (%@) %.3f s vs dcraw_emu -q 3 -T %.3f s: tessera is %@", name, cpu, dcrawCPU,
                             verdict(dcrawCPU, cpu)))
            }
        }
        for (name, ratio) in (kernelSpeedup ?? [:]).sorted(by: { $0.key < $1.key }) {
            print(String(format: "kernel: %@ %.2f× faster than baseline (%@, CPU seconds, same run; identical bytes)", active.rawValue, ratio, name))
        }
        for note in notes { print("note: \(note)") }
    }

    /// CPU seconds and peak resident set of one child process.
    struct Usage {
        var user: Double
        var system: Double
        /// Nil without `/usr/bin/time`.
        var peakRSSKB: Int?
        var cpu: Double { user + system }
    }

    /// Runs `path arguments` (output to a log file in `logDirectory`, shown on failure) and
    /// returns the child's CPU seconds from its `wait4` rusage (microseconds, its own run only)
    /// and its peak RSS. The RSS comes from `/usr/bin/time -f %M` around the command: a process
    /// spawned from this one (vfork + exec) starts its `ru_maxrss` at this process's size, one
    /// that `time` forks does not. `wait4` on `time` counts the command's CPU (RUSAGE_BOTH) and
    /// `time`'s own few milliseconds.
    static func measure(_ path: String, _ arguments: [String], logDirectory: String) throws -> Usage {
        let log = logDirectory + "/command.log", rssFile = logDirectory + "/command.rss"
        let timer = "/usr/bin/time"
        let timed = FileManager.default.isExecutableFile(atPath: timer)
        let command = timed ? [timer, "-f", "%M", "-o", rssFile, path] + arguments : [path] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw ValidationError("cannot run \(command[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw ValidationError("wait4 for \(path) failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED && WEXITSTATUS == 0 (the macros do not import).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ValidationError("\(command.joined(separator: " ")) failed (status \(status)): \(output)")
        }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let rss = timed ? (try? String(contentsOfFile: rssFile, encoding: .utf8)).flatMap { Int($0.split(separator: "\n").last ?? "") } : nil
        return Usage(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime), peakRSSKB: rss)
    }
}
