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

    /// Pixel kinds for MHC: which colour the sample is and which colour its horizontal neighbours are.
    enum Kind { case red, blue, greenRedRow, greenBlueRow }

    func kind(x: Int, y: Int) -> Kind {
        switch cfa.color(x: x, y: y) {
        case .red: .red
        case .blue: .blue
        case .green: cfa.color(x: x + 1, y: y) == .red ? .greenRedRow : .greenBlueRow
        }
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
        Kernel.srgbTable.withUnsafeBufferPointer { lutBuffer in
            let lut = lutBuffer.baseAddress!
            let lutScale = Float(Kernel.lutSegments)
            let lutLast = Kernel.lutSegments - 1
            @inline(__always) func encode(_ v: Float) -> UInt16 {
                // v is already in [0, 1].
                if srgb {
                    let t = v * lutScale
                    let i = min(Int(t), lutLast)
                    let f = t - Float(i)
                    let a = lut[i], b = lut[i + 1]
                    return UInt16(a + f * (b - a) + 0.5)
                }
                return UInt16(v * 65535 + 0.5)
            }
            for oy in 0..<core.height {
                let y = core.y + oy
                let p0 = norm + (oy + h) * nw + h
                let m1r = p0 - nw, m2r = p0 - 2 * nw, p1r = p0 + nw, p2r = p0 + 2 * nw
                let kinds = (kind(x: core.x, y: y), kind(x: core.x + 1, y: y))
                let out = output + oy * outputStride
                for ox in 0..<core.width {
                    let cc = p0[ox]
                    let n1 = m1r[ox], s1 = p1r[ox], w1 = p0[ox - 1], e1 = p0[ox + 1]
                    let n2 = m2r[ox], s2 = p2r[ox], w2 = p0[ox - 2], e2 = p0[ox + 2]
                    let diag = (m1r[ox - 1] + m1r[ox + 1]) + (p1r[ox - 1] + p1r[ox + 1])
                    var r: Float, g: Float, b: Float
                    switch (ox & 1) == 0 ? kinds.0 : kinds.1 {
                    case .red, .blue:
                        let far = (n2 + s2) + (w2 + e2)
                        let green = (4 * cc + 2 * ((n1 + s1) + (w1 + e1)) - far) * 0.125
                        let other = (6 * cc + 2 * diag - 1.5 * far) * 0.125
                        g = green
                        if (ox & 1) == 0 ? kinds.0 == .red : kinds.1 == .red {
                            r = cc
                            b = other
                        } else {
                            r = other
                            b = cc
                        }
                    case .greenRedRow, .greenBlueRow:
                        let horizontal = (5 * cc + 4 * (w1 + e1) - diag - (w2 + e2) + 0.5 * (n2 + s2)) * 0.125
                        let vertical = (5 * cc + 4 * (n1 + s1) - diag - (n2 + s2) + 0.5 * (w2 + e2)) * 0.125
                        g = cc
                        if (ox & 1) == 0 ? kinds.0 == .greenRedRow : kinds.1 == .greenRedRow {
                            r = horizontal
                            b = vertical
                        } else {
                            r = vertical
                            b = horizontal
                        }
                    }
                    // Camera → output, clip, exposure, clip.
                    var ro = m0 * r + m1 * g + m2 * b
                    var go = m3 * r + m4 * g + m5 * b
                    var bo = m6 * r + m7 * g + m8 * b
                    ro = min(min(max(ro, 0), 1) * gain, 1)
                    go = min(min(max(go, 0), 1) * gain, 1)
                    bo = min(min(max(bo, 0), 1) * gain, 1)
                    out[ox * 3] = encode(ro)
                    out[ox * 3 + 1] = encode(go)
                    out[ox * 3 + 2] = encode(bo)
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
