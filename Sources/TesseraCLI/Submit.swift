import ArgumentParser
import Foundation
import TesseraImaging
import TesseraCoordinator
import TesseraWire

/// `tessera submit`: hands a capture directory to a running coordinator; prints the job id.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a capture directory to a running coordinator; prints the job id.")

    @Argument(help: "The capture directory (a path the coordinator can read).")
    var captureDir: String

    @Option(help: "The output directory (a path the coordinator can write).")
    var out: String

    @OptionGroup var job: JobOptions

    @Option(help: "Job name shown to operators (default: the capture directory's name).")
    var name: String?

    @Option(help: "Dispatch priority; higher runs first.")
    var priority: Int = 0

    @Flag(help: "Group frames shot in quick succession into bursts and merge each into one clean frame (outputs NAME-merged.dng and NAME-merged.<ext>).")
    var mergeBursts = false

    @Option(help: "Largest gap in seconds between two frames of one burst.")
    var burstGap: Double = 1.5

    @OptionGroup var remote: RemoteOptions

    func validate() throws {
        guard burstGap.isFinite, (0...3600).contains(burstGap) else { throw ValidationError("--burst-gap must be between 0 and 3600 seconds") }
    }

    func run() throws {
        let requestID = ControlClient.newRequestID()
        var recipeArgument = job.recipe
        if Recipe.builtIns[job.recipe] == nil {
            // A recipe file travels as its content, with the files it names (a `.cube` look) read
            // into it: the coordinator may be on another machine. Errors show here, naming the
            // file, line and key, before anything is sent.
            recipeArgument = try Recipe.resolve(job.recipe).pinningFiles().canonicalJSON
        }
        let request = WireMessage.submit(Submit(
            requestID: requestID, jobName: name ?? "", captureDir: absolutePath(captureDir), outputDir: absolutePath(out),
            recipe: recipeArgument, tileSize: UInt32(clamping: job.tileSize), format: job.format.wire,
            priority: Int32(clamping: priority), overwrite: job.overwrite, mergeBursts: mergeBursts,
            burstGapMillis: UInt32((burstGap * 1000).rounded())))
        guard case .submitted(let submitted) = try remote.client.call(request, requestID: requestID) else {
            throw ControlClient.Failure.unexpectedReply("reply")
        }
        print(submitted.jobID.rawValue)
    }
}
