import Foundation
import TesseraCore

// Value types crossing the store's API. All are plain `Sendable` values copied out of SQLite;
// none keeps a reference to the database. Timestamps are `Int64` milliseconds since the Unix epoch
// (UTC), as produced by the store's ``StoreClock``.

/// The life of a frame (one input RAW file).
///
/// ```
/// pending ──decoded──▶ developing ──last tile──▶ assembling ──output──▶ done
///    └──────────────────────┴──────────────────────┴──failure──▶ failed
/// ```
/// A burst frame goes `pending` (its members decode) ──planned──▶ `merging` (merge tiles run)
/// ──last merge tile──▶ `merged` ──merged raw assembled──▶ `developing` and on as above.
public enum FrameState: String, Sendable, Codable, CaseIterable {
    /// The decode task is queued or running.
    case pending
    /// Decoded; its tile tasks are queued or running.
    case developing
    /// Every tile succeeded; the coordinator is assembling and encoding the output file.
    case assembling
    /// The output file is written and recorded.
    case done
    /// The frame will not produce output (decode, a tile, or encoding failed permanently).
    case failed
    /// A burst whose merge-tile tasks are queued or running.
    case merging
    /// A burst whose merge tiles all succeeded; the coordinator is assembling the merged raw.
    case merged

    /// Whether the frame will not change any more.
    public var isFinished: Bool { self == .done || self == .failed }
}

/// The life of a job (one submitted capture directory).
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Accepted but not started (not produced by ``TesseraStore/createJob(_:frames:)``, which
    /// starts jobs immediately; kept for a future admission queue).
    case queued
    /// Some frames are not finished.
    case running
    /// Every frame is done.
    case succeeded
    /// Every frame is finished, some failed and some are done.
    case completedWithFailures
    /// Every frame failed.
    case failed
    /// Cancelled by an operator; no task of it will be dispatched again.
    case cancelled

    /// Whether the job is over (no more dispatch).
    public var isFinished: Bool { self != .queued && self != .running }
}

/// How one dispatch of a task (an attempt) ended.
public enum AttemptOutcome: String, Sendable, Codable, CaseIterable {
    /// Still in flight.
    case running
    /// The worker returned a result that was accepted.
    case succeeded
    /// The worker reported a failure (see the attempt's error code and message).
    case failed
    /// The worker was lost or the coordinator restarted; the task went back to the queue.
    case lost
    /// The task was cancelled while this attempt was in flight (job cancelled, frame failed).
    case cancelled
}

/// Severity of an operator event.
public enum EventLevel: String, Sendable, Codable, CaseIterable {
    /// Diagnostics for developers.
    case debug
    /// Normal progress (job created, frame done).
    case info
    /// Something recovered by itself (worker lost, task retried).
    case warning
    /// Something an operator must look at (frame failed).
    case error
}

// MARK: - Inputs

/// A job to create. Strings are stored verbatim; the store never touches the file system.
public struct NewJob: Sendable, Hashable {
    /// Display name (e.g. the capture directory's last component).
    public var name: String
    /// Absolute path of the capture directory (with `outputDir`, the key for resuming a run).
    public var captureDir: String
    /// Absolute path where outputs are written.
    public var outputDir: String
    /// The recipe's name, e.g. `standard`.
    public var recipeName: String
    /// The full recipe document (JSON) handed to workers with every task.
    public var recipeDocument: String
    /// A hash of `recipeDocument`, for `status` and for detecting changed recipes on resume.
    public var recipeHash: String
    /// Tile edge in pixels (> 0).
    public var tileSize: Int
    /// Output format name, e.g. `jpeg`, `tiff`, `png`.
    public var format: String
    /// Dispatch priority: higher runs first; ties go to the older job.
    public var priority: Int
    /// Whether existing output files may be replaced.
    public var overwrite: Bool

    /// A job description; `priority` defaults to 0 and `overwrite` to `false`.
    public init(name: String, captureDir: String, outputDir: String, recipeName: String,
                recipeDocument: String, recipeHash: String, tileSize: Int, format: String,
                priority: Int = 0, overwrite: Bool = false) {
        self.name = name
        self.captureDir = captureDir
        self.outputDir = outputDir
        self.recipeName = recipeName
        self.recipeDocument = recipeDocument
        self.recipeHash = recipeHash
        self.tileSize = tileSize
        self.format = format
        self.priority = priority
        self.overwrite = overwrite
    }
}

/// One input file of a new job.
public struct NewFrame: Sendable, Hashable {
    /// Absolute path of the RAW file.
    public var path: String
    /// File name without extension; names the output file.
    public var stem: String
    /// Size of the RAW file in bytes.
    public var byteCount: Int64
    /// For a burst: the other frames' absolute paths, in capture order (`path` is the first).
    public var members: [String]

    /// One input file (or the first of a burst): absolute `path`, output `stem`, size in bytes.
    public init(path: String, stem: String, byteCount: Int64, members: [String] = []) {
        self.path = path
        self.stem = stem
        self.byteCount = byteCount
        self.members = members
    }
}

/// An operator event to append. Ids are optional context.
public struct NewEvent: Sendable, Hashable {
    public var level: EventLevel
    /// A short machine-readable category, e.g. `worker.lost`, `frame.failed`.
    public var kind: String
    /// The human sentence shown to operators.
    public var message: String
    public var job: JobID?
    public var frame: FrameID?
    public var task: TaskID?
    public var worker: WorkerID?
    /// Milliseconds since the Unix epoch; `nil` means "now" by the store's clock.
    public var at: Int64?

    /// An event; ids are optional context, `at` defaults to the store's clock.
    public init(level: EventLevel, kind: String, message: String, job: JobID? = nil,
                frame: FrameID? = nil, task: TaskID? = nil, worker: WorkerID? = nil, at: Int64? = nil) {
        self.level = level
        self.kind = kind
        self.message = message
        self.job = job
        self.frame = frame
        self.task = task
        self.worker = worker
        self.at = at
    }
}

// MARK: - Records

/// A job row, with its counters (kept in the row, updated in the same transaction as every change).
public struct JobRecord: Sendable, Hashable {
    public var id: JobID
    public var name: String
    public var captureDir: String
    public var outputDir: String
    public var recipeName: String
    public var recipeDocument: String
    public var recipeHash: String
    public var tileSize: Int
    public var format: String
    public var priority: Int
    public var overwrite: Bool
    public var state: JobState
    /// Paused jobs keep their state but are skipped by ``TesseraStore/claimTasks(worker:limit:)``.
    public var paused: Bool
    /// Milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// When the job reached a finished state (ms since the epoch).
    public var finishedAt: Int64?
    public var framesTotal: Int
    public var framesDone: Int
    public var framesFailed: Int
    /// Number of tasks in each state (every state present, zero included).
    public var taskCounts: [TaskState: Int]

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: JobID, name: String, captureDir: String, outputDir: String, recipeName: String, recipeDocument: String, recipeHash: String, tileSize: Int, format: String, priority: Int, overwrite: Bool, state: JobState, paused: Bool, createdAt: Int64, finishedAt: Int64?, framesTotal: Int, framesDone: Int, framesFailed: Int, taskCounts: [TaskState: Int]) {
        self.id = id
        self.name = name
        self.captureDir = captureDir
        self.outputDir = outputDir
        self.recipeName = recipeName
        self.recipeDocument = recipeDocument
        self.recipeHash = recipeHash
        self.tileSize = tileSize
        self.format = format
        self.priority = priority
        self.overwrite = overwrite
        self.state = state
        self.paused = paused
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.framesTotal = framesTotal
        self.framesDone = framesDone
        self.framesFailed = framesFailed
        self.taskCounts = taskCounts
    }
}

/// A failed frame, for `status`.
public struct FrameFailure: Sendable, Hashable {
    public var frameID: FrameID
    public var path: String
    /// Error code reported with the failure (e.g. a wire status name); `nil` for failures recorded
    /// without one (``TesseraStore/recordFrameFailed(frame:reason:)``).
    public var code: String?
    public var reason: String
    /// Attempts of the task whose failure failed the frame; 0 when the frame failed outside a task
    /// (assembly, encoding).
    public var attempts: Int

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(frameID: FrameID, path: String, code: String?, reason: String, attempts: Int) {
        self.frameID = frameID
        self.path = path
        self.code = code
        self.reason = reason
        self.attempts = attempts
    }
}

/// What `tessera status` shows for one job.
public struct JobSummary: Sendable, Hashable {
    public var id: JobID
    public var name: String
    public var state: JobState
    public var paused: Bool
    public var priority: Int
    public var framesTotal: Int
    public var framesDone: Int
    public var framesFailed: Int
    /// Number of tasks in each state (every state present, zero included).
    public var taskCounts: [TaskState: Int]
    public var outputDir: String
    /// Milliseconds since the Unix epoch.
    public var createdAt: Int64
    public var finishedAt: Int64?
    /// Failed frames in frame-id order.
    public var failures: [FrameFailure]

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: JobID, name: String, state: JobState, paused: Bool, priority: Int, framesTotal: Int, framesDone: Int, framesFailed: Int, taskCounts: [TaskState: Int], outputDir: String, createdAt: Int64, finishedAt: Int64?, failures: [FrameFailure]) {
        self.id = id
        self.name = name
        self.state = state
        self.paused = paused
        self.priority = priority
        self.framesTotal = framesTotal
        self.framesDone = framesDone
        self.framesFailed = framesFailed
        self.taskCounts = taskCounts
        self.outputDir = outputDir
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.failures = failures
    }
}

/// A frame row.
public struct FrameRecord: Sendable, Hashable {
    public var id: FrameID
    public var jobID: JobID
    /// Position of the frame in the job's frame list (0-based).
    public var index: Int
    public var path: String
    public var stem: String
    public var byteCount: Int64
    public var state: FrameState
    /// Pixels; `nil` before the decode succeeded.
    public var width: Int?
    public var height: Int?
    /// Decode metadata (JSON from the worker); `nil` before decode.
    public var metadata: String?
    /// Where the coordinator spooled the CFA plane; `nil` before decode.
    public var spoolPath: String?
    public var tilesTotal: Int
    public var tilesDone: Int
    /// Tile cores in task-id order (row-major as planned); empty before decode.
    public var tiles: [PixelRect]
    public var outputPath: String?
    public var outputBytes: Int64?
    /// XXH64 of the output file.
    public var outputChecksum: UInt64?
    public var failureCode: String?
    public var failureReason: String?
    public var failureAttempts: Int
    /// When the decode succeeded (ms since the epoch).
    public var decodedAt: Int64?
    /// When the frame became done or failed (ms since the epoch).
    public var finishedAt: Int64?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: FrameID, jobID: JobID, index: Int, path: String, stem: String, byteCount: Int64, state: FrameState, width: Int?, height: Int?, metadata: String?, spoolPath: String?, tilesTotal: Int, tilesDone: Int, tiles: [PixelRect], outputPath: String?, outputBytes: Int64?, outputChecksum: UInt64?, failureCode: String?, failureReason: String?, failureAttempts: Int, decodedAt: Int64?, finishedAt: Int64?) {
        self.id = id
        self.jobID = jobID
        self.index = index
        self.path = path
        self.stem = stem
        self.byteCount = byteCount
        self.state = state
        self.width = width
        self.height = height
        self.metadata = metadata
        self.spoolPath = spoolPath
        self.tilesTotal = tilesTotal
        self.tilesDone = tilesDone
        self.tiles = tiles
        self.outputPath = outputPath
        self.outputBytes = outputBytes
        self.outputChecksum = outputChecksum
        self.failureCode = failureCode
        self.failureReason = failureReason
        self.failureAttempts = failureAttempts
        self.decodedAt = decodedAt
        self.finishedAt = finishedAt
    }
}

/// One tile task of a frame.
public struct TileRecord: Sendable, Hashable {
    public var taskID: TaskID
    public var core: PixelRect
    public var state: TaskState
    public var attempts: Int

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(taskID: TaskID, core: PixelRect, state: TaskState, attempts: Int) {
        self.taskID = taskID
        self.core = core
        self.state = state
        self.attempts = attempts
    }
}

/// A task row.
public struct TaskRecord: Sendable, Hashable {
    public var id: TaskID
    public var jobID: JobID
    public var frameID: FrameID
    public var kind: TaskKind
    public var state: TaskState
    /// Number of dispatches so far (the current attempt's number while running).
    public var attempts: Int
    /// The worker running it (only while `running`).
    public var workerID: WorkerID?
    /// The tile core for ``TaskKind/developTile``; `nil` for decode.
    public var core: PixelRect?
    /// Start of the latest attempt (ms since the epoch).
    public var startedAt: Int64?
    /// When the task reached a terminal state (ms since the epoch).
    public var finishedAt: Int64?
    /// The latest failure's message.
    public var lastError: String?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: TaskID, jobID: JobID, frameID: FrameID, kind: TaskKind, state: TaskState, attempts: Int, workerID: WorkerID?, core: PixelRect?, startedAt: Int64?, finishedAt: Int64?, lastError: String?) {
        self.id = id
        self.jobID = jobID
        self.frameID = frameID
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.workerID = workerID
        self.core = core
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.lastError = lastError
    }
}

/// One dispatch of a task.
public struct AttemptRecord: Sendable, Hashable {
    public var taskID: TaskID
    /// 1-based attempt number.
    public var attempt: Int
    public var workerID: WorkerID
    /// Milliseconds since the Unix epoch.
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var outcome: AttemptOutcome
    public var errorCode: String?
    public var error: String?
    /// Compute time reported by the worker, in microseconds.
    public var computeMicros: Int64?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(taskID: TaskID, attempt: Int, workerID: WorkerID, startedAt: Int64, finishedAt: Int64?, outcome: AttemptOutcome, errorCode: String?, error: String?, computeMicros: Int64?) {
        self.taskID = taskID
        self.attempt = attempt
        self.workerID = workerID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.errorCode = errorCode
        self.error = error
        self.computeMicros = computeMicros
    }
}

/// A registered worker session.
public struct WorkerRecord: Sendable, Hashable {
    public var id: WorkerID
    public var name: String
    public var host: String
    public var cores: Int
    public var memoryBytes: Int64
    public var slots: Int
    public var version: String
    /// `false` once the worker was declared lost.
    public var active: Bool
    /// Milliseconds since the Unix epoch.
    public var registeredAt: Int64
    public var lastSeen: Int64
    public var lostAt: Int64?
    public var lostReason: String?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: WorkerID, name: String, host: String, cores: Int, memoryBytes: Int64, slots: Int, version: String, active: Bool, registeredAt: Int64, lastSeen: Int64, lostAt: Int64?, lostReason: String?) {
        self.id = id
        self.name = name
        self.host = host
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.slots = slots
        self.version = version
        self.active = active
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
        self.lostAt = lostAt
        self.lostReason = lostReason
    }
}

/// An operator event.
public struct EventRecord: Sendable, Hashable {
    /// Monotonic sequence number: pass the last one seen as `after` to follow the log.
    public var id: Int64
    /// Milliseconds since the Unix epoch.
    public var at: Int64
    public var level: EventLevel
    public var kind: String
    public var message: String
    public var job: JobID?
    public var frame: FrameID?
    public var task: TaskID?
    public var worker: WorkerID?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(id: Int64, at: Int64, level: EventLevel, kind: String, message: String, job: JobID?, frame: FrameID?, task: TaskID?, worker: WorkerID?) {
        self.id = id
        self.at = at
        self.level = level
        self.kind = kind
        self.message = message
        self.job = job
        self.frame = frame
        self.task = task
        self.worker = worker
    }
}

// MARK: - Dispatch

/// A task handed to a worker by ``TesseraStore/claimTasks(worker:limit:)``: everything the
/// coordinator needs to build the wire message without another query.
public struct ClaimedTask: Sendable, Hashable {
    public var taskID: TaskID
    public var jobID: JobID
    public var frameID: FrameID
    public var kind: TaskKind
    /// 1-based attempt number; echo it with the result.
    public var attempt: Int
    /// Tile core for ``TaskKind/developTile``; `nil` for decode.
    public var core: PixelRect?
    public var framePath: String
    /// Frame size in pixels, `nil` before decode.
    public var frameWidth: Int?
    public var frameHeight: Int?
    /// Spooled CFA plane, set after decode.
    public var spoolPath: String?
    /// Decode metadata (JSON), set after decode.
    public var frameMetadata: String?
    public var recipeName: String
    public var recipeDocument: String
    public var recipeHash: String
    public var format: String
    public var tileSize: Int
    public var outputDir: String
    public var stem: String
    /// For a burst frame: the other frames' paths in capture order (empty for a single frame).
    public var members: [String]
    /// For a burst member's decode task: which member (0 = `framePath`, k = `members[k-1]`).
    public var member: Int?

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(taskID: TaskID, jobID: JobID, frameID: FrameID, kind: TaskKind, attempt: Int, core: PixelRect?, framePath: String, frameWidth: Int?, frameHeight: Int?, spoolPath: String?, frameMetadata: String?, recipeName: String, recipeDocument: String, recipeHash: String, format: String, tileSize: Int, outputDir: String, stem: String, members: [String] = [], member: Int? = nil) {
        self.members = members
        self.member = member
        self.taskID = taskID
        self.jobID = jobID
        self.frameID = frameID
        self.kind = kind
        self.attempt = attempt
        self.core = core
        self.framePath = framePath
        self.frameWidth = frameWidth
        self.frameHeight = frameHeight
        self.spoolPath = spoolPath
        self.frameMetadata = frameMetadata
        self.recipeName = recipeName
        self.recipeDocument = recipeDocument
        self.recipeHash = recipeHash
        self.format = format
        self.tileSize = tileSize
        self.outputDir = outputDir
        self.stem = stem
    }
}

/// Result of ``TesseraStore/recordDecoded(task:attempt:width:height:metadata:spoolPath:tiles:computeMicros:)``.
public enum DecodeOutcome: Sendable, Hashable {
    /// Accepted; the tile tasks were inserted with these (consecutive) ids, in the order of `tiles`.
    case accepted([TaskID])
    /// The task is not running with this attempt (late or duplicate result): nothing changed.
    case stale
}

/// Result of recording a finished tile.
public enum TileOutcome: Sendable, Hashable {
    /// Accepted; other tiles of the frame are still outstanding.
    case frameIncomplete
    /// Accepted and it was the frame's last tile: the frame is now `assembling`.
    case frameComplete(FrameID)
    /// The task is not running with this attempt (late or duplicate result): nothing changed.
    case stale
}

/// Result of ``TesseraStore/recordFailure(task:attempt:code:reason:retryable:maxAttempts:)``.
/// How failures are retried: attempts, backoff, and when a worker is listed as bad for a job.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per task before it fails for good.
    public var maxAttempts: Int
    /// First retry delay in milliseconds; doubles with each attempt (0 = retry at once).
    public var backoffMillis: Int64
    /// Longest retry delay in milliseconds.
    public var maxBackoffMillis: Int64
    /// Retryable failures of one worker on one job before it gets no more of that job's tasks.
    public var badWorkerThreshold: Int

    /// Failure codes that are never held against the worker: a task it handed back, and the
    /// coordinator's own trouble (spool or output writes).
    public static let coordinatorErrorCode = "coordinatorError"
    static let notTheWorkersFault: Set<String> = ["cancelled", coordinatorErrorCode]

    public init(maxAttempts: Int, backoffMillis: Int64 = 500, maxBackoffMillis: Int64 = 60_000, badWorkerThreshold: Int = 3) {
        self.maxAttempts = maxAttempts
        self.backoffMillis = backoffMillis
        self.maxBackoffMillis = maxBackoffMillis
        self.badWorkerThreshold = badWorkerThreshold
    }
}

/// What ``TesseraStore/recordFailure(task:attempt:code:reason:retryable:policy:)`` did.
public struct FailureRecord: Sendable, Hashable {
    public var outcome: FailureOutcome
    /// The worker this failure put on the job's bad-worker list, if any.
    public var bannedWorker: String?

    public init(outcome: FailureOutcome, bannedWorker: String? = nil) {
        self.outcome = outcome
        self.bannedWorker = bannedWorker
    }
}

public enum FailureOutcome: Sendable, Hashable {
    /// The task is queued again.
    case requeued
    /// The task failed for good; its frame failed and the frame's other tasks were cancelled.
    case frameFailed(FrameID)
    /// A burst member's decode failed for good: the member is left out of its burst (the frame
    /// goes on with the others; the coordinator fails it if no member decoded).
    case memberSkipped(FrameID)
    /// The task is not running with this attempt (late or duplicate report): nothing changed.
    case stale
}

/// A running task taken away from its worker by ``TesseraStore/cancelJob(_:)``; the coordinator
/// may tell the worker to abort it (its result would be ignored as stale anyway).
public struct CancelledTask: Sendable, Hashable {
    public var taskID: TaskID
    public var workerID: WorkerID
    public var attempt: Int

    /// Memberwise initialiser (for fakes and tests of code that consumes the store).
    public init(taskID: TaskID, workerID: WorkerID, attempt: Int) {
        self.taskID = taskID
        self.workerID = workerID
        self.attempt = attempt
    }
}

/// The JSON form of a burst frame's member paths in `frames.members`.
enum FrameMembers {
    static func encode(_ paths: [String]) -> String {
        String(decoding: try! JSONEncoder().encode(paths), as: UTF8.self)
    }

    static func decode(_ text: String?) -> [String] {
        guard let text, let paths = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return [] }
        return paths
    }
}
