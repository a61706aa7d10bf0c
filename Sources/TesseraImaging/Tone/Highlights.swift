import Foundation
import TesseraCore

/// How channels at or near the sensor's clipping point are handled. Values are linear
/// scene-referred with 1.0 = the white level after white balance, so these stages belong
/// **before** exposure and the tone curve (they reason about where the sensor clipped).
public enum HighlightMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Each channel clipped at the clip level (cheap; clipped colours can turn magenta/yellow).
    case clip
    /// Soft roll-off towards the luminance-preserving grey near clipping (``HighlightBlendStage``).
    case blend
    /// Clipped channels rebuilt from neighbours' colour ratios (``HighlightReconstructStage``).
    case reconstruct

    /// The stage for this mode with default parameters and `clipLevel`.
    public func stage(clipLevel: Double = 1, luma: LumaWeights = .rec709) throws -> any RGBStage {
        switch self {
        case .clip: try HighlightClipStage(clipLevel: clipLevel)
        case .blend: try HighlightBlendStage(clipLevel: clipLevel, luma: luma)
        case .reconstruct: try HighlightReconstructStage(clipLevel: clipLevel)
        }
    }
}

/// Highlight `clip`: every channel becomes min(value, `clipLevel`). Linear → linear; pointwise.
public struct HighlightClipStage: PointwiseStage, Hashable {
    /// Linear level at which the sensor clipped (0.1…16; 1 = white level after white balance).
    public let clipLevel: Double

    /// Validates `clipLevel`; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(clipLevel: Double = 1) throws {
        try StageError.check("highlights", "clipLevel", clipLevel, in: 0.1...16)
        self.clipLevel = clipLevel
    }

    public var name: String { "highlights-clip" }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        let l = Float(clipLevel)
        for i in pixels.indices { pixels[i] = min(pixels[i], l) }
    }
}

/// Highlight `blend`: channels are clipped at `clipLevel` (L), then, as the largest channel m
/// rises from `start`·L to L, the pixel is blended towards its own luminance Y (a grey of the
/// same luminance) with weight smoothstep((m − start·L) / (L − start·L)). Any pixel with a
/// channel at L becomes neutral grey, so clipped skies and lamps do not turn magenta; luminance
/// is preserved exactly. Linear → linear (≤ L); pointwise.
public struct HighlightBlendStage: PointwiseStage, Hashable {
    /// Linear clip level L (0.1…16).
    public let clipLevel: Double
    /// Fraction of L where the roll-off begins (0.5…0.99).
    public let start: Double
    /// Luminance weights of the working RGB space.
    public let luma: LumaWeights

    /// Validates the parameters; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(clipLevel: Double = 1, start: Double = 0.8, luma: LumaWeights = .rec709) throws {
        try StageError.check("highlights", "clipLevel", clipLevel, in: 0.1...16)
        try StageError.check("highlights", "start", start, in: 0.5...0.99)
        self.clipLevel = clipLevel
        self.start = start
        self.luma = luma
    }

    public var name: String { "highlights-blend" }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        let l = Float(clipLevel), s0 = Float(start * clipLevel), inv = 1 / Float(clipLevel - start * clipLevel)
        let wr = luma.r, wg = luma.g, wb = luma.b
        var i = 0
        while i + 2 < pixels.count {
            let r = min(pixels[i], l), g = min(pixels[i + 1], l), b = min(pixels[i + 2], l)
            let m = max(r, max(g, b))
            if m > s0 {
                let x = (m - s0) * inv
                let t = x * x * (3 - 2 * x)
                let y = wr * r + wg * g + wb * b
                pixels[i] = r + t * (y - r)
                pixels[i + 1] = g + t * (y - g)
                pixels[i + 2] = b + t * (y - b)
            } else {
                pixels[i] = r
                pixels[i + 1] = g
                pixels[i + 2] = b
            }
            i += 3
        }
    }
}

/// Highlight `reconstruct`: clipped channels are rebuilt from the colour ratios of unclipped
/// neighbours (a local colour-ratio / "colour propagation" method, as used by many raw
/// converters; written from the idea, not from any GPL code).
///
/// A channel is clipped when it is ≥ `threshold`·`clipLevel`. For a pixel with clipped channels,
/// the neighbours within `radius` (a (2r+1)² window) whose three channels are all in
/// (0, threshold·L) are summed per channel into S = (S_r, S_g, S_b) (their mean colour, weighted by
/// brightness). Then
/// * some channels unclipped (set U): clipped channel c ← max(v_c, Σ_U v_u · S_c / Σ_U S_u);
/// * all three clipped: c ← max(v_c, min(v) · S_c / min(S)) (the neighbours' hue, lifted so its
///   smallest channel equals the pixel's smallest);
/// each estimate capped at `maxGain`·L (a value is never lowered). Pixels without valid neighbours (the inside of clipped areas
/// wider than the radius) are left unchanged: follow with the filmic curve, which rolls values
/// above 1 off smoothly, or with ``HighlightBlendStage`` for a hard guarantee of neutrality.
/// Output can exceed L (that is the point: recovered highlight detail). Linear → linear.
/// Halo: `radius` pixels. Every output pixel depends only on its input window, so tiles are
/// bit-identical to the whole frame.
public struct HighlightReconstructStage: RGBStage, Hashable {
    /// Linear clip level L (0.1…16).
    public let clipLevel: Double
    /// Fraction of L from which a channel counts as clipped (0.8…1).
    public let threshold: Double
    /// Neighbourhood radius in pixels (1…16); also the stage's halo.
    public let radius: Int
    /// Largest reconstructed value as a multiple of L (1…16).
    public let maxGain: Double

    /// Validates the parameters; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(clipLevel: Double = 1, threshold: Double = 0.99, radius: Int = 4, maxGain: Double = 4) throws {
        try StageError.check("highlights", "clipLevel", clipLevel, in: 0.1...16)
        try StageError.check("highlights", "threshold", threshold, in: 0.8...1)
        try StageError.check("highlights", "radius", Double(radius), in: 1...16)
        try StageError.check("highlights", "maxGain", maxGain, in: 1...16)
        self.clipLevel = clipLevel
        self.threshold = threshold
        self.radius = radius
        self.maxGain = maxGain
    }

    public var name: String { "highlights-reconstruct" }

    public func outputSize(for size: FrameSize) -> FrameSize { size }

    /// The output rectangle grown by `radius` on every side.
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output.expanded(by: radius) }

    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        let rad = radius
        precondition(inputRect == output.expanded(by: rad) && input.width == inputRect.width && input.height == inputRect.height,
                     "\(name): input \(inputRect) must be the output \(output) grown by \(rad)")
        var result = RGBImageF(width: output.width, height: output.height)
        let t = Float(threshold * clipLevel), cap = Float(maxGain * clipLevel)
        let iw = input.width
        input.pixels.withUnsafeBufferPointer { src in
            result.pixels.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<output.height {
                    for ox in 0..<output.width {
                        let si = ((oy + rad) * iw + ox + rad) * 3
                        let di = (oy * output.width + ox) * 3
                        let r = src[si], g = src[si + 1], b = src[si + 2]
                        dst[di] = r
                        dst[di + 1] = g
                        dst[di + 2] = b
                        let cr = r >= t, cg = g >= t, cb = b >= t
                        if !(cr || cg || cb) { continue }
                        // Sum the colour of valid (wholly unclipped, positive) neighbours.
                        var sr: Float = 0, sg: Float = 0, sb: Float = 0
                        var found = false
                        for ny in oy...(oy + 2 * rad) {
                            var ni = (ny * iw + ox) * 3
                            for _ in 0...(2 * rad) {
                                let qr = src[ni], qg = src[ni + 1], qb = src[ni + 2]
                                if qr > 0 && qg > 0 && qb > 0 && qr < t && qg < t && qb < t {
                                    sr += qr
                                    sg += qg
                                    sb += qb
                                    found = true
                                }
                                ni += 3
                            }
                        }
                        if !found { continue }
                        if cr && cg && cb {
                            let m = min(r, min(g, b)) / min(sr, min(sg, sb))
                            dst[di] = max(r, min(m * sr, cap))
                            dst[di + 1] = max(g, min(m * sg, cap))
                            dst[di + 2] = max(b, min(m * sb, cap))
                        } else {
                            let ref = (cr ? 0 : r) + (cg ? 0 : g) + (cb ? 0 : b)
                            let refS = (cr ? 0 : sr) + (cg ? 0 : sg) + (cb ? 0 : sb)
                            let k = ref / refS
                            if cr { dst[di] = max(r, min(k * sr, cap)) }
                            if cg { dst[di + 1] = max(g, min(k * sg, cap)) }
                            if cb { dst[di + 2] = max(b, min(k * sb, cap)) }
                        }
                    }
                }
            }
        }
        return result
    }
}
