import TesseraCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Poisson–Gaussian noise model of one colour plane, as the DNG `NoiseProfile` tag (51041)
/// states it: for a signal `x` normalised to 0…1 (`(raw − black) / (white − black)`), the noise
/// variance is `scale · x + offset`.
public struct DNGNoiseProfile: Sendable, Hashable, Codable {
    /// S: the shot-noise term (variance per unit of normalised signal).
    public var scale: Double
    /// O: the signal-independent term (read noise and quantisation), normalised units squared.
    public var offset: Double

    /// A profile from its two coefficients.
    public init(scale: Double, offset: Double) {
        self.scale = scale
        self.offset = offset
    }

    /// The predicted variance, in normalised units squared, at normalised signal `x`.
    public func variance(at x: Double) -> Double { scale * x + offset }
}

/// Everything a DNG says about a raw frame besides its pixels.
///
/// Conventions: ``cfa`` and ``blackLevels`` are given relative to the top-left pixel of the
/// *active area* (DNG applies both patterns from the ActiveArea origin; LibRaw reports them the
/// same way). ``colorMatrix1`` maps CIE XYZ (D65 when ``calibrationIlluminant1`` is 21) to
/// camera RGB, as the DNG `ColorMatrix1` tag does.
public struct DNGMetadata: Sendable, Hashable, Codable {
    public var make: String
    public var model: String
    /// DNG UniqueCameraModel; readers key colour profiles on it.
    public var uniqueCameraModel: String
    /// Bayer phase seen from the active area's top-left pixel.
    public var cfa: CFAPattern
    /// The non-masked sensor area in plane coordinates; nil means the whole plane.
    public var activeArea: PixelRect?
    /// Black level of each 2×2 cell (index ``CFAPattern/cell(x:y:)`` relative to the active area),
    /// in raw units. Written as SHORT when all are integers, RATIONAL otherwise.
    public var blackLevels: [Double]
    /// Saturation level in raw units (e.g. 16383 for a 14-bit sensor stored in 16-bit samples).
    public var whiteLevel: Int
    /// XYZ → camera matrix (row-major, rows R, G, B of the camera), DNG ColorMatrix1.
    public var colorMatrix1: Matrix3
    /// EXIF LightSource code of ``colorMatrix1``'s illuminant: 21 = D65.
    public var calibrationIlluminant1: Int
    /// Camera-space coordinates of the scene neutral (R, G, B), DNG AsShotNeutral.
    public var asShotNeutral: [Double]
    /// Per-plane noise model (empty: tag omitted; one entry: applies to all planes; or three).
    public var noiseProfile: [DNGNoiseProfile]
    /// EXIF/TIFF orientation 1…8 (1 = as stored).
    public var orientation: Int
    /// ISO speed (EXIF ISOSpeedRatings, clamped to 65535).
    public var iso: Int
    /// Exposure time in seconds.
    public var exposureTime: Double
    /// Aperture as an f-number.
    public var fNumber: Double
    /// Focal length in millimetres.
    public var focalLength: Double
    /// Capture time, EXIF format "YYYY:MM:DD HH:MM:SS" (also written as TIFF DateTime).
    public var dateTimeOriginal: String
    /// Fraction of a second of the capture time, decimal digits (e.g. "100" = 0.100 s).
    public var subSecTimeOriginal: String
    /// TIFF Software.
    public var software: String

    /// Metadata with the given camera and levels; the rest takes common defaults (ISO 100,
    /// 1/125 s, f/5.6, 35 mm, orientation 1, D65 matrix, neutral (1,1,1), no noise profile).
    public init(
        make: String, model: String, uniqueCameraModel: String? = nil, cfa: CFAPattern,
        activeArea: PixelRect? = nil, blackLevels: [Double], whiteLevel: Int,
        colorMatrix1: Matrix3 = .identity, calibrationIlluminant1: Int = 21,
        asShotNeutral: [Double] = [1, 1, 1], noiseProfile: [DNGNoiseProfile] = [], orientation: Int = 1,
        iso: Int = 100, exposureTime: Double = 1.0 / 125, fNumber: Double = 5.6, focalLength: Double = 35,
        dateTimeOriginal: String = "2024:01:01 12:00:00", subSecTimeOriginal: String = "000",
        software: String = "tessera synth"
    ) {
        self.make = make
        self.model = model
        self.uniqueCameraModel = uniqueCameraModel ?? "\(make) \(model)"
        self.cfa = cfa
        self.activeArea = activeArea
        self.blackLevels = blackLevels
        self.whiteLevel = whiteLevel
        self.colorMatrix1 = colorMatrix1
        self.calibrationIlluminant1 = calibrationIlluminant1
        self.asShotNeutral = asShotNeutral
        self.noiseProfile = noiseProfile
        self.orientation = orientation
        self.iso = iso
        self.exposureTime = exposureTime
        self.fNumber = fNumber
        self.focalLength = focalLength
        self.dateTimeOriginal = dateTimeOriginal
        self.subSecTimeOriginal = subSecTimeOriginal
        self.software = software
    }
}

/// A raw frame ready to be written as a DNG: the full sensor plane (masked margins included)
/// plus its metadata. Reusable for any CFA plane — synthetic frames now, merged bursts later.
public struct DNGImage: Sendable, Hashable {
    /// All stored samples, masked pixels included; ``DNGMetadata/activeArea`` selects the image.
    public var plane: RawPlane
    public var metadata: DNGMetadata

    public init(plane: RawPlane, metadata: DNGMetadata) {
        self.plane = plane
        self.metadata = metadata
    }
}

/// Encodes uncompressed 16-bit CFA DNGs (DNG 1.4, IFD0 is the raw image).
///
/// Stateless and thread-safe. The same ``DNGImage`` always encodes to the same bytes: there is
/// no clock, host or random content; every date comes from the metadata.
public enum DNGWriter {
    /// Validates `image` and builds its IFD0 (with the EXIF IFD as a sub-directory).
    public static func directory(for image: DNGImage) throws(DNGWriterError) -> TIFFDirectory {
        let m = image.metadata
        let plane = image.plane
        guard plane.width > 0, plane.height > 0 else {
            throw .invalidInput(field: "plane", reason: "empty plane \(plane.width)x\(plane.height)")
        }
        guard plane.width <= Int(UInt32.max), plane.height <= Int(UInt32.max) else {
            throw .invalidInput(field: "plane", reason: "size \(plane.width)x\(plane.height) does not fit TIFF")
        }
        let area = m.activeArea ?? PixelRect(x: 0, y: 0, width: plane.width, height: plane.height)
        guard !area.isEmpty, PixelRect(x: 0, y: 0, width: plane.width, height: plane.height).contains(area) else {
            throw .invalidInput(field: "activeArea", reason: "\(area) is empty or outside the \(plane.width)x\(plane.height) plane")
        }
        guard (1...65535).contains(m.whiteLevel) else {
            throw .invalidInput(field: "whiteLevel", reason: "\(m.whiteLevel) is not in 1...65535")
        }
        guard m.blackLevels.count == 4 else {
            throw .invalidInput(field: "blackLevels", reason: "need 4 values (one per 2x2 cell), got \(m.blackLevels.count)")
        }
        for b in m.blackLevels where !(b >= 0 && b < Double(m.whiteLevel)) {
            throw .invalidInput(field: "blackLevels", reason: "\(b) is not in 0..<whiteLevel \(m.whiteLevel)")
        }
        guard m.asShotNeutral.count == 3, m.asShotNeutral.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw .invalidInput(field: "asShotNeutral", reason: "need 3 positive values, got \(m.asShotNeutral)")
        }
        guard m.colorMatrix1.m.allSatisfy(\.isFinite), m.colorMatrix1.inverse != nil else {
            throw .invalidInput(field: "colorMatrix1", reason: "matrix is singular or not finite")
        }
        guard [0, 1, 3].contains(m.noiseProfile.count),
              m.noiseProfile.allSatisfy({ $0.scale >= 0 && $0.offset >= 0 && $0.scale.isFinite && $0.offset.isFinite }) else {
            throw .invalidInput(field: "noiseProfile", reason: "need 0, 1 or 3 non-negative (S, O) pairs, got \(m.noiseProfile)")
        }
        guard (1...8).contains(m.orientation) else {
            throw .invalidInput(field: "orientation", reason: "\(m.orientation) is not an EXIF orientation 1...8")
        }
        guard isEXIFDate(m.dateTimeOriginal) else {
            throw .invalidInput(field: "dateTimeOriginal", reason: "\"\(m.dateTimeOriginal)\" is not \"YYYY:MM:DD HH:MM:SS\"")
        }
        guard !m.subSecTimeOriginal.isEmpty, m.subSecTimeOriginal.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalidInput(field: "subSecTimeOriginal", reason: "\"\(m.subSecTimeOriginal)\" is not a string of digits")
        }
        guard m.exposureTime > 0, m.fNumber > 0, m.focalLength > 0, m.iso > 0 else {
            throw .invalidInput(field: "exposure", reason: "ISO, exposure time, f-number and focal length must be positive")
        }
        for (name, text) in [("make", m.make), ("model", m.model), ("uniqueCameraModel", m.uniqueCameraModel), ("software", m.software)] {
            guard !text.isEmpty, !text.utf8.contains(0) else {
                throw .invalidInput(field: name, reason: "must be non-empty text without NUL")
            }
        }

        var d = TIFFDirectory()
        d.set(TIFFTag.newSubfileType, .longs([0]))
        d.set(TIFFTag.imageWidth, .longs([UInt32(plane.width)]))
        d.set(TIFFTag.imageLength, .longs([UInt32(plane.height)]))
        d.set(TIFFTag.bitsPerSample, .shorts([16]))
        d.set(TIFFTag.compression, .shorts([1]))
        d.set(TIFFTag.photometricInterpretation, .shorts([32803]))
        d.set(TIFFTag.make, .ascii(m.make))
        d.set(TIFFTag.model, .ascii(m.model))
        d.set(TIFFTag.orientation, .shorts([UInt16(m.orientation)]))
        d.set(TIFFTag.samplesPerPixel, .shorts([1]))
        d.set(TIFFTag.planarConfiguration, .shorts([1]))
        d.set(TIFFTag.software, .ascii(m.software))
        d.set(TIFFTag.dateTime, .ascii(m.dateTimeOriginal))
        d.set(TIFFTag.cfaRepeatPatternDim, .shorts([2, 2]))
        d.set(TIFFTag.cfaPattern, .bytes(m.cfa.colors.map(\.rawValue)))
        d.set(TIFFTag.dngVersion, .bytes([1, 4, 0, 0]))
        d.set(TIFFTag.dngBackwardVersion, .bytes([1, 3, 0, 0]))
        d.set(TIFFTag.uniqueCameraModel, .ascii(m.uniqueCameraModel))
        d.set(TIFFTag.cfaPlaneColor, .bytes([0, 1, 2]))
        d.set(TIFFTag.cfaLayout, .shorts([1]))
        d.set(TIFFTag.blackLevelRepeatDim, .shorts([2, 2]))
        if m.blackLevels.allSatisfy({ $0 == $0.rounded() && $0 <= 65535 }) {
            d.set(TIFFTag.blackLevel, .shorts(m.blackLevels.map { UInt16($0) }))
        } else {
            d.set(TIFFTag.blackLevel, .rationals(m.blackLevels.map { TIFFRational($0, denominator: 10_000) }))
        }
        d.set(TIFFTag.whiteLevel, .shorts([UInt16(m.whiteLevel)]))
        d.set(TIFFTag.colorMatrix1, .srationals(m.colorMatrix1.m.map { TIFFSRational($0, denominator: 10_000) }))
        d.set(TIFFTag.calibrationIlluminant1, .shorts([UInt16(clamping: m.calibrationIlluminant1)]))
        d.set(TIFFTag.asShotNeutral, .rationals(m.asShotNeutral.map { TIFFRational($0, denominator: 1_000_000) }))
        if m.activeArea != nil {
            d.set(TIFFTag.activeArea, .longs([UInt32(area.y), UInt32(area.x), UInt32(area.maxY), UInt32(area.maxX)]))
        }
        if !m.noiseProfile.isEmpty {
            d.set(TIFFTag.noiseProfile, .doubles(m.noiseProfile.flatMap { [$0.scale, $0.offset] }))
        }
        let rowBytes = plane.width * 2
        let rowsPerStrip = max(1, min(plane.height, (256 * 1024) / rowBytes))
        d.set(TIFFTag.rowsPerStrip, .longs([UInt32(rowsPerStrip)]))
        d.strips = TIFFContainer.samples16Strips(plane.pixels, rowSamples: plane.width, rows: plane.height, rowsPerStrip: rowsPerStrip)

        var exif = TIFFDirectory()
        exif.set(TIFFTag.exposureTime, .rationals([exposureRational(m.exposureTime)]))
        exif.set(TIFFTag.fNumber, .rationals([TIFFRational(m.fNumber, denominator: 100)]))
        exif.set(TIFFTag.isoSpeedRatings, .shorts([UInt16(clamping: m.iso)]))
        exif.set(TIFFTag.exifVersion, .undefined(Array("0230".utf8)))
        exif.set(TIFFTag.dateTimeOriginal, .ascii(m.dateTimeOriginal))
        exif.set(TIFFTag.focalLength, .rationals([TIFFRational(m.focalLength, denominator: 100)]))
        exif.set(TIFFTag.subSecTimeOriginal, .ascii(m.subSecTimeOriginal))
        d.setSubdirectories(TIFFTag.exifIFD, [exif])
        return d
    }

    /// Encodes `image` as a complete DNG file in memory (the caller owns the bytes).
    public static func encode(_ image: DNGImage) throws(DNGWriterError) -> [UInt8] {
        try TIFFContainer.encode([directory(for: image)])
    }

    /// Encodes `image` and writes it to `path` atomically (temporary file in the same directory,
    /// fsync, rename). Overwrites an existing file at `path`.
    public static func write(_ image: DNGImage, to path: String) throws(DNGWriterError) {
        try DNGFileOutput.writeAtomically(encode(image), to: path)
    }

    /// Exposure times below one second as 1/n when that is exact (1/125), else n/1000000.
    static func exposureRational(_ seconds: Double) -> TIFFRational {
        if seconds < 1 {
            let inverse = 1 / seconds
            let n = inverse.rounded()
            if abs(inverse - n) <= 1e-6 * n, n <= Double(UInt32.max) { return TIFFRational(1, UInt32(n)) }
        }
        return TIFFRational(seconds, denominator: 1_000_000)
    }

    static func isEXIFDate(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 19 else { return false }
        for (i, c) in b.enumerated() {
            switch i {
            case 4, 7, 13, 16: if c != UInt8(ascii: ":") { return false }
            case 10: if c != UInt8(ascii: " ") { return false }
            default: if !(0x30...0x39).contains(c) { return false }
            }
        }
        return true
    }
}

/// Whole-file writes for the DNG writer and the synthesiser: temporary file in the target's
/// directory, write, fsync, rename (so readers never see a partial file). Blocking; call from
/// any thread.
enum DNGFileOutput {
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(DNGWriterError) {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: systemMessage(errno)) }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temp, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temp)
            throw .cannotWrite(path: path, reason: systemMessage(failure))
        }
    }

    static func systemMessage(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
