import Foundation
import TesseraCore

/// The fused per-tile develop kernel: normalise (black, white, white balance) into a float
/// mosaic of core + halo, then per output pixel Malvar–He–Cutler demosaic → matrix → clip →
/// gain → clip → transfer curve → 16-bit. Parameters are converted to `Float` once, here, so
/// every tile of a frame uses bit-identical constants.
struct Kernel: Sendable {
    /// Per frame-cell (``CFAPattern/cell(x:y:)``) black level and scale (white balance included).
    let black: [Float]
    let scale: [Float]
    let cfa: CFAPattern
    let m: [Float]
    let gain: Float
    let transfer: DevelopSettings.Transfer
    static let halo = 2

    init(_ s: DevelopSettings) {
        cfa = s.cfa
        var b: [Float] = [], k: [Float] = []
        for cell in 0..<4 {
            let color = s.cfa.colors[cell]
            b.append(Float(s.blackLevels[cell]))
            k.append(Float(s.wbMultipliers[Int(color.rawValue)] / (s.whiteLevel - s.blackLevels[cell])))
        }
        black = b
        scale = k
        m = s.cameraToOutput.map { Float($0) }
        gain = Float(s.exposureGain)
        transfer = s.transfer
    }

    /// Develops `core` into `output` (row stride `outputStride` UInt16s). `input` holds the
    /// samples of `inputRect` (frame coordinates), which must contain core ± halo.
    func run(input: UnsafePointer<UInt16>, inputRect: PixelRect, core: PixelRect, output: UnsafeMutablePointer<UInt16>, outputStride: Int) {
        let h = Kernel.halo
        let nw = core.width + 2 * h, nh = core.height + 2 * h
        let norm = UnsafeMutablePointer<Float>.allocate(capacity: nw * nh)
        defer { norm.deallocate() }

        // 1. Normalise core ± halo: (raw − black[cell]) · wb[colour] / (white − black[cell]).
        let fx0 = core.x - h, fy0 = core.y - h
        for r in 0..<nh {
            let fy = fy0 + r
            let src = input + (fy - inputRect.y) * inputRect.width + (fx0 - inputRect.x)
            let dst = norm + r * nw
            let rowCell = (fy & 1) << 1
            let b0 = black[rowCell | (fx0 & 1)], k0 = scale[rowCell | (fx0 & 1)]
            let b1 = black[rowCell | ((fx0 + 1) & 1)], k1 = scale[rowCell | ((fx0 + 1) & 1)]
            var c = 0
            while c + 1 < nw {
                dst[c] = (Float(src[c]) - b0) * k0
                dst[c + 1] = (Float(src[c + 1]) - b1) * k1
                c += 2
            }
            if c < nw { dst[c] = (Float(src[c]) - b0) * k0 }
        }

        // 2. Demosaic + colour + output, one pixel at a time from its 5×5 neighbourhood.
        let m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5], m6 = m[6], m7 = m[7], m8 = m[8]
        let gain = self.gain
        let srgb = transfer == .srgb
        // One row of clipped, exposed output-linear RGB, encoded in a second tight loop.
        let rowCount = core.width * 3
        let row = UnsafeMutablePointer<Float>.allocate(capacity: rowCount)
        defer { row.deallocate() }
        Kernel.srgbTable.withUnsafeBufferPointer { lutBuffer in
            let lut = lutBuffer.baseAddress!
            let lutScale = Float(Kernel.lutSegments)
            let lutLast = Kernel.lutSegments - 1
            for oy in 0..<core.height {
                let y = core.y + oy
                let p0 = norm + (oy + h) * nw + h
                let m1r = p0 - nw, m2r = p0 - 2 * nw, p1r = p0 + nw, p2r = p0 + 2 * nw
                // A Bayer row alternates one chroma colour (red or blue) with green.
                let chromaIsRed = cfa.color(x: 0, y: y) == .red || cfa.color(x: 1, y: y) == .red
                let chromaParity = cfa.color(x: 0, y: y) == .green ? 1 : 0

                @inline(__always) func store(_ ox: Int, _ r: Float, _ g: Float, _ b: Float) {
                    // Camera → output, clip, exposure, clip.
                    row[ox * 3] = min(min(max(m0 * r + m1 * g + m2 * b, 0), 1) * gain, 1)
                    row[ox * 3 + 1] = min(min(max(m3 * r + m4 * g + m5 * b, 0), 1) * gain, 1)
                    row[ox * 3 + 2] = min(min(max(m6 * r + m7 * g + m8 * b, 0), 1) * gain, 1)
                }
                /// MHC at a red or blue sample: green from the cross, the other chroma from the diagonals.
                @inline(__always) func chroma(_ ox: Int) {
                    let cc = p0[ox]
                    let far = (m2r[ox] + p2r[ox]) + (p0[ox - 2] + p0[ox + 2])
                    let cross = (m1r[ox] + p1r[ox]) + (p0[ox - 1] + p0[ox + 1])
                    let diag = (m1r[ox - 1] + m1r[ox + 1]) + (p1r[ox - 1] + p1r[ox + 1])
                    let green = (4 * cc + 2 * cross - far) * 0.125
                    let other = (6 * cc + 2 * diag - 1.5 * far) * 0.125
                    if chromaIsRed { store(ox, cc, green, other) } else { store(ox, other, green, cc) }
                }
                /// MHC at a green sample: the row's chroma from the horizontal neighbours, the
                /// other chroma from the vertical ones.
                @inline(__always) func green(_ ox: Int) {
                    let cc = p0[ox]
                    let n1s1 = m1r[ox] + p1r[ox], w1e1 = p0[ox - 1] + p0[ox + 1]
                    let n2s2 = m2r[ox] + p2r[ox], w2e2 = p0[ox - 2] + p0[ox + 2]
                    let diag = (m1r[ox - 1] + m1r[ox + 1]) + (p1r[ox - 1] + p1r[ox + 1])
                    let horizontal = (5 * cc + 4 * w1e1 - diag - w2e2 + 0.5 * n2s2) * 0.125
                    let vertical = (5 * cc + 4 * n1s1 - diag - n2s2 + 0.5 * w2e2) * 0.125
                    if chromaIsRed { store(ox, horizontal, cc, vertical) } else { store(ox, vertical, cc, horizontal) }
                }

                var ox = 0
                if (core.x + ox) & 1 != chromaParity {
                    green(ox)
                    ox += 1
                }
                while ox + 1 < core.width {
                    chroma(ox)
                    green(ox + 1)
                    ox += 2
                }
                if ox < core.width { chroma(ox) }

                // Transfer curve and 16-bit rounding; values are in [0, 1].
                let out = output + oy * outputStride
                if srgb {
                    for i in 0..<rowCount {
                        let t = row[i] * lutScale
                        let k = min(Int(t), lutLast)
                        let f = t - Float(k)
                        let a = lut[k], b = lut[k + 1]
                        out[i] = UInt16(a + f * (b - a) + 0.5)
                    }
                } else {
                    for i in 0..<rowCount { out[i] = UInt16(row[i] * 65535 + 0.5) }
                }
            }
        }
    }

    /// Segments of the sRGB lookup table (linear interpolation; < 0.1 code error at 16 bits).
    static let lutSegments = 16384

    /// sRGB transfer curve sampled at i / lutSegments, scaled to 0…65535 (lutSegments + 1 entries).
    static let srgbTable: [Float] = (0...lutSegments).map { i in
        Float(srgbEncode(Double(i) / Double(lutSegments)) * 65535)
    }

    /// IEC 61966-2-1 encoding of a linear value in [0, 1].
    static func srgbEncode(_ v: Double) -> Double {
        v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
    }
}
