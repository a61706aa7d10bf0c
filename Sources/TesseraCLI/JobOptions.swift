import ArgumentParser
import TesseraCoordinator
import TesseraImaging

/// How a job develops its frames: shared by `tessera run` and `tessera submit`.
struct JobOptions: ParsableArguments {
    @Option(help: "A built-in recipe (neutral, standard, punchy) or a YAML recipe file (docs/recipes.md).")
    var recipe: String = "standard"

    @Option(help: "Tile edge in pixels. A frame no larger is decoded, developed and encoded whole by one worker; larger frames are split into tiles developed in parallel.")
    var tileSize: Int = 8192

    @Option(help: "Output format: jpeg, tiff or png.")
    var format: OutputFormat = .jpeg

    @Flag(help: "Replace outputs that already exist.")
    var overwrite = false

    func validate() throws {
        guard JobRequest.tileSizeRange.contains(tileSize) else {
            throw ValidationError("--tile-size must be between \(JobRequest.tileSizeRange.lowerBound) and \(JobRequest.tileSizeRange.upperBound)")
        }
    }
}
