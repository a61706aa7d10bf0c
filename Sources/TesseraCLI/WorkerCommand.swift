import ArgumentParser
import Foundation
import TesseraWorker

/// `tessera worker`: a worker process; runs until SIGTERM/SIGINT.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker that takes tasks from a coordinator.")

    @Option(help: "The coordinator's task endpoint.")
    var connect: String

    @Option(help: "Tasks to run at once (default: the number of cores).")
    var slots: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Name shown to operators (default: host name and process id).")
    var name: String?

    @Option(help: ArgumentHelp("Stop when the process with this id is no longer the parent (used by `tessera run`).", visibility: .hidden))
    var parentPid: Int32?

    @Flag(help: ArgumentHelp("Test hook: fail every task (retryable) instead of running it.", visibility: .hidden))
    var failEveryTask = false

    @Option(help: ArgumentHelp("Test hook: the first N tasks hang forever.", visibility: .hidden))
    var hangTasks: Int = 0

    @Option(help: "Memory in MiB for decoded planes kept for later tile and merge tasks (the input cache; 0 disables it).")
    var cacheMb: Int = 1024

    @Option(help: ArgumentHelp("Test hook: forget a cached plane once it served N windows (cache misses on purpose).", visibility: .hidden))
    var cacheForgetAfter: Int?

    @OptionGroup var keys: ClientKeyOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...1024).contains(slots) else { throw ValidationError("--slots must be between 1 and 1024") }
        guard (0...1 << 24).contains(cacheMb) else { throw ValidationError("--cache-mb must be between 0 and 16777216 (MiB)") }
    }

    func run() throws {
        try logging.bootstrap()
        var config = WorkerConfig(endpoint: connect, slots: slots, name: name)
        config.parentProcess = parentPid
        config.failEveryTask = failEveryTask
        config.hangTasks = hangTasks
        config.cacheBytes = cacheMb << 20
        config.cacheForgetAfterUses = cacheForgetAfter
        config.security = try keys.security()
        let runtime = try WorkerRuntime(config: config)
        // First SIGTERM/SIGINT: drain (finish running tasks, take no new ones); a second: stop now.
        let signals = SignalCounter()
        let watcher = SignalWatcher { _ in
            if signals.next() == 1 { runtime.drain() } else { runtime.stop() }
        }
        defer { withExtendedLifetime(watcher) {} }
        try runtime.run()
    }
}
