import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite("Tone stages")
struct ToneTests {
    @Test func exposureDoublesPerStopAndZeroIsIdentity() throws {
        let plus1 = try ExposureStage(ev: 1)
        #expect(StageFixtures.apply(plus1, (0.1, 0.25, 0.7)) == (0.2, 0.5, 1.4))
        let minus2 = try ExposureStage(ev: -2)
        #expect(StageFixtures.apply(minus2, (0.1, 0.25, 0.7)) == (0.025, 0.0625, 0.175))
        let rect = PixelRect(x: 0, y: 0, width: 17, height: 5)
        let img = StageFixtures.random(rect, seed: 1)
        let zero = try ExposureStage(ev: 0)
        let out = zero.apply(img, inputRect: rect, output: rect, inputSize: FrameSize(width: 17, height: 5))
        #expect(out.pixels.map(\.bitPattern) == img.pixels.map(\.bitPattern))
        #expect(StageFixtures.rejects("ev") { _ = try ExposureStage(ev: 11) })
        #expect(StageFixtures.rejects("ev") { _ = try ExposureStage(ev: .nan) })
    }

    @Test func contrastKeepsPivotAndScalesLogDistance() throws {
        let c = try ContrastStage(contrast: 2, pivot: 0.18)
        let grey = StageFixtures.apply(c, (0.18, 0.18, 0.18))
        #expect(abs(grey.0 - 0.18) < 1e-6 && abs(grey.1 - 0.18) < 1e-6 && abs(grey.2 - 0.18) < 1e-6)
        // One stop above the pivot becomes two stops above; ratios between channels are kept.
        let up = StageFixtures.apply(c, (0.36, 0.36, 0.36))
        #expect(abs(up.0 - 0.72) < 1e-5)
        let colour = StageFixtures.apply(c, (0.5, 0.3, 0.1))
        let y0 = 0.2126 * 0.5 + 0.7152 * 0.3 + 0.0722 * 0.1
        let y1 = 0.2126 * Double(colour.0) + 0.7152 * Double(colour.1) + 0.0722 * Double(colour.2)
        #expect(abs(y1 - 0.18 * pow(y0 / 0.18, 2)) < 1e-5)
        #expect(abs(colour.0 / colour.1 - 0.5 / 0.3) < 1e-5 && abs(colour.2 / colour.1 - 0.1 / 0.3) < 1e-5)
        // Pivot 0.5: a pixel at the pivot stays, one below gets darker.
        let c2 = try ContrastStage(contrast: 1.5, pivot: 0.5)
        #expect(abs(StageFixtures.apply(c2, (0.5, 0.5, 0.5)).1 - 0.5) < 1e-6)
        #expect(StageFixtures.apply(c2, (0.25, 0.25, 0.25)).1 < 0.25)
        #expect(StageFixtures.rejects("pivot") { _ = try ContrastStage(contrast: 1.2, pivot: 0) })
        #expect(StageFixtures.rejects("contrast") { _ = try ContrastStage(contrast: 9) })
    }

    @Test func saturationZeroGivesGreyOfSameLuminance() throws {
        let s0 = try SaturationStage(saturation: 0)
        let out = StageFixtures.apply(s0, (0.6, 0.3, 0.1))
        let y: Float = 0.2126 * 0.6 + 0.7152 * 0.3 + 0.0722 * 0.1
        #expect(abs(out.0 - y) < 1e-7 && abs(out.1 - y) < 1e-7 && abs(out.2 - y) < 1e-7)
        // Saturation 2 doubles the distance from grey and keeps luminance.
        let s2 = try SaturationStage(saturation: 2)
        let o2 = StageFixtures.apply(s2, (0.6, 0.3, 0.1))
        #expect(abs(o2.0 - (y + 2 * (0.6 - y))) < 1e-6 && abs(o2.2 - (y + 2 * (0.1 - y))) < 1e-6)
        #expect(abs(0.2126 * o2.0 + 0.7152 * o2.1 + 0.0722 * o2.2 - y) < 1e-6)
        // Identity parameters leave the bits alone.
        let id = try SaturationStage()
        let rect = PixelRect(x: 0, y: 0, width: 9, height: 4)
        let img = StageFixtures.random(rect, seed: 2)
        #expect(id.apply(img, inputRect: rect, output: rect, inputSize: FrameSize(width: 9, height: 4)).pixels == img.pixels)
    }

    @Test func vibranceBoostsDullColoursMoreAndProtectsSkin() throws {
        let v = try SaturationStage(vibrance: 0.5, protectSkin: false)
        func gain(_ stage: SaturationStage, _ p: (Float, Float, Float)) -> Float {
            let y = 0.2126 * p.0 + 0.7152 * p.1 + 0.0722 * p.2
            let o = StageFixtures.apply(stage, p)
            return (o.2 - y) / (p.2 - y)
        }
        // Known value: s = (0.5 − 0.4)/0.5 = 0.2 → f = 1 + 0.5 · 0.8² = 1.32.
        #expect(abs(gain(v, (0.4, 0.45, 0.5)) - 1.32) < 1e-5)
        let dull = gain(v, (0.4, 0.45, 0.5)), vivid = gain(v, (0.05, 0.2, 0.5))
        #expect(dull > vivid && vivid > 1)
        // A skin tone (hue ≈ 25°) gets less boost with protection than without.
        let skin: (Float, Float, Float) = (0.6, 0.42, 0.3)
        let protected = try SaturationStage(vibrance: 0.5, protectSkin: true)
        #expect(gain(protected, skin) < gain(v, skin) && gain(protected, skin) > 1)
        // A blue of the same saturation is not protected.
        let blue: (Float, Float, Float) = (0.3, 0.42, 0.6)
        #expect(gain(protected, blue) == gain(v, blue))
    }

    @Test func highlightClipAndBlend() throws {
        let clip = try HighlightClipStage()
        #expect(StageFixtures.apply(clip, (1.7, 0.9, 0.2)) == (1, 0.9, 0.2))
        let blend = try HighlightBlendStage(start: 0.8)
        // Below the start: unchanged. A clipped channel: neutral grey of the clipped pixel's luminance.
        #expect(StageFixtures.apply(blend, (0.7, 0.5, 0.2)) == (0.7, 0.5, 0.2))
        let o = StageFixtures.apply(blend, (1.5, 0.6, 0.3))
        let y: Float = 0.2126 * 1 + 0.7152 * 0.6 + 0.0722 * 0.3
        #expect(abs(o.0 - y) < 1e-6 && abs(o.1 - y) < 1e-6 && abs(o.2 - y) < 1e-6)
        // Half way into the roll-off (max = 0.9): weight smoothstep(0.5) = 0.5, luminance kept.
        let h = StageFixtures.apply(blend, (0.9, 0.5, 0.3))
        let yh: Float = 0.2126 * 0.9 + 0.7152 * 0.5 + 0.0722 * 0.3
        #expect(abs(h.0 - (0.9 + 0.5 * (yh - 0.9))) < 1e-6)
        #expect(abs(0.2126 * h.0 + 0.7152 * h.1 + 0.0722 * h.2 - yh) < 1e-6)
    }

    @Test func highlightReconstructRecoversClippedChannelFromNeighbourRatios() throws {
        // A warm light: r:g:b = 1 : 0.7 : 0.5, brightness rising from 0.3 to 1.8 left to right.
        let size = FrameSize(width: 40, height: 6)
        let truth = { (x: Int, _: Int) -> (Float, Float, Float) in
            let k = 0.3 + 1.5 * Float(x) / 39
            return (k, 0.7 * k, 0.5 * k)
        }
        let stage = try HighlightReconstructStage(radius: 12)
        let worldRect = stage.inputRegion(for: PixelRect(x: 0, y: 0, width: 40, height: 6), inputSize: size)
        let clipped = StageFixtures.image(worldRect) { x, y in
            let t = truth(min(max(x, 0), 39), y)
            return (min(t.0, 1), min(t.1, 1), min(t.2, 1))
        }
        let out = StageFixtures.whole(stage, world: clipped, worldRect: worldRect, inputSize: size)
        // Where only red clipped and unclipped neighbours are within reach, red comes back.
        var errClip: Float = 0, errRec: Float = 0
        for x in 22...27 {
            let t = truth(x, 3)
            #expect(t.0 > 1 && t.1 < 0.99)
            errClip += abs(1 - t.0)
            errRec += abs(StageFixtures.pixel(out, x, 3).0 - t.0)
        }
        #expect(errRec < 0.1 * errClip)
        // Unclipped pixels are untouched.
        #expect(StageFixtures.pixel(out, 5, 2) == truth(5, 2))
        let small = try HighlightReconstructStage(radius: 4)
        #expect(StageFixtures.tiledMismatches(small, inputSize: FrameSize(width: 53, height: 29), seed: 31, range: 0...1.3) == 0)
    }

    @Test func filmicAnchorsMonotonicityAndTable() throws {
        let f = try FilmicStage(whiteEV: 4, blackEV: -10, contrast: 1, latitude: 0.25)
        #expect(f.curve(0.18 * 16) == 1)
        #expect(f.curve(0.18 / 1024) == 0)
        #expect(f.curve(10) == 1 && f.curve(0) == 0 && f.curve(-1) == 0)
        // Middle grey at contrast 1: display grey, offset by the black target.
        #expect(abs(f.curve(0.18) - (0.18 - 0.0005) / 0.9995) < 1e-12)
        // Strictly increasing between the anchors, and the table tracks the exact curve.
        var previous = -1.0
        var worst: Float = 0
        for i in 0...2000 {
            let x = 0.18 * exp2(-10 + 14 * Double(i) / 2000)
            let y = f.curve(x)
            #expect(y > previous || (i == 0 && y == 0))
            previous = y
            let viaStage = StageFixtures.apply(f, (Float(x), Float(x), Float(x))).0
            worst = max(worst, abs(viaStage - Float(y)))
        }
        #expect(worst < 2e-5)
        #expect(StageFixtures.apply(f, (2.88, 2.88, 2.88)) == (1, 1, 1))
        #expect(StageFixtures.apply(f, (100, 100, 100)) == (1, 1, 1))
        #expect(StageFixtures.apply(f, (0.18 / 1024, 0.18 / 1024, 0.18 / 1024)) == (0, 0, 0))
        // maxRGB keeps RGB ratios (no hue shift).
        let c = StageFixtures.apply(f, (0.8, 0.4, 0.2))
        #expect(abs(c.1 / c.0 - 0.5) < 1e-6 && abs(c.2 / c.0 - 0.25) < 1e-6)
        // Per-channel desaturates a bright colour.
        let pc = try FilmicStage(preserve: .perChannel)
        let d = StageFixtures.apply(pc, (2.0, 1.0, 0.5))
        #expect(d.1 / d.0 > 0.5)
    }

    @Test func filmicRejectsImpossibleShapesNamingTheParameter() {
        #expect(StageFixtures.rejects("whiteEV") { _ = try FilmicStage(whiteEV: 2, contrast: 1) })
        #expect(StageFixtures.rejects("blackEV") { _ = try FilmicStage(blackEV: -6, contrast: 1) })
        #expect(StageFixtures.rejects("latitude") { _ = try FilmicStage(whiteEV: 4, contrast: 1, latitude: 0.9) })
        #expect(StageFixtures.rejects("contrast") { _ = try FilmicStage(contrast: 0) })
        do {
            _ = try FilmicStage(whiteEV: 2)
            Issue.record("whiteEV 2 at contrast 1 was accepted")
        } catch {
            #expect("\(error)".contains("filmic stage: parameter 'whiteEV'"))
        }
    }

    @Test func pointwiseChainEqualsSequentialApplication() throws {
        let stages: [any PointwiseStage] = [try ExposureStage(ev: 0.7), try ContrastStage(contrast: 1.3),
                                            try SaturationStage(saturation: 1.2, vibrance: 0.3), try FilmicStage()]
        let rect = PixelRect(x: 0, y: 0, width: 101, height: 47) // > one chunk, not a multiple of it
        let img = StageFixtures.random(rect, seed: 5, range: 0...2)
        let size = FrameSize(width: 101, height: 47)
        var sequential = img
        for s in stages { sequential = s.apply(sequential, inputRect: rect, output: rect, inputSize: size) }
        let chained = PointwiseChain(stages).apply(img, inputRect: rect, output: rect, inputSize: size)
        #expect(chained.pixels.map(\.bitPattern) == sequential.pixels.map(\.bitPattern))
        #expect(PointwiseChain(stages).name == "exposure+contrast+saturation+filmic")
    }

    @Test func benchmarks() throws {
        guard StageFixtures.benchEnabled else { return }
        let size = FrameSize(width: 2048, height: 1536)
        let frame = PixelRect(x: 0, y: 0, width: size.width, height: size.height)
        let stages: [any RGBStage] = [
            try ExposureStage(ev: 0.5), try HighlightClipStage(), try HighlightBlendStage(), try HighlightReconstructStage(),
            try ContrastStage(contrast: 1.2), try SaturationStage(saturation: 1.1, vibrance: 0.3), try FilmicStage(),
            try FilmicStage(preserve: .perChannel), Look.natural.chain(), Look.punchy.chain(),
            LUTStage(lut: try CubeLUT.identity(size: 33)), LUTStage(lut: try CubeLUT.identity(size: 33), encoding: .linear),
            try SharpenStage(radius: 1, amount: 0.8), try SharpenStage(radius: 2, amount: 0.8, threshold: 0.01),
            try ResizeStage(target: .longEdge(1024)), try ResizeStage(target: .longEdge(683)), try CropStage(.aspect(width: 1, height: 1)),
        ]
        for stage in stages {
            let need = stage.inputRegion(for: frame, inputSize: size)
            let out = stage.outputSize(for: size)
            let o = PixelRect(x: 0, y: 0, width: out.width, height: out.height)
            let needO = stage.inputRegion(for: o, inputSize: size)
            // Values up to 1.01: ~6 % of pixels have a clipped channel (what reconstruct works on).
            let input = StageFixtures.random(needO, seed: 9, range: 0...1.01)
            _ = need
            let mps = StageFixtures.mps(pixels: out.width * out.height) {
                _ = stage.apply(input, inputRect: needO, output: o, inputSize: size)
            }
            print("BENCH \(stage.name) \(size) → \(out): \(String(format: "%.1f", mps)) MP/s (output) on 1 thread")
        }
    }
}
