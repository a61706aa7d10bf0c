/// The file formats the farm writes.
public enum OutputFormat: String, Codable, Sendable, CaseIterable {
    /// 8-bit baseline JPEG (libjpeg-turbo), quality and subsampling from ``Recipe/Output``.
    case jpeg
    /// 16-bit RGB TIFF, deflate-compressed with horizontal predictor (libtiff), no volatile tags.
    case tiff
    /// PNG, 8 or 16 bits per sample (libpng's simplified API), tagged sRGB.
    case png

    /// The conventional file extension without the dot: "jpg", "tif", "png".
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .tiff: "tif"
        case .png: "png"
        }
    }
}
