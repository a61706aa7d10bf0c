import ArgumentParser
import Foundation
import TesseraImaging

/// `tessera develop`: the whole-frame reference path, in one process, no network.
struct Develop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Develop one RAW file into an image in this process (the reference path; no farm).")

    @Argument(help: "The RAW file.")
    var input: String

    @Option(help: "The output file.")
    var out: String

    @Option(help: "A built-in recipe (neutral, standard, punchy) or a YAML recipe file (docs/recipes.md).")
    var recipe: String = "standard"

    @Option(help: "Output format: jpeg, tiff or png (default: from the output's extension, else jpeg).")
    var format: OutputFormat?

    @Flag(help: "Replace the output if it exists.")
    var overwrite = false

    @Option(help: "Threads developing row bands (default: the active cores; 1 = serial on one thread).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        let outputPath = absolutePath(out)
        try FileManager.default.createDirectory(
            atPath: (outputPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let chosen = format ?? OutputFormat.from(pathExtension: (outputPath as NSString).pathExtension) ?? .jpeg
        let recipe = try Recipe.resolve(self.recipe)
        let decoded = try RawDecoder.decode(path: absolutePath(input))
        let statistics = DevelopSettings.needsStatistics(recipe) ? FrameStatistics.measure(plane: decoded.plane, info: decoded.info) : nil
        let settings = try DevelopSettings.resolve(recipe: recipe, info: decoded.info, statistics: statistics)
        // Develop and encode in one call (every output streams row bands into its encoder), and
        // write the file from the encoder's own buffer.
        let encoded = try OutputFile.developEncoded(decoded, settings: settings, format: chosen, recipe: recipe, threads: threads)
        try encoded.withUnsafeBytes { (bytes) throws(ImagingError) in try ImageWriter.writeAtomically(bytes, to: outputPath, overwrite: overwrite) }
        print(outputPath)
    }
}

extension OutputFormat: ExpressibleByArgument {
    /// The format a file name's extension implies, if any.
    static func from(pathExtension ext: String) -> OutputFormat? {
        switch ext.lowercased() {
        case "jpg", "jpeg": .jpeg
        case "tif", "tiff": .tiff
        case "png": .png
        default: nil
        }
    }
}
