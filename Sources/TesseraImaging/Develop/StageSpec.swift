import TesseraCore

/// A serialisable description of one ``RGBStage``: what travels in a tile task's parameters so a
/// worker can rebuild the frame's stages exactly. JSON: `{"kind": "sharpen", "radius": 0.8, …}`.
///
/// ``DevelopSettings/resolve(recipe:info:statistics:)`` builds the list from a recipe in the
/// pipeline's order: highlights → exposure → contrast → saturation/vibrance → filmic curve →
/// look → LUT → crop → resize → sharpen (docs/looks.md explains the order).
public enum StageSpec: Codable, Sendable, Hashable {
    /// A pass-through stage (``IdentityStage``), for checking the pipeline's plumbing.
    case identity
    /// Highlight handling (``HighlightMode``): `clip`, `blend` or `reconstruct`.
    case highlights(mode: HighlightMode, luma: LumaSpec)
    /// Exposure in EV (scene-referred, before any tone curve).
    case exposure(ev: Double)
    /// Contrast slope factor around 18 % grey, 0.25…4, 1 = unchanged (``ContrastStage``).
    case contrast(amount: Double, luma: LumaSpec)
    /// Saturation factor (1 = unchanged) and vibrance (``SaturationStage``).
    case saturation(saturation: Double, vibrance: Double, luma: LumaSpec)
    /// The filmic tone curve (``FilmicStage``): scene-linear in, display-linear out.
    case filmic(whiteEV: Double, blackEV: Double, contrast: Double)
    /// A built-in look (``Look``).
    case look(name: String, luma: LumaSpec)
    /// A `.cube` 3D LUT, carried as the file's text so remote workers need no shared storage.
    case lut(cube: String, source: String)
    /// A crop (``CropStage``).
    case crop(CropStage.Mode)
    /// A Lanczos-3 resize (``ResizeStage``).
    case resize(ResizeStage.Target)
    /// Unsharp-mask sharpening (``SharpenStage``).
    case sharpen(radius: Double, amount: Double, threshold: Double, luma: LumaSpec)

    /// Luminance weights by working space (the output space's primaries).
    public enum LumaSpec: String, Codable, Sendable, Hashable {
        case rec709, displayP3, adobeRGB

        public var weights: LumaWeights {
            switch self {
            case .rec709: .rec709
            case .displayP3: .displayP3
            case .adobeRGB: .adobeRGB
            }
        }

        /// The weights for an output colour space's primaries.
        public init(_ space: OutputColorSpace) {
            switch space {
            case .srgb: self = .rec709
            case .displayP3: self = .displayP3
            case .adobeRGB: self = .adobeRGB
            }
        }
    }

    /// Builds the stage this spec describes; throws when a parameter is out of range.
    public func makeStage() throws -> any RGBStage {
        switch self {
        case .identity: return IdentityStage()
        case .highlights(let mode, let luma): return try mode.stage(clipLevel: 1, luma: luma.weights)
        case .exposure(let ev): return try ExposureStage(ev: ev)
        case .contrast(let amount, let luma): return try ContrastStage(contrast: amount, luma: luma.weights)
        case .saturation(let saturation, let vibrance, let luma):
            return try SaturationStage(saturation: saturation, vibrance: vibrance, luma: luma.weights)
        case .filmic(let whiteEV, let blackEV, let contrast):
            return try FilmicStage(whiteEV: whiteEV, blackEV: blackEV, contrast: contrast)
        case .look(let name, let luma): return try Look.named(name).chain(luma: luma.weights)
        case .lut(let cube, let source): return LUTStage(lut: try CubeLUT.parse(cube, source: source))
        case .crop(let mode): return try CropStage(mode)
        case .resize(let target): return try ResizeStage(target: target)
        case .sharpen(let radius, let amount, let threshold, let luma):
            return try SharpenStage(radius: radius, amount: amount, threshold: threshold, luma: luma.weights)
        }
    }

    /// The `kind` string of this spec in JSON.
    public var kind: String {
        switch self {
        case .identity: "identity"
        case .highlights: "highlights"
        case .exposure: "exposure"
        case .contrast: "contrast"
        case .saturation: "saturation"
        case .filmic: "filmic"
        case .look: "look"
        case .lut: "lut"
        case .crop: "crop"
        case .resize: "resize"
        case .sharpen: "sharpen"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case kind, mode, luma, ev, amount, saturation, vibrance, whiteEV, blackEV, contrast, name, cube, source
        case crop, resize, radius, threshold
    }

    /// Reads `{"kind": …, parameters…}`; throws `DecodingError.dataCorrupted` naming an unknown kind.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "identity": self = .identity
        case "highlights": self = .highlights(mode: try c.decode(HighlightMode.self, forKey: .mode), luma: try c.decode(LumaSpec.self, forKey: .luma))
        case "exposure": self = .exposure(ev: try c.decode(Double.self, forKey: .ev))
        case "contrast": self = .contrast(amount: try c.decode(Double.self, forKey: .amount), luma: try c.decode(LumaSpec.self, forKey: .luma))
        case "saturation":
            self = .saturation(saturation: try c.decode(Double.self, forKey: .saturation), vibrance: try c.decode(Double.self, forKey: .vibrance),
                               luma: try c.decode(LumaSpec.self, forKey: .luma))
        case "filmic":
            self = .filmic(whiteEV: try c.decode(Double.self, forKey: .whiteEV), blackEV: try c.decode(Double.self, forKey: .blackEV),
                           contrast: try c.decode(Double.self, forKey: .contrast))
        case "look": self = .look(name: try c.decode(String.self, forKey: .name), luma: try c.decode(LumaSpec.self, forKey: .luma))
        case "lut": self = .lut(cube: try c.decode(String.self, forKey: .cube), source: try c.decode(String.self, forKey: .source))
        case "crop": self = .crop(try c.decode(CropStage.Mode.self, forKey: .crop))
        case "resize": self = .resize(try c.decode(ResizeStage.Target.self, forKey: .resize))
        case "sharpen":
            self = .sharpen(radius: try c.decode(Double.self, forKey: .radius), amount: try c.decode(Double.self, forKey: .amount),
                            threshold: try c.decode(Double.self, forKey: .threshold), luma: try c.decode(LumaSpec.self, forKey: .luma))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown develop stage kind \"\(kind)\"")
        }
    }

    /// Writes `{"kind": …}` plus the kind's parameters.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case .identity: break
        case .highlights(let mode, let luma):
            try c.encode(mode, forKey: .mode)
            try c.encode(luma, forKey: .luma)
        case .exposure(let ev): try c.encode(ev, forKey: .ev)
        case .contrast(let amount, let luma):
            try c.encode(amount, forKey: .amount)
            try c.encode(luma, forKey: .luma)
        case .saturation(let saturation, let vibrance, let luma):
            try c.encode(saturation, forKey: .saturation)
            try c.encode(vibrance, forKey: .vibrance)
            try c.encode(luma, forKey: .luma)
        case .filmic(let whiteEV, let blackEV, let contrast):
            try c.encode(whiteEV, forKey: .whiteEV)
            try c.encode(blackEV, forKey: .blackEV)
            try c.encode(contrast, forKey: .contrast)
        case .look(let name, let luma):
            try c.encode(name, forKey: .name)
            try c.encode(luma, forKey: .luma)
        case .lut(let cube, let source):
            try c.encode(cube, forKey: .cube)
            try c.encode(source, forKey: .source)
        case .crop(let mode): try c.encode(mode, forKey: .crop)
        case .resize(let target): try c.encode(target, forKey: .resize)
        case .sharpen(let radius, let amount, let threshold, let luma):
            try c.encode(radius, forKey: .radius)
            try c.encode(amount, forKey: .amount)
            try c.encode(threshold, forKey: .threshold)
            try c.encode(luma, forKey: .luma)
        }
    }
}

/// A pointwise stage that returns its input unchanged (``StageSpec/identity``).
public struct IdentityStage: RGBStage {
    /// Creates the stage.
    public init() {}
    /// "identity".
    public var name: String { "identity" }
    /// The same size.
    public func outputSize(for size: FrameSize) -> FrameSize { size }
    /// The output region itself (pointwise).
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output }
    /// `input` (which covers exactly `output`).
    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF { input }
}
