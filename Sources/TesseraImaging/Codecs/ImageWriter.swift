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
    /// Encodes `image` as `format` with the recipe's output options and `metadata` (ICC profile
    /// and EXIF; ``OutputMetadata/none`` writes neither). Identical arguments ⇒ identical bytes.
    /// `threads`: how many threads compress deflate TIFF strips (the caller's among them; the
    /// bytes never depend on it); the other formats encode on the calling thread.
    public static func encode(_ image: RGBImage16, format: OutputFormat, options: Recipe.Output = Recipe.Output(),
                              metadata: OutputMetadata = .none, threads: Int = 1) throws(ImagingError) -> [UInt8] {
        switch format {
        case .jpeg: try encodeJPEG(image, quality: options.jpegQuality, subsampling: options.jpegSubsampling, metadata: metadata)
        case .tiff: try encodeTIFF(image, compression: options.tiffCompression, metadata: metadata, threads: threads)
        case .png: try encodePNG(image, bitDepth: options.pngBitDepth, metadata: metadata)
        }
    }

    /// Encodes `image` as `format` with `recipe.output` and `metadata`.
    public static func encode(_ image: RGBImage16, format: OutputFormat, recipe: Recipe, metadata: OutputMetadata = .none) throws(ImagingError) -> [UInt8] {
        try encode(image, format: format, options: recipe.output, metadata: metadata)
    }

    /// Encodes and writes with ``writeAtomically(_:to:overwrite:)``.
    public static func write(_ image: RGBImage16, format: OutputFormat, options: Recipe.Output = Recipe.Output(),
                             metadata: OutputMetadata = .none, to path: String, overwrite: Bool = false) throws(ImagingError) {
        try writeAtomically(try encode(image, format: format, options: options, metadata: metadata), to: path, overwrite: overwrite)
    }

    /// 16 → 8 bits with rounding: `(v · 255 + 32767) / 65535`.
    static func to8Bit(_ image: RGBImage16) -> [UInt8] {
        let count = image.pixels.count
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in to8Bit(src.baseAddress!, count: count, into: out.baseAddress!) }
            initialized = count
        }
    }

    /// ``to8Bit(_:)`` over `count` samples at `src` into `out`.
    static func to8Bit(_ src: UnsafePointer<UInt16>, count: Int, into out: UnsafeMutablePointer<UInt8>) {
        // A plain loop over raw buffers: it vectorises (`Array.map` did not; 10 % of a JPEG develop).
        for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: (UInt32(src[i]) &* 255 &+ 32767) / 65535) }
    }

    // MARK: JPEG

    /// Baseline JPEG via `tjCompress2` (accurate DCT), 8 bits per sample rounded from 16.
    /// `quality` 1…100. With metadata, an APP1 `Exif` segment (``ExifBlock``) and APP2
    /// `ICC_PROFILE` segments (ICC.1:2010 Annex B.4: chunks of at most 65 519 bytes, numbered
    /// from 1) follow the JFIF APP0 segment.
    public static func encodeJPEG(_ image: RGBImage16, quality: Int, subsampling: Recipe.ChromaSubsampling,
                                  metadata: OutputMetadata = .none) throws(ImagingError) -> [UInt8] {
        try checkJPEG(width: image.width, height: image.height, quality: quality, metadata: metadata)
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
        let jpeg = Array(UnsafeBufferPointer(start: jpegBuf, count: Int(jpegSize)))
        return try JPEGSegments.insertMetadata(jpeg, metadata: metadata, width: image.width, height: image.height)
    }

    /// The arguments every JPEG encode checks first.
    private static func checkJPEG(width: Int, height: Int, quality: Int, metadata: OutputMetadata) throws(ImagingError) {
        try metadata.validate(format: "jpeg")
        guard (1...100).contains(quality) else { throw .encodeFailed(format: "jpeg", reason: "quality \(quality) is out of range 1...100") }
        guard width > 0, height > 0, width <= 65535, height <= 65535 else {
            throw .encodeFailed(format: "jpeg", reason: "image size \(width)x\(height) outside 1...65535")
        }
    }

    /// ``encodeJPEG(_:quality:subsampling:metadata:)`` for rows that arrive band by band
    /// (`tessera_jpeg_encode_rows` in the CTurboJPEG shim: libjpeg's `jpeg_write_scanlines`
    /// with tjCompress2's settings): the same pixels give the same bytes, and no whole 8-bit
    /// frame is ever held. An error thrown by the row source is rethrown as is.
    static func encodeJPEG(_ rows: RGB8Rows, quality: Int, subsampling: Recipe.ChromaSubsampling,
                           metadata: OutputMetadata = .none) throws(ImagingError) -> [UInt8] {
        try checkJPEG(width: rows.width, height: rows.height, quality: quality, metadata: metadata)
        let (h, v): (Int32, Int32) =
            switch subsampling {
            case .s444: (1, 1)
            case .s422: (2, 1)
            case .s420: (2, 2)
            }
        let feed = RowFeed(rows)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = message.withUnsafeMutableBufferPointer { err in
            withExtendedLifetime(feed) {
                tessera_jpeg_encode_rows(UInt32(rows.width), UInt32(rows.height), Int32(quality), h, v, { context, count in
                    Unmanaged<RowFeed>.fromOpaque(context!).takeUnretainedValue().next(count)?.assumingMemoryBound(to: UInt8.self)
                }, Unmanaged.passUnretained(feed).toOpaque(), &out, &size, err.baseAddress, err.count)
            }
        }
        defer { tessera_jpeg_free(out) }
        if let error = feed.error { throw error }
        guard rc == 1, let out else { throw .encodeFailed(format: "jpeg", reason: RowFeed.string(message)) }
        let jpeg = Array(UnsafeBufferPointer(start: out, count: Int(size)))
        return try JPEGSegments.insertMetadata(jpeg, metadata: metadata, width: rows.width, height: rows.height)
    }

    // MARK: TIFF

    /// 16-bit interleaved RGB TIFF, little-endian, strips of about 256 KiB, compressed with
    /// `compression` (deflate and LZW with the horizontal predictor). Tags: size, samples,
    /// photometric RGB, planar contig, compression, predictor, strips, orientation (from
    /// `metadata`), and from `metadata` Make, Model, Software, DateTime (the capture time), the
    /// ICC profile (34675) and an EXIF IFD (34665) with the exposure fields — nothing volatile.
    ///
    /// Deflate strips are compressed by `deflateEncoder`: by default ``TIFFStripDeflater``, on
    /// up to `threads` threads (the caller's among them); libtiff's own codec (one thread) is
    /// the reference it is tested against. Both write the same bytes for any `threads`. LZW and
    /// uncompressed strips always go through libtiff on the calling thread.
    public static func encodeTIFF(_ image: RGBImage16, compression: Recipe.TIFFCompression = .deflate,
                                  metadata: OutputMetadata = .none, threads: Int = 1,
                                  deflateEncoder: TIFFDeflateEncoder = .strips) throws(ImagingError) -> [UInt8] {
        try image.pixels.withUnsafeBufferPointer { (src) throws(ImagingError) in
            try encodeTIFF(RGB16Rows.whole(src, width: image.width, height: image.height), compression: compression, metadata: metadata,
                           threads: threads, deflateEncoder: deflateEncoder).bytes
        }
    }

    /// ``encodeTIFF(_:compression:metadata:threads:deflateEncoder:)`` for 16-bit rows that
    /// arrive band by band (``OutputFile/develop(_:pipeline:format:recipe:info:threads:)``) or in
    /// one band straight from memory the caller holds (the whole image, a memory-mapped file):
    /// the strip encoder compresses each window of finished strips on up to `threads` threads
    /// while the rows after them are still to come, so the whole 16-bit frame is never held, and
    /// rows that fill whole windows are compressed in place. The same pixels give the same bytes,
    /// left in libtiff's memory stream (no copy). An error thrown by the row source is rethrown as is.
    static func encodeTIFF(_ rows: RGB16Rows, compression: Recipe.TIFFCompression = .deflate, metadata: OutputMetadata = .none,
                           threads: Int = 1, deflateEncoder: TIFFDeflateEncoder = .strips) throws(ImagingError) -> EncodedBytes {
        try writeTIFF(width: rows.width, height: rows.height, compression: compression, metadata: metadata, threads: threads) {
            (tif, rowsPerStrip, failure) throws(ImagingError) in
            if compression == .deflate, deflateEncoder == .strips {
                let deflater = try TIFFStripDeflater(tif, width: rows.width, height: rows.height, rowsPerStrip: rowsPerStrip,
                                                     threads: threads, failure: failure)
                try forEachBand(rows) { (pixels, count) throws(ImagingError) in try deflater.append(pixels, rows: count) }
                try deflater.finish()
            } else {
                try writeEncodedStrips(rows, tif: tif, rowsPerStrip: rowsPerStrip, compression: compression, failure: failure)
            }
        }
    }

    /// Pulls every band of `rows`, top to bottom, into `body` (its pixels and row count),
    /// checking that the source gives exactly `rows.height` rows.
    private static func forEachBand(_ rows: RGB16Rows, _ body: (UnsafePointer<UInt16>, Int) throws(ImagingError) -> Void) throws(ImagingError) {
        var y = 0
        while y < rows.height {
            let band = try rows.next()
            guard band.rows > 0, y + band.rows <= rows.height else {
                throw .encodeFailed(format: "tiff", reason: "the row source gave \(band.rows) row(s) at row \(y) of \(rows.height)")
            }
            try body(band.pixels, band.rows)
            y += band.rows
        }
    }

    /// Writes the strips of `rows` through libtiff's own codec (`TIFFWriteEncodedStrip`, on the
    /// calling thread): uncompressed, LZW, or the libtiff deflate reference.
    /// `TIFFWriteEncodedStrip` may modify the buffer (the predictor works in place), so
    /// compressed strips are copied into a strip buffer first; uncompressed ones are only read
    /// (a little-endian file on a little-endian host: no byte swapping), so whole strips are
    /// passed straight from the rows and only a strip split across bands is gathered.
    private static func writeEncodedStrips(_ rows: RGB16Rows, tif: OpaquePointer, rowsPerStrip: Int, compression: Recipe.TIFFCompression,
                                           failure: (String) -> ImagingError) throws(ImagingError) {
        #if _endian(little)
        let direct = compression == .none
        #else
        let direct = false
        #endif
        let rowSamples = rows.width * 3
        let strip = UnsafeMutablePointer<UInt16>.allocate(capacity: rowsPerStrip * rowSamples)
        defer { strip.deallocate() }
        var stripIndex: UInt32 = 0
        var filled = 0  // rows of the current strip gathered in `strip`
        func write(_ pixels: UnsafePointer<UInt16>, rows count: Int) throws(ImagingError) {
            guard TIFFWriteEncodedStrip(tif, stripIndex, UnsafeMutableRawPointer(mutating: pixels), tmsize_t(count * rowSamples * 2)) >= 0
            else { throw failure("TIFFWriteEncodedStrip failed") }
            stripIndex += 1
        }
        try forEachBand(rows) { (pixels, count) throws(ImagingError) in
            var source = pixels
            var left = count
            while left > 0 {
                let stripRows = min(rowsPerStrip, rows.height - Int(stripIndex) * rowsPerStrip)
                if direct, filled == 0, left >= stripRows {
                    try write(source, rows: stripRows)
                    source += stripRows * rowSamples
                    left -= stripRows
                    continue
                }
                let n = min(left, stripRows - filled)
                (strip + filled * rowSamples).update(from: source, count: n * rowSamples)
                filled += n
                source += n * rowSamples
                left -= n
                if filled == stripRows {
                    filled = 0
                    try write(strip, rows: stripRows)
                }
            }
        }
    }

    /// A 16-bit RGB TIFF of `width` × `height` pixels with `compression` and `metadata`:
    /// opens the memory stream, sets the tags, lets `strips` write every strip (given the
    /// handle, the rows per strip and the error maker for failed libtiff calls), then appends
    /// the EXIF IFD and writes the directory. The file's bytes stay in the stream's buffer,
    /// handed over as they are.
    private static func writeTIFF(width: Int, height: Int, compression: Recipe.TIFFCompression, metadata: OutputMetadata, threads: Int,
                                  strips: (OpaquePointer, Int, @escaping (String) -> ImagingError) throws(ImagingError) -> Void)
        throws(ImagingError) -> EncodedBytes {
        try metadata.validate(format: "tiff")
        guard width > 0, height > 0 else { throw .encodeFailed(format: "tiff", reason: "empty image") }
        guard threads >= 1 else { throw .encodeFailed(format: "tiff", reason: "threads \(threads) is below 1") }
        guard let stream = tessera_tiff_stream_writer() else { throw .encodeFailed(format: "tiff", reason: "out of memory") }
        defer { tessera_tiff_stream_free(stream) }
        // The stream outlives every use of `failure` (the deflater is released before it).
        let streamRef = UncheckedSendable(value: stream)
        let failure: (String) -> ImagingError = { what in
            let detail = String(cString: tessera_tiff_stream_error(streamRef.value))
            return .encodeFailed(format: "tiff", reason: detail.isEmpty ? what : "\(what): \(detail)")
        }
        // One allocation: the pixels (an upper bound for compressed strips on photographs; the
        // buffer still grows if needed) plus room for the tags and the ICC profile. Untouched
        // capacity costs no memory.
        let pixelBytes = width * height * 6
        guard tessera_tiff_stream_reserve(stream, pixelBytes + 65_536 + (metadata.iccProfile?.count ?? 0)) == 1 else {
            throw .encodeFailed(format: "tiff", reason: "out of memory for \(pixelBytes) bytes of pixels")
        }
        guard let tif = tessera_tiff_open_stream(stream, "memory.tif", "wl") else { throw failure("TIFFClientOpen failed") }
        var closed = false
        defer { if !closed { TIFFClose(tif) } }
        let rowsPerStrip = max(1, min(height, 262_144 / (width * 6)))
        let ok =
            tessera_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width)) == 1
            && tessera_tiff_set_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(height)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), 16) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), 3) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) == 1
            && tessera_tiff_set_u16(tif, UInt32(TIFFTAG_ORIENTATION), UInt16(metadata.orientation)) == 1
            && tessera_tiff_set_u32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(rowsPerStrip)) == 1
        guard ok else { throw failure("setting TIFF tags failed") }
        let codec: UInt16 =
            switch compression {
            case .none: UInt16(COMPRESSION_NONE)
            case .lzw: UInt16(COMPRESSION_LZW)
            case .deflate: UInt16(COMPRESSION_ADOBE_DEFLATE)
            }
        guard tessera_tiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), codec) == 1,
            compression == .none || tessera_tiff_set_u16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1
        else { throw failure("setting TIFF compression \(compression.rawValue) failed") }
        // Deflate at level 1: on noisy 16-bit photographs (after the horizontal predictor) zlib's
        // default level 6 buys little size for much time — 24 MP encode 1.61 s → 1.18 s measured
        // with `tessera bench develop` (docs/performance.md). The strip encoder uses the same level.
        if compression == .deflate, tessera_tiff_set_u32(tif, UInt32(TIFFTAG_ZIPQUALITY), UInt32(TIFFStripDeflater.level)) != 1 {
            throw failure("setting the deflate level failed")
        }
        let strings: [(UInt32, String)] = [
            (UInt32(TIFFTAG_MAKE), metadata.make), (UInt32(TIFFTAG_MODEL), metadata.model),
            (UInt32(TIFFTAG_SOFTWARE), metadata.software), (UInt32(TIFFTAG_DATETIME), metadata.dateTimeOriginal ?? ""),
        ]
        for (tag, value) in strings where !value.isEmpty {
            guard tessera_tiff_set_ascii(tif, tag, ExifBlock.ascii(value)) == 1 else { throw failure("setting TIFF tag \(tag) failed") }
        }
        if let icc = metadata.iccProfile {
            let ok = icc.withUnsafeBytes { tessera_tiff_set_icc(tif, $0.baseAddress, UInt32($0.count)) }
            guard ok == 1 else { throw failure("setting the TIFF ICC profile failed") }
        }
        try strips(tif, rowsPerStrip, failure)
        if metadata.hasExif {
            // The EXIF IFD (exposure, aperture, ISO, focal length, capture time, lens, colour
            // space) goes after the pixels, built by our TIFF writer with absolute offsets; IFD0,
            // which libtiff writes at the end on close, points to it (tag 34665).
            let size = tessera_tiff_stream_size_bytes(stream)
            let at = (size + 3) & ~3
            let block: [UInt8]
            do {
                block = try TIFFContainer.encodeDirectory(ExifBlock.exifDirectory(metadata, width: width, height: height), at: at)
            } catch {
                throw .encodeFailed(format: "tiff", reason: "EXIF IFD: \(error.description)")
            }
            let placed = block.withUnsafeBytes { tessera_tiff_stream_append_aligned(stream, $0.baseAddress, $0.count) }
            guard placed == at, tessera_tiff_set_u64(tif, UInt32(TIFFTAG_EXIFIFD), UInt64(at)) == 1 else {
                throw failure("linking the EXIF IFD failed")
            }
        }
        closed = true
        TIFFClose(tif)  // writes the directory
        let message = String(cString: tessera_tiff_stream_error(stream))
        guard message.isEmpty else { throw .encodeFailed(format: "tiff", reason: message) }
        let size = tessera_tiff_stream_size_bytes(stream)
        guard let data = tessera_tiff_stream_take(stream) else { throw .encodeFailed(format: "tiff", reason: "the memory stream is empty") }
        return EncodedBytes(adopting: data, count: size)
    }

    // MARK: PNG

    /// PNG through libpng's full write API (`tessera_png_encode_rgb` in the CPNG shim), 8 or 16
    /// bits per sample (8 rounds the samples, 16 keeps them exactly). Colour: an `iCCP` chunk
    /// (zlib-compressed by libpng) when `metadata` has a profile, else an `sRGB` chunk; an `eXIf`
    /// chunk when it has EXIF fields. Default zlib level, adaptive filters: deterministic.
    public static func encodePNG(_ image: RGBImage16, bitDepth: Int, metadata: OutputMetadata = .none) throws(ImagingError) -> [UInt8] {
        guard bitDepth == 8 || bitDepth == 16 else { throw .encodeFailed(format: "png", reason: "bit depth \(bitDepth) is not 8 or 16") }
        if bitDepth == 16 {
            return try image.pixels.withUnsafeBufferPointer { (src) throws(ImagingError) in
                try encodePNG(RGB16Rows.whole(src, width: image.width, height: image.height), metadata: metadata).bytes
            }
        }
        return try to8Bit(image).withUnsafeBufferPointer { (src) throws(ImagingError) in
            try encodePNG(RGB8Rows.whole(src, width: image.width, height: image.height), metadata: metadata).bytes
        }
    }

    /// The size and metadata checks of every PNG encode; returns the EXIF payload.
    private static func checkPNG(width: Int, height: Int, metadata: OutputMetadata) throws(ImagingError) -> [UInt8] {
        guard width > 0, height > 0, width <= 1 << 24, height <= 1 << 24 else {
            throw .encodeFailed(format: "png", reason: "image size \(width)x\(height) outside 1...2^24")
        }
        try metadata.validate(format: "png")
        return metadata.hasExif ? try ExifBlock.build(metadata, width: width, height: height) : []
    }

    /// ``encodePNG(_:bitDepth:metadata:)`` for rows that arrive band by band
    /// (`tessera_png_encode_rows`; the whole-image call feeds it one band): 8 bits per sample
    /// for ``RGB8Rows``, 16 for ``RGB16Rows``; the same pixels give the same bytes, and no whole
    /// 8-bit frame is held; the bytes stay in libpng's output buffer (no copy). An error thrown
    /// by the row source is rethrown as is.
    static func encodePNG<Sample: FixedWidthInteger & UnsignedInteger>(_ rows: RGBRows<Sample>,
                                                                        metadata: OutputMetadata = .none) throws(ImagingError) -> EncodedBytes {
        let bitDepth = Sample.bitWidth
        guard bitDepth == 8 || bitDepth == 16 else { throw .encodeFailed(format: "png", reason: "bit depth \(bitDepth) is not 8 or 16") }
        let exif = try checkPNG(width: rows.width, height: rows.height, metadata: metadata)
        let icc = metadata.iccProfile ?? []
        let feed = RowFeed(rows)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let ok: Int32 = message.withUnsafeMutableBufferPointer { err in
            icc.withUnsafeBufferPointer { iccBuf in
                exif.withUnsafeBufferPointer { exifBuf in
                    withExtendedLifetime(feed) {
                        tessera_png_encode_rows(UInt32(rows.width), UInt32(rows.height), Int32(bitDepth), iccBuf.baseAddress, UInt32(iccBuf.count),
                                                exifBuf.baseAddress, UInt32(exifBuf.count), { context, count in
                                                    Unmanaged<RowFeed>.fromOpaque(context!).takeUnretainedValue().next(count)
                                                }, Unmanaged.passUnretained(feed).toOpaque(), &out, &size, err.baseAddress, err.count)
                    }
                }
            }
        }
        if let error = feed.error {
            tessera_png_free(out)
            throw error
        }
        guard ok == 1, let out else {
            tessera_png_free(out)
            throw .encodeFailed(format: "png", reason: RowFeed.string(message))
        }
        return EncodedBytes(adopting: out, count: size)
    }

    /// Hands an ``RGBRows`` source (8- or 16-bit samples) to a C encoder's row callback
    /// (context: an unretained pointer to the feed, kept alive by the caller): the first error
    /// the source throws is kept and the callback returns NULL, so the encoder stops.
    private final class RowFeed {
        private let band: () throws(ImagingError) -> (pixels: UnsafeRawPointer, rows: Int)
        var error: ImagingError?

        init<Sample>(_ rows: RGBRows<Sample>) {
            band = { () throws(ImagingError) in
                let band = try rows.next()
                return (UnsafeRawPointer(band.pixels), band.rows)
            }
        }

        func next(_ count: UnsafeMutablePointer<UInt32>?) -> UnsafeRawPointer? {
            do {
                let band = try band()
                count?.pointee = UInt32(band.rows)
                return band.pixels
            } catch {
                self.error = error
                return nil
            }
        }

        /// A C message buffer as a String.
        static func string(_ message: [CChar]) -> String {
            String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
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
        try FileIO.withBytes(bytes) { (raw) throws(ImagingError) in try writeAtomically(raw, to: path, overwrite: overwrite) }
    }

    /// `writeAtomically` of bytes the caller holds (an encoder's
    /// own buffer, ``EncodedBytes``): written from where they are, never copied.
    public static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String, overwrite: Bool = false) throws(ImagingError) {
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
            try FileIO.writeAll(fd: fd, bytes: bytes, path: temp)
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
