import Foundation
import TesseraKernels

/// The last develop stage: clip to [0, 1], exposure gain, clip, transfer curve, round to
/// 16 bits. (The clip before the gain keeps the first pipeline's semantics: `exposureGain`
/// brightens the displayable range; tone stages that need headroom run before this.)
struct OutputEncoding: Sendable {
    let gain: Float
    let transfer: DevelopSettings.Transfer

    init(_ s: DevelopSettings) {
        gain = Float(s.exposureGain)
        transfer = s.transfer
    }

    /// Encodes `count` Float values from `input` into `output`.
    func run(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<UInt16>) {
        withTable { lut in
            var i = 0
            while i + 8 <= count {
                let e = encode8(UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self), lut)
                for l in 0..<8 { output[i + l] = UInt16(truncatingIfNeeded: e[l]) }
                i += 8
            }
            while i < count {
                output[i] = encode(input[i], lut)
                i += 1
            }
        }
    }

    /// ``encode(_:_:)`` for eight values at once (results in 0...65535): `EncodeKernel`
    /// (TesseraKernels), the same Float operations lane by lane.
    @inline(__always) func encode8(_ x: SIMD8<Float>, _ lut: UnsafePointer<Float>?) -> SIMD8<Int32> {
        EncodeKernel<BaselineTarget>(gain: gain).encode8(x, lut)
    }

    /// Calls `body` with the transfer's pair table (``EncodeKernel/pairTable(_:)``; nil for the
    /// linear transfer), valid during the call.
    @inline(__always) func withTable<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        switch transfer {
        case .srgb: try OutputEncoding.srgbTable.withUnsafeBufferPointer { try body($0.baseAddress!) }
        case .adobeRGB: try OutputEncoding.adobeRGBTable.withUnsafeBufferPointer { try body($0.baseAddress!) }
        case .linear: try body(nil)
        }
    }

    /// One value: clip, gain, clip, then the table (linear interpolation; `lut` is the pair
    /// table) or, with no table,
    /// the linear transfer; rounded to 16 bits. Every encoding path calls this, so the bits
    /// never depend on the path.
    @inline(__always) func encode(_ x: Float, _ lut: UnsafePointer<Float>?) -> UInt16 {
        let v = min(min(max(x, 0), 1) * gain, 1)
        guard let lut else { return UInt16(v * 65535 + 0.5) }
        let t = v * Float(OutputEncoding.lutSegments)
        let k = min(Int(t), OutputEncoding.lutSegments - 1)
        let f = t - Float(k)
        // The pair table holds lut[k] and lut[k + 1] − lut[k] (the same Float subtraction).
        let a = lut[2 * k], span = lut[2 * k + 1]
        return UInt16(a + f * span + 0.5)
    }

    /// Segments of the sRGB lookup table (linear interpolation; < 0.1 code error at 16 bits).
    static let lutSegments = KernelConstants.lutSegments

    /// A transfer curve sampled at i / lutSegments, scaled to 0…65535 (lutSegments + 1 entries).
    static func table(_ transfer: DevelopSettings.Transfer) -> [Float] {
        (0...lutSegments).map { i in Float(transfer.curve.encode(Double(i) / Double(lutSegments)) * 65535) }
    }

    /// The pair tables (``EncodeKernel/pairTable(_:)``) of the sRGB and Adobe RGB transfers.
    static let srgbTable = EncodeKernel<BaselineTarget>.pairTable(table(.srgb))
    static let adobeRGBTable = EncodeKernel<BaselineTarget>.pairTable(table(.adobeRGB))
}
