import CPNG
import CTIFF

/// JPEG marker-segment surgery for metadata: inserting APP1 Exif and APP2 ICC_PROFILE segments
/// after SOI (and the JFIF APP0 segment, if any), and finding them again.
enum JPEGSegments {
    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
    static let iccHeader: [UInt8] = Array("ICC_PROFILE".utf8) + [0]
    /// Largest ICC payload per APP2 segment: 65535 − 2 (length) − 12 (identifier) − 2 (sequence, count).
    static let iccChunk = 65519

    /// `jpeg` with the metadata segments inserted; unchanged when `metadata` carries nothing.
    static func insertMetadata(_ jpeg: [UInt8], metadata: OutputMetadata, width: Int, height: Int) throws(ImagingError) -> [UInt8] {
        guard metadata.hasExif || metadata.iccProfile != nil else { return jpeg }
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { throw .encodeFailed(format: "jpeg", reason: "libjpeg output has no SOI marker") }
        var insertAt = 2
        if jpeg[2] == 0xFF, jpeg[3] == 0xE0, jpeg.count >= 6 {
            insertAt = 4 + (Int(jpeg[4]) << 8 | Int(jpeg[5]))
            guard insertAt <= jpeg.count else { throw .encodeFailed(format: "jpeg", reason: "libjpeg output has a truncated APP0 segment") }
        }
        var segments: [UInt8] = []
        if metadata.hasExif {
            let payload = exifHeader + (try ExifBlock.build(metadata, width: width, height: height))
            guard payload.count <= 65533 else {
                throw .encodeFailed(format: "jpeg", reason: "EXIF block of \(payload.count) bytes does not fit one APP1 segment")
            }
            appendSegment(0xE1, payload, to: &segments)
        }
        if let icc = metadata.iccProfile {
            let count = (icc.count + iccChunk - 1) / iccChunk
            guard count <= 255 else { throw .encodeFailed(format: "jpeg", reason: "ICC profile of \(icc.count) bytes needs more than 255 APP2 segments") }
            for i in 0..<count {
                let chunk = icc[(i * iccChunk)..<min(icc.count, (i + 1) * iccChunk)]
                appendSegment(0xE2, iccHeader + [UInt8(i + 1), UInt8(count)] + chunk, to: &segments)
            }
        }
        var out = Array(jpeg[0..<insertAt])
        out.reserveCapacity(jpeg.count + segments.count)
        out += segments
        out += jpeg[insertAt...]
        return out
    }

    static func appendSegment(_ marker: UInt8, _ payload: [UInt8], to out: inout [UInt8]) {
        let length = payload.count + 2
        out += [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)]
        out += payload
    }

    /// The payloads of the APPn segments before the first SOS/EOI, in order; nil if malformed.
    static func appSegments(_ jpeg: [UInt8]) -> [(marker: UInt8, payload: ArraySlice<UInt8>)]? {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return nil }
        var result: [(marker: UInt8, payload: ArraySlice<UInt8>)] = []
        var i = 2
        while i + 4 <= jpeg.count {
            guard jpeg[i] == 0xFF else { return nil }
            let marker = jpeg[i + 1]
            if marker == 0xDA || marker == 0xD9 { return result }
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= jpeg.count else { return nil }
            if (0xE0...0xEF).contains(marker) { result.append((marker, jpeg[(i + 4)..<(i + 2 + length)])) }
            i += 2 + length
        }
        return nil
    }
}

extension ImageReader {
    /// The metadata embedded in an image written by ``ImageWriter`` (or any JPEG/PNG/TIFF):
    /// the ICC profile (JPEG APP2 chunks reassembled, PNG iCCP decompressed, TIFF tag 34675) and
    /// the EXIF fields of ``OutputMetadata`` (JPEG APP1, PNG eXIf; for TIFF the baseline tags
    /// Make, Model, Software, Orientation and DateTime plus the EXIF IFD).
    /// Fields that are absent keep ``OutputMetadata/none``'s values. `name` labels errors.
    ///
    /// Throws ``ImagingError/unreadableImage(path:reason:)`` for malformed files.
    public static func readMetadata(bytes: [UInt8], name: String) throws(ImagingError) -> OutputMetadata {
        if bytes.starts(with: PNGChunks.signature) { return try pngMetadata(bytes, name: name) }
        if bytes.starts(with: [0xFF, 0xD8]) { return try jpegMetadata(bytes, name: name) }
        if bytes.starts(with: [0x49, 0x49, 42, 0]) || bytes.starts(with: [0x4D, 0x4D, 0, 42]) { return try tiffMetadata(bytes, name: name) }
        throw .unreadableImage(path: name, reason: "not a JPEG, PNG or TIFF file")
    }

    static func jpegMetadata(_ bytes: [UInt8], name: String) throws(ImagingError) -> OutputMetadata {
        guard let segments = JPEGSegments.appSegments(bytes) else { throw .unreadableImage(path: name, reason: "malformed JPEG marker segments") }
        var m = OutputMetadata()
        if let app1 = segments.first(where: { $0.marker == 0xE1 && $0.payload.starts(with: JPEGSegments.exifHeader) }) {
            guard let exif = ExifBlock.parse(Array(app1.payload.dropFirst(JPEGSegments.exifHeader.count))) else {
                throw .unreadableImage(path: name, reason: "malformed EXIF block in APP1")
            }
            m = exif
        }
        let chunks = segments.filter { $0.marker == 0xE2 && $0.payload.starts(with: JPEGSegments.iccHeader) }
        if !chunks.isEmpty {
            let h = JPEGSegments.iccHeader.count
            var parts: [Int: ArraySlice<UInt8>] = [:]
            var total = 0
            for c in chunks {
                guard c.payload.count >= h + 2 else { throw .unreadableImage(path: name, reason: "short ICC_PROFILE segment") }
                let seq = Int(c.payload[c.payload.startIndex + h]), count = Int(c.payload[c.payload.startIndex + h + 1])
                guard seq >= 1, seq <= count, total == 0 || total == count, parts[seq] == nil else {
                    throw .unreadableImage(path: name, reason: "inconsistent ICC_PROFILE segment numbering")
                }
                total = count
                parts[seq] = c.payload.dropFirst(h + 2)
            }
            guard parts.count == total else { throw .unreadableImage(path: name, reason: "ICC_PROFILE has \(parts.count) of \(total) segments") }
            m.iccProfile = (1...total).flatMap { Array(parts[$0]!) }
        }
        return m
    }

    static func pngMetadata(_ bytes: [UInt8], name: String) throws(ImagingError) -> OutputMetadata {
        var icc: UnsafeMutablePointer<UInt8>? = nil, exif: UnsafeMutablePointer<UInt8>? = nil
        var iccSize = 0, exifSize = 0
        var message = [CChar](repeating: 0, count: 256)
        let ok = bytes.withUnsafeBufferPointer { src in
            message.withUnsafeMutableBufferPointer { err in
                tessera_png_read_metadata(src.baseAddress, src.count, &icc, &iccSize, &exif, &exifSize, err.baseAddress, err.count)
            }
        }
        defer {
            tessera_png_free(icc)
            tessera_png_free(exif)
        }
        guard ok == 1 else {
            throw .unreadableImage(path: name, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        var m = OutputMetadata()
        if let exif, exifSize > 0 {
            guard let parsed = ExifBlock.parse(Array(UnsafeBufferPointer(start: exif, count: exifSize))) else {
                throw .unreadableImage(path: name, reason: "malformed EXIF block in eXIf")
            }
            m = parsed
        }
        if let icc, iccSize > 0 { m.iccProfile = Array(UnsafeBufferPointer(start: icc, count: iccSize)) }
        return m
    }

    static func tiffMetadata(_ bytes: [UInt8], name: String) throws(ImagingError) -> OutputMetadata {
        try FileIO.withBytes(bytes) { (raw) throws(ImagingError) -> OutputMetadata in
            guard let stream = tessera_tiff_stream_reader(raw.baseAddress, raw.count) else {
                throw .unreadableImage(path: name, reason: "out of memory")
            }
            defer { tessera_tiff_stream_free(stream) }
            guard let tif = tessera_tiff_open_stream(stream, name, "r") else {
                throw .unreadableImage(path: name, reason: String(cString: tessera_tiff_stream_error(stream)))
            }
            defer { TIFFClose(tif) }
            func string(_ tag: Int32) -> String? {
                var p: UnsafePointer<CChar>? = nil
                guard tessera_tiff_get_ascii(tif, UInt32(tag), &p) == 1, let p else { return nil }
                return String(cString: p)
            }
            var m = OutputMetadata()
            m.make = string(TIFFTAG_MAKE) ?? ""
            m.model = string(TIFFTAG_MODEL) ?? ""
            m.software = string(TIFFTAG_SOFTWARE) ?? ""
            m.dateTimeOriginal = string(TIFFTAG_DATETIME)
            var orientation: UInt16 = 1
            if tessera_tiff_get_u16(tif, UInt32(TIFFTAG_ORIENTATION), &orientation) == 1 { m.orientation = Int(orientation) }
            var profile: UnsafeRawPointer? = nil
            var size: UInt32 = 0
            if tessera_tiff_get_icc(tif, &profile, &size) == 1, let profile, size > 0 {
                m.iccProfile = Array(UnsafeRawBufferPointer(start: profile, count: Int(size)))
            }
            // The EXIF IFD, read by the same parser as JPEG/PNG EXIF blocks (a TIFF file is one).
            if let exif = ExifBlock.parse(bytes) {
                m.exposureTime = exif.exposureTime
                m.fNumber = exif.fNumber
                m.iso = exif.iso
                m.focalLength = exif.focalLength
                m.lens = exif.lens
                m.subSecTimeOriginal = exif.subSecTimeOriginal
                m.colorSpace = exif.colorSpace
                if let original = exif.dateTimeOriginal { m.dateTimeOriginal = original }
            }
            return m
        }
    }
}
