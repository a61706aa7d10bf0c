import CPNG
import CTIFF
import CTurboJPEG

/// Reads TIFF, PNG and JPEG files into ``RGBImage16`` (for tests and tools). Stored sample
/// values are returned as they are — no colour management: 16-bit samples unchanged, 8-bit
/// samples scaled by 257 (so 255 → 65535). Thread-safe; one codec handle per call.
public enum ImageReader {
    /// Reads the file at `path`; the format is detected from its first bytes.
    public static func read(path: String) throws(ImagingError) -> RGBImage16 {
        try read(bytes: try FileIO.readAll(path: path), name: path)
    }

    /// Decodes an in-memory TIFF, PNG or JPEG; `name` is used in error messages.
    public static func read(bytes: [UInt8], name: String) throws(ImagingError) -> RGBImage16 {
        guard !bytes.isEmpty else { throw .unreadableImage(path: name, reason: "empty file") }
        if bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) || bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2A])
            || bytes.starts(with: [0x49, 0x49, 0x2B, 0x00]) || bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2B]) {
            return try readTIFF(bytes, name: name)
        }
        if bytes.starts(with: PNGChunks.signature) { return try readPNG(bytes, name: name) }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try readJPEG(bytes, name: name) }
        throw .unreadableImage(path: name, reason: "not a TIFF, PNG or JPEG file")
    }

    // MARK: TIFF

    static func readTIFF(_ bytes: [UInt8], name: String) throws(ImagingError) -> RGBImage16 {
        try FileIO.withBytes(bytes) { (raw) throws(ImagingError) -> RGBImage16 in
            guard let stream = tessera_tiff_stream_reader(raw.baseAddress, raw.count) else {
                throw .unreadableImage(path: name, reason: "out of memory")
            }
            defer { tessera_tiff_stream_free(stream) }
            func failure(_ what: String) -> ImagingError {
                let detail = String(cString: tessera_tiff_stream_error(stream))
                return .unreadableImage(path: name, reason: detail.isEmpty ? what : "\(what): \(detail)")
            }
            guard let tif = tessera_tiff_open_stream(stream, name, "r") else { throw failure("not a readable TIFF") }
            defer { TIFFClose(tif) }
            var w: UInt32 = 0, h: UInt32 = 0
            var bps: UInt16 = 0, spp: UInt16 = 0, photometric: UInt16 = 0, planar: UInt16 = 0, format: UInt16 = 0
            guard tessera_tiff_get_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &w) == 1,
                tessera_tiff_get_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), &h) == 1
            else { throw failure("missing image size") }
            _ = tessera_tiff_get_u16_defaulted(tif, UInt32(TIFFTAG_BITSPERSAMPLE), &bps)
            _ = tessera_tiff_get_u16_defaulted(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), &spp)
            _ = tessera_tiff_get_u16_defaulted(tif, UInt32(TIFFTAG_PLANARCONFIG), &planar)
            _ = tessera_tiff_get_u16_defaulted(tif, UInt32(TIFFTAG_SAMPLEFORMAT), &format)
            guard tessera_tiff_get_u16(tif, UInt32(TIFFTAG_PHOTOMETRIC), &photometric) == 1 else { throw failure("missing Photometric") }
            let width = Int(w), height = Int(h), samples = Int(spp)
            guard width > 0, height > 0, width * height <= 1 << 30 else { throw failure("unsupported size \(width)x\(height)") }
            guard bps == 8 || bps == 16, format == UInt16(SAMPLEFORMAT_UINT) else {
                throw failure("unsupported samples: \(bps)-bit, sample format \(format) (8/16-bit unsigned only)")
            }
            let isRGB = photometric == UInt16(PHOTOMETRIC_RGB) && samples >= 3
            let isGray = (photometric == UInt16(PHOTOMETRIC_MINISBLACK)) && samples >= 1
            guard isRGB || isGray else { throw failure("unsupported photometric \(photometric) with \(samples) samples (RGB or grey only)") }
            let channels = isRGB ? 3 : 1
            var out = [UInt16](repeating: 0, count: width * height * 3)
            let separate = planar == UInt16(PLANARCONFIG_SEPARATE)
            let bytesPerSample = Int(bps) / 8
            // Stores sample `c` (0..<channels) of pixel (x, y).
            func put(_ x: Int, _ y: Int, _ c: Int, _ v: UInt16) {
                let base = (y * width + x) * 3
                if channels == 3 { out[base + c] = v } else { out[base] = v; out[base + 1] = v; out[base + 2] = v }
            }
            func sample(_ buf: UnsafeMutableRawPointer, _ index: Int) -> UInt16 {
                bytesPerSample == 2 ? buf.load(fromByteOffset: index * 2, as: UInt16.self) : UInt16(buf.load(fromByteOffset: index, as: UInt8.self)) * 257
            }
            if TIFFIsTiled(tif) != 0 {
                var tw: UInt32 = 0, th: UInt32 = 0
                guard tessera_tiff_get_u32(tif, UInt32(TIFFTAG_TILEWIDTH), &tw) == 1,
                    tessera_tiff_get_u32(tif, UInt32(TIFFTAG_TILELENGTH), &th) == 1, tw > 0, th > 0
                else { throw failure("tiled TIFF without tile size") }
                let tileBytes = Int(TIFFTileSize(tif))
                let buf = UnsafeMutableRawPointer.allocate(byteCount: max(tileBytes, 1), alignment: 16)
                defer { buf.deallocate() }
                let planes = separate ? channels : 1
                for plane in 0..<planes {
                    for ty in stride(from: 0, to: height, by: Int(th)) {
                        for tx in stride(from: 0, to: width, by: Int(tw)) {
                            guard TIFFReadTile(tif, buf, UInt32(tx), UInt32(ty), 0, UInt16(plane)) >= 0 else { throw failure("reading a tile failed") }
                            for yy in 0..<min(Int(th), height - ty) {
                                for xx in 0..<min(Int(tw), width - tx) {
                                    let pix = yy * Int(tw) + xx
                                    if separate {
                                        put(tx + xx, ty + yy, plane, sample(buf, pix))
                                    } else {
                                        for c in 0..<channels { put(tx + xx, ty + yy, c, sample(buf, pix * samples + c)) }
                                    }
                                }
                            }
                        }
                    }
                }
            } else {
                let lineBytes = Int(TIFFScanlineSize(tif))
                let buf = UnsafeMutableRawPointer.allocate(byteCount: max(lineBytes, 1), alignment: 16)
                defer { buf.deallocate() }
                let planes = separate ? channels : 1
                for plane in 0..<planes {
                    for y in 0..<height {
                        guard TIFFReadScanline(tif, buf, UInt32(y), UInt16(plane)) >= 0 else { throw failure("reading row \(y) failed") }
                        for x in 0..<width {
                            if separate {
                                put(x, y, plane, sample(buf, x))
                            } else {
                                for c in 0..<channels { put(x, y, c, sample(buf, x * samples + c)) }
                            }
                        }
                    }
                }
            }
            return RGBImage16(width: width, height: height, pixels: out)
        }
    }

    // MARK: PNG

    static func readPNG(_ original: [UInt8], name: String) throws(ImagingError) -> RGBImage16 {
        guard let depth = PNGChunks.bitDepth(original),
            let bytes = PNGChunks.rewriteColorSpace(original, tagSRGB: depth != 16)
        else { throw .unreadableImage(path: name, reason: "malformed PNG chunk structure") }
        // libpng keeps reading from the buffer until png_image_finish_read: one scope for both.
        return try FileIO.withBytes(bytes) { (raw) throws(ImagingError) -> RGBImage16 in
            var png = png_image()
            png.version = tessera_png_image_version()
            defer { png_image_free(&png) }
            func failure() -> ImagingError {
                let message = withUnsafeBytes(of: png.message) { m in String(decoding: m.prefix { $0 != 0 }, as: UTF8.self) }
                return .unreadableImage(path: name, reason: "libpng: \(message)")
            }
            guard png_image_begin_read_from_memory(&png, raw.baseAddress, raw.count) != 0 else { throw failure() }
            let width = Int(png.width), height = Int(png.height)
            guard width > 0, height > 0, width * height <= 1 << 30 else {
                throw .unreadableImage(path: name, reason: "unsupported size \(width)x\(height)")
            }
            if depth == 16 {
                // No colour-space chunks left: libpng treats 16-bit data as linear and returns it as stored.
                png.format = tessera_png_format_linear_rgb()
                var out = [UInt16](repeating: 0, count: width * height * 3)
                let ok = out.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(width * 3), nil) }
                guard ok != 0 else { throw failure() }
                return RGBImage16(width: width, height: height, pixels: out)
            }
            png.format = tessera_png_format_rgb()
            var rgb8 = [UInt8](repeating: 0, count: width * height * 3)
            let ok = rgb8.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(width * 3), nil) }
            guard ok != 0 else { throw failure() }
            return RGBImage16(width: width, height: height, pixels: rgb8.map { UInt16($0) * 257 })
        }
    }

    // MARK: JPEG

    static func readJPEG(_ bytes: [UInt8], name: String) throws(ImagingError) -> RGBImage16 {
        guard let handle = tjInitDecompress() else { throw .unreadableImage(path: name, reason: "tjInitDecompress failed") }
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer { tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &w, &h, &subsamp, &colorspace) }
        guard header == 0, w > 0, h > 0 else {
            throw .unreadableImage(path: name, reason: "JPEG header: \(String(cString: tjGetErrorStr2(handle)))")
        }
        let width = Int(w), height = Int(h)
        var rgb8 = [UInt8](repeating: 0, count: width * height * 3)
        let rc = bytes.withUnsafeBufferPointer { src in
            rgb8.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, w, w * 3, h, Int32(TJPF_RGB.rawValue), TJFLAG_ACCURATEDCT)
            }
        }
        guard rc == 0 else { throw .unreadableImage(path: name, reason: "JPEG data: \(String(cString: tjGetErrorStr2(handle)))") }
        return RGBImage16(width: width, height: height, pixels: rgb8.map { UInt16($0) * 257 })
    }
}
