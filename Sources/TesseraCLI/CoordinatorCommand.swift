import ArgumentParser
import Foundation
import Logging
import TesseraCoordinator

/// `tessera coordinator`: the long-running coordinator service of a multi-machine farm.
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: workers connect to --listen, operators' CLIs to --control.")

    @Option(help: "Task endpoint workers connect to.")
    var listen: String = "tcp://0.0.0.0:7010"

    @Option(help: "Control endpoint for tessera submit/status.")
    var control: String = "tcp://127.0.0.1:7011"

    @Option(help: "SQLite database file (created if missing).")
    var db: String = "tessera.db"

    @Option(help: "Spool directory for decoded frames and tiles (default: next to the database).")
    var spool: String?

    @Option(help: "Heartbeat period in milliseconds.")
    var heartbeatMs: Int = 1000

    @Option(help: "Missed heartbeats before a worker is declared lost.")
    var livenessBeats: Int = 5

    @Option(help: "Attempts per task before it fails.")
    var maxAttempts: Int = 3

    @Option(help: "First retry delay after a failed task, in milliseconds (doubles per attempt).")
    var retryBackoffMs: Int = 500

    @Option(help: "Failures of one worker on one job before that job's tasks avoid it.")
    var badWorkerThreshold: Int = 3

    @Option(help: "Shortest time (ms) before a task without a result is presumed hung and requeued; longer for slow workers and big tasks (10× the expected time).")
    var taskTimeoutMinMs: Int = 30_000

    @Option(help: ArgumentHelp("Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; port 0 picks one).", valueName: "host:port"))
    var metrics: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard heartbeatMs >= 10 else { throw ValidationError("--heartbeat-ms must be at least 10") }
        guard livenessBeats >= 2 else { throw ValidationError("--liveness-beats must be at least 2") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard retryBackoffMs >= 0 else { throw ValidationError("--retry-backoff-ms must not be negative") }
        guard badWorkerThreshold >= 1 else { throw ValidationError("--bad-worker-threshold must be at least 1") }
        guard taskTimeoutMinMs >= 100 else { throw ValidationError("--task-timeout-min-ms must be at least 100") }
    }

    func run() throws {
        try logging.bootstrap()
        var config = CoordinatorConfig(taskEndpoint: listen, controlEndpoint: control, databasePath: absolutePath(db),
                                       spoolDirectory: spool.map(absolutePath))
        config.heartbeatMillis = heartbeatMs
        config.livenessBeats = livenessBeats
        config.maxAttempts = maxAttempts
        config.retryBackoffMillis = retryBackoffMs
        config.badWorkerThreshold = badWorkerThreshold
        config.taskTimeoutMinMillis = taskTimeoutMinMs
        config.metricsEndpoint = metrics
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        let stopped = DispatchSemaphore(value: 0)
        let watcher = SignalWatcher { _ in stopped.signal() }
        // Written unbuffered: scripts and tests wait for this line to learn the bound endpoints.
        let banner = "coordinator listening: tasks \(coordinator.taskEndpoint ?? listen) control \(coordinator.controlEndpoint ?? control)"
            + (coordinator.metricsEndpoint.map { " metrics http://\($0)/metrics" } ?? "") + "\n"
        FileHandle.standardOutput.write(Data(banner.utf8))
        stopped.wait()
        withExtendedLifetime(watcher) {}
        coordinator.stop()
    }
}
