/// Errors of RAW decoding, developing, recipes and image codecs.
///
/// Every case names the file (or recipe source, or format) involved so that a message can be
/// shown to an operator as is. Pattern-match on the case; `description` is the human message.
public enum ImagingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (or buffer) has no bytes at all.
    case emptyFile(file: String)
    /// LibRaw does not recognise the data as a RAW file (LIBRAW_FILE_UNSUPPORTED).
    case notRaw(file: String)
    /// The RAW file is valid but its sensor is not a 2×2 Bayer mosaic (X-Trans, Foveon,
    /// monochrome, linear/demosaiced DNG, 4-colour CFA, …).
    case unsupportedSensor(file: String, reason: String)
    /// The image data ends before the header says it should.
    case truncated(file: String, detail: String)
    /// The image data is damaged (LibRaw reported data errors while unpacking).
    case corrupt(file: String, detail: String)
    /// The header announces more pixels than the decoder's limit; refused before unpacking.
    /// `pixels` and `limit` are −1 when LibRaw's own memory limit refused the file (LIBRAW_TOO_BIG).
    case tooLarge(file: String, pixels: Int, limit: Int)
    /// Any other LibRaw failure, with LibRaw's error code and message.
    case libraw(file: String, code: Int32, message: String)
    /// A file-system operation failed (`operation` is e.g. "open", "read", "rename").
    case io(path: String, operation: String, message: String)
    /// Refusing to replace an existing file (pass `overwrite: true` to allow it).
    case fileExists(path: String)
    /// A recipe is invalid; `key` is the offending key path (e.g. "output.jpegQuality").
    case invalidRecipe(source: String, key: String, reason: String)
    /// Neither a built-in recipe name nor a readable JSON file.
    case unknownRecipe(name: String)
    /// Develop settings are unusable (wrong array sizes, non-finite numbers, …).
    case invalidSettings(field: String, reason: String)
    /// A develop tile request does not fit its input (e.g. input too small for core + halo).
    case invalidTile(reason: String)
    /// Encoding an image into `format` failed inside the codec library.
    case encodeFailed(format: String, reason: String)
    /// Reading an image file failed or the file holds an image layout we do not read.
    case unreadableImage(path: String, reason: String)

    /// The human-readable message, naming the file, recipe key or format involved.
    public var description: String {
        switch self {
        case .emptyFile(let file): "\(file): the file is empty"
        case .notRaw(let file): "\(file): not a RAW file (LibRaw does not recognise the format)"
        case .unsupportedSensor(let file, let reason): "\(file): unsupported sensor: \(reason)"
        case .truncated(let file, let detail): "\(file): truncated RAW data: \(detail)"
        case .corrupt(let file, let detail): "\(file): corrupt RAW data: \(detail)"
        case .tooLarge(let file, let pixels, let limit):
            "\(file): image too large: \(pixels) pixels exceeds the limit of \(limit) pixels"
        case .libraw(let file, let code, let message): "\(file): LibRaw error \(code): \(message)"
        case .io(let path, let operation, let message): "\(path): \(operation) failed: \(message)"
        case .fileExists(let path): "\(path): file exists (refusing to overwrite; pass overwrite to replace it)"
        case .invalidRecipe(let source, let key, let reason): "recipe \(source): key '\(key)': \(reason)"
        case .unknownRecipe(let name):
            "unknown recipe '\(name)': not a built-in recipe (\(Recipe.builtInNames.joined(separator: ", "))) and no such file"
        case .invalidSettings(let field, let reason): "develop settings: field '\(field)': \(reason)"
        case .invalidTile(let reason): "develop tile: \(reason)"
        case .encodeFailed(let format, let reason): "\(format) encoding failed: \(reason)"
        case .unreadableImage(let path, let reason): "\(path): cannot read image: \(reason)"
        }
    }
}
