import Foundation
import TesseraCore

/// A stage whose every output pixel depends only on the input pixel at the same position
/// (exposure, highlights, contrast, saturation, filmic curve, LUT looks).
///
/// Conformers implement ``transform(_:)``; `outputSize`, `inputRegion` and `apply` come from the
/// protocol extension (no halo, no geometry change). Because the per-pixel work is exposed, the
/// pipeline can fuse a run of pointwise stages into one pass over a row (``PointwiseChain``).
public protocol PointwiseStage: RGBStage {
    /// Transforms interleaved RGB samples in place (`pixels.count` is a multiple of 3).
    /// Must not allocate per pixel and must give the same bits for a pixel wherever it sits in
    /// the buffer. Called concurrently from many threads on disjoint buffers.
    func transform(_ pixels: UnsafeMutableBufferPointer<Float>)
}

extension PointwiseStage {
    /// Pointwise stages keep the frame size.
    public func outputSize(for size: FrameSize) -> FrameSize { size }

    /// Pointwise stages need exactly the output rectangle of their input.
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output }

    /// Copies `input` (which must be `output`-sized) and transforms it with ``transform(_:)``.
    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        precondition(input.width == output.width && input.height == output.height && inputRect == output,
                     "\(name): pointwise input \(inputRect) must equal the output rect \(output)")
        var result = input
        result.pixels.withUnsafeMutableBufferPointer { transform($0) }
        return result
    }
}

/// Several pointwise stages fused into one pass: the image is processed in chunks of
/// ``chunkPixels`` pixels that stay in L1/L2 cache while every stage runs over them, in order.
/// Output is bit-identical to applying the stages one after another.
public struct PointwiseChain: PointwiseStage {
    /// The stages, applied first to last.
    public let stages: [any PointwiseStage]
    /// Pixels per chunk (any chunking gives the same bits; this is a cache-size choice).
    public static let chunkPixels = 2048

    /// Chains `stages` (may be empty: then the chain is the identity).
    public init(_ stages: [any PointwiseStage]) {
        self.stages = stages
    }

    /// The stage names joined with "+" ("identity" for an empty chain).
    public var name: String { stages.isEmpty ? "identity" : stages.map(\.name).joined(separator: "+") }

    /// Applies every stage to each chunk of `pixels`.
    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        guard let base = pixels.baseAddress else { return }
        var start = 0
        let step = PointwiseChain.chunkPixels * 3
        while start < pixels.count {
            let chunk = UnsafeMutableBufferPointer(start: base + start, count: min(step, pixels.count - start))
            for stage in stages { stage.transform(chunk) }
            start += step
        }
    }
}

/// Luminance weights of an RGB space (the Y row of its RGB→XYZ matrix), used by the stages that
/// separate luminance from colour (contrast, saturation, highlight blend, sharpening).
/// Pick the weights of the working space the stages run in (the output primaries).
public struct LumaWeights: Sendable, Hashable, Codable {
    public var r: Float
    public var g: Float
    public var b: Float

    /// Weights must be finite and non-negative and sum to 1 (± 1e-3).
    public init(r: Float, g: Float, b: Float) throws {
        for (n, v) in [("r", r), ("g", g), ("b", b)] {
            try StageError.check("luma", n, Double(v), in: 0...1)
        }
        guard abs(r + g + b - 1) <= 1e-3 else {
            throw StageError.invalidParameter(stage: "luma", parameter: "r+g+b", value: "\(r + g + b)", reason: "weights must sum to 1")
        }
        self.r = r
        self.g = g
        self.b = b
    }

    private init(unchecked r: Float, _ g: Float, _ b: Float) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// sRGB / Rec. 709 primaries, D65 (IEC 61966-2-1).
    public static let rec709 = LumaWeights(unchecked: 0.2126, 0.7152, 0.0722)
    /// Display P3 primaries, D65.
    public static let displayP3 = LumaWeights(unchecked: 0.2290, 0.6917, 0.0793)
    /// Adobe RGB (1998) primaries, D65.
    public static let adobeRGB = LumaWeights(unchecked: 0.2973, 0.6274, 0.0753)

    /// Luminance of one linear RGB triple.
    @inlinable public func luma(_ r: Float, _ g: Float, _ b: Float) -> Float {
        self.r * r + self.g * g + self.b * b
    }
}

/// The sRGB transfer function (IEC 61966-2-1) in Float, extended to negative values by odd
/// symmetry and past 1 by the same power law, so it round-trips any finite value.
enum SRGBTransfer {
    @inline(__always) static func encode(_ v: Float) -> Float {
        let a = abs(v)
        let e: Float = a <= 0.0031308 ? 12.92 * a : 1.055 * powf(a, 1 / 2.4) - 0.055
        return v < 0 ? -e : e
    }

    @inline(__always) static func decode(_ v: Float) -> Float {
        let a = abs(v)
        let d: Float = a <= 0.04045 ? a / 12.92 : powf((a + 0.055) / 1.055, 2.4)
        return v < 0 ? -d : d
    }

    /// Table segments over [0, 1] for the fast paths (interpolation error < 1e-7).
    static let segments = 65536
    /// encode(i / segments), i = 0…segments, computed in Double.
    static let encodeTable: [Float] = (0...segments).map { Float(OutputTransfer.srgb.encode(Double($0) / Double(segments))) }
    /// decode(i / segments), i = 0…segments, computed in Double.
    static let decodeTable: [Float] = (0...segments).map { i in
        let e = Double(i) / Double(segments)
        return Float(e <= 0.04045 ? e / 12.92 : pow((e + 0.055) / 1.055, 2.4))
    }

    /// `encode`/`decode` through `table` for values in [0, 1] (linear interpolation), exact outside.
    @inline(__always) static func viaTable(_ v: Float, _ table: UnsafePointer<Float>, exact: (Float) -> Float) -> Float {
        guard v >= 0 && v <= 1 else { return exact(v) }
        let t = v * Float(segments)
        let k = min(Int(t), segments - 1)
        let f = t - Float(k)
        return table[k] + f * (table[k + 1] - table[k])
    }
}
