import CPNG
import CTIFF
import CTurboJPEG
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Encodes ``RGBImage16`` images into JPEG, TIFF or PNG bytes in memory and writes files
/// atomically. Stateless and thread-safe: every call uses its own codec handle.
///
/// Encoding is deterministic: identical pixels and options give identical bytes (no
/// timestamps, software versions or other volatile tags are written).
public enum ImageWriter {
    /// Encodes `image` as `format` with the recipe's output options.
    public static func encode(_ image: RGBImage16, format: OutputFormat, options: Recipe.Output = Recipe.Output()) throws(ImagingError) -> [UInt8] {
        switch format {
        case .jpeg: try encodeJPEG(image, quality: options.jpegQuality, subsampling: options.jpegSubsampling)
        case .tiff: try encodeTIFF(image)
        case .png: try encodePNG(image, bitDepth: options.pngBitDepth)
        }
    }

    /// Encodes `image` as `format` with `recipe.output`.
    public static func encode(_ image: RGBImage16, format: OutputFormat, recipe: Recipe) throws(ImagingError) -> [UInt8] {
        try encode(image, format: format, options: recipe.output)
    }

    /// Encodes and writes with ``writeAtomically(_:to:overwrite:)``.
    public static func write(_ image: RGBImage16, format: OutputFormat, options: Recipe.Output = Recipe.Output(), to path: String, overwrite: Bool = false) throws(ImagingError) {
        try writeAtomically(try encode(image, format: format, options: options), to: path, overwrite: overwrite)
    }

    /// 16 → 8 bits with rounding: `(v · 255 + 32767) / 65535`.
    static func to8Bit(_ image: RGBImage16) -> [UInt8] {
        image.pixels.map { UInt8((UInt32($0) * 255 + 32767) / 65535) }
    }

    // MARK: JPEG

    /// Baseline JPEG via `tjCompress2` (accurate DCT), 8 bits per sample rounded from 16.
    /// `quality` 1…100.
    public static func encodeJPEG(_ image: RGBImage16, quality: Int, subsampling: Recipe.ChromaSubsampling) throws(ImagingError) -> [UInt8] {
        guard (1...100).contains(quality) else { throw .encodeFailed(format: "jpeg", reason: "quality \(quality) is out of range 1...100") }
        guard image.width > 0, image.height > 0, image.width <= 65535, image.height <= 65535 else {
            throw .encodeFailed(format: "jpeg", reason: "image size \(image.width)x\(image.height) outside 1...65535")
        }
        guard let handle = tjInitCompress() else { throw .encodeFailed(format: "jpeg", reason: "tjInitCompress failed") }
        defer { tjDestroy(handle) }
        let samp: Int32 =
            switch subsampling {
            case .s444: Int32(TJSAMP_444.rawValue)
            case .s422: Int32(TJSAMP_422.rawValue)
            case .s420: Int32(TJSAMP_420.rawValue)
            }
        let rgb8 = to8Bit(image)
        var jpegBuf: UnsafeMutablePointer<UInt8>? = nil
        var jpegSize: UInt = 0
        let rc = rgb8.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), Int32(image.width * 3), Int32(image.height),
                        Int32(TJPF_RGB.rawValue), &jpegBuf, &jpegSize, samp, Int32(quality), TJFLAG_ACCURATEDCT)
        }
        defer { if let jpegBuf { tjFree(jpegBuf) } }
        guard rc == 0, let jpegBuf else {
            throw .encodeFailed(format: "jpeg", reason: String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: jpegBuf, count: Int(jpegSize)))
    }

    // MARK: TIFF

    /// 16-bit interleaved RGB TIFF, little-endian, Adobe deflate with horizontal predictor,
    /// strips of about 256 KiB. Tags: size, samples, photometric RGB, planar contig, orientation,
    /// compression, predictor, strips — nothing volatile.
    public static func encodeTIFF(_ image: RGBImage16) throws(ImagingError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else { throw .encodeFailed(format: "tiff", reason: "empty image") }
        guard let stream = tessera_tiff_stream_writer() else { throw .encodeFailed(format: "tiff", reason: "out of memory") }
        defer { tessera_tiff_stream_free(stream) }
        func failure(_ what: String) -> ImagingError {
            let detail = String(cString: tessera_tiff_stream_error(stream))
            return .encodeFailed(format: "tiff", reason: detail.isEmpty ? what : "\(what): \(detail)")
        }
        guard let tif = tessera_tiff_open_stream(stream, "memory.tif", "wl") else { throw failure("TIFFClientOpen failed") }
        var closed = false
        defer { if !closed { TIFFClose(tif) } }
        let rowsPerStrip = max(1, min(image.height, 262_144 / (image.width * 6)))
        let ok =
            tessera_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(image.width)) == 1
            && tessera_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(image.height)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), 16) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), 3) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_ORIENTATION), UInt16(ORIENTATION_TOPLEFT)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_ADOBE_DEFLATE)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1
            && tessera_tiff_set_u32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(rowsPerStrip)) == 1
        guard ok else { throw failure("setting TIFF tags failed") }
        // TIFFWriteEncodedStrip may modify the buffer (predictor), so hand it a copy per strip.
        var strip = [UInt16](repeating: 0, count: rowsPerStrip * image.width * 3)
        let rowSamples = image.width * 3
        var stripIndex: UInt32 = 0
        var y = 0
        while y < image.height {
            let rows = min(rowsPerStrip, image.height - y)
            let count = rows * rowSamples
            let written = image.pixels.withUnsafeBufferPointer { src in
                strip.withUnsafeMutableBufferPointer { dst in
                    dst.baseAddress!.update(from: src.baseAddress! + y * rowSamples, count: count)
                    return TIFFWriteEncodedStrip(tif, stripIndex, dst.baseAddress, tmsize_t(count * 2))
                }
            }
            guard written >= 0 else { throw failure("TIFFWriteEncodedStrip failed") }
            stripIndex += 1
            y += rows
        }
        closed = true
        TIFFClose(tif)  // writes the directory
        let message = String(cString: tessera_tiff_stream_error(stream))
        guard message.isEmpty else { throw .encodeFailed(format: "tiff", reason: message) }
        return Array(UnsafeBufferPointer(start: tessera_tiff_stream_data(stream), count: tessera_tiff_stream_size_bytes(stream)))
    }

    // MARK: PNG

    /// PNG via `png_image_write_to_memory`. `bitDepth` 16 keeps the samples exactly; 8 rounds
    /// them. Both are tagged sRGB (the 16-bit path replaces libpng's linear gAMA/cHRM by sRGB).
    public static func encodePNG(_ image: RGBImage16, bitDepth: Int) throws(ImagingError) -> [UInt8] {
        guard bitDepth == 8 || bitDepth == 16 else { throw .encodeFailed(format: "png", reason: "bit depth \(bitDepth) is not 8 or 16") }
        guard image.width > 0, image.height > 0 else { throw .encodeFailed(format: "png", reason: "empty image") }
        var png = png_image()
        png.version = tessera_png_image_version()
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = bitDepth == 16 ? tessera_png_format_linear_rgb() : tessera_png_format_rgb()
        defer { png_image_free(&png) }
        func message() -> String {
            withUnsafeBytes(of: png.message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let rgb8 = bitDepth == 8 ? to8Bit(image) : []
        var size: png_alloc_size_t = 0
        // First pass: size only.
        let sized: Int32 = bitDepth == 16
            ? image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, Int32(image.width * 3), nil) }
            : rgb8.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, Int32(image.width * 3), nil) }
        guard sized != 0, size > 0 else { throw .encodeFailed(format: "png", reason: message()) }
        var out = [UInt8](repeating: 0, count: Int(size))
        let written: Int32 = out.withUnsafeMutableBytes { dst in
            bitDepth == 16
                ? image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, Int32(image.width * 3), nil) }
                : rgb8.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, Int32(image.width * 3), nil) }
        }
        guard written != 0 else { throw .encodeFailed(format: "png", reason: message()) }
        out.removeSubrange(Int(size)...)
        guard bitDepth == 16 else { return out }
        guard let tagged = PNGChunks.rewriteColorSpace(out, tagSRGB: true) else {
            throw .encodeFailed(format: "png", reason: "libpng produced an unparsable stream")
        }
        return tagged
    }

    // MARK: Atomic file writing

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
    /// fsync'ed and then moved into place (`rename` when `overwrite`, `link` + `unlink`
    /// otherwise, so an existing file is never replaced unless asked), then the directory is
    /// fsync'ed. Readers see either no file / the old file, or the complete new file; on any
    /// error the temporary file is removed.
    ///
    /// Throws ``ImagingError/fileExists(path:)`` when `path` exists and `overwrite` is false,
    /// ``ImagingError/io(path:operation:message:)`` for file-system failures.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, overwrite: Bool = false) throws(ImagingError) {
        if !overwrite, FileIO.fileExists(path) { throw .fileExists(path: path) }
        let dir = FileIO.directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var rng = SystemRandomNumberGenerator()
        let temp = "\(dir)/.\(base).tmp-\(getpid())-\(String(rng.next() as UInt64, radix: 36))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: temp, operation: "create temporary file", message: FileIO.errnoMessage()) }
        var keepTemp = false
        defer { if !keepTemp { unlink(temp) } }
        do {
            defer { close(fd) }
            try FileIO.withBytes(bytes) { (raw) throws(ImagingError) in try FileIO.writeAll(fd: fd, bytes: raw, path: temp) }
            guard fsync(fd) == 0 else { throw .io(path: temp, operation: "fsync", message: FileIO.errnoMessage()) }
        }
        if overwrite {
            guard rename(temp, path) == 0 else { throw .io(path: path, operation: "rename", message: FileIO.errnoMessage()) }
            keepTemp = true  // it is now `path`
        } else {
            if link(temp, path) != 0 {
                let code = errno
                if code == EEXIST { throw .fileExists(path: path) }
                // File systems without hard links: fall back to check-then-rename (racy only
                // against a concurrent writer of the same path).
                guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP else {
                    throw .io(path: path, operation: "link", message: FileIO.errnoMessage(code))
                }
                if FileIO.fileExists(path) { throw .fileExists(path: path) }
                guard rename(temp, path) == 0 else { throw .io(path: path, operation: "rename", message: FileIO.errnoMessage()) }
                keepTemp = true
            }
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw .io(path: dir, operation: "open directory", message: FileIO.errnoMessage()) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw .io(path: dir, operation: "fsync directory", message: FileIO.errnoMessage()) }
    }
}
