import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// Output metadata: EXIF and ICC in JPEG, PNG and TIFF, read back with our readers (libjpeg,
/// libpng, libtiff underneath) and, when installed, cross-checked with exiftool.
@Suite struct MetadataTests {
    /// A structurally valid RGB display ICC profile (ICC.1 v4 header + tag table) of about
    /// `size` bytes; the bulk is one private tag of patterned bytes.
    static func iccProfile(size: Int = 600) -> [UInt8] {
        let dataSize = max(16, size - 128 - 4 - 12)
        let total = 128 + 4 + 12 + dataSize
        var p = [UInt8](repeating: 0, count: 128)
        func put32(_ v: UInt32, at o: Int, in a: inout [UInt8]) { for i in 0..<4 { a[o + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) } }
        func put(_ s: String, at o: Int) { for (i, b) in s.utf8.enumerated() { p[o + i] = b } }
        put32(UInt32(total), at: 0, in: &p)
        put("lcms", at: 4)
        put32(0x0430_0000, at: 8, in: &p)
        put("mntr", at: 12); put("RGB ", at: 16); put("XYZ ", at: 20)
        put("acsp", at: 36)
        put32(0x0000_F6D6, at: 68, in: &p); put32(0x0001_0000, at: 72, in: &p); put32(0x0000_D32D, at: 76, in: &p)
        var tags = [UInt8](repeating: 0, count: 16)
        put32(1, at: 0, in: &tags)
        for (i, b) in "zzzz".utf8.enumerated() { tags[4 + i] = b }
        put32(UInt32(144), at: 8, in: &tags)
        put32(UInt32(dataSize), at: 12, in: &tags)
        p += tags
        p += (0..<dataSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        return p
    }

    static let capture = OutputMetadata(
        iccProfile: iccProfile(), make: "Canon", model: "Canon EOS R5", lens: "RF24-70mm F2.8 L IS USM", iso: 400,
        exposureTime: 1.0 / 250, fNumber: 2.8, focalLength: 50, dateTimeOriginal: "2024:06:01 14:03:27",
        subSecTimeOriginal: "25", orientation: 6, software: "Tessera", colorSpace: .sRGB)

    static func options(_ format: OutputFormat) -> [Recipe.Output] {
        switch format {
        case .jpeg: Recipe.ChromaSubsampling.allCases.map { Recipe.Output(jpegQuality: 90, jpegSubsampling: $0) }
        case .png: [Recipe.Output(pngBitDepth: 8), Recipe.Output(pngBitDepth: 16)]
        case .tiff: Recipe.TIFFCompression.allCases.map { Recipe.Output(tiffCompression: $0) }
        }
    }

    @Test(arguments: OutputFormat.allCases)
    func metadataRoundTripsAndPixelsSurvive(format: OutputFormat) throws {
        let img = CodecTests.testImage(width: 40, height: 24)
        for opts in Self.options(format) {
            let bytes = try ImageWriter.encode(img, format: format, options: opts, metadata: Self.capture)
            #expect(try ImageWriter.encode(img, format: format, options: opts, metadata: Self.capture) == bytes, "deterministic")
            let back = try ImageReader.readMetadata(bytes: bytes, name: "m.\(format.fileExtension)")
            #expect(back.iccProfile == Self.capture.iccProfile, "\(format) \(opts): ICC profile")
            #expect(back.make == "Canon" && back.model == "Canon EOS R5" && back.software == "Tessera" && back.orientation == 6)
            #expect(back.dateTimeOriginal == "2024:06:01 14:03:27")
            // The full EXIF IFD, in every format (TIFF links it from its own IFD0).
            var expected = Self.capture
            expected.iccProfile = back.iccProfile
            #expect(back == expected, "\(format) \(opts)")
            // Pixels decode exactly as without metadata.
            let plain = try ImageReader.read(bytes: try ImageWriter.encode(img, format: format, options: opts), name: "p")
            #expect(try ImageReader.read(bytes: bytes, name: "m") == plain, "\(format) \(opts): pixels unchanged by metadata")
        }
    }

    @Test func withoutMetadataNothingIsAdded() throws {
        let img = CodecTests.testImage(width: 16, height: 8)
        for format in OutputFormat.allCases {
            let bytes = try ImageWriter.encode(img, format: format)
            #expect(try ImageReader.readMetadata(bytes: bytes, name: "x") == OutputMetadata(), "\(format)")
        }
        let png = try ImageWriter.encode(img, format: .png)
        let text = String(decoding: png, as: UTF8.self)
        #expect(text.contains("sRGB") && !text.contains("iCCP") && !text.contains("eXIf"))
    }

    /// PNG chunk types in file order.
    static func pngChunkTypes(_ png: [UInt8]) -> [String] {
        var types: [String] = [], i = 8
        while i + 12 <= png.count {
            let n = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            types.append(String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self))
            i += 12 + n
        }
        return types
    }

    @Test func pngChunksComeBeforeTheImageData() throws {
        let png = try ImageWriter.encode(CodecTests.testImage(width: 8, height: 8), format: .png, metadata: Self.capture)
        let types = Self.pngChunkTypes(png)
        #expect(types.first == "IHDR" && types.last == "IEND")
        let idat = try #require(types.firstIndex(of: "IDAT"))
        #expect(types.firstIndex(of: "iCCP").map { $0 < idat } == true && types.firstIndex(of: "eXIf").map { $0 < idat } == true, "\(types)")
        #expect(!types.contains("sRGB") && !types.contains("gAMA"), "\(types)")
        #expect(types.filter { $0 == "eXIf" }.count == 1 && types.filter { $0 == "iCCP" }.count == 1, "\(types)")
    }

    @Test func largeICCProfilesAreChunkedInJPEG() throws {
        let icc = Self.iccProfile(size: 150_000)
        let img = CodecTests.testImage(width: 16, height: 16)
        let jpeg = try ImageWriter.encode(img, format: .jpeg, metadata: OutputMetadata(iccProfile: icc))
        // Walk the segments: three APP2 ICC_PROFILE chunks numbered 1/3, 2/3, 3/3, each ≤ 65 535 bytes.
        var i = 2, chunks: [(Int, Int, Int)] = []
        while i + 4 <= jpeg.count, jpeg[i] == 0xFF, jpeg[i + 1] != 0xDA {
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            if jpeg[i + 1] == 0xE2, Array(jpeg[(i + 4)..<(i + 16)]) == Array("ICC_PROFILE".utf8) + [0] {
                chunks.append((Int(jpeg[i + 16]), Int(jpeg[i + 17]), length))
            }
            i += 2 + length
        }
        #expect(chunks.map(\.0) == [1, 2, 3] && chunks.allSatisfy { $0.1 == 3 })
        #expect(chunks[0].2 == 65535 && chunks[1].2 == 65535)
        #expect(try ImageReader.readMetadata(bytes: jpeg, name: "big.jpg").iccProfile == icc)
        #expect(try ImageReader.read(bytes: jpeg, name: "big.jpg").width == 16, "libjpeg still decodes it")
        // PNG and TIFF carry it whole.
        for format in [OutputFormat.png, .tiff] {
            let bytes = try ImageWriter.encode(img, format: format, metadata: OutputMetadata(iccProfile: icc))
            #expect(try ImageReader.readMetadata(bytes: bytes, name: "big").iccProfile == icc, "\(format)")
        }
    }

    @Test func exifBlockLayout() throws {
        let block = try ExifBlock.build(Self.capture, width: 6000, height: 4000)
        #expect(block.starts(with: [0x49, 0x49, 42, 0]))
        var parsed = try #require(ExifBlock.parse(block))
        #expect(parsed.exposureTime == 1.0 / 250 && parsed.fNumber == 2.8 && parsed.iso == 400 && parsed.focalLength == 50)
        parsed.iccProfile = Self.capture.iccProfile
        #expect(parsed == Self.capture)
        // Exposure times: 1/n when close to it, else a decimal rational.
        let long = try #require(ExifBlock.parse(try ExifBlock.build(OutputMetadata(exposureTime: 2.5), width: 1, height: 1)))
        #expect(long.exposureTime == 2.5)
        #expect(ExifBlock.parse([1, 2, 3]) == nil && ExifBlock.parse(Array("II*\0\u{FF}\0\0\0".utf8)) == nil)
    }

    @Test func badMetadataIsRefused() {
        let img = CodecTests.testImage(width: 8, height: 8)
        let bad: [(OutputMetadata, String)] = [
            (OutputMetadata(orientation: 9), "orientation"),
            (OutputMetadata(dateTimeOriginal: "2024-06-01T14:03:27"), "dateTimeOriginal"),
            (OutputMetadata(subSecTimeOriginal: "1/4"), "subSecTimeOriginal"),
            (OutputMetadata(iccProfile: [1, 2, 3]), "iccProfile"),
            (OutputMetadata(fNumber: -2), "fNumber"),
        ]
        for format in OutputFormat.allCases {
            for (m, field) in bad {
                do {
                    _ = try ImageWriter.encode(img, format: format, metadata: m)
                    Issue.record("\(format) accepted bad \(field)")
                } catch {
                    guard case .encodeFailed(_, let reason) = error else { Issue.record("\(error)"); continue }
                    #expect(reason.contains(field), "\(format): \(reason)")
                }
            }
        }
    }

    @Test func capturedFrameMetadataIsCarried() throws {
        let info = RawFrameInfo(
            width: 8, height: 8, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 4095, asShotMultipliers: [2, 1, 1.5],
            cameraToSRGB: Matrix3([1, 0, 0, 0, 1, 0, 0, 0, 1]), make: "Nikon", model: "Z 8", lens: "NIKKOR Z 50mm f/1.8 S",
            iso: 64, exposureTime: 1.0 / 60, fNumber: 8, focalLength: 50, dateTimeOriginal: "2023:12:24 18:00:00", orientation: 8)
        let m = OutputMetadata(info: info)
        #expect(m.make == "Nikon" && m.model == "Z 8" && m.lens == "NIKKOR Z 50mm f/1.8 S" && m.iso == 64 && m.orientation == 8)
        #expect(m.software == "Tessera" && m.iccProfile == nil && m.hasExif)
        let back = try ImageReader.readMetadata(bytes: try ImageWriter.encode(CodecTests.testImage(width: 8, height: 8), format: .jpeg, metadata: m), name: "n.jpg")
        #expect(back == m)
    }

    /// Independent check with exiftool (Debian: libimage-exiftool-perl).
    @Test func exiftoolReadsWhatWeWrite() throws {
        let exiftool = "/usr/bin/exiftool"
        guard FileManager.default.isExecutableFile(atPath: exiftool) else {
            print("NOTE: exiftool is not installed (apt-get install libimage-exiftool-perl); the cross-check is skipped — our own readers still verified every field")
            return
        }
        let dir = DevelopFixtures.tempDir("exif")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let img = CodecTests.testImage(width: 24, height: 16)
        for format in OutputFormat.allCases {
            let path = "\(dir)/out.\(format.fileExtension)"
            try ImageWriter.write(img, format: format, metadata: Self.capture, to: path)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: exiftool)
            process.arguments = ["-j", "-n", "-G", "-a", path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let list = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            let tags = try #require(list.first)
            func value(_ name: String) -> String? {
                tags.first { $0.key.hasSuffix(":" + name) }.map { "\($0.value)" }
            }
            #expect(value("Make") == "Canon" && value("Model") == "Canon EOS R5", "\(format): \(tags)")
            #expect(value("Orientation") == "6" && value("Software") == "Tessera", "\(format)")
            #expect(value("ProfileClass") == "mntr" && value("ColorSpaceData") == "RGB ", "\(format): ICC profile")
            if format == .tiff {
                #expect(value("ModifyDate") == "2024:06:01 14:03:27")
            } else {
                #expect(value("DateTimeOriginal") == "2024:06:01 14:03:27" && value("SubSecTimeOriginal") == "25", "\(format)")
                #expect(value("ISO") == "400" && value("ExposureTime") == "0.004" && value("FNumber") == "2.8", "\(format)")
                #expect(value("FocalLength") == "50" && value("LensModel") == "RF24-70mm F2.8 L IS USM", "\(format)")
                #expect(value("ExifImageWidth") == "24" && value("ExifImageHeight") == "16", "\(format)")
            }
            for warning in ["Warning", "Error"] { #expect(value(warning) == nil, "\(format): exiftool \(warning): \(value(warning) ?? "")") }
        }
    }
}
