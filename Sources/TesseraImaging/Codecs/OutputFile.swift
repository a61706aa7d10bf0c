import TesseraCore

/// A developed frame's output file, as every path writes it (`tessera develop`, a worker's
/// whole-frame task, the coordinator's assembly of tiles) — one definition, so the paths stay
/// byte-identical: pixels encoded with the recipe's output options, the capture's EXIF, and the
/// output colour space's ICC profile.
public enum OutputFile {
    /// The file's bytes.
    public static func encode(_ image: RGBImage16, format: OutputFormat, recipe: Recipe, info: RawFrameInfo) throws(ImagingError) -> [UInt8] {
        let space = OutputColorSpace(recipe.color.outputSpace)
        let metadata = OutputMetadata(
            info: info, iccProfile: space.iccProfile(), software: "Tessera \(TesseraVersion.string)",
            colorSpace: space == .srgb ? .sRGB : .uncalibrated)
        return try ImageWriter.encode(image, format: format, options: recipe.output, metadata: metadata)
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
