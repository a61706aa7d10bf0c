import TesseraCore

/// Errors of the shoot synthesiser; each names the option, file or directory involved.
public enum SynthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An option is out of range (`name` is the option, as in `tessera synth --<name>`).
    case invalidOption(name: String, value: String, reason: String)
    /// A directory could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// A file could not be encoded or written.
    case cannotWrite(path: String, reason: String)
    /// A frame index outside `0..<frames`.
    case noSuchFrame(index: Int, frames: Int)

    public var description: String {
        switch self {
        case .invalidOption(let name, let value, let reason): "invalid synth option \(name)=\(value): \(reason)"
        case .cannotCreateDirectory(let path, let reason): "cannot create directory \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .noSuchFrame(let index, let frames): "frame \(index) does not exist (the shoot has \(frames) frames)"
        }
    }
}

/// Everything that defines a synthetic shoot. Same options ⇒ byte-identical files.
public struct SynthOptions: Sendable, Hashable, Codable {
    /// Number of frames (files).
    public var frames: Int = 12
    /// Frames per burst; 1 = independent frames (no shift, no moving object).
    public var burstSize: Int = 1
    /// Active-area size in pixels (the developed image size).
    public var width: Int = 1536
    public var height: Int = 1024
    /// ISO speed; sets gain and therefore noise (full well ∝ 100 / iso).
    public var iso: Int = 100
    /// Seed of every random choice (noise, texture phases, glyphs, shifts, object, times).
    public var seed: UInt64 = 1
    /// Bayer phase seen from the active area's top-left pixel.
    public var pattern: CFAPattern = .rggb
    /// Masked border on every side of the active area (DNG ActiveArea), in pixels. Must be even:
    /// LibRaw moves an odd ActiveArea origin to the next even pixel and would misalign the truth.
    public var margin: Int = 0
    /// Largest camera shift inside a burst, pixels (|dx|, |dy| ≤ maxShift).
    public var maxShift: Double = 32
    public var make: String = "Tessera"
    public var model: String = "SynthCam 14"
    /// Raw level of scene white (sRGB 1,1,1) in the strongest camera channel, as a fraction of
    /// white − black. Developed linear ≈ truth × exposureScale.
    public var exposureScale: Double = 0.8
    /// Per-cell black levels (index ``CFAPattern/cell(x:y:)`` relative to the active area).
    public var blackLevels: [Double] = [512, 514, 511, 513]
    /// Saturation level (14-bit sensor in 16-bit samples).
    public var whiteLevel: Int = 16383
    /// Full-well capacity at ISO 100, electrons (maps to white − black).
    public var fullWellISO100: Double = 36_000
    /// Read noise, electrons RMS.
    public var readNoiseElectrons: Double = 2.5
    /// Supersampling per axis for curved and slanted content (4 ⇒ 4×4 samples per pixel).
    public var supersampling: Int = 4
    /// Worker threads for rendering; 0 = one per core. Output does not depend on it.
    public var threads: Int = 0

    /// The defaults above.
    public init() {}

    /// Defaults with the most common fields overridden.
    public init(frames: Int = 12, burstSize: Int = 1, width: Int = 1536, height: Int = 1024, iso: Int = 100,
                seed: UInt64 = 1, pattern: CFAPattern = .rggb, margin: Int = 0) {
        self.frames = frames
        self.burstSize = burstSize
        self.width = width
        self.height = height
        self.iso = iso
        self.seed = seed
        self.pattern = pattern
        self.margin = margin
    }

    /// Throws the first out-of-range option, naming it.
    public func validate() throws(SynthError) {
        func bad(_ name: String, _ value: Any, _ reason: String) -> SynthError {
            .invalidOption(name: name, value: "\(value)", reason: reason)
        }
        guard (1...1_000_000).contains(frames) else { throw bad("frames", frames, "must be 1...1000000") }
        guard (1...1000).contains(burstSize) else { throw bad("burst-size", burstSize, "must be 1...1000") }
        guard (32...65_000).contains(width) else { throw bad("width", width, "must be 32...65000") }
        guard (32...65_000).contains(height) else { throw bad("height", height, "must be 32...65000") }
        guard (25...409_600).contains(iso) else { throw bad("iso", iso, "must be 25...409600") }
        guard (0...4096).contains(margin), margin % 2 == 0 else {
            throw bad("margin", margin, "must be even and 0...4096 (LibRaw rounds odd ActiveArea origins)")
        }
        guard maxShift >= 0, burstSize == 1 || maxShift <= Double(min(width, height)) / 4 else {
            throw bad("max-shift", maxShift, "must be 0...min(width, height)/4 for bursts")
        }
        guard exposureScale > 0, exposureScale <= 1 else { throw bad("exposure-scale", exposureScale, "must be in (0, 1]") }
        guard (2...65535).contains(whiteLevel) else { throw bad("white-level", whiteLevel, "must be 2...65535") }
        guard blackLevels.count == 4, blackLevels.allSatisfy({ $0 >= 0 && $0 < Double(whiteLevel) / 2 }) else {
            throw bad("black-levels", blackLevels, "need 4 values, each below half the white level")
        }
        guard fullWellISO100 >= 100 else { throw bad("full-well", fullWellISO100, "must be at least 100 electrons") }
        guard readNoiseElectrons >= 0, readNoiseElectrons < 1000 else {
            throw bad("read-noise", readNoiseElectrons, "must be 0...1000 electrons")
        }
        guard (1...16).contains(supersampling) else { throw bad("supersampling", supersampling, "must be 1...16") }
        guard (0...256).contains(threads) else { throw bad("threads", threads, "must be 0...256") }
        for (name, text) in [("make", make), ("model", model)] where text.isEmpty || text.utf8.contains(0) {
            throw bad(name, text, "must be non-empty text")
        }
    }
}

/// A camera displacement in pixels (sub-pixel allowed): frame pixel (x, y) images the scene at
/// (x + dx, y + dy), so `reference(x, y) ≈ frame(x − dx, y − dy)`.
public struct SynthShift: Sendable, Hashable, Codable {
    public var dx: Double
    public var dy: Double

    public init(dx: Double, dy: Double) {
        self.dx = dx
        self.dy = dy
    }
}

/// An axis-aligned box in frame pixel coordinates (doubles; may extend outside the frame).
public struct SynthBox: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// The moving object of a burst frame: a striped, coloured disc.
public struct SynthObject: Sendable, Hashable, Codable {
    /// Centre in frame pixel coordinates.
    public var centerX: Double
    public var centerY: Double
    /// Radius in pixels (the soft edge adds about half a pixel).
    public var radius: Double
    /// Motion per frame in scene pixels.
    public var velocityX: Double
    public var velocityY: Double
    /// Bounding box in frame coordinates, unclipped, including the soft edge.
    public var box: SynthBox
    /// The pixels touched by the object, clipped to the frame; nil when it is outside the frame.
    public var pixelBox: PixelRect?
    /// Linear sRGB colour of the disc's light stripes.
    public var color: [Double]
    /// Stripe direction in radians.
    public var stripeAngle: Double
}

/// The camera the synthesiser simulates (also recorded in the manifest).
public struct SynthCamera: Sendable, Hashable, Codable {
    /// XYZ (D65) → camera RGB, normalised so the D65 neutral's strongest channel is 1 (within the
    /// 1e-4 quantisation of the DNG's SRATIONAL ColorMatrix1, which is exactly this matrix).
    public var colorMatrix1: [Double]
    /// Linear sRGB → camera RGB (= colorMatrix1 · sRGB→XYZ); all entries non-negative.
    public var cameraFromLinearSRGB: [Double]
    /// Camera response to sRGB white (1, 1, 1): the DNG AsShotNeutral.
    public var asShotNeutral: [Double]
    /// EXIF light source of the matrix: 21 = D65 (also the scene illuminant).
    public var calibrationIlluminant: Int

    /// The Tessera SynthCam: a matrix shaped like a typical full-frame CMOS camera's D65 DNG
    /// ColorMatrix (Canon-like), tweaked so no sRGB colour produces a negative raw response.
    public static let standard: SynthCamera = {
        let base = Matrix3([0.4716, 0.0603, -0.0830, -0.7798, 1.5474, 0.2480, -0.1250, 0.1937, 0.6651])
        let white = Matrix3.srgbToXYZ.apply((1, 1, 1))
        let n = base.apply(white)
        let peak = max(n.0, n.1, n.2)
        // Quantise to the DNG's 1/10000 SRATIONAL grid so the file states exactly what we render.
        let cm = Matrix3(base.m.map { ($0 / peak * 10_000).rounded() / 10_000 })
        let m = cm * Matrix3.srgbToXYZ
        precondition(m.m.allSatisfy { $0 >= 0 }, "SynthCam responds negatively to some sRGB colour")
        let neutral = cm.apply(white)
        return SynthCamera(colorMatrix1: cm.m, cameraFromLinearSRGB: m.m,
                           asShotNeutral: [neutral.0, neutral.1, neutral.2], calibrationIlluminant: 21)
    }()
}

/// One frame of a shoot: file names, geometry, exposure, noise, levels and capture time.
public struct SynthFrame: Sendable, Hashable, Codable {
    /// 0-based frame index.
    public var index: Int
    /// DNG file name, e.g. "IMG_0001.dng".
    public var fileName: String
    /// Ground-truth files (linear and sRGB-encoded 16-bit TIFF), when a truth directory is used.
    public var linearTruthFileName: String
    public var srgbTruthFileName: String
    /// 0-based burst number and position inside the burst (0 = the burst's reference frame).
    public var burst: Int
    public var indexInBurst: Int
    /// Camera shift relative to the burst's reference frame (0, 0 for the reference itself).
    public var shift: SynthShift
    /// The moving object (bursts only).
    public var object: SynthObject?
    public var iso: Int
    /// Seconds.
    public var exposureTime: Double
    public var fNumber: Double
    /// Millimetres.
    public var focalLength: Double
    /// Developed linear (black-subtracted, /(white − black), white-balanced, camera→sRGB)
    /// ≈ truth × exposureScale.
    public var exposureScale: Double
    /// DNG NoiseProfile: variance = S·x + O for normalised x (same for all three planes).
    public var noise: DNGNoiseProfile
    /// Full well at this ISO (electrons mapping to white − black) and read noise (electrons).
    public var fullWellElectrons: Double
    public var readNoiseElectrons: Double
    /// Per-cell black levels relative to the active area, and the white level.
    public var blackLevels: [Double]
    public var whiteLevel: Int
    /// Bayer phase from the active area's top-left, e.g. "RGGB".
    public var cfa: String
    /// Masked border on each side (DNG ActiveArea), pixels.
    public var margin: Int
    /// XYZ→camera ColorMatrix1 (row-major) and AsShotNeutral, as written to the DNG.
    public var colorMatrix: [Double]
    public var asShotNeutral: [Double]
    /// EXIF capture time "YYYY:MM:DD HH:MM:SS" and its milliseconds ("000"…"999").
    public var dateTimeOriginal: String
    public var subSecTimeOriginal: String
    /// Capture time in seconds after the first frame (millisecond resolution).
    public var timeSeconds: Double

    /// ``cfa`` as a ``CFAPattern``.
    public var cfaPattern: CFAPattern { CFAPattern(name: cfa) ?? .rggb }
}

/// A named region of the scene, in scene pixel coordinates (frame 0 of each burst sees the scene
/// at shift 0, so these are also its frame coordinates).
public struct SynthRegion: Sendable, Hashable, Codable {
    public var name: String
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    /// What is there and what it is good for.
    public var note: String
}

/// The scene, as far as consumers of the truth need to know it.
public struct SynthSceneDescription: Sendable, Hashable, Codable {
    /// How frame pixels map to the scene.
    public var coordinates: String
    /// Illuminant of the scene and of the truth's white point.
    public var illuminant: String
    /// Encodings of the truth files.
    public var linearTruth: String
    public var srgbTruth: String
    public var regions: [SynthRegion]
    /// The 24 colour-checker patches, linear sRGB, row-major (6 × 4).
    public var checkerPatchesLinearSRGB: [[Double]]
}

/// The manifest of a shoot (`manifest.json`, sorted keys): options, camera, scene, frames.
public struct SynthManifest: Sendable, Hashable, Codable {
    public var generator: String
    public var version: Int
    public var seed: UInt64
    /// Active-area size and full sensor size (active + 2 × margin).
    public var width: Int
    public var height: Int
    public var sensorWidth: Int
    public var sensorHeight: Int
    public var burstSize: Int
    public var maxShift: Double
    public var make: String
    public var model: String
    public var camera: SynthCamera
    public var scene: SynthSceneDescription
    public var frames: [SynthFrame]
}
