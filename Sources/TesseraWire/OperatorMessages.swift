import TesseraCore

// The operators' vocabulary (protos/PROTOCOL.md §4.2): listing jobs, one job's detail, workers
// and events, and steering (cancel, pause, resume, retry, priority, drain). Plus DRAIN on the task
// socket, by which the coordinator asks a worker to drain as it would on SIGTERM.
//
// Each structure carries its own codec pieces (length, writer, reader, validation) so that
// `WireCodec` only dispatches on the type. Ids that may be absent travel as 0 (`nil` here).

// MARK: - Enumerations

/// The state of a worker as reported by WORKERS_REPLY (u8 on the wire). Closed set.
public enum WireWorkerState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Registered and taking tasks.
    case connected = 1
    /// Registered, finishing its tasks, taking no new ones (DRAIN, SIGTERM or GOODBYE).
    case draining = 2
    /// Left gracefully (GOODBYE after draining).
    case left = 3
    /// Declared lost (missed heartbeats, unreachable, coordinator restart).
    case lost = 4

    /// The spec name, e.g. `"draining"`.
    public var description: String {
        switch self {
        case .connected: "connected"
        case .draining: "draining"
        case .left: "left"
        case .lost: "lost"
        }
    }
}

/// The severity of an event in EVENTS_REPLY (u8 on the wire). Closed set.
public enum WireEventLevel: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Diagnostics.
    case debug = 1
    /// Normal progress.
    case info = 2
    /// Something that recovered by itself.
    case warning = 3
    /// Something an operator must look at.
    case error = 4

    /// The spec name, e.g. `"warning"`.
    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

/// What a STEER asks for (u8 on the wire). Closed set.
public enum SteerAction: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Cancel a job: no more dispatch, running tasks are cancelled on their workers.
    case cancel = 1
    /// Pause a job's dispatch (running tasks finish).
    case pause = 2
    /// Resume a paused job.
    case resume = 3
    /// Re-run a job's failed and cancelled frames.
    case retry = 4
    /// Re-run only a job's failed frames.
    case retryFailed = 5
    /// Set a job's priority to `value`.
    case setPriority = 6
    /// Ask a worker to drain (finish its tasks, take no new ones, leave).
    case drain = 7

    /// The spec name, e.g. `"retryFailed"`.
    public var description: String {
        switch self {
        case .cancel: "cancel"
        case .pause: "pause"
        case .resume: "resume"
        case .retry: "retry"
        case .retryFailed: "retryFailed"
        case .setPriority: "setPriority"
        case .drain: "drain"
        }
    }

    /// Whether the target is a worker (DRAIN) rather than a job.
    public var targetsWorker: Bool { self == .drain }
}

// MARK: - Task socket

/// DRAIN (coordinator → worker): finish the tasks you hold, take no new ones, then leave — the
/// same path as SIGTERM (GOODBYE at the start and after the last report).
public struct Drain: Equatable, Sendable {
    /// Why, for humans (e.g. `"operator: tessera drain"`).
    public var reason: String

    /// Creates a DRAIN.
    public init(reason: String) { self.reason = reason }
}

// MARK: - Rows

/// One job in JOBS_REPLY and JOB_REPLY: identity, state, counters and times.
public struct JobRow: Equatable, Sendable {
    /// The job.
    public var jobID: JobID
    /// Its name.
    public var name: String
    /// Its state.
    public var state: WireJobState
    /// Whether dispatch is paused.
    public var paused: Bool
    /// Dispatch priority (higher first).
    public var priority: Int32
    /// Frames in the job.
    public var framesTotal: UInt32
    /// Frames written.
    public var framesDone: UInt32
    /// Frames failed.
    public var framesFailed: UInt32
    /// Tasks by state.
    public var tasks: TaskCounts
    /// Pixels of the frames written (width × height), for MP/s.
    public var pixelsDone: UInt64
    /// When the job was created, ms since the Unix epoch.
    public var createdAtMillis: UInt64
    /// When its first task was dispatched, ms since the epoch; 0 if none yet.
    public var startedAtMillis: UInt64
    /// When it finished, ms since the epoch; 0 if not finished.
    public var finishedAtMillis: UInt64

    /// Creates a job row.
    public init(
        jobID: JobID, name: String, state: WireJobState, paused: Bool, priority: Int32, framesTotal: UInt32,
        framesDone: UInt32, framesFailed: UInt32, tasks: TaskCounts, pixelsDone: UInt64, createdAtMillis: UInt64,
        startedAtMillis: UInt64, finishedAtMillis: UInt64
    ) {
        self.jobID = jobID
        self.name = name
        self.state = state
        self.paused = paused
        self.priority = priority
        self.framesTotal = framesTotal
        self.framesDone = framesDone
        self.framesFailed = framesFailed
        self.tasks = tasks
        self.pixelsDone = pixelsDone
        self.createdAtMillis = createdAtMillis
        self.startedAtMillis = startedAtMillis
        self.finishedAtMillis = finishedAtMillis
    }

    static let minimumSize = 8 + 2 + 1 + 1 + 4 + 12 + 40 + 8 + 24
    var encodedLength: Int { Self.minimumSize + name.utf8.count }

    func write(_ w: inout WireWriter) {
        w.id(jobID.rawValue)
        w.str(name, "JobRow.name")
        w.u8(state.rawValue)
        w.bool(paused)
        w.i32(priority)
        w.u32(framesTotal)
        w.u32(framesDone)
        w.u32(framesFailed)
        w.u64(tasks.queued)
        w.u64(tasks.running)
        w.u64(tasks.succeeded)
        w.u64(tasks.failed)
        w.u64(tasks.cancelled)
        w.u64(pixelsDone)
        w.u64(createdAtMillis)
        w.u64(startedAtMillis)
        w.u64(finishedAtMillis)
    }

    static func read(_ r: inout WireReader, _ limits: WireLimits) throws(WireError) -> JobRow {
        let jobID = try r.id("jobID")
        let name = try r.str("name", max: limits.maxStringLength)
        let rawState = try r.u8("state")
        guard let state = WireJobState(rawValue: rawState) else { throw .invalidEnumValue(field: "state", value: UInt64(rawState)) }
        let paused = try r.bool("paused")
        let priority = try r.i32("priority")
        let total = try r.u32("framesTotal"), done = try r.u32("framesDone"), failed = try r.u32("framesFailed")
        let tasks = TaskCounts(
            queued: try r.u64("tasksQueued"), running: try r.u64("tasksRunning"), succeeded: try r.u64("tasksSucceeded"),
            failed: try r.u64("tasksFailed"), cancelled: try r.u64("tasksCancelled"))
        let pixels = try r.u64("pixelsDone")
        let created = try r.u64("createdAtMillis"), started = try r.u64("startedAtMillis"), finished = try r.u64("finishedAtMillis")
        return JobRow(
            jobID: JobID(jobID), name: name, state: state, paused: paused, priority: priority, framesTotal: total,
            framesDone: done, framesFailed: failed, tasks: tasks, pixelsDone: pixels, createdAtMillis: created,
            startedAtMillis: started, finishedAtMillis: finished)
    }

    func validate(_ limits: WireLimits) throws(WireError) {
        try WireCheck.id(jobID.rawValue, "jobID")
        try WireCheck.string(name, "name", limits)
    }
}

/// A task running far beyond its expected time, as listed by JOBS_REPLY.
public struct StuckTask: Equatable, Sendable {
    /// The task.
    public var taskID: TaskID
    /// Its job.
    public var jobID: JobID
    /// The worker holding it.
    public var workerID: WorkerID
    /// Its kind.
    public var kind: TaskKind
    /// How long it has been running, in ms.
    public var runningMillis: UInt64
    /// How long the worker's measured speed says it should take, in ms (0 if unknown).
    public var expectedMillis: UInt64

    /// Creates a stuck-task entry.
    public init(taskID: TaskID, jobID: JobID, workerID: WorkerID, kind: TaskKind, runningMillis: UInt64, expectedMillis: UInt64) {
        self.taskID = taskID
        self.jobID = jobID
        self.workerID = workerID
        self.kind = kind
        self.runningMillis = runningMillis
        self.expectedMillis = expectedMillis
    }

    static let size = 8 + 8 + 8 + 1 + 8 + 8

    func write(_ w: inout WireWriter) {
        w.id(taskID.rawValue)
        w.id(jobID.rawValue)
        w.id(workerID.rawValue)
        w.u8(kind.rawValue)
        w.u64(runningMillis)
        w.u64(expectedMillis)
    }

    static func read(_ r: inout WireReader) throws(WireError) -> StuckTask {
        let task = try r.id("taskID"), job = try r.id("jobID"), worker = try r.id("workerID")
        let rawKind = try r.u8("kind")
        guard let kind = TaskKind(rawValue: rawKind) else { throw .invalidEnumValue(field: "kind", value: UInt64(rawKind)) }
        return StuckTask(
            taskID: TaskID(task), jobID: JobID(job), workerID: WorkerID(worker), kind: kind,
            runningMillis: try r.u64("runningMillis"), expectedMillis: try r.u64("expectedMillis"))
    }

    func validate() throws(WireError) {
        try WireCheck.id(taskID.rawValue, "taskID")
        try WireCheck.id(jobID.rawValue, "jobID")
        try WireCheck.id(workerID.rawValue, "workerID")
    }
}

/// A named count (a frame or task state and how many are in it), in JOB_REPLY.
public struct StateCount: Equatable, Sendable {
    /// The state's name, e.g. `"developing"` or `"developTile.queued"`.
    public var name: String
    /// How many.
    public var count: UInt64

    /// Creates a state count.
    public init(name: String, count: UInt64) {
        self.name = name
        self.count = count
    }

    static let minimumSize = 2 + 8
}

/// A failed frame of a job, in JOB_REPLY.
public struct JobFailure: Equatable, Sendable {
    /// The frame.
    public var frameID: FrameID
    /// Its input path.
    public var path: String
    /// The failure code (e.g. `"decodeFailed"`), empty if none was recorded.
    public var code: String
    /// Why it failed.
    public var reason: String
    /// Attempts made by the failing task.
    public var attempts: UInt32

    /// Creates a failure entry.
    public init(frameID: FrameID, path: String, code: String, reason: String, attempts: UInt32) {
        self.frameID = frameID
        self.path = path
        self.code = code
        self.reason = reason
        self.attempts = attempts
    }

    static let minimumSize = 8 + 2 + 2 + 2 + 4
}

/// A written output of a job, in JOB_REPLY.
public struct JobOutput: Equatable, Sendable {
    /// The frame.
    public var frameID: FrameID
    /// The output file's path on the coordinator.
    public var path: String
    /// Its size in bytes.
    public var bytes: UInt64

    /// Creates an output entry.
    public init(frameID: FrameID, path: String, bytes: UInt64) {
        self.frameID = frameID
        self.path = path
        self.bytes = bytes
    }

    static let minimumSize = 8 + 2 + 8
}

/// One worker session in WORKERS_REPLY.
public struct WorkerRow: Equatable, Sendable {
    /// The session's id.
    public var workerID: WorkerID
    /// Its name (HELLO.workerName).
    public var name: String
    /// Its host.
    public var host: String
    /// Concurrent tasks it runs.
    public var slots: UInt16
    /// Its state.
    public var state: WireWorkerState
    /// Tasks it holds now.
    public var runningTasks: UInt32
    /// When it registered, ms since the epoch.
    public var registeredAtMillis: UInt64
    /// When it was last heard from, ms since the epoch.
    public var lastSeenMillis: UInt64
    /// Attempts it completed successfully.
    public var tasksSucceeded: UInt64
    /// Attempts it failed (or lost).
    public var tasksFailed: UInt64
    /// Compute time it reported, in µs.
    public var computeMicros: UInt64

    /// Creates a worker row.
    public init(
        workerID: WorkerID, name: String, host: String, slots: UInt16, state: WireWorkerState, runningTasks: UInt32,
        registeredAtMillis: UInt64, lastSeenMillis: UInt64, tasksSucceeded: UInt64, tasksFailed: UInt64, computeMicros: UInt64
    ) {
        self.workerID = workerID
        self.name = name
        self.host = host
        self.slots = slots
        self.state = state
        self.runningTasks = runningTasks
        self.registeredAtMillis = registeredAtMillis
        self.lastSeenMillis = lastSeenMillis
        self.tasksSucceeded = tasksSucceeded
        self.tasksFailed = tasksFailed
        self.computeMicros = computeMicros
    }

    static let minimumSize = 8 + 2 + 2 + 2 + 1 + 4 + 8 + 8 + 24
}

/// One operator event in EVENTS_REPLY.
public struct EventRow: Equatable, Sendable {
    /// Its sequence number (ascending).
    public var eventID: Int64
    /// When, ms since the epoch.
    public var atMillis: UInt64
    /// Severity.
    public var level: WireEventLevel
    /// A dotted kind, e.g. `"job.cancelled"`.
    public var kind: String
    /// What happened, for humans.
    public var message: String
    /// The job concerned, if any (0 on the wire for none).
    public var jobID: JobID?
    /// The worker concerned, if any (0 on the wire for none).
    public var workerID: WorkerID?

    /// Creates an event row.
    public init(eventID: Int64, atMillis: UInt64, level: WireEventLevel, kind: String, message: String, jobID: JobID?, workerID: WorkerID?) {
        self.eventID = eventID
        self.atMillis = atMillis
        self.level = level
        self.kind = kind
        self.message = message
        self.jobID = jobID
        self.workerID = workerID
    }

    static let minimumSize = 8 + 8 + 1 + 2 + 2 + 8 + 8
}

// MARK: - Requests and replies

/// JOBS (client → coordinator): the job table.
public struct JobsRequest: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// At most this many jobs (unfinished first, then the most recent); 0 = the coordinator's default.
    public var limit: UInt32

    /// Creates a JOBS.
    public init(requestID: UInt32, limit: UInt32) {
        self.requestID = requestID
        self.limit = limit
    }
}

/// JOBS_REPLY (coordinator → client).
public struct JobsReply: Equatable, Sendable {
    /// Echoed from JOBS.
    public var requestID: UInt32
    /// The coordinator's clock, ms since the epoch (for ages and rates).
    public var nowMillis: UInt64
    /// Workers currently registered.
    public var workersConnected: UInt32
    /// Jobs in the database (the list may be shorter).
    public var jobsTotal: UInt32
    /// The jobs, unfinished first (priority order), then finished, most recent first.
    public var jobs: [JobRow]
    /// Tasks running far beyond their expected time.
    public var stuck: [StuckTask]

    /// Creates a JOBS_REPLY.
    public init(requestID: UInt32, nowMillis: UInt64, workersConnected: UInt32, jobsTotal: UInt32, jobs: [JobRow], stuck: [StuckTask]) {
        self.requestID = requestID
        self.nowMillis = nowMillis
        self.workersConnected = workersConnected
        self.jobsTotal = jobsTotal
        self.jobs = jobs
        self.stuck = stuck
    }
}

/// JOB (client → coordinator): one job in detail.
public struct JobDetailRequest: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// The job.
    public var jobID: JobID
    /// At most this many failures and outputs each; 0 = the coordinator's default.
    public var limit: UInt32

    /// Creates a JOB.
    public init(requestID: UInt32, jobID: JobID, limit: UInt32) {
        self.requestID = requestID
        self.jobID = jobID
        self.limit = limit
    }
}

/// JOB_REPLY (coordinator → client).
public struct JobDetailReply: Equatable, Sendable {
    /// Echoed from JOB.
    public var requestID: UInt32
    /// The job's row.
    public var job: JobRow
    /// Its frames by state.
    public var frameStates: [StateCount]
    /// Its tasks by kind and state (`"<kind>.<state>"`).
    public var taskStates: [StateCount]
    /// Its failed frames.
    public var failures: [JobFailure]
    /// Its written outputs.
    public var outputs: [JobOutput]

    /// Creates a JOB_REPLY.
    public init(requestID: UInt32, job: JobRow, frameStates: [StateCount], taskStates: [StateCount], failures: [JobFailure], outputs: [JobOutput]) {
        self.requestID = requestID
        self.job = job
        self.frameStates = frameStates
        self.taskStates = taskStates
        self.failures = failures
        self.outputs = outputs
    }
}

/// WORKERS (client → coordinator): the worker table.
public struct WorkersRequest: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// Include workers that left or were lost.
    public var includeGone: Bool
    /// At most this many workers; 0 = the coordinator's default.
    public var limit: UInt32

    /// Creates a WORKERS.
    public init(requestID: UInt32, includeGone: Bool, limit: UInt32) {
        self.requestID = requestID
        self.includeGone = includeGone
        self.limit = limit
    }
}

/// WORKERS_REPLY (coordinator → client).
public struct WorkersReply: Equatable, Sendable {
    /// Echoed from WORKERS.
    public var requestID: UInt32
    /// The coordinator's clock, ms since the epoch.
    public var nowMillis: UInt64
    /// Workers matching the request in the database (the list may be shorter).
    public var workersTotal: UInt32
    /// The workers, by id.
    public var workers: [WorkerRow]

    /// Creates a WORKERS_REPLY.
    public init(requestID: UInt32, nowMillis: UInt64, workersTotal: UInt32, workers: [WorkerRow]) {
        self.requestID = requestID
        self.nowMillis = nowMillis
        self.workersTotal = workersTotal
        self.workers = workers
    }
}

/// EVENTS (client → coordinator): events after a sequence number.
public struct EventsRequest: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// Only this job's events; `nil` (0 on the wire) for all.
    public var jobID: JobID?
    /// Events with a larger sequence number (0 = from the start; see `fromEnd`).
    public var afterEventID: Int64
    /// At most this many.
    public var limit: UInt32

    /// Creates an EVENTS.
    public init(requestID: UInt32, jobID: JobID?, afterEventID: Int64, limit: UInt32) {
        self.requestID = requestID
        self.jobID = jobID
        self.afterEventID = afterEventID
        self.limit = limit
    }
}

/// EVENTS_REPLY (coordinator → client).
public struct EventsReply: Equatable, Sendable {
    /// Echoed from EVENTS.
    public var requestID: UInt32
    /// The events, oldest first.
    public var events: [EventRow]

    /// Creates an EVENTS_REPLY.
    public init(requestID: UInt32, events: [EventRow]) {
        self.requestID = requestID
        self.events = events
    }
}

/// STEER (client → coordinator): change a job or a worker.
public struct Steer: Equatable, Sendable {
    /// Echoed in the reply.
    public var requestID: UInt32
    /// What to do.
    public var action: SteerAction
    /// The job (or, for `drain`, the worker) concerned.
    public var targetID: Int64
    /// The new priority for `setPriority`; 0 otherwise.
    public var value: Int32

    /// Creates a STEER.
    public init(requestID: UInt32, action: SteerAction, targetID: Int64, value: Int32 = 0) {
        self.requestID = requestID
        self.action = action
        self.targetID = targetID
        self.value = value
    }
}

/// STEERED (coordinator → client): the action was applied; the target's new state.
public struct Steered: Equatable, Sendable {
    /// Echoed from STEER.
    public var requestID: UInt32
    /// The action applied.
    public var action: SteerAction
    /// The job or worker.
    public var targetID: Int64
    /// Its state afterwards (a JobState or WorkerState name).
    public var state: String
    /// For a job: whether it is paused.
    public var paused: Bool
    /// For a job: its priority.
    public var priority: Int32
    /// Tasks affected (cancelled, requeued; 0 when not applicable).
    public var tasksAffected: UInt64
    /// A sentence for humans.
    public var message: String

    /// Creates a STEERED.
    public init(requestID: UInt32, action: SteerAction, targetID: Int64, state: String, paused: Bool, priority: Int32, tasksAffected: UInt64, message: String) {
        self.requestID = requestID
        self.action = action
        self.targetID = targetID
        self.state = state
        self.paused = paused
        self.priority = priority
        self.tasksAffected = tasksAffected
        self.message = message
    }
}

// MARK: - Codec pieces

/// Validation helpers shared by the operator messages (same errors as the receiver's).
enum WireCheck {
    static func string(_ text: String, _ field: String, _ limits: WireLimits) throws(WireError) {
        let max = min(limits.maxStringLength, Int(UInt16.max))
        let length = text.utf8.count
        if length > max { throw .stringTooLong(field: field, length: length, max: max) }
    }

    static func count(_ count: Int, _ field: String, _ max: Int) throws(WireError) {
        let limit = min(max, Int(UInt32.max))
        if count > limit { throw .listTooLong(field: field, count: count, max: limit) }
    }

    static func id(_ id: Int64, _ field: String) throws(WireError) {
        if id < 0 { throw .valueOutOfRange(field: field, value: UInt64(bitPattern: id), allowed: WireCodec.idRange) }
    }

    /// An optional id: `nil` travels as 0, so an explicit 0 cannot be sent.
    static func optionalID(_ id: Int64?, _ field: String) throws(WireError) {
        guard let id else { return }
        if id == 0 { throw .valueOutOfRange(field: field, value: 0, allowed: "1...9223372036854775807 or nil") }
        try self.id(id, field)
    }

    /// Runs `body` for each item, prefixing errors with `field[index]`.
    static func each<T>(_ items: [T], _ field: String, _ body: (T) throws(WireError) -> Void) throws(WireError) {
        for (index, item) in items.enumerated() {
            do { try body(item) } catch { throw error.prefixed("\(field)[\(index)]") }
        }
    }
}

extension WireReader {
    /// Reads a list: count (checked against `max` and the bytes left), then each item, prefixing
    /// errors with `field[index]`.
    mutating func list<T>(
        _ field: StaticString, max: Int, minItemSize: Int, _ item: (inout WireReader) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let count = try self.count(field, max: max, minItemSize: minItemSize)
        var items: [T] = []
        items.reserveCapacity(count)
        for index in 0..<count {
            do { items.append(try item(&self)) } catch { throw error.prefixed("\(field)[\(index)]") }
        }
        return items
    }

    mutating func optionalID(_ field: StaticString) throws(WireError) -> Int64? {
        let value = try id(field)
        return value == 0 ? nil : value
    }
}

extension WireCodec {
    @inline(__always) static func strLength(_ text: String) -> Int { 2 + text.utf8.count }

    /// Body length of an operator message (nil for the other types).
    static func operatorBodyLength(_ message: WireMessage) -> Int? {
        switch message {
        case let .drain(m): return strLength(m.reason)
        case .jobs: return 4 + 4
        case let .jobsReply(m):
            return 4 + 8 + 4 + 4 + 4 + m.jobs.reduce(0) { $0 + $1.encodedLength } + 4 + StuckTask.size * m.stuck.count
        case .job: return 4 + 8 + 4
        case let .jobReply(m):
            var n = 4 + m.job.encodedLength + 16
            for c in m.frameStates { n += strLength(c.name) + 8 }
            for c in m.taskStates { n += strLength(c.name) + 8 }
            for f in m.failures { n += 8 + strLength(f.path) + strLength(f.code) + strLength(f.reason) + 4 }
            for o in m.outputs { n += 8 + strLength(o.path) + 8 }
            return n
        case .workers: return 4 + 1 + 4
        case let .workersReply(m):
            return 4 + 8 + 4 + 4 + m.workers.reduce(0) { $0 + WorkerRow.minimumSize - 4 + strLength($1.name) + strLength($1.host) }
        case .events: return 4 + 8 + 8 + 4
        case let .eventsReply(m):
            return 4 + 4 + m.events.reduce(0) { $0 + EventRow.minimumSize - 4 + strLength($1.kind) + strLength($1.message) }
        case .steer: return 4 + 1 + 8 + 4
        case let .steered(m): return 4 + 1 + 8 + strLength(m.state) + 1 + 4 + 8 + strLength(m.message)
        default: return nil
        }
    }

    /// Writes the body of an operator message; returns false for the other types.
    static func writeOperatorBody(_ message: WireMessage, _ w: inout WireWriter) -> Bool {
        switch message {
        case let .drain(m):
            w.str(m.reason, "DRAIN.reason")
        case let .jobs(m):
            w.u32(m.requestID)
            w.u32(m.limit)
        case let .jobsReply(m):
            w.u32(m.requestID)
            w.u64(m.nowMillis)
            w.u32(m.workersConnected)
            w.u32(m.jobsTotal)
            w.count(m.jobs.count, "JOBS_REPLY.jobs")
            for job in m.jobs { job.write(&w) }
            w.count(m.stuck.count, "JOBS_REPLY.stuck")
            for task in m.stuck { task.write(&w) }
        case let .job(m):
            w.u32(m.requestID)
            w.id(m.jobID.rawValue)
            w.u32(m.limit)
        case let .jobReply(m):
            w.u32(m.requestID)
            m.job.write(&w)
            for list in [m.frameStates, m.taskStates] {
                w.count(list.count, "JOB_REPLY.states")
                for c in list {
                    w.str(c.name, "JOB_REPLY.states[].name")
                    w.u64(c.count)
                }
            }
            w.count(m.failures.count, "JOB_REPLY.failures")
            for f in m.failures {
                w.id(f.frameID.rawValue)
                w.str(f.path, "JOB_REPLY.failures[].path")
                w.str(f.code, "JOB_REPLY.failures[].code")
                w.str(f.reason, "JOB_REPLY.failures[].reason")
                w.u32(f.attempts)
            }
            w.count(m.outputs.count, "JOB_REPLY.outputs")
            for o in m.outputs {
                w.id(o.frameID.rawValue)
                w.str(o.path, "JOB_REPLY.outputs[].path")
                w.u64(o.bytes)
            }
        case let .workers(m):
            w.u32(m.requestID)
            w.bool(m.includeGone)
            w.u32(m.limit)
        case let .workersReply(m):
            w.u32(m.requestID)
            w.u64(m.nowMillis)
            w.u32(m.workersTotal)
            w.count(m.workers.count, "WORKERS_REPLY.workers")
            for row in m.workers {
                w.id(row.workerID.rawValue)
                w.str(row.name, "WORKERS_REPLY.workers[].name")
                w.str(row.host, "WORKERS_REPLY.workers[].host")
                w.u16(row.slots)
                w.u8(row.state.rawValue)
                w.u32(row.runningTasks)
                w.u64(row.registeredAtMillis)
                w.u64(row.lastSeenMillis)
                w.u64(row.tasksSucceeded)
                w.u64(row.tasksFailed)
                w.u64(row.computeMicros)
            }
        case let .events(m):
            w.u32(m.requestID)
            w.id(m.jobID?.rawValue ?? 0)
            w.id(m.afterEventID)
            w.u32(m.limit)
        case let .eventsReply(m):
            w.u32(m.requestID)
            w.count(m.events.count, "EVENTS_REPLY.events")
            for e in m.events {
                w.id(e.eventID)
                w.u64(e.atMillis)
                w.u8(e.level.rawValue)
                w.str(e.kind, "EVENTS_REPLY.events[].kind")
                w.str(e.message, "EVENTS_REPLY.events[].message")
                w.id(e.jobID?.rawValue ?? 0)
                w.id(e.workerID?.rawValue ?? 0)
            }
        case let .steer(m):
            w.u32(m.requestID)
            w.u8(m.action.rawValue)
            w.id(m.targetID)
            w.i32(m.value)
        case let .steered(m):
            w.u32(m.requestID)
            w.u8(m.action.rawValue)
            w.id(m.targetID)
            w.str(m.state, "STEERED.state")
            w.bool(m.paused)
            w.i32(m.priority)
            w.u64(m.tasksAffected)
            w.str(m.message, "STEERED.message")
        default:
            return false
        }
        return true
    }

    private static func readAction(_ r: inout WireReader) throws(WireError) -> SteerAction {
        let raw = try r.u8("action")
        guard let action = SteerAction(rawValue: raw) else { throw .invalidEnumValue(field: "action", value: UInt64(raw)) }
        return action
    }

    private static func readStateCounts(_ r: inout WireReader, _ field: StaticString, _ limits: WireLimits) throws(WireError) -> [StateCount] {
        try r.list(field, max: limits.maxStateCounts, minItemSize: StateCount.minimumSize) { (r: inout WireReader) throws(WireError) in
            StateCount(name: try r.str("name", max: limits.maxStringLength), count: try r.u64("count"))
        }
    }

    /// Reads the body of an operator message type; nil for the other types.
    static func readOperatorBody(_ type: MessageType, _ r: inout WireReader, _ limits: WireLimits) throws(WireError) -> WireMessage? {
        switch type {
        case .drain:
            return .drain(Drain(reason: try r.str("reason", max: limits.maxStringLength)))
        case .jobs:
            return .jobs(JobsRequest(requestID: try r.u32("requestID"), limit: try r.u32("limit")))
        case .jobsReply:
            let requestID = try r.u32("requestID"), now = try r.u64("nowMillis")
            let workers = try r.u32("workersConnected"), total = try r.u32("jobsTotal")
            let jobs = try r.list("jobs", max: limits.maxStatusJobs, minItemSize: JobRow.minimumSize) { (r: inout WireReader) throws(WireError) in
                try JobRow.read(&r, limits)
            }
            let stuck = try r.list("stuck", max: limits.maxStatusJobs, minItemSize: StuckTask.size) { (r: inout WireReader) throws(WireError) in
                try StuckTask.read(&r)
            }
            return .jobsReply(JobsReply(requestID: requestID, nowMillis: now, workersConnected: workers, jobsTotal: total, jobs: jobs, stuck: stuck))
        case .job:
            let requestID = try r.u32("requestID"), job = try r.id("jobID")
            return .job(JobDetailRequest(requestID: requestID, jobID: JobID(job), limit: try r.u32("limit")))
        case .jobReply:
            let requestID = try r.u32("requestID")
            let job: JobRow
            do { job = try JobRow.read(&r, limits) } catch { throw error.prefixed("job") }
            let frameStates = try readStateCounts(&r, "frameStates", limits)
            let taskStates = try readStateCounts(&r, "taskStates", limits)
            let failures = try r.list("failures", max: limits.maxJobFailures, minItemSize: JobFailure.minimumSize) { (r: inout WireReader) throws(WireError) in
                JobFailure(
                    frameID: FrameID(try r.id("frameID")), path: try r.str("path", max: limits.maxStringLength),
                    code: try r.str("code", max: limits.maxStringLength), reason: try r.str("reason", max: limits.maxStringLength),
                    attempts: try r.u32("attempts"))
            }
            let outputs = try r.list("outputs", max: limits.maxJobFailures, minItemSize: JobOutput.minimumSize) { (r: inout WireReader) throws(WireError) in
                JobOutput(frameID: FrameID(try r.id("frameID")), path: try r.str("path", max: limits.maxStringLength), bytes: try r.u64("bytes"))
            }
            return .jobReply(JobDetailReply(requestID: requestID, job: job, frameStates: frameStates, taskStates: taskStates, failures: failures, outputs: outputs))
        case .workers:
            return .workers(WorkersRequest(requestID: try r.u32("requestID"), includeGone: try r.bool("includeGone"), limit: try r.u32("limit")))
        case .workersReply:
            let requestID = try r.u32("requestID"), now = try r.u64("nowMillis"), total = try r.u32("workersTotal")
            let rows = try r.list("workers", max: limits.maxWorkerRows, minItemSize: WorkerRow.minimumSize) { (r: inout WireReader) throws(WireError) in
                let id = try r.id("workerID")
                let name = try r.str("name", max: limits.maxStringLength), host = try r.str("host", max: limits.maxStringLength)
                let slots = try r.u16("slots")
                let rawState = try r.u8("state")
                guard let state = WireWorkerState(rawValue: rawState) else { throw .invalidEnumValue(field: "state", value: UInt64(rawState)) }
                return WorkerRow(
                    workerID: WorkerID(id), name: name, host: host, slots: slots, state: state, runningTasks: try r.u32("runningTasks"),
                    registeredAtMillis: try r.u64("registeredAtMillis"), lastSeenMillis: try r.u64("lastSeenMillis"),
                    tasksSucceeded: try r.u64("tasksSucceeded"), tasksFailed: try r.u64("tasksFailed"), computeMicros: try r.u64("computeMicros"))
            }
            return .workersReply(WorkersReply(requestID: requestID, nowMillis: now, workersTotal: total, workers: rows))
        case .events:
            let requestID = try r.u32("requestID"), job = try r.optionalID("jobID")
            return .events(EventsRequest(requestID: requestID, jobID: job.map { JobID($0) }, afterEventID: try r.id("afterEventID"), limit: try r.u32("limit")))
        case .eventsReply:
            let requestID = try r.u32("requestID")
            let events = try r.list("events", max: limits.maxEvents, minItemSize: EventRow.minimumSize) { (r: inout WireReader) throws(WireError) in
                let id = try r.id("eventID"), at = try r.u64("atMillis")
                let rawLevel = try r.u8("level")
                guard let level = WireEventLevel(rawValue: rawLevel) else { throw .invalidEnumValue(field: "level", value: UInt64(rawLevel)) }
                let kind = try r.str("kind", max: limits.maxStringLength), message = try r.str("message", max: limits.maxStringLength)
                let job = try r.optionalID("jobID"), worker = try r.optionalID("workerID")
                return EventRow(eventID: id, atMillis: at, level: level, kind: kind, message: message, jobID: job.map { JobID($0) }, workerID: worker.map { WorkerID($0) })
            }
            return .eventsReply(EventsReply(requestID: requestID, events: events))
        case .steer:
            let requestID = try r.u32("requestID"), action = try readAction(&r)
            return .steer(Steer(requestID: requestID, action: action, targetID: try r.id("targetID"), value: try r.i32("value")))
        case .steered:
            let requestID = try r.u32("requestID"), action = try readAction(&r), target = try r.id("targetID")
            let state = try r.str("state", max: limits.maxStringLength)
            let paused = try r.bool("paused"), priority = try r.i32("priority"), affected = try r.u64("tasksAffected")
            return .steered(Steered(
                requestID: requestID, action: action, targetID: target, state: state, paused: paused, priority: priority,
                tasksAffected: affected, message: try r.str("message", max: limits.maxStringLength)))
        default:
            return nil
        }
    }

    /// Validates an operator message's body; returns false for the other types.
    static func validateOperatorBody(_ message: WireMessage, _ limits: WireLimits) throws(WireError) -> Bool {
        switch message {
        case let .drain(m):
            try WireCheck.string(m.reason, "reason", limits)
        case .jobs, .workers:
            break
        case let .jobsReply(m):
            try WireCheck.count(m.jobs.count, "jobs", limits.maxStatusJobs)
            try WireCheck.each(m.jobs, "jobs") { (job: JobRow) throws(WireError) in try job.validate(limits) }
            try WireCheck.count(m.stuck.count, "stuck", limits.maxStatusJobs)
            try WireCheck.each(m.stuck, "stuck") { (task: StuckTask) throws(WireError) in try task.validate() }
        case let .job(m):
            try WireCheck.id(m.jobID.rawValue, "jobID")
        case let .jobReply(m):
            do { try m.job.validate(limits) } catch { throw error.prefixed("job") }
            for (field, list) in [("frameStates", m.frameStates), ("taskStates", m.taskStates)] {
                try WireCheck.count(list.count, field, limits.maxStateCounts)
                try WireCheck.each(list, field) { (c: StateCount) throws(WireError) in try WireCheck.string(c.name, "name", limits) }
            }
            try WireCheck.count(m.failures.count, "failures", limits.maxJobFailures)
            try WireCheck.each(m.failures, "failures") { (f: JobFailure) throws(WireError) in
                try WireCheck.id(f.frameID.rawValue, "frameID")
                try WireCheck.string(f.path, "path", limits)
                try WireCheck.string(f.code, "code", limits)
                try WireCheck.string(f.reason, "reason", limits)
            }
            try WireCheck.count(m.outputs.count, "outputs", limits.maxJobFailures)
            try WireCheck.each(m.outputs, "outputs") { (o: JobOutput) throws(WireError) in
                try WireCheck.id(o.frameID.rawValue, "frameID")
                try WireCheck.string(o.path, "path", limits)
            }
        case let .workersReply(m):
            try WireCheck.count(m.workers.count, "workers", limits.maxWorkerRows)
            try WireCheck.each(m.workers, "workers") { (row: WorkerRow) throws(WireError) in
                try WireCheck.id(row.workerID.rawValue, "workerID")
                try WireCheck.string(row.name, "name", limits)
                try WireCheck.string(row.host, "host", limits)
            }
        case let .events(m):
            try WireCheck.optionalID(m.jobID?.rawValue, "jobID")
            try WireCheck.id(m.afterEventID, "afterEventID")
        case let .eventsReply(m):
            try WireCheck.count(m.events.count, "events", limits.maxEvents)
            try WireCheck.each(m.events, "events") { (e: EventRow) throws(WireError) in
                try WireCheck.id(e.eventID, "eventID")
                try WireCheck.string(e.kind, "kind", limits)
                try WireCheck.string(e.message, "message", limits)
                try WireCheck.optionalID(e.jobID?.rawValue, "jobID")
                try WireCheck.optionalID(e.workerID?.rawValue, "workerID")
            }
        case let .steer(m):
            try WireCheck.id(m.targetID, "targetID")
        case let .steered(m):
            try WireCheck.id(m.targetID, "targetID")
            try WireCheck.string(m.state, "state", limits)
            try WireCheck.string(m.message, "message", limits)
        default:
            return false
        }
        return true
    }
}
