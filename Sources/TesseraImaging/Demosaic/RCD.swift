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

    static func run(_ mosaic: MosaicView, output: PixelRect, into out: UnsafeMutablePointer<Float>) {
        let h = halo
        let win = output.expanded(by: h)
        let w = win.width, rows = win.height, count = w * rows
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count * 9)
        defer { buffer.deallocate() }
        let c = buffer, lpf = buffer + count, vh = buffer + 2 * count
        let gv = buffer + 3 * count, gh = buffer + 4 * count
        let g = buffer + 5 * count, r = buffer + 6 * count, b = buffer + 7 * count, tmp = buffer + 8 * count
        buffer.initialize(repeating: 0, count: count * 9)

        // The window's samples, contiguous.
        for j in 0..<rows {
            (c + j * w).update(from: mosaic.samples + (win.y + j - mosaic.rect.y) * mosaic.rect.width + (win.x - mosaic.rect.x), count: w)
        }
        // Colour index (0 R, 1 G, 2 B) by window parity.
        let colors = (0..<4).map { Int(mosaic.cfa.color(x: win.x + ($0 & 1), y: win.y + ($0 >> 1)).rawValue) }
        @inline(__always) func color(_ i: Int, _ j: Int) -> Int { colors[(j & 1) << 1 | (i & 1)] }

        // 1. Directional gradients (margin 2), then VH (margin 3).
        for j in 2..<(rows - 2) {
            for i in 2..<(w - 2) {
                let p = j * w + i
                let two = 2 * c[p]
                gv[p] = abs(c[p - w] - c[p + w]) + abs(two - c[p - 2 * w] - c[p + 2 * w])
                gh[p] = abs(c[p - 1] - c[p + 1]) + abs(two - c[p - 2] - c[p + 2])
            }
        }
        for j in 3..<(rows - 3) {
            for i in 3..<(w - 3) {
                let p = j * w + i
                let v = epsSquared + (gv[p - w] * gv[p - w] + gv[p] * gv[p]) + gv[p + w] * gv[p + w]
                let hz = epsSquared + (gh[p - 1] * gh[p - 1] + gh[p] * gh[p]) + gh[p + 1] * gh[p + 1]
                vh[p] = v / (v + hz)
            }
        }
        /// The more decided of the pixel's own direction and its diagonal neighbours' mean (margin 4).
        @inline(__always) func direction(_ p: Int) -> Float {
            let central = vh[p]
            let neighbours = ((vh[p - w - 1] + vh[p - w + 1]) + (vh[p + w - 1] + vh[p + w + 1])) * 0.25
            return abs(0.5 - central) < abs(0.5 - neighbours) ? neighbours : central
        }

        // 2. Low-pass (margin 1), clamped at 0 for the ratios.
        for j in 1..<(rows - 1) {
            for i in 1..<(w - 1) {
                let p = j * w + i
                let cross = (c[p - w] + c[p + w]) + (c[p - 1] + c[p + 1])
                let diag = (c[p - w - 1] + c[p - w + 1]) + (c[p + w - 1] + c[p + w + 1])
                lpf[p] = max(0, 0.25 * c[p] + 0.125 * cross + 0.0625 * diag)
            }
        }

        // 3. Green: measured at green sites, ratio-corrected directional estimate elsewhere (margin 4).
        for j in 4..<(rows - 4) {
            for i in 4..<(w - 4) {
                let p = j * w + i
                if color(i, j) == 1 {
                    g[p] = c[p]
                    continue
                }
                let w2 = 2 * w, w3 = 3 * w, w4 = 4 * w
                let nGrad = eps + abs(c[p - w] - c[p + w]) + abs(c[p] - c[p - w2]) + abs(c[p - w] - c[p - w3]) + abs(c[p - w2] - c[p - w4])
                let sGrad = eps + abs(c[p + w] - c[p - w]) + abs(c[p] - c[p + w2]) + abs(c[p + w] - c[p + w3]) + abs(c[p + w2] - c[p + w4])
                let wGrad = eps + abs(c[p - 1] - c[p + 1]) + abs(c[p] - c[p - 2]) + abs(c[p - 1] - c[p - 3]) + abs(c[p - 2] - c[p - 4])
                let eGrad = eps + abs(c[p + 1] - c[p - 1]) + abs(c[p] - c[p + 2]) + abs(c[p + 1] - c[p + 3]) + abs(c[p + 2] - c[p + 4])
                let l0 = lpf[p]
                let nEst = c[p - w] * (1 + (l0 - lpf[p - w2]) / (eps + l0 + lpf[p - w2]))
                let sEst = c[p + w] * (1 + (l0 - lpf[p + w2]) / (eps + l0 + lpf[p + w2]))
                let wEst = c[p - 1] * (1 + (l0 - lpf[p - 2]) / (eps + l0 + lpf[p - 2]))
                let eEst = c[p + 1] * (1 + (l0 - lpf[p + 2]) / (eps + l0 + lpf[p + 2]))
                let vEst = (sGrad * nEst + nGrad * sEst) / (nGrad + sGrad)
                let hEst = (eGrad * wEst + wGrad * eEst) / (eGrad + wGrad)
                let d = direction(p)
                g[p] = vEst * (1 - d) + hEst * d
            }
        }

        // 4. The missing chroma at chroma sites from the diagonal colour differences (margin 5).
        for j in 5..<(rows - 5) {
            for i in 5..<(w - 5) {
                let col = color(i, j)
                if col == 1 { continue }
                let p = j * w + i
                let nw = p - w - 1, ne = p - w + 1, sw = p + w - 1, se = p + w + 1
                let gNW = eps + abs(c[nw] - c[se]) + abs(c[p] - c[p - 2 * w - 2]) + abs(c[nw] - c[p - 3 * w - 3])
                let gNE = eps + abs(c[ne] - c[sw]) + abs(c[p] - c[p - 2 * w + 2]) + abs(c[ne] - c[p - 3 * w + 3])
                let gSW = eps + abs(c[sw] - c[ne]) + abs(c[p] - c[p + 2 * w - 2]) + abs(c[sw] - c[p + 3 * w - 3])
                let gSE = eps + abs(c[se] - c[nw]) + abs(c[p] - c[p + 2 * w + 2]) + abs(c[se] - c[p + 3 * w + 3])
                let wNW = 1 / gNW, wNE = 1 / gNE, wSW = 1 / gSW, wSE = 1 / gSE
                let diff = ((wNW * (c[nw] - g[nw]) + wNE * (c[ne] - g[ne])) + (wSW * (c[sw] - g[sw]) + wSE * (c[se] - g[se])))
                    / ((wNW + wNE) + (wSW + wSE))
                if col == 0 {
                    r[p] = c[p]
                    b[p] = g[p] + diff
                } else {
                    b[p] = c[p]
                    r[p] = g[p] + diff
                }
            }
        }

        // 5. Red and blue at green sites from the vertical and horizontal neighbours (margin 6).
        for j in 6..<(rows - 6) {
            for i in 6..<(w - 6) {
                if color(i, j) != 1 { continue }
                let p = j * w + i
                let w2 = 2 * w, w3 = 3 * w
                let nGrad = eps + abs(c[p - w] - c[p + w]) + abs(c[p] - c[p - w2]) + abs(c[p - w] - c[p - w3])
                let sGrad = eps + abs(c[p + w] - c[p - w]) + abs(c[p] - c[p + w2]) + abs(c[p + w] - c[p + w3])
                let wGrad = eps + abs(c[p - 1] - c[p + 1]) + abs(c[p] - c[p - 2]) + abs(c[p - 1] - c[p - 3])
                let eGrad = eps + abs(c[p + 1] - c[p - 1]) + abs(c[p] - c[p + 2]) + abs(c[p + 1] - c[p + 3])
                let d = direction(p)
                let gn = g[p - w], gs = g[p + w], gw = g[p - 1], ge = g[p + 1]
                let rV = (sGrad * (r[p - w] - gn) + nGrad * (r[p + w] - gs)) / (nGrad + sGrad)
                let rH = (eGrad * (r[p - 1] - gw) + wGrad * (r[p + 1] - ge)) / (eGrad + wGrad)
                let bV = (sGrad * (b[p - w] - gn) + nGrad * (b[p + w] - gs)) / (nGrad + sGrad)
                let bH = (eGrad * (b[p - 1] - gw) + wGrad * (b[p + 1] - ge)) / (eGrad + wGrad)
                r[p] = g[p] + (rV * (1 - d) + rH * d)
                b[p] = g[p] + (bV * (1 - d) + bH * d)
            }
        }

        // 6. False-colour suppression: median of R−G and B−G over 3×3, interpolated values only.
        for pass in 0..<medianPasses {
            let margin = 7 + pass
            for plane in 0..<2 {
                let x = plane == 0 ? r : b
                let measured = plane == 0 ? 0 : 2
                for j in margin..<(rows - margin) {
                    for i in margin..<(w - margin) {
                        let p = j * w + i
                        if color(i, j) == measured {
                            tmp[p] = x[p]
                            continue
                        }
                        var d0 = x[p - w - 1] - g[p - w - 1], d1 = x[p - w] - g[p - w], d2 = x[p - w + 1] - g[p - w + 1]
                        var d3 = x[p - 1] - g[p - 1], d4 = x[p] - g[p], d5 = x[p + 1] - g[p + 1]
                        var d6 = x[p + w - 1] - g[p + w - 1], d7 = x[p + w] - g[p + w], d8 = x[p + w + 1] - g[p + w + 1]
                        tmp[p] = g[p] + median9(&d0, &d1, &d2, &d3, &d4, &d5, &d6, &d7, &d8)
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
            for ox in 0..<output.width {
                o[ox * 3] = r[row + ox]
                o[ox * 3 + 1] = g[row + ox]
                o[ox * 3 + 2] = b[row + ox]
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
            let lo = min(a, b), hi = max(a, b)
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
