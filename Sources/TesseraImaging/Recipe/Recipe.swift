import Foundation
import TesseraCore

/// A develop recipe: what to do to every frame of a job, independent of any particular frame.
/// Frame-specific numbers are filled in by ``DevelopSettings/resolve(recipe:info:)``.
///
/// JSON form (version 1; keys other than `version` and `name` may be omitted and take the
/// defaults shown):
/// ```json
/// {"version": 1, "name": "neutral", "demosaic": "mhc", "whiteBalance": "asShot",
///  "exposureEV": 0, "output": {"jpegQuality": 92, "jpegSubsampling": "444", "pngBitDepth": 16}}
/// ```
/// Unknown keys, wrong types and out-of-range values are rejected with an error naming the key.
public struct Recipe: Codable, Sendable, Hashable {
    /// Demosaicing algorithms.
    public enum Demosaic: String, Codable, Sendable, CaseIterable {
        /// Malvar–He–Cutler (2004) gradient-corrected bilinear, 5×5 kernels, halo 2.
        case mhc
    }

    /// White-balance sources.
    public enum WhiteBalance: String, Codable, Sendable, CaseIterable {
        /// The camera's as-shot multipliers (``RawFrameInfo/asShotMultipliers``).
        case asShot
    }

    /// JPEG chroma subsampling.
    public enum ChromaSubsampling: String, Codable, Sendable, CaseIterable {
        case s444 = "444"
        case s422 = "422"
        case s420 = "420"
    }

    /// Encoder options for the output files.
    public struct Output: Codable, Sendable, Hashable {
        /// JPEG quality 1…100 (default 92).
        public var jpegQuality: Int
        /// JPEG chroma subsampling (default 4:4:4).
        public var jpegSubsampling: ChromaSubsampling
        /// PNG sample depth, 8 or 16 (default 16).
        public var pngBitDepth: Int

        /// Options with the given values (not validated; decoding validates).
        public init(jpegQuality: Int = 92, jpegSubsampling: ChromaSubsampling = .s444, pngBitDepth: Int = 16) {
            self.jpegQuality = jpegQuality
            self.jpegSubsampling = jpegSubsampling
            self.pngBitDepth = pngBitDepth
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case jpegQuality, jpegSubsampling, pngBitDepth }

        /// Strict decoding: unknown keys and out-of-range values throw ``ImagingError/invalidRecipe(source:key:reason:)``.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: RecipeKey.self)
            try Recipe.rejectUnknownKeys(c, known: CodingKeys.allCases.map(\.rawValue), prefix: "output.")
            let defaults = Output()
            jpegQuality = try Recipe.decode(Int.self, "jpegQuality", in: c, prefix: "output.") ?? defaults.jpegQuality
            guard (1...100).contains(jpegQuality) else {
                throw ImagingError.invalidRecipe(source: "", key: "output.jpegQuality", reason: "\(jpegQuality) is out of range 1...100")
            }
            let sub = try Recipe.decode(String.self, "jpegSubsampling", in: c, prefix: "output.")
            if let sub {
                guard let s = ChromaSubsampling(rawValue: sub) else {
                    throw ImagingError.invalidRecipe(source: "", key: "output.jpegSubsampling", reason: "\"\(sub)\" is not one of \"444\", \"422\", \"420\"")
                }
                jpegSubsampling = s
            } else {
                jpegSubsampling = defaults.jpegSubsampling
            }
            pngBitDepth = try Recipe.decode(Int.self, "pngBitDepth", in: c, prefix: "output.") ?? defaults.pngBitDepth
            guard pngBitDepth == 8 || pngBitDepth == 16 else {
                throw ImagingError.invalidRecipe(source: "", key: "output.pngBitDepth", reason: "\(pngBitDepth) is not 8 or 16")
            }
        }
    }

    /// The recipe format version; only 1 exists.
    public var version: Int
    /// A short name, reported in job listings.
    public var name: String
    /// Demosaicing algorithm.
    public var demosaic: Demosaic
    /// White-balance source.
    public var whiteBalance: WhiteBalance
    /// Exposure compensation in stops, applied as a gain of 2^EV after the colour matrix; −10…10.
    public var exposureEV: Double
    /// Encoder options of the output files.
    public var output: Output

    /// The current recipe format version.
    public static let currentVersion = 1
    /// Identifies the develop code; part of ``hash`` so results cached under an older pipeline
    /// are not reused. Bump when the pipeline's output changes for the same recipe.
    public static let toolVersion = "tessera-develop/1 (mhc, rgb_cam, srgb)"
    /// Allowed exposure compensation, in stops.
    public static let exposureRange: ClosedRange<Double> = -10...10

    /// A version-1 recipe with the given values (defaults as in the JSON form).
    public init(
        name: String, demosaic: Demosaic = .mhc, whiteBalance: WhiteBalance = .asShot, exposureEV: Double = 0,
        output: Output = Output()
    ) {
        self.version = Recipe.currentVersion
        self.name = name
        self.demosaic = demosaic
        self.whiteBalance = whiteBalance
        self.exposureEV = exposureEV
        self.output = output
    }

    /// As-shot white balance, camera → sRGB matrix, sRGB curve, nothing else.
    public static let neutral = Recipe(name: "neutral")
    /// The default look; identical to ``neutral`` for now (a distinct name so looks can change
    /// it later without changing `neutral`).
    public static let standard = Recipe(name: "standard")
    /// Built-in recipes by name.
    public static let builtIns: [String: Recipe] = ["neutral": .neutral, "standard": .standard]
    /// Sorted names of the built-in recipes.
    public static var builtInNames: [String] { builtIns.keys.sorted() }

    /// A built-in recipe by name, or else a JSON recipe file at `nameOrPath`.
    /// Errors: ``ImagingError/unknownRecipe(name:)`` when it is neither; ``ImagingError/invalidRecipe(source:key:reason:)``
    /// naming the file and key for malformed content.
    public static func resolve(_ nameOrPath: String) throws(ImagingError) -> Recipe {
        if let builtIn = builtIns[nameOrPath] { return builtIn }
        guard FileIO.fileExists(nameOrPath) else { throw .unknownRecipe(name: nameOrPath) }
        let bytes = try FileIO.readAll(path: nameOrPath)
        return try decode(json: bytes, source: nameOrPath)
    }

    /// Parses and validates a JSON recipe; `source` names it in errors.
    public static func decode(json bytes: [UInt8], source: String) throws(ImagingError) -> Recipe {
        do {
            return try JSONDecoder().decode(Recipe.self, from: Data(bytes))
        } catch let error as ImagingError {
            if case .invalidRecipe(_, let key, let reason) = error { throw .invalidRecipe(source: source, key: key, reason: reason) }
            throw error
        } catch let error as DecodingError {
            throw describe(error, source: source)
        } catch {
            throw .invalidRecipe(source: source, key: "", reason: "\(error)")
        }
    }

    /// Sorted keys, stable number formatting; identical recipes give identical text.
    public var canonicalJSON: String {
        // A recipe holds only finite numbers (validated), so encoding cannot fail.
        (try? CanonicalJSON.encode(self)) ?? ""
    }

    /// XXH64 of ``canonicalJSON`` followed by a newline and ``toolVersion``, as 16 lowercase hex digits.
    public var hash: String {
        let digest = XXH64.hash(Array((canonicalJSON + "\n" + Recipe.toolVersion).utf8))
        let hex = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Codable (strict)

    enum CodingKeys: String, CodingKey, CaseIterable { case version, name, demosaic, whiteBalance, exposureEV, output }

    /// Strict decoding: unknown keys, wrong types and out-of-range values throw
    /// ``ImagingError/invalidRecipe(source:key:reason:)`` naming the key (source filled in by ``decode(json:source:)``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: RecipeKey.self)
        try Recipe.rejectUnknownKeys(c, known: CodingKeys.allCases.map(\.rawValue), prefix: "")
        guard let version = try Recipe.decode(Int.self, "version", in: c, prefix: "") else {
            throw ImagingError.invalidRecipe(source: "", key: "version", reason: "missing (use \(Recipe.currentVersion))")
        }
        guard version == Recipe.currentVersion else {
            throw ImagingError.invalidRecipe(source: "", key: "version", reason: "unsupported version \(version) (this build reads \(Recipe.currentVersion))")
        }
        self.version = version
        guard let name = try Recipe.decode(String.self, "name", in: c, prefix: ""), !name.isEmpty else {
            throw ImagingError.invalidRecipe(source: "", key: "name", reason: "missing or empty")
        }
        self.name = name
        demosaic = try Recipe.decodeEnum(Demosaic.self, "demosaic", in: c) ?? .mhc
        whiteBalance = try Recipe.decodeEnum(WhiteBalance.self, "whiteBalance", in: c) ?? .asShot
        exposureEV = try Recipe.decode(Double.self, "exposureEV", in: c, prefix: "") ?? 0
        guard exposureEV.isFinite, Recipe.exposureRange.contains(exposureEV) else {
            throw ImagingError.invalidRecipe(source: "", key: "exposureEV", reason: "\(exposureEV) is out of range \(Recipe.exposureRange)")
        }
        if c.contains(RecipeKey("output")) {
            do {
                output = try c.decode(Output.self, forKey: RecipeKey("output"))
            } catch DecodingError.typeMismatch {
                throw ImagingError.invalidRecipe(source: "", key: "output", reason: "expected an object")
            }
        } else {
            output = Output()
        }
    }

    /// Encodes every field (the canonical form is ``canonicalJSON``).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(name, forKey: .name)
        try c.encode(demosaic, forKey: .demosaic)
        try c.encode(whiteBalance, forKey: .whiteBalance)
        try c.encode(exposureEV, forKey: .exposureEV)
        try c.encode(output, forKey: .output)
    }

    struct RecipeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func rejectUnknownKeys(_ c: KeyedDecodingContainer<RecipeKey>, known: [String], prefix: String) throws {
        for key in c.allKeys where !known.contains(key.stringValue) {
            throw ImagingError.invalidRecipe(source: "", key: prefix + key.stringValue, reason: "unknown key (known keys: \(known.joined(separator: ", ")))")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ key: String, in c: KeyedDecodingContainer<RecipeKey>, prefix: String) throws -> T? {
        let k = RecipeKey(key)
        guard c.contains(k) else { return nil }
        do {
            return try c.decode(T.self, forKey: k)
        } catch {
            // Any failure here (DecodingError, or the decoder's internal number errors) is a
            // wrong type or unrepresentable value for this key.
            let expected = T.self == String.self ? "a string" : T.self == Int.self ? "an integer" : "a number"
            throw ImagingError.invalidRecipe(source: "", key: prefix + key, reason: "wrong type or value: expected \(expected)")
        }
    }

    static func decodeEnum<E: RawRepresentable & CaseIterable>(_ type: E.Type, _ key: String, in c: KeyedDecodingContainer<RecipeKey>) throws -> E?
    where E.RawValue == String {
        guard let raw = try decode(String.self, key, in: c, prefix: "") else { return nil }
        guard let v = E(rawValue: raw) else {
            let options = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ImagingError.invalidRecipe(source: "", key: key, reason: "\"\(raw)\" is not one of \(options)")
        }
        return v
    }

    static func describe(_ error: DecodingError, source: String) -> ImagingError {
        func path(_ p: [any CodingKey]) -> String { p.isEmpty ? "(top level)" : p.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .typeMismatch(_, let ctx):
            return .invalidRecipe(source: source, key: path(ctx.codingPath), reason: "wrong type: \(ctx.debugDescription)")
        case .valueNotFound(_, let ctx):
            return .invalidRecipe(source: source, key: path(ctx.codingPath), reason: "missing value")
        case .keyNotFound(let key, let ctx):
            return .invalidRecipe(source: source, key: path(ctx.codingPath + [key]), reason: "missing")
        case .dataCorrupted(let ctx):
            let reason = ctx.codingPath.isEmpty ? "not valid JSON: \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)" : ctx.debugDescription
            return .invalidRecipe(source: source, key: path(ctx.codingPath), reason: reason)
        @unknown default:
            return .invalidRecipe(source: source, key: "", reason: "\(error)")
        }
    }
}
