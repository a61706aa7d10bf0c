import Foundation
import TesseraCore

/// The Lanczos-3 filter and its per-output-pixel taps along one axis.
///
/// Output pixel `o` of `outputCount` covers input coordinate x = (o + ½)·s − ½ with
/// s = inputCount / outputCount (pixel centres, edges of the frames aligned). The kernel is
/// L(t) = sinc(t)·sinc(t/3) for |t| < 3, stretched by f = max(1, s) when downscaling (so it
/// low-passes at the output's Nyquist frequency), support 3f. Weights are L((i − x)/f) for
/// every integer i with |i − x| < 3f, computed in Double, normalised to sum to 1, then rounded
/// to Float. They depend only on (o, inputCount, outputCount), never on a tile, which is what
/// makes a tile of the output bit-identical to the same pixels of the whole output. (For a
/// rational scale the taps repeat with period outputCount/gcd: a polyphase filter bank.)
public enum Lanczos3 {
    /// The filter lobes.
    public static let lobes = 3

    /// L(t) = sinc(t)·sinc(t/3), 0 for |t| ≥ 3 (sinc(t) = sin(πt)/(πt)).
    public static func kernel(_ t: Double) -> Double {
        let a = abs(t)
        if a < 1e-12 { return 1 }
        if a >= Double(lobes) { return 0 }
        let p = Double.pi * a
        return Double(lobes) * sin(p) * sin(p / Double(lobes)) / (p * p)
    }

    /// The first input index and the normalised weights of output pixel `output`.
    public static func taps(output: Int, inputCount: Int, outputCount: Int) -> (first: Int, weights: [Float]) {
        let s = Double(inputCount) / Double(outputCount)
        let f = max(1, s)
        let support = Double(lobes) * f
        let x = (Double(output) + 0.5) * s - 0.5
        let first = Int((x - support).rounded(.down)) + 1
        let last = Int((x + support).rounded(.up)) - 1
        var w = [Double]()
        w.reserveCapacity(last - first + 1)
        for i in first...last { w.append(kernel((Double(i) - x) / f)) }
        let total = w.reduce(0, +)
        return (first, w.map { Float($0 / total) })
    }

    /// The input span [first, end) needed by outputs `range`.
    static func span(_ range: Range<Int>, inputCount: Int, outputCount: Int) -> Range<Int> {
        let a = taps(output: range.lowerBound, inputCount: inputCount, outputCount: outputCount)
        let b = taps(output: range.upperBound - 1, inputCount: inputCount, outputCount: outputCount)
        return a.first..<(b.first + b.weights.count)
    }
}

/// Lanczos-3 resize (separable: rows first, then columns) to a target size.
///
/// Linear in → linear out (resample linear light: averaging encoded values darkens fine
/// detail). Geometry: ``outputSize(for:)`` from the target; ``inputRegion(for:inputSize:)`` is the
/// exact union of the kernel supports of the requested output pixels (see ``Lanczos3``), which
/// may reach past the frame's edges (the pipeline supplies those pixels). When the output size
/// equals the input size the stage is an exact copy. Lanczos overshoot can give small negative
/// values or values above 1 near hard edges; later stages or the output encoding clip them.
public struct ResizeStage: RGBStage, Hashable {
    /// What size to produce.
    public enum Target: Sendable, Hashable, Codable {
        /// The longer side becomes this many pixels; the other keeps the aspect ratio (rounded).
        case longEdge(Int)
        /// About this many megapixels (10⁶ pixels), aspect ratio kept (each side rounded).
        case megapixels(Double)
        /// Exactly this size (aspect ratio not kept).
        case size(width: Int, height: Int)
    }

    /// The target.
    public let target: Target
    /// When false (default), a target larger than the input leaves the size unchanged (copy).
    public let allowUpscale: Bool

    /// Validates the target: long edge / width / height 1…65535, megapixels 0.0001…1000.
    public init(target: Target, allowUpscale: Bool = false) throws {
        switch target {
        case .longEdge(let n): try StageError.check("resize", "longEdge", Double(n), in: 1...65535)
        case .megapixels(let mp): try StageError.check("resize", "megapixels", mp, in: 0.0001...1000)
        case .size(let w, let h):
            try StageError.check("resize", "width", Double(w), in: 1...65535)
            try StageError.check("resize", "height", Double(h), in: 1...65535)
        }
        self.target = target
        self.allowUpscale = allowUpscale
    }

    public var name: String { "resize" }

    /// The output size for an input of `size` (never 0 on either side).
    public func outputSize(for size: FrameSize) -> FrameSize {
        guard size.width > 0, size.height > 0 else { return size }
        var w: Int, h: Int
        switch target {
        case .longEdge(let n):
            if size.width >= size.height {
                w = n
                h = Int((Double(size.height) * Double(n) / Double(size.width)).rounded())
            } else {
                h = n
                w = Int((Double(size.width) * Double(n) / Double(size.height)).rounded())
            }
        case .megapixels(let mp):
            let s = (mp * 1e6 / Double(size.width * size.height)).squareRoot()
            w = Int((Double(size.width) * s).rounded())
            h = Int((Double(size.height) * s).rounded())
        case .size(let tw, let th):
            w = tw
            h = th
        }
        w = max(1, w)
        h = max(1, h)
        if !allowUpscale && (w > size.width || h > size.height) { return size }
        return FrameSize(width: w, height: h)
    }

    /// The union of the Lanczos supports of `output`'s columns and rows (input coordinates).
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect {
        let out = outputSize(for: inputSize)
        if out == inputSize || output.isEmpty { return output }
        let xs = Lanczos3.span(output.x..<output.maxX, inputCount: inputSize.width, outputCount: out.width)
        let ys = Lanczos3.span(output.y..<output.maxY, inputCount: inputSize.height, outputCount: out.height)
        return PixelRect(x: xs.lowerBound, y: ys.lowerBound, width: xs.count, height: ys.count)
    }

    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        let out = outputSize(for: inputSize)
        precondition(inputRect == inputRegion(for: output, inputSize: inputSize) && input.width == inputRect.width
                     && input.height == inputRect.height, "resize: input \(inputRect) is not the region needed by \(output)")
        if out == inputSize || output.isEmpty { return input }
        let ow = output.width, oh = output.height, iw = input.width, ih = input.height
        // Flattened taps: for output column j, weights at colW[colOffset[j] ..< colOffset[j+1]]
        // apply to input columns colFirst[j] … (relative to inputRect).
        func table(_ range: Range<Int>, _ inCount: Int, _ outCount: Int, _ origin: Int) -> (first: [Int], offset: [Int], w: [Float]) {
            var first: [Int] = [], offset: [Int] = [0], w: [Float] = []
            for o in range {
                let t = Lanczos3.taps(output: o, inputCount: inCount, outputCount: outCount)
                first.append(t.first - origin)
                w += t.weights
                offset.append(w.count)
            }
            return (first, offset, w)
        }
        let cols = table(output.x..<output.maxX, inputSize.width, out.width, inputRect.x)
        let rows = table(output.y..<output.maxY, inputSize.height, out.height, inputRect.y)
        var result = RGBImageF(width: ow, height: oh)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: ih * ow * 3)
        defer { tmp.deallocate() }
        let colFirst = UnsafeMutableBufferPointer<Int>.allocate(capacity: cols.first.count)
        let colOffset = UnsafeMutableBufferPointer<Int>.allocate(capacity: cols.offset.count)
        let colW = UnsafeMutableBufferPointer<Float>.allocate(capacity: cols.w.count)
        defer {
            colFirst.deallocate()
            colOffset.deallocate()
            colW.deallocate()
        }
        _ = colFirst.initialize(from: cols.first)
        _ = colOffset.initialize(from: cols.offset)
        _ = colW.initialize(from: cols.w)
        input.pixels.withUnsafeBufferPointer { srcBuffer in
            let src = srcBuffer.baseAddress!
            // Horizontal: every input row → ow columns.
            for row in 0..<ih {
                let s = src + row * iw * 3
                let d = tmp + row * ow * 3
                for j in 0..<ow {
                    var p = s + colFirst[j] * 3
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for k in colOffset[j]..<colOffset[j + 1] {
                        let w = colW[k]
                        r += w * p[0]
                        g += w * p[1]
                        b += w * p[2]
                        p += 3
                    }
                    d[j * 3] = r
                    d[j * 3 + 1] = g
                    d[j * 3 + 2] = b
                }
            }
        }
        rows.w.withUnsafeBufferPointer { rw in
            result.pixels.withUnsafeMutableBufferPointer { dstBuffer in
                let dst = dstBuffer.baseAddress!
                let n = ow * 3
                // Vertical: each output row is a weighted sum of whole tmp rows (contiguous).
                for i in 0..<oh {
                    let d = dst + i * n
                    for c in 0..<n { d[c] = 0 }
                    var srcRow = rows.first[i]
                    for k in rows.offset[i]..<rows.offset[i + 1] {
                        let w = rw[k]
                        let s = tmp + srcRow * n
                        for c in 0..<n { d[c] += w * s[c] }
                        srcRow += 1
                    }
                }
            }
        }
        return result
    }
}
