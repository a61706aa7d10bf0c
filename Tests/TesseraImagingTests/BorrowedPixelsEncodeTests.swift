import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// The coordinator's assembly encoder (docs/architecture.md, step 5): `OutputFile.encode` of
/// borrowed 16-bit pixels (the memory-mapped assembly file) streams them to the encoders — 8-bit
/// bands rounded on the fly for JPEG and 8-bit PNG, the samples in place for TIFF and 16-bit
/// PNG — and must write exactly the bytes `OutputFile.encode` writes for the same image, for
/// every output option, size and thread count.
@Suite struct BorrowedPixelsEncodeTests {
    /// One pixel; odd sizes under one 8-bit band (48 rows) and one TIFF strip; several bands
    /// with a partial last one and several strips (1000 px: 43 rows per strip) with a short
    /// last strip; a single column over many bands.
    static let sizes: [(width: Int, height: Int)] = [(1, 1), (37, 23), (301, 97), (1000, 211), (1, 150)]

    /// A capture with EXIF fields, so every format writes its metadata blocks too.
    static let info = RawFrameInfo(
        width: 64, height: 64, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 4095, asShotMultipliers: [2, 1, 1.5],
        cameraToSRGB: .identity, make: "Canon", model: "Canon EOS R5", lens: "RF24-70mm F2.8 L IS USM", iso: 400,
        exposureTime: 1.0 / 250, fNumber: 2.8, focalLength: 50, dateTimeOriginal: "2024:06:01 14:03:27", orientation: 6)

    /// Every output option the coordinator can be asked for.
    static var outputs: [(OutputFormat, Recipe)] {
        var cases: [(OutputFormat, Recipe.Output)] = Recipe.ChromaSubsampling.allCases.flatMap { subsampling in
            [92, 75].map { (.jpeg, Recipe.Output(jpegQuality: $0, jpegSubsampling: subsampling)) }
        }
        cases += [8, 16].map { (.png, Recipe.Output(pngBitDepth: $0)) }
        cases += Recipe.TIFFCompression.allCases.map { (.tiff, Recipe.Output(tiffCompression: $0)) }
        return cases.map { format, output in
            var recipe = Recipe.neutral
            recipe.output = output
            return (format, recipe)
        }
    }

    /// Full-range noise in the low rows (incompressible), smooth gradients below.
    static func image(width: Int, height: Int, seed: UInt64) -> RGBImage16 {
        var image = CodecTests.testImage(width: width, height: height, seed: seed)
        var rng = SplitMix64(seed: seed &+ 99)
        for i in 0..<min(image.pixels.count, width * 3 * 5) { image.pixels[i] = UInt16(truncatingIfNeeded: rng.next()) }
        return image
    }

    @Test func borrowedPixelsEncodeToTheImagesBytes() throws {
        for (index, size) in Self.sizes.enumerated() {
            let image = Self.image(width: size.width, height: size.height, seed: UInt64(index + 7))
            for (format, recipe) in Self.outputs {
                let reference = try OutputFile.encode(image, format: format, recipe: recipe, info: Self.info)
                for threads in [1, 3] {
                    let borrowed = try image.pixels.withUnsafeBufferPointer {
                        try OutputFile.encode($0, width: size.width, height: size.height, format: format, recipe: recipe, info: Self.info,
                                              threads: threads).bytes
                    }
                    let same = borrowed == reference  // a Bool: a failure names the case, not the bytes
                    #expect(same, "\(size.width)x\(size.height) \(format) \(recipe.output), \(threads) thread(s): \(borrowed.count) vs \(reference.count) bytes")
                }
                // Lossless outputs decode to the pixels themselves (16-bit), so neither path is
                // only compared with itself.
                if format == .tiff || (format == .png && recipe.output.pngBitDepth == 16) {
                    #expect(try ImageReader.read(bytes: reference, name: "ref.\(format.fileExtension)") == image)
                }
            }
        }
    }

    @Test func aSampleCountThatDoesNotMatchTheSizeIsRefused() throws {
        let image = Self.image(width: 10, height: 4, seed: 3)
        for (format, recipe) in Self.outputs {
            #expect(throws: ImagingError.self) {
                try image.pixels.withUnsafeBufferPointer {
                    try OutputFile.encode($0, width: 10, height: 5, format: format, recipe: recipe, info: Self.info)
                }
            }
        }
    }
}
