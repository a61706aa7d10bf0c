import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite struct BurstAlignTests {
    /// The coarse estimate finds global shifts of ±64 px within a few pixels.
    @Test func coarseShiftHandles64Pixels() throws {
        let burst = try SynthBurst(size: 1, width: 384, height: 256, iso: 1600, seed: 9)
        let frame = burst.planes[0]
        for (dx, dy) in [(64, -64), (-64, 64), (-37, 12), (0, 0)] {
            // alternate(x) = reference(x + dx) ⇒ reference(p) = alternate(p − dx): displacement (−dx, −dy).
            let alt = Developer.window(PixelRect(x: dx, y: dy, width: frame.width, height: frame.height), of: frame)
            let s = try BurstAligner.coarseShift(reference: frame, alternate: alt)
            #expect(abs(s.dx + dx) <= 4 && abs(s.dy + dy) <= 4, "shift (\(dx), \(dy)) estimated \(s)")
        }
        let synth = try SynthBurst(size: 4, width: 384, height: 256, iso: 1600, maxShift: 64, seed: 2)
        for z in 1..<4 {
            let s = try BurstAligner.coarseShift(reference: synth.planes[0], alternate: synth.planes[z])
            let truth = synth.frames[z].shift
            #expect(abs(Double(s.dx) + truth.dx) <= 4 && abs(Double(s.dy) + truth.dy) <= 4, "frame \(z): \(s) vs camera shift \(truth)")
        }
    }

    /// Tile displacements match the camera shift (to the even grid) away from the moving object.
    @Test func tileDisplacementsFollowTheCamera() throws {
        let burst = try SynthBurst(size: 3, width: 192, height: 128, iso: 1600, maxShift: 24, seed: 4)
        let core = PixelRect(x: 0, y: 0, width: 192, height: 128)
        let coarse = try (1..<3).map { z throws(BurstError) in try BurstAligner.coarseShift(reference: burst.planes[0], alternate: burst.planes[z]) }
        let reference = BurstRegion(cutting: BurstGeometry.referenceRect(core: core), from: burst.planes[0])
        let alts = (1..<3).map { z in BurstRegion(cutting: BurstGeometry.alternateRect(core: core, coarse: coarse[z - 1]), from: burst.planes[z]) }
        let fields = try BurstAligner.align(reference: reference, alternates: alts, coarse: coarse, core: core)
        let object = burst.objectPath(grow: 16)
        for (z, field) in fields.enumerated() {
            let truth = burst.frames[z + 1].shift
            var good = 0, total = 0
            for j in field.firstTileY..<(field.firstTileY + field.rows) {
                for i in field.firstTileX..<(field.firstTileX + field.columns) {
                    let tile = PixelRect(x: 16 * i, y: 16 * j, width: 32, height: 32)
                    // Tiles fully inside the frame and its shifted copy, away from the object.
                    let shifted = PixelRect(x: tile.x - Int(truth.dx.rounded()), y: tile.y - Int(truth.dy.rounded()), width: 32, height: 32)
                    guard core.contains(tile), core.expanded(by: -4).contains(shifted), !object.contains(where: { $0.intersection(tile).area > 0 }) else { continue }
                    let d = field.shift(tileX: i, tileY: j)!
                    total += 1
                    if abs(Double(d.dx) + truth.dx) <= 1.5 && abs(Double(d.dy) + truth.dy) <= 1.5 { good += 1 }
                }
            }
            print("alternate \(z + 1) camera shift (\(truth.dx), \(truth.dy)): \(good)/\(total) static tiles within 1.5 px")
            #expect(total > 10 && Double(good) >= 0.95 * Double(total))
        }
    }

    /// The noise estimator recovers the synthesiser's NoiseProfile from one high-ISO frame within
    /// the bias the synthetic scene's texture (fine detail everywhere) adds: it overestimates,
    /// never underestimates (which would make the merge ghost).
    @Test func noiseEstimateMatchesProfile() throws {
        for iso in [3200, 6400] {
            let burst = try SynthBurst(size: 1, width: 256, height: 192, iso: iso, seed: 12)
            let f = burst.frames[0]
            let model = try NoiseEstimator.estimate(burst.planes[0], blackLevels: f.blackLevels, whiteLevel: Double(f.whiteLevel))
            let truth = NoiseModel(f.noise)
            let ratios = [0.05, 0.2, 0.5].map { model.variance(at: $0) / truth.variance(at: $0) }
            print("ISO \(iso): estimated S \(model.scale) O \(model.offset) vs profile S \(truth.scale) O \(truth.offset); variance ratios at 5/20/50 %: \(ratios.map(BurstFixtures.f2))")
            for r in ratios { #expect(r > 0.9 && r < 1.8) }
        }
    }
}

@Suite struct BurstGroupingTests {
    @Test func groupsByTimeGapSequenceAndSize() {
        let frames = [
            BurstCandidate(name: "c", captureTime: 10.2, sequence: 3),
            BurstCandidate(name: "a", captureTime: 10.0, sequence: 1),
            BurstCandidate(name: "b", captureTime: 10.1, sequence: 2),
            BurstCandidate(name: "d", captureTime: 10.3, sequence: 9),  // sequence jump
            BurstCandidate(name: "e", captureTime: 10.4, sequence: 10),
            BurstCandidate(name: "f", captureTime: 14.0, sequence: 11),  // time gap
            BurstCandidate(name: "g", captureTime: nil, sequence: nil),
        ]
        #expect(BurstGrouper.group(frames, maxGap: 0.5, maxBurst: 16) == [[1, 2, 0], [3, 4], [5], [6]])
        #expect(BurstGrouper.group(frames, maxGap: 0.5, maxBurst: 2) == [[1, 2], [0], [3, 4], [5], [6]])
        #expect(BurstGrouper.group(frames, maxGap: 5, maxBurst: 16) == [[1, 2, 0], [3, 4, 5], [6]])
    }

    @Test func synthBurstsAreFoundFromEXIFTimes() throws {
        var options = SynthOptions(frames: 12, burstSize: 4, width: 64, height: 64)
        options.maxShift = 8
        let plan = try ShootSynthesizer.plan(options)
        let frames = plan.frames.map { BurstCandidate(name: $0.fileName, captureTime: $0.timeSeconds) }
        #expect(BurstGrouper.group(frames, maxGap: 1, maxBurst: 16) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
        let info = RawFrameInfo(width: 8, height: 8, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 1, asShotMultipliers: [1, 1, 1],
                                cameraToSRGB: .identity, timestamp: 1_700_000_000)
        #expect(BurstCandidate(name: "x", info: info, subSecond: "250").captureTime == 1_700_000_000.25)
    }

    @Test func manifestGroupsAndErrors() throws {
        let names = ["IMG_1.dng", "IMG_2.dng", "IMG_3.dng", "IMG_4.dng"]
        let ok = #"{"bursts": [{"frames": ["IMG_2.dng", "IMG_3.dng"], "reference": "IMG_3.dng"}]}"#
        let groups = try BurstGrouper.groups(manifest: Array(ok.utf8), source: "bursts.json", names: names)
        #expect(groups == [BurstGroup(frames: [1, 2], reference: 2), BurstGroup(frames: [0], reference: 0), BurstGroup(frames: [3], reference: 3)])
        let bad: [(String, String)] = [
            ("{", "not a burst manifest"),
            (#"{"bursts": [{"frames": []}]}"#, "burst 1 lists no frames"),
            (#"{"bursts": [{"frames": ["IMG_9.dng"]}]}"#, "unknown frame 'IMG_9.dng'"),
            (#"{"bursts": [{"frames": ["IMG_1.dng"]}, {"frames": ["IMG_1.dng"]}]}"#, "already in burst 1"),
            (#"{"bursts": [{"frames": ["IMG_1.dng"], "reference": "IMG_2.dng"}]}"#, "reference 'IMG_2.dng' is not one of its frames"),
        ]
        for (text, message) in bad {
            do {
                _ = try BurstGrouper.groups(manifest: Array(text.utf8), source: "bursts.json", names: names)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains("bursts.json") && error.description.contains(message), "\(error)")
            }
        }
    }

    /// The sharpest of the first three frames is the reference: a blurred copy loses.
    @Test func referenceIsTheSharpest() throws {
        let burst = try SynthBurst(size: 1, width: 128, height: 96, iso: 400, seed: 8)
        let sharp = burst.planes[0]
        var blurred = sharp
        for y in 0..<sharp.height {
            for x in 0..<sharp.width {
                let xs = [x - 2, x, x + 2].map { BorderIndex.reflect101($0, count: sharp.width) }
                blurred[x, y] = UInt16(xs.map { Int(sharp[$0, y]) }.reduce(0, +) / 3)
            }
        }
        let s = [blurred, sharp, blurred, sharp].map { BurstGrouper.sharpness($0, cfa: .rggb) }
        #expect(BurstGrouper.chooseReference(sharpness: s) == 1)
        #expect(BurstGrouper.chooseReference(sharpness: [s[0], s[0], s[0], s[1]]) == 0)
    }
}

@Suite struct MergedDNGTests {
    /// The merged DNG decodes back with the reference's levels, CFA, white balance and colour.
    @Test func mergedDNGRoundTripsThroughLibRaw() throws {
        let burst = try SynthBurst(size: 1, width: 96, height: 64, iso: 3200, seed: 6)
        let frame = burst.frames[0]
        var options = burst.options
        options.margin = 0
        let dng = try DNGWriter.encode(ShootSynthesizer.dngImage(burst.planes[0], frame: frame, options: options))
        let reference = try dng.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: frame.fileName) }
        let noise = NoiseModel(frame.noise)
        let image = try MergedDNG.image(merged: burst.planes[0], info: reference.info, noise: noise, effectiveFrames: 4, subSecTimeOriginal: frame.subSecTimeOriginal)
        #expect(image.metadata.noiseProfile == [DNGNoiseProfile(scale: noise.scale / 4, offset: noise.offset / 4)])
        let bytes = try DNGWriter.encode(image)
        let back = try bytes.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "IMG_0001-merged.dng") }
        #expect(back.plane == burst.planes[0])
        #expect(back.info.cfa == reference.info.cfa && back.info.blackLevels == reference.info.blackLevels)
        #expect(back.info.whiteLevel == reference.info.whiteLevel && back.info.dateTimeOriginal == reference.info.dateTimeOriginal)
        for c in 0..<3 { #expect(abs(back.info.asShotMultipliers[c] - reference.info.asShotMultipliers[c]) < 1e-3) }
        for i in 0..<9 { #expect(abs(back.info.cameraToSRGB.m[i] - reference.info.cameraToSRGB.m[i]) < 2e-3, "matrix entry \(i)") }
        #expect(throws: BurstError.self) { try MergedDNG.image(merged: RawPlane(width: 4, height: 4), info: reference.info, noise: noise, effectiveFrames: 1) }
    }
}
