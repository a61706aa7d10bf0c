/// The hot develop kernels, written once and compiled three times: by this module for the
/// package's baseline CPU (``BaselineKernels``), by `TesseraKernelsAVX2` for x86-64-v3 (AVX2,
/// eight Float lanes per instruction) and by `TesseraKernelsAVX512` for x86-64-v4 (AVX-512);
/// TesseraImaging picks one at run time (``KernelCPU``). Every
/// kernel function is `@_alwaysEmitIntoClient`: it has no symbol here, so each module that calls
/// it compiles its own copy with its own target CPU (`@inlinable` alone is not enough: a caller
/// may call this module's baseline copy instead of inlining). Every kernel is a fixed sequence of
/// IEEE Float operations (no FMA contraction, no reassociation, no approximate reciprocals), so
/// every build produces the same bits; the tests compare them on the same inputs.

/// The CPU a build of the kernels targets. Each build module instantiates the kernels with a
/// type of its own (``BaselineTarget`` here, `AVX2Target` in `TesseraKernelsAVX2`,
/// `AVX512Target` in `TesseraKernelsAVX512`), so every
/// kernel function it compiles, and every closure inside one, gets a symbol name of its own.
/// Without it, a function the optimiser did not inline would be emitted under the *same* weak
/// symbol by two builds and the linker would keep one of them for both callers — AVX2 code in
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

    /// Encodes eight values (results in 0...65535). `lut`: the transfer table as pairs
    /// (`table[k]`, `table[k + 1] − table[k]`) for `k` in `0..<lutSegments` (see
    /// ``pairTable(_:)``), or nil for the linear transfer. The same Float operations lane by lane
    /// as the one-value path, with the two float→integer truncations done exactly without
    /// per-lane conversions (``truncate(_:)``); one 8-byte load per value fetches both table terms.
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
        let k = Self.integer(kf) &* 2
        let table = UnsafeRawPointer(lut)
        @inline(__always) func pair(_ i: Int32) -> SIMD2<Float> {
            table.loadUnaligned(fromByteOffset: Int(truncatingIfNeeded: i) &* 4, as: SIMD2<Float>.self)
        }
        let p0 = pair(k[0]), p1 = pair(k[1]), p2 = pair(k[2]), p3 = pair(k[3])
        let p4 = pair(k[4]), p5 = pair(k[5]), p6 = pair(k[6]), p7 = pair(k[7])
        let lo = V(p0.x, p1.x, p2.x, p3.x, p4.x, p5.x, p6.x, p7.x)
        let span = V(p0.y, p1.y, p2.y, p3.y, p4.y, p5.y, p6.y, p7.y)
        return Self.integer(Self.truncate(lo + f * span + 0.5))
    }

    /// The pair table ``encode8(_:_:)`` reads, from a transfer table of `lutSegments + 1`
    /// entries: `table[k]` and `table[k + 1] − table[k]` (one Float subtraction, the same bits
    /// the interpolation would compute) for each segment `k`.
    @_alwaysEmitIntoClient public static func pairTable(_ table: [Float]) -> [Float] {
        precondition(table.count == KernelConstants.lutSegments + 1, "pairTable: the transfer table needs lutSegments + 1 entries")
        var pairs = [Float](repeating: 0, count: 2 * KernelConstants.lutSegments)
        for k in 0..<KernelConstants.lutSegments {
            pairs[2 * k] = table[k]
            pairs[2 * k + 1] = table[k + 1] - table[k]
        }
        return pairs
    }

    /// 16 → 8 bits per lane, `(v · 255 + 32767) / 65535` for `v` in 0...65535, exactly: with
    /// `x = v · 255 + 32767 < 2²⁴`, `⌊x / 65535⌋ = (x + 1 + ⌊x / 65536⌋) >> 16`.
    @_alwaysEmitIntoClient @inline(__always) public static func to8Bit(_ v: SIMD8<Int32>) -> SIMD8<Int32> {
        let x = v &* 255 &+ 32767
        return (x &+ 1 &+ (x &>> 16)) &>> 16
    }

    /// Stores lane `l` of `r`, `g`, `b` as the RGB pixel at `q + 6l` for the first `min(count, 8)` lanes.
    @_alwaysEmitIntoClient @inline(__always)
    public static func store<T: FixedWidthInteger>(_ r: SIMD8<T>, _ g: SIMD8<T>, _ b: SIMD8<T>, to q: UnsafeMutablePointer<T>, count: Int) {
        if count >= 8 {
            q[0] = r[0]; q[1] = g[0]; q[2] = b[0]; q[6] = r[1]; q[7] = g[1]; q[8] = b[1]
            q[12] = r[2]; q[13] = g[2]; q[14] = b[2]; q[18] = r[3]; q[19] = g[3]; q[20] = b[3]
            q[24] = r[4]; q[25] = g[4]; q[26] = b[4]; q[30] = r[5]; q[31] = g[5]; q[32] = b[5]
            q[36] = r[6]; q[37] = g[6]; q[38] = b[6]; q[42] = r[7]; q[43] = g[7]; q[44] = b[7]
        } else {
            for l in 0..<count {
                q[6 &* l] = r[l]; q[6 &* l &+ 1] = g[l]; q[6 &* l &+ 2] = b[l]
            }
        }
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

    /// The output rows of the strip (`height − 2·halo`).
    @_alwaysEmitIntoClient public var outputHeight: Int { height - 2 * KernelConstants.rcdHalo }

    /// Floats of workspace (the RCD ring buffers) ``run(_:lut:rows:workspace:into:rowStride:eightBit:row:)`` needs.
    @_alwaysEmitIntoClient public var workspaceCount: Int { RCDStream<BaselineTarget>.storageCount(width: width) }

    /// Develops output rows `rows` of the strip (of `0..<outputHeight`): `row(y, x, count,
    /// scratch)` returns `count` raw samples of frame row `y` from frame column `x` (it may
    /// fill and return `scratch`, room for `count` samples); writes `rows.count` rows of
    /// `width − 2·halo` RGB pixels at `out` (output row `rows.lowerBound` first), `rowStride`
    /// samples apart: 16-bit samples, or with `eightBit` bytes rounded from them
    /// (``EncodeKernel/to8Bit(_:)``). `lut`: the pair table (nil: linear). `workspace`:
    /// ``workspaceCount`` Floats, zero-filled before the call for rows starting at 0; a strip
    /// developed in several calls must get consecutive row ranges in order on the same
    /// workspace (the RCD stream's state lives there), and then gives the same bits as one call.
    @_alwaysEmitIntoClient @inline(__always)
    public func run<Target: KernelTarget>(_ target: Target.Type, lut: UnsafePointer<Float>?, rows: Range<Int>, workspace: UnsafeMutablePointer<Float>,
                                          into out: UnsafeMutableRawPointer, rowStride: Int, eightBit: Bool,
                                          row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        let w = width, wx = x, wy = y
        let halo = KernelConstants.rcdHalo
        let coreWidth = w - 2 * halo
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: w)
        defer { scratch.deallocate() }
        let stream = RCDStream<Target>(width: w, height: height, colors: colors, storage: workspace)
        let evenCount = (w + 1) / 2, oddCount = w / 2
        let black = self.black, scale = self.scale
        let (m0, m1, m2, m3, m4, m5, m6, m7, m8) = matrix
        let encoding = EncodeKernel<Target>(gain: gain)
        let firstRow = rows.lowerBound
        let out16 = out.assumingMemoryBound(to: UInt16.self), out8 = out.assumingMemoryBound(to: UInt8.self)
        // Output row `oy` leaves the stream when window row `oy + 2·halo` is loaded.
        stream.run(
            leads: (firstRow == 0 ? 0 : firstRow + 2 * halo)..<(rows.upperBound + 2 * halo),
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
                let rowOffset = (oy - firstRow) * rowStride
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
                        let at = rowOffset + 3 &* (2 &* k &+ p)
                        if eightBit {
                            let r8 = SIMD8<UInt8>(truncatingIfNeeded: EncodeKernel<Target>.to8Bit(er))
                            let g8 = SIMD8<UInt8>(truncatingIfNeeded: EncodeKernel<Target>.to8Bit(eg))
                            let b8 = SIMD8<UInt8>(truncatingIfNeeded: EncodeKernel<Target>.to8Bit(eb))
                            EncodeKernel<Target>.store(r8, g8, b8, to: out8 + at, count: count - k)
                        } else {
                            EncodeKernel<Target>.store(SIMD8<UInt16>(truncatingIfNeeded: er), SIMD8<UInt16>(truncatingIfNeeded: eg),
                                       SIMD8<UInt16>(truncatingIfNeeded: eb), to: out16 + at, count: count - k)
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
/// default target elsewhere). `AVX2Kernels` in `TesseraKernelsAVX2` and `AVX512Kernels` in
/// `TesseraKernelsAVX512` have the same entry points.
public enum BaselineKernels {
    /// ``FusedRCDStrip/run(_:lut:rows:workspace:into:rowStride:eightBit:row:)``, baseline build.
    public static func fusedRCD(_ strip: FusedRCDStrip, lut: UnsafePointer<Float>?, rows: Range<Int>, workspace: UnsafeMutablePointer<Float>,
                                into out: UnsafeMutableRawPointer, rowStride: Int, eightBit: Bool,
                                row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        strip.run(BaselineTarget.self, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
    }

    /// ``RCDInterleaved/run(_:origin:stride:width:height:colors:outputWidth:into:)``, baseline build.
    public static func rcd(origin: UnsafePointer<Float>, stride: Int, width: Int, height: Int, colors: (Int, Int, Int, Int),
                           outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        RCDInterleaved.run(BaselineTarget.self, origin: origin, stride: stride, width: width, height: height, colors: colors, outputWidth: outputWidth, into: out)
    }
}
