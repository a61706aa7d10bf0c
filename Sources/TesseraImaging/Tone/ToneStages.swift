import Foundation
import TesseraCore

/// Exposure: multiplies linear RGB by 2^`ev`. Linear in → linear out; pointwise.
public struct ExposureStage: PointwiseStage, Hashable {
    /// Exposure change in stops (EV), −10…10. 0 is the identity (output bits = input bits).
    public let ev: Double
    private let gain: Float

    /// Validates `ev` (finite, −10…10) and throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(ev: Double) throws {
        try StageError.check("exposure", "ev", ev, in: -10...10)
        self.ev = ev
        gain = Float(exp2(ev))
    }

    public var name: String { "exposure" }

    /// Multiplies every sample by 2^ev (exactly a power of two for integral `ev`).
    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        if ev == 0 { return }
        let g = gain
        for i in pixels.indices { pixels[i] *= g }
    }
}

/// Contrast around a pivot in log space, applied to luminance: Y' = pivot · (Y / pivot)^contrast,
/// and RGB scaled by Y'/Y so that hue and the RGB ratios are kept (no saturation shift).
/// Linear in → linear out; pointwise. The pivot is a fixed point; `contrast` 1 is the identity.
/// Pixels with Y ≤ 1e-7 (black, or out-of-gamut with negative luminance) pass unchanged.
public struct ContrastStage: PointwiseStage, Hashable {
    /// Slope in log–log space (0.25…4): > 1 more contrast, < 1 less, 1 identity.
    public let contrast: Double
    /// Linear luminance kept fixed (0.001…1), default 0.18 (middle grey).
    public let pivot: Double
    /// Luminance weights of the working RGB space.
    public let luma: LumaWeights

    /// Validates the parameters; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(contrast: Double, pivot: Double = 0.18, luma: LumaWeights = .rec709) throws {
        try StageError.check("contrast", "contrast", contrast, in: 0.25...4)
        try StageError.check("contrast", "pivot", pivot, in: 0.001...1)
        self.contrast = contrast
        self.pivot = pivot
        self.luma = luma
    }

    public var name: String { "contrast" }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        if contrast == 1 { return }
        let k = Float(contrast), p = Float(pivot), invP = 1 / Float(pivot)
        let wr = luma.r, wg = luma.g, wb = luma.b
        var i = 0
        while i + 2 < pixels.count {
            let r = pixels[i], g = pixels[i + 1], b = pixels[i + 2]
            let y = wr * r + wg * g + wb * b
            if y > 1e-7 {
                let y2 = p * exp2f(k * log2f(y * invP))
                let s = y2 / y
                pixels[i] = r * s
                pixels[i + 1] = g * s
                pixels[i + 2] = b * s
            }
            i += 3
        }
    }
}

/// Saturation and vibrance around luminance: out = Y + f · (rgb − Y), so luminance is kept.
///
/// f = `saturation` · (1 + v · (1 − s)²), where s = (max − min) / max is the pixel's saturation
/// (0 grey … 1 pure) and v is `vibrance`, so vibrance boosts dull colours most and leaves
/// saturated ones nearly alone. With `protectSkin`, positive vibrance is reduced by up to 70 %
/// for skin hues (r ≥ g ≥ b with (g − b)/(r − b) near 0.45, i.e. hue ≈ 15°–45°), weighted by a
/// triangle of half-width 0.3 in that ratio. Linear in → linear out; pointwise.
/// `saturation` 0 gives grey of the same luminance; (1, 0) is the identity. Values can leave
/// [0, 1] (out of gamut) for large boosts; the output encoding clips them.
public struct SaturationStage: PointwiseStage, Hashable {
    /// Global saturation factor, 0…4 (0 grey, 1 unchanged).
    public let saturation: Double
    /// Vibrance, −1…1 (0 unchanged).
    public let vibrance: Double
    /// Whether skin hues get less vibrance boost.
    public let protectSkin: Bool
    /// Luminance weights of the working RGB space.
    public let luma: LumaWeights

    /// Validates the parameters; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(saturation: Double = 1, vibrance: Double = 0, protectSkin: Bool = true, luma: LumaWeights = .rec709) throws {
        try StageError.check("saturation", "saturation", saturation, in: 0...4)
        try StageError.check("saturation", "vibrance", vibrance, in: -1...1)
        self.saturation = saturation
        self.vibrance = vibrance
        self.protectSkin = protectSkin
        self.luma = luma
    }

    public var name: String { "saturation" }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        if saturation == 1 && vibrance == 0 { return }
        let sat = Float(saturation), vib = Float(vibrance)
        let protect = protectSkin && vibrance > 0
        let wr = luma.r, wg = luma.g, wb = luma.b
        var i = 0
        while i + 2 < pixels.count {
            let r = pixels[i], g = pixels[i + 1], b = pixels[i + 2]
            let y = wr * r + wg * g + wb * b
            var f = sat
            if vib != 0 {
                let mx = max(r, max(g, b)), mn = min(r, min(g, b))
                let s: Float = mx > 1e-9 ? min(max((mx - mn) / mx, 0), 1) : 0
                var v = vib
                if protect && r >= g && g >= b && r > b {
                    let h = (g - b) / (r - b)
                    let weight = max(0, 1 - abs(h - 0.45) / 0.3)
                    v *= 1 - 0.7 * weight
                }
                f = sat * (1 + v * (1 - s) * (1 - s))
            }
            pixels[i] = y + f * (r - y)
            pixels[i + 1] = y + f * (g - y)
            pixels[i + 2] = y + f * (b - y)
            i += 3
        }
    }
}
