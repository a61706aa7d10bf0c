import Foundation

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

    /// ``encode(_:_:)`` for eight values at once (results in 0...65535): the same Float
    /// operations lane by lane, with the two float→integer truncations done exactly without
    /// per-lane conversions (``truncate(_:)``).
    @inline(__always) func encode8(_ x: SIMD8<Float>, _ lut: UnsafePointer<Float>?) -> SIMD8<Int32> {
        typealias V = SIMD8<Float>
        let zero = V(repeating: 0), one = V(repeating: 1)
        let a = x.replacing(with: zero, where: zero .>= x)   // max(x, 0) = 0 >= x ? 0 : x
        var v = a.replacing(with: one, where: one .< a)      // min(·, 1) = 1 < · ? 1 : ·
        v *= gain
        v = v.replacing(with: one, where: one .< v)
        guard let lut else { return Self.integer(Self.truncate(v * 65535 + 0.5)) }
        let t = v * Float(OutputEncoding.lutSegments)
        let last = V(repeating: Float(OutputEncoding.lutSegments - 1))
        var kf = Self.truncate(t)
        kf = kf.replacing(with: last, where: kf .> last)     // min(Int(t), lutSegments − 1)
        let f = t - kf
        let k = Self.integer(kf)
        let i0 = Int(truncatingIfNeeded: k[0]), i1 = Int(truncatingIfNeeded: k[1]), i2 = Int(truncatingIfNeeded: k[2])
        let i3 = Int(truncatingIfNeeded: k[3]), i4 = Int(truncatingIfNeeded: k[4]), i5 = Int(truncatingIfNeeded: k[5])
        let i6 = Int(truncatingIfNeeded: k[6]), i7 = Int(truncatingIfNeeded: k[7])
        let lo = V(lut[i0], lut[i1], lut[i2], lut[i3], lut[i4], lut[i5], lut[i6], lut[i7])
        let hi = V(lut[i0 &+ 1], lut[i1 &+ 1], lut[i2 &+ 1], lut[i3 &+ 1], lut[i4 &+ 1], lut[i5 &+ 1], lut[i6 &+ 1], lut[i7 &+ 1])
        return Self.integer(Self.truncate(lo + f * (hi - lo) + 0.5))
    }

    /// `Float(Int(t))` for `0 ≤ t < 2²³`, exactly: `t + 2²³ − 2²³` is `t` rounded to the nearest
    /// integer (both operations exact in that range); one less where that rounded up.
    @inline(__always) static func truncate(_ t: SIMD8<Float>) -> SIMD8<Float> {
        let magic = SIMD8<Float>(repeating: 8_388_608)
        let r = (t + magic) - magic
        return r.replacing(with: r - 1, where: r .> t)
    }

    /// The integers held by `n` (integral Floats in `0 ..< 2²³`), from the bits of `n + 2²³`.
    @inline(__always) static func integer(_ n: SIMD8<Float>) -> SIMD8<Int32> {
        unsafeBitCast(n + SIMD8<Float>(repeating: 8_388_608), to: SIMD8<Int32>.self) &- 0x4B00_0000
    }

    /// Calls `body` with the transfer table (nil for the linear transfer), valid during the call.
    @inline(__always) func withTable<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        switch transfer {
        case .srgb: try OutputEncoding.srgbTable.withUnsafeBufferPointer { try body($0.baseAddress!) }
        case .adobeRGB: try OutputEncoding.adobeRGBTable.withUnsafeBufferPointer { try body($0.baseAddress!) }
        case .linear: try body(nil)
        }
    }

    /// One value: clip, gain, clip, then the table (linear interpolation) or, with no table,
    /// the linear transfer; rounded to 16 bits. Every encoding path calls this, so the bits
    /// never depend on the path.
    @inline(__always) func encode(_ x: Float, _ lut: UnsafePointer<Float>?) -> UInt16 {
        let v = min(min(max(x, 0), 1) * gain, 1)
        guard let lut else { return UInt16(v * 65535 + 0.5) }
        let t = v * Float(OutputEncoding.lutSegments)
        let k = min(Int(t), OutputEncoding.lutSegments - 1)
        let f = t - Float(k)
        let a = lut[k], b = lut[k + 1]
        return UInt16(a + f * (b - a) + 0.5)
    }

    /// Segments of the sRGB lookup table (linear interpolation; < 0.1 code error at 16 bits).
    static let lutSegments = 16384

    /// A transfer curve sampled at i / lutSegments, scaled to 0…65535 (lutSegments + 1 entries).
    static func table(_ transfer: DevelopSettings.Transfer) -> [Float] {
        (0...lutSegments).map { i in Float(transfer.curve.encode(Double(i) / Double(lutSegments)) * 65535) }
    }

    static let srgbTable = table(.srgb)
    static let adobeRGBTable = table(.adobeRGB)
}
