import Foundation
import TesseraCore

/// A develop recipe (format version 2): what to do to every frame of a job, independent of any
/// particular frame — plain data (enums, numbers, optionals) with defaults and validated ranges.
/// Frame-specific numbers are filled in by ``DevelopSettings/resolve(recipe:info:)``; the
/// kernels that implement each field live in the develop stages.
///
/// Recipes are written as YAML files (see `docs/recipes.md` for every key, default and range):
/// ```yaml
/// version: 2
/// name: studio-portrait
/// demosaic: quality
/// whiteBalance: { mode: asShot }
/// tone: { exposure: 0.3, highlights: blend, contrast: 0.1, curve: filmic }
/// look: natural
/// sharpen: { radius: 0.8, amount: 0.6, threshold: 0.02 }
/// output: { jpeg: { quality: 92, subsampling: "444" }, naming: "{stem}" }
/// ```
/// Version-1 JSON recipes are migrated forward (see ``parse(_:source:)``). Unknown keys, wrong
/// types and out-of-range values are refused with ``ImagingError/invalidRecipe(source:key:reason:)``
/// whose `key` is the key path (`tone.contrast`) and whose `source` is `file:line:column`.
///
/// A value type; `Sendable`; all functions are pure except ``resolve(_:)`` which may read a file.
public struct Recipe: Codable, Sendable, Hashable {
    // MARK: Stage parameters

    /// Demosaicing choice.
    public enum Demosaic: String, Codable, Sendable, CaseIterable {
        /// Malvar–He–Cutler (2004) gradient-corrected bilinear, 5×5 kernels, halo 2.
        case fast
        /// The edge-directed quality demosaic (maps to MHC until the quality kernel is wired).
        case quality
    }

    /// White-balance presets (the colour engine's ``TesseraImaging/WhiteBalancePreset``).
    public typealias WhiteBalancePreset = TesseraImaging.WhiteBalancePreset
    /// Where the white-balance multipliers come from (the colour engine's ``TesseraImaging/WhiteBalance``,
    /// resolved by ``ColorResolver``).
    public typealias WhiteBalance = TesseraImaging.WhiteBalance

    /// Output colour spaces; each implies its primaries, white point and ICC profile.
    public enum OutputSpace: String, Codable, Sendable, CaseIterable {
        case sRGB, displayP3, adobeRGB
    }

    /// Colour management.
    public struct Color: Sendable, Hashable {
        /// The RGB space of the output file (default sRGB).
        public var outputSpace: OutputSpace
        /// Colour settings with the given output space.
        public init(outputSpace: OutputSpace = .sRGB) { self.outputSpace = outputSpace }
    }

    /// Highlight handling for pixels where a channel reached the white level.
    public enum Highlights: String, Codable, Sendable, CaseIterable {
        /// Clip every channel at the white level (neutral reference; may tint highlights).
        case clip
        /// Blend clipped pixels towards neutral so blown highlights stay white.
        case blend
        /// Reconstruct clipped channels from the unclipped ones.
        case reconstruct
    }

    /// Parameters of the filmic tone curve, in stops relative to scene middle grey (0.18).
    public struct Filmic: Sendable, Hashable {
        /// Scene exposure above middle grey that maps to display white, EV (default 4, 1…12).
        public var whitePoint: Double
        /// Scene exposure below middle grey that maps to display black, EV (default −8, −16…−2).
        public var blackPoint: Double
        /// Slope of the curve at middle grey in log–log space (default 1.1, 0.5…3).
        public var contrast: Double

        /// Allowed ranges.
        public static let whitePointRange: ClosedRange<Double> = 1...12
        public static let blackPointRange: ClosedRange<Double> = -16 ... -2
        public static let contrastRange: ClosedRange<Double> = 0.5...3

        /// Filmic parameters (not validated; parsing validates).
        public init(whitePoint: Double = 4, blackPoint: Double = -8, contrast: Double = 1.1) {
            self.whitePoint = whitePoint
            self.blackPoint = blackPoint
            self.contrast = contrast
        }
    }

    /// The transfer / tone curve from linear light to the output encoding.
    public enum Curve: Sendable, Hashable {
        /// Linear output (no curve).
        case none
        /// The output space's standard transfer curve (IEC 61966-2-1 for sRGB; the neutral reference).
        case srgb
        /// A filmic shoulder/toe curve.
        case filmic(Filmic)
    }

    /// Tone controls, applied on linear scene-referred light.
    public struct Tone: Sendable, Hashable {
        /// Exposure compensation in stops (gain 2^EV), ``exposureRange``.
        public var exposure: Double
        /// Highlight handling.
        public var highlights: Highlights
        /// Global contrast −1…1 (0 = unchanged).
        public var contrast: Double
        /// Saturation −1…1 (0 = unchanged, −1 = monochrome).
        public var saturation: Double
        /// Vibrance −1…1 (saturation weighted towards muted colours; 0 = unchanged).
        public var vibrance: Double
        /// The tone curve.
        public var curve: Curve

        /// Allowed exposure compensation, stops.
        public static let exposureRange: ClosedRange<Double> = -10...10
        /// Allowed range of contrast, saturation and vibrance.
        public static let unitRange: ClosedRange<Double> = -1...1

        /// Tone settings (defaults: the neutral reference).
        public init(exposure: Double = 0, highlights: Highlights = .clip, contrast: Double = 0, saturation: Double = 0,
                    vibrance: Double = 0, curve: Curve = .srgb) {
            self.exposure = exposure
            self.highlights = highlights
            self.contrast = contrast
            self.saturation = saturation
            self.vibrance = vibrance
            self.curve = curve
        }
    }

    /// A creative look applied after tone.
    public enum Look: Sendable, Hashable {
        case none
        /// The built-in natural, faithful look.
        case natural
        /// The built-in punchy, high-contrast look.
        case punchy
        /// A user 3D LUT in Adobe `.cube` format named by its path, as written in a recipe file
        /// (relative paths resolve against the working directory of the process that reads it).
        /// ``pinningFiles()`` turns it into ``embeddedCube(source:table:)`` when a job is made.
        case cube(path: String)
        /// A user 3D LUT carried inside the recipe: `source` names where it came from (for error
        /// messages), `table` is the `.cube` text itself. A job's recipe always has this form, so
        /// the job does not depend on a file that may change or be missing on the coordinator,
        /// and the recipe ``hash`` covers the table's contents.
        case embeddedCube(source: String, table: String)
    }

    /// Unsharp-mask sharpening.
    public struct Sharpen: Sendable, Hashable {
        /// Gaussian radius (sigma) in output pixels, ``radiusRange``.
        public var radius: Double
        /// Strength: output = input + amount · (input − blurred), ``amountRange``.
        public var amount: Double
        /// Differences below this (in linear units, 1 = white) are not sharpened, ``thresholdRange``.
        public var threshold: Double

        public static let radiusRange: ClosedRange<Double> = 0.1...10
        public static let amountRange: ClosedRange<Double> = 0...5
        public static let thresholdRange: ClosedRange<Double> = 0...1

        /// Sharpening parameters (not validated; parsing validates).
        public init(radius: Double = 1, amount: Double = 0.5, threshold: Double = 0) {
            self.radius = radius
            self.amount = amount
            self.threshold = threshold
        }
    }

    /// Output size (Lanczos-3), never enlarging beyond the developed frame is up to the stage.
    public enum Resize: Sendable, Hashable {
        /// Scale so the longer edge has this many pixels, ``longEdgeRange``.
        case longEdge(Int)
        /// Scale so width × height ≈ this many million pixels, ``megapixelsRange``.
        case megapixels(Double)

        public static let longEdgeRange: ClosedRange<Int> = 16...65535
        public static let megapixelsRange: ClosedRange<Double> = 0.01...1000
    }

    /// Crop, in developed-frame pixel coordinates as stored (before resize, no orientation applied).
    public enum Crop: Sendable, Hashable {
        /// An explicit rectangle; it must fit the frame (checked per frame by the pipeline).
        case rect(x: Int, y: Int, width: Int, height: Int)
        /// The largest centred rectangle with this width:height ratio (each part 0 < v ≤ 100).
        case aspect(width: Double, height: Double)
    }

    /// JPEG chroma subsampling.
    public enum ChromaSubsampling: String, Codable, Sendable, CaseIterable {
        case s444 = "444"
        case s422 = "422"
        case s420 = "420"
    }

    /// TIFF compression.
    public enum TIFFCompression: String, Codable, Sendable, CaseIterable {
        case none, lzw, deflate
    }

    /// Encoder options and naming of the output files. In YAML these are nested
    /// (`output.jpeg.quality`, `output.jpeg.subsampling`, `output.png.bitDepth`,
    /// `output.tiff.compression`, `output.naming`); in Swift they are flat.
    public struct Output: Sendable, Hashable {
        /// JPEG quality 1…100 (default 92).
        public var jpegQuality: Int
        /// JPEG chroma subsampling (default 4:4:4).
        public var jpegSubsampling: ChromaSubsampling
        /// PNG sample depth, 8 or 16 (default 16).
        public var pngBitDepth: Int
        /// TIFF compression (default deflate).
        public var tiffCompression: TIFFCompression
        /// File-name template without extension (default `{stem}`), see ``OutputNaming``.
        public var naming: String

        /// Options with the given values (not validated; parsing validates).
        public init(jpegQuality: Int = 92, jpegSubsampling: ChromaSubsampling = .s444, pngBitDepth: Int = 16,
                    tiffCompression: TIFFCompression = .deflate, naming: String = "{stem}") {
            self.jpegQuality = jpegQuality
            self.jpegSubsampling = jpegSubsampling
            self.pngBitDepth = pngBitDepth
            self.tiffCompression = tiffCompression
            self.naming = naming
        }
    }

    // MARK: Fields

    /// The recipe format version; always ``currentVersion`` once parsed (older files migrate).
    public var version: Int
    /// A short name, reported in job listings and available to naming templates as `{recipe}`.
    public var name: String
    /// Demosaicing choice (default quality).
    public var demosaic: Demosaic
    /// White-balance source (default as shot).
    public var whiteBalance: WhiteBalance
    /// Colour management (default sRGB output).
    public var color: Color
    /// Tone controls (default: neutral reference).
    public var tone: Tone
    /// Creative look (default none).
    public var look: Look
    /// Sharpening, nil for none (default).
    public var sharpen: Sharpen?
    /// Resize, nil for full size (default).
    public var resize: Resize?
    /// Crop, nil for the whole frame (default).
    public var crop: Crop?
    /// Encoder options and naming of the output files.
    public var output: Output

    /// Exposure compensation in stops (alias of `tone.exposure`).
    public var exposureEV: Double {
        get { tone.exposure }
        set { tone.exposure = newValue }
    }

    /// The current recipe format version.
    public static let currentVersion = 2
    /// Identifies the develop code; part of ``hash`` so results cached under an older pipeline
    /// are not reused. Bump when the pipeline's output changes for the same recipe.
    public static let toolVersion = "tessera-develop/2 (recipe v2)"
    /// Allowed exposure compensation, in stops.
    public static let exposureRange: ClosedRange<Double> = Tone.exposureRange

    /// A recipe with the given values; every omitted parameter takes its default (the neutral
    /// reference). Not validated: ``validate()`` checks ranges.
    public init(
        name: String, demosaic: Demosaic = .quality, whiteBalance: WhiteBalance = .asShot, color: Color = Color(),
        tone: Tone = Tone(), look: Look = .none, sharpen: Sharpen? = nil, resize: Resize? = nil, crop: Crop? = nil,
        output: Output = Output()
    ) {
        self.version = Recipe.currentVersion
        self.name = name
        self.demosaic = demosaic
        self.whiteBalance = whiteBalance
        self.color = color
        self.tone = tone
        self.look = look
        self.sharpen = sharpen
        self.resize = resize
        self.crop = crop
        self.output = output
    }

    // MARK: Built-ins

    /// The accuracy reference: as-shot white balance, quality demosaic, camera → sRGB, the sRGB
    /// transfer curve, highlights clipped, no look, no sharpening, no resize, no crop.
    public static let neutral = Recipe(name: "neutral")
    /// The default look: natural look, highlights blended, mild sharpening.
    public static let standard = Recipe(
        name: "standard", tone: Tone(highlights: .blend), look: .natural,
        sharpen: Sharpen(radius: 0.8, amount: 0.4, threshold: 0.01))
    /// High contrast and colour: punchy look, filmic curve, more contrast and vibrance, firmer sharpening.
    public static let punchy = Recipe(
        name: "punchy", tone: Tone(highlights: .blend, contrast: 0.25, saturation: 0.05, vibrance: 0.2, curve: .filmic(Filmic())),
        look: .punchy, sharpen: Sharpen(radius: 1.0, amount: 0.7, threshold: 0.01))
    /// Built-in recipes by name.
    public static let builtIns: [String: Recipe] = ["neutral": .neutral, "standard": .standard, "punchy": .punchy]
    /// Sorted names of the built-in recipes.
    public static var builtInNames: [String] { builtIns.keys.sorted() }

    // MARK: Loading

    /// A built-in recipe by name, else a recipe file at `nameOrPath` (YAML, or version-1 JSON),
    /// else — when the argument looks like a document (has a newline, `{` or `: `) — the
    /// recipe text itself (the CLI sends file contents to remote coordinators; errors then name
    /// the source `<recipe text>`).
    ///
    /// Errors: ``ImagingError/unknownRecipe(name:)`` when it is none of these;
    /// ``ImagingError/invalidRecipe(source:key:reason:)`` naming the file, line, column and key;
    /// ``ImagingError/io(path:operation:message:)`` when the file exists but cannot be read.
    public static func resolve(_ nameOrPath: String) throws(ImagingError) -> Recipe {
        if let builtIn = builtIns[nameOrPath] { return builtIn }
        if FileIO.fileExists(nameOrPath) {
            let bytes = try FileIO.readAll(path: nameOrPath)
            return try decode(json: bytes, source: nameOrPath)
        }
        if nameOrPath.contains("\n") || nameOrPath.contains("{") || nameOrPath.contains(": ") {
            return try parse(nameOrPath, source: "<recipe text>")
        }
        throw .unknownRecipe(name: nameOrPath)
    }

    /// Parses and validates recipe bytes (UTF-8 YAML; JSON is accepted as the YAML subset it is);
    /// `source` names them in errors. Kept under its version-1 name for callers.
    public static func decode(json bytes: [UInt8], source: String) throws(ImagingError) -> Recipe {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidRecipe(source: source, key: "", reason: "not UTF-8 text")
        }
        return try parse(text, source: source)
    }

    /// Parses and validates a recipe document: `version: 2` (this format) or `version: 1` (the
    /// JSON format of the first release: `name`, `demosaic: mhc`, `whiteBalance: asShot`,
    /// `exposureEV`, `output.{jpegQuality,jpegSubsampling,pngBitDepth}`), which migrates to
    /// version 2 with `demosaic: fast` and every new parameter at its neutral default.
    public static func parse(_ text: String, source: String) throws(ImagingError) -> Recipe {
        try RecipeParser.recipe(from: RecipeDocument.parse(text, source: source), source: source)
    }

    /// Checks every range and rule that parsing checks (for recipes built in Swift).
    /// Throws ``ImagingError/invalidRecipe(source:key:reason:)`` with source `"recipe <name>"`.
    public func validate() throws(ImagingError) {
        let back = try RecipeParser.recipe(from: CanonicalJSON.tree(canonicalValue), source: "recipe \(name)")
        guard back == self else {
            throw .invalidRecipe(source: "recipe \(name)", key: "", reason: "does not survive a canonical round trip")
        }
    }

    // MARK: Files the recipe refers to

    /// This recipe with every file it names read into it (today: a `.cube` look becomes
    /// ``Look/embeddedCube(source:table:)``), so that it is complete on its own: what a job
    /// stores and sends to a remote coordinator. Relative paths resolve against `directory`
    /// (default: the working directory). Idempotent.
    ///
    /// Errors: ``ImagingError/invalidRecipe(source:key:reason:)`` naming the key `look` when the
    /// file cannot be read or is not a valid `.cube` LUT.
    public func pinningFiles(relativeTo directory: String? = nil) throws(ImagingError) -> Recipe {
        guard case .cube(let path) = look else { return self }
        let resolved = path.hasPrefix("/") || directory == nil ? path : "\(directory!)/\(path)"
        let table: String
        do {
            table = try String(contentsOfFile: resolved, encoding: .utf8)
        } catch {
            throw .invalidRecipe(source: "recipe \(name)", key: "look", reason: "cannot read the .cube file \(resolved): \(error.localizedDescription)")
        }
        do {
            _ = try CubeLUT.parse(table, source: path)
        } catch {
            throw .invalidRecipe(source: "recipe \(name)", key: "look", reason: "\(error)")
        }
        var pinned = self
        pinned.look = .embeddedCube(source: path, table: table)
        return pinned
    }

    // MARK: Canonical form

    /// The fully resolved recipe as canonical JSON: every default filled in, keys sorted, numbers
    /// in a stable form (integral values without a fraction, others shortest round-trip).
    /// Identical recipes ⇒ identical text, however they were written. Parses back with
    /// ``parse(_:source:)`` or `JSONDecoder` to an equal recipe.
    public var canonicalJSON: String {
        var out = ""
        CanonicalJSON.render(canonicalValue, into: &out)
        return out
    }

    /// XXH64 of ``canonicalJSON`` followed by a newline and ``toolVersion``, as 16 lowercase hex digits.
    public var hash: String {
        let digest = XXH64.hash(Array((canonicalJSON + "\n" + Recipe.toolVersion).utf8))
        let hex = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Codable

    /// Strict decoding of the canonical (or any version-2 / version-1) JSON form, e.g. from task
    /// documents. Errors are ``ImagingError/invalidRecipe(source:key:reason:)`` with source "json".
    public init(from decoder: any Decoder) throws {
        let node = try RecipeNode(from: decoder)
        self = try RecipeParser.recipe(from: node, source: "json")
    }

    /// Encodes the canonical form (same structure as ``canonicalJSON``).
    public func encode(to encoder: any Encoder) throws {
        try canonicalValue.encode(to: encoder)
    }
}
