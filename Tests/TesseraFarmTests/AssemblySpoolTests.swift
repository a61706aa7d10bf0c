import Foundation
import Testing
import TesseraCoordinator
import TesseraCore
import TesseraImaging

/// The coordinator's assembly (docs/architecture.md, step 5; docs/reliability.md, "Spool
/// checksums"): the assembly file is memory-mapped, its tiles verified on the mapping and the
/// output encoded straight from it — the bytes of the whole-image encode, a damaged tile still
/// found, a truncated or missing file still a `SpoolCorruption` (never a crash).
@Suite struct AssemblySpoolTests {
    /// A spool in a fresh temporary directory (kept while the directory lives) holding frame
    /// `frame`: a `width × height` image stored as tiles of `tileSize` (cores in slot order),
    /// as the coordinator stores developed tiles.
    static func spooled(_ label: String, frame: FrameID, width: Int, height: Int,
                        tileSize: Int) throws -> (TemporaryDirectory, Spool, RGBImage16, [PixelRect]) {
        let tmp = try TemporaryDirectory(label)
        let spool = try Spool(directory: tmp.sub("spool"))
        var rng = SplitMix64(seed: UInt64(width * 31 + height))
        var image = RGBImage16(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let smooth = (x * 97 + y * 53 + c * 20_000) % 60_000
                    image.pixels[(y * width + x) * 3 + c] = UInt16(smooth + Int(rng.next() % 2_000))
                }
            }
        }
        let cores = TilePlanner(tileSize: tileSize).cores(width: width, height: height)
        for (slot, core) in cores.enumerated() {
            var tile: [UInt16] = []
            for y in core.y..<core.maxY {
                tile += image.pixels[((y * width + core.x) * 3)..<((y * width + core.maxX) * 3)]
            }
            try tile.withUnsafeBytes {
                try spool.storeTile($0, core: core, slot: slot, frame: frame, frameWidth: width, frameHeight: height)
            }
        }
        return (tmp, spool, image, cores)
    }

    @Test("the mapped assembly verifies and encodes to the whole image's bytes, every format")
    func mappedAssemblyEncodesLikeTheImage() throws {
        let (frame, width, height) = (FrameID(5), 517, 301)
        let (tmp, spool, image, cores) = try Self.spooled("assembly-map", frame: frame, width: width, height: height, tileSize: 128)
        defer { withExtendedLifetime(tmp) {} }
        #expect(cores.count == 15)
        let info = BorrowedPixelsInfo.info
        var recipes: [(OutputFormat, Recipe)] = []
        for (format, output) in [(OutputFormat.jpeg, Recipe.Output()), (.jpeg, Recipe.Output(jpegQuality: 80, jpegSubsampling: .s420)),
                                 (.png, Recipe.Output(pngBitDepth: 8)), (.png, Recipe.Output(pngBitDepth: 16)),
                                 (.tiff, Recipe.Output(tiffCompression: .none)), (.tiff, Recipe.Output(tiffCompression: .lzw)),
                                 (.tiff, Recipe.Output(tiffCompression: .deflate))] {
            var recipe = Recipe.neutral
            recipe.output = output
            recipes.append((format, recipe))
        }
        try spool.withAssembled(frame: frame, width: width, height: height) { pixels in
            #expect(try spool.corruptTiles(ofAssembled: pixels, width: width, frame: frame, tiles: cores).isEmpty)
            #expect(Array(pixels) == image.pixels)
            for (format, recipe) in recipes {
                let mapped = try OutputFile.encode(pixels, width: width, height: height, format: format, recipe: recipe, info: info, threads: 2)
                let same = try mapped.bytes == OutputFile.encode(image, format: format, recipe: recipe, info: info)
                #expect(same, "\(format) \(recipe.output)")
            }
        }
    }

    @Test("a damaged tile is found on the mapping, and only that tile")
    func damagedTileIsFoundOnTheMapping() throws {
        let (frame, width, height) = (FrameID(6), 300, 200)
        let (tmp, spool, _, cores) = try Self.spooled("assembly-damage", frame: frame, width: width, height: height, tileSize: 100)
        defer { withExtendedLifetime(tmp) {} }
        // One sample inside tile 4 (x 100..<200, y 100..<200) is changed in the file.
        let victim = 4
        #expect(cores[victim] == PixelRect(x: 100, y: 100, width: 100, height: 100))
        let handle = try #require(FileHandle(forUpdatingAtPath: spool.assemblyPath(frame)))
        try handle.seek(toOffset: UInt64(((150 * width + 150) * 3 + 1) * 2))
        let old = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(((150 * width + 150) * 3 + 1) * 2))
        try handle.write(contentsOf: Data([old[0] ^ 0x40]))
        try handle.close()
        let corrupt = try spool.withAssembled(frame: frame, width: width, height: height) {
            try spool.corruptTiles(ofAssembled: $0, width: width, frame: frame, tiles: cores)
        }
        #expect(corrupt == [victim])
    }

    @Test("a truncated or missing assembly file is a SpoolCorruption, and nothing is mapped")
    func truncatedAssemblyIsSpoolCorruption() throws {
        let (frame, width, height) = (FrameID(7), 64, 48)
        let (tmp, spool, _, _) = try Self.spooled("assembly-truncated", frame: frame, width: width, height: height, tileSize: 32)
        defer { withExtendedLifetime(tmp) {} }
        #expect(truncate(spool.assemblyPath(frame), off_t(width * height * 6 - 6)) == 0)
        var called = false
        #expect(throws: SpoolCorruption.self) {
            try spool.withAssembled(frame: frame, width: width, height: height) { _ in called = true }
        }
        spool.removeAssembly(frame: frame)
        #expect(throws: SpoolCorruption.self) {
            try spool.withAssembled(frame: frame, width: width, height: height) { _ in called = true }
        }
        #expect(!called)
    }
}

/// A capture with EXIF fields, so every output writes its metadata too.
enum BorrowedPixelsInfo {
    static let info = RawFrameInfo(
        width: 64, height: 64, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 4095, asShotMultipliers: [2, 1, 1.5],
        cameraToSRGB: .identity, make: "Canon", model: "Canon EOS R5", iso: 400, exposureTime: 1.0 / 250, fNumber: 2.8,
        focalLength: 50, dateTimeOriginal: "2024:06:01 14:03:27")
}
