import Testing
import TesseraCore
import TesseraImaging

/// The scalar RCD as it was before the vectorised rewrite (commit 532884f), kept verbatim as the
/// oracle: the production ``RCDDemosaic`` must reproduce its output bit for bit.
enum RCDReference {
    static let halo = RCDDemosaic.halo
    static let medianPasses = RCDDemosaic.medianPasses
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

/// Bit-exact equality of the fast RCD with the scalar reference on random mosaics.
@Suite struct RCDExactTests {
    /// A random mosaic `rect` (values mostly in 0...1, some negative and above 1, some flat runs).
    static func randomMosaic(_ rect: PixelRect, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<rect.area).map { _ in
            let u = rng.nextUnit()
            if u < 0.05 { return 0 }
            if u < 0.08 { return Float(-rng.nextUnit() * 0.01) }
            return Float(rng.nextUnit() * 1.2)
        }
    }

    static func reference(_ view: MosaicView, output: PixelRect) -> [Float] {
        var out = [Float](repeating: 0, count: output.area * 3)
        out.withUnsafeMutableBufferPointer { RCDReference.run(view, output: output, into: $0.baseAddress!) }
        return out
    }

    @Test(arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func fastEqualsReferenceBitForBit(cfa: CFAPattern) {
        let h = RCDDemosaic.halo
        // Odd sizes and odd origins: every parity of window and output.
        let cases: [(PixelRect, PixelRect)] = [
            (PixelRect(x: 0, y: 0, width: 41, height: 37), PixelRect(x: h, y: h, width: 41 - 2 * h, height: 37 - 2 * h)),
            (PixelRect(x: 3, y: 5, width: 52, height: 33), PixelRect(x: 3 + h + 1, y: 5 + h, width: 29, height: 16)),
            (PixelRect(x: 1, y: 2, width: 2 * h + 1, height: 2 * h + 3), PixelRect(x: 1 + h, y: 2 + h, width: 1, height: 3)),
            // Taller than every ring buffer (rows wrap many times), several SIMD chunks per
            // parity with a partial last one, odd window origin and odd output origin/size.
            (PixelRect(x: 7, y: 3, width: 97, height: 83), PixelRect(x: 7 + h + 3, y: 3 + h + 1, width: 75, height: 61)),
            // Widths around the SIMD chunk (8 sites per parity = 16 columns) boundaries.
            (PixelRect(x: 2, y: 1, width: 2 * h + 16, height: 40), PixelRect(x: 2 + h, y: 1 + h, width: 16, height: 40 - 2 * h)),
            (PixelRect(x: 5, y: 4, width: 2 * h + 17, height: 2 * h + 2), PixelRect(x: 5 + h, y: 4 + h, width: 17, height: 2)),
        ]
        for (n, (rect, output)) in cases.enumerated() {
            let samples = Self.randomMosaic(rect, seed: UInt64(n) &* 977 &+ UInt64(cfa.color(x: 0, y: 0).rawValue) &* 31 &+ UInt64(cfa.color(x: 1, y: 0).rawValue))
            samples.withUnsafeBufferPointer { s in
                let view = MosaicView(samples: s.baseAddress!, rect: rect, cfa: cfa)
                let fast = Demosaicer.demosaic(view, output: output, method: .rcd).pixels
                let ref = Self.reference(view, output: output)
                #expect(fast.count == ref.count)
                let mismatches = zip(fast, ref).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "\(cfa) window \(rect) output \(output): \(mismatches) of \(ref.count) values differ")
                // The reference is not degenerate: it has interpolated colour everywhere.
                #expect(ref.contains { $0 != 0 })
            }
        }
    }
}

/// The fused RCD path (raw stage in the row loads, matrix and output encoding per finished row;
/// taken when a pipeline has no RGB stages) against the staged path (forced by an identity
/// stage): same bytes for every CFA phase, transfer, exposure gain, odd sizes, band counts,
/// tiles with odd origins and input windows larger than needed.
@Suite struct RCDFusedPathTests {
    @Test(arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func fusedEqualsStaged(cfa: CFAPattern) throws {
        var rng = SplitMix64(seed: 0x5EED &+ UInt64(cfa.color(x: 1, y: 0).rawValue) &* 7 &+ UInt64(cfa.color(x: 0, y: 1).rawValue))
        let (w, h) = (67, 53)
        var plane = RawPlane(width: w, height: h)
        // Noise around the black level (negative normalised values), mid-tones and clipped whites.
        for i in 0..<plane.pixels.count {
            let u = rng.nextUnit()
            plane.pixels[i] = u < 0.05 ? UInt16(500 + rng.next() % 30) : u > 0.97 ? 16383 : UInt16(400 + rng.next() % 16_000)
        }
        let frame = FrameSize(width: w, height: h)
        for transfer in [DevelopSettings.Transfer.srgb, .linear, .adobeRGB] {
            var settings = DevelopFixtures.cameraSettings(cfa, transfer: transfer)
            settings.demosaic = .rcd
            settings.exposureGain = transfer == .linear ? 1.7 : 1
            let fused = try DevelopPipeline(settings: settings, frame: frame, stages: [])
            let staged = try DevelopPipeline(settings: settings, frame: frame, stages: [IdentityStage()])
            let reference = try staged.developFrame(plane, threads: 1)
            // Whole frame, serial and in parallel bands (bands of 16 rows: several band edges).
            #expect(try fused.developFrame(plane, threads: 1) == reference, "\(cfa) \(transfer) whole frame, 1 thread")
            #expect(try fused.developFrame(plane, threads: 2) == reference, "\(cfa) \(transfer) whole frame, 2 threads")
            // Tiles with odd origins and sizes, from windows cut with reflection, some larger than needed.
            for core in [PixelRect(x: 0, y: 0, width: 13, height: 9), PixelRect(x: 31, y: 17, width: 36, height: 36),
                         PixelRect(x: 5, y: 44, width: 1, height: 9)] {
                for grow in [0, 3] {
                    let window = fused.cfaWindow(forOutput: core).expanded(by: grow)
                    let input = Developer.window(window, of: plane)
                    let tile = try fused.developTile(input, inputRect: window, core: core)
                    let expected = try staged.developTile(input, inputRect: window, core: core)
                    #expect(tile == expected, "\(cfa) \(transfer) tile \(core) window +\(grow)")
                    for y in 0..<core.height {
                        let row = Array(tile.pixels[(y * core.width * 3)..<((y + 1) * core.width * 3)])
                        let start = ((core.y + y) * w + core.x) * 3
                        #expect(row == Array(reference.pixels[start..<(start + core.width * 3)]), "\(cfa) \(transfer) tile \(core) row \(y)")
                    }
                }
            }
            // A window that does not cover the tile's CFA window is refused.
            let core = PixelRect(x: 20, y: 20, width: 8, height: 8)
            let short = fused.cfaWindow(forOutput: core).expanded(by: -1)
            #expect(throws: ImagingError.self) { try fused.developTile(Developer.window(short, of: plane), inputRect: short, core: core) }
        }
    }

    /// Frames wider than one column strip of the fused path (1024 output columns): strip
    /// boundaries (and the frame's reflected edges inside the first and last strip) change no bit.
    @Test func fusedStripsEqualStaged() throws {
        var rng = SplitMix64(seed: 4242)
        let (w, h) = (2 * 1024 + 77, 21)
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count { plane.pixels[i] = UInt16(400 + rng.next() % 16_000) }
        let frame = FrameSize(width: w, height: h)
        var settings = DevelopFixtures.cameraSettings(.gbrg)
        settings.demosaic = .rcd
        let fused = try DevelopPipeline(settings: settings, frame: frame, stages: [])
        let staged = try DevelopPipeline(settings: settings, frame: frame, stages: [IdentityStage()])
        #expect(try fused.developFrame(plane, threads: 1) == staged.developFrame(plane, threads: 1))
        // A tile across the first strip boundary, with an odd origin.
        let core = PixelRect(x: 1001, y: 3, width: 61, height: 11)
        let window = fused.cfaWindow(forOutput: core)
        let input = Developer.window(window, of: plane)
        #expect(try fused.developTile(input, inputRect: window, core: core) == staged.developTile(input, inputRect: window, core: core))
    }

    /// The output encoding's eight-wide path (whole frames) equals its one-value path (a 1×1
    /// tile encodes 3 values, below the SIMD width): every pixel of a frame developed as its own
    /// tile, for each transfer and an exposure gain, with negatives, clipped whites and gain
    /// clipping in the data.
    @Test(arguments: [DevelopSettings.Transfer.srgb, .linear, .adobeRGB])
    func simdEncodingEqualsScalar(transfer: DevelopSettings.Transfer) throws {
        var rng = SplitMix64(seed: 99)
        let (w, h) = (23, 19)
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count {
            let u = rng.nextUnit()
            plane.pixels[i] = u < 0.1 ? UInt16(480 + rng.next() % 60) : u > 0.9 ? 16383 : UInt16(500 + rng.next() % 15_000)
        }
        let frame = FrameSize(width: w, height: h)
        for (method, gain) in [(DemosaicMethod.mhc, 1.0), (.mhc, 2.3), (.rcd, 1.6)] {
            var settings = DevelopFixtures.cameraSettings(.grbg, transfer: transfer)
            settings.demosaic = method
            settings.exposureGain = gain
            let pipeline = try DevelopPipeline(settings: settings, frame: frame, stages: [])
            let whole = try pipeline.developFrame(plane, threads: 1)
            var mismatches = 0
            for y in 0..<h {
                for x in 0..<w {
                    let core = PixelRect(x: x, y: y, width: 1, height: 1)
                    let window = pipeline.cfaWindow(forOutput: core)
                    let tile = try pipeline.developTile(Developer.window(window, of: plane), inputRect: window, core: core)
                    let start = (y * w + x) * 3
                    if tile.pixels != Array(whole.pixels[start..<(start + 3)]) { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "\(transfer) \(method) gain \(gain): \(mismatches) pixels differ")
            #expect(Set(whole.pixels).count > 100 && whole.pixels.contains(65535) && whole.pixels.contains(0))
        }
    }
}
