import TesseraCore

/// The quality demosaic: ratio-corrected, edge-directed interpolation after L. Sanz Rodríguez,
/// "RCD: Ratio Corrected Demosaicing" (2017), written from the algorithm's description, then
/// false-colour suppression by median filtering the colour differences R−G and B−G
/// (W. T. Freeman, "Median filter for reconstructing missing color samples", US 4 724 395, 1988;
/// see also Gunturk et al., IEEE Signal Processing Magazine 22(1), 2005, §"post-processing").
///
/// Steps, all on the white-balanced mosaic `c`:
/// 1. Direction: `VH = V/(V+H)` where `V` (`H`) sums, over three positions along the column
///    (row), the squared Hamilton–Adams gradient `|c₋₁ − c₊₁| + |2c₀ − c₋₂ − c₊₂|` (reach 3).
/// 2. A 3×3 binomial low-pass `L` of the mosaic (a luminance-like signal; reach 1).
/// 3. Green at red/blue: four one-sided estimates, each the adjacent green scaled by the ratio
///    of low-passes, `G_N = c₋w · 2L₀ / (L₀ + L₋₂w)`; opposite pairs are blended with inverse
///    one-sided gradients (reach 4); the vertical and horizontal results are mixed by `VH`,
///    taking the pixel's own `VH` or its diagonal neighbours' mean, whichever is more decided.
/// 4. Blue at red (red at blue): G plus the inverse-gradient weighted mean of the four diagonal
///    colour differences `c − G` (reach 5).
/// 5. Red and blue at green: G plus the colour differences of the vertical and horizontal
///    neighbours, each pair blended by inverse gradients, mixed by `VH` as in 3 (reach 6).
/// 6. ``medianPasses`` passes of a 3×3 median on R−G and B−G, replacing only interpolated
///    values (measured samples and green stay; reach 1 each).
///
/// Reaches add up to 6 + ``medianPasses`` = 8 = ``halo``. Every step is a fixed-order Float
/// computation over the pixel's neighbourhood, so the result is tiling-independent.
public enum RCDDemosaic {
    /// Passes of the colour-difference median (each widens the reach by 1).
    public static let medianPasses = 2
    /// Mosaic pixels needed around an output pixel (6 + ``medianPasses``, rounded up to even).
    public static let halo = (6 + medianPasses + 1) / 2 * 2

    static let eps: Float = 1e-5
    static let epsSquared: Float = 1e-10

    /// Demosaics `output` from `mosaic` into `out` (`output.area × 3` floats, interleaved RGB).
    ///
    /// Implementation: every pass is a row loop over raw pointers that computes the site's
    /// formula at every pixel and keeps it by CFA parity with a select (no per-pixel colour
    /// lookups or branches), so the optimiser vectorises it. Each kept value is the same
    /// fixed-order Float expression as the per-site definition above, so the bits do not depend
    /// on this layout (the test suite checks it against the scalar reference, bit for bit).
    static func run(_ mosaic: MosaicView, output: PixelRect, into out: UnsafeMutablePointer<Float>) {
        let h = halo
        let win = output.expanded(by: h)
        let w = win.width, rows = win.height, count = w * rows
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count * 9 + 2 * w)
        defer { buffer.deallocate() }
        let c = buffer, lpf = buffer + count, vh = buffer + 2 * count
        let gv = buffer + 3 * count, gh = buffer + 4 * count
        let g = buffer + 5 * count, r = buffer + 6 * count, b = buffer + 7 * count, tmp = buffer + 8 * count
        let rowR = buffer + 9 * count, rowB = rowR + w
        // No zero fill: every pass writes its whole margin before a later pass reads it (rows and
        // columns at the margins each pass names), and only margin `halo` reaches the output.
        let eps = Self.eps, epsSquared = Self.epsSquared

        // The window's samples, contiguous.
        for j in 0..<rows {
            (c + j * w).update(from: mosaic.samples + (win.y + j - mosaic.rect.y) * mosaic.rect.width + (win.x - mosaic.rect.x), count: w)
        }
        // Colour index (0 R, 1 G, 2 B) by window parity: (row parity, column parity).
        let c00 = Int(mosaic.cfa.color(x: win.x, y: win.y).rawValue)
        let c01 = Int(mosaic.cfa.color(x: win.x + 1, y: win.y).rawValue)
        let c10 = Int(mosaic.cfa.color(x: win.x, y: win.y + 1).rawValue)
        let c11 = Int(mosaic.cfa.color(x: win.x + 1, y: win.y + 1).rawValue)
        /// Parity of the green columns in window row `j`, and the colour of its other sites.
        @inline(__always) func rowLayout(_ j: Int) -> (greenParity: Int, chroma: Int) {
            let (even, odd) = j & 1 == 0 ? (c00, c01) : (c10, c11)
            return even == 1 ? (0, odd) : (1, even)
        }

        // 1. Directional gradients (margin 2), then VH (margin 3).
        for j in 2..<(rows - 2) {
            let q = c + j * w, qv = gv + j * w, qh = gh + j * w
            for i in 2..<(w - 2) {
                qv[i] = abs(q[i &- w] - q[i &+ w]) + abs(2 * q[i] - q[i &- 2 &* w] - q[i &+ 2 &* w])
            }
            for i in 2..<(w - 2) {
                qh[i] = abs(q[i &- 1] - q[i &+ 1]) + abs(2 * q[i] - q[i &- 2] - q[i &+ 2])
            }
        }
        for j in 3..<(rows - 3) {
            let qv = gv + j * w, qh = gh + j * w, d = vh + j * w
            for i in 3..<(w - 3) {
                let v = epsSquared + (qv[i &- w] * qv[i &- w] + qv[i] * qv[i]) + qv[i &+ w] * qv[i &+ w]
                let hz = epsSquared + (qh[i &- 1] * qh[i &- 1] + qh[i] * qh[i]) + qh[i &+ 1] * qh[i &+ 1]
                d[i] = v / (v + hz)
            }
        }

        // 2. Low-pass (margin 1), clamped at 0 for the ratios.
        for j in 1..<(rows - 1) {
            let q = c + j * w, l = lpf + j * w
            for i in 1..<(w - 1) {
                let cross = (q[i &- w] + q[i &+ w]) + (q[i &- 1] + q[i &+ 1])
                let diag = (q[i &- w &- 1] + q[i &- w &+ 1]) + (q[i &+ w &- 1] + q[i &+ w &+ 1])
                l[i] = max(0, 0.25 * q[i] + 0.125 * cross + 0.0625 * diag)
            }
        }

        // 3. Green: measured at green sites, ratio-corrected directional estimate elsewhere (margin 4).
        for j in 4..<(rows - 4) {
            let gp = rowLayout(j).greenParity
            let q = c + j * w, l = lpf + j * w, d = vh + j * w, go = g + j * w
            let w2 = 2 &* w, w3 = 3 &* w, w4 = 4 &* w
            for i in 4..<(w - 4) {
                let nGrad = eps + abs(q[i &- w] - q[i &+ w]) + abs(q[i] - q[i &- w2]) + abs(q[i &- w] - q[i &- w3]) + abs(q[i &- w2] - q[i &- w4])
                let sGrad = eps + abs(q[i &+ w] - q[i &- w]) + abs(q[i] - q[i &+ w2]) + abs(q[i &+ w] - q[i &+ w3]) + abs(q[i &+ w2] - q[i &+ w4])
                let wGrad = eps + abs(q[i &- 1] - q[i &+ 1]) + abs(q[i] - q[i &- 2]) + abs(q[i &- 1] - q[i &- 3]) + abs(q[i &- 2] - q[i &- 4])
                let eGrad = eps + abs(q[i &+ 1] - q[i &- 1]) + abs(q[i] - q[i &+ 2]) + abs(q[i &+ 1] - q[i &+ 3]) + abs(q[i &+ 2] - q[i &+ 4])
                let l0 = l[i]
                let nEst = q[i &- w] * (1 + (l0 - l[i &- w2]) / (eps + l0 + l[i &- w2]))
                let sEst = q[i &+ w] * (1 + (l0 - l[i &+ w2]) / (eps + l0 + l[i &+ w2]))
                let wEst = q[i &- 1] * (1 + (l0 - l[i &- 2]) / (eps + l0 + l[i &- 2]))
                let eEst = q[i &+ 1] * (1 + (l0 - l[i &+ 2]) / (eps + l0 + l[i &+ 2]))
                let vEst = (sGrad * nEst + nGrad * sEst) / (nGrad + sGrad)
                let hEst = (eGrad * wEst + wGrad * eEst) / (eGrad + wGrad)
                let central = d[i]
                let neighbours = ((d[i &- w &- 1] + d[i &- w &+ 1]) + (d[i &+ w &- 1] + d[i &+ w &+ 1])) * 0.25
                let dir = abs(0.5 - central) < abs(0.5 - neighbours) ? neighbours : central
                let estimate = vEst * (1 - dir) + hEst * dir
                go[i] = (i & 1) == gp ? q[i] : estimate
            }
        }

        // 4. The missing chroma at chroma sites from the diagonal colour differences (margin 5).
        //    Green sites get 0 (never read: step 5 overwrites them before any use).
        for j in 5..<(rows - 5) {
            let (gp, chroma) = rowLayout(j)
            let q = c + j * w, gq = g + j * w
            let measuredOut = chroma == 0 ? r + j * w : b + j * w
            let interpolatedOut = chroma == 0 ? b + j * w : r + j * w
            for i in 5..<(w - 5) {
                let nw = i &- w &- 1, ne = i &- w &+ 1, sw = i &+ w &- 1, se = i &+ w &+ 1
                let gNW = eps + abs(q[nw] - q[se]) + abs(q[i] - q[i &- 2 &* w &- 2]) + abs(q[nw] - q[i &- 3 &* w &- 3])
                let gNE = eps + abs(q[ne] - q[sw]) + abs(q[i] - q[i &- 2 &* w &+ 2]) + abs(q[ne] - q[i &- 3 &* w &+ 3])
                let gSW = eps + abs(q[sw] - q[ne]) + abs(q[i] - q[i &+ 2 &* w &- 2]) + abs(q[sw] - q[i &+ 3 &* w &- 3])
                let gSE = eps + abs(q[se] - q[nw]) + abs(q[i] - q[i &+ 2 &* w &+ 2]) + abs(q[se] - q[i &+ 3 &* w &+ 3])
                let wNW = 1 / gNW, wNE = 1 / gNE, wSW = 1 / gSW, wSE = 1 / gSE
                let diff = ((wNW * (q[nw] - gq[nw]) + wNE * (q[ne] - gq[ne])) + (wSW * (q[sw] - gq[sw]) + wSE * (q[se] - gq[se])))
                    / ((wNW + wNE) + (wSW + wSE))
                interpolatedOut[i] = (i & 1) == gp ? 0 : gq[i] + diff
            }
            for i in 5..<(w - 5) {
                measuredOut[i] = (i & 1) == gp ? 0 : q[i]
            }
        }

        // 5. Red and blue at green sites from the vertical and horizontal neighbours (margin 6).
        //    Computed into row buffers (the row's own chroma sites are read as neighbours).
        for j in 6..<(rows - 6) {
            let gp = rowLayout(j).greenParity
            let q = c + j * w, gq = g + j * w, d = vh + j * w
            let w2 = 2 &* w, w3 = 3 &* w
            for (xq, row) in [(r + j * w, rowR), (b + j * w, rowB)] {
                for i in 6..<(w - 6) {
                    let nGrad = eps + abs(q[i &- w] - q[i &+ w]) + abs(q[i] - q[i &- w2]) + abs(q[i &- w] - q[i &- w3])
                    let sGrad = eps + abs(q[i &+ w] - q[i &- w]) + abs(q[i] - q[i &+ w2]) + abs(q[i &+ w] - q[i &+ w3])
                    let wGrad = eps + abs(q[i &- 1] - q[i &+ 1]) + abs(q[i] - q[i &- 2]) + abs(q[i &- 1] - q[i &- 3])
                    let eGrad = eps + abs(q[i &+ 1] - q[i &- 1]) + abs(q[i] - q[i &+ 2]) + abs(q[i &+ 1] - q[i &+ 3])
                    let central = d[i]
                    let neighbours = ((d[i &- w &- 1] + d[i &- w &+ 1]) + (d[i &+ w &- 1] + d[i &+ w &+ 1])) * 0.25
                    let dir = abs(0.5 - central) < abs(0.5 - neighbours) ? neighbours : central
                    let gn = gq[i &- w], gs = gq[i &+ w], gw = gq[i &- 1], ge = gq[i &+ 1]
                    let vDiff = (sGrad * (xq[i &- w] - gn) + nGrad * (xq[i &+ w] - gs)) / (nGrad + sGrad)
                    let hDiff = (eGrad * (xq[i &- 1] - gw) + wGrad * (xq[i &+ 1] - ge)) / (eGrad + wGrad)
                    row[i] = (i & 1) == gp ? gq[i] + (vDiff * (1 - dir) + hDiff * dir) : xq[i]
                }
                (xq + 6).update(from: row + 6, count: w - 12)
            }
        }

        // 6. False-colour suppression: median of R−G and B−G over 3×3, interpolated values only.
        for pass in 0..<medianPasses {
            let margin = 7 + pass
            for plane in 0..<2 {
                let x = plane == 0 ? r : b
                let measured = plane == 0 ? 0 : 2
                for j in margin..<(rows - margin) {
                    let (gp, chroma) = rowLayout(j)
                    // Parity of this row's measured sites of the plane's colour (2: none).
                    let mp = chroma == measured ? 1 - gp : 2
                    let xq = x + j * w, gq = g + j * w, t = tmp + j * w
                    for i in margin..<(w - margin) {
                        var d0 = xq[i &- w &- 1] - gq[i &- w &- 1], d1 = xq[i &- w] - gq[i &- w], d2 = xq[i &- w &+ 1] - gq[i &- w &+ 1]
                        var d3 = xq[i &- 1] - gq[i &- 1], d4 = xq[i] - gq[i], d5 = xq[i &+ 1] - gq[i &+ 1]
                        var d6 = xq[i &+ w &- 1] - gq[i &+ w &- 1], d7 = xq[i &+ w] - gq[i &+ w], d8 = xq[i &+ w &+ 1] - gq[i &+ w &+ 1]
                        let m = median9(&d0, &d1, &d2, &d3, &d4, &d5, &d6, &d7, &d8)
                        t[i] = (i & 1) == mp ? xq[i] : gq[i] + m
                    }
                }
                for j in margin..<(rows - margin) {
                    (x + j * w + margin).update(from: tmp + j * w + margin, count: w - 2 * margin)
                }
            }
        }

        // The output pixels (margin = halo).
        for oy in 0..<output.height {
            let row = (oy + h) * w + h
            let o = out + oy * output.width * 3
            let rq = r + row, gq = g + row, bq = b + row
            for ox in 0..<output.width {
                o[ox &* 3] = rq[ox]
                o[ox &* 3 &+ 1] = gq[ox]
                o[ox &* 3 &+ 2] = bq[ox]
            }
        }
    }

    /// Median of nine values with Paeth's 19-exchange sorting network (Graphics Gems, 1990).
    @inline(__always)
    static func median9(
        _ p0: inout Float, _ p1: inout Float, _ p2: inout Float, _ p3: inout Float, _ p4: inout Float,
        _ p5: inout Float, _ p6: inout Float, _ p7: inout Float, _ p8: inout Float
    ) -> Float {
        @inline(__always) func sort(_ a: inout Float, _ b: inout Float) {
            // `min` as Swift defines it (`b < a ? b : a`) and `max` as `a > b ? a : b` (the same
            // value for every non-NaN pair, ±0 included; compiles to minps/maxps).
            let lo = min(a, b), hi = a > b ? a : b
            a = lo
            b = hi
        }
        sort(&p1, &p2); sort(&p4, &p5); sort(&p7, &p8)
        sort(&p0, &p1); sort(&p3, &p4); sort(&p6, &p7)
        sort(&p1, &p2); sort(&p4, &p5); sort(&p7, &p8)
        sort(&p0, &p3); sort(&p5, &p8); sort(&p4, &p7)
        sort(&p3, &p6); sort(&p1, &p4); sort(&p2, &p5)
        sort(&p4, &p7); sort(&p4, &p2); sort(&p6, &p4)
        sort(&p4, &p2)
        return p4
    }
}
