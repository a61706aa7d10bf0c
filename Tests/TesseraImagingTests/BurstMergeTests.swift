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

@Suite struct BurstMergeInvariantTests {
    /// Merging 8 identical copies returns the frame; a burst of one is the frame.
    @Test func identicalCopiesAndSingleFrame() throws {
        let burst = try SynthBurst(size: 1, width: 160, height: 128, iso: 3200)
        let frame = burst.planes[0]
        let settings = burst.settings
        let copies = try BurstMerger.mergeFrames(reference: frame, alternates: Array(repeating: frame, count: 7), settings: settings, tileSize: 64)
        #expect(copies.plane == frame)
        #expect(abs(copies.effectiveFrames - 8) < 1e-3)
        let one = try BurstMerger.mergeFrames(reference: frame, alternates: [], settings: settings)
        #expect(one.plane == frame)
        let dev = burst.linearSettings
        #expect(try Developer.developFrame(one.plane, settings: dev) == Developer.developFrame(frame, settings: dev))
    }

    /// Tiles of random sizes and places, each merged from exactly the windows the geometry asks
    /// for, equal the whole-frame merge bit for bit (and so does any tile size and thread count).
    @Test func tiledMergeEqualsWholeMerge() throws {
        let burst = try SynthBurst(size: 4, width: 192, height: 128, iso: 3200, maxShift: 20, seed: 3)
        let settings = burst.settings
        let alts = Array(burst.planes[1...])
        let whole = try BurstMerger.mergeFrames(reference: burst.planes[0], alternates: alts, settings: settings, tileSize: 4096, threads: 1)
        let tiled = try BurstMerger.mergeFrames(reference: burst.planes[0], alternates: alts, settings: settings, tileSize: 48, threads: 2)
        #expect(tiled.plane == whole.plane)
        let ref = try BurstProxy(plane: burst.planes[0])
        let coarse = try alts.map { a throws(BurstError) in try BurstAligner.coarseShift(reference: ref, alternate: BurstProxy(plane: a)) }
        let seed = UInt64(0xB0257)
        var rng = SplitMix64(seed: seed)
        print("tiled ≡ whole: random tiles with seed \(seed)")
        for _ in 0..<6 {
            let x = 2 * Int(rng.next() % 90), y = 2 * Int(rng.next() % 58)
            let w = min(192 - x, 2 * Int(1 + rng.next() % 40)), h = min(128 - y, 2 * Int(1 + rng.next() % 30))
            let core = PixelRect(x: x, y: y, width: w, height: h)
            let reference = BurstRegion(cutting: BurstGeometry.referenceRect(core: core), from: burst.planes[0])
            let windows = alts.enumerated().map { z, a in BurstRegion(cutting: BurstGeometry.alternateRect(core: core, coarse: coarse[z]), from: a) }
            let r = try BurstMerger.alignAndMerge(reference: reference, alternates: windows, coarse: coarse, core: core, settings: settings)
            #expect(r.plane == Developer.window(core, of: whole.plane), "core \(core)")
        }
    }

    /// Windows smaller than the geometry asks for are refused with the role and both rects.
    @Test func tooSmallWindowsAreRefused() throws {
        let burst = try SynthBurst(size: 2, width: 128, height: 96, iso: 800, maxShift: 8, seed: 5)
        let core = PixelRect(x: 32, y: 32, width: 32, height: 32)
        let refRect = BurstGeometry.referenceRect(core: core)
        let altRect = BurstGeometry.alternateRect(core: core, coarse: .zero)
        let reference = BurstRegion(cutting: refRect, from: burst.planes[0])
        let short = PixelRect(x: altRect.x + 2, y: altRect.y, width: altRect.width - 2, height: altRect.height)
        let alternate = BurstRegion(cutting: short, from: burst.planes[1])
        #expect(throws: BurstError.regionTooSmall(role: "alternate 1", needed: altRect, given: short)) {
            try BurstMerger.alignAndMerge(reference: reference, alternates: [alternate], coarse: [.zero], core: core, settings: burst.settings)
        }
        let odd = PixelRect(x: 33, y: 32, width: 32, height: 32)
        #expect(throws: BurstError.self) {
            try BurstMerger.alignAndMerge(reference: reference, alternates: [], coarse: [], core: odd, settings: burst.settings)
        }
    }
}

@Suite struct BurstBenchmark {
    /// Align + merge of 8 × 12 MP frames (release, TESSERA_BENCH=1): seconds on all cores and on
    /// one, and the bytes a burst tile task carries at the default tile size.
    @Test func alignAndMerge12MP() throws {
        guard ProcessInfo.processInfo.environment["TESSERA_BENCH"] == "1" else { return }
        let w = 4000, h = 3000
        var options = SynthOptions(frames: 8, burstSize: 8, width: w, height: h, iso: 3200, seed: 21)
        options.supersampling = 1
        options.threads = 0
        let manifest = try ShootSynthesizer.plan(options)
        let planes = manifest.frames.map { f in ShootSynthesizer.mosaic(ShootSynthesizer.renderTruth(f, options: options), frame: f, options: options) }
        let f0 = manifest.frames[0]
        let settings = BurstSettings(blackLevels: f0.blackLevels, whiteLevel: Double(f0.whiteLevel), noise: NoiseModel(f0.noise))
        let clock = ContinuousClock()
        var proxies: [BurstProxy] = []
        let proxyTime = try clock.measure { proxies = try planes.map { p throws(BurstError) in try BurstProxy(plane: p) } }
        var coarse: [BurstShift] = []
        let coarseTime = try clock.measure {
            coarse = try proxies[1...].map { p throws(BurstError) in try BurstAligner.coarseShift(reference: proxies[0], alternate: p) }
        }
        let alts = Array(planes[1...])
        var result: BurstMergeResult? = nil
        let tile = 1024
        let two = try clock.measure { result = try BurstMerger.mergeFrames(reference: planes[0], alternates: alts, coarse: coarse, settings: settings, tileSize: tile) }
        let one = try clock.measure { _ = try BurstMerger.mergeFrames(reference: planes[0], alternates: alts, coarse: coarse, settings: settings, tileSize: tile, threads: 1) }
        let core = PixelRect(x: 1024, y: 1024, width: tile, height: tile)
        let refBytes = BurstGeometry.referenceRect(core: core).area * 2
        let altBytes = coarse.map { BurstGeometry.alternateRect(core: core, coarse: $0).area * 2 }.reduce(0, +)
        func s(_ d: Duration) -> String { String(format: "%.2f s", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
        print("burst bench 8 x \(w)x\(h): proxies \(s(proxyTime)), coarse shifts \(s(coarseTime)), align+merge \(s(two)) on \(ProcessInfo.processInfo.activeProcessorCount) cores, \(s(one)) on 1 core; effective frames \(String(format: "%.2f", result!.effectiveFrames)); tile task \(tile)x\(tile): reference \(refBytes) B + 7 alternates \(altBytes) B = \(refBytes + altBytes) B (core output \(core.area * 2) B)")
    }
}
