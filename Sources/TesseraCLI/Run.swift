import ArgumentParser
import Foundation
import Logging
import Synchronization
import TesseraCoordinator
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraZMQ

/// `tessera run`: a whole farm on this machine — a coordinator in this process and N worker
/// processes speaking ZeroMQ over ipc, exactly the code paths of a multi-machine farm.
///
/// The job lives in a SQLite database (default `OUT_DIR/.tessera/tessera.db`): running the same
/// command again after an interruption resumes the job and recomputes nothing finished.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Develop a capture directory on an embedded farm (a coordinator and N worker processes).")

    @Argument(help: "The capture directory of RAW files.")
    var captureDir: String

    @Option(help: "The output directory (created if missing).")
    var out: String

    @Option(help: "Worker processes to start.")
    var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: "Task slots per worker process.")
    var slots: Int = 1

    @Option(help: "The job database (default: OUT_DIR/.tessera/tessera.db).")
    var db: String?

    @OptionGroup var job: JobOptions

    @Flag(help: "Print the final status as JSON (the `tessera status --json` schema).")
    var json = false

    @Flag(help: "Group frames shot in quick succession into bursts and merge each into one clean frame (outputs NAME-merged.dng and NAME-merged.<ext>).")
    var mergeBursts = false

    @Option(help: "Largest gap in seconds between two frames of one burst.")
    var burstGap: Double = 1.5

    @Option(help: "Memory in MiB each worker keeps decoded planes in, for later tile and merge tasks (the input cache; 0 disables it).")
    var cacheMb: Int = 1024

    @Option(help: ArgumentHelp("Test hook: workers forget a cached plane once it served N windows (cache misses on purpose).", visibility: .hidden))
    var cacheForgetAfter: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard burstGap.isFinite, (0...3600).contains(burstGap) else { throw ValidationError("--burst-gap must be between 0 and 3600 seconds") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard (1...64).contains(slots) else { throw ValidationError("--slots must be between 1 and 64") }
        guard (0...1 << 24).contains(cacheMb) else { throw ValidationError("--cache-mb must be between 0 and 16777216 (MiB)") }
    }

    func run() throws {
        if logging.logLevel == "info" { LoggingBootstrap.once(level: .warning) } else { try logging.bootstrap() }
        let captureDirectory = absolutePath(captureDir)
        let outputDirectory = absolutePath(out)
        let databasePath = db.map(absolutePath) ?? outputDirectory + "/.tessera/tessera.db"
        let runtimeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-run-\(getpid())").path
        // Private to this user: it holds the task socket and the workers' ephemeral secret key.
        try FileManager.default.createDirectory(atPath: runtimeDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: runtimeDirectory) }

        let keys = try EphemeralFarmKeys(directory: runtimeDirectory)
        var config = CoordinatorConfig(taskEndpoint: "ipc://\(runtimeDirectory)/tasks", controlEndpoint: nil,
                                       databasePath: databasePath)
        config.security = keys.coordinatorSecurity
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        defer { coordinator.stop() }

        var request = JobRequest(captureDirectory: captureDirectory, outputDirectory: outputDirectory, recipe: job.recipe,
                                 tileSize: job.tileSize, format: job.format, overwrite: job.overwrite)
        request.mergeBursts = mergeBursts
        request.burstGap = burstGap
        let jobID: JobID
        if let existing = try coordinator.store.findJob(captureDir: captureDirectory, outputDir: outputDirectory) {
            jobID = existing
            FileHandle.standardError.write(Data("resuming job \(jobID.rawValue) from \(databasePath)\n".utf8))
        } else {
            jobID = try coordinator.submit(request).job
        }

        let interrupted = Atomic<Bool>(false)
        let watcher = SignalWatcher { _ in interrupted.store(true, ordering: .relaxed) }
        defer { withExtendedLifetime(watcher) {} }
        let pool = try WorkerPool(count: workers, slots: slots, endpoint: coordinator.taskEndpoint ?? config.taskEndpoint,
                                  logLevel: logging.logLevel == "info" ? "warning" : logging.logLevel,
                                  keyArguments: keys.workerArguments + cacheArguments)
        defer { pool.stop() }

        let progress = ProgressPrinter()
        var summary = try jobSummary(coordinator, jobID)
        while !summary.state.isFinished {
            if interrupted.load(ordering: .relaxed) {
                progress.finish()
                FileHandle.standardError.write(Data("interrupted; run the same command again to resume job \(jobID.rawValue)\n".utf8))
                throw ExitCode(130)
            }
            try pool.superviseAlive()
            progress.show(summary)
            // Progress display cadence; completion is read from the store, not inferred from time.
            Thread.sleep(forTimeInterval: 0.1)
            summary = try jobSummary(coordinator, jobID)
        }
        progress.show(summary)
        progress.finish()
        FileHandle.standardError.write(Data((Self.cacheSummary(coordinator.counters) + "\n").utf8))
        let report = StatusReport(workersConnected: coordinator.counters.workersConnected.load(ordering: .relaxed),
                                  jobs: [StatusReport.Job(summary: summary)])
        if json {
            print(report.json())
        } else {
            print(report.text())
        }
        if summary.state != .succeeded { throw ExitCode(1) }
    }

    /// The workers' input-cache options (passed along with their key arguments).
    private var cacheArguments: [String] {
        ["--cache-mb", "\(cacheMb)"] + (cacheForgetAfter.map { ["--cache-forget-after", "\($0)"] } ?? [])
    }

    /// One line on what the input cache spared the coordinator: windows workers cut from planes
    /// they held, misses resent inline, and payload bytes sent against what would have been.
    static func cacheSummary(_ counters: DispatchCounters) -> String {
        let sent = counters.bytesSent.load(ordering: .relaxed), saved = counters.cacheBytesSaved.load(ordering: .relaxed)
        let share = sent + saved > 0 ? 100 * Double(saved) / Double(sent + saved) : 0
        return "input cache: \(counters.cacheWindowsReferenced.load(ordering: .relaxed)) window(s) cut on workers, "
            + "\(counters.cacheMisses.load(ordering: .relaxed)) miss(es); payload bytes sent \(sent), saved \(saved) "
            + "(\(String(format: "%.1f", share)) % of \(sent + saved))"
    }

    private func jobSummary(_ coordinator: Coordinator, _ id: JobID) throws -> JobSummary {
        guard let summary = try coordinator.store.jobSummaries(id).first else {
            throw ValidationError("job \(id.rawValue) vanished from the database")
        }
        return summary
    }
}

/// The worker processes of an embedded farm: started from this executable, restarted if one
/// dies while the job runs (up to a limit), stopped with SIGTERM at the end.
final class WorkerPool {
    private var processes: [Process] = []
    private let endpoint: String
    private let slots: Int
    private let logLevel: String
    private let keyArguments: [String]
    private var restarts = 0
    private static let maxRestarts = 8

    init(count: Int, slots: Int, endpoint: String, logLevel: String, keyArguments: [String]) throws {
        self.endpoint = endpoint
        self.slots = slots
        self.logLevel = logLevel
        self.keyArguments = keyArguments
        for index in 0..<count {
            processes.append(try Self.spawn(index: index, endpoint: endpoint, slots: slots, logLevel: logLevel, keyArguments: keyArguments))
        }
    }

    private static func spawn(index: Int, endpoint: String, slots: Int, logLevel: String, keyArguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executablePath())
        process.arguments = ["worker", "--connect", endpoint, "--slots", "\(slots)", "--name", "local-\(index + 1)",
                             "--log-level", logLevel, "--parent-pid", "\(getpid())"] + keyArguments
        try process.run()
        return process
    }

    /// The worker processes' ids (for pinning them to CPUs in benchmarks).
    var processIDs: [pid_t] { processes.map(\.processIdentifier) }

    /// Restarts workers that died; throws when they keep dying.
    func superviseAlive() throws {
        for (index, process) in processes.enumerated() where !process.isRunning {
            restarts += 1
            guard restarts <= Self.maxRestarts else {
                throw ValidationError("worker processes keep exiting (last status \(process.terminationStatus)); giving up")
            }
            FileHandle.standardError.write(Data("worker local-\(index + 1) exited (status \(process.terminationStatus)); restarting\n".utf8))
            processes[index] = try Self.spawn(index: index, endpoint: endpoint, slots: slots, logLevel: logLevel, keyArguments: keyArguments)
        }
    }

    /// Asks every worker to stop and waits for them.
    func stop() {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
    }

    /// This executable's path (workers are this binary with the `worker` subcommand).
    static func executablePath() throws -> String {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return path
    }
}

/// Live progress: a redrawn line on a terminal, plain lines (on change) otherwise.
final class ProgressPrinter {
    private let isTTY = isatty(STDERR_FILENO) == 1
    private var lastLine = ""
    private let started = ContinuousClock.now

    func show(_ s: JobSummary) {
        let tiles = s.taskCounts
        let done = tiles[.succeeded, default: 0], total = tiles.values.reduce(0, +) - tiles[.cancelled, default: 0]
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let line = "frames \(s.framesDone)/\(s.framesTotal) done, \(s.framesFailed) failed · tasks \(done)/\(total) · \(tiles[.running, default: 0]) running · \(String(format: "%.1f", seconds)) s"
        if isTTY {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
        } else if line.split(separator: "·").prefix(2) != lastLine.split(separator: "·").prefix(2) {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
        lastLine = line
    }

    func finish() {
        if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Keys for an embedded farm (`tessera run`, `bench`): secure with no set-up. A coordinator key
/// and a worker key made for this process only; the worker key is admitted in memory (never
/// written to the database) and its secret file lives in `directory`, which must be private
/// (mode 0700) and removed by the caller.
struct EphemeralFarmKeys {
    /// The coordinator's security: CURVE with the fresh server key, admitting the worker key.
    let coordinatorSecurity: CoordinatorSecurity
    /// What each `tessera worker` of the farm is started with.
    let workerArguments: [String]

    init(directory: String) throws {
        let serverKeys = try CurveKeyPair.generate(), workerKeys = try CurveKeyPair.generate()
        let workerKeyFile = try KeyFiles.write(workerKeys, name: "run-worker", directory: directory, force: true).secret
        coordinatorSecurity = .curve(serverKeys: serverKeys, ephemeralKeys: [
            KeyRecord(name: "run-worker", publicKey: workerKeys.publicKey, role: .worker, addedAt: 0, revokedAt: nil),
        ])
        // `--option=value`: a Z85 key may begin with '-', which a separate argument would make
        // look like an option.
        workerArguments = ["--key=\(workerKeyFile)", "--coordinator-key=\(serverKeys.publicKey)"]
    }
}
