// Row sources (``RGBRows``) over pixels already in memory: a whole image, or frame-sized memory
// the caller borrows to the encoder (the coordinator's memory-mapped assembly file).

extension RGBRows {
    /// All `height` rows of the interleaved RGB samples at `pixels` (`width × height × 3`,
    /// row-major) as one band: the encoder reads the caller's memory in place — no copy — and
    /// never writes to it (so read-only mapped memory is fine). The caller checked the count.
    static func whole(_ pixels: UnsafeBufferPointer<Sample>, width: Int, height: Int) -> RGBRows {
        var given = false
        return RGBRows(width: width, height: height) { () throws(ImagingError) -> (pixels: UnsafePointer<Sample>, rows: Int) in
            guard !given, let base = pixels.baseAddress else {
                throw .invalidTile(reason: "the encoder asked for rows past the image's \(height)")
            }
            given = true
            return (base, height)
        }
    }
}

extension ImageWriter {
    /// Calls `body` with the 8-bit rows of the 16-bit interleaved RGB `pixels` (`width × height
    /// × 3`, row-major), rounded band by band with ``to8Bit(_:count:into:)`` — the rounding of
    /// every 8-bit output — into one reused band of `bandRows` rows: an encoder fed these rows
    /// writes the bytes it writes for the 8-bit copy of the whole image, and no such copy exists.
    /// `pixels` are only read.
    static func withRGB8Rows<R>(converting pixels: UnsafeBufferPointer<UInt16>, width: Int, height: Int,
                                bandRows: Int = DevelopPipeline.streamBandRows,
                                _ body: (RGB8Rows) throws(ImagingError) -> R) throws(ImagingError) -> R {
        let bandRows = max(1, min(bandRows, height))
        let band = UnsafeMutablePointer<UInt8>.allocate(capacity: bandRows * width * 3)
        defer { band.deallocate() }
        var y = 0
        let rows = RGB8Rows(width: width, height: height) { () throws(ImagingError) -> (pixels: UnsafePointer<UInt8>, rows: Int) in
            let range = y..<min(y + bandRows, height)
            guard !range.isEmpty, let base = pixels.baseAddress else {
                throw .invalidTile(reason: "the encoder asked for rows past the image's \(height)")
            }
            to8Bit(base + range.lowerBound * width * 3, count: range.count * width * 3, into: band)
            y = range.upperBound
            return (UnsafePointer(band), range.count)
        }
        return try body(rows)
    }

    /// ``encode(_:format:options:metadata:threads:)`` of 16-bit interleaved RGB `pixels`
    /// (`width × height × 3`, row-major) that the caller holds — a memory-mapped file included —
    /// without copying them: the same bytes for the same pixels and arguments. JPEG and 8-bit
    /// PNG get 8-bit rows rounded band by band (``withRGB8Rows(converting:width:height:bandRows:_:)``);
    /// TIFF (every compression; deflate strips on up to `threads` threads) and 16-bit PNG read
    /// `pixels` in place. `pixels` are only read; the bytes stay in the encoder's buffer. Throws
    /// ``ImagingError/encodeFailed(format:reason:)`` when the count does not match the size.
    static func encode(_ pixels: UnsafeBufferPointer<UInt16>, width: Int, height: Int, format: OutputFormat,
                       options: Recipe.Output, metadata: OutputMetadata, threads: Int) throws(ImagingError) -> EncodedBytes {
        guard width >= 0, height >= 0, pixels.count == width * height * 3 else {
            throw .encodeFailed(format: format.rawValue, reason: "\(pixels.count) samples are not \(width)x\(height) RGB pixels")
        }
        switch format {
        case .tiff:
            return try encodeTIFF(RGB16Rows.whole(pixels, width: width, height: height), compression: options.tiffCompression,
                                  metadata: metadata, threads: threads)
        case .png where options.pngBitDepth == 16:
            return try encodePNG(RGB16Rows.whole(pixels, width: width, height: height), metadata: metadata)
        case .png:
            guard options.pngBitDepth == 8 else {
                throw .encodeFailed(format: "png", reason: "bit depth \(options.pngBitDepth) is not 8 or 16")
            }
            return try withRGB8Rows(converting: pixels, width: width, height: height) { (rows) throws(ImagingError) in
                try encodePNG(rows, metadata: metadata)
            }
        case .jpeg:
            return try withRGB8Rows(converting: pixels, width: width, height: height) { (rows) throws(ImagingError) in
                EncodedBytes(try encodeJPEG(rows, quality: options.jpegQuality, subsampling: options.jpegSubsampling, metadata: metadata))
            }
        }
    }
}
