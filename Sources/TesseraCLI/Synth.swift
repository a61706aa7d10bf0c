import ArgumentParser
import Foundation
import TesseraImaging

/// `tessera synth`: writes a synthetic shoot of real DNG files with known ground truth.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic shoot (DNG files) with its ground truth, deterministic for a seed.")

    @Argument(help: "Directory to write the DNG files into (created if missing).")
    var outDir: String

    @Option(help: "Number of frames.")
    var frames: Int = 12

    @Option(help: "Frames per burst (1 = no bursts).")
    var burstSize: Int = 1

    @Option(help: "Frame size as WIDTHxHEIGHT.")
    var size: String = "1536x1024"

    @Option(help: "Sensor sensitivity; sets the noise level.")
    var iso: Int = 100

    @Option(help: "Random seed: the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(help: "Bayer phase: RGGB, BGGR, GRBG or GBRG.")
    var pattern: String = "RGGB"

    @Option(help: "Directory for the ground truth (linear and sRGB 16-bit TIFF, manifest.json).")
    var truth: String?

    func validate() throws {
        guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
        guard burstSize >= 1 else { throw ValidationError("--burst-size must be at least 1") }
        guard (25...204_800).contains(iso) else { throw ValidationError("--iso must be between 25 and 204800") }
        guard CFAPattern(name: pattern) != nil else { throw ValidationError("--pattern must be RGGB, BGGR, GRBG or GBRG") }
        _ = try parseSize()
    }

    func parseSize() throws -> (Int, Int) {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 16, parts[1] >= 16, parts[0] <= 20_000, parts[1] <= 20_000 else {
            throw ValidationError("--size must be WIDTHxHEIGHT with each side 16...20000, e.g. 1536x1024")
        }
        return (parts[0], parts[1])
    }

    func run() throws {
        let (width, height) = try parseSize()
        var options = SynthOptions()
        options.frames = frames
        options.burstSize = burstSize
        options.width = width
        options.height = height
        options.iso = iso
        options.seed = seed
        options.pattern = CFAPattern(name: pattern)!
        let manifest = try ShootSynthesizer.write(options, to: absolutePath(outDir), truthDirectory: truth.map(absolutePath))
        print("wrote \(manifest.frames.count) frame(s) to \(absolutePath(outDir))" + (truth.map { ", ground truth in \(absolutePath($0))" } ?? ""))
    }
}
