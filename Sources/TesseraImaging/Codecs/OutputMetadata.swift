/// What an output file says about itself besides pixels: the ICC profile of its colour space and
/// EXIF fields carried forward from the capture. Deliberately nothing volatile (no processing
/// time, host or duration): identical inputs ⇒ identical bytes. A plain value; `Sendable`.
///
/// Written by ``ImageWriter/encode(_:format:options:metadata:)``: JPEG gets an APP1 `Exif`
/// segment and APP2 `ICC_PROFILE` segments; PNG gets `eXIf` and `iCCP` chunks; TIFF gets the ICC
/// profile (tag 34675) and the baseline tags Make, Model, Orientation, Software and DateTime
/// (= the capture time).
public struct OutputMetadata: Sendable, Hashable {
    /// The EXIF ColorSpace tag value.
    public enum ExifColorSpace: UInt16, Sendable, Hashable {
        /// 1: sRGB (use for sRGB output).
        case sRGB = 1
        /// 0xFFFF: uncalibrated (Display P3, Adobe RGB — the ICC profile says which).
        case uncalibrated = 0xFFFF
    }

    /// The ICC profile to embed, nil for none (then PNG is tagged with an `sRGB` chunk).
    public var iccProfile: [UInt8]?
    /// Camera maker (EXIF Make); empty = omitted.
    public var make: String
    /// Camera model (EXIF Model); empty = omitted.
    public var model: String
    /// Lens (EXIF LensModel); empty = omitted.
    public var lens: String
    /// ISO speed (EXIF ISOSpeedRatings, rounded, clamped to 65535); 0 = omitted.
    public var iso: Double
    /// Exposure time in seconds (EXIF ExposureTime); 0 = omitted.
    public var exposureTime: Double
    /// Aperture f-number (EXIF FNumber); 0 = omitted.
    public var fNumber: Double
    /// Focal length in millimetres (EXIF FocalLength); 0 = omitted.
    public var focalLength: Double
    /// Capture time as EXIF `YYYY:MM:DD HH:MM:SS` (DateTimeOriginal, and TIFF DateTime); nil = omitted.
    public var dateTimeOriginal: String?
    /// Fraction of a second of the capture time as EXIF digits, e.g. "25" (SubSecTimeOriginal); nil = omitted.
    public var subSecTimeOriginal: String?
    /// EXIF orientation 1…8 of the pixels as written (the pipeline does not rotate: the camera's).
    public var orientation: Int
    /// EXIF Software, e.g. "Tessera"; empty = omitted. Must not contain a build time.
    public var software: String
    /// EXIF ColorSpace.
    public var colorSpace: ExifColorSpace

    /// No profile and no EXIF fields (the writer's default: files as before).
    public static let none = OutputMetadata()

    /// Metadata with the given values; defaults omit everything.
    public init(iccProfile: [UInt8]? = nil, make: String = "", model: String = "", lens: String = "", iso: Double = 0,
                exposureTime: Double = 0, fNumber: Double = 0, focalLength: Double = 0, dateTimeOriginal: String? = nil,
                subSecTimeOriginal: String? = nil, orientation: Int = 1, software: String = "", colorSpace: ExifColorSpace = .sRGB) {
        self.iccProfile = iccProfile
        self.make = make
        self.model = model
        self.lens = lens
        self.iso = iso
        self.exposureTime = exposureTime
        self.fNumber = fNumber
        self.focalLength = focalLength
        self.dateTimeOriginal = dateTimeOriginal
        self.subSecTimeOriginal = subSecTimeOriginal
        self.orientation = orientation
        self.software = software
        self.colorSpace = colorSpace
    }

    /// The capture's metadata from a decoded frame, with `iccProfile` for the output space.
    public init(info: RawFrameInfo, iccProfile: [UInt8]? = nil, software: String = "Tessera",
                colorSpace: ExifColorSpace = .sRGB) {
        self.init(iccProfile: iccProfile, make: info.make, model: info.model, lens: info.lens, iso: info.iso,
                  exposureTime: info.exposureTime, fNumber: info.fNumber, focalLength: info.focalLength,
                  dateTimeOriginal: info.dateTimeOriginal, orientation: info.orientation, software: software,
                  colorSpace: colorSpace)
    }

    /// Whether there is any EXIF field to write (ICC aside).
    public var hasExif: Bool {
        !make.isEmpty || !model.isEmpty || !lens.isEmpty || iso > 0 || exposureTime > 0 || fNumber > 0 || focalLength > 0
            || dateTimeOriginal != nil || subSecTimeOriginal != nil || orientation != 1 || !software.isEmpty
    }

    /// Checks the fields a writer relies on. Throws ``ImagingError/encodeFailed(format:reason:)``
    /// naming the field.
    func validate(format: String) throws(ImagingError) {
        guard (1...8).contains(orientation) else { throw .encodeFailed(format: format, reason: "metadata orientation \(orientation) is not 1...8") }
        for (name, v) in [("iso", iso), ("exposureTime", exposureTime), ("fNumber", fNumber), ("focalLength", focalLength)] {
            guard v.isFinite, v >= 0 else { throw .encodeFailed(format: format, reason: "metadata \(name) \(v) is not a finite non-negative number") }
        }
        if let d = dateTimeOriginal, !ExifBlock.isExifDate(d) {
            throw .encodeFailed(format: format, reason: "metadata dateTimeOriginal \"\(d)\" is not \"YYYY:MM:DD HH:MM:SS\"")
        }
        if let s = subSecTimeOriginal, s.isEmpty || !s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || s.utf8.count > 9 {
            throw .encodeFailed(format: format, reason: "metadata subSecTimeOriginal \"\(s)\" is not 1…9 digits")
        }
        if let icc = iccProfile {
            guard icc.count >= 132, Array(icc[36..<40]) == Array("acsp".utf8) else {
                throw .encodeFailed(format: format, reason: "metadata iccProfile is not an ICC profile (\(icc.count) bytes, no 'acsp' signature)")
            }
        }
    }
}

/// The TIFF-structured EXIF block (as in a JPEG APP1 segment after `Exif\0\0`, or a PNG `eXIf`
/// chunk), built with ``TIFFContainer`` and read back by ``parse(_:)``.
public enum ExifBlock {
    static let tagExposureTime: UInt16 = 33434
    static let tagFNumber: UInt16 = 33437
    static let tagISO: UInt16 = 34855
    static let tagExifVersion: UInt16 = 36864
    static let tagDateTimeOriginal: UInt16 = 36867
    static let tagFocalLength: UInt16 = 37386
    static let tagSubSecTimeOriginal: UInt16 = 37521
    static let tagColorSpace: UInt16 = 40961
    static let tagPixelXDimension: UInt16 = 40962
    static let tagPixelYDimension: UInt16 = 40963
    static let tagLensModel: UInt16 = 42036

    /// The EXIF block for `metadata` describing an image of `width` × `height` pixels:
    /// IFD0 (Make, Model, Orientation, X/YResolution 72 dpi, ResolutionUnit, Software, DateTime,
    /// ExifIFD) and the EXIF IFD (ExposureTime, FNumber, ISOSpeedRatings, ExifVersion 0232,
    /// DateTimeOriginal, FocalLength, SubSecTimeOriginal, ColorSpace, PixelX/YDimension, LensModel).
    /// Strings are reduced to printable ASCII (others become `?`). Little-endian.
    public static func build(_ metadata: OutputMetadata, width: Int, height: Int) throws(ImagingError) -> [UInt8] {
        try metadata.validate(format: "exif")
        var ifd0 = TIFFDirectory()
        if !metadata.make.isEmpty { ifd0.set(TIFFTag.make, .ascii(ascii(metadata.make))) }
        if !metadata.model.isEmpty { ifd0.set(TIFFTag.model, .ascii(ascii(metadata.model))) }
        ifd0.set(TIFFTag.orientation, .shorts([UInt16(metadata.orientation)]))
        ifd0.set(TIFFTag.xResolution, .rationals([TIFFRational(72, 1)]))
        ifd0.set(TIFFTag.yResolution, .rationals([TIFFRational(72, 1)]))
        ifd0.set(TIFFTag.resolutionUnit, .shorts([2]))
        if !metadata.software.isEmpty { ifd0.set(TIFFTag.software, .ascii(ascii(metadata.software))) }
        if let d = metadata.dateTimeOriginal { ifd0.set(TIFFTag.dateTime, .ascii(d)) }
        ifd0.setSubdirectories(TIFFTag.exifIFD, [exifDirectory(metadata, width: width, height: height)])
        do {
            return try TIFFContainer.encode([ifd0])
        } catch {
            throw .encodeFailed(format: "exif", reason: error.description)
        }
    }

    /// The EXIF IFD alone (ExposureTime, FNumber, ISOSpeedRatings, ExifVersion 0232,
    /// DateTimeOriginal, FocalLength, SubSecTimeOriginal, ColorSpace, PixelX/YDimension,
    /// LensModel): what ``build(_:width:height:)`` links from IFD0, and what a TIFF output links
    /// from its own IFD0 (tag 34665). `metadata` must be valid.
    static func exifDirectory(_ metadata: OutputMetadata, width: Int, height: Int) -> TIFFDirectory {
        var exif = TIFFDirectory()
        if let d = metadata.dateTimeOriginal { exif.set(tagDateTimeOriginal, .ascii(d)) }
        if metadata.exposureTime > 0 { exif.set(tagExposureTime, .rationals([exposureRational(metadata.exposureTime)])) }
        if metadata.fNumber > 0 { exif.set(tagFNumber, .rationals([TIFFRational(metadata.fNumber, denominator: 100)])) }
        if metadata.iso > 0 { exif.set(tagISO, .shorts([UInt16(min(65535, metadata.iso.rounded()))])) }
        exif.set(tagExifVersion, .undefined(Array("0232".utf8)))
        if metadata.focalLength > 0 { exif.set(tagFocalLength, .rationals([TIFFRational(metadata.focalLength, denominator: 100)])) }
        if let s = metadata.subSecTimeOriginal { exif.set(tagSubSecTimeOriginal, .ascii(s)) }
        exif.set(tagColorSpace, .shorts([metadata.colorSpace.rawValue]))
        exif.set(tagPixelXDimension, .longs([UInt32(clamping: width)]))
        exif.set(tagPixelYDimension, .longs([UInt32(clamping: height)]))
        if !metadata.lens.isEmpty { exif.set(tagLensModel, .ascii(ascii(metadata.lens))) }
        return exif
    }

    /// Reads the fields ``build(_:width:height:)`` writes back from an EXIF block (either byte
    /// order). Returns nil when the block is not a well-formed TIFF structure. `iccProfile` is nil.
    public static func parse(_ block: [UInt8]) -> OutputMetadata? {
        var reader = ExifParser(bytes: block)
        guard let ifd0 = reader.directory(at: reader.firstIFD) else { return nil }
        var m = OutputMetadata()
        m.make = ifd0.ascii(TIFFTag.make) ?? ""
        m.model = ifd0.ascii(TIFFTag.model) ?? ""
        m.software = ifd0.ascii(TIFFTag.software) ?? ""
        m.orientation = ifd0.integers(TIFFTag.orientation).first ?? 1
        if let offset = ifd0.integers(TIFFTag.exifIFD).first, let exif = reader.directory(at: offset) {
            m.exposureTime = exif.rationals(tagExposureTime).first ?? 0
            m.fNumber = exif.rationals(tagFNumber).first ?? 0
            m.iso = Double(exif.integers(tagISO).first ?? 0)
            m.focalLength = exif.rationals(tagFocalLength).first ?? 0
            m.dateTimeOriginal = exif.ascii(tagDateTimeOriginal)
            m.subSecTimeOriginal = exif.ascii(tagSubSecTimeOriginal)
            m.lens = exif.ascii(tagLensModel) ?? ""
            m.colorSpace = OutputMetadata.ExifColorSpace(rawValue: UInt16(clamping: exif.integers(tagColorSpace).first ?? 1)) ?? .sRGB
        }
        return m
    }

    /// 1/n for exposures shorter than a second that are (close to) 1/n, else a 1/10000 rational.
    static func exposureRational(_ t: Double) -> TIFFRational {
        if t < 1 {
            let n = (1 / t).rounded()
            if abs(1 / t - n) < 0.01 * n, n <= Double(UInt32.max) { return TIFFRational(1, UInt32(n)) }
        }
        return TIFFRational(t, denominator: 10_000)
    }

    static func ascii(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }

    static func isExifDate(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 19 else { return false }
        for (i, b) in u.enumerated() {
            switch i {
            case 4, 7, 13, 16: if b != UInt8(ascii: ":") { return false }
            case 10: if b != UInt8(ascii: " ") { return false }
            default: if b < 0x30 || b > 0x39 { return false }
            }
        }
        return true
    }
}

/// A bounds-checked reader of TIFF IFDs (either byte order), enough for EXIF blocks.
struct ExifParser {
    let bytes: [UInt8]
    let little: Bool

    struct Directory {
        var entries: [UInt16: (type: UInt16, count: Int, data: ArraySlice<UInt8>)]
        let little: Bool

        func u16(_ d: ArraySlice<UInt8>, _ i: Int) -> Int {
            let a = Int(d[d.startIndex + i]), b = Int(d[d.startIndex + i + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ d: ArraySlice<UInt8>, _ i: Int) -> Int {
            let v = (0..<4).map { Int(d[d.startIndex + i + $0]) }
            return little ? v[0] | v[1] << 8 | v[2] << 16 | v[3] << 24 : v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]
        }
        func ascii(_ tag: UInt16) -> String? {
            guard let e = entries[tag], e.type == 2 else { return nil }
            return String(decoding: e.data.prefix { $0 != 0 }, as: UTF8.self)
        }
        func integers(_ tag: UInt16) -> [Int] {
            guard let e = entries[tag] else { return [] }
            switch e.type {
            case 3: return (0..<e.count).map { u16(e.data, 2 * $0) }
            case 4, 13: return (0..<e.count).map { u32(e.data, 4 * $0) }  // LONG, IFD
            default: return []
            }
        }
        func rationals(_ tag: UInt16) -> [Double] {
            guard let e = entries[tag], e.type == 5 else { return [] }
            return (0..<e.count).map { i in
                let d = u32(e.data, 8 * i + 4)
                return d == 0 ? 0 : Double(u32(e.data, 8 * i)) / Double(d)
            }
        }
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.little = bytes.count >= 2 && bytes[0] == 0x49
    }

    func read(_ offset: Int, _ size: Int) -> Int? {
        guard offset >= 0, size <= 4, offset + size <= bytes.count else { return nil }
        var v = 0
        for i in 0..<size { v |= Int(bytes[offset + i]) << (8 * (little ? i : size - 1 - i)) }
        return v
    }

    var firstIFD: Int {
        guard bytes.count >= 8, (bytes[0] == 0x49 && bytes[1] == 0x49) || (bytes[0] == 0x4D && bytes[1] == 0x4D),
            read(2, 2) == 42
        else { return -1 }
        return read(4, 4) ?? -1
    }

    mutating func directory(at offset: Int) -> Directory? {
        guard offset >= 8, let count = read(offset, 2), offset + 2 + 12 * count + 4 <= bytes.count else { return nil }
        let sizes: [Int: Int] = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4]
        var entries: [UInt16: (type: UInt16, count: Int, data: ArraySlice<UInt8>)] = [:]
        for i in 0..<count {
            let at = offset + 2 + 12 * i
            guard let tag = read(at, 2), let type = read(at + 2, 2), let n = read(at + 4, 4), let size = sizes[type] else { continue }
            let total = size * n
            guard total <= bytes.count else { return nil }
            let start = total <= 4 ? at + 8 : (read(at + 8, 4) ?? -1)
            guard start >= 0, start + total <= bytes.count else { return nil }
            entries[UInt16(tag)] = (UInt16(type), n, bytes[start..<start + total])
        }
        return Directory(entries: entries, little: little)
    }
}
