import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite struct CodecTests {
    /// A smooth colourful image with some texture, 16-bit.
    static func testImage(width: Int = 48, height: Int = 32, seed: UInt64 = 1) -> RGBImage16 {
        var rng = SplitMix64(seed: seed)
        var img = RGBImage16(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let fx = Double(x) / Double(width), fy = Double(y) / Double(height)
                let base = [0.5 + 0.4 * sin(6 * fx), 0.5 + 0.4 * cos(5 * fy), 0.5 + 0.3 * sin(4 * (fx + fy))]
                for c in 0..<3 {
                    let v = base[c] * 65535 + rng.nextGaussian() * 40
                    img.pixels[(y * width + x) * 3 + c] = UInt16(max(0, min(65535, v.rounded())))
                }
            }
        }
        return img
    }

    @Test func tiff16RoundTripsExactlyAndDeterministically() throws {
        let img = Self.testImage(width: 301, height: 257)  // several strips, odd sizes
        let bytes = try ImageWriter.encode(img, format: .tiff)
        #expect(try ImageReader.read(bytes: bytes, name: "t.tif") == img)
        #expect(try ImageWriter.encode(img, format: .tiff) == bytes, "identical pixels ⇒ identical bytes")
        var other = img
        other.pixels[12345] ^= 1
        #expect(try ImageWriter.encode(other, format: .tiff) != bytes)
        #expect(bytes.count < img.pixels.count * 2, "deflate compresses (\(bytes.count) bytes)")
    }

    @Test func png16And8RoundTrip() throws {
        let img = Self.testImage()
        let png16 = try ImageWriter.encode(img, format: .png, options: Recipe.Output(pngBitDepth: 16))
        #expect(try ImageReader.read(bytes: png16, name: "t16.png") == img)
        #expect(try ImageWriter.encode(img, format: .png, options: Recipe.Output(pngBitDepth: 16)) == png16)
        // Tagged sRGB, not libpng's linear gAMA.
        let text = String(decoding: png16, as: UTF8.self)
        #expect(text.contains("sRGB") && !text.contains("gAMA"))

        let png8 = try ImageWriter.encode(img, format: .png, options: Recipe.Output(pngBitDepth: 8))
        let back8 = try ImageReader.read(bytes: png8, name: "t8.png")
        let expected = img.pixels.map { UInt16((UInt32($0) * 255 + 32767) / 65535) * 257 }
        #expect(back8.pixels == expected)
    }

    @Test(arguments: Recipe.ChromaSubsampling.allCases)
    func jpegIsCloseToTheSource(subsampling: Recipe.ChromaSubsampling) throws {
        let img = Self.testImage(width: 64, height: 48)
        let jpeg = try ImageWriter.encode(img, format: .jpeg, options: Recipe.Output(jpegQuality: 92, jpegSubsampling: subsampling))
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        let back = try ImageReader.read(bytes: jpeg, name: "t.jpg")
        let psnr = ImageMetrics.psnr(back, img)
        #expect(psnr > 40, "\(subsampling.rawValue): PSNR \(psnr) dB")
        #expect(try ImageWriter.encode(img, format: .jpeg, options: Recipe.Output(jpegQuality: 92, jpegSubsampling: subsampling)) == jpeg)
    }

    @Test func readsUncompressedTIFFsFromTheSynthesiser() throws {
        let img = Self.testImage(width: 37, height: 23)
        let bytes = try TIFFContainer.writeRGB16TIFF(image: img)
        #expect(try ImageReader.read(bytes: bytes, name: "truth.tif") == img)
    }

    @Test func unreadableInputsAreReported() {
        for (bytes, name) in [([UInt8](), "empty.png"), (Array("hello".utf8), "x.tif"), ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0], "cut.png"),
                              ([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0, 0, 0], "noifd.tif"), ([0xFF, 0xD8, 0xFF, 0xE0, 0, 4], "cut.jpg")] {
            do {
                _ = try ImageReader.read(bytes: bytes, name: name)
                Issue.record("\(name) was accepted")
            } catch {
                guard case .unreadableImage(let path, _) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(path == name)
            }
        }
    }

    @Test func psnrMetric() {
        let a = Self.testImage()
        #expect(ImageMetrics.psnr(a, a) == .infinity)
        var half = a
        for i in 0..<half.pixels.count { half.pixels[i] /= 2 }
        #expect(ImageMetrics.psnr(half, a) < 15)
        #expect(ImageMetrics.psnr(half, a, gainFit: true) > 50, "a gain of 2 per channel is fitted away")
        var noisy = a
        noisy.pixels[0] &+= 655
        #expect(abs(ImageMetrics.psnr(noisy, a) - 10 * log10(65535.0 * 65535 / (655.0 * 655 / Double(a.pixels.count)))) < 1e-6)
        #expect(ImageMetrics.psnr(noisy, a, crop: 1) == .infinity, "the crop excludes pixel 0")
    }

    @Test func formatExtensions() {
        #expect(OutputFormat.allCases.map(\.fileExtension) == ["jpg", "tif", "png"])
    }

    // MARK: Atomic writer

    private func listing(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func atomicWriterRefusesOverwriteAndLeavesNoTemporaries() throws {
        let dir = DevelopFixtures.tempDir("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.tif"
        try ImageWriter.writeAtomically([1, 2, 3], to: path)
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        #expect(listing(dir) == ["out.tif"])

        do {
            try ImageWriter.writeAtomically([9, 9], to: path)
            Issue.record("overwrote without being asked")
        } catch {
            guard case .fileExists(let p) = error else { Issue.record("\(error)"); return }
            #expect(p == path && error.description.contains(path))
        }
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]), "original untouched")
        #expect(listing(dir) == ["out.tif"], "no temporary left after a refusal")

        try ImageWriter.writeAtomically([7, 7, 7, 7], to: path, overwrite: true)
        #expect(FileManager.default.contents(atPath: path) == Data([7, 7, 7, 7]))
        #expect(listing(dir) == ["out.tif"])

        let img = Self.testImage()
        try ImageWriter.write(img, format: .png, to: dir + "/img.png")
        #expect(try ImageReader.read(path: dir + "/img.png") == img)
        #expect(listing(dir) == ["img.png", "out.tif"])
    }

    @Test func atomicWriterFailureLeavesNothing() throws {
        let dir = DevelopFixtures.tempDir("atomic-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try ImageWriter.writeAtomically([1], to: dir + "/missing/sub/out.png")
            Issue.record("wrote into a missing directory")
        } catch {
            guard case .io = error else { Issue.record("\(error)"); return }
        }
        // Target is an existing directory: the final rename fails after the data was written.
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir + "/taken/inner", withIntermediateDirectories: false)
        #expect(throws: ImagingError.self) { try ImageWriter.writeAtomically([1, 2], to: dir + "/taken", overwrite: true) }
        #expect(listing(dir) == ["taken"], "temporary removed after a failed rename")
    }
}
