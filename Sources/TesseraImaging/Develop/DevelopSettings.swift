import Foundation
import TesseraCore

/// Everything a worker needs to develop any tile of one frame: the frame's CFA layout and
/// levels plus the recipe's choices, resolved to plain numbers. A value type; travels in task
/// parameters as ``canonicalJSON``.
///
/// Pipeline (``DevelopPipeline``, in this order): per-cell black subtraction and white-level
/// scaling → white balance → demosaic (``demosaic``) → `cameraToOutput` matrix → the RGB stages
/// (``stages``) → clip to [0, 1] → exposure gain → clip → output transfer curve → 16-bit (rounded).
public struct DevelopSettings: Codable, Sendable, Hashable {
    /// Output transfer functions.
    public enum Transfer: String, Codable, Sendable, CaseIterable {
        /// IEC 61966-2-1 sRGB curve (sRGB and Display P3 outputs).
        case srgb
        /// A pure power law with gamma 563/256 (Adobe RGB (1998) output).
        case adobeRGB
        /// No curve (linear light), for tests and later merge stages.
        case linear

        /// The transfer an output colour space uses.
        public init(_ transfer: OutputTransfer) {
            switch transfer {
            case .srgb: self = .srgb
            case .gamma: self = .adobeRGB
            case .linear: self = .linear
            }
        }

        /// The colour engine's description of this curve.
        public var curve: OutputTransfer {
            switch self {
            case .srgb: .srgb
            case .adobeRGB: .gamma(563.0 / 256.0)
            case .linear: .linear
            }
        }
    }

    /// The frame's Bayer layout from frame coordinate (0, 0).
    public var cfa: CFAPattern
    /// Black level per 2×2 cell in raw units, indexed by ``CFAPattern/cell(x:y:)`` of frame coordinates.
    public var blackLevels: [Double]
    /// Saturation level in raw units.
    public var whiteLevel: Double
    /// White-balance gains `[R, G, B]` applied to the black-subtracted, white-scaled samples.
    public var wbMultipliers: [Double]
    /// White-balanced camera RGB → output (linear sRGB) primaries, 9 row-major values.
    public var cameraToOutput: [Double]
    /// Linear gain applied after the matrix (2^exposureEV).
    public var exposureGain: Double
    /// Demosaicing algorithm (decides ``halo``).
    public var demosaic: DemosaicMethod
    /// Output transfer curve.
    public var transfer: Transfer
    /// The RGB stages after the matrix, in order (tone, looks, sharpen, resize, crop…).
    public var stages: [StageSpec]
    /// The decoded (CFA) frame's size. Needed by stages whose geometry depends on it (resize,
    /// crop); `nil` is accepted only when ``stages`` is empty.
    public var frameSize: FrameSize?

    /// Memberwise; call ``validate()`` before use if the values come from outside.
    public init(
        cfa: CFAPattern, blackLevels: [Double], whiteLevel: Double, wbMultipliers: [Double],
        cameraToOutput: [Double], exposureGain: Double = 1, demosaic: DemosaicMethod = .mhc, transfer: Transfer = .srgb,
        stages: [StageSpec] = [], frameSize: FrameSize? = nil
    ) {
        self.cfa = cfa
        self.blackLevels = blackLevels
        self.whiteLevel = whiteLevel
        self.wbMultipliers = wbMultipliers
        self.cameraToOutput = cameraToOutput
        self.exposureGain = exposureGain
        self.demosaic = demosaic
        self.transfer = transfer
        self.stages = stages
        self.frameSize = frameSize
    }

    /// CFA pixels the demosaic needs around its output on every side (2 for Malvar–He–Cutler,
    /// 8 for RCD). Always a multiple of 2, so an input window starting at `core.x - halo` keeps
    /// the CFA phase. With no ``stages`` the CFA window of an output core is
    /// `core.expanded(by: halo)`; in general use ``DevelopPipeline/cfaWindow(forOutput:)``.
    public var halo: Int { demosaic.halo }

    /// The settings for developing the frame described by `info` with `recipe`: the recipe's
    /// demosaic, the colour engine's white balance and camera→output matrix (DNG colour path, or
    /// LibRaw's matrices for other formats), the output space's transfer curve, and the exposure.
    /// `statistics` (the decode-time pre-pass) is needed only for automatic white balance.
    /// Throws ``ImagingError/invalidSettings(field:reason:)`` when the colour cannot be resolved
    /// (e.g. Kelvin white balance for a camera without a colour matrix).
    /// `stages`, when given, are the recipe's stages already resolved with ``stages(for:)`` (by
    /// the coordinator, which can read files the recipe names, such as a `.cube` LUT, that a
    /// remote worker cannot).
    public static func resolve(recipe: Recipe, info: RawFrameInfo, statistics: FrameStatistics? = nil,
                               stages resolvedStages: [StageSpec]? = nil) throws(ImagingError) -> DevelopSettings {
        let colour: ColorResolution
        do {
            colour = try ColorResolver.resolve(
                info: info, statistics: statistics, whiteBalance: recipe.whiteBalance,
                colorSpace: OutputColorSpace(recipe.color.outputSpace))
        } catch {
            throw .invalidSettings(field: "whiteBalance", reason: "\(error)")
        }
        let stages: [StageSpec]
        if let resolvedStages { stages = resolvedStages } else { stages = try Self.stages(for: recipe) }
        let exposureInStages = stages.contains { $0.kind == "exposure" }
        return DevelopSettings(
            cfa: info.cfa, blackLevels: info.blackLevels, whiteLevel: info.whiteLevel, wbMultipliers: colour.wbMultipliers,
            cameraToOutput: colour.cameraToOutput.m, exposureGain: exposureInStages ? 1 : pow(2.0, recipe.tone.exposure),
            demosaic: DemosaicMethod(recipe.demosaic), transfer: Transfer(colour.transfer),
            stages: stages, frameSize: FrameSize(width: info.width, height: info.height))
    }

    /// The recipe's tone, look and detail stages in pipeline order. A recipe with none of them
    /// (e.g. `neutral`) has no stages: exposure is then the output encoding's gain, exactly as in
    /// the first pipeline. With any scene-referred stage, exposure moves into the stages (before
    /// the curve) so highlights keep their headroom. Returns whether it did.
    public static func stages(for recipe: Recipe) throws(ImagingError) -> [StageSpec] {
        let luma = StageSpec.LumaSpec(OutputColorSpace(recipe.color.outputSpace))
        let tone = recipe.tone
        var scene: [StageSpec] = []
        if tone.highlights != .clip { scene.append(.highlights(mode: HighlightMode(rawValue: tone.highlights.rawValue) ?? .clip, luma: luma)) }
        // Recipe contrast −1…1 is a slope factor of 2^contrast around middle grey (0.5…2).
        if tone.contrast != 0 { scene.append(.contrast(amount: pow(2, tone.contrast), luma: luma)) }
        if tone.saturation != 0 || tone.vibrance != 0 {
            scene.append(.saturation(saturation: 1 + tone.saturation, vibrance: tone.vibrance, luma: luma))
        }
        if case .filmic(let f) = tone.curve { scene.append(.filmic(whiteEV: f.whitePoint, blackEV: f.blackPoint, contrast: f.contrast)) }
        switch recipe.look {
        case .none: break
        case .natural: scene.append(.look(name: "natural", luma: luma))
        case .punchy: scene.append(.look(name: "punchy", luma: luma))
        case .cube(let path):
            do {
                scene.append(.lut(cube: try String(contentsOfFile: path, encoding: .utf8), source: path))
            } catch {
                throw .invalidRecipe(source: path, key: "look", reason: "cannot read the .cube file: \(error.localizedDescription)")
            }
        case .embeddedCube(let source, let table):
            scene.append(.lut(cube: table, source: source))
        }
        var stages = scene
        let exposureInStages = !scene.isEmpty && tone.exposure != 0
        if exposureInStages {
            // Exposure goes first among the scene-referred stages (after highlight handling).
            let at = tone.highlights != .clip ? 1 : 0
            stages.insert(.exposure(ev: tone.exposure), at: at)
        }
        if let crop = recipe.crop {
            switch crop {
            case .rect(let x, let y, let width, let height):
                stages.append(.crop(.rect(PixelRect(x: x, y: y, width: width, height: height))))
            case .aspect(let width, let height):
                stages.append(.crop(.aspect(width: Int(width.rounded()), height: Int(height.rounded()))))
            }
        }
        if let resize = recipe.resize {
            switch resize {
            case .longEdge(let n): stages.append(.resize(.longEdge(n)))
            case .megapixels(let mp): stages.append(.resize(.megapixels(mp)))
            }
        }
        if let s = recipe.sharpen { stages.append(.sharpen(radius: s.radius, amount: s.amount, threshold: s.threshold, luma: luma)) }
        return stages
    }

    /// Whether developing with `recipe` needs the decode-time statistics pre-pass.
    public static func needsStatistics(_ recipe: Recipe) -> Bool { recipe.whiteBalance == .auto }

    /// Checks sizes and ranges (settings may arrive from the network).
    /// Throws ``ImagingError/invalidSettings(field:reason:)`` naming the field.
    public func validate() throws(ImagingError) {
        guard cfa.colors.count == 4, cfa.colors.map(\.rawValue).sorted() == [0, 1, 1, 2] else {
            throw .invalidSettings(field: "cfa", reason: "not a Bayer pattern: \(cfa.colors)")
        }
        guard blackLevels.count == 4, blackLevels.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidSettings(field: "blackLevels", reason: "need 4 finite non-negative values, got \(blackLevels)")
        }
        guard whiteLevel.isFinite, whiteLevel <= 65535, blackLevels.allSatisfy({ whiteLevel > $0 }) else {
            throw .invalidSettings(field: "whiteLevel", reason: "\(whiteLevel) must be finite, ≤ 65535 and above every black level")
        }
        guard wbMultipliers.count == 3, wbMultipliers.allSatisfy({ $0.isFinite && $0 > 0 && $0 < 1000 }) else {
            throw .invalidSettings(field: "wbMultipliers", reason: "need 3 finite values in (0, 1000), got \(wbMultipliers)")
        }
        guard cameraToOutput.count == 9, cameraToOutput.allSatisfy({ $0.isFinite && abs($0) < 1000 }) else {
            throw .invalidSettings(field: "cameraToOutput", reason: "need 9 finite values of magnitude < 1000, got \(cameraToOutput)")
        }
        guard exposureGain.isFinite, exposureGain > 0, exposureGain <= 1_048_576 else {
            throw .invalidSettings(field: "exposureGain", reason: "\(exposureGain) must be in (0, 2^20]")
        }
        if let size = frameSize, size.width <= 0 || size.height <= 0 {
            throw .invalidSettings(field: "frameSize", reason: "\(size) must be positive")
        }
        if frameSize == nil, !stages.isEmpty {
            throw .invalidSettings(field: "frameSize", reason: "required when stages are present (\(stages.count) stages)")
        }
    }

    /// The canonical JSON text (sorted keys, stable numbers): equal settings ⇒ equal text.
    public var canonicalJSON: String {
        (try? CanonicalJSON.encode(self)) ?? ""
    }

    /// Parses settings from JSON (canonical or not) and validates them.
    public init(json bytes: [UInt8]) throws(ImagingError) {
        let decoded: DevelopSettings
        do {
            decoded = try JSONDecoder().decode(DevelopSettings.self, from: Data(bytes))
        } catch {
            throw .invalidSettings(field: "json", reason: "\(error)")
        }
        try decoded.validate()
        self = decoded
    }
}

extension DemosaicMethod {
    /// The kernel a recipe's demosaic choice runs: fast = Malvar–He–Cutler, quality = RCD.
    public init(_ choice: Recipe.Demosaic) {
        switch choice {
        case .fast: self = .mhc
        case .quality: self = .rcd
        }
    }
}

extension OutputColorSpace {
    /// The colour space a recipe names.
    public init(_ space: Recipe.OutputSpace) {
        switch space {
        case .sRGB: self = .srgb
        case .displayP3: self = .displayP3
        case .adobeRGB: self = .adobeRGB
        }
    }
}
