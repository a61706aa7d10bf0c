import Dispatch
import Foundation
import TesseraCore

/// How a truth image is encoded to 16 bits.
public enum SynthTransfer: Sendable, Hashable {
    /// Linear light: 1.0 → 65535, clipped, rounded.
    case linear
    /// The sRGB transfer curve (IEC 61966-2-1) applied, then 1.0 → 65535, rounded.
    case sRGB
}

/// `tessera synth`: synthetic shoots with ground truth.
///
/// A shoot is a procedural scene (colour checker, slanted edge, gratings, saturated discs,
/// texture, text, a hard near-Nyquist region, gradients) seen by a simulated 14-bit Bayer camera
/// with Poisson–Gaussian noise, written as DNGs plus, per frame, the noise-free linear-sRGB
/// truth. Bursts add sub-pixel camera shifts and a moving object. Everything is a pure function
/// of ``SynthOptions``: same options ⇒ byte-identical files, whatever the thread count.
///
/// Threading: every function is safe to call from any thread; rendering fans rows out over
/// `options.threads` worker threads (Dispatch) and blocks the caller until done — call it off
/// the cooperative pool for large frames.
public enum ShootSynthesizer {
    /// Plans a shoot without rendering: per-frame geometry, exposure, levels and times.
    public static func plan(_ options: SynthOptions) throws(SynthError) -> SynthManifest {
        try options.validate()
        let scene = SynthScene(width: options.width, height: options.height, seed: options.seed)
        let camera = SynthCamera.standard
        let fullWell = options.fullWellISO100 * 100 / Double(options.iso)
        let meanBlack = options.blackLevels.reduce(0, +) / 4
        let noise = DNGNoiseProfile(
            scale: 1 / fullWell,
            offset: (options.readNoiseElectrons * options.readNoiseElectrons) / (fullWell * fullWell)
                + (1.0 / 12) / ((Double(options.whiteLevel) - meanBlack) * (Double(options.whiteLevel) - meanBlack)))
        let exposureTime = (1.0 / 125) * 100 / Double(options.iso)
        let k = options.burstSize
        let bursts = (options.frames + k - 1) / k
        var frames: [SynthFrame] = []
        frames.reserveCapacity(options.frames)
        var burstStartMs: Int64 = 0
        let W = Double(options.width), H = Double(options.height)
        for b in 0..<bursts {
            var rng = SplitMix64(seed: options.seed ^ 0x504C_414E, stream: UInt64(b))  // "PLAN"
            let gapMs = Int64(3000 + rng.next() % 5001)
            if b > 0 { burstStartMs += gapMs }
            // The burst's moving object (drawn even for K = 1 to keep the stream layout fixed).
            let c0 = SIMD2(W * (0.2 + 0.6 * rng.nextUnit()), H * (0.25 + 0.5 * rng.nextUnit()))
            let speed = 3 + 3 * rng.nextUnit(), direction = 2 * Double.pi * rng.nextUnit()
            let velocity = SIMD2(speed * cos(direction), speed * sin(direction))
            let radius = max(6, (0.07 * min(W, H)).rounded())
            let palette: [[Double]] = [[0.85, 0.35, 0.05], [0.10, 0.55, 0.85], [0.75, 0.10, 0.55], [0.30, 0.75, 0.15]]
            let color = palette[Int(rng.next() % UInt64(palette.count))]
            let angle = Double.pi * rng.nextUnit()
            var tMs = burstStartMs
            for j in 0..<k {
                let index = b * k + j
                guard index < options.frames else { break }
                if j > 0 { tMs += Int64(92 + rng.next() % 17) }  // ~1/10 s apart
                var shift = SynthShift(dx: 0, dy: 0)
                let ux = rng.nextUnit(), uy = rng.nextUnit()
                if j > 0 {
                    shift = SynthShift(dx: ((2 * ux - 1) * options.maxShift * 64).rounded() / 64,
                                       dy: ((2 * uy - 1) * options.maxShift * 64).rounded() / 64)
                }
                var object: SynthObject? = nil
                if k > 1 {
                    let c = c0 + velocity * Double(j) - SIMD2(shift.dx, shift.dy)
                    let reach = radius + 0.5 * scene.edge
                    let box = SynthBox(x: c.x - reach, y: c.y - reach, width: 2 * reach, height: 2 * reach)
                    let px0 = max(0, Int(box.x.rounded(.down))), py0 = max(0, Int(box.y.rounded(.down)))
                    let px1 = min(options.width, Int((box.x + box.width).rounded(.up)))
                    let py1 = min(options.height, Int((box.y + box.height).rounded(.up)))
                    let pixelBox = px1 > px0 && py1 > py0 ? PixelRect(x: px0, y: py0, width: px1 - px0, height: py1 - py0) : nil
                    object = SynthObject(centerX: c.x, centerY: c.y, radius: radius, velocityX: velocity.x, velocityY: velocity.y,
                                         box: box, pixelBox: pixelBox, color: color, stripeAngle: angle)
                }
                let (date, subsec) = exifTime(milliseconds: tMs)
                let stem = "IMG_" + pad4(index + 1)
                frames.append(SynthFrame(
                    index: index, fileName: stem + ".dng", linearTruthFileName: stem + ".linear.tif", srgbTruthFileName: stem + ".srgb.tif",
                    burst: b, indexInBurst: j, shift: shift, object: object, iso: options.iso, exposureTime: exposureTime,
                    fNumber: 5.6, focalLength: 35, exposureScale: options.exposureScale, noise: noise,
                    fullWellElectrons: fullWell, readNoiseElectrons: options.readNoiseElectrons,
                    blackLevels: options.blackLevels, whiteLevel: options.whiteLevel, cfa: options.pattern.description,
                    margin: options.margin, colorMatrix: camera.colorMatrix1, asShotNeutral: camera.asShotNeutral,
                    dateTimeOriginal: date, subSecTimeOriginal: subsec, timeSeconds: Double(tMs) / 1000))
            }
            burstStartMs = tMs
        }
        let scenery = SynthSceneDescription(
            coordinates: "scene pixels; frame pixel (x, y) integrates the scene over [x+dx, x+dx+1) x [y+dy, y+dy+1) where (dx, dy) is the frame's shift",
            illuminant: "D65",
            linearTruth: "16-bit RGB TIFF, linear sRGB primaries, 1.0 -> 65535, clipped, rounded",
            srgbTruth: "16-bit RGB TIFF, sRGB transfer curve, 1.0 -> 65535, rounded",
            regions: scene.regions,
            checkerPatchesLinearSRGB: scene.checker.map { [$0.x, $0.y, $0.z] })
        return SynthManifest(
            generator: "tessera synth", version: 1, seed: options.seed, width: options.width, height: options.height,
            sensorWidth: options.width + 2 * options.margin, sensorHeight: options.height + 2 * options.margin,
            burstSize: options.burstSize, maxShift: options.maxShift, make: options.make, model: options.model,
            camera: camera, scene: scenery, frames: frames)
    }

    /// The noise-free linear-sRGB truth of frame `frame` (0-based): the scene integrated over
    /// every pixel, `width × height`, values in [0, 1].
    public static func renderTruth(_ options: SynthOptions, frame: Int) throws(SynthError) -> RGBImageF {
        let manifest = try plan(options)
        guard manifest.frames.indices.contains(frame) else { throw .noSuchFrame(index: frame, frames: manifest.frames.count) }
        return renderTruth(manifest.frames[frame], options: options)
    }

    /// The truth of a planned frame (from ``plan(_:)``). `options` must be the plan's options.
    public static func renderTruth(_ frame: SynthFrame, options: SynthOptions) -> RGBImageF {
        let scene = SynthScene(width: options.width, height: options.height, seed: options.seed)
        var objectLayer: SynthScene.Layer? = nil
        if let o = frame.object {
            // Back to scene coordinates.
            let c = SIMD2(o.centerX + frame.shift.dx, o.centerY + frame.shift.dy)
            objectLayer = SynthScene.objectLayer(center: c, radius: o.radius, color: SIMD3(o.color), angle: o.stripeAngle)
        }
        let renderer = SynthFrameRenderer(scene: scene, shift: frame.shift, object: objectLayer, supersampling: options.supersampling)
        let width = options.width
        var pixels = [Float](repeating: 0, count: width * options.height * 3)
        pixels.withUnsafeMutableBufferPointer { buffer in
            let out = SynthSendablePointer(buffer.baseAddress!)
            parallelRows(options.height, threads: options.threads) { rows in
                let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 3 * width)
                defer { scratch.deallocate() }
                for y in rows { renderer.render(row: y, into: out.pointer + y * width * 3, scratch: scratch) }
            }
        }
        return RGBImageF(width: width, height: options.height, pixels: pixels)
    }

    /// The noisy CFA plane of a planned frame: the full sensor (`width + 2·margin` ×
    /// `height + 2·margin`), masked border at black level plus read noise.
    ///
    /// Camera model: `raw_c = black_c + (white − black_c) · exposureScale · (M · rgb)_c` with
    /// `M` = ``SynthCamera/cameraFromLinearSRGB``, then Poisson shot noise on
    /// `fullWell · exposureScale · (M · rgb)_c` electrons (exact below 32 e⁻, Gaussian above),
    /// Gaussian read noise, rounding and clipping to [0, white]. Row `y` draws from the stream
    /// `SplitMix64(seed: seed ^ 0x4E4F495345, stream: frame << 24 | y)`.
    public static func mosaic(_ truth: RGBImageF, frame: SynthFrame, options: SynthOptions) -> RawPlane {
        precondition(truth.width == options.width && truth.height == options.height, "truth size differs from the options")
        let m = options.margin
        let sensorW = options.width + 2 * m, sensorH = options.height + 2 * m
        let camera = SynthCamera.standard.cameraFromLinearSRGB.map { $0 * options.exposureScale }
        let pattern = options.pattern
        let fullWell = frame.fullWellElectrons
        let readNoise = frame.readNoiseElectrons
        let white = Double(options.whiteLevel)
        let blacks = options.blackLevels
        let gains = blacks.map { (white - $0) / fullWell }
        let seed = options.seed ^ 0x4E_4F49_5345  // "NOISE"
        let frameKey = UInt64(frame.index) << 24
        let activeW = options.width, activeH = options.height
        var pixels = [UInt16](repeating: 0, count: sensorW * sensorH)
        truth.pixels.withUnsafeBufferPointer { truthBuffer in
            pixels.withUnsafeMutableBufferPointer { buffer in
                let out = SynthSendablePointer(buffer.baseAddress!)
                let src = SynthSendablePointer(UnsafeMutablePointer(mutating: truthBuffer.baseAddress!))
                parallelRows(sensorH, threads: options.threads) { rows in
                    for sy in rows {
                        var noise = SynthNoise(rng: SplitMix64(seed: seed, stream: frameKey | UInt64(sy)))
                        let y = sy - m
                        let row = out.pointer + sy * sensorW
                        let inside = y >= 0 && y < activeH
                        // Per parity of x: camera row, black level and gain of this row's two cells.
                        let cells = (CFAPattern.cell(x: -m, y: y), CFAPattern.cell(x: 1 - m, y: y))
                        let colors = (Int(pattern.color(x: -m, y: y).rawValue) * 3, Int(pattern.color(x: 1 - m, y: y).rawValue) * 3)
                        let k0 = SIMD3(camera[colors.0], camera[colors.0 + 1], camera[colors.0 + 2])
                        let k1 = SIMD3(camera[colors.1], camera[colors.1 + 1], camera[colors.1 + 2])
                        let black0 = blacks[cells.0], black1 = blacks[cells.1]
                        let gain0 = gains[cells.0], gain1 = gains[cells.1]
                        for sx in 0..<sensorW {
                            let x = sx - m
                            let odd = sx & 1 == 1
                            var signal = 0.0
                            if inside && x >= 0 && x < activeW {
                                let p = src.pointer + (y * activeW + x) * 3
                                let k = odd ? k1 : k0
                                signal = k.x * Double(p[0]) + k.y * Double(p[1]) + k.z * Double(p[2])
                            }
                            let lambda = max(0, signal) * fullWell
                            let electrons: Double
                            if lambda < 32 {
                                electrons = noise.poisson(lambda) + readNoise * noise.gaussian()
                            } else {
                                electrons = lambda + (lambda + readNoise * readNoise).squareRoot() * noise.gaussian()
                            }
                            let dn = odd ? (black1 + electrons * gain1).rounded() : (black0 + electrons * gain0).rounded()
                            row[sx] = UInt16(max(0, min(white, dn)))
                        }
                    }
                }
            }
        }
        return RawPlane(width: sensorW, height: sensorH, pixels: pixels)
    }

    /// Renders frame `frame` (0-based) and returns its noisy sensor plane.
    public static func mosaic(_ options: SynthOptions, frame: Int) throws(SynthError) -> RawPlane {
        let manifest = try plan(options)
        guard manifest.frames.indices.contains(frame) else { throw .noSuchFrame(index: frame, frames: manifest.frames.count) }
        let f = manifest.frames[frame]
        return mosaic(renderTruth(f, options: options), frame: f, options: options)
    }

    /// The DNG (plane + metadata) of a planned frame.
    public static func dngImage(_ plane: RawPlane, frame: SynthFrame, options: SynthOptions) -> DNGImage {
        let m = options.margin
        let metadata = DNGMetadata(
            make: options.make, model: options.model, cfa: options.pattern,
            activeArea: m > 0 ? PixelRect(x: m, y: m, width: options.width, height: options.height) : nil,
            blackLevels: frame.blackLevels, whiteLevel: frame.whiteLevel, colorMatrix1: Matrix3(frame.colorMatrix),
            calibrationIlluminant1: SynthCamera.standard.calibrationIlluminant, asShotNeutral: frame.asShotNeutral,
            noiseProfile: [frame.noise, frame.noise, frame.noise], orientation: 1, iso: frame.iso,
            exposureTime: frame.exposureTime, fNumber: frame.fNumber, focalLength: frame.focalLength,
            dateTimeOriginal: frame.dateTimeOriginal, subSecTimeOriginal: frame.subSecTimeOriginal, software: "tessera synth")
        return DNGImage(plane: plane, metadata: metadata)
    }

    /// Encodes a truth image to 16 bits per channel (row-parallel; deterministic).
    public static func encodeTruth(_ truth: RGBImageF, transfer: SynthTransfer, threads: Int = 0) -> RGBImage16 {
        let width = truth.width
        var pixels = [UInt16](repeating: 0, count: truth.pixels.count)
        truth.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                let s = SynthSendablePointer(UnsafeMutablePointer(mutating: src.baseAddress!))
                let d = SynthSendablePointer(dst.baseAddress!)
                parallelRows(truth.height, threads: threads) { rows in
                    for y in rows {
                        let range = (y * width * 3)..<((y + 1) * width * 3)
                        switch transfer {
                        case .linear:
                            for i in range { d.pointer[i] = UInt16((Double(max(0, min(1, s.pointer[i]))) * 65535).rounded()) }
                        case .sRGB:
                            sRGBTable.withUnsafeBufferPointer { table in
                                for i in range {
                                    // Linear interpolation in a 2¹⁶-interval table of the curve (error < 0.01 code).
                                    let t = Double(max(0, min(1, s.pointer[i]))) * 65536
                                    let j = min(Int(t), 65535)
                                    let f = t - Double(j)
                                    let v = table[j] + (table[j + 1] - table[j]) * f
                                    d.pointer[i] = UInt16((v * 65535).rounded())
                                }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage16(width: width, height: truth.height, pixels: pixels)
    }

    /// The sRGB transfer curve at 65537 evenly spaced linear values 0…1.
    static let sRGBTable: [Double] = (0...65536).map { i in
        let v = Double(i) / 65536
        return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
    }

    /// The manifest as stable JSON (sorted keys, pretty-printed, trailing newline).
    public static func manifestJSON(_ manifest: SynthManifest) throws(SynthError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do { return [UInt8](try encoder.encode(manifest)) + [0x0A] } catch {
            throw .cannotWrite(path: "manifest.json", reason: "JSON encoding failed: \(error)")
        }
    }

    /// Writes a shoot: `IMG_0001.dng`, … into `directory`; with `truthDirectory`, also
    /// `IMG_0001.linear.tif` and `IMG_0001.srgb.tif` per frame and `manifest.json` there.
    /// Creates the directories; replaces existing files of the same names. Returns the manifest.
    @discardableResult
    public static func write(_ options: SynthOptions, to directory: String, truthDirectory: String?) throws(SynthError) -> SynthManifest {
        let manifest = try plan(options)
        for dir in [directory] + (truthDirectory.map { [$0] } ?? []) {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw .cannotCreateDirectory(path: dir, reason: "\(error.localizedDescription)")
            }
        }
        func put(_ bytes: [UInt8], _ path: String) throws(SynthError) {
            do { try DNGFileOutput.writeAtomically(bytes, to: path) } catch {
                throw .cannotWrite(path: path, reason: error.description)
            }
        }
        for frame in manifest.frames {
            let truth = renderTruth(frame, options: options)
            let plane = mosaic(truth, frame: frame, options: options)
            let path = directory + "/" + frame.fileName
            let dng: [UInt8]
            do { dng = try DNGWriter.encode(dngImage(plane, frame: frame, options: options)) } catch {
                throw .cannotWrite(path: path, reason: error.description)
            }
            try put(dng, path)
            if let truthDirectory {
                for (transfer, name) in [(SynthTransfer.linear, frame.linearTruthFileName), (.sRGB, frame.srgbTruthFileName)] {
                    let tiffPath = truthDirectory + "/" + name
                    let encoded = encodeTruth(truth, transfer: transfer, threads: options.threads)
                    let tiff: [UInt8]
                    do { tiff = try TIFFContainer.writeRGB16TIFF(image: encoded) } catch {
                        throw .cannotWrite(path: tiffPath, reason: error.description)
                    }
                    try put(tiff, tiffPath)
                }
            }
        }
        if let truthDirectory { try put(manifestJSON(manifest), truthDirectory + "/manifest.json") }
        return manifest
    }

    // MARK: - Helpers

    /// Splits `0..<count` into contiguous chunks run on up to `threads` threads (0 = all cores).
    static func parallelRows(_ count: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = threads > 0 ? threads : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        if workers == 1 {
            body(0..<count)
            return
        }
        let chunks = min(count, workers * 8)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            body((i * count / chunks)..<((i + 1) * count / chunks))
        }
    }

    static func pad4(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }

    /// EXIF date and sub-second text for `ms` milliseconds after 2024-05-18 10:00:00.
    static func exifTime(milliseconds ms: Int64) -> (String, String) {
        let base: Int64 = 19861 * 86_400 + 10 * 3600  // 2024-05-18 10:00:00 in seconds since 1970-01-01
        let total = base + ms / 1000
        let days = total / 86_400, secs = total % 86_400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let mo = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (mo <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(y):\(two(mo)):\(two(d)) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
        let milli = ms % 1000
        let sub = milli < 10 ? "00\(milli)" : milli < 100 ? "0\(milli)" : "\(milli)"
        return (date, sub)
    }
}

/// A raw pointer handed to row workers that write disjoint rows (hence `@unchecked`).
struct SynthSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Per-row noise source: standard normals (Marsaglia polar, both deviates used) and Poisson
/// deviates by inversion (for small means).
struct SynthNoise {
    var rng: SplitMix64
    var spare: Double? = nil

    init(rng: SplitMix64) { self.rng = rng }

    @inline(__always) mutating func gaussian() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        while true {
            let u = 2 * rng.nextUnit() - 1, v = 2 * rng.nextUnit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let f = (-2 * log(s) / s).squareRoot()
                spare = v * f
                return u * f
            }
        }
    }

    @inline(__always) mutating func poisson(_ lambda: Double) -> Double {
        guard lambda > 0 else { return 0 }
        let u = rng.nextUnit()
        var p = exp(-lambda), cdf = p, k = 0.0
        while u > cdf && k < 1000 {
            k += 1
            p *= lambda / k
            cdf += p
        }
        return k
    }
}
