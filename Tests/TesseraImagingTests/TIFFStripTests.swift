import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// The parallel deflate strip encoder (`TIFFDeflateEncoder.strips`, docs/develop.md "Output
/// encoders"): the same bytes as libtiff's own ADOBE_DEFLATE codec, for any thread count, and
/// libtiff decodes them to exactly the input pixels.
@Suite struct TIFFStripTests {
    /// Sizes with one strip, many strips with a short last strip (4001 px: 10 rows per strip),
    /// odd widths, a single pixel, a single column.
    static let sizes: [(width: Int, height: Int)] = [(1, 1), (7, 3), (301, 257), (4001, 257), (1, 300), (2731, 40)]

    /// Full-range noise: incompressible, the worst case for the compressed-size bound.
    static func noise(width: Int, height: Int, seed: UInt64) -> RGBImage16 {
        var rng = SplitMix64(seed: seed)
        var image = RGBImage16(width: width, height: height)
        for i in image.pixels.indices { image.pixels[i] = UInt16(truncatingIfNeeded: rng.next()) }
        return image
    }

    @Test func stripsAreByteIdenticalToLibtiffForAnyThreadCount() throws {
        for (index, size) in Self.sizes.enumerated() {
            let image = CodecTests.testImage(width: size.width, height: size.height, seed: UInt64(index + 1))
            for metadata in [OutputMetadata.none, MetadataTests.capture] {
                let reference = try ImageWriter.encodeTIFF(image, metadata: metadata, deflateEncoder: .libtiff)
                for threads in [1, 2, 3, 8] {
                    let ours = try ImageWriter.encodeTIFF(image, metadata: metadata, threads: threads)
                    #expect(ours == reference, "\(size.width)x\(size.height), \(threads) thread(s): \(ours.count) vs libtiff's \(reference.count) bytes")
                }
                #expect(try ImageReader.read(bytes: reference, name: "ref.tif") == image)
            }
        }
    }

    @Test func incompressibleStripsRoundTripExactly() throws {
        for (width, height) in [(4001, 33), (65, 129)] {
            let image = Self.noise(width: width, height: height, seed: UInt64(width))
            let one = try ImageWriter.encodeTIFF(image, threads: 1)
            #expect(try ImageWriter.encodeTIFF(image, threads: 4) == one, "\(width)x\(height): 4 threads differ from 1")
            #expect(try ImageWriter.encodeTIFF(image, deflateEncoder: .libtiff) == one, "\(width)x\(height): differs from libtiff")
            #expect(try ImageReader.read(bytes: one, name: "noise.tif") == image, "\(width)x\(height): pixels differ after libtiff decode")
        }
    }

    @Test func theEncodePathsPassTheirThreadCount() throws {
        let image = CodecTests.testImage(width: 4001, height: 64, seed: 9)
        let serial = try ImageWriter.encode(image, format: .tiff)
        #expect(try ImageWriter.encode(image, format: .tiff, threads: 2) == serial)
        #expect(try ImageReader.read(bytes: serial, name: "serial.tif") == image)
        // LZW and uncompressed stay on libtiff's path; threads do not change their bytes either.
        for compression in [Recipe.TIFFCompression.lzw, .none] {
            let options = Recipe.Output(tiffCompression: compression)
            let bytes = try ImageWriter.encode(image, format: .tiff, options: options)
            #expect(try ImageWriter.encode(image, format: .tiff, options: options, threads: 3) == bytes, "\(compression.rawValue)")
            #expect(try ImageReader.read(bytes: bytes, name: "\(compression.rawValue).tif") == image, "\(compression.rawValue)")
        }
    }

    @Test func aThreadCountBelowOneIsRefused() {
        do {
            _ = try ImageWriter.encodeTIFF(CodecTests.testImage(width: 8, height: 8), threads: 0)
            Issue.record("threads 0 was accepted")
        } catch {
            guard case .encodeFailed(let format, let reason) = error else { Issue.record("\(error)"); return }
            #expect(format == "tiff" && reason.contains("threads 0"), "\(reason)")
        }
    }
}
