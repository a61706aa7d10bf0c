import CLibRaw
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes camera RAW files with LibRaw (the thread-safe `libraw_r`) into the active area's
/// CFA samples plus ``RawFrameInfo``.
///
/// Only 2×2 Bayer sensors are accepted. The pixel count announced by the header is checked
/// against ``maxPixels`` *before* unpacking, so a decompression bomb is refused cheaply.
/// A `RawDecoder` is a plain value: decode from any number of threads at once, each call uses
/// its own LibRaw handle and always closes it.
public struct RawDecoder: Sendable, Hashable {
    /// Largest accepted sensor size (full raw area, masked border included), in pixels.
    public var maxPixels: Int

    /// The default limit: 200 megapixels.
    public static let defaultMaxPixels = 200_000_000

    /// A decoder refusing sensors larger than `maxPixels` (must be positive).
    public init(maxPixels: Int = RawDecoder.defaultMaxPixels) {
        precondition(maxPixels > 0, "maxPixels must be positive")
        self.maxPixels = maxPixels
    }

    /// Decodes the RAW file at `path` with the default limits. See ``decode(path:)-instance``.
    public static func decode(path: String) throws(ImagingError) -> DecodedRaw {
        try RawDecoder().decode(path: path)
    }

    /// Decodes an in-memory RAW file with the default limits; `name` is used in error messages.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String) throws(ImagingError) -> DecodedRaw {
        try RawDecoder().decode(bytes: bytes, name: name)
    }

    /// Maps the whole file read-only (or reads it, where it cannot be mapped) and decodes it.
    /// Errors name `path`. The file must not be truncated during the call (SIGBUS).
    public func decode(path: String) throws(ImagingError) -> DecodedRaw {
        try FileIO.withMapped(path: path) { (buffer) throws(ImagingError) -> DecodedRaw in
            try decode(bytes: buffer, name: path)
        }
    }

    /// Decodes an in-memory RAW file (the buffer is only read, and only during the call).
    /// Returns the active area, unscaled. `name` (a file name) is used in error messages.
    public func decode(bytes: UnsafeRawBufferPointer, name: String) throws(ImagingError) -> DecodedRaw {
        // Image data that ends before the file does is caught here (LibRaw would read zeros);
        // a header-only read (``readInfo(bytes:name:)``) does not need the data.
        if let overrun = TIFFExtents.firstOverrun(bytes) {
            throw .truncated(file: name, detail: "\(overrun.tag) need \(overrun.needed) bytes but the file has \(bytes.count)")
        }
        return try withOpenedHandle(bytes: bytes, name: name) { (lr, counters) throws(ImagingError) -> DecodedRaw in
            let rc = libraw_unpack(lr)
            if rc != LIBRAW_SUCCESS.rawValue {
                throw Self.mapError(rc, name: name, counters: counters.pointee)
            }
            if counters.pointee.0 > 0 {
                throw Self.dataError(name: name, counters: counters.pointee)
            }
            guard let raw = tessera_libraw_raw_image(lr), tessera_libraw_has_float_or_color_image(lr) == 0 else {
                throw .unsupportedSensor(file: name, reason: "the RAW data is not a single-channel 16-bit mosaic (colour or floating-point raw)")
            }
            let info = try Self.frameInfo(lr, name: name, unpacked: true)
            let width = info.width, height = info.height
            let top = Int(tessera_libraw_top_margin(lr)), left = Int(tessera_libraw_left_margin(lr))
            let pitch = Int(tessera_libraw_raw_pitch(lr)) / 2
            let rawW = Int(tessera_libraw_raw_width(lr)), rawH = Int(tessera_libraw_raw_height(lr))
            guard top + height <= rawH, left + width <= rawW, pitch >= rawW else {
                throw .corrupt(file: name, detail: "active area \(width)x\(height)+\(left)+\(top) outside the raw area \(rawW)x\(rawH)")
            }
            // Uninitialised (every sample is copied), advised for huge pages before the first touch.
            let pixels = [UInt16](unsafeUninitializedCapacity: width * height) { out, count in
                FileIO.adviseHugePages(UnsafeMutableRawBufferPointer(out))
                for y in 0..<height {
                    let src = raw + (y + top) * pitch + left
                    (out.baseAddress! + y * width).initialize(from: src, count: width)
                }
                count = width * height
            }
            return DecodedRaw(info: info, plane: RawPlane(width: width, height: height, pixels: pixels))
        }
    }

    /// Reads only the header (no unpacking): geometry, CFA, levels, colour and shooting data.
    /// Black levels that some formats compute from masked pixels during unpacking may be
    /// missing here; ``decode(bytes:name:)`` reports the final values.
    public func readInfo(bytes: UnsafeRawBufferPointer, name: String) throws(ImagingError) -> RawFrameInfo {
        try withOpenedHandle(bytes: bytes, name: name) { (lr, _) throws(ImagingError) -> RawFrameInfo in
            try Self.frameInfo(lr, name: name, unpacked: false)
        }
    }

    /// Header-only variant of ``decode(path:)-instance``.
    /// Reads the file (not mapped: the coordinator reads captures that may still be growing).
    public func readInfo(path: String) throws(ImagingError) -> RawFrameInfo {
        let bytes = try FileIO.readAll(path: path)
        return try FileIO.withBytes(bytes) { (buffer) throws(ImagingError) -> RawFrameInfo in
            try readInfo(bytes: buffer, name: path)
        }
    }

    // MARK: - LibRaw plumbing

    private typealias Counters = (Int32, Int32)

    /// Opens `bytes` in a fresh handle, validates sensor type and size, runs `body`, always closes.
    private func withOpenedHandle<T>(
        bytes: UnsafeRawBufferPointer, name: String,
        _ body: (UnsafeMutablePointer<libraw_data_t>, UnsafeMutablePointer<Counters>) throws(ImagingError) -> T
    ) throws(ImagingError) -> T {
        guard bytes.count > 0, let base = bytes.baseAddress else { throw .emptyFile(file: name) }
        // The data-error counters outlive the handle (defers run in reverse order).
        let counters = UnsafeMutablePointer<Counters>.allocate(capacity: 1)
        counters.initialize(to: (0, 0))
        defer { counters.deallocate() }
        guard let lr = libraw_init(0) else {
            throw .libraw(file: name, code: LIBRAW_UNSUFFICIENT_MEMORY.rawValue, message: "libraw_init failed")
        }
        defer { libraw_close(lr) }
        counters.withMemoryRebound(to: Int32.self, capacity: 2) { tessera_libraw_install_data_error_counter(lr, $0) }
        // Memory cap for LibRaw's own raw buffer: maxPixels 16-bit samples (×4 for 4-colour
        // layouts) plus slack; the pixel-count check below is the primary guard.
        let capMB = min(UInt64(UInt32.max), UInt64(maxPixels) * 8 / (1 << 20) + 64)
        tessera_libraw_set_max_raw_memory_mb(lr, UInt32(capMB))

        let rc = libraw_open_buffer(lr, UnsafeMutableRawPointer(mutating: base), bytes.count)
        if rc == LIBRAW_IO_ERROR.rawValue {
            // Reading the header ran off the end: a short non-RAW file, or a RAW cut inside its header.
            throw .corrupt(file: name, detail: "no readable RAW header: not a RAW file, or its header is cut short")
        }
        if rc != LIBRAW_SUCCESS.rawValue { throw Self.mapError(rc, name: name, counters: counters.pointee) }
        let rawW = Int(tessera_libraw_raw_width(lr)), rawH = Int(tessera_libraw_raw_height(lr))
        let w = Int(tessera_libraw_width(lr)), h = Int(tessera_libraw_height(lr))
        let announced = max(rawW * rawH, w * h)
        if announced > maxPixels { throw .tooLarge(file: name, pixels: announced, limit: maxPixels) }
        guard w > 0, h > 0 else { throw .corrupt(file: name, detail: "the header gives an empty image (\(w)x\(h))") }
        _ = try Self.bayerPattern(lr, name: name)
        return try body(lr, counters)
    }

    private static func dataError(name: String, counters: Counters) -> ImagingError {
        if counters.1 > 0 {
            return .truncated(file: name, detail: "unexpected end of file while unpacking the image data")
        }
        return .corrupt(file: name, detail: "LibRaw reported \(counters.0) data error(s) while unpacking")
    }

    private static func mapError(_ rc: Int32, name: String, counters: Counters) -> ImagingError {
        let message = String(cString: libraw_strerror(rc))
        switch rc {
        case LIBRAW_FILE_UNSUPPORTED.rawValue: return .notRaw(file: name)
        case LIBRAW_TOO_BIG.rawValue: return .tooLarge(file: name, pixels: -1, limit: -1)
        case LIBRAW_IO_ERROR.rawValue:
            return .truncated(file: name, detail: "LibRaw: \(message): the image data ends before the image does")
        case LIBRAW_DATA_ERROR.rawValue: return .corrupt(file: name, detail: message)
        default:
            if counters.0 > 0 { return dataError(name: name, counters: counters) }
            return .libraw(file: name, code: rc, message: message)
        }
    }

    /// The 2×2 Bayer pattern from LibRaw's `filters`, or `unsupportedSensor` with the reason.
    private static func bayerPattern(_ lr: UnsafeMutablePointer<libraw_data_t>, name: String) throws(ImagingError) -> CFAPattern {
        let filters = tessera_libraw_filters(lr)
        let colors = tessera_libraw_colors(lr)
        if tessera_libraw_is_foveon(lr) != 0 {
            throw .unsupportedSensor(file: name, reason: "Foveon (layered) sensor, no colour filter array")
        }
        if filters == 9 { throw .unsupportedSensor(file: name, reason: "Fujifilm X-Trans 6x6 colour filter array") }
        if colors == 1 { throw .unsupportedSensor(file: name, reason: "monochrome sensor") }
        if filters == 0 {
            throw .unsupportedSensor(file: name, reason: "no colour filter array (linear/demosaiced DNG or full-colour raw data)")
        }
        if filters < 1000 { throw .unsupportedSensor(file: name, reason: "unusual colour filter layout (filters=\(filters))") }
        var cell: [CFAColor] = []
        for i in 0..<4 {
            switch tessera_libraw_fc(lr, Int32(i / 2), Int32(i % 2)) {
            case 0: cell.append(.red)
            case 1, 3: cell.append(.green)
            default: cell.append(.blue)
            }
        }
        let sorted = cell.map(\.rawValue).sorted()
        guard sorted == [0, 1, 1, 2], colors == 3 || colors == 4 else {
            throw .unsupportedSensor(file: name, reason: "not an RGB Bayer filter (\(colors) colours, 2x2 cell \(cell))")
        }
        for row in 0..<8 {
            for col in 0..<2 where tessera_libraw_fc(lr, Int32(row), Int32(col)) != tessera_libraw_fc(lr, Int32(row % 2), Int32(col)) {
                throw .unsupportedSensor(file: name, reason: "colour filter array does not repeat every 2x2 pixels")
            }
        }
        // A four-colour camera (CMYG or RGBE) that also reads as R/G/B/G3 has colour 3 ≠ green.
        if colors == 4 {
            let idx = (0..<4).map { tessera_libraw_fc(lr, Int32($0 / 2), Int32($0 % 2)) }
            if Set(idx).count == 4, tessera_libraw_cdesc_is_rgbg(lr) == 0 {
                throw .unsupportedSensor(file: name, reason: "four-colour filter array that is not RGBG")
            }
        }
        return CFAPattern(cell)
    }

    private static func frameInfo(_ lr: UnsafeMutablePointer<libraw_data_t>, name: String, unpacked: Bool) throws(ImagingError) -> RawFrameInfo {
        let cfa = try bayerPattern(lr, name: name)
        let width = Int(tessera_libraw_width(lr)), height = Int(tessera_libraw_height(lr))

        // Colour index per 2×2 cell as LibRaw's adjust_bl() assigns cblack[]: the second green
        // in raster order uses cblack[3].
        var clrs = (0..<4).map { Int(tessera_libraw_fc(lr, Int32($0 / 2), Int32($0 % 2))) }
        if let lastG = clrs.lastIndex(of: 1), clrs.filter({ $0 == 1 }).count > 1 { clrs[lastG] = 3 }
        let black = Double(tessera_libraw_black(lr))
        let rows = Int(tessera_libraw_cblack(lr, 4)), cols = Int(tessera_libraw_cblack(lr, 5))
        let patternOK = rows > 0 && cols > 0 && 6 + rows * cols <= Int(tessera_libraw_cblack_size())
        var blackLevels: [Double] = []
        for cell in 0..<4 {
            let cy = cell / 2, cx = cell % 2
            var level = black + Double(tessera_libraw_cblack(lr, Int32(clrs[cell])))
            if patternOK {
                // Average the pattern entries that fall on this cell's parity (exact for 1×1,
                // 1×2, 2×1 and 2×2 patterns; a mean for larger blocks).
                var sum = 0.0, n = 0.0
                for r in stride(from: cy, to: max(rows, 2) * 2, by: 2) {
                    for c in stride(from: cx, to: max(cols, 2) * 2, by: 2) {
                        sum += Double(tessera_libraw_cblack(lr, Int32(6 + (r % rows) * cols + (c % cols))))
                        n += 1
                    }
                }
                level += sum / n
            }
            blackLevels.append(level)
        }
        let white = Double(tessera_libraw_maximum(lr))
        guard white > (blackLevels.max() ?? 0) else {
            throw .corrupt(file: name, detail: "white level \(white) is not above the black levels \(blackLevels)")
        }

        // As-shot multipliers: cam_mul (R, G, B, G2), normalised to green; daylight pre_mul otherwise.
        func normalized(_ get: (Int32) -> Float) -> [Double]? {
            let r = Double(get(0)), g = Double(get(1)), b = Double(get(2))
            guard r.isFinite, g.isFinite, b.isFinite, r > 0, g > 0, b > 0 else { return nil }
            return [r / g, 1, b / g]
        }
        let multipliers = normalized { tessera_libraw_cam_mul(lr, $0) }
            ?? normalized { tessera_libraw_pre_mul(lr, $0) } ?? [1, 1, 1]

        var m: [Double] = []
        for r in 0..<3 { for c in 0..<3 { m.append(Double(tessera_libraw_rgb_cam(lr, Int32(r), Int32(c)))) } }
        let matrix = m.allSatisfy({ $0.isFinite }) && m.contains(where: { $0 != 0 }) ? Matrix3(m) : .identity

        let color = colorMetadata(lr)
        let lensName = cString(tessera_libraw_lens(lr))
        let lens = lensName.isEmpty ? cString(tessera_libraw_makernotes_lens(lr)) : lensName
        let timestamp = Int64(tessera_libraw_timestamp(lr))
        let dng = tessera_libraw_dng_version(lr)
        return RawFrameInfo(
            width: width, height: height, cfa: cfa, blackLevels: blackLevels, whiteLevel: white,
            asShotMultipliers: multipliers, cameraToSRGB: matrix,
            make: cString(tessera_libraw_make(lr)), model: cString(tessera_libraw_model(lr)), lens: lens,
            iso: Double(tessera_libraw_iso(lr)), exposureTime: Double(tessera_libraw_shutter(lr)),
            fNumber: Double(tessera_libraw_aperture(lr)), focalLength: Double(tessera_libraw_focal_len(lr)),
            timestamp: timestamp, dateTimeOriginal: exifDate(timestamp),
            orientation: exifOrientation(flip: Int(tessera_libraw_flip(lr))),
            rawFormat: unpacked ? cString(libraw_unpack_function_name(lr)) : "",
            dngVersion: dng == 0 ? nil : "\(dng >> 24 & 0xff).\(dng >> 16 & 0xff).\(dng >> 8 & 0xff).\(dng & 0xff)",
            colorMatrix1: color.colorMatrix[0], colorMatrix2: color.colorMatrix[1],
            calibrationIlluminant1: color.illuminant[0], calibrationIlluminant2: color.illuminant[1],
            forwardMatrix1: color.forwardMatrix[0], forwardMatrix2: color.forwardMatrix[1],
            cameraCalibration1: color.calibration[0], cameraCalibration2: color.calibration[1],
            analogBalance: color.analogBalance, asShotNeutral: color.asShotNeutral,
            baselineExposure: color.baselineExposure, cameraFromXYZ: color.camXYZ,
            daylightMultipliers: color.preMul, cameraMultipliers: color.camMul)
    }

    /// The colour tags LibRaw parsed (DNG ColorMatrix/ForwardMatrix/CameraCalibration per
    /// illuminant slot, AnalogBalance, AsShotNeutral, BaselineExposure) and its own matrices.
    /// A matrix or vector that is absent (all zero) or not finite is nil.
    private static func colorMetadata(_ lr: UnsafeMutablePointer<libraw_data_t>) -> (
        colorMatrix: [Matrix3?], forwardMatrix: [Matrix3?], calibration: [Matrix3?], illuminant: [Int?],
        analogBalance: [Double]?, asShotNeutral: [Double]?, baselineExposure: Double?,
        camXYZ: Matrix3?, preMul: [Double]?, camMul: [Double]?
    ) {
        // LibRaw stores the file's rationals as Float: take the shortest decimal that reads back
        // as that Float ("1.1", not 1.100000023841858), i.e. the value the file most likely states.
        func decimal(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }
        func matrix(_ get: (Int32, Int32) -> Float) -> Matrix3? {
            var m: [Double] = []
            for r in 0..<3 { for c in 0..<3 { m.append(decimal(get(Int32(r), Int32(c)))) } }
            return m.allSatisfy(\.isFinite) && m.contains(where: { $0 != 0 }) ? Matrix3(m) : nil
        }
        func vector(_ get: (Int32) -> Float) -> [Double]? {
            let v = (0..<3).map { decimal(get(Int32($0))) }
            return v.allSatisfy({ $0.isFinite && $0 > 0 }) ? v : nil
        }
        let isDNG = tessera_libraw_dng_version(lr) != 0
        var colorMatrix: [Matrix3?] = [nil, nil], forward: [Matrix3?] = [nil, nil]
        var calibration: [Matrix3?] = [nil, nil], illuminant: [Int?] = [nil, nil]
        if isDNG {
            for slot in 0..<2 {
                let s = Int32(slot)
                colorMatrix[slot] = matrix { tessera_libraw_dng_colormatrix(lr, s, $0, $1) }
                forward[slot] = matrix { tessera_libraw_dng_forwardmatrix(lr, s, $0, $1) }
                calibration[slot] = matrix { tessera_libraw_dng_calibration(lr, s, $0, $1) }
                let code = Int(tessera_libraw_dng_illuminant(lr, s))
                // LibRaw leaves 65535 in a slot the file does not fill.
                illuminant[slot] = colorMatrix[slot] == nil || code == 65535 ? nil : code
            }
        }
        let baseline = Double(tessera_libraw_baseline_exposure(lr))
        return (
            colorMatrix, forward, calibration, illuminant,
            // LibRaw fills AnalogBalance with 1s when the tag is absent, which means the same.
            isDNG ? vector { tessera_libraw_analogbalance(lr, $0) }.flatMap { $0 == [1, 1, 1] ? nil : $0 } : nil,
            isDNG ? vector { tessera_libraw_asshotneutral(lr, $0) } : nil,
            // LibRaw's "absent" marker is −999.
            isDNG && baseline.isFinite && baseline != 0 && baseline > -100 ? decimal(Float(baseline)) : nil,
            matrix { tessera_libraw_cam_xyz(lr, $0, $1) },
            vector { tessera_libraw_pre_mul(lr, $0) },
            vector { tessera_libraw_cam_mul(lr, $0) })
    }

    private static func cString(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p).trimmingTrailingSpaces()
    }

    /// LibRaw's `flip` (dcraw's code) back to EXIF orientation.
    static func exifOrientation(flip: Int) -> Int {
        switch flip {
        case 1: 2
        case 3: 3
        case 2: 4
        case 4: 5
        case 6: 6
        case 7: 7
        case 5: 8
        default: 1
        }
    }

    /// Formats LibRaw's mktime()-based timestamp back to EXIF local time "YYYY:MM:DD HH:MM:SS".
    static func exifDate(_ timestamp: Int64) -> String? {
        guard timestamp > 0 else { return nil }
        var t = time_t(timestamp)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return nil }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900):\(two(parts.tm_mon + 1)):\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " { s = s.dropLast() }
        return String(s)
    }
}
