import TesseraCore

/// Length and XXH3-64 checksum (`XXH3_64bits`, seed 0) of one payload frame, carried in the header of TASK and RESULT.
///
/// The receiver checks each received payload frame against its descriptor with
/// `WireCodec.verifyPayloads` before trusting the bytes.
public struct PayloadDescriptor: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The payload frame's length in bytes.
    public var length: UInt64
    /// `XXH3.hash(frame)` (XXH3-64, seed 0; protocol version 3 — versions 1 and 2 carried XXH64).
    public var checksum: UInt64

    /// A descriptor with the given length (bytes) and XXH3-64 checksum.
    public init(length: UInt64, checksum: UInt64) {
        self.length = length
        self.checksum = checksum
    }

    /// The descriptor of `bytes`: its length and XXH3-64 (hashes the whole buffer, at memory speed).
    public init(describing bytes: UnsafeRawBufferPointer) {
        self.length = UInt64(bytes.count)
        self.checksum = XXH3.hash(bytes)
    }

    /// Copies `bytes` to `destination` (at least `bytes.count` bytes) and returns their
    /// descriptor, reading them once (``XXH3/hashCopying(_:to:)``): for a payload copied
    /// into a message buffer as it is described.
    public init(copying bytes: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer) {
        self.length = UInt64(bytes.count)
        self.checksum = XXH3.hashCopying(bytes, to: destination)
    }

    /// The descriptor of `bytes`: its length and XXH3-64.
    public init(describing bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { PayloadDescriptor(describing: $0) }
    }

    /// `"<length> B xxh3=<hex>"`, for logs.
    public var description: String { "\(length) B xxh3=\(hex(checksum, width: 16))" }
}

// MARK: - Task socket

/// HELLO (worker → coordinator): the first message of a worker session.
public struct Hello: Equatable, Sendable {
    /// Operator-facing name of the worker (e.g. `"render-07/1"`), ≤ maxStringLength bytes.
    public var workerName: String
    /// The host the worker runs on.
    public var hostname: String
    /// The worker's software version (e.g. `"tessera 0.1.0"`).
    public var softwareVersion: String
    /// Logical CPU cores available to the worker.
    public var cores: UInt16
    /// Memory available to the worker, in bytes.
    public var memoryBytes: UInt64
    /// How many tasks the worker runs concurrently.
    public var slots: UInt16
    /// The task kinds the worker can run (a u8 bitset on the wire: bit `kind.rawValue - 1`).
    public var taskKinds: Set<TaskKind>
    /// Short capability tags, e.g. `"libraw-0.20.2"`, `"decode-dng"`; ≤ 64 items of ≤ 64 bytes.
    public var capabilities: [String]

    /// Creates a HELLO.
    public init(
        workerName: String, hostname: String, softwareVersion: String, cores: UInt16, memoryBytes: UInt64,
        slots: UInt16, taskKinds: Set<TaskKind>, capabilities: [String]
    ) {
        self.workerName = workerName
        self.hostname = hostname
        self.softwareVersion = softwareVersion
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.slots = slots
        self.taskKinds = taskKinds
        self.capabilities = capabilities
    }
}

/// WELCOME (coordinator → worker): the worker is registered; heartbeating starts.
public struct Welcome: Equatable, Sendable {
    /// The id of this worker session (valid until the worker leaves or is declared lost).
    public var workerID: WorkerID
    /// Both ends send a message (HEARTBEAT if nothing else) at least this often, in milliseconds.
    public var heartbeatIntervalMillis: UInt32
    /// A peer silent for this many intervals is considered lost.
    public var livenessBeats: UInt16
    /// The coordinator's software version.
    public var coordinatorVersion: String

    /// Creates a WELCOME.
    public init(workerID: WorkerID, heartbeatIntervalMillis: UInt32, livenessBeats: UInt16, coordinatorVersion: String) {
        self.workerID = workerID
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.livenessBeats = livenessBeats
        self.coordinatorVersion = coordinatorVersion
    }
}

/// REFUSE (coordinator → worker): the coordinator will not serve this peer (or this message).
public struct Refuse: Equatable, Sendable {
    /// Why, machine-readable.
    public var code: WireStatus
    /// Why, for humans (clamp untrusted text with `WireText.clamped`).
    public var reason: String

    /// Creates a REFUSE.
    public init(code: WireStatus, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// CREDIT (worker → coordinator): the worker can take `credits` more tasks now (additive).
public struct Credit: Equatable, Sendable {
    /// Additional tasks the worker can accept, ≥ 1.
    public var credits: UInt16

    /// Creates a CREDIT; `credits` must be ≥ 1.
    public init(credits: UInt16) { self.credits = credits }
}

/// TASK (coordinator → worker): one unit of work, followed by `payloads.count` payload frames.
public struct TaskAssignment: Equatable, Sendable {
    /// The task being leased.
    public var taskID: TaskID
    /// Which attempt of the task this is (counts from 1); RESULT/FAILURE echo it.
    public var attempt: UInt32
    /// What to do.
    public var kind: TaskKind
    /// The job the task belongs to.
    public var jobID: JobID
    /// The frame the task belongs to.
    public var frameID: FrameID
    /// The task's parameters document (JSON from the imaging layer; opaque to the wire), ≤ 1 MiB.
    public var parameters: [UInt8]
    /// Descriptors of the payload frames that follow the header, in order.
    public var payloads: [PayloadDescriptor]

    /// Creates a TASK.
    public init(
        taskID: TaskID, attempt: UInt32, kind: TaskKind, jobID: JobID, frameID: FrameID, parameters: [UInt8],
        payloads: [PayloadDescriptor]
    ) {
        self.taskID = taskID
        self.attempt = attempt
        self.kind = kind
        self.jobID = jobID
        self.frameID = frameID
        self.parameters = parameters
        self.payloads = payloads
    }
}

/// RESULT (worker → coordinator): a task succeeded; its outputs follow as payload frames.
public struct TaskResult: Equatable, Sendable {
    /// The task that succeeded.
    public var taskID: TaskID
    /// The attempt, echoed from TASK.
    public var attempt: UInt32
    /// Time spent computing on the worker, in microseconds.
    public var computeMicros: UInt64
    /// Result metadata (JSON from the imaging layer; opaque to the wire), ≤ 1 MiB.
    public var metadata: [UInt8]
    /// Descriptors of the payload frames that follow the header, in order.
    public var payloads: [PayloadDescriptor]

    /// Creates a RESULT.
    public init(taskID: TaskID, attempt: UInt32, computeMicros: UInt64, metadata: [UInt8], payloads: [PayloadDescriptor]) {
        self.taskID = taskID
        self.attempt = attempt
        self.computeMicros = computeMicros
        self.metadata = metadata
        self.payloads = payloads
    }
}

/// FAILURE (worker → coordinator): a task could not be completed.
public struct TaskFailure: Equatable, Sendable {
    /// The task that failed.
    public var taskID: TaskID
    /// The attempt, echoed from TASK.
    public var attempt: UInt32
    /// Why, machine-readable.
    public var code: FailureCode
    /// Whether another attempt could succeed (the worker's judgement; see `FailureCode.defaultRetryable`).
    public var retryable: Bool
    /// Why, for humans (clamp error text with `WireText.clamped`).
    public var reason: String

    /// Creates a FAILURE.
    public init(taskID: TaskID, attempt: UInt32, code: FailureCode, retryable: Bool, reason: String) {
        self.taskID = taskID
        self.attempt = attempt
        self.code = code
        self.retryable = retryable
        self.reason = reason
    }
}

/// CANCEL (coordinator → worker): stop these tasks; the worker answers FAILURE `cancelled` for
/// each one it still holds and ignores ids it does not know.
public struct Cancel: Equatable, Sendable {
    /// The tasks to cancel, ≤ 65,536.
    public var taskIDs: [TaskID]

    /// Creates a CANCEL.
    public init(taskIDs: [TaskID]) { self.taskIDs = taskIDs }
}

/// GOODBYE (worker → coordinator): the worker is leaving; tasks it still holds are requeued.
public struct Goodbye: Equatable, Sendable {
    /// Why, for humans (e.g. `"SIGTERM: draining"`).
    public var reason: String

    /// Creates a GOODBYE.
    public init(reason: String) { self.reason = reason }
}

// MARK: - Control socket

/// SUBMIT (client → coordinator): create a job from a directory of RAW captures.
public struct Submit: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// Operator-facing job name.
    public var jobName: String
    /// Directory of RAW files, as a path on the coordinator's file system.
    public var captureDir: String
    /// Directory to write the outputs into, as a path on the coordinator's file system.
    public var outputDir: String
    /// A built-in recipe name or a recipe document (a `longstr`, ≤ 64 KiB).
    public var recipe: String
    /// Tile edge length in pixels.
    public var tileSize: UInt32
    /// Output file format.
    public var format: WireOutputFormat
    /// Scheduling priority; higher runs first, 0 is normal.
    public var priority: Int32
    /// Whether existing files in `outputDir` may be replaced.
    public var overwrite: Bool
    /// Group frames shot in quick succession into bursts and merge each into one frame (v2).
    public var mergeBursts: Bool
    /// Largest gap between two frames of one burst, in milliseconds (v2; used with `mergeBursts`).
    public var burstGapMillis: UInt32

    /// Creates a SUBMIT.
    public init(
        requestID: UInt32, jobName: String, captureDir: String, outputDir: String, recipe: String, tileSize: UInt32,
        format: WireOutputFormat, priority: Int32, overwrite: Bool, mergeBursts: Bool = false, burstGapMillis: UInt32 = 1500
    ) {
        self.mergeBursts = mergeBursts
        self.burstGapMillis = burstGapMillis
        self.requestID = requestID
        self.jobName = jobName
        self.captureDir = captureDir
        self.outputDir = outputDir
        self.recipe = recipe
        self.tileSize = tileSize
        self.format = format
        self.priority = priority
        self.overwrite = overwrite
    }
}

/// SUBMITTED (coordinator → client): the job was created.
public struct Submitted: Equatable, Sendable {
    /// Echoed from SUBMIT.
    public var requestID: UInt32
    /// The new job.
    public var jobID: JobID
    /// How many frames the job has.
    public var frames: UInt32

    /// Creates a SUBMITTED.
    public init(requestID: UInt32, jobID: JobID, frames: UInt32) {
        self.requestID = requestID
        self.jobID = jobID
        self.frames = frames
    }
}

/// STATUS (client → coordinator): report one job, or all jobs.
public struct StatusRequest: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// The job to report, or `nil` for all jobs (0 on the wire; a `JobID(0)` is not allowed).
    public var jobID: JobID?

    /// Creates a STATUS.
    public init(requestID: UInt32, jobID: JobID?) {
        self.requestID = requestID
        self.jobID = jobID
    }
}

/// Task counts of a job by state (u64 each on the wire).
public struct TaskCounts: Equatable, Sendable {
    /// Tasks waiting for a worker.
    public var queued: UInt64
    /// Tasks leased to a worker.
    public var running: UInt64
    /// Tasks finished successfully.
    public var succeeded: UInt64
    /// Tasks that failed with no attempts left.
    public var failed: UInt64
    /// Tasks cancelled.
    public var cancelled: UInt64

    /// Creates task counts.
    public init(queued: UInt64 = 0, running: UInt64 = 0, succeeded: UInt64 = 0, failed: UInt64 = 0, cancelled: UInt64 = 0) {
        self.queued = queued
        self.running = running
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
    }
}

/// One failed frame of a job, as listed by STATUS_REPLY.
public struct WireFrameFailure: Equatable, Sendable {
    /// The frame's input path.
    public var framePath: String
    /// The last failure's reason.
    public var reason: String
    /// How many attempts were made.
    public var attempts: UInt32

    /// Creates a frame failure entry.
    public init(framePath: String, reason: String, attempts: UInt32) {
        self.framePath = framePath
        self.reason = reason
        self.attempts = attempts
    }
}

/// One job's status, as listed by STATUS_REPLY.
public struct JobStatus: Equatable, Sendable {
    /// The job.
    public var jobID: JobID
    /// Its name from SUBMIT.
    public var name: String
    /// Its state.
    public var state: WireJobState
    /// Frames in the job.
    public var framesTotal: UInt32
    /// Frames written successfully.
    public var framesDone: UInt32
    /// Frames that failed.
    public var framesFailed: UInt32
    /// Its tasks by state.
    public var tasks: TaskCounts
    /// Where its outputs go.
    public var outputDir: String
    /// Its failed frames (≤ 100,000).
    public var failures: [WireFrameFailure]

    /// Creates a job status entry.
    public init(
        jobID: JobID, name: String, state: WireJobState, framesTotal: UInt32, framesDone: UInt32, framesFailed: UInt32,
        tasks: TaskCounts, outputDir: String, failures: [WireFrameFailure]
    ) {
        self.jobID = jobID
        self.name = name
        self.state = state
        self.framesTotal = framesTotal
        self.framesDone = framesDone
        self.framesFailed = framesFailed
        self.tasks = tasks
        self.outputDir = outputDir
        self.failures = failures
    }
}

/// STATUS_REPLY (coordinator → client).
public struct StatusReply: Equatable, Sendable {
    /// Echoed from STATUS.
    public var requestID: UInt32
    /// Workers currently registered.
    public var workersConnected: UInt32
    /// The requested job, or all jobs (≤ 10,000).
    public var jobs: [JobStatus]

    /// Creates a STATUS_REPLY.
    public init(requestID: UInt32, workersConnected: UInt32, jobs: [JobStatus]) {
        self.requestID = requestID
        self.workersConnected = workersConnected
        self.jobs = jobs
    }
}

/// CONTROL_ERROR (coordinator → client): the request failed.
public struct ControlError: Equatable, Sendable {
    /// Echoed from the request (0 if the request could not be decoded).
    public var requestID: UInt32
    /// Why, machine-readable.
    public var code: WireStatus
    /// Why, for humans.
    public var message: String

    /// Creates a CONTROL_ERROR.
    public init(requestID: UInt32, code: WireStatus, message: String) {
        self.requestID = requestID
        self.code = code
        self.message = message
    }
}

// MARK: - The message

/// One Tessera protocol message: the decoded header frame of a multipart ZeroMQ message.
///
/// Payload frames (TASK, RESULT) are not part of this value; they travel as separate frames and
/// are described by `payloads`. Value type, `Sendable`.
public enum WireMessage: Equatable, Sendable {
    /// HELLO (0x01), worker → coordinator.
    case hello(Hello)
    /// WELCOME (0x02), coordinator → worker.
    case welcome(Welcome)
    /// REFUSE (0x03), coordinator → worker.
    case refuse(Refuse)
    /// CREDIT (0x04), worker → coordinator.
    case credit(Credit)
    /// HEARTBEAT (0x05), either direction; empty body.
    case heartbeat
    /// TASK (0x06), coordinator → worker; payload frames follow.
    case task(TaskAssignment)
    /// RESULT (0x07), worker → coordinator; payload frames follow.
    case result(TaskResult)
    /// FAILURE (0x08), worker → coordinator.
    case failure(TaskFailure)
    /// CANCEL (0x09), coordinator → worker.
    case cancel(Cancel)
    /// GOODBYE (0x0A), worker → coordinator.
    case goodbye(Goodbye)
    /// SUBMIT (0x20), client → coordinator.
    case submit(Submit)
    /// SUBMITTED (0x21), coordinator → client.
    case submitted(Submitted)
    /// STATUS (0x22), client → coordinator.
    case status(StatusRequest)
    /// STATUS_REPLY (0x23), coordinator → client.
    case statusReply(StatusReply)
    /// CONTROL_ERROR (0x24), coordinator → client.
    case controlError(ControlError)
    /// DRAIN (0x0B), coordinator → worker.
    case drain(Drain)
    /// JOBS (0x25), client → coordinator.
    case jobs(JobsRequest)
    /// JOBS_REPLY (0x26), coordinator → client.
    case jobsReply(JobsReply)
    /// JOB (0x27), client → coordinator.
    case job(JobDetailRequest)
    /// JOB_REPLY (0x28), coordinator → client.
    case jobReply(JobDetailReply)
    /// WORKERS (0x29), client → coordinator.
    case workers(WorkersRequest)
    /// WORKERS_REPLY (0x2A), coordinator → client.
    case workersReply(WorkersReply)
    /// EVENTS (0x2B), client → coordinator.
    case events(EventsRequest)
    /// EVENTS_REPLY (0x2C), coordinator → client.
    case eventsReply(EventsReply)
    /// STEER (0x2D), client → coordinator.
    case steer(Steer)
    /// STEERED (0x2E), coordinator → client.
    case steered(Steered)

    /// The message's type.
    public var messageType: MessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .refuse: .refuse
        case .credit: .credit
        case .heartbeat: .heartbeat
        case .task: .task
        case .result: .result
        case .failure: .failure
        case .cancel: .cancel
        case .goodbye: .goodbye
        case .submit: .submit
        case .submitted: .submitted
        case .status: .status
        case .statusReply: .statusReply
        case .controlError: .controlError
        case .drain: .drain
        case .jobs: .jobs
        case .jobsReply: .jobsReply
        case .job: .job
        case .jobReply: .jobReply
        case .workers: .workers
        case .workersReply: .workersReply
        case .events: .events
        case .eventsReply: .eventsReply
        case .steer: .steer
        case .steered: .steered
        }
    }

    /// The type code (header byte 3), e.g. 0x06 for TASK.
    public var typeCode: UInt8 { messageType.rawValue }

    /// The spec name, e.g. `"TASK"`; for logs and metric labels.
    public var name: String { messageType.name }

    /// The payload descriptors (TASK, RESULT) or `[]`: how many payload frames must follow.
    public var payloads: [PayloadDescriptor] {
        switch self {
        case let .task(m): m.payloads
        case let .result(m): m.payloads
        default: []
        }
    }
}

/// Helpers for free-text fields (reasons, messages) whose content comes from elsewhere.
public enum WireText {
    /// `text` shortened to at most `maxBytes` UTF-8 bytes at a Unicode scalar boundary, ending
    /// in "…" when shortened. Use it for error descriptions before putting them in a reason
    /// field, so the message stays within `WireLimits.maxStringLength`. Pure function.
    public static func clamped(_ text: String, toUTF8Length maxBytes: Int = WireLimits.default.maxStringLength) -> String {
        if text.utf8.count <= maxBytes { return text }
        let ellipsis = "…"
        let budget = maxBytes - ellipsis.utf8.count
        guard budget > 0 else { return "" }
        var used = 0
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            if used + size > budget { break }
            used += size
            scalars.append(scalar)
        }
        return String(scalars) + ellipsis
    }
}
