import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite struct BurstMergeQualityTests {
    /// Bursts of 8 at ISO 6400 with shifts up to ±32 px and a moving object: merged vs single
    /// frame, PSNR in linear light against the reference's truth.
    @Test func mergedBurstBeatsSingleFrame() throws {
        let burst = try SynthBurst(size: 8, width: 256, height: 192, iso: 6400)
        let settings = burst.settings
        let merged = try BurstMerger.mergeFrames(reference: burst.planes[0], alternates: Array(burst.planes[1...]), settings: settings, tileSize: 128)
        let dev = burst.linearSettings
        let single = try Developer.developFrame(burst.planes[0], settings: dev)
        let mergedRGB = try Developer.developFrame(merged.plane, settings: dev)
        let truth = burst.truth16
        let crop = Int(burst.options.maxShift)
        let excluded = burst.objectPath(grow: 3) + [burst.hardRegion]
        let staticSingle = ImageMetrics.psnr(single, truth, crop: crop, excluding: excluded)
        let staticMerged = ImageMetrics.psnr(mergedRGB, truth, crop: crop, excluding: excluded)
        let wholeSingle = ImageMetrics.psnr(single, truth, crop: 4, excluding: excluded)
        let wholeMerged = ImageMetrics.psnr(mergedRGB, truth, crop: 4, excluding: excluded)
        let box = burst.referenceObjectBox
        let objSingle = ImageMetrics.psnr(BurstFixtures.crop(single, box), BurstFixtures.crop(truth, box))
        let objMerged = ImageMetrics.psnr(BurstFixtures.crop(mergedRGB, box), BurstFixtures.crop(truth, box))
        print("burst 8 x 256x192 ISO 6400 shift ±32: static (crop \(crop)) single \(BurstFixtures.f2(staticSingle)) merged \(BurstFixtures.f2(staticMerged)) (+\(BurstFixtures.f2(staticMerged - staticSingle)) dB); whole frame excl. object path single \(BurstFixtures.f2(wholeSingle)) merged \(BurstFixtures.f2(wholeMerged)) (+\(BurstFixtures.f2(wholeMerged - wholeSingle))); object box \(box) single \(BurstFixtures.f2(objSingle)) merged \(BurstFixtures.f2(objMerged)) (+\(BurstFixtures.f2(objMerged - objSingle))); effective frames \(BurstFixtures.f2(merged.effectiveFrames))")
        for (i, f) in burst.frames.enumerated() { print("frame \(i) shift \(f.shift.dx), \(f.shift.dy)") }
        #expect(staticMerged - staticSingle >= 6.5)
        #expect(objMerged - objSingle >= 0)
    }
}
