import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// The DNG colour path, white-balance modes and auto-WB statistics, on synthetic DNGs decoded
/// by LibRaw in-process and on hand-built frame infos.
@Suite struct ColorResolverTests {
    /// A two-illuminant camera: ColorMatrix1 under Standard A, ColorMatrix2 under D65 (the
    /// SynthCam matrix), shaped like a real camera's pair.
    static let cmD65 = Matrix3(SynthCamera.standard.colorMatrix1)
    static let cmA = Matrix3([0.6722, -0.0635, -0.0963, -0.4287, 1.2460, 0.2028, -0.0908, 0.2162, 0.5668])

    static func twoMatrixInfo(asShotNeutral: [Double] = [0.5, 1, 0.6]) -> RawFrameInfo {
        RawFrameInfo(width: 64, height: 64, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 4095,
                     asShotMultipliers: [1 / asShotNeutral[0], 1, 1 / asShotNeutral[2]], cameraToSRGB: .identity,
                     make: "Test", model: "TwoMatrix", colorMatrix1: cmA, colorMatrix2: cmD65,
                     calibrationIlluminant1: 17, calibrationIlluminant2: 21, asShotNeutral: asShotNeutral)
    }

    /// Mean CFA value per colour over `rect`, black-subtracted and scaled to 0…1 per cell.
    static func patchMean(_ plane: RawPlane, _ info: RawFrameInfo, _ rect: PixelRect) -> [Double] {
        var sums = [0.0, 0, 0], counts = [0.0, 0, 0]
        for y in rect.y..<rect.maxY {
            for x in rect.x..<rect.maxX {
                let cell = CFAPattern.cell(x: x, y: y)
                let c = Int(info.cfa.color(x: x, y: y).rawValue)
                sums[c] += (Double(plane[x, y]) - info.blackLevels[cell]) / (info.whiteLevel - info.blackLevels[cell])
                counts[c] += 1
            }
        }
        return (0..<3).map { sums[$0] / counts[$0] }
    }

    /// Demosaic-free development of one patch: mean camera RGB → WB → matrix → output linear.
    static func develop(_ camera: [Double], _ r: ColorResolution, gain: Double) -> (Double, Double, Double) {
        let wb = (0..<3).map { camera[$0] * r.wbMultipliers[$0] * gain }
        return r.cameraToOutput.apply((wb[0], wb[1], wb[2]))
    }

    static func lab(_ rgb: (Double, Double, Double), _ space: OutputColorSpace) -> CIELab {
        CIELab(CIEXYZ(rgb.0, rgb.1, rgb.2).transformed(by: space.toXYZ), white: Chromaticity.d65.xyz())
    }

    /// Synthesiser options for a noise-free frame (huge full well, no read noise).
    static func quietOptions(_ cfa: CFAPattern) -> SynthOptions {
        var o = SynthOptions(frames: 1, width: 384, height: 256, iso: 100, seed: 5, pattern: cfa, margin: 2)
        o.fullWellISO100 = 1e13
        o.readNoiseElectrons = 0
        o.threads = 2
        return o
    }

    @Test(arguments: [CFAPattern.rggb, .gbrg])
    func synthColorCheckerThroughTheDNGPathMatchesTruth(cfa: CFAPattern) throws {
        let options = Self.quietOptions(cfa)
        let manifest = try ShootSynthesizer.plan(options)
        let frame = manifest.frames[0]
        let truth = ShootSynthesizer.renderTruth(frame, options: options)
        let plane = ShootSynthesizer.mosaic(truth, frame: frame, options: options)
        let dng = try DNGWriter.encode(ShootSynthesizer.dngImage(plane, frame: frame, options: options))
        let decoded = try dng.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "checker-\(cfa).dng") }
        let card = try #require(manifest.scene.regions.first { $0.name == "checker" })
        let patches = manifest.scene.checkerPatchesLinearSRGB
        for space in OutputColorSpace.allCases {
            let r = try ColorResolver.resolve(info: decoded.info, whiteBalance: .asShot, colorSpace: space)
            #expect(r.path == .dngColorMatrix)
            var total = 0.0, worst = 0.0
            for i in 0..<24 {
                let (row, col) = (i / 6, i % 6)
                let cw = card.width / 6, ch = card.height / 4
                // The middle 50 % of the cell: well inside the patch (12 % inset) and its 3-px ramps.
                let rect = PixelRect(x: Int((card.x + (Double(col) + 0.25) * cw).rounded(.up)),
                                     y: Int((card.y + (Double(row) + 0.25) * ch).rounded(.up)),
                                     width: Int(cw * 0.5), height: Int(ch * 0.5))
                let camera = Self.patchMean(decoded.plane, decoded.info, rect)
                let got = Self.lab(Self.develop(camera, r, gain: 1 / options.exposureScale), space)
                let t = patches[i]
                let want = CIELab(CIEXYZ(t[0], t[1], t[2]).transformed(by: Matrix3.srgbToXYZ), white: Chromaticity.d65.xyz())
                let de = got.deltaE2000(want)
                total += de
                worst = max(worst, de)
            }
            let mean = total / 24
            print("ColorChecker via synth DNG \(cfa) → \(space): mean ΔE2000 \(mean), max \(worst)")
            #expect(mean <= 1.5 && worst <= 1.5, "\(space): mean ΔE2000 \(mean), max \(worst)")

            // The same resolution through today's full develop kernel (MHC demosaic, linear
            // output, 16 bits): patch interiors averaged from the developed image.
            let settings = DevelopSettings(cfa: decoded.info.cfa, blackLevels: decoded.info.blackLevels,
                                           whiteLevel: decoded.info.whiteLevel, wbMultipliers: r.wbMultipliers,
                                           cameraToOutput: r.cameraToOutput.m, exposureGain: 1 / options.exposureScale,
                                           demosaic: .mhc, transfer: .linear)
            let image = try Developer.developFrame(decoded, settings: settings)
            var fullTotal = 0.0, fullWorst = 0.0
            for i in 0..<24 {
                let (row, col) = (i / 6, i % 6)
                let cw = card.width / 6, ch = card.height / 4
                let rect = PixelRect(x: Int((card.x + (Double(col) + 0.25) * cw).rounded(.up)),
                                     y: Int((card.y + (Double(row) + 0.25) * ch).rounded(.up)),
                                     width: Int(cw * 0.5), height: Int(ch * 0.5))
                var sum = [0.0, 0, 0]
                for y in rect.y..<rect.maxY {
                    for x in rect.x..<rect.maxX {
                        for c in 0..<3 { sum[c] += Double(image.pixels[(y * image.width + x) * 3 + c]) / 65535 }
                    }
                }
                let n = Double(rect.area)
                let got = Self.lab((sum[0] / n, sum[1] / n, sum[2] / n), space)
                let t = patches[i]
                let want = CIELab(CIEXYZ(t[0], t[1], t[2]).transformed(by: Matrix3.srgbToXYZ), white: Chromaticity.d65.xyz())
                let de = got.deltaE2000(want)
                fullTotal += de
                fullWorst = max(fullWorst, de)
            }
            // Demosaicing inside the patches, Float arithmetic and 16-bit rounding add a little.
            print("  full develop (MHC, linear 16-bit): mean ΔE2000 \(fullTotal / 24), max \(fullWorst)")
            #expect(fullTotal / 24 <= 1.5, "\(space) full develop: mean ΔE2000 \(fullTotal / 24)")
        }
    }

    /// A DNG built with every colour tag (two illuminants, ForwardMatrix1/2, CameraCalibration1/2,
    /// AnalogBalance), patches = the 24 ColorChecker colours under D65 as this camera records them.
    @Test func fullTagDNGColorCheckerAndForwardMatrixAgreeWithColorMatrixPath() throws {
        let patches = try ShootSynthesizer.plan(Self.quietOptions(.rggb)).scene.checkerPatchesLinearSRGB
        let cc1 = Matrix3([1.03, 0, 0, 0, 1, 0, 0, 0, 0.96]), cc2 = Matrix3([1.02, 0, 0, 0, 1, 0, 0, 0, 0.97])
        let ab = [1.05, 1, 0.93]
        let abm = Matrix3([ab[0], 0, 0, 0, ab[1], 0, 0, 0, ab[2]])
        let d65 = Chromaticity.d65.xyz()
        // The camera as it really is under D65: raw = AB · CC2 · CM2 · XYZ.
        let camera = abm * cc2 * Self.cmD65
        let neutral = d65.transformed(by: camera)
        // Forward matrices consistent with each illuminant's ColorMatrix (spec § 6: FM maps the
        // white-balanced reference camera to XYZ D50).
        func forward(_ cm: Matrix3, _ white: Chromaticity) -> Matrix3 {
            let rn = white.xyz().transformed(by: cm)
            return ChromaticAdaptation.bradford(from: white, to: .d50) * cm.inverse! * Matrix3([rn.x, 0, 0, 0, rn.y, 0, 0, 0, rn.z])
        }
        let fm1 = forward(Self.cmA, .a), fm2 = forward(Self.cmD65, .d65)
        // 6 × 4 patches of 14 × 14 pixels with 2-pixel gaps, on a 96 × 72 frame (+ grey surround).
        let w = 96, h = 72, black = 256.0, white = 16383.0, scale = 0.7 / max(neutral.x, neutral.y, neutral.z)
        var pixels = [UInt16](repeating: 0, count: w * h)
        func rgbAt(_ x: Int, _ y: Int) -> [Double] {
            let col = x / 16, row = y / 16
            if row < 4, col < 6, x % 16 >= 2, y % 16 >= 2 { return patches[row * 6 + col] }
            return [0.18, 0.18, 0.18]
        }
        for y in 0..<h {
            for x in 0..<w {
                let rgb = rgbAt(x, y)
                let raw = CIEXYZ(rgb[0], rgb[1], rgb[2]).transformed(by: Matrix3.srgbToXYZ).transformed(by: camera)
                let v = [raw.x, raw.y, raw.z][Int(CFAPattern.rggb.color(x: x, y: y).rawValue)]
                pixels[y * w + x] = UInt16((black + (white - black) * scale * v).rounded())
            }
        }
        let meta = DNGMetadata(make: "Tessera", model: "FullTags", cfa: .rggb, blackLevels: [black, black, black, black],
                               whiteLevel: Int(white), colorMatrix1: Self.cmA, calibrationIlluminant1: 17,
                               asShotNeutral: [neutral.x / neutral.y, 1, neutral.z / neutral.y])
        var d = try DNGWriter.directory(for: DNGImage(plane: RawPlane(width: w, height: h, pixels: pixels), metadata: meta))
        func sr(_ m: Matrix3) -> TIFFValue { .srationals(m.m.map { TIFFSRational($0, denominator: 1_000_000) }) }
        d.set(50722, sr(Self.cmD65))  // ColorMatrix2
        d.set(50779, .shorts([21]))  // CalibrationIlluminant2 = D65
        d.set(50723, sr(cc1))  // CameraCalibration1
        d.set(50724, sr(cc2))  // CameraCalibration2
        d.set(50727, .rationals(ab.map { TIFFRational($0, denominator: 10_000) }))  // AnalogBalance
        d.set(50964, sr(fm1))  // ForwardMatrix1
        d.set(50965, sr(fm2))  // ForwardMatrix2
        d.set(TIFFTag.colorMatrix1, sr(Self.cmA))
        let bytes = try TIFFContainer.encode([d])
        let decoded = try bytes.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "fulltags.dng") }
        let info = decoded.info

        // The tags come back as written.
        func close(_ a: Matrix3?, _ b: Matrix3, _ tol: Double = 2e-6) -> Bool {
            guard let a else { return false }
            return zip(a.m, b.m).allSatisfy { abs($0 - $1) <= tol }
        }
        #expect(close(info.colorMatrix1, Self.cmA) && close(info.colorMatrix2, Self.cmD65))
        #expect(info.calibrationIlluminant1 == 17 && info.calibrationIlluminant2 == 21)
        #expect(close(info.cameraCalibration1, cc1) && close(info.cameraCalibration2, cc2))
        #expect(close(info.forwardMatrix1, fm1) && close(info.forwardMatrix2, fm2))
        #expect(info.analogBalance == ab)

        let viaFM = try ColorResolver.resolve(info: info, whiteBalance: .asShot)
        #expect(viaFM.path == .dngForwardMatrix)
        var noFM = info
        noFM.forwardMatrix1 = nil
        noFM.forwardMatrix2 = nil
        let viaCM = try ColorResolver.resolve(info: noFM, whiteBalance: .asShot)
        #expect(viaCM.path == .dngColorMatrix)
        for i in 0..<9 { #expect(abs(viaFM.cameraToOutput.m[i] - viaCM.cameraToOutput.m[i]) < 2e-4, "element \(i)") }
        let asShotT = try #require(viaFM.temperature)
        #expect(abs(asShotT - 6504) < 10, "as-shot white \(asShotT) K")
        // White-balanced neutral → output white.
        let one = viaFM.cameraToOutput.apply((1, 1, 1))
        #expect(abs(one.0 - 1) < 1e-9 && abs(one.1 - 1) < 1e-9 && abs(one.2 - 1) < 1e-9)

        var total = 0.0, worst = 0.0
        for i in 0..<24 {
            let rect = PixelRect(x: (i % 6) * 16 + 4, y: (i / 6) * 16 + 4, width: 10, height: 10)
            let cam = Self.patchMean(decoded.plane, info, rect)
            let got = Self.lab(Self.develop(cam, viaFM, gain: 1 / (scale * neutral.y)), .srgb)
            let t = patches[i]
            let want = CIELab(CIEXYZ(t[0], t[1], t[2]).transformed(by: Matrix3.srgbToXYZ), white: d65)
            let de = got.deltaE2000(want)
            total += de
            worst = max(worst, de)
        }
        print("ColorChecker via full-tag DNG (ForwardMatrix path): mean ΔE2000 \(total / 24), max \(worst)")
        #expect(total / 24 <= 1.5 && worst <= 1.5, "mean \(total / 24), max \(worst)")
    }

    @Test func kelvinRoundTripsThroughTwoMatrixInterpolation() throws {
        let info = Self.twoMatrixInfo()
        for (t, tint) in [(5000.0, 0.0), (2850, 0), (3500, 15), (6500, -10), (9000, 5)] {
            let r = try ColorResolver.resolve(info: info, whiteBalance: .kelvin(temperature: t, tint: tint))
            let rt = try #require(r.temperature), rtint = try #require(r.tint)
            #expect(abs(rt - t) / t < 1e-3 && abs(rtint - tint) < 0.1, "\(t) K \(tint): \(rt) K \(rtint)")
            // Feed the neutral back as the file's AsShotNeutral: the white iteration recovers it.
            let back = try ColorResolver.resolve(info: Self.twoMatrixInfo(asShotNeutral: r.cameraNeutral), whiteBalance: .asShot)
            let bt = try #require(back.temperature), btint = try #require(back.tint)
            #expect(abs(bt - t) / t < 2e-3, "\(t) K tint \(tint) → neutral \(r.cameraNeutral) → \(bt) K")
            #expect(abs(btint - tint) < 0.5, "\(t) K tint \(tint) → tint \(btint)")
            for i in 0..<9 { #expect(abs(back.cameraToOutput.m[i] - r.cameraToOutput.m[i]) < 1e-5) }
        }
        // The interpolation matters: 5000 K's neutral differs from either single matrix's.
        let r5000 = try ColorResolver.resolve(info: info, whiteBalance: .kelvin(temperature: 5000, tint: 0))
        let xy = ColorTemperature.chromaticity(temperature: 5000)
        for cm in [Self.cmA, Self.cmD65] {
            let n = xy.xyz().transformed(by: cm)
            #expect(abs(n.x / n.y - r5000.cameraNeutral[0]) > 1e-3)
        }
        // Presets are their documented Kelvin/tint.
        let daylight = try ColorResolver.resolve(info: info, whiteBalance: .preset(.daylight))
        #expect(abs((daylight.temperature ?? 0) - 5500) < 6 && abs((daylight.tint ?? 0) - 10) < 0.1)
        let tungsten = try ColorResolver.resolve(info: info, whiteBalance: .preset(.tungsten))
        #expect(abs((tungsten.temperature ?? 0) - 2850) < 3)
        #expect(throws: ColorError.self) { try ColorResolver.resolve(info: info, whiteBalance: .kelvin(temperature: 900, tint: 0)) }
        #expect(throws: ColorError.self) { try ColorResolver.resolve(info: info, whiteBalance: .kelvin(temperature: 5000, tint: 400)) }
    }

    @Test func autoWhiteBalanceRecoversATintedIlluminant() throws {
        let info0 = Self.twoMatrixInfo()
        // The scene's light: 3400 K, tint +12 (a greenish warm source).
        let truth = try ColorResolver.resolve(info: info0, whiteBalance: .kelvin(temperature: 3400, tint: 12))
        let n = truth.cameraNeutral
        let w = 256, h = 192, black = 128.0, white = 4095.0
        var rng = SplitMix64(seed: 42)
        var pixels = [UInt16](repeating: 0, count: w * h)
        // Grey surfaces of many levels, 20 % saturated objects, a clipped highlight, a black area.
        let colours: [[Double]] = [[0.9, 0.2, 0.1], [0.1, 0.7, 0.2], [0.15, 0.2, 0.8], [0.8, 0.7, 0.1]]
        for y in 0..<h {
            for x in 0..<w {
                let bx = x / 16, by = y / 16
                var rgb: [Double]
                if by == 0 && bx < 4 {
                    rgb = [3, 3, 3]  // clipped highlight (excluded)
                } else if by == 11 {
                    rgb = [0.001, 0.001, 0.001]  // too dark (excluded)
                } else if (bx * 7 + by * 3) % 5 == 0 {
                    rgb = colours[(bx + by) % 4]
                } else {
                    let g = 0.05 + 0.6 * Double((bx * 5 + by * 11) % 13) / 12
                    rgb = [g, g, g]
                }
                let c = Int(CFAPattern.rggb.color(x: x, y: y).rawValue)
                let v = rgb[c] * n[c] * 0.8 + 0.004 * rng.nextGaussian()
                pixels[y * w + x] = UInt16(max(0, min(white, (black + (white - black) * v).rounded())))
            }
        }
        var info = info0
        info.width = w
        info.height = h
        info.blackLevels = [black, black, black, black]
        info.whiteLevel = white
        let stats = FrameStatistics.measure(plane: RawPlane(width: w, height: h, pixels: pixels), info: info)
        #expect(stats.clippedFraction > 0 && stats.usableBlocks < stats.blockCount)
        let grey = try #require(stats.greyWorld)
        for c in 0..<3 { #expect(abs(grey[c] / n[c] - 1) < 0.01, "grey world \(grey) vs neutral \(n)") }
        let auto = try ColorResolver.resolve(info: info, statistics: stats, whiteBalance: .auto)
        let t = try #require(auto.temperature), tint = try #require(auto.tint)
        print("auto WB: \(t) K tint \(tint) (truth 3400 K, +12); grey world \(grey), white patch \(stats.whitePatch ?? [])")
        #expect(abs(t - 3400) < 40 && abs(tint - 12) < 2, "auto WB \(t) K tint \(tint)")
        // Deterministic, and auto WB without statistics is refused with a reason.
        #expect(FrameStatistics.measure(plane: RawPlane(width: w, height: h, pixels: pixels), info: info) == stats)
        #expect(throws: ColorError.self) { try ColorResolver.resolve(info: info, whiteBalance: .auto) }
    }

    @Test func libRawPathUsesRgbCamAndCamXYZ() throws {
        let rgbCam = Matrix3([1.8, -0.6, -0.2, -0.25, 1.5, -0.25, 0.05, -0.55, 1.5])
        let camXYZ = Self.cmD65
        let info = RawFrameInfo(width: 64, height: 64, cfa: .bggr, blackLevels: [0, 0, 0, 0], whiteLevel: 4095,
                                asShotMultipliers: [2, 1, 1.5], cameraToSRGB: rgbCam, make: "Other", model: "NEF",
                                cameraFromXYZ: camXYZ)
        let srgb = try ColorResolver.resolve(info: info)
        #expect(srgb.path == .libRaw && srgb.cameraToOutput == rgbCam && srgb.wbMultipliers == [2, 1, 1.5])
        let p3 = try ColorResolver.resolve(info: info, colorSpace: .displayP3)
        let expected = OutputColorSpace.displayP3.fromLinearSRGB * rgbCam
        for i in 0..<9 { #expect(abs(p3.cameraToOutput.m[i] - expected.m[i]) < 1e-12) }
        let adobe = try ColorResolver.resolve(info: info, colorSpace: .adobeRGB)
        #expect(p3.transfer == .srgb && adobe.transfer == .gamma(563.0 / 256))
        // Kelvin through cam_xyz: D65's temperature and tint give cam_xyz's D65 neutral.
        let (t65, tint65) = ColorTemperature.temperatureAndTint(of: .d65)
        let k = try ColorResolver.resolve(info: info, whiteBalance: .kelvin(temperature: t65, tint: tint65))
        let d65 = Chromaticity.d65.xyz().transformed(by: camXYZ)
        #expect(abs(k.cameraNeutral[0] - d65.x / d65.y) < 1e-5 && abs(k.cameraNeutral[2] - d65.z / d65.y) < 1e-5,
                "\(k.cameraNeutral) vs \([d65.x / d65.y, 1, d65.z / d65.y])")
        var bare = info
        bare.cameraFromXYZ = nil
        #expect(throws: ColorError.self) { try ColorResolver.resolve(info: bare, whiteBalance: .preset(.cloudy)) }
    }

    /// The statistics pre-pass is one read of the frame: prints MP/s (release: a 12 MP frame).
    @Test func frameStatisticsThroughput() {
        #if DEBUG
        let w = 768, h = 512
        #else
        let w = 4000, h = 3000
        #endif
        // A grey scene (regions of 32 × 32 pixels at 5…95 % of the range) with Gaussian noise.
        var rng = SplitMix64(seed: 9)
        var plane = RawPlane(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let level = 0.05 + 0.9 * Double(((x / 32) * 7 + (y / 32) * 13) % 17) / 16
                let v = 512 + level * 15_000 * 0.9 + 25 * rng.nextGaussian()
                plane.pixels[y * w + x] = UInt16(max(0, min(16383, v.rounded())))
            }
        }
        let info = RawFrameInfo(width: w, height: h, cfa: .grbg, blackLevels: [512, 514, 511, 513], whiteLevel: 16383,
                                asShotMultipliers: [2, 1, 1.5], cameraToSRGB: .identity)
        var stats: FrameStatistics? = nil
        let elapsed = ContinuousClock().measure { stats = FrameStatistics.measure(plane: plane, info: info) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("FrameStatistics.measure \(w)x\(h): \(seconds * 1000) ms, \(Double(w * h) / seconds / 1e6) MP/s (1 thread)")
        // Nothing clipped or dark: every block usable, both estimates neutral.
        #expect(stats?.usableBlocks == stats?.blockCount && stats?.clippedFraction == 0)
        for estimate in [stats?.greyWorld ?? [], stats?.whitePatch ?? []] {
            #expect(estimate.count == 3 && estimate.allSatisfy { abs($0 - 1) < 0.01 }, "\(estimate)")
        }
        #expect(FrameStatistics.measure(plane: plane, info: info) == stats)
    }
}
