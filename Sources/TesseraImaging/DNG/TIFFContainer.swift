/// A small little-endian TIFF 6.0 encoder (classic TIFF, 32-bit offsets), written in pure Swift.
///
/// It knows nothing about images: a file is a chain of ``TIFFDirectory`` values, each a set of
/// tagged fields plus optional sub-directories (EXIF IFD, DNG SubIFDs) and optional strip data.
/// ``DNGWriter`` and ``TIFFContainer/writeRGB16TIFF(image:software:)`` build on it.
///
/// Layout rules (TIFF 6.0 §2): header `II*\0`, entries sorted by tag, values larger than four
/// bytes stored out of line at word-aligned offsets (this encoder aligns everything to 4 bytes),
/// each directory followed by its out-of-line values, then its sub-directories, then its strips.
/// The strips of one directory are contiguous (no padding between them), which readers that only
/// honour the first strip offset (dcraw heritage) rely on. Output depends only on the input: no
/// clocks, no host names, zero padding.

/// The TIFF field types (TIFF 6.0 §2 plus the 6.0 signed and floating types).
public enum TIFFFieldType: UInt16, Sendable, Hashable, Codable {
    case byte = 1
    case ascii = 2
    case short = 3
    case long = 4
    case rational = 5
    case sbyte = 6
    case undefined = 7
    case sshort = 8
    case slong = 9
    case srational = 10
    case float = 11
    case double = 12

    /// Size in bytes of one value of this type.
    public var size: Int {
        switch self {
        case .byte, .ascii, .sbyte, .undefined: 1
        case .short, .sshort: 2
        case .long, .slong, .float: 4
        case .rational, .srational, .double: 8
        }
    }
}

/// An unsigned TIFF RATIONAL (numerator / denominator, both 32-bit).
public struct TIFFRational: Sendable, Hashable, Codable {
    public var numerator: UInt32
    public var denominator: UInt32

    /// A rational from its two parts; a zero denominator is legal TIFF but means "unknown".
    public init(_ numerator: UInt32, _ denominator: UInt32) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The closest rational `n / denominator` to a non-negative `value` (clamped to UInt32 range).
    public init(_ value: Double, denominator: UInt32 = 10_000) {
        let n = (max(0, value) * Double(denominator)).rounded()
        self.init(UInt32(min(n, Double(UInt32.max))), denominator)
    }

    /// The value as a double (0 when the denominator is 0).
    public var doubleValue: Double { denominator == 0 ? 0 : Double(numerator) / Double(denominator) }
}

/// A signed TIFF SRATIONAL (numerator / denominator, both signed 32-bit).
public struct TIFFSRational: Sendable, Hashable, Codable {
    public var numerator: Int32
    public var denominator: Int32

    /// A rational from its two parts.
    public init(_ numerator: Int32, _ denominator: Int32) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The closest rational `n / denominator` to `value` (clamped to Int32 range).
    public init(_ value: Double, denominator: Int32 = 10_000) {
        let n = (value * Double(denominator)).rounded()
        self.init(Int32(max(Double(Int32.min), min(n, Double(Int32.max)))), denominator)
    }

    /// The value as a double (0 when the denominator is 0).
    public var doubleValue: Double { denominator == 0 ? 0 : Double(numerator) / Double(denominator) }
}

/// The value(s) of one TIFF field. Each case fixes the field type; `count` is the array length
/// (for ASCII: the byte length including the terminating NUL the encoder appends).
public enum TIFFValue: Sendable, Hashable {
    case bytes([UInt8])
    /// An ASCII string; the encoder appends the NUL terminator. Must not contain NUL.
    case ascii(String)
    case shorts([UInt16])
    case longs([UInt32])
    case rationals([TIFFRational])
    case sbytes([Int8])
    case undefined([UInt8])
    case sshorts([Int16])
    case slongs([Int32])
    case srationals([TIFFSRational])
    case floats([Float])
    case doubles([Double])

    /// The TIFF type this value is stored as.
    public var type: TIFFFieldType {
        switch self {
        case .bytes: .byte
        case .ascii: .ascii
        case .shorts: .short
        case .longs: .long
        case .rationals: .rational
        case .sbytes: .sbyte
        case .undefined: .undefined
        case .sshorts: .sshort
        case .slongs: .slong
        case .srationals: .srational
        case .floats: .float
        case .doubles: .double
        }
    }

    /// The TIFF count: number of values (ASCII: bytes including the NUL).
    public var count: Int {
        switch self {
        case .bytes(let v): v.count
        case .ascii(let s): s.utf8.count + 1
        case .shorts(let v): v.count
        case .longs(let v): v.count
        case .rationals(let v): v.count
        case .sbytes(let v): v.count
        case .undefined(let v): v.count
        case .sshorts(let v): v.count
        case .slongs(let v): v.count
        case .srationals(let v): v.count
        case .floats(let v): v.count
        case .doubles(let v): v.count
        }
    }

    /// Appends the little-endian encoding of the value(s) to `out`.
    func encode(into out: inout [UInt8]) {
        switch self {
        case .bytes(let v), .undefined(let v): out.append(contentsOf: v)
        case .ascii(let s):
            out.append(contentsOf: s.utf8)
            out.append(0)
        case .shorts(let v): for x in v { out.appendLE(x) }
        case .longs(let v): for x in v { out.appendLE(x) }
        case .rationals(let v):
            for r in v {
                out.appendLE(r.numerator)
                out.appendLE(r.denominator)
            }
        case .sbytes(let v): for x in v { out.append(UInt8(bitPattern: x)) }
        case .sshorts(let v): for x in v { out.appendLE(UInt16(bitPattern: x)) }
        case .slongs(let v): for x in v { out.appendLE(UInt32(bitPattern: x)) }
        case .srationals(let v):
            for r in v {
                out.appendLE(UInt32(bitPattern: r.numerator))
                out.appendLE(UInt32(bitPattern: r.denominator))
            }
        case .floats(let v): for x in v { out.appendLE(x.bitPattern) }
        case .doubles(let v): for x in v { out.appendLE(x.bitPattern) }
        }
    }
}

/// One image file directory (IFD): tagged fields, sub-directories and strips.
///
/// A value type; build it, hand it to ``TIFFContainer``. Setting the same tag twice replaces the
/// earlier value. The encoder adds `StripOffsets` (273) and `StripByteCounts` (279) itself when
/// ``strips`` is non-empty, and the offset field of every sub-directory tag.
public struct TIFFDirectory: Sendable, Hashable {
    /// Ordinary fields by tag number.
    public private(set) var fields: [UInt16: TIFFValue] = [:]
    /// Sub-directories by the tag that points at them (e.g. 34665 ExifIFD, 330 SubIFDs); the
    /// tag is written as LONG offsets, one per directory.
    public private(set) var subdirectories: [UInt16: [TIFFDirectory]] = [:]
    /// Image data strips, written contiguously in this order (bytes are stored verbatim).
    public var strips: [[UInt8]] = []

    /// An empty directory.
    public init() {}

    /// Sets (or replaces) field `tag`.
    public mutating func set(_ tag: UInt16, _ value: TIFFValue) {
        precondition(tag != TIFFTag.stripOffsets && tag != TIFFTag.stripByteCounts,
                     "strip offsets and counts are written by TIFFContainer from `strips`")
        subdirectories[tag] = nil
        fields[tag] = value
    }

    /// Sets (or replaces) a sub-directory tag pointing at `directories`.
    public mutating func setSubdirectories(_ tag: UInt16, _ directories: [TIFFDirectory]) {
        fields[tag] = nil
        subdirectories[tag] = directories
    }

    /// The value of field `tag`, if set.
    public subscript(tag: UInt16) -> TIFFValue? { fields[tag] }
}

/// Tag numbers used by the Tessera writers (TIFF 6.0, TIFF/EP, EXIF 2.3, DNG 1.4).
public enum TIFFTag {
    public static let newSubfileType: UInt16 = 254
    public static let imageWidth: UInt16 = 256
    public static let imageLength: UInt16 = 257
    public static let bitsPerSample: UInt16 = 258
    public static let compression: UInt16 = 259
    public static let photometricInterpretation: UInt16 = 262
    public static let make: UInt16 = 271
    public static let model: UInt16 = 272
    public static let stripOffsets: UInt16 = 273
    public static let orientation: UInt16 = 274
    public static let samplesPerPixel: UInt16 = 277
    public static let rowsPerStrip: UInt16 = 278
    public static let stripByteCounts: UInt16 = 279
    public static let xResolution: UInt16 = 282
    public static let yResolution: UInt16 = 283
    public static let planarConfiguration: UInt16 = 284
    public static let resolutionUnit: UInt16 = 296
    public static let software: UInt16 = 305
    public static let dateTime: UInt16 = 306
    public static let subIFDs: UInt16 = 330
    public static let sampleFormat: UInt16 = 339
    public static let cfaRepeatPatternDim: UInt16 = 33421
    public static let cfaPattern: UInt16 = 33422
    public static let exposureTime: UInt16 = 33434
    public static let fNumber: UInt16 = 33437
    public static let exifIFD: UInt16 = 34665
    public static let isoSpeedRatings: UInt16 = 34855
    public static let exifVersion: UInt16 = 36864
    public static let dateTimeOriginal: UInt16 = 36867
    public static let focalLength: UInt16 = 37386
    public static let subSecTimeOriginal: UInt16 = 37521
    public static let dngVersion: UInt16 = 50706
    public static let dngBackwardVersion: UInt16 = 50707
    public static let uniqueCameraModel: UInt16 = 50708
    public static let cfaPlaneColor: UInt16 = 50710
    public static let cfaLayout: UInt16 = 50711
    public static let blackLevelRepeatDim: UInt16 = 50713
    public static let blackLevel: UInt16 = 50714
    public static let whiteLevel: UInt16 = 50717
    public static let colorMatrix1: UInt16 = 50721
    public static let asShotNeutral: UInt16 = 50728
    public static let calibrationIlluminant1: UInt16 = 50778
    public static let activeArea: UInt16 = 50829
    public static let noiseProfile: UInt16 = 51041
}

/// Errors from ``TIFFContainer`` and ``DNGWriter``, each naming the file or field involved.
public enum DNGWriterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The image or metadata handed to the writer is inconsistent (`field` names the culprit).
    case invalidInput(field: String, reason: String)
    /// The encoded file would exceed classic TIFF's 4 GiB offset range.
    case tooLarge(bytes: Int)
    /// Writing `path` failed (`reason` is the system's message).
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidInput(let field, let reason): "invalid DNG/TIFF input, \(field): \(reason)"
        case .tooLarge(let bytes): "TIFF too large: \(bytes) bytes exceed the 4 GiB limit of classic TIFF"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}

/// Serialises ``TIFFDirectory`` chains to little-endian TIFF bytes.
///
/// Stateless and thread-safe: every function is a pure function of its arguments.
public enum TIFFContainer {
    /// Encodes `directories` as one TIFF file: the first is IFD0, the others follow in the
    /// next-IFD chain. Returns the whole file in memory (the caller owns the array).
    public static func encode(_ directories: [TIFFDirectory]) throws(DNGWriterError) -> [UInt8] {
        guard !directories.isEmpty else {
            throw .invalidInput(field: "directories", reason: "a TIFF file needs at least one IFD")
        }
        var estimate = 1024
        for d in directories { estimate += d.byteEstimate }
        guard estimate < Int(UInt32.max) else { throw .tooLarge(bytes: estimate) }
        var out: [UInt8] = []
        out.reserveCapacity(estimate)
        out.append(contentsOf: [0x49, 0x49, 42, 0])  // "II", 42
        out.appendLE(UInt32(0))  // patched below
        var previousNextField = 4
        for directory in directories {
            let offset = write(directory, into: &out)
            out.patchLE(UInt32(offset), at: previousNextField)
            let entries = directory.fields.count + directory.subdirectories.count + (directory.strips.isEmpty ? 0 : 2)
            previousNextField = offset + 2 + 12 * entries
        }
        guard out.count < Int(UInt32.max) else { throw .tooLarge(bytes: out.count) }
        return out
    }

    /// Encodes one directory and everything it owns (sub-directories, out-of-line values, strips)
    /// as a block that will be placed at byte `offset` of a file (a multiple of 4): every offset
    /// inside it is absolute, and the directory itself starts the block. Used to add an EXIF IFD
    /// to a TIFF written by another library.
    public static func encodeDirectory(_ directory: TIFFDirectory, at offset: Int) throws(DNGWriterError) -> [UInt8] {
        guard offset >= 0, offset % 4 == 0 else { throw .invalidInput(field: "offset", reason: "\(offset) is not a multiple of 4") }
        var out: [UInt8] = []
        out.reserveCapacity(directory.byteEstimate + 64)
        _ = write(directory, into: &out, base: offset)
        guard offset + out.count < Int(UInt32.max) else { throw .tooLarge(bytes: offset + out.count) }
        return out
    }

    /// Writes one directory (and everything it owns) at the end of `out`, which will sit at
    /// byte `base` of the file (a multiple of 4); returns the directory's absolute offset.
    private static func write(_ directory: TIFFDirectory, into out: inout [UInt8], base: Int = 0) -> Int {
        out.alignTo4()
        let ifdOffset = base + out.count
        // Collect the entries; placeholders for the computed ones.
        enum Payload {
            case value(TIFFValue)
            case subdirectories([TIFFDirectory])
            case stripOffsets
            case stripByteCounts
        }
        var entries: [(tag: UInt16, payload: Payload)] = directory.fields.map { ($0.key, .value($0.value)) }
        entries += directory.subdirectories.map { ($0.key, .subdirectories($0.value)) }
        if !directory.strips.isEmpty {
            entries.append((TIFFTag.stripOffsets, .stripOffsets))
            entries.append((TIFFTag.stripByteCounts, .stripByteCounts))
        }
        entries.sort { $0.tag < $1.tag }
        let entryCount = entries.count
        precondition(entryCount <= Int(UInt16.max), "too many TIFF entries")
        // Reserve the IFD: count, 12-byte entries, next-IFD offset.
        out.appendLE(UInt16(entryCount))
        let entriesStart = out.count
        out.append(contentsOf: repeatElement(0, count: 12 * entryCount + 4))

        // Strip layout is known up front; offsets are patched once the data is placed.
        var resolved: [(tag: UInt16, type: TIFFFieldType, count: Int, bytes: [UInt8])] = []
        var stripOffsetsEntry: Int? = nil
        var stripOffsetsOutOfLine: Int? = nil
        for (index, entry) in entries.enumerated() {
            switch entry.payload {
            case .value(let v):
                var bytes: [UInt8] = []
                v.encode(into: &bytes)
                resolved.append((entry.tag, v.type, v.count, bytes))
            case .subdirectories(let children):
                // Children are written right away (after the parent's reserved block); their
                // offsets go in the entry.
                var offsets: [UInt32] = []
                for child in children { offsets.append(UInt32(write(child, into: &out, base: base))) }
                var bytes: [UInt8] = []
                TIFFValue.longs(offsets).encode(into: &bytes)
                resolved.append((entry.tag, .long, offsets.count, bytes))
            case .stripOffsets:
                stripOffsetsEntry = index
                // Placeholder with the right size; patched after the strips are written.
                resolved.append((entry.tag, .long, directory.strips.count,
                                 [UInt8](repeating: 0, count: 4 * directory.strips.count)))
            case .stripByteCounts:
                var bytes: [UInt8] = []
                TIFFValue.longs(directory.strips.map { UInt32($0.count) }).encode(into: &bytes)
                resolved.append((entry.tag, .long, directory.strips.count, bytes))
            }
        }
        // Fill entries, placing values over four bytes out of line.
        for (index, r) in resolved.enumerated() {
            let at = entriesStart + 12 * index
            out.patchLE(r.tag, at: at)
            out.patchLE(r.type.rawValue, at: at + 2)
            out.patchLE(UInt32(r.count), at: at + 4)
            if r.bytes.count <= 4 {
                for (i, b) in r.bytes.enumerated() { out[at + 8 + i] = b }
            } else {
                out.alignTo4()
                let valueOffset = out.count
                out.append(contentsOf: r.bytes)
                out.patchLE(UInt32(base + valueOffset), at: at + 8)
                if index == stripOffsetsEntry { stripOffsetsOutOfLine = valueOffset }
            }
        }
        // Strips, contiguous.
        if let soIndex = stripOffsetsEntry {
            out.alignTo4()
            var offsets: [UInt32] = []
            for strip in directory.strips {
                offsets.append(UInt32(base + out.count))
                out.append(contentsOf: strip)
            }
            if let outOfLine = stripOffsetsOutOfLine {
                for (i, o) in offsets.enumerated() { out.patchLE(o, at: outOfLine + 4 * i) }
            } else {
                out.patchLE(offsets[0], at: entriesStart + 12 * soIndex + 8)
            }
        }
        return ifdOffset
    }

    /// A baseline RGB TIFF directory for a 16-bit interleaved image, uncompressed, in strips of
    /// about 256 KiB. Samples are stored exactly as given (no scaling).
    public static func rgb16Directory(image: RGBImage16, software: String = "tessera synth") throws(DNGWriterError) -> TIFFDirectory {
        guard image.width > 0, image.height > 0 else {
            throw .invalidInput(field: "image", reason: "empty image \(image.width)x\(image.height)")
        }
        var d = TIFFDirectory()
        d.set(TIFFTag.newSubfileType, .longs([0]))
        d.set(TIFFTag.imageWidth, .longs([UInt32(image.width)]))
        d.set(TIFFTag.imageLength, .longs([UInt32(image.height)]))
        d.set(TIFFTag.bitsPerSample, .shorts([16, 16, 16]))
        d.set(TIFFTag.compression, .shorts([1]))
        d.set(TIFFTag.photometricInterpretation, .shorts([2]))
        d.set(TIFFTag.samplesPerPixel, .shorts([3]))
        d.set(TIFFTag.planarConfiguration, .shorts([1]))
        d.set(TIFFTag.xResolution, .rationals([TIFFRational(72, 1)]))
        d.set(TIFFTag.yResolution, .rationals([TIFFRational(72, 1)]))
        d.set(TIFFTag.resolutionUnit, .shorts([2]))
        d.set(TIFFTag.sampleFormat, .shorts([1, 1, 1]))
        d.set(TIFFTag.software, .ascii(software))
        let rowBytes = image.width * 6
        let rowsPerStrip = max(1, min(image.height, (256 * 1024) / rowBytes))
        d.set(TIFFTag.rowsPerStrip, .longs([UInt32(rowsPerStrip)]))
        d.strips = samples16Strips(image.pixels, rowSamples: image.width * 3, rows: image.height, rowsPerStrip: rowsPerStrip)
        return d
    }

    /// Encodes a 16-bit RGB image as a complete uncompressed TIFF (ground-truth files).
    public static func writeRGB16TIFF(image: RGBImage16, software: String = "tessera synth") throws(DNGWriterError) -> [UInt8] {
        try encode([rgb16Directory(image: image, software: software)])
    }

    /// Splits row-major 16-bit samples into little-endian strips of `rowsPerStrip` rows.
    static func samples16Strips(_ samples: [UInt16], rowSamples: Int, rows: Int, rowsPerStrip: Int) -> [[UInt8]] {
        var strips: [[UInt8]] = []
        samples.withUnsafeBufferPointer { src in
            var row = 0
            while row < rows {
                let n = min(rowsPerStrip, rows - row)
                let count = n * rowSamples
                var strip = [UInt8](repeating: 0, count: count * 2)
                strip.withUnsafeMutableBytes { dst in
                    let base = src.baseAddress! + row * rowSamples
                    for i in 0..<count {
                        let v = base[i]
                        dst[2 * i] = UInt8(truncatingIfNeeded: v)
                        dst[2 * i + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    }
                }
                strips.append(strip)
                row += n
            }
        }
        return strips
    }
}

extension TIFFDirectory {
    /// Upper bound of the encoded size, for the 4 GiB check and buffer reservation.
    var byteEstimate: Int {
        var n = 6 + 12 * (fields.count + subdirectories.count + 2) + 64
        for v in fields.values { n += v.count * v.type.size + 4 }
        for list in subdirectories.values { for d in list { n += d.byteEstimate } }
        for s in strips { n += s.count + 8 }
        return n
    }
}

fileprivate extension [UInt8] {
    @inline(__always) mutating func appendLE(_ v: UInt16) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
    }
    @inline(__always) mutating func appendLE(_ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }
    @inline(__always) mutating func appendLE(_ v: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }
    mutating func patchLE(_ v: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: v)
        self[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }
    mutating func patchLE(_ v: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: v >> UInt32(8 * i)) }
    }
    mutating func alignTo4() {
        while count % 4 != 0 { append(0) }
    }
}
