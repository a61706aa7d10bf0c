import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// Demosaic quality on noiseless synthetic ground truth (linear, white-balanced camera RGB,
/// 8-px border cropped, per-channel gain fit): the fast path beats bilinear by ≥ 3 dB and the
/// quality path beats the fast path by ≥ 1.5 dB, on natural-image content and on hard content.
@Suite struct DemosaicQualityTests {
    static let width = 384, height = 256

    @Test(arguments: CFAPattern.all)
    func qualityPathBeatsFastPathBeatsBilinear(cfa: CFAPattern) throws {
        let shoot = try NoiselessShoot(width: Self.width, height: Self.height, cfa: cfa)
        let crop = PixelRect(x: 8, y: 8, width: Self.width - 16, height: Self.height - 16)
        // Natural-image statistics: the 1/f texture; the whole scene without the sub-Nyquist
        // "hard" line pairs; hard content: text, gratings, saturated discs on grey, the slanted
        // edge and the colour checker (sharp saturated colour edges).
        let sets: [(name: String, rects: [PixelRect], excluding: [PixelRect])] = [
            ("texture", [shoot.region("texture").intersection(crop)], []),
            ("scene without the hard lines", [crop], [shoot.region("hard", inset: -2)]),
            ("hard edges", ["text", "gratings", "discs", "slanted-edge", "checker"].map { shoot.region($0).intersection(crop) }, []),
        ]
        let images = try Dictionary(uniqueKeysWithValues: DemosaicMethod.allCases.map { ($0, try shoot.develop($0)) })
        for set in sets {
            let psnr = images.mapValues { DemosaicQuality.psnr($0, reference: shoot.reference, rects: set.rects, excluding: set.excluding) }
            let bilinear = psnr[.bilinear]!, mhc = psnr[.mhc]!, rcd = psnr[.rcd]!
            print(String(format: "demosaic %@ %@: bilinear %.2f dB, mhc %.2f dB, rcd %.2f dB", "\(cfa)", set.name, bilinear, mhc, rcd))
            #expect(mhc >= bilinear + 3, "\(cfa) \(set.name): MHC \(mhc) dB vs bilinear \(bilinear) dB")
            #expect(rcd >= mhc + 1.5, "\(cfa) \(set.name): RCD \(rcd) dB vs MHC \(mhc) dB")
        }
        // Absolute floors, so a regression that hurts every method alike is caught too.
        #expect(psnrOf(images[.rcd]!, shoot, [crop], [shoot.region("hard", inset: -2)]) >= 48)
        #expect(psnrOf(images[.mhc]!, shoot, [crop], [shoot.region("hard", inset: -2)]) >= 40)
    }

    func psnrOf(_ image: RGBImageF, _ shoot: NoiselessShoot, _ rects: [PixelRect], _ excluding: [PixelRect]) -> Double {
        DemosaicQuality.psnr(image, reference: shoot.reference, rects: rects, excluding: excluding)
    }
}
