import Foundation
import TesseraCore

/// Unsharp-mask sharpening of luminance.
///
/// Y = luma(rgb); B = Y blurred by a separable Gaussian of standard deviation `radius` (σ, in
/// pixels), truncated at R = ceil(3σ) pixels and normalised; detail = Y − B. The display-referred
/// difference Δ = srgb(Y) − srgb(B) (sRGB transfer curve of the clamped [0, 1] values, i.e. in
/// code values 0…1) is compared with `threshold`: the detail is scaled by max(0, |Δ| − threshold)/|Δ|
/// (a soft threshold, continuous, so fine noise below the threshold is left alone and edges
/// above it are sharpened smoothly). Output: rgb + `amount` · detail · gate, added equally to
/// the three channels.
///
/// Why luminance and not each channel: sharpening R, G and B separately sharpens chroma too,
/// which amplifies colour noise and demosaic false colour and paints coloured fringes along
/// edges; the eye resolves detail in luminance. One blurred plane instead of three is also a
/// third of the work.
///
/// Linear in → linear out (works on display-linear or scene-linear values; the recommended place
/// is after resize, as output sharpening). Halo R = ceil(3σ). The blur is computed as
/// v + Σ_{k≠0} w_k (v_k − v), which equals Σ w_k v_k for normalised weights but leaves a flat
/// area exactly unchanged. Each output pixel uses only its (2R+1)² window in a fixed order, so
/// tiles are bit-identical to the whole frame.
public struct SharpenStage: RGBStage, Hashable {
    /// Gaussian σ in pixels (0.1…16).
    public let radius: Double
    /// Strength (0…10; 0 is the identity).
    public let amount: Double
    /// Soft threshold in display-referred code values (0…1; 0 sharpens everything).
    public let threshold: Double
    /// Luminance weights of the working RGB space.
    public let luma: LumaWeights
    /// Gaussian weights w_1 … w_R (w_{−k} = w_k), normalised with w_0 over −R…R.
    private let weights: [Float]

    /// Validates the parameters; throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public init(radius: Double, amount: Double, threshold: Double = 0, luma: LumaWeights = .rec709) throws {
        try StageError.check("sharpen", "radius", radius, in: 0.1...16)
        try StageError.check("sharpen", "amount", amount, in: 0...10)
        try StageError.check("sharpen", "threshold", threshold, in: 0...1)
        self.radius = radius
        self.amount = amount
        self.threshold = threshold
        self.luma = luma
        weights = SharpenStage.gaussian(sigma: radius).dropFirst().map { Float($0) }
    }

    /// Normalised Gaussian weights w_0 … w_R (Double) for σ = `sigma`, R = ceil(3σ):
    /// w_k = exp(−k²/2σ²) / Σ_{j=−R…R} exp(−j²/2σ²).
    public static func gaussian(sigma: Double) -> [Double] {
        let r = Int((3 * sigma).rounded(.up))
        let raw = (0...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = raw[0] + 2 * raw.dropFirst().reduce(0, +)
        return raw.map { $0 / total }
    }

    /// The halo: ceil(3σ) pixels.
    public var halo: Int { weights.count }

    public var name: String { "sharpen" }

    public func outputSize(for size: FrameSize) -> FrameSize { size }

    /// The output rectangle grown by ``halo`` on every side.
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output.expanded(by: halo) }

    /// sRGB encoding of [0, 1] on 4096 segments with linear interpolation (threshold test only).
    static let encodeTable: [Float] = (0...4096).map { Float(OutputTransfer.srgb.encode(Double($0) / 4096)) }

    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        let r = halo
        precondition(inputRect == output.expanded(by: r) && input.width == inputRect.width && input.height == inputRect.height,
                     "sharpen: input \(inputRect) must be the output \(output) grown by \(r)")
        let ow = output.width, oh = output.height, iw = input.width, ih = input.height
        var result = RGBImageF(width: ow, height: oh)
        if ow == 0 || oh == 0 { return result }
        let amount = Float(self.amount), thr = Float(threshold)
        let wr = luma.r, wg = luma.g, wb = luma.b
        let y = UnsafeMutablePointer<Float>.allocate(capacity: iw * ih)
        let h = UnsafeMutablePointer<Float>.allocate(capacity: ow * ih)
        defer {
            y.deallocate()
            h.deallocate()
        }
        input.pixels.withUnsafeBufferPointer { srcBuffer in
            let src = srcBuffer.baseAddress!
            for i in 0..<(iw * ih) { y[i] = wr * src[i * 3] + wg * src[i * 3 + 1] + wb * src[i * 3 + 2] }
        }
        weights.withUnsafeBufferPointer { wBuffer in
            let w = wBuffer.baseAddress!
            // Horizontal pass over every input row, output columns only.
            for row in 0..<ih {
                let yr = y + row * iw + r
                let hr = h + row * ow
                for ox in 0..<ow {
                    let c = yr[ox]
                    var acc: Float = 0
                    for k in 1...r { acc += w[k - 1] * ((yr[ox - k] - c) + (yr[ox + k] - c)) }
                    hr[ox] = c + acc
                }
            }
        }
        Self.encodeTable.withUnsafeBufferPointer { encBuffer in
            let enc = encBuffer.baseAddress!
            @inline(__always) func encode(_ v: Float) -> Float {
                let t = min(max(v, 0), 1) * 4096
                let k = min(Int(t), 4095)
                let f = t - Float(k)
                return enc[k] + f * (enc[k + 1] - enc[k])
            }
            weights.withUnsafeBufferPointer { wBuffer in
                let w = wBuffer.baseAddress!
                input.pixels.withUnsafeBufferPointer { srcBuffer in
                    let src = srcBuffer.baseAddress!
                    result.pixels.withUnsafeMutableBufferPointer { dstBuffer in
                        let dst = dstBuffer.baseAddress!
                        for oy in 0..<oh {
                            let hc = h + (oy + r) * ow
                            for ox in 0..<ow {
                                // Vertical pass, then the mask.
                                let c = hc[ox]
                                var acc: Float = 0
                                for k in 1...r { acc += w[k - 1] * ((hc[ox - k * ow] - c) + (hc[ox + k * ow] - c)) }
                                let blurred = c + acc
                                let luminance = y[(oy + r) * iw + ox + r]
                                var detail = luminance - blurred
                                if thr > 0 {
                                    let d = abs(encode(luminance) - encode(blurred))
                                    detail = d > thr ? detail * ((d - thr) / d) : 0
                                }
                                let add = amount * detail
                                let si = ((oy + r) * iw + ox + r) * 3, di = (oy * ow + ox) * 3
                                dst[di] = src[si] + add
                                dst[di + 1] = src[si + 1] + add
                                dst[di + 2] = src[si + 2] + add
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
