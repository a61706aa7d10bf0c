import Foundation
import TesseraStore

/// Everything a coordinator needs to run. Defaults suit one studio machine; every field is a
/// command-line flag of `tessera coordinator` (see docs/operator-guide.md).
public struct CoordinatorConfig: Sendable {
    /// Where workers connect (ROUTER), e.g. `tcp://0.0.0.0:7010` or `ipc:///run/tessera/tasks`.
    public var taskEndpoint: String
    /// Where operators' CLIs connect (ROUTER), e.g. `tcp://127.0.0.1:7011`; nil for none (embedded runs).
    public var controlEndpoint: String?
    /// The SQLite database file.
    public var databasePath: String
    /// Directory for decoded CFA planes and tiles awaiting assembly (large; local disk).
    public var spoolDirectory: String
    /// Heartbeat period both ways, in milliseconds.
    public var heartbeatMillis: Int = 1000
    /// A worker silent for this many heartbeat periods is declared lost and its tasks requeued.
    public var livenessBeats: Int = 5
    /// Attempts per task before it (and its frame) is marked failed.
    public var maxAttempts: Int = 3
    /// First retry delay after a retryable failure, in milliseconds; doubles per attempt (max 60 s).
    public var retryBackoffMillis: Int = 500
    /// Retryable failures of one worker on one job before it gets no more of that job's tasks.
    public var badWorkerThreshold: Int = 3
    /// A task is presumed hung after this many times the time its worker's measured speed
    /// predicts for it …
    public var taskTimeoutFactor: Double = 10
    /// … but never sooner than this (ms). Before a worker has a measured speed, 4× this.
    public var taskTimeoutMinMillis: Int = 30_000

    /// The store's view of the retry settings.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, backoffMillis: Int64(retryBackoffMillis), badWorkerThreshold: badWorkerThreshold)
    }
    /// Frames with more pixels than this are refused by the decoder (decompression-bomb guard).
    public var maxFramePixels: Int = 250_000_000
    /// Tasks being prepared (file reads, tile windows) at once; bounds coordinator memory.
    public var maxPreparing: Int = 8
    /// How the task and control sockets are secured: CURVE with a generated key by default;
    /// see ``CoordinatorSecurity`` and docs/security.md.
    public var security: CoordinatorSecurity = .ephemeralCurve
    /// Malformed or out-of-place messages one connection may send before it is disconnected
    /// (and, under CURVE, its key suspended for ``suspensionSeconds``).
    public var maxMalformedPerPeer: Int = 16
    /// How long a key disconnected for sending garbage is refused, in seconds.
    public var suspensionSeconds: Int = 300
    /// Tasks one worker may hold at once (running plus queued), whatever credit it grants.
    public var maxTasksInFlightPerWorker: Int = 64
    /// Bound on task payload bytes the coordinator holds at once: tasks prepared and tasks sent
    /// but not yet answered (RAW files for decodes, CFA windows for tiles), on top of workers'
    /// credit. A task is prepared only once its bytes fit; a single task larger than the bound
    /// is still sent when nothing else is in flight. Default 1 GiB.
    public var maxInflightBytes: Int = 1 << 30
    /// How long a database call waits for another process's write lock before it fails busy
    /// (then the coordinator retries it), in milliseconds.
    public var databaseBusyTimeoutMillis: Int = 10_000
    /// Where to serve Prometheus metrics over HTTP (`HOST:PORT`, path `/metrics`); nil for none.
    public var metricsEndpoint: String?

    public init(taskEndpoint: String, controlEndpoint: String?, databasePath: String, spoolDirectory: String? = nil) {
        self.taskEndpoint = taskEndpoint
        self.controlEndpoint = controlEndpoint
        self.databasePath = databasePath
        self.spoolDirectory = spoolDirectory ?? (databasePath + ".spool")
    }
}

/// Errors that stop a coordinator from starting or a request from being served.
public enum CoordinatorError: Error, CustomStringConvertible {
    case captureDirectoryUnreadable(path: String, reason: String)
    case noFrames(path: String)
    case outputDirectoryUnusable(path: String, reason: String)
    case invalidRecipe(String)
    case invalidRequest(String)
    case transport(String)
    case store(String)

    public var description: String {
        switch self {
        case .captureDirectoryUnreadable(let path, let reason): "cannot read capture directory \(path): \(reason)"
        case .noFrames(let path): "no RAW files found in \(path)"
        case .outputDirectoryUnusable(let path, let reason): "cannot use output directory \(path): \(reason)"
        case .invalidRecipe(let message): "invalid recipe: \(message)"
        case .invalidRequest(let message): "invalid request: \(message)"
        case .transport(let message): "transport error: \(message)"
        case .store(let message): "database error: \(message)"
        }
    }
}
