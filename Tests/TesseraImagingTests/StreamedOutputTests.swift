import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// Streamed 8-bit outputs (docs/develop.md, "Streamed 8-bit outputs"): `OutputFile.develop`
/// hands 8-bit row bands from the develop to the encoder (libjpeg's `jpeg_write_scanlines`,
/// libpng row by row) and must write exactly the bytes of the whole-frame path
/// (`developFrame` → 16-bit frame → 8-bit copy → `tjCompress2` / libpng), for every kernel
/// build, thread count, odd size, column strip and band boundary, fused or staged develop.
@Suite struct StreamedOutputTests {
    /// A real decoded DNG of `width × height` (noise, blacks and clipped whites in the data).
    static func decoded(width: Int, height: Int, cfa: CFAPattern, seed: UInt64) throws -> DecodedRaw {
        var rng = SplitMix64(seed: seed)
        var plane = RawPlane(width: width, height: height)
        for i in 0..<plane.pixels.count {
            let u = rng.nextUnit()
            plane.pixels[i] = u < 0.05 ? UInt16(500 + rng.next() % 30) : u > 0.97 ? 16383 : UInt16(400 + rng.next() % 16_000)
        }
        let dng = try DevelopFixtures.dng(plane: plane, cfa: cfa, margin: 0)
        return try dng.bytes.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "streamed.dng") }
    }

    /// The output recipes: JPEG 4:4:4 q92 (the default), JPEG 4:2:0 q75 and 4:2:2, 8-bit PNG,
    /// 16-bit PNG, 16-bit TIFF deflate (the default: 16-bit rows into the strip encoder), LZW and
    /// uncompressed (16-bit rows into libtiff's codecs).
    static func outputs(_ base: Recipe) -> [(OutputFormat, Recipe)] {
        var q75 = base
        q75.output.jpegQuality = 75
        q75.output.jpegSubsampling = .s420
        var s422 = base
        s422.output.jpegSubsampling = .s422
        var png8 = base
        png8.output.pngBitDepth = 8
        var png16 = base
        png16.output.pngBitDepth = 16
        var lzw = base
        lzw.output.tiffCompression = .lzw
        var uncompressed = base
        uncompressed.output.tiffCompression = .none
        return [(.jpeg, base), (.jpeg, q75), (.jpeg, s422), (.png, png8), (.png, png16), (.tiff, base), (.tiff, lzw), (.tiff, uncompressed)]
    }

    /// Streamed bytes == whole-frame bytes, for each output, kernel and thread count.
    static func check(_ raw: DecodedRaw, recipe: Recipe, threads: [Int], label: String) throws {
        let statistics = DevelopSettings.needsStatistics(recipe) ? FrameStatistics.measure(plane: raw.plane, info: raw.info) : nil
        let settings = try DevelopSettings.resolve(recipe: recipe, info: raw.info, statistics: statistics)
        for (format, output) in outputs(recipe) {
            for kernel in DevelopKernel.allCases where kernel.isSupported {
                var pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: raw.plane.width, height: raw.plane.height))
                pipeline.kernel = kernel
                let image = try pipeline.developFrame(raw.plane, threads: 1)
                let reference = try OutputFile.encode(image, format: format, recipe: output, info: raw.info)
                #expect(reference.count > 2000)
                for n in threads {
                    let streamed = try OutputFile.develop(raw.plane, pipeline: pipeline, format: format, recipe: output, info: raw.info, threads: n)
                    let same = streamed == reference  // a Bool: a failure names the case, not 100 kB of bytes
                    #expect(same,
                            "\(label) \(format) \(output.output.jpegSubsampling) q\(output.output.jpegQuality) tiff \(output.output.tiffCompression) png \(output.output.pngBitDepth) \(kernel) kernel, \(n) threads: \(streamed.count) vs \(reference.count) bytes")
                }
            }
        }
    }

    /// The fused RCD path (neutral recipe): wider than one 1024-column strip with an odd
    /// remainder, odd height over two 48-row bands plus a partial one; 3 threads cut other strips.
    @Test func fusedStreamEqualsWholeFrame() throws {
        let raw = try Self.decoded(width: 1024 + 37, height: 101, cfa: .grbg, seed: 11)
        try Self.check(raw, recipe: .neutral, threads: [1, 3], label: "neutral 1061x101")
    }

    /// Small odd frames (one band, strips narrower than the SIMD width on some rows) and every CFA phase.
    @Test(arguments: [CFAPattern.rggb, .bggr, .gbrg])
    func smallFusedStreamEqualsWholeFrame(cfa: CFAPattern) throws {
        let raw = try Self.decoded(width: 37, height: 29, cfa: cfa, seed: 5 &+ UInt64(cfa.color(x: 0, y: 0).rawValue))
        try Self.check(raw, recipe: .neutral, threads: [1, 2], label: "neutral 37x29 \(cfa)")
    }

    /// The staged path (a recipe with RGB stages): developFrame's bands in groups, several groups.
    @Test func stagedStreamEqualsWholeFrame() throws {
        let raw = try Self.decoded(width: 67, height: 53, cfa: .rggb, seed: 3)
        try Self.check(raw, recipe: .standard, threads: [1, 2], label: "standard 67x53")
    }

    /// The streamed deflate TIFF where 48-row bands and TIFF strips (10 rows at 4000 columns, a
    /// 7-row last strip) straddle each other: on 1 thread (one strip per window) whole strips go
    /// straight from a band, the rest is staged and completed by the next band; on 2 threads the
    /// one 97-row window is staged over three bands (`fusedStreamEqualsWholeFrame` stages over
    /// bands on 3 threads too). The bytes equal the whole-frame encoder's, whose strips equal
    /// libtiff's own codec (`TIFFStripTests`).
    @Test func streamedTIFFStraddlesBands() throws {
        let raw = try Self.decoded(width: 4000, height: 97, cfa: .rggb, seed: 21)
        let settings = try DevelopSettings.resolve(recipe: .neutral, info: raw.info)
        let pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: raw.plane.width, height: raw.plane.height))
        let image = try pipeline.developFrame(raw.plane, threads: 1)
        for n in [1, 2] {
            let streamed = try OutputFile.develop(raw.plane, pipeline: pipeline, format: .tiff, recipe: .neutral, info: raw.info, threads: n)
            #expect(try ImageReader.read(bytes: streamed, name: "streamed.tif") == image, "\(n) threads: pixels differ")
            let whole = try OutputFile.encode(image, format: .tiff, recipe: .neutral, info: raw.info)
            let same = streamed == whole
            #expect(same, "\(n) threads: \(streamed.count) vs \(whole.count) bytes")
        }
    }

    /// `OutputFile.develop` from settings (the `tessera develop` and worker entry) gives the same
    /// bytes as decode → developFrame → encode (deflate TIFF streamed; 16-bit PNG whole-frame).
    @Test func developEntryMatchesEncode() throws {
        let raw = try Self.decoded(width: 41, height: 35, cfa: .bggr, seed: 8)
        let settings = try DevelopSettings.resolve(recipe: .neutral, info: raw.info)
        let image = try Developer.developFrame(raw, settings: settings, threads: 1)
        for format in [OutputFormat.jpeg, .png, .tiff] {
            let expected = try OutputFile.encode(image, format: format, recipe: .neutral, info: raw.info)
            let same = try OutputFile.develop(raw, settings: settings, format: format, recipe: .neutral) == expected
            #expect(same, "\(format): OutputFile.develop differs from developFrame + encode")
        }
    }
}
