import ArgumentParser
import Foundation
import Logging
import TesseraCore

/// The `tessera` command tree. Each subcommand is a small type in its own file.
public struct TesseraCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A distributed photo-processing farm: develop camera RAW shoots on many machines.",
        version: TesseraVersion.string,
        subcommands: [
            Run.self, Develop.self, Synth.self,
            CoordinatorCommand.self, WorkerCommand.self, SubmitCommand.self, StatusCommand.self, BenchCommand.self,
            KeygenCommand.self, KeysCommand.self,
            JobsCommand.self, JobCommand.self, WorkersCommand.self, EventsCommand.self, WatchCommand.self,
            CancelCommand.self, PauseCommand.self, ResumeCommand.self, RetryCommand.self, PriorityCommand.self, DrainCommand.self,
            CompletionsCommand.self, ManCommand.self,
            SpoolSigbusProbe.self,
        ])

    public init() {}
}

/// Options every long-running command shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// Sends logs to standard error at the chosen level. The CLI is the only place that bootstraps logging.
    func bootstrap() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
        LoggingBootstrap.once(level: level)
    }
}

enum LoggingBootstrap {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Resolves a user-given path against the current directory.
func absolutePath(_ path: String) -> String {
    let expanded = (path as NSString).expandingTildeInPath
    if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
    return (FileManager.default.currentDirectoryPath + "/" + expanded as NSString).standardizingPath
}
