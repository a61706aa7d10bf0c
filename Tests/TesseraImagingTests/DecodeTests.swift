import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite struct DecodeTests {
    private func expectError(_ body: () throws -> Void, _ check: (ImagingError) -> Bool, _ what: String) {
        do {
            try body()
            Issue.record("\(what): no error")
        } catch let error as ImagingError {
            #expect(check(error), "\(what): got \(error)")
        } catch {
            Issue.record("\(what): not an ImagingError: \(error)")
        }
    }

    @Test func zeroByteFileIsEmpty() throws {
        let dir = DevelopFixtures.tempDir("decode-empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/empty.dng"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        expectError({ _ = try RawDecoder.decode(path: path) }, {
            if case .emptyFile(let file) = $0 { return file == path }
            return false
        }, "zero bytes")
        #expect(ImagingError.emptyFile(file: path).description.contains(path))
    }

    @Test func missingFileIsAnIOError() {
        expectError({ _ = try RawDecoder.decode(path: "/nonexistent/tessera/x.dng") }, {
            if case .io(let path, let op, _) = $0 { return path == "/nonexistent/tessera/x.dng" && op == "open" }
            return false
        }, "missing file")
    }

    @Test func textFileRenamedDNGIsNotRaw() throws {
        let dir = DevelopFixtures.tempDir("decode-text")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/notes.dng"
        try String(repeating: "This is not a raw file, just some text.\n", count: 40).write(toFile: path, atomically: false, encoding: .utf8)
        expectError({ _ = try RawDecoder.decode(path: path) }, {
            if case .notRaw(let file) = $0 { return file == path }
            return false
        }, "text file")
    }

    @Test func garbageNeverCrashes() {
        var rng = SplitMix64(seed: 99)
        for n in [1, 7, 64, 1000, 20_000] {
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Also a TIFF-looking header followed by junk.
            if n > 8 { bytes.replaceSubrange(0..<4, with: [0x49, 0x49, 0x2A, 0x00]) }
            let result = bytes.withUnsafeBytes { raw in Result { () throws(ImagingError) in try RawDecoder.decode(bytes: raw, name: "junk\(n)") } }
            #expect(throws: ImagingError.self, "\(n) random bytes") { try result.get() }
        }
    }

    @Test(arguments: CFAPattern.all)
    func synthesisedDNGDecodesWithItsMetadata(cfa: CFAPattern) throws {
        let margin = 4
        var plane = DevelopFixtures.rampPlane(width: 46, height: 34)
        // Recognisable masked border so a missing crop shows.
        for y in 0..<plane.height {
            for x in 0..<plane.width where x < margin || y < margin || x >= plane.width - margin || y >= plane.height - margin {
                plane[x, y] = 77
            }
        }
        let (bytes, meta) = try DevelopFixtures.dng(plane: plane, cfa: cfa, margin: margin)
        let decoded = try bytes.withUnsafeBytes { raw in try RawDecoder.decode(bytes: raw, name: "synth.dng") }
        let info = decoded.info
        #expect(info.width == 38 && info.height == 26)
        #expect(info.cfa == cfa)
        #expect(info.blackLevels == meta.blackLevels, "per-cell black levels \(info.blackLevels)")
        #expect(info.whiteLevel == 16383)
        // cam_mul = 1 / AsShotNeutral, normalised to green.
        #expect(abs(info.asShotMultipliers[0] - 2) < 1e-4 && info.asShotMultipliers[1] == 1 && abs(info.asShotMultipliers[2] - 1 / 0.7) < 1e-4,
                "\(info.asShotMultipliers)")
        #expect(info.make == "Tessera" && info.model == "DevelopCam")
        #expect(info.iso == 400 && abs(info.exposureTime - 1.0 / 250) < 1e-7 && info.fNumber == 4 && info.focalLength == 50)
        #expect(info.dateTimeOriginal == "2024:05:18 10:00:02")
        #expect(info.orientation == 1)
        #expect(info.dngVersion?.hasPrefix("1.4") == true)
        #expect(!info.rawFormat.isEmpty)
        // rgb_cam rows sum to 1 and it inverts ColorMatrix1 up to white balance: a sanity check.
        for r in 0..<3 {
            let sum = info.cameraToSRGB[r, 0] + info.cameraToSRGB[r, 1] + info.cameraToSRGB[r, 2]
            #expect(abs(sum - 1) < 1e-3, "rgb_cam row \(r) sums to \(sum)")
        }
        // The active area, unscaled.
        for y in 0..<info.height {
            for x in 0..<info.width {
                #expect(decoded.plane[x, y] == plane[x + margin, y + margin])
            }
        }
        // Header-only read agrees.
        let header = try bytes.withUnsafeBytes { raw in try RawDecoder().readInfo(bytes: raw, name: "synth.dng") }
        #expect(header.width == info.width && header.cfa == info.cfa && header.blackLevels == info.blackLevels)
    }

    @Test func decodeFromPathAndRejectTruncatedFiles() throws {
        let dir = DevelopFixtures.tempDir("decode-trunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (bytes, _) = try DevelopFixtures.dng(plane: DevelopFixtures.rampPlane(width: 64, height: 48), cfa: .rggb, margin: 0)
        let path = dir + "/full.dng"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let full = try RawDecoder.decode(path: path)
        #expect(full.plane == DevelopFixtures.rampPlane(width: 64, height: 48))
        // Cut inside the pixel data (the strip follows the IFD in the writer's layout, so half
        // the file still has a complete header).
        for keep in [bytes.count - 1, bytes.count - 64 * 2 * 3, bytes.count / 2] {
            let cut = dir + "/cut\(keep).dng"
            try Data(bytes[0..<keep]).write(to: URL(fileURLWithPath: cut))
            expectError({ _ = try RawDecoder.decode(path: cut) }, {
                switch $0 {
                case .truncated(let file, _), .corrupt(let file, _): return file == cut
                default: return false
                }
            }, "truncated to \(keep) of \(bytes.count) bytes")
        }
        // Cut with a StripByteCounts that agrees with the cut: only LibRaw's read path can tell.
        let keep = bytes.count - 64 * 2 * 10
        let consistent = try DevelopFixtures.patchTag(Array(bytes[0..<keep]), tag: 279, value: UInt32(64 * 2 * 38))
        expectError({ _ = try consistent.withUnsafeBytes { raw in try RawDecoder.decode(bytes: raw, name: "short.dng") } }, {
            if case .truncated(let file, _) = $0 { return file == "short.dng" }
            return false
        }, "LibRaw end of file")
    }

    @Test func tooLargeIsRefusedBeforeUnpacking() throws {
        let (bytes, _) = try DevelopFixtures.dng(plane: DevelopFixtures.rampPlane(width: 64, height: 48), cfa: .bggr, margin: 2)
        let decoder = RawDecoder(maxPixels: 64 * 48 - 1)
        expectError({ _ = try bytes.withUnsafeBytes { raw in try decoder.decode(bytes: raw, name: "big.dng") } }, {
            if case .tooLarge(let file, let pixels, let limit) = $0 { return file == "big.dng" && pixels == 64 * 48 && limit == 64 * 48 - 1 }
            return false
        }, "limit")
        // A header announcing a huge sensor (patched ImageWidth/ImageLength) with little data: refused cheaply.
        let patched = try DevelopFixtures.patchedSize(bytes, width: 40_000, height: 30_000)
        expectError({ _ = try patched.withUnsafeBytes { raw in try RawDecoder().decode(bytes: raw, name: "bomb.dng") } }, {
            if case .tooLarge(_, let pixels, _) = $0 { return pixels == 1_200_000_000 }
            return false
        }, "decompression bomb")
    }

    @Test func linearDNGIsAnUnsupportedSensor() throws {
        let (bytes, _) = try DevelopFixtures.dng(plane: DevelopFixtures.rampPlane(width: 32, height: 24), cfa: .rggb, margin: 0)
        let linear = try DevelopFixtures.patchedPhotometric(bytes, to: 34892)  // LinearRaw, one sample
        expectError({ _ = try linear.withUnsafeBytes { raw in try RawDecoder.decode(bytes: raw, name: "linear.dng") } }, {
            if case .unsupportedSensor(let file, _) = $0 { return file == "linear.dng" }
            return false
        }, "linear DNG")
    }
}
