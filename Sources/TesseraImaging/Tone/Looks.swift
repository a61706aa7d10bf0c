import TesseraCore

/// Built-in looks: fixed compositions of the tone stages, from scene-referred linear light to
/// display-referred linear light in [0, 1] (they end with the filmic curve). Parameter values
/// are listed in docs/looks.md; changing them changes output, so bump `Recipe.toolVersion`.
public enum Look: String, Sendable, Hashable, Codable, CaseIterable {
    /// Faithful: a mild filmic curve (contrast 1, wide range) on max(RGB), no saturation change,
    /// no hue shifts. Middle tones pass nearly unchanged (display ≈ scene around grey).
    case natural
    /// High contrast and colour: luminance contrast 1.2 around 18 % grey, saturation 1.15 with
    /// vibrance 0.25 (skin protected), a steeper, shorter-range filmic curve.
    case punchy

    /// The look's stages in order (all pointwise; fuse them with ``chain``).
    /// `luma` is the luminance weighting of the working space (its primaries).
    public func stages(luma: LumaWeights = .rec709) -> [any PointwiseStage] {
        // The parameter values below are validated constants: construction cannot fail.
        switch self {
        case .natural:
            return [try! FilmicStage(whiteEV: 4, blackEV: -10, contrast: 1, latitude: 0.25,
                                     sceneGrey: 0.18, displayGrey: 0.18, displayBlack: 0.0005, preserve: .maxRGB)]
        case .punchy:
            return [
                try! ContrastStage(contrast: 1.2, pivot: 0.18, luma: luma),
                try! SaturationStage(saturation: 1.15, vibrance: 0.25, protectSkin: true, luma: luma),
                try! FilmicStage(whiteEV: 3.5, blackEV: -8, contrast: 1.3, latitude: 0.3,
                                 sceneGrey: 0.18, displayGrey: 0.18, displayBlack: 0.0005, preserve: .maxRGB),
            ]
        }
    }

    /// The look as one fused pointwise stage.
    public func chain(luma: LumaWeights = .rec709) -> PointwiseChain { PointwiseChain(stages(luma: luma)) }

    /// The look called `name` ("natural", "punchy"); throws naming the valid names otherwise.
    public static func named(_ name: String) throws -> Look {
        guard let look = Look(rawValue: name) else {
            throw StageError.invalidParameter(stage: "look", parameter: "name", value: "'\(name)'",
                                              reason: "unknown look; built-in looks are \(Look.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return look
    }
}
