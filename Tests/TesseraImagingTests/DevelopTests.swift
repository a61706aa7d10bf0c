import Foundation
import Testing
import TesseraCore
import TesseraImaging
import XCTest

@Suite struct DevelopTests {
    // MARK: Demosaic correctness

    @Test(arguments: CFAPattern.all)
    func flatColourMosaicReturnsThatColourExactly(cfa: CFAPattern) throws {
        let settings = DevelopFixtures.exactSettings(cfa)
        // Dyadic values: every MHC sum is exact in Float.
        let colour: (Float, Float, Float) = (0.625, 0.3125, 0.8125)
        let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 13, height: 11, colour), settings: settings)
        let out = try Developer.developFrame(plane, settings: settings)
        let expected = [colour.0, colour.1, colour.2].map { UInt16($0 * 65535 + 0.5) }
        for i in 0..<(out.width * out.height) {
            #expect(Array(out.pixels[i * 3..<i * 3 + 3]) == expected, "pixel \(i % out.width),\(i / out.width)")
        }
    }

    @Test(arguments: CFAPattern.all)
    func linearGradientIsReproducedInTheInterior(cfa: CFAPattern) throws {
        // MHC is exact for fields linear in x and y (the Laplacian correction vanishes).
        let settings = DevelopFixtures.exactSettings(cfa)
        let w = 40, h = 30
        var truth = RGBImageF(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                truth.pixels[i] = 0.1 + 0.02 * Float(x)
                truth.pixels[i + 1] = 0.2 + 0.015 * Float(y) + 0.005 * Float(x)
                truth.pixels[i + 2] = 0.9 - 0.01 * Float(x) - 0.01 * Float(y)
            }
        }
        let plane = DevelopFixtures.mosaic(truth, settings: settings)
        let out = try Developer.developFrame(plane, settings: settings)
        var worst = 0
        for y in 2..<(h - 2) {
            for x in 2..<(w - 2) {
                for c in 0..<3 {
                    let i = (y * w + x) * 3 + c
                    // The mosaic quantises to 1/4096, so allow that much (16 output codes).
                    let want = Int((truth.pixels[i] * 65535).rounded())
                    worst = max(worst, abs(Int(out.pixels[i]) - want))
                }
            }
        }
        #expect(worst <= 20, "worst interior error \(worst) codes")
    }

    @Test func smoothFieldIsCloseToTruth() throws {
        let settings = DevelopFixtures.exactSettings(.rggb)
        let w = 64, h = 48
        var truth = RGBImageF(width: w, height: h)
        var truth16 = RGBImage16(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let fx = Float(x) / Float(w), fy = Float(y) / Float(h)
                let rgb = [0.5 + 0.3 * sin(2 * .pi * fx), 0.4 + 0.3 * cos(2 * .pi * fy), 0.3 + 0.2 * sin(2 * .pi * (fx + fy))]
                for c in 0..<3 {
                    truth.pixels[(y * w + x) * 3 + c] = rgb[c]
                    truth16.pixels[(y * w + x) * 3 + c] = UInt16((rgb[c] * 65535).rounded())
                }
            }
        }
        let out = try Developer.developFrame(DevelopFixtures.mosaic(truth, settings: settings), settings: settings)
        let psnr = ImageMetrics.psnr(out, truth16, crop: 2)
        #expect(psnr > 50, "PSNR \(psnr) dB")  // measured 54.9 dB
    }

    // MARK: Tiling

    @Test func tiledOutputIsBitIdenticalToWholeFrame() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("tiledOutputIsBitIdenticalToWholeFrame seed \(seed)")
        var rng = SplitMix64(seed: seed)
        for round in 0..<24 {
            let cfa = CFAPattern.all[round % 4]
            let w = Int.random(in: 3...57, using: &rng), h = Int.random(in: 3...41, using: &rng)
            var plane = RawPlane(width: w, height: h)
            for i in 0..<plane.pixels.count { plane.pixels[i] = UInt16.random(in: 0...17_000, using: &rng) }
            var settings = DevelopFixtures.cameraSettings(cfa)
            settings.exposureGain = [1, 1.5, 0.7][round % 3]
            let whole = try Developer.developFrame(plane, settings: settings)
            #expect(try Developer.developFrame(plane, settings: settings, threads: 1) == whole, "seed \(seed) round \(round): threads")

            // Aligned cores from the planner.
            let planner = TilePlanner(tileSize: Int.random(in: 2...24, using: &rng))
            var cores = planner.cores(width: w, height: h)
            // Plus a few arbitrary (unaligned) cores: the kernel does not depend on alignment.
            for _ in 0..<3 {
                let x = Int.random(in: 0..<w, using: &rng), y = Int.random(in: 0..<h, using: &rng)
                cores.append(PixelRect(x: x, y: y, width: Int.random(in: 1...(w - x), using: &rng), height: Int.random(in: 1...(h - y), using: &rng)))
            }
            var assembled = RGBImage16(width: w, height: h)
            for core in cores {
                let inputRect = core.expanded(by: settings.halo)
                let input = Developer.window(inputRect, of: plane)
                let tile = try Developer.developTile(input, inputRect: inputRect, core: core, settings: settings)
                for y in 0..<core.height {
                    for x in 0..<core.width {
                        for c in 0..<3 {
                            let v = tile.pixels[(y * core.width + x) * 3 + c]
                            assembled.pixels[((core.y + y) * w + core.x + x) * 3 + c] = v
                            #expect(v == whole.pixels[((core.y + y) * w + core.x + x) * 3 + c],
                                    "seed \(seed) round \(round) \(cfa) \(w)x\(h) core \(core) pixel \(x),\(y)")
                        }
                    }
                }
            }
            #expect(assembled == whole, "seed \(seed) round \(round)")
        }
    }

    @Test func largerWindowThanNeededGivesTheSameTile() throws {
        let plane = DevelopFixtures.rampPlane(width: 30, height: 22)
        let settings = DevelopFixtures.cameraSettings(.grbg)
        let core = PixelRect(x: 8, y: 6, width: 10, height: 8)
        let tight = core.expanded(by: 2), loose = PixelRect(x: 1, y: 0, width: 29, height: 20)
        let a = try Developer.developTile(Developer.window(tight, of: plane), inputRect: tight, core: core, settings: settings)
        let b = try Developer.developTile(Developer.window(loose, of: plane), inputRect: loose, core: core, settings: settings)
        #expect(a == b)
    }

    @Test func windowMirrorsPastTheEdgesKeepingPhase() {
        let plane = DevelopFixtures.rampPlane(width: 9, height: 7)
        let rect = PixelRect(x: -3, y: -2, width: 15, height: 12)
        let win = Developer.window(rect, of: plane)
        for y in 0..<rect.height {
            for x in 0..<rect.width {
                let sx = BorderIndex.reflect101(rect.x + x, count: 9), sy = BorderIndex.reflect101(rect.y + y, count: 7)
                #expect(win[x, y] == plane[sx, sy])
                #expect((sx - (rect.x + x)) % 2 == 0 && (sy - (rect.y + y)) % 2 == 0, "phase kept")
            }
        }
    }

    @Test func tileErrorsAreReported() throws {
        let plane = DevelopFixtures.rampPlane(width: 20, height: 20)
        let settings = DevelopFixtures.cameraSettings(.rggb)
        let core = PixelRect(x: 4, y: 4, width: 8, height: 8)
        let short = core.expanded(by: 1)
        #expect(throws: ImagingError.self) {
            try Developer.developTile(Developer.window(short, of: plane), inputRect: short, core: core, settings: settings)
        }
        do {
            _ = try Developer.developTile(Developer.window(short, of: plane), inputRect: short, core: core, settings: settings)
        } catch {
            guard case .invalidTile(let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason.contains("halo"))
        }
        var bad = settings
        bad.wbMultipliers = [1, 1]
        let full = core.expanded(by: 2)
        do {
            _ = try Developer.developTile(Developer.window(full, of: plane), inputRect: full, core: core, settings: bad)
            Issue.record("accepted 2 white-balance multipliers")
        } catch {
            guard case .invalidSettings(let field, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(field == "wbMultipliers")
        }
    }

    // MARK: Colour path

    @Test(arguments: CFAPattern.all)
    func neutralGreyStaysNeutral(cfa: CFAPattern) throws {
        // Realistic WB and matrix (rows sum to 1); grey levels chosen so every raw value is an
        // exact integer (15871 · g / wb is integral), so only Float rounding remains.
        var settings = DevelopFixtures.cameraSettings(cfa)
        settings.blackLevels = [512, 512, 512, 512]
        settings.wbMultipliers = [2, 1, 1.5]
        for m in [100, 500, 1300, 2300] {
            let grey = Float(6 * m) / 15871
            let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 10, height: 8, (grey, grey, grey)), settings: settings)
            let out = try Developer.developFrame(plane, settings: settings)
            let d = Double(grey)
            let expected = 65535 * (d <= 0.0031308 ? 12.92 * d : 1.055 * pow(d, 1 / 2.4) - 0.055)
            for i in 0..<(out.width * out.height) {
                let r = Int(out.pixels[i * 3]), g = Int(out.pixels[i * 3 + 1]), b = Int(out.pixels[i * 3 + 2])
                #expect(abs(r - g) <= 1 && abs(b - g) <= 1, "grey \(grey) pixel \(i): \(r) \(g) \(b)")
                #expect(abs(Double(g) - expected) <= 1, "grey \(grey): \(g) vs \(expected)")
            }
        }
    }

    @Test(arguments: CFAPattern.all)
    func perCellBlackLevelsAreSubtracted(cfa: CFAPattern) throws {
        // Ranges white − black = 15872, 15868, 15876, 15864 are multiples of 4, so a flat 0.25
        // mosaic is exact; a black level applied to the wrong cell would be off by ~16 codes.
        var settings = DevelopFixtures.exactSettings(cfa)
        settings.blackLevels = [512, 516, 508, 520]
        settings.whiteLevel = 16384
        let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 9, height: 7, (0.25, 0.25, 0.25)), settings: settings)
        let out = try Developer.developFrame(plane, settings: settings)
        #expect(Set(out.pixels) == [16384])
    }

    @Test func srgbCurveAndExposureGain() throws {
        var settings = DevelopFixtures.exactSettings(.rggb, transfer: .srgb)
        for level in stride(from: 0, through: 4096, by: 64) {
            let v = Float(level) / 4096
            let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 4, height: 4, (v, v, v)), settings: settings)
            let out = try Developer.developFrame(plane, settings: settings)
            let d = Double(v)
            let exact = 65535 * (d <= 0.0031308 ? 12.92 * d : 1.055 * pow(d, 1 / 2.4) - 0.055)
            #expect(abs(Double(out.pixels[0]) - exact) <= 0.6, "level \(level): \(out.pixels[0]) vs \(exact)")
        }
        settings = DevelopFixtures.exactSettings(.bggr)
        settings.exposureGain = 2  // +1 EV
        let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 6, height: 6, (0.25, 0.125, 0.75)), settings: settings)
        let out = try Developer.developFrame(plane, settings: settings)
        #expect(Array(out.pixels[0..<3]) == [UInt16(0.5 * 65535 + 0.5), UInt16(0.25 * 65535 + 0.5), 65535], "gain then clip")
    }

    @Test func settingsResolveFromRecipeAndInfo() throws {
        let info = RawFrameInfo(width: 10, height: 8, cfa: .gbrg, blackLevels: [10, 11, 12, 13], whiteLevel: 4000,
                                asShotMultipliers: [2, 1, 1.5], cameraToSRGB: .identity)
        var recipe = Recipe.neutral
        recipe.exposureEV = -1
        let s = try DevelopSettings.resolve(recipe: recipe, info: info)
        #expect(s.cfa == .gbrg && s.blackLevels == [10, 11, 12, 13] && s.whiteLevel == 4000)
        #expect(s.wbMultipliers == [2, 1, 1.5] && s.cameraToOutput == Matrix3.identity.m)
        #expect(s.exposureGain == 0.5 && s.halo == RCDDemosaic.halo && s.transfer == .srgb)
        let json = s.canonicalJSON
        #expect(json.hasPrefix("{\"blackLevels\":[10,11,12,13],\"cameraToOutput\":[1,0,0,0,1,0,0,0,1],\"cfa\":"), "\(json)")
        let back = try DevelopSettings(json: Array(json.utf8))
        #expect(back == s && back.canonicalJSON == json)
        var weird = DevelopFixtures.cameraSettings(.rggb)
        weird.cameraToOutput = [0.1 + 0.2, 1.0 / 3, -2.0 / 7, 1e-17, 123.456, -0.0, Double.leastNonzeroMagnitude, 7, 0.3]
        let weirdBack = try DevelopSettings(json: Array(weird.canonicalJSON.utf8))
        #expect(weirdBack == weird, "doubles round-trip exactly through the canonical text")
        #expect(throws: ImagingError.self) { try DevelopSettings(json: Array("{\"cfa\":{\"colors\":[0,0,0,0]}}".utf8)) }
    }

    // MARK: Throughput (release numbers go to docs/develop.md)

    @Test func throughputAndThreadIndependence() throws {
        #if DEBUG
        let w = 512, h = 384
        #else
        let w = 2048, h = 1536  // release: a realistic band of work per core
        #endif
        var rng = SplitMix64(seed: 7)
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count { plane.pixels[i] = UInt16.random(in: 500...16_000, using: &rng) }
        let full = DevelopFixtures.cameraSettings(.rggb)
        let clock = ContinuousClock()
        var single = RGBImage16(width: 0, height: 0)
        let t1 = try clock.measure { single = try Developer.developFrame(plane, settings: full, threads: 1) }
        var parallel = RGBImage16(width: 0, height: 0)
        let t2 = try clock.measure { parallel = try Developer.developFrame(plane, settings: full) }
        #expect(single == parallel)
        let linear = DevelopFixtures.exactSettings(.rggb)
        let t3 = try clock.measure { _ = try Developer.developFrame(plane, settings: linear, threads: 1) }
        func mps(_ d: Duration) -> String {
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            return String(format: "%.1f", Double(w * h) / s / 1e6)
        }
        print("develop \(w)x\(h): full pipeline 1 thread \(mps(t1)) MP/s, all cores \(mps(t2)) MP/s; MHC + linear output 1 thread \(mps(t3)) MP/s (baseline); full/baseline time ratio \(String(format: "%.2f", t1 / t3))")
    }
}

/// One XCTest case so XCTest's summary counts this target (see PLATFORM.md).
final class ImagingSmokeXCTests: XCTestCase {
    func testFlatGreyDevelopsToGrey() throws {
        let settings = DevelopFixtures.exactSettings(.rggb)
        let plane = DevelopFixtures.mosaic(DevelopFixtures.flat(width: 6, height: 6, (0.5, 0.5, 0.5)), settings: settings)
        let out = try Developer.developFrame(plane, settings: settings)
        XCTAssertEqual(Set(out.pixels), [UInt16(0.5 * 65535 + 0.5)])
    }
}
