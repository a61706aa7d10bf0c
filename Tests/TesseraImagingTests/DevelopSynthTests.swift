import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// End to end through the synthesiser: scene → noisy mosaic → DNG → LibRaw → develop → PSNR
/// against the synthesiser's sRGB truth.
@Suite struct DevelopSynthTests {
    /// The pixels of `rects` from `image`, as one row (for metrics over chosen regions).
    static func gather(_ image: RGBImage16, _ rects: [PixelRect]) -> RGBImage16 {
        var pixels: [UInt16] = []
        for r in rects {
            for y in r.y..<r.maxY {
                for x in r.x..<r.maxX { pixels += image.pixels[(y * image.width + x) * 3..<(y * image.width + x) * 3 + 3] }
            }
        }
        return RGBImage16(width: pixels.count / 3, height: 1, pixels: pixels)
    }

    /// A scene region shrunk by `inset` pixels (so the demosaic halo stays inside it).
    static func rect(_ r: SynthRegion, inset: Int) -> PixelRect {
        rect(x: r.x, y: r.y, width: r.width, height: r.height, inset: inset)
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, inset: Int) -> PixelRect {
        let x0 = Int(x.rounded(.up)) + inset, y0 = Int(y.rounded(.up)) + inset
        let x1 = Int((x + width).rounded(.down)) - inset, y1 = Int((y + height).rounded(.down)) - inset
        return PixelRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }

    @Test(arguments: CFAPattern.all)
    func developedSyntheticFrameMatchesItsTruth(cfa: CFAPattern) throws {
        let w = 320, h = 224
        var options = SynthOptions(frames: 1, width: w, height: h, iso: 100, seed: 11, pattern: cfa, margin: 4)
        options.threads = 2
        let manifest = try ShootSynthesizer.plan(options)
        let frame = manifest.frames[0]
        let truth = ShootSynthesizer.renderTruth(frame, options: options)
        let plane = ShootSynthesizer.mosaic(truth, frame: frame, options: options)
        let dng = try DNGWriter.encode(ShootSynthesizer.dngImage(plane, frame: frame, options: options))
        let decoded = try dng.withUnsafeBytes { raw in try RawDecoder.decode(bytes: raw, name: "synth-\(cfa).dng") }

        // LibRaw reports what the synthesiser wrote.
        #expect(decoded.info.cfa == cfa)
        #expect(decoded.info.blackLevels == frame.blackLevels)
        #expect(decoded.info.whiteLevel == Double(frame.whiteLevel))
        #expect(decoded.info.width == w && decoded.info.height == h)
        #expect(decoded.info.dateTimeOriginal == frame.dateTimeOriginal)
        for c in 0..<3 {
            let want = frame.asShotNeutral[1] / frame.asShotNeutral[c]
            #expect(abs(decoded.info.asShotMultipliers[c] - want) < 1e-3, "multiplier \(c)")
        }

        // Develop with the exposure scale undone, compare with the sRGB truth.
        var recipe = Recipe.neutral
        recipe.exposureEV = log2(1 / options.exposureScale)
        let developed = try Developer.developFrame(decoded, settings: DevelopSettings.resolve(recipe: recipe, info: decoded.info))
        let truth16 = ShootSynthesizer.encodeTruth(truth, transfer: .sRGB)

        // Natural-image-like content: the texture and gradient regions and the interiors of the
        // 24 checker patches (6 × 4 cells, 12 % inset, plus 2 px for the demosaic halo).
        let regions = Dictionary(uniqueKeysWithValues: manifest.scene.regions.map { ($0.name, $0) })
        var rects = [Self.rect(regions["texture"]!, inset: 3), Self.rect(regions["gradient"]!, inset: 3)]
        let checker = regions["checker"]!
        let cw = checker.width / 6, ch = checker.height / 4
        for row in 0..<4 {
            for col in 0..<6 {
                rects.append(Self.rect(x: checker.x + Double(col) * cw + 0.12 * cw, y: checker.y + Double(row) * ch + 0.12 * ch,
                                       width: 0.76 * cw, height: 0.76 * ch, inset: 2))
            }
        }
        let natural = ImageMetrics.psnr(Self.gather(developed, rects), Self.gather(truth16, rects), gainFit: true)
        #expect(natural >= 38, "\(cfa): PSNR \(natural) dB over texture, gradient and patch interiors")
        #expect(ImageMetrics.psnr(developed, truth16, crop: 4, gainFit: true) >= 20, "\(cfa): whole frame")

        // The whole frame without the deliberately hard region, for the record (sharp saturated
        // edges limit MHC here; see docs/develop.md).
        let hard = Self.rect(regions["hard"]!, inset: -2)
        let wholeFrame = ImageMetrics.psnr(developed, truth16, crop: 4, excluding: [hard], gainFit: true)
        print("synthetic \(cfa) \(w)x\(h) ISO 100 vs sRGB truth (gain fit): natural regions \(String(format: "%.2f", natural)) dB, whole frame excl. hard \(String(format: "%.2f", wholeFrame)) dB")
    }
}
