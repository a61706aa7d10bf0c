import ArgumentParser
import Foundation
import Logging
import TesseraCoordinator
import TesseraZMQ

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

    @Option(help: "The coordinator's secret key file (default: coordinator.key next to the database, created with its .pub if missing).")
    var key: String?

    @Flag(help: "Plaintext sockets: no encryption, no authentication — anyone who can reach the endpoints may take tasks and submit or cancel jobs.")
    var insecure = false
    @Option(help: "Bound on task payload bytes (RAW files, tile windows) prepared or sent but not yet answered, in MiB.")
    var maxInflightMb: Int = 1024

    @Option(help: "How long a database call waits for another process's write lock before retrying, in milliseconds.")
    var dbBusyTimeoutMs: Int = 10_000

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
        guard maxInflightMb >= 1 else { throw ValidationError("--max-inflight-mb must be at least 1") }
        guard dbBusyTimeoutMs >= 0 else { throw ValidationError("--db-busy-timeout-ms must not be negative") }
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
        config.security = try coordinatorSecurity(databasePath: config.databasePath)
        config.maxInflightBytes = maxInflightMb << 20
        config.databaseBusyTimeoutMillis = dbBusyTimeoutMs
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

    /// CURVE with the key file (created next to the database when no --key is given), or
    /// plaintext with a loud warning when --insecure.
    private func coordinatorSecurity(databasePath: String) throws -> CoordinatorSecurity {
        if insecure {
            FileHandle.standardError.write(Data("""
                WARNING: --insecure: the task and control sockets are PLAINTEXT. Nothing is encrypted or
                WARNING: authenticated; anyone who can reach them may take tasks, submit and cancel jobs.

                """.utf8))
            return .insecure
        }
        if let key {
            let path = absolutePath(key)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("no key file \(path): make one with `tessera keygen coordinator --dir \((path as NSString).deletingLastPathComponent)`, or omit --key to use (and create) coordinator.key next to the database")
            }
            return .curve(serverKeys: try KeyFiles.readSecret(path))
        }
        let directory = (databasePath as NSString).deletingLastPathComponent
        let path = directory + "/coordinator.key"
        if FileManager.default.fileExists(atPath: path) { return .curve(serverKeys: try KeyFiles.readSecret(path)) }
        let keys = try CurveKeyPair.generate()
        let written = try KeyFiles.write(keys, name: "coordinator", directory: directory, force: false)
        FileHandle.standardError.write(Data("""
            created the coordinator's key pair: \(written.secret) (secret, mode 0600) and \(written.public)
            give workers and operators its public key (--coordinator-key \(written.public)): \(keys.publicKey)
            allow their keys with `tessera keys allow NAME KEY.pub --role worker|operator --db \(databasePath)`

            """.utf8))
        return .curve(serverKeys: keys)
    }
}
