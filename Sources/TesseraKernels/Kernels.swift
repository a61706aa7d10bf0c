/// The hot develop kernels, written once and compiled twice: by this module for the package's
/// baseline CPU (``BaselineKernels``) and by `TesseraKernelsAVX2` for x86-64-v3 (AVX2, eight
/// Float lanes per instruction); TesseraImaging picks one at run time (``KernelCPU``). Every
/// kernel function is `@_alwaysEmitIntoClient`: it has no symbol here, so each module that calls
/// it compiles its own copy with its own target CPU (`@inlinable` alone is not enough: a caller
/// may call this module's baseline copy instead of inlining). Every kernel is a fixed sequence of
/// IEEE Float operations (no FMA contraction, no reassociation, no approximate reciprocals), so
/// both builds produce the same bits; the tests compare them on the same inputs.

/// The CPU a build of the kernels targets. Each build module instantiates the kernels with a
/// type of its own (``BaselineTarget`` here, `AVX2Target` in `TesseraKernelsAVX2`), so every
/// kernel function it compiles, and every closure inside one, gets a symbol name of its own.
/// Without it, a function the optimiser did not inline would be emitted under the *same* weak
/// symbol by both builds and the linker would keep one of them for both callers — AVX2 code in
/// the baseline path (an illegal instruction on an older CPU) or baseline code in the AVX2 path.
public protocol KernelTarget {}

/// The package's baseline CPU (x86-64 with SSE2 on Intel/AMD).
public enum BaselineTarget: KernelTarget {}

/// Constants shared by every build of the kernels.
public enum KernelConstants {
    /// Mosaic pixels RCD needs around an output pixel: reach 6 of its steps 1–5 plus two
    /// median passes (`RCDDemosaic.halo` in TesseraImaging).
    @_alwaysEmitIntoClient public static var rcdHalo: Int { 8 }
    /// Segments of an output transfer table (which has `lutSegments + 1` entries).
    @_alwaysEmitIntoClient public static var lutSegments: Int { 16384 }
}

/// The output encoding's arithmetic for eight values: clip to [0, 1], exposure gain, clip,
/// transfer table (linear interpolation) or the linear transfer, rounded to 16 bits.
/// `OutputEncoding` (TesseraImaging) defines the one-value version with the same operations.
public struct EncodeKernel<Target: KernelTarget>: Sendable {
    /// The exposure gain (applied between the two clips).
    public let gain: Float

    /// An encoder with exposure gain `gain`.
    @_alwaysEmitIntoClient public init(gain: Float) { self.gain = gain }

    /// Encodes eight values (results in 0...65535). `lut`: the transfer table, or nil for the
    /// linear transfer. The same Float operations lane by lane as the one-value path, with the
    /// two float→integer truncations done exactly without per-lane conversions (``truncate(_:)``).
    @_alwaysEmitIntoClient @inline(__always) public func encode8(_ x: SIMD8<Float>, _ lut: UnsafePointer<Float>?) -> SIMD8<Int32> {
        typealias V = SIMD8<Float>
        let zero = V(repeating: 0), one = V(repeating: 1)
        let a = x.replacing(with: zero, where: zero .>= x)   // max(x, 0) = 0 >= x ? 0 : x
        var v = a.replacing(with: one, where: one .< a)      // min(·, 1) = 1 < · ? 1 : ·
        v *= gain
        v = v.replacing(with: one, where: one .< v)
        guard let lut else { return Self.integer(Self.truncate(v * 65535 + 0.5)) }
        let t = v * Float(KernelConstants.lutSegments)
        let last = V(repeating: Float(KernelConstants.lutSegments - 1))
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
    @_alwaysEmitIntoClient @inline(__always) public static func truncate(_ t: SIMD8<Float>) -> SIMD8<Float> {
        let magic = SIMD8<Float>(repeating: 8_388_608)
        let r = (t + magic) - magic
        return r.replacing(with: r - 1, where: r .> t)
    }

    /// The integers held by `n` (integral Floats in `0 ..< 2²³`), from the bits of `n + 2²³`.
    @_alwaysEmitIntoClient @inline(__always) public static func integer(_ n: SIMD8<Float>) -> SIMD8<Int32> {
        unsafeBitCast(n + SIMD8<Float>(repeating: 8_388_608), to: SIMD8<Int32>.self) &- 0x4B00_0000
    }
}

/// One column strip of the fused neutral develop (raw stage → RCD → camera→output matrix →
/// output encoding → 16-bit RGB), the parameters `DevelopPipeline` resolves once per frame.
public struct FusedRCDStrip {
    /// The strip's CFA window in frame coordinates (output strip grown by ``KernelConstants/rcdHalo``).
    public let x: Int, y: Int, width: Int, height: Int
    /// CFA colours of the window's top-left 2×2 cell (see ``RCDStream/init(width:height:colors:)``).
    public let colors: (Int, Int, Int, Int)
    /// Per frame cell (`(y & 1) << 1 | (x & 1)`): black level and scale (white balance included).
    public let black: SIMD4<Float>, scale: SIMD4<Float>
    /// The camera→output matrix, row-major.
    public let matrix: (Float, Float, Float, Float, Float, Float, Float, Float, Float)
    /// The output encoding's exposure gain (see ``EncodeKernel``).
    public let gain: Float

    /// A strip description; see the properties.
    public init(x: Int, y: Int, width: Int, height: Int, colors: (Int, Int, Int, Int), black: SIMD4<Float>, scale: SIMD4<Float>,
                matrix: (Float, Float, Float, Float, Float, Float, Float, Float, Float), gain: Float) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.colors = colors
        self.black = black
        self.scale = scale
        self.matrix = matrix
        self.gain = gain
    }

    /// Develops the strip: `row(y, x, count, scratch)` returns `count` raw samples of frame row
    /// `y` from frame column `x` (it may fill and return `scratch`, room for `count` samples);
    /// writes `height − 2·halo` rows of `width − 2·halo` RGB 16-bit pixels at `out`, `rowStride`
    /// values apart. `lut`: the transfer table (nil: linear).
    @_alwaysEmitIntoClient @inline(__always)
    public func run<Target: KernelTarget>(_ target: Target.Type, lut: UnsafePointer<Float>?, into out: UnsafeMutablePointer<UInt16>, rowStride: Int,
                                          row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        let w = width, wx = x, wy = y
        let coreWidth = w - 2 * KernelConstants.rcdHalo
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: w)
        defer { scratch.deallocate() }
        let stream = RCDStream<Target>(width: w, height: height, colors: colors)
        defer { stream.deallocate() }
        let evenCount = (w + 1) / 2, oddCount = w / 2
        let black = self.black, scale = self.scale
        let (m0, m1, m2, m3, m4, m5, m6, m7, m8) = matrix
        let encoding = EncodeKernel<Target>(gain: gain)
        stream.run(
            load: { j, even, odd in
                // The raw stage's arithmetic, by the frame cell of each window column parity.
                let fy = wy + j
                let src = row(fy, wx, w, scratch)
                let rowCell = (fy & 1) << 1
                let cellE = rowCell | (wx & 1), cellO = rowCell | ((wx + 1) & 1)
                let bE = black[cellE], kE = scale[cellE], bO = black[cellO], kO = scale[cellO]
                for k in 0..<oddCount {
                    even[k] = (Float(src[2 &* k]) - bE) * kE
                    odd[k] = (Float(src[2 &* k &+ 1]) - bO) * kO
                }
                if evenCount > oddCount { even[oddCount] = (Float(src[2 &* oddCount]) - bE) * kE }
            },
            emit: { oy, rgb in
                // Eight output pixels of one column parity at a time (split rows are padded,
                // so the last group may read past the row; only real pixels are stored).
                let o = out + oy * rowStride
                for p in 0..<2 {
                    let first = (rgb.firstColumn + p) >> 1 + ((rgb.firstColumn + p) & 1) * rgb.parityStride
                    let rq = rgb.r + first, gq = rgb.g + first, bq = rgb.b + first
                    let count = (coreWidth - p + 1) / 2
                    var k = 0
                    while k < count {
                        let r = UnsafeRawPointer(rq + k).loadUnaligned(as: SIMD8<Float>.self)
                        let g = UnsafeRawPointer(gq + k).loadUnaligned(as: SIMD8<Float>.self)
                        let b = UnsafeRawPointer(bq + k).loadUnaligned(as: SIMD8<Float>.self)
                        let er = encoding.encode8(m0 * r + m1 * g + m2 * b, lut)
                        let eg = encoding.encode8(m3 * r + m4 * g + m5 * b, lut)
                        let eb = encoding.encode8(m6 * r + m7 * g + m8 * b, lut)
                        // Interleave: pixel 2(k + l) + p gets lane l.
                        let r16 = SIMD8<UInt16>(truncatingIfNeeded: er), g16 = SIMD8<UInt16>(truncatingIfNeeded: eg)
                        let b16 = SIMD8<UInt16>(truncatingIfNeeded: eb)
                        let q = o + 3 &* (2 &* k &+ p)
                        if count - k >= 8 {
                            q[0] = r16[0]; q[1] = g16[0]; q[2] = b16[0]; q[6] = r16[1]; q[7] = g16[1]; q[8] = b16[1]
                            q[12] = r16[2]; q[13] = g16[2]; q[14] = b16[2]; q[18] = r16[3]; q[19] = g16[3]; q[20] = b16[3]
                            q[24] = r16[4]; q[25] = g16[4]; q[26] = b16[4]; q[30] = r16[5]; q[31] = g16[5]; q[32] = b16[5]
                            q[36] = r16[6]; q[37] = g16[6]; q[38] = b16[6]; q[42] = r16[7]; q[43] = g16[7]; q[44] = b16[7]
                        } else {
                            for l in 0..<(count - k) {
                                q[6 &* l] = r16[l]; q[6 &* l &+ 1] = g16[l]; q[6 &* l &+ 2] = b16[l]
                            }
                        }
                        k += 8
                    }
                }
            })
    }
}

/// The staged RCD: a normalised Float mosaic in, interleaved linear RGB out.
public enum RCDInterleaved {
    /// Demosaics the window of `width × height` samples at `origin` (row stride `stride`; CFA
    /// colours of its top-left cell `colors`) into `outputWidth × (height − 2·halo)` interleaved
    /// RGB Floats at `out`, where `outputWidth ≤ width − 2·halo` (output column 0 is window
    /// column ``KernelConstants/rcdHalo``).
    @_alwaysEmitIntoClient @inline(__always)
    public static func run<Target: KernelTarget>(_ target: Target.Type, origin: UnsafePointer<Float>, stride: Int, width: Int, height: Int,
                                                 colors: (Int, Int, Int, Int), outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        let stream = RCDStream<Target>(width: width, height: height, colors: colors)
        defer { stream.deallocate() }
        let evenCount = (width + 1) / 2, oddCount = width / 2
        stream.run(
            load: { j, even, odd in
                let src = origin + j * stride
                for k in 0..<oddCount {
                    even[k] = src[2 &* k]
                    odd[k] = src[2 &* k &+ 1]
                }
                if evenCount > oddCount { even[oddCount] = src[2 &* oddCount] }
            },
            emit: { oy, row in row.interleave(count: outputWidth, into: out + oy * outputWidth * 3) })
    }
}

/// The kernels compiled for the package's baseline CPU (x86-64 with SSE2 on Intel/AMD; the
/// default target elsewhere). `AVX2Kernels` in `TesseraKernelsAVX2` has the same entry points.
public enum BaselineKernels {
    /// ``FusedRCDStrip/run(_:lut:into:rowStride:row:)``, baseline build.
    public static func fusedRCD(_ strip: FusedRCDStrip, lut: UnsafePointer<Float>?, into out: UnsafeMutablePointer<UInt16>, rowStride: Int,
                                row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        strip.run(BaselineTarget.self, lut: lut, into: out, rowStride: rowStride, row: row)
    }

    /// ``RCDInterleaved/run(_:origin:stride:width:height:colors:outputWidth:into:)``, baseline build.
    public static func rcd(origin: UnsafePointer<Float>, stride: Int, width: Int, height: Int, colors: (Int, Int, Int, Int),
                           outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        RCDInterleaved.run(BaselineTarget.self, origin: origin, stride: stride, width: width, height: height, colors: colors, outputWidth: outputWidth, into: out)
    }
}
