import Foundation
import TesseraCore
import TesseraImaging
import TesseraStore

/// What an operator asks for when submitting a capture set (from `tessera run` or `submit`).
public struct JobRequest: Sendable, Hashable {
    public var name: String
    /// Absolute path of the capture directory, as the coordinator sees it.
    public var captureDirectory: String
    /// Absolute path of the output directory, as the coordinator sees it.
    public var outputDirectory: String
    /// A built-in recipe name or a recipe file path.
    public var recipe: String
    /// Tile edge in pixels; frames no larger than this are one task.
    public var tileSize: Int
    public var format: OutputFormat
    public var priority: Int
    public var overwrite: Bool
    /// Group frames into bursts by capture time and merge each burst into one frame.
    public var mergeBursts: Bool = false
    /// Largest gap between two frames of one burst, in seconds.
    public var burstGap: Double = 1.5
    /// Most frames in one burst.
    public var maxBurst: Int = 16

    public init(name: String? = nil, captureDirectory: String, outputDirectory: String, recipe: String = "standard",
                tileSize: Int = 8192, format: OutputFormat = .jpeg, priority: Int = 0, overwrite: Bool = false) {
        self.captureDirectory = captureDirectory
        self.outputDirectory = outputDirectory
        self.name = name ?? URL(fileURLWithPath: captureDirectory).lastPathComponent
        self.recipe = recipe
        self.tileSize = tileSize
        self.format = format
        self.priority = priority
        self.overwrite = overwrite
    }

    /// Smallest and largest tile edges accepted.
    public static let tileSizeRange = 64...16384
}

/// Turns a ``JobRequest`` into a job in the store: validates everything before any task exists
/// (recipe, directories, tile size), so a bad request costs nothing.
enum JobSubmitter {
    static func submit(_ request: JobRequest, store: TesseraStore) throws(CoordinatorError) -> (JobID, frames: Int) {
        guard JobRequest.tileSizeRange.contains(request.tileSize) else {
            throw .invalidRequest("tile size \(request.tileSize) is outside \(JobRequest.tileSizeRange.lowerBound)...\(JobRequest.tileSizeRange.upperBound)")
        }
        guard request.captureDirectory.hasPrefix("/"), request.outputDirectory.hasPrefix("/") else {
            throw .invalidRequest("capture and output directories must be absolute paths")
        }
        let recipe: Recipe
        // Files the recipe names (a `.cube` look) are read into it now: the job keeps the LUT it
        // was submitted with, and its recipe hash covers the LUT's contents.
        do { recipe = try Recipe.resolve(request.recipe).pinningFiles() } catch { throw .invalidRecipe("\(error)") }
        var frames = try CaptureScanner.scan(request.captureDirectory)
        if request.mergeBursts { frames = BurstPlanner.group(frames, maxGap: request.burstGap, maxBurst: request.maxBurst) }
        guard !frames.isEmpty else { throw .noFrames(path: request.captureDirectory) }
        do {
            try FileManager.default.createDirectory(atPath: request.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw .outputDirectoryUnusable(path: request.outputDirectory, reason: error.localizedDescription)
        }
        guard FileManager.default.isWritableFile(atPath: request.outputDirectory) else {
            throw .outputDirectoryUnusable(path: request.outputDirectory, reason: "not writable")
        }
        let job = NewJob(
            name: request.name, captureDir: request.captureDirectory, outputDir: request.outputDirectory,
            recipeName: recipe.name, recipeDocument: recipe.canonicalJSON, recipeHash: recipe.hash,
            tileSize: request.tileSize, format: request.format.rawValue, priority: request.priority,
            overwrite: request.overwrite)
        let id: JobID
        do { id = try store.createJob(job, frames: frames) } catch { throw .store("\(error)") }
        _ = try? store.appendEvent(NewEvent(
            level: .info, kind: "job.submitted",
            message: "job \(id.rawValue) '\(request.name)': \(frames.count) frame(s) from \(request.captureDirectory), recipe \(recipe.name) (\(recipe.hash))",
            job: id))
        return (id, frames.count)
    }
}
