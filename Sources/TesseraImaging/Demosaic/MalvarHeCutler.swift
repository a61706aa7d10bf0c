import TesseraCore

/// Malvar, He & Cutler, "High-quality linear interpolation for demosaicing of Bayer-patterned
/// color images", ICASSP 2004: bilinear interpolation corrected by the Laplacian of the
/// sample's own colour, 5×5 kernels (halo 2). The fast path.
///
/// The arithmetic (operand order included) is exactly that of the former fused kernel, so MHC
/// outputs did not change when the develop pipeline was split into stages.
enum MHCDemosaic {
    static func run(_ mosaic: MosaicView, output: PixelRect, into out: UnsafeMutablePointer<Float>) {
        let nw = mosaic.rect.width
        let cfa = mosaic.cfa
        for oy in 0..<output.height {
            let y = output.y + oy
            let p0 = mosaic.samples + (y - mosaic.rect.y) * nw + (output.x - mosaic.rect.x)
            let m1r = p0 - nw, m2r = p0 - 2 * nw, p1r = p0 + nw, p2r = p0 + 2 * nw
            let row = out + oy * output.width * 3
            // A Bayer row alternates one chroma colour (red or blue) with green.
            let chromaIsRed = cfa.color(x: 0, y: y) == .red || cfa.color(x: 1, y: y) == .red
            let chromaParity = cfa.color(x: 0, y: y) == .green ? 1 : 0

            @inline(__always) func store(_ ox: Int, _ r: Float, _ g: Float, _ b: Float) {
                row[ox * 3] = r
                row[ox * 3 + 1] = g
                row[ox * 3 + 2] = b
            }
            /// At a red or blue sample: green from the cross, the other chroma from the diagonals.
            @inline(__always) func chroma(_ ox: Int) {
                let cc = p0[ox]
                let far = (m2r[ox] + p2r[ox]) + (p0[ox - 2] + p0[ox + 2])
                let cross = (m1r[ox] + p1r[ox]) + (p0[ox - 1] + p0[ox + 1])
                let diag = (m1r[ox - 1] + m1r[ox + 1]) + (p1r[ox - 1] + p1r[ox + 1])
                let green = (4 * cc + 2 * cross - far) * 0.125
                let other = (6 * cc + 2 * diag - 1.5 * far) * 0.125
                if chromaIsRed { store(ox, cc, green, other) } else { store(ox, other, green, cc) }
            }
            /// At a green sample: the row's chroma from the horizontal neighbours, the other
            /// chroma from the vertical ones.
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
            if (output.x + ox) & 1 != chromaParity {
                green(ox)
                ox += 1
            }
            while ox + 1 < output.width {
                chroma(ox)
                green(ox + 1)
                ox += 2
            }
            if ox < output.width { chroma(ox) }
        }
    }
}
