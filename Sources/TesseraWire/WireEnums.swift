import TesseraCore

/// The message types of the protocol and their one-byte codes (header byte 3).
///
/// Codes `0x01`–`0x1F` belong to the task socket (worker DEALER ⇄ coordinator ROUTER),
/// `0x20`–`0x3F` to the control socket (CLI DEALER ⇄ coordinator ROUTER). Code `0x00` is
/// reserved and never valid. Specified in protos/PROTOCOL.md §4.
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// HELLO
    case hello = 0x01
    /// WELCOME
    case welcome = 0x02
    /// REFUSE
    case refuse = 0x03
    /// CREDIT
    case credit = 0x04
    /// HEARTBEAT
    case heartbeat = 0x05
    /// TASK
    case task = 0x06
    /// RESULT
    case result = 0x07
    /// FAILURE
    case failure = 0x08
    /// CANCEL
    case cancel = 0x09
    /// GOODBYE
    case goodbye = 0x0A
    /// SUBMIT
    case submit = 0x20
    /// SUBMITTED
    case submitted = 0x21
    /// STATUS
    case status = 0x22
    /// STATUS_REPLY
    case statusReply = 0x23
    /// CONTROL_ERROR
    case controlError = 0x24
    /// DRAIN (task socket)
    case drain = 0x0B
    /// JOBS
    case jobs = 0x25
    /// JOBS_REPLY
    case jobsReply = 0x26
    /// JOB
    case job = 0x27
    /// JOB_REPLY
    case jobReply = 0x28
    /// WORKERS
    case workers = 0x29
    /// WORKERS_REPLY
    case workersReply = 0x2A
    /// EVENTS
    case events = 0x2B
    /// EVENTS_REPLY
    case eventsReply = 0x2C
    /// STEER
    case steer = 0x2D
    /// STEERED
    case steered = 0x2E

    /// Which socket a message type travels on.
    public enum Channel: Sendable, Equatable {
        /// Worker DEALER ⇄ coordinator ROUTER.
        case task
        /// CLI DEALER ⇄ coordinator ROUTER.
        case control
    }

    /// Who sends a message type.
    public enum Sender: Sendable, Equatable {
        /// Sent by a worker to the coordinator.
        case worker
        /// Sent by the coordinator (to a worker or a CLI).
        case coordinator
        /// Sent by a control client (the CLI) to the coordinator.
        case client
        /// Sent by both ends (HEARTBEAT).
        case either
    }

    /// The spec name, e.g. `"STATUS_REPLY"`; stable, suitable for logs and metric labels.
    public var name: String {
        switch self {
        case .hello: "HELLO"
        case .welcome: "WELCOME"
        case .refuse: "REFUSE"
        case .credit: "CREDIT"
        case .heartbeat: "HEARTBEAT"
        case .task: "TASK"
        case .result: "RESULT"
        case .failure: "FAILURE"
        case .cancel: "CANCEL"
        case .goodbye: "GOODBYE"
        case .submit: "SUBMIT"
        case .submitted: "SUBMITTED"
        case .status: "STATUS"
        case .statusReply: "STATUS_REPLY"
        case .controlError: "CONTROL_ERROR"
        case .drain: "DRAIN"
        case .jobs: "JOBS"
        case .jobsReply: "JOBS_REPLY"
        case .job: "JOB"
        case .jobReply: "JOB_REPLY"
        case .workers: "WORKERS"
        case .workersReply: "WORKERS_REPLY"
        case .events: "EVENTS"
        case .eventsReply: "EVENTS_REPLY"
        case .steer: "STEER"
        case .steered: "STEERED"
        }
    }

    /// The socket this message type belongs to.
    public var channel: Channel {
        rawValue < 0x20 ? .task : .control
    }

    /// Which end sends this message type; a receiver should answer a message from the wrong
    /// end with REFUSE/CONTROL_ERROR `unexpectedMessage`.
    public var sender: Sender {
        switch self {
        case .hello, .credit, .result, .failure, .goodbye: .worker
        case .welcome, .refuse, .task, .cancel, .submitted, .statusReply, .controlError: .coordinator
        case .submit, .status: .client
        case .heartbeat: .either
        case .drain, .jobsReply, .jobReply, .workersReply, .eventsReply, .steered: .coordinator
        case .jobs, .job, .workers, .events, .steer: .client
        }
    }

    /// Whether a message of this type may be followed by payload frames (TASK and RESULT only).
    public var carriesPayloads: Bool { self == .task || self == .result }

    /// The spec name (same as `name`).
    public var description: String { name }
}

/// Status codes carried by REFUSE (task socket) and CONTROL_ERROR (control socket), u16 on the wire.
///
/// The set is closed: a receiver rejects any other value as malformed.
/// Each code's meaning and the expected reaction are documented in protos/PROTOCOL.md §6.
public enum WireStatus: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// The header's version byte is not one this peer speaks. The worker should stop and report.
    case unsupportedVersion = 1
    /// The message failed to decode (reason carries the decoder's error text).
    case malformed = 2
    /// A task-socket message other than HELLO arrived from a peer the coordinator does not
    /// know (e.g. after a coordinator restart). The worker should send HELLO again.
    case notRegistered = 3
    /// The peer is not allowed to do this (unknown CURVE key, control disabled, ...).
    case unauthorized = 4
    /// The coordinator is draining: no new workers or jobs. Retry later or elsewhere.
    case shuttingDown = 5
    /// A well-formed message that is not legal here: wrong socket, wrong direction, or wrong
    /// state (e.g. a second HELLO).
    case unexpectedMessage = 6
    /// The worker can run none of the task kinds (or lacks a capability) the coordinator needs.
    case incompatibleWorker = 7
    /// STATUS named a job that does not exist.
    case unknownJob = 8
    /// SUBMIT was well-formed but unacceptable (missing capture dir, unknown recipe, bad tile size...).
    case invalidRequest = 9
    /// SUBMIT would write into a non-empty output directory and `overwrite` was false.
    case outputExists = 10
    /// The coordinator failed unexpectedly (e.g. a database error); the request may be retried.
    case internalError = 11

    /// The spec name, e.g. `"notRegistered"`.
    public var description: String {
        switch self {
        case .unsupportedVersion: "unsupportedVersion"
        case .malformed: "malformed"
        case .notRegistered: "notRegistered"
        case .unauthorized: "unauthorized"
        case .shuttingDown: "shuttingDown"
        case .unexpectedMessage: "unexpectedMessage"
        case .incompatibleWorker: "incompatibleWorker"
        case .unknownJob: "unknownJob"
        case .invalidRequest: "invalidRequest"
        case .outputExists: "outputExists"
        case .internalError: "internalError"
        }
    }
}

/// Why a worker could not complete a task (FAILURE.code, u16 on the wire). Closed set (v3 added `inputNotCached`).
///
/// The worker's `retryable` flag is authoritative; `defaultRetryable` is the recommended value.
public enum FailureCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// The input could not be decoded (corrupt or truncated RAW file). Deterministic.
    case decodeFailed = 1
    /// The input is valid but not supported (camera, compression, CFA layout). Deterministic.
    case unsupportedInput = 2
    /// The task's parameters document was unreadable or out of range. Deterministic.
    case invalidParameters = 3
    /// A bug or an unexpected environment failure on the worker. Transient as far as we know.
    case internalError = 4
    /// A payload frame failed its length or XXH3-64 checksum check on the worker. Transient (transport).
    case payloadCorrupt = 5
    /// The worker ran out of memory for this task; another worker may have more.
    case outOfMemory = 6
    /// The task was cancelled (CANCEL) before it completed.
    case cancelled = 7
    /// The TASK referenced an input plane (`cachedInputs`) the worker no longer holds (a cache
    /// miss, v3): the coordinator resends the same attempt with every input inline.
    case inputNotCached = 8

    /// Whether a failure with this code is usually worth retrying on another attempt.
    public var defaultRetryable: Bool {
        switch self {
        case .internalError, .payloadCorrupt, .outOfMemory, .inputNotCached: true
        case .decodeFailed, .unsupportedInput, .invalidParameters, .cancelled: false
        }
    }

    /// The spec name, e.g. `"decodeFailed"`.
    public var description: String {
        switch self {
        case .decodeFailed: "decodeFailed"
        case .unsupportedInput: "unsupportedInput"
        case .invalidParameters: "invalidParameters"
        case .internalError: "internalError"
        case .payloadCorrupt: "payloadCorrupt"
        case .outOfMemory: "outOfMemory"
        case .cancelled: "cancelled"
        case .inputNotCached: "inputNotCached"
        }
    }
}

/// The state of a job as reported by STATUS_REPLY (u8 on the wire). Closed set.
public enum WireJobState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Submitted; no task has started yet.
    case queued = 1
    /// At least one task has started and not all frames are finished.
    case running = 2
    /// Every frame was written.
    case succeeded = 3
    /// Every frame is finished, some failed (see the job's failures list).
    case completedWithFailures = 4
    /// The job could not proceed at all (e.g. every frame failed, output unwritable).
    case failed = 5
    /// Cancelled by an operator.
    case cancelled = 6

    /// Whether the job will not change any more.
    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .completedWithFailures, .failed, .cancelled: true
        }
    }

    /// The spec name, e.g. `"completedWithFailures"`.
    public var description: String {
        switch self {
        case .queued: "queued"
        case .running: "running"
        case .succeeded: "succeeded"
        case .completedWithFailures: "completedWithFailures"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }
}

/// The output file format requested by SUBMIT (u8 on the wire). Closed set.
public enum WireOutputFormat: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// JPEG (`.jpg`).
    case jpeg = 1
    /// TIFF (`.tif`).
    case tiff = 2
    /// PNG (`.png`).
    case png = 3

    /// The conventional file extension without the dot.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .tiff: "tif"
        case .png: "png"
        }
    }

    /// The spec name, e.g. `"jpeg"`.
    public var description: String {
        switch self {
        case .jpeg: "jpeg"
        case .tiff: "tiff"
        case .png: "png"
        }
    }
}
