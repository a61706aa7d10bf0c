import Foundation
import Testing
import XCTest
import TesseraCore
import TesseraImaging

/// Small shoots: debug builds are ~20× slower than release.
private func smallOptions(frames: Int = 2, burst: Int = 1, iso: Int = 100, seed: UInt64 = 1,
                          pattern: CFAPattern = .rggb, margin: Int = 0) -> SynthOptions {
    var o = SynthOptions(frames: frames, burstSize: burst, width: 256, height: 192, iso: iso, seed: seed,
                         pattern: pattern, margin: margin)
    o.maxShift = 12
    return o
}

private func files(in dir: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir) { out[name] = try dngTestReadBytes(dir + "/" + name) }
    return out
}

@Suite struct SynthDeterminismTests {
    @Test func sameSeedSameBytesDifferentSeedDifferentBytes() throws {
        let a = try DNGTestTempDir("synth-a"), b = try DNGTestTempDir("synth-b"), c = try DNGTestTempDir("synth-c")
        defer { a.remove(); b.remove(); c.remove() }
        var one = smallOptions(frames: 2, burst: 2, margin: 2)
        one.threads = 1
        var two = one
        two.threads = 2
        try ShootSynthesizer.write(one, to: a.file("raw"), truthDirectory: a.file("truth"))
        try ShootSynthesizer.write(two, to: b.file("raw"), truthDirectory: b.file("truth"))
        try ShootSynthesizer.write(smallOptions(frames: 2, burst: 2, seed: 2, margin: 2), to: c.file("raw"), truthDirectory: c.file("truth"))
        let rawA = try files(in: a.file("raw")), truthA = try files(in: a.file("truth"))
        #expect(rawA.keys.sorted() == ["IMG_0001.dng", "IMG_0002.dng"])
        #expect(truthA.keys.sorted() == ["IMG_0001.linear.tif", "IMG_0001.srgb.tif", "IMG_0002.linear.tif", "IMG_0002.srgb.tif", "manifest.json"])
        #expect(rawA == (try files(in: b.file("raw"))), "DNG bytes depend on the thread count")
        #expect(truthA == (try files(in: b.file("truth"))), "truth bytes depend on the thread count")
        let rawC = try files(in: c.file("raw"))
        for (name, bytes) in rawA { #expect(rawC[name] != bytes, "\(name) did not change with the seed") }
    }

    @Test func optionsAreValidatedByName() {
        var o = smallOptions()
        o.margin = 3
        #expect(throws: SynthError.self) { try ShootSynthesizer.plan(o) }
        do { _ = try ShootSynthesizer.plan(o) } catch { #expect(error.description.contains("margin")) }
        o = smallOptions()
        o.width = 8
        do { _ = try ShootSynthesizer.plan(o); Issue.record("width 8 accepted") } catch { #expect(error.description.contains("width")) }
        do { _ = try ShootSynthesizer.renderTruth(smallOptions(frames: 2), frame: 5); Issue.record("frame 5 of 2 rendered") } catch {
            #expect(error == .noSuchFrame(index: 5, frames: 2))
        }
    }
}

@Suite struct SynthFileTests {
    /// The DNG LibRaw reads is the plane we rendered: raw values, phase, margin, ISO, blacks.
    @Test(arguments: CFAPattern.all)
    func libRawReadsSynthesisedFrames(pattern: CFAPattern) throws {
        let dir = try DNGTestTempDir("synth-libraw")
        defer { dir.remove() }
        var o = smallOptions(frames: 1, iso: 400, pattern: pattern, margin: 4)
        o.width = 96
        o.height = 64
        try ShootSynthesizer.write(o, to: dir.path, truthDirectory: nil)
        let plane = try ShootSynthesizer.mosaic(o, frame: 0)
        #expect(plane.width == 104 && plane.height == 72)
        guard let info = DNGTestTools.run("raw-identify", ["-v", "IMG_0001.dng"], in: dir.path) else { return }
        #expect(info.contains("Camera: Tessera SynthCam 14"))
        #expect(info.contains("ISO speed: 400"))
        #expect(info.contains("Image size:    96 x 64"))
        #expect(info.contains("Filter pattern: \(pattern.description)"))
        #expect(info.contains("cblack[6 .. 9]: 512 514 511 513"))
        #expect(info.contains("Timestamp: Sat May 18 10:00:00 2024"))
        let args = ["-disinterp", "-o", "0", "-4", "-T", "-r", "1", "1", "1", "1", "-k", "0", "-S", "65535", "-Z", "raw.tiff", "IMG_0001.dng"]
        guard DNGTestTools.run("dcraw_emu", args, in: dir.path) != nil else { return }
        let out = try DNGTestTIFF(dngTestReadBytes(dir.file("raw.tiff")))
        let img = try out.samples16(try out.ifd0())
        #expect(img.width == 96 && img.height == 64)
        var mismatches = 0
        for y in 0..<64 {
            for x in 0..<96 {
                let c = Int(pattern.color(x: x, y: y).rawValue)
                if img.samples[(y * 96 + x) * 3 + c] != plane[x + 4, y + 4] { mismatches += 1 }
            }
        }
        #expect(mismatches == 0, "\(mismatches) raw values differ (\(pattern))")
    }

    @Test func truthFilesAndManifestReadBack() throws {
        let dir = try DNGTestTempDir("synth-truth")
        defer { dir.remove() }
        let o = smallOptions(frames: 2, burst: 2)
        let manifest = try ShootSynthesizer.write(o, to: dir.file("raw"), truthDirectory: dir.file("truth"))
        let truth = try ShootSynthesizer.renderTruth(o, frame: 1)
        #expect(truth.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "scene leaves [0, 1]")
        let linear = try DNGTestTIFF(dngTestReadBytes(dir.file("truth/IMG_0002.linear.tif")))
        let l = try linear.samples16(try linear.ifd0())
        #expect(l.width == 256 && l.height == 192 && l.channels == 3)
        #expect(l.samples == ShootSynthesizer.encodeTruth(truth, transfer: .linear).pixels)
        for i in stride(from: 0, to: truth.pixels.count, by: 97) {
            #expect(abs(Double(l.samples[i]) - Double(truth.pixels[i]) * 65535) <= 0.5001)
        }
        let srgb = try DNGTestTIFF(dngTestReadBytes(dir.file("truth/IMG_0002.srgb.tif")))
        let s = try srgb.samples16(try srgb.ifd0())
        for i in stride(from: 0, to: truth.pixels.count, by: 89) {
            let v = Double(truth.pixels[i])
            let e = v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
            #expect(abs(Double(s.samples[i]) - e * 65535) <= 0.51)
        }
        let decoded = try JSONDecoder().decode(SynthManifest.self, from: Data(dngTestReadBytes(dir.file("truth/manifest.json"))))
        #expect(decoded == manifest)
        #expect(try dngTestReadBytes(dir.file("truth/manifest.json")) == ShootSynthesizer.manifestJSON(manifest))
    }

    @Test func exifTimesAndLevelsInTheDNG() throws {
        let o = smallOptions(frames: 3, burst: 3, iso: 3200, margin: 2)
        let manifest = try ShootSynthesizer.plan(o)
        let frame = manifest.frames[2]
        let image = ShootSynthesizer.dngImage(try ShootSynthesizer.mosaic(o, frame: 2), frame: frame, options: o)
        let tiff = try DNGTestTIFF(DNGWriter.encode(image))
        let ifd = try tiff.ifd0()
        let exif = try tiff.directory(at: Int(try tiff.numbers(ifd, 34665)[0]))
        #expect(try tiff.string(exif, 36867) == frame.dateTimeOriginal)
        #expect(try tiff.string(exif, 37521) == frame.subSecTimeOriginal)
        #expect(frame.subSecTimeOriginal.count == 3 && frame.subSecTimeOriginal != "000")
        #expect(try tiff.numbers(exif, 34855) == [3200])
        #expect(try tiff.numbers(exif, 33434) == [1.0 / 4000])
        #expect(try tiff.numbers(ifd, 50829) == [2, 2, 194, 258])
        let np = try tiff.numbers(ifd, 51041)
        #expect(np.count == 6 && np[0] == frame.noise.scale && np[1] == frame.noise.offset)
        let neutral = try tiff.numbers(ifd, 50728)
        #expect(neutral.max()! > 0.9999 && neutral.max()! < 1.0001, "AsShotNeutral strongest channel is 1: \(neutral)")
    }
}

@Suite struct SynthPhysicsTests {
    /// The masked border sits at each cell's own black level (per-channel blacks are visible),
    /// indexed from the active area's origin.
    @Test func maskedBorderShowsPerCellBlackLevels() throws {
        var o = smallOptions(frames: 1, margin: 6)
        o.blackLevels = [500, 530, 515, 545]
        let plane = try ShootSynthesizer.mosaic(o, frame: 0)
        var sum = [Double](repeating: 0, count: 4), count = [Double](repeating: 0, count: 4)
        for y in 0..<plane.height {
            for x in 0..<plane.width {
                let inside = x >= 6 && x < 6 + 256 && y >= 6 && y < 6 + 192
                if inside { continue }
                let cell = CFAPattern.cell(x: x - 6, y: y - 6)
                sum[cell] += Double(plane[x, y])
                count[cell] += 1
            }
        }
        for c in 0..<4 {
            #expect(abs(sum[c] / count[c] - o.blackLevels[c]) < 0.3, "cell \(c): mean \(sum[c] / count[c]), black \(o.blackLevels[c])")
        }
    }

    /// Measured variance of a flat field matches the Poisson–Gaussian model (and the DNG
    /// NoiseProfile) within 10%, in the Gaussian regime and in the exact-Poisson regime.
    @Test(arguments: [(1600, 0.25), (12800, 0.02), (100, 0.5)])
    func flatFieldVarianceMatchesModel(iso: Int, grey: Float) throws {
        var o = smallOptions(frames: 1, iso: iso)
        o.width = 160
        o.height = 160
        let frame = try ShootSynthesizer.plan(o).frames[0]
        let truth = RGBImageF(width: 160, height: 160, pixels: [Float](repeating: grey, count: 160 * 160 * 3))
        let plane = ShootSynthesizer.mosaic(truth, frame: frame, options: o)
        let m = SynthCamera.standard.cameraFromLinearSRGB
        for color in CFAColor.allCases {
            var values: [Double] = []
            var black = 0.0
            for y in 0..<160 {
                for x in 0..<160 where o.pattern.color(x: x, y: y) == color {
                    values.append(Double(plane[x, y]))
                    black = o.blackLevels[CFAPattern.cell(x: x, y: y)]
                }
            }
            // Restrict to one black level (one cell) for the green channel's two cells.
            let c = Int(color.rawValue)
            let signal = o.exposureScale * Double(grey) * (m[3 * c] + m[3 * c + 1] + m[3 * c + 2])
            let lambda = signal * frame.fullWellElectrons
            let range = Double(o.whiteLevel) - black
            let gain = range / frame.fullWellElectrons
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            let model = gain * gain * (lambda + frame.readNoiseElectrons * frame.readNoiseElectrons) + 1.0 / 12
            let profile = frame.noise.variance(at: signal) * range * range
            if color != .green {  // green mixes two black levels; its mean check would be off by ~1 DN
                #expect(abs(mean - (black + lambda * gain)) < 0.5 + 3 * (variance / Double(values.count)).squareRoot(),
                        "ISO \(iso) \(color): mean \(mean), want \(black + lambda * gain)")
            }
            #expect(abs(variance / model - 1) < 0.10, "ISO \(iso) \(color): variance \(variance), model \(model), λ = \(lambda) e-")
            #expect(abs(profile / model - 1) < 0.02, "NoiseProfile disagrees with the model: \(profile) vs \(model)")
        }
    }

    @Test func lowISOIsCleanHighISOIsNoisy() throws {
        // Relative noise of 18% grey in the green channel.
        func relativeNoise(_ iso: Int) throws -> Double {
            let frame = try ShootSynthesizer.plan(smallOptions(frames: 1, iso: iso)).frames[0]
            let x = 0.8 * 0.18
            return frame.noise.variance(at: x).squareRoot() / x
        }
        #expect(try relativeNoise(100) < 0.02)
        #expect(try relativeNoise(3200) > 0.06)
    }
}

@Suite struct SynthBurstTests {
    @Test func burstPlanIsConsistent() throws {
        let o = smallOptions(frames: 7, burst: 3)
        let frames = try ShootSynthesizer.plan(o).frames
        #expect(frames.map(\.burst) == [0, 0, 0, 1, 1, 1, 2])
        #expect(frames.map(\.indexInBurst) == [0, 1, 2, 0, 1, 2, 0])
        #expect(frames.map(\.fileName) == (1...7).map { String(format: "IMG_%04d.dng", $0) })
        for f in frames {
            if f.indexInBurst == 0 { #expect(f.shift == SynthShift(dx: 0, dy: 0)) }
            #expect(abs(f.shift.dx) <= o.maxShift && abs(f.shift.dy) <= o.maxShift)
            #expect(f.object != nil)
            // The EXIF time text agrees with timeSeconds (base 2024-05-18 10:00:00.000).
            let ms = Int((f.timeSeconds * 1000).rounded())
            let s = ms / 1000
            #expect(f.dateTimeOriginal == String(format: "2024:05:18 10:%02d:%02d", s / 60, s % 60))
            #expect(f.subSecTimeOriginal == String(format: "%03d", ms % 1000))
        }
        #expect(frames.dropFirst().contains { $0.shift.dx != 0 && $0.shift.dx != $0.shift.dx.rounded() }, "no sub-pixel shift")
        for (a, b) in zip(frames, frames.dropFirst()) {
            let dt = b.timeSeconds - a.timeSeconds
            if a.burst == b.burst {
                #expect(dt >= 0.09 && dt <= 0.11, "in-burst interval \(dt)")
                // The object's frame box moves by its velocity minus the change of camera shift.
                let oa = a.object!, ob = b.object!
                #expect(abs((ob.centerX - oa.centerX) - (oa.velocityX - (b.shift.dx - a.shift.dx))) < 1e-9)
                #expect(abs((ob.centerY - oa.centerY) - (oa.velocityY - (b.shift.dy - a.shift.dy))) < 1e-9)
                let speed = (oa.velocityX * oa.velocityX + oa.velocityY * oa.velocityY).squareRoot()
                #expect(speed >= 3 && speed <= 6)
            } else {
                #expect(dt >= 3, "gap between bursts \(dt)")
            }
        }
        let single = try ShootSynthesizer.plan(smallOptions(frames: 3, burst: 1)).frames
        #expect(single.allSatisfy { $0.object == nil && $0.shift == SynthShift(dx: 0, dy: 0) })
    }

    /// A camera shift is a pure offset in scene coordinates: with an integer shift the truth is
    /// the reference truth translated, bit for bit, away from the moving object.
    @Test func integerShiftTranslatesTheTruthExactly() throws {
        let o = smallOptions(frames: 1)
        var frame = try ShootSynthesizer.plan(o).frames[0]
        let reference = ShootSynthesizer.renderTruth(frame, options: o)
        frame.shift = SynthShift(dx: 5, dy: -3)
        let shifted = ShootSynthesizer.renderTruth(frame, options: o)
        var differences = 0
        for y in 3..<192 {
            for x in 0..<(256 - 5) {
                for c in 0..<3 where shifted.pixels[(y * 256 + x) * 3 + c] != reference.pixels[((y - 3) * 256 + x + 5) * 3 + c] {
                    differences += 1
                }
            }
        }
        #expect(differences == 0)
        #expect(shifted.pixels != reference.pixels)
    }

    /// The moving object is drawn where the manifest says: inside its pixel box the frame
    /// differs from the object-free render, outside it does not.
    @Test func movingObjectStaysInsideItsBox() throws {
        let o = smallOptions(frames: 2, burst: 2)
        let frame = try ShootSynthesizer.plan(o).frames[1]
        let box = try #require(frame.object?.pixelBox)
        var bare = frame
        bare.object = nil
        let with = ShootSynthesizer.renderTruth(frame, options: o), without = ShootSynthesizer.renderTruth(bare, options: o)
        var inside = 0, outside = 0
        for y in 0..<192 {
            for x in 0..<256 where with.pixels[(y * 256 + x) * 3] != without.pixels[(y * 256 + x) * 3] {
                if x >= box.x && x < box.maxX && y >= box.y && y < box.maxY { inside += 1 } else { outside += 1 }
            }
        }
        #expect(outside == 0)
        #expect(inside > box.area / 2)
    }
}

@Suite struct SynthThroughputTests {
    /// Renders one 1 MP frame (truth + noisy mosaic) on one and on all threads, checks the
    /// results are identical and prints the throughput (release: see docs/synth.md).
    @Test func throughputAndThreadIndependence() throws {
        var o = SynthOptions(frames: 1, width: 1024, height: 1024, iso: 800)
        o.threads = 1
        let frame = try ShootSynthesizer.plan(o).frames[0]
        let start1 = ContinuousClock.now
        let plane1 = ShootSynthesizer.mosaic(ShootSynthesizer.renderTruth(frame, options: o), frame: frame, options: o)
        let t1 = ContinuousClock.now - start1
        o.threads = 0
        let startN = ContinuousClock.now
        let planeN = ShootSynthesizer.mosaic(ShootSynthesizer.renderTruth(frame, options: o), frame: frame, options: o)
        let tN = ContinuousClock.now - startN
        #expect(plane1 == planeN)
        func mps(_ d: Duration) -> Double { 1.048576 / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
        print("synth throughput (truth + mosaic, 1 MP): 1 thread \(mps(t1)) MP/s, all cores \(mps(tN)) MP/s")
    }
}

/// The one XCTest case of this target (keeps XCTest's summary meaningful; see PLATFORM.md).
final class SynthXCTests: XCTestCase {
    func testPlanIsStable() throws {
        let a = try ShootSynthesizer.plan(SynthOptions(frames: 4, burstSize: 2, width: 256, height: 192))
        let b = try ShootSynthesizer.plan(SynthOptions(frames: 4, burstSize: 2, width: 256, height: 192))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.frames.count, 4)
    }
}
