import TesseraCore

/// A developed frame's output file, as every path writes it (`tessera develop`, a worker's
/// whole-frame task, the coordinator's assembly of tiles) — one definition, so the paths stay
/// byte-identical: pixels encoded with the recipe's output options, the capture's EXIF, and the
/// output colour space's ICC profile.
public enum OutputFile {
    /// The file's bytes. `threads`: how many threads compress a deflate TIFF's strips (the
    /// caller's among them; ``ImageWriter/encode(_:format:options:metadata:threads:)``); the bytes
    /// never depend on it.
    public static func encode(_ image: RGBImage16, format: OutputFormat, recipe: Recipe, info: RawFrameInfo,
                              threads: Int = 1) throws(ImagingError) -> [UInt8] {
        try ImageWriter.encode(image, format: format, options: recipe.output, metadata: metadata(recipe: recipe, info: info), threads: threads)
    }

    /// ``encode(_:format:recipe:info:threads:)`` of a `width × height` frame whose 16-bit
    /// interleaved RGB samples (`width × height × 3`, row-major, host order) the caller holds —
    /// the coordinator's memory-mapped assembly file — without copying them: the same bytes.
    /// JPEG and 8-bit PNG get 8-bit rows rounded band by band (no 8-bit frame exists); TIFF
    /// (deflate strips compressed on up to `threads` threads) and 16-bit PNG read the samples in
    /// place. `pixels` are only read, on the calling thread and the deflate threads, and only
    /// during the call. The bytes are returned in the encoder's own buffer (``EncodedBytes``: a
    /// TIFF or PNG is not copied into an array). Throws ``ImagingError/encodeFailed(format:reason:)``
    /// for a sample count that does not match the size.
    public static func encode(_ pixels: UnsafeBufferPointer<UInt16>, width: Int, height: Int, format: OutputFormat, recipe: Recipe,
                              info: RawFrameInfo, threads: Int = 1) throws(ImagingError) -> EncodedBytes {
        try ImageWriter.encode(pixels, width: width, height: height, format: format, options: recipe.output,
                               metadata: metadata(recipe: recipe, info: info), threads: threads)
    }

    /// The file's ICC profile and EXIF for a frame developed with `recipe`.
    static func metadata(recipe: Recipe, info: RawFrameInfo) -> OutputMetadata {
        let space = OutputColorSpace(recipe.color.outputSpace)
        return OutputMetadata(
            info: info, iccProfile: space.iccProfile(), software: "Tessera \(TesseraVersion.string)",
            colorSpace: space == .srgb ? .sRGB : .uncalibrated)
    }

    /// Develops a decoded frame and encodes its file: the same bytes as ``encode(_:format:recipe:info:)``
    /// of ``Developer/developFrame(_:settings:threads:)``. 8-bit outputs (JPEG, 8-bit PNG) are
    /// streamed: the develop hands 8-bit rows to the encoder band by band, so neither the
    /// 16-bit frame nor its 8-bit copy is ever held (``DevelopPipeline`` docs; docs/develop.md,
    /// "Streamed 8-bit outputs"); so are TIFF (every compression) and 16-bit PNG, with 16-bit
    /// rows into the strip writer or libpng. Blocks the caller; `threads` as for the develop (default: active cores), and as
    /// many compress a deflate TIFF's strips; the bytes never depend on it.
    public static func develop(_ raw: DecodedRaw, settings: DevelopSettings, format: OutputFormat, recipe: Recipe,
                               threads: Int? = nil) throws(ImagingError) -> [UInt8] {
        try developEncoded(raw, settings: settings, format: format, recipe: recipe, threads: threads).bytes
    }

    /// ``develop(_:settings:format:recipe:threads:)`` with the bytes left in the encoder's own
    /// buffer (``EncodedBytes``): a 16-bit TIFF or PNG is not copied into an array — what
    /// `tessera develop` writes to its file.
    public static func developEncoded(_ raw: DecodedRaw, settings: DevelopSettings, format: OutputFormat, recipe: Recipe,
                                      threads: Int? = nil) throws(ImagingError) -> EncodedBytes {
        guard raw.plane.width > 0, raw.plane.height > 0 else {
            return EncodedBytes(try encode(Developer.developFrame(raw, settings: settings, threads: threads), format: format, recipe: recipe,
                                           info: raw.info, threads: DevelopPipeline.workers(threads)))
        }
        try settings.validate()
        let pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: raw.plane.width, height: raw.plane.height))
        return try developEncoded(raw.plane, pipeline: pipeline, format: format, recipe: recipe, info: raw.info, threads: threads)
    }

    /// ``develop(_:settings:format:recipe:threads:)`` with an explicit pipeline (its kernel
    /// choice included) for the whole CFA `plane` (the pipeline's frame) and the frame's `info`.
    public static func develop(_ plane: RawPlane, pipeline: DevelopPipeline, format: OutputFormat, recipe: Recipe, info: RawFrameInfo,
                               threads: Int? = nil) throws(ImagingError) -> [UInt8] {
        try developEncoded(plane, pipeline: pipeline, format: format, recipe: recipe, info: info, threads: threads).bytes
    }

    /// ``develop(_:pipeline:format:recipe:info:threads:)`` with the bytes left in the encoder's
    /// own buffer (``EncodedBytes``).
    public static func developEncoded(_ plane: RawPlane, pipeline: DevelopPipeline, format: OutputFormat, recipe: Recipe, info: RawFrameInfo,
                                      threads: Int? = nil) throws(ImagingError) -> EncodedBytes {
        let metadata = metadata(recipe: recipe, info: info)
        switch format {
        case .tiff:
            // 16-bit rows band by band into the strip writer (every compression; deflate strips
            // compressed on `threads` threads): no 144 MB frame for a 24 MP TIFF.
            return try pipeline.withRGB16Rows(plane, threads: threads) { (rows) throws(ImagingError) -> EncodedBytes in
                try ImageWriter.encodeTIFF(rows, compression: recipe.output.tiffCompression, metadata: metadata,
                                           threads: DevelopPipeline.workers(threads))
            }
        case .png where recipe.output.pngBitDepth == 16:
            return try pipeline.withRGB16Rows(plane, threads: threads) { (rows) throws(ImagingError) -> EncodedBytes in
                try ImageWriter.encodePNG(rows, metadata: metadata)
            }
        case .png where recipe.output.pngBitDepth == 8, .jpeg:
            return try pipeline.withRGB8Rows(plane, threads: threads) { (rows) throws(ImagingError) -> EncodedBytes in
                format == .jpeg
                    ? EncodedBytes(try ImageWriter.encodeJPEG(rows, quality: recipe.output.jpegQuality, subsampling: recipe.output.jpegSubsampling,
                                                              metadata: metadata))
                    : try ImageWriter.encodePNG(rows, metadata: metadata)
            }
        case .png:
            // A bit depth the encoder refuses: its error, from the whole-frame path.
            return EncodedBytes(try encode(pipeline.developFrame(plane, threads: threads), format: format, recipe: recipe, info: info,
                                           threads: DevelopPipeline.workers(threads)))
        }
    }

    /// The file's name (no directory): the recipe's naming template rendered for this frame
    /// (sanitised: it can never leave the output directory), plus the format's extension.
    /// `sequence` is the frame's 1-based position in its job.
    public static func name(stem: String, sequence: Int, recipe: Recipe, info: RawFrameInfo, format: OutputFormat) throws(ImagingError) -> String {
        let base = try OutputNaming.render(template: recipe.output.naming,
                                           frame: NamingFields(stem: stem, sequence: sequence, recipe: recipe, info: info))
        return "\(base).\(format.fileExtension)"
    }
}
