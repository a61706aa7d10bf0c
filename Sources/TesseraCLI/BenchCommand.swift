import ArgumentParser
import Foundation
import TesseraCore
import TesseraImaging

/// `tessera bench`: benchmarks that print ratios to a baseline measured in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release for meaningful numbers).",
        subcommands: [BenchDemosaic.self, BenchDevelop.self, BenchBurst.self, BenchTransport.self, BenchOps.self,
                      BenchDispatch.self, BenchFarm.self, BenchRestart.self, BenchRogue.self, BenchRoguePeers.self])
}

/// `tessera bench demosaic`: quality and speed of every demosaic on one noiseless synthetic
/// DNG, against LibRaw's AHD (`dcraw_emu -q 3`) and, when installed, RawTherapee's AMaZE and
/// LMMSE (`rawtherapee-cli`).
///
/// What is compared: every output is brought to linear sRGB and compared with the
/// synthesiser's linear-sRGB truth over the frame minus an 8-px border, after a per-channel
/// least-squares gain fit (PSNR, peak 1.0 = white). Ours and `dcraw_emu` demosaic the same
/// white-balanced camera data (`dcraw_emu -q 3 -4 -T -o 0 -H 1 -r <as-shot multipliers>`:
/// linear 16-bit, camera space, multipliers normalised to the largest so nothing clips) and get
/// the same camera→sRGB matrix (LibRaw's `rgb_cam`) applied by the bench; RawTherapee converts
/// with the DNG's ColorMatrix to sRGB itself (`RTv4_sRGB` output, camera white balance, no
/// sharpening/CA correction) and its sRGB curve is undone.
struct BenchDemosaic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demosaic",
        abstract: "PSNR and MP/s per core of bilinear, MHC and RCD vs dcraw_emu AHD (and RawTherapee AMaZE/LMMSE if installed).")

    @Option(help: "Frame size as WIDTHxHEIGHT.")
    var size: String = "1536x1024"

    @Option(help: "Scene seed.")
    var seed: UInt64 = 7

    @Option(help: "Timed repetitions of each in-process method (the best is reported).")
    var repeats: Int = 3

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// One row of the table.
    struct Row: Codable {
        var method: String
        /// PSNR (dB) over the border-cropped frame; without the sub-Nyquist "hard" line pairs;
        /// over hard edges (text, gratings, saturated discs, slanted edge, colour checker).
        var psnrFrame: Double
        var psnrWithoutHardLines: Double
        var psnrHardEdges: Double
        /// Seconds for the demosaic alone (in-process methods: wall clock on one thread, best of
        /// the repeats) or CPU seconds of the whole external run.
        var seconds: Double
        /// Megapixels per second per core for `seconds`.
        var megapixelsPerSecondPerCore: Double
        /// What `seconds` covers.
        var timing: String
    }

    /// The whole report.
    struct Report: Codable {
        var width: Int
        var height: Int
        var rows: [Row]
        /// End to end on one core: LibRaw decode + RCD develop (linear, 16-bit) + TIFF encode.
        var tesseraRCDEndToEndSeconds: Double
        var dcrawAHDEndToEndSeconds: Double?
        /// `tesseraRCDEndToEndSeconds / dcrawAHDEndToEndSeconds`.
        var ratioToDcraw: Double?
        var notes: [String]
    }

    func parseSize() throws -> (Int, Int) {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (64...20_000).contains(parts[0]), (64...20_000).contains(parts[1]) else {
            throw ValidationError("--size must be WIDTHxHEIGHT with each side 64...20000, e.g. 1536x1024")
        }
        return (parts[0], parts[1])
    }

    func run() throws {
        let (width, height) = try parseSize()
        var notes: [String] = []
        let dir = NSTemporaryDirectory() + "tessera-bench-demosaic-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // A noiseless shoot: no read noise, a practically infinite full well.
        var options = SynthOptions(frames: 1, width: width, height: height, iso: 100, seed: seed, pattern: .rggb, margin: 0)
        options.readNoiseElectrons = 0
        options.fullWellISO100 = 1e13
        let manifest = try ShootSynthesizer.plan(options)
        let frame = manifest.frames[0]
        let truth = ShootSynthesizer.renderTruth(frame, options: options)
        let plane = ShootSynthesizer.mosaic(truth, frame: frame, options: options)
        let dngPath = dir + "/IMG_0001.dng"
        let dng = try DNGWriter.encode(ShootSynthesizer.dngImage(plane, frame: frame, options: options))
        guard FileManager.default.createFile(atPath: dngPath, contents: Data(dng)) else {
            throw ValidationError("cannot write \(dngPath)")
        }

        // Regions.
        let crop = PixelRect(x: 8, y: 8, width: width - 16, height: height - 16)
        func region(_ name: String, inset: Int = 0) -> PixelRect {
            guard let r = manifest.scene.regions.first(where: { $0.name == name }) else { return PixelRect(x: 0, y: 0, width: 0, height: 0) }
            let x0 = Int(r.x.rounded(.up)) + inset, y0 = Int(r.y.rounded(.up)) + inset
            let x1 = Int((r.x + r.width).rounded(.down)) - inset, y1 = Int((r.y + r.height).rounded(.down)) - inset
            return PixelRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0)).intersection(crop)
        }
        let hardLines = region("hard", inset: -2)
        let hardEdges = ["text", "gratings", "discs", "slanted-edge", "checker"].map { region($0) }
        func measure(_ image: RGBImageF) -> (Double, Double, Double) {
            (DemosaicQuality.psnr(image, reference: truth, rects: [crop]),
             DemosaicQuality.psnr(image, reference: truth, rects: [crop], excluding: [hardLines]),
             DemosaicQuality.psnr(image, reference: truth, rects: hardEdges))
        }

        let decoded = try RawDecoder.decode(path: dngPath)
        let info = decoded.info
        let megapixels = Double(width * height) / 1e6
        var rows: [Row] = []

        // In-process: the pipeline's raw stage output, demosaiced by each method (timed alone).
        for method in DemosaicMethod.allCases {
            var settings = try DevelopSettings.resolve(recipe: .neutral, info: info)
            settings.demosaic = method
            settings.transfer = .linear
            let pipeline = try DevelopPipeline(settings: settings)
            let core = PixelRect(x: 0, y: 0, width: width, height: height)
            let window = pipeline.cfaWindow(forOutput: core)
            let input = Developer.window(window, of: decoded.plane)
            let image = try pipeline.developLinear(input, inputRect: window, core: core)
            // Time the demosaic alone on the same normalised mosaic, single thread; RCD with
            // every kernel build this CPU runs, active last (same bits, same PSNR).
            let mosaic = Self.normalisedMosaic(input, rect: window, settings: settings)
            let q = measure(image)
            let active = DevelopKernel.active
            let kernels = method == .rcd ? DevelopKernel.allCases.filter { $0.isSupported && $0 != active } + [active] : [active]
            for kernel in kernels {
                var best = Double.infinity
                var sink: Float = 0
                for _ in 0..<max(1, repeats) {
                    let seconds = try mosaic.withUnsafeBufferPointer { buffer in
                        try Self.wallSeconds {
                            let out = Demosaicer.demosaic(MosaicView(samples: buffer.baseAddress!, rect: window, cfa: info.cfa), output: core,
                                                          method: method, kernel: kernel)
                            // Consume the result so the optimiser cannot drop the work.
                            sink += out.pixels.withUnsafeBufferPointer { p in stride(from: 0, to: p.count, by: 997).reduce(0) { $0 + p[$1] } }
                        }
                    }
                    best = min(best, seconds)
                }
                if !sink.isFinite { notes.append("\(method): non-finite output") }
                let name = method == .bilinear ? "bilinear (reference)" : "tessera \(method.rawValue)"
                rows.append(Row(method: method == .rcd ? "\(name) (\(kernel.rawValue) kernel)" : name,
                                psnrFrame: q.0, psnrWithoutHardLines: q.1, psnrHardEdges: q.2, seconds: best,
                                megapixelsPerSecondPerCore: megapixels / best, timing: "demosaic only, 1 thread, wall, best of \(max(1, repeats))"))
            }
        }

        // End to end, one core: decode + RCD develop + TIFF encode.
        var endToEnd = Double.infinity
        for _ in 0..<max(1, repeats) {
            endToEnd = min(endToEnd, try Self.cpuSeconds {
                let raw = try RawDecoder.decode(path: dngPath)
                var settings = try DevelopSettings.resolve(recipe: .neutral, info: raw.info)
                settings.demosaic = .rcd
                let image = try Developer.developFrame(raw, settings: settings, threads: 1)
                _ = try ImageWriter.encode(image, format: .tiff)
            })
        }

        // LibRaw's AHD (and its bilinear, to tell the demosaic's share of its time).
        var dcrawSeconds: Double?
        let multipliers = info.asShotMultipliers
        let mulArgs = [multipliers[0], multipliers[1], multipliers[2], multipliers[1]].map { String(format: "%.6f", $0) }
        if let dcraw = Self.find("dcraw_emu") {
            for (quality, label) in [(3, "dcraw_emu -q 3 (AHD)"), (0, "dcraw_emu -q 0 (bilinear)")] {
                let out = dir + "/dcraw-q\(quality).tiff"
                var best = Double.infinity
                for _ in 0..<max(1, repeats) {
                    best = min(best, try Self.runTool(dcraw, ["-q", "\(quality)", "-4", "-T", "-o", "0", "-H", "1", "-r"] + mulArgs + ["-Z", out, dngPath]))
                }
                let image16 = try ImageReader.read(path: out)
                guard image16.width == width, image16.height == height else {
                    throw ValidationError("\(label) wrote \(image16.width)x\(image16.height), expected \(width)x\(height)")
                }
                let q = measure(Self.toSRGBLinear(image16, matrix: info.cameraToSRGB.m))
                rows.append(Row(method: label, psnrFrame: q.0, psnrWithoutHardLines: q.1, psnrHardEdges: q.2, seconds: best,
                                megapixelsPerSecondPerCore: megapixels / best, timing: "whole process (decode, demosaic, TIFF), CPU"))
                if quality == 3 { dcrawSeconds = best }
            }
        } else {
            notes.append("dcraw_emu not found (apt-get install libraw-bin): AHD row missing")
        }

        // RawTherapee's AMaZE and LMMSE.
        if let rt = Self.find("rawtherapee-cli") {
            for method in ["amaze", "lmmse", "rcd"] {
                let profile = dir + "/\(method).pp3"
                let text = """
                    [Version]
                    AppVersion=5.9
                    Version=346

                    [RAW Bayer]
                    Method=\(method)

                    [RAW]
                    CA=false

                    [Sharpening]
                    Enabled=false

                    [White Balance]
                    Setting=Camera

                    [Color Management]
                    WorkingProfile=sRGB
                    OutputProfile=RTv4_sRGB

                    """
                try text.write(toFile: profile, atomically: true, encoding: .utf8)
                let out = dir + "/rt-\(method).tif"
                var best = Double.infinity
                for _ in 0..<max(1, repeats) {
                    best = min(best, try Self.runTool(rt, ["-q", "-Y", "-o", out, "-b16", "-t", "-p", profile, "-c", dngPath]))
                }
                // RawTherapee drops a border of a few pixels on every side: place its output
                // centred in the frame (the 8-px crop of the measurement covers the gap).
                let image16 = try ImageReader.read(path: out)
                let dx = (width - image16.width) / 2, dy = (height - image16.height) / 2
                guard dx >= 0, dy >= 0, dx <= 8, dy <= 8, width - image16.width == 2 * dx, height - image16.height == 2 * dy else {
                    notes.append("rawtherapee-cli \(method) wrote \(image16.width)x\(image16.height) for \(width)x\(height): skipped")
                    continue
                }
                if dx > 0 || dy > 0, !notes.contains(where: { $0.hasPrefix("rawtherapee-cli output") }) {
                    notes.append("rawtherapee-cli output is \(image16.width)x\(image16.height) (a \(dx)-px border removed): compared centred")
                }
                let q = measure(Self.fromSRGB(image16, placedIn: FrameSize(width: width, height: height), at: (dx, dy)))
                rows.append(Row(method: "rawtherapee-cli \(method)", psnrFrame: q.0, psnrWithoutHardLines: q.1, psnrHardEdges: q.2,
                                seconds: best, megapixelsPerSecondPerCore: megapixels / best, timing: "whole process, CPU (all threads)"))
            }
        } else {
            notes.append("rawtherapee-cli not found (apt-get install -y rawtherapee): AMaZE/LMMSE rows missing")
        }

        let report = Report(width: width, height: height, rows: rows, tesseraRCDEndToEndSeconds: endToEnd,
                            dcrawAHDEndToEndSeconds: dcrawSeconds, ratioToDcraw: dcrawSeconds.map { endToEnd / $0 }, notes: notes)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("Demosaic, \(width)x\(height) noiseless synthetic DNG (seed \(seed)); PSNR in linear sRGB vs truth, 8-px border cropped, per-channel gain fit")
            print("kernel: \(DevelopKernel.active) (\(DevelopKernel.environmentVariable)=\(ProcessInfo.processInfo.environment[DevelopKernel.environmentVariable] ?? "unset"))")
            print("| method | PSNR frame | PSNR w/o hard lines | PSNR hard edges | seconds | MP/s per core | timing |")
            print("|---|---|---|---|---|---|---|")
            for r in rows {
                print(String(format: "| %@ | %.2f | %.2f | %.2f | %.3f | %.1f | %@ |", r.method, r.psnrFrame, r.psnrWithoutHardLines,
                             r.psnrHardEdges, r.seconds, r.megapixelsPerSecondPerCore, r.timing))
            }
            var line = String(format: "End to end on one core (decode + RCD develop + TIFF): tessera %.3f s", endToEnd)
            if let d = dcrawSeconds { line += String(format: ", dcraw_emu -q 3 %.3f s, ratio %.2f", d, endToEnd / d) }
            print(line)
            for note in notes { print("note: \(note)") }
        }
    }

    /// The raw stage's output for `rect` (black, white, white balance), as the pipeline computes it.
    static func normalisedMosaic(_ input: RawPlane, rect: PixelRect, settings: DevelopSettings) -> [Float] {
        var out = [Float](repeating: 0, count: rect.area)
        for y in 0..<rect.height {
            for x in 0..<rect.width {
                let cell = CFAPattern.cell(x: rect.x + x, y: rect.y + y)
                let colour = Int(settings.cfa.colors[cell].rawValue)
                let scale = Float(settings.wbMultipliers[colour] / (settings.whiteLevel - settings.blackLevels[cell]))
                out[y * rect.width + x] = (Float(input.pixels[y * rect.width + x]) - Float(settings.blackLevels[cell])) * scale
            }
        }
        return out
    }

    /// 16-bit camera RGB → linear sRGB with `matrix` (row-major 3×3), scale 1/65535.
    static func toSRGBLinear(_ image: RGBImage16, matrix m: [Double]) -> RGBImageF {
        var out = RGBImageF(width: image.width, height: image.height)
        for i in 0..<(image.width * image.height) {
            let r = Double(image.pixels[i * 3]) / 65535, g = Double(image.pixels[i * 3 + 1]) / 65535, b = Double(image.pixels[i * 3 + 2]) / 65535
            for c in 0..<3 { out.pixels[i * 3 + c] = Float(m[c * 3] * r + m[c * 3 + 1] * g + m[c * 3 + 2] * b) }
        }
        return out
    }

    /// 16-bit sRGB-encoded → linear, placed at `offset` in a frame of `size` (zeros around it).
    static func fromSRGB(_ image: RGBImage16, placedIn size: FrameSize, at offset: (Int, Int)) -> RGBImageF {
        let table = (0...65535).map { v -> Float in
            let e = Double(v) / 65535
            return Float(e <= 0.04045 ? e / 12.92 : pow((e + 0.055) / 1.055, 2.4))
        }
        var out = RGBImageF(width: size.width, height: size.height)
        for y in 0..<image.height {
            for x in 0..<(image.width * 3) {
                out.pixels[((y + offset.1) * size.width + offset.0) * 3 + x] = table[Int(image.pixels[y * image.width * 3 + x])]
            }
        }
        return out
    }

    /// Wall-clock seconds of `body` (for short single-threaded work: CPU accounting may be tick-based).
    static func wallSeconds(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try clock.measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// CPU seconds (user + system) this process spends in `body`.
    static func cpuSeconds(_ body: () throws -> Void) throws -> Double {
        let before = usage(__rusage_who_t(RUSAGE_SELF.rawValue))
        try body()
        return usage(__rusage_who_t(RUSAGE_SELF.rawValue)) - before
    }

    /// User + system seconds of `who` (RUSAGE_SELF or RUSAGE_CHILDREN).
    static func usage(_ who: __rusage_who_t) -> Double {
        var u = rusage()
        getrusage(who, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// Runs an external tool, returns the CPU seconds it used; throws with its output on failure.
    static func runTool(_ path: String, _ arguments: [String]) throws -> Double {
        let before = usage(__rusage_who_t(RUSAGE_CHILDREN.rawValue))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(path) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
        }
        return usage(__rusage_who_t(RUSAGE_CHILDREN.rawValue)) - before
    }

    /// The absolute path of `tool` on PATH, if any.
    static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
