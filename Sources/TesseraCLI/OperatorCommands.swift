import ArgumentParser
import Foundation
import TesseraCoordinator
import TesseraCore
import TesseraStore
import TesseraWire

// The operators' commands: views (`jobs`, `job`, `workers`, `events`) and steering (`cancel`,
// `pause`, `resume`, `retry`, `priority`, `drain`). Each talks to the coordinator's control
// socket (`--coordinator`), prints text or `--json`, and exits with a documented code.

/// Exit codes shared by the operator commands (docs/operator-guide.md).
enum OperatorExit {
    /// The job finished with failed frames, or was cancelled (`watch JOB`).
    static let jobFailed: Int32 = 1
    /// No coordinator answered at the endpoint, or the connection failed.
    static let unreachable: Int32 = 3
    /// The coordinator refused: unknown job or worker, invalid request.
    static let refused: Int32 = 4
    /// The coordinator failed (e.g. a database error); retrying may work.
    static let coordinatorError: Int32 = 5
}

extension ControlClient.Failure {
    /// The process exit code for this failure.
    var exitCode: Int32 {
        switch self {
        case .unreachable, .transport: OperatorExit.unreachable
        case .refused(let code, _): code == .internalError ? OperatorExit.coordinatorError : OperatorExit.refused
        case .rejected, .handshakeFailed: OperatorExit.refused
        case .unexpectedReply: OperatorExit.coordinatorError
        }
    }
}

/// Runs `body`; a control failure is printed as `tessera: <message>` on standard error and
/// becomes the matching exit code.
func withOperatorExit<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as ControlClient.Failure {
        FileHandle.standardError.write(Data("tessera: \(failure)\n".utf8))
        throw ExitCode(failure.exitCode)
    }
}

/// Where the views (`jobs`, `job`, `workers`, `events`) read from: a running coordinator
/// (`--coordinator`, the default) or, with `--db`, a coordinator's database file directly —
/// on the coordinator's machine, e.g. after it stopped or crashed.
struct ViewSource: ParsableArguments {
    @Option(help: "Read a coordinator's database file directly instead of asking the coordinator (no live sessions: nothing stuck, workers as last recorded).")
    var db: String?

    @OptionGroup var remote: RemoteOptions

    /// What is read: the coordinator's endpoint or the database file.
    var description: String { db.map { "database \($0)" } ?? remote.coordinator }

    /// Sends a view request (or answers it from `--db`) and checks the reply's type.
    func request<T>(_ build: (UInt32) -> WireMessage, _ extract: (WireMessage) -> T?) throws -> T {
        guard let db else { return try remote.request(build, extract) }
        let path = absolutePath(db)
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path)") }
        let views = DatabaseViews(store: try TesseraStore(path: path))
        return try withOperatorExit {
            let reply = views.answer(build(ControlClient.newRequestID()))
            if case .controlError(let error) = reply { throw ControlClient.Failure.refused(code: error.code, message: error.message) }
            guard let value = extract(reply) else { throw ControlClient.Failure.unexpectedReply(reply.name) }
            return value
        }
    }

    func jobs(limit: Int) throws -> JobsReply {
        try request({ .jobs(JobsRequest(requestID: $0, limit: UInt32(clamping: limit))) }) {
            if case .jobsReply(let r) = $0 { r } else { nil }
        }
    }

    func workers(includeGone: Bool, limit: Int) throws -> WorkersReply {
        try request({ .workers(WorkersRequest(requestID: $0, includeGone: includeGone, limit: UInt32(clamping: limit))) }) {
            if case .workersReply(let r) = $0 { r } else { nil }
        }
    }
}

extension RemoteOptions {
    /// Sends an operator request and checks the reply's type.
    func request<T>(_ build: (UInt32) -> WireMessage, _ extract: (WireMessage) -> T?) throws -> T {
        try withOperatorExit {
            let reply = try client.ask(build)
            guard let value = extract(reply) else { throw ControlClient.Failure.unexpectedReply(reply.name) }
            return value
        }
    }

    func steer(_ action: SteerAction, target: Int64, value: Int32 = 0) throws -> Steered {
        try request({ .steer(Steer(requestID: $0, action: action, targetID: target, value: value)) }) {
            if case .steered(let r) = $0 { r } else { nil }
        }
    }
}

/// `tessera jobs`: the job table.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List jobs: state, priority, frames done/failed/total, MP/s and ETA; unfinished jobs first.")

    @Option(help: "Show at most this many jobs (0: the coordinator's default, 200).")
    var limit: Int = 0

    @Flag(help: "Print the stable JSON document instead of text.")
    var json = false

    @OptionGroup var source: ViewSource

    func run() throws {
        let report = JobsReport(try source.jobs(limit: limit))
        print(json ? stableJSON(report) : TextFormat.jobs(report))
    }
}

/// `tessera job JOB`: one job in detail.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Show one job: frames and tasks by state, failures with reasons and attempts, output paths.")

    @Argument(help: "The job id.")
    var job: Int64

    @Option(help: "List at most this many failures and outputs (0: the coordinator's default, 100).")
    var limit: Int = 0

    @Flag(help: "Print the stable JSON document instead of text.")
    var json = false

    @OptionGroup var source: ViewSource

    func validate() throws {
        guard job > 0 else { throw ValidationError("job ids are positive") }
    }

    func run() throws {
        let (reply, now) = try source.request({ .job(JobDetailRequest(requestID: $0, jobID: JobID(job), limit: UInt32(clamping: limit))) }) {
            if case .jobReply(let r) = $0 { (r, UInt64(Date().timeIntervalSince1970 * 1000)) } else { nil }
        }
        let report = JobDetailReport(reply, now: now)
        print(json ? stableJSON(report) : TextFormat.job(report))
    }
}

/// `tessera workers`: the worker table.
struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "List workers: host, name, slots, state, current tasks, last heartbeat, throughput, failures.")

    @Flag(help: "Include workers that left or were lost.")
    var all = false

    @Option(help: "Show at most this many workers (0: the coordinator's default, 1000).")
    var limit: Int = 0

    @Flag(help: "Print the stable JSON document instead of text.")
    var json = false

    @OptionGroup var source: ViewSource

    func run() throws {
        let report = WorkersReport(try source.workers(includeGone: all, limit: limit))
        print(json ? stableJSON(report) : TextFormat.workers(report))
    }
}

/// `tessera events`: the event log, optionally followed.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the coordinator's event log (job, frame, worker and operator events); --follow keeps printing.")

    @Argument(help: "Only this job's events.")
    var job: Int64?

    @Flag(name: .shortAndLong, help: "Keep printing new events until interrupted.")
    var follow = false

    @Option(help: "Start after this event id (default: the last --limit events).")
    var after: Int64?

    @Option(help: "Print at most this many past events.")
    var limit: Int = 100

    @Option(help: "Seconds between polls with --follow.")
    var interval: Double = 0.5

    @Flag(help: "Print one JSON object per line instead of text.")
    var json = false

    @OptionGroup var source: ViewSource

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        guard interval >= 0.05 else { throw ValidationError("--interval must be at least 0.05 s") }
    }

    func fetch(after: Int64, limit: Int) throws -> [EventRow] {
        try source.request({ .events(EventsRequest(requestID: $0, jobID: job.map { JobID($0) }, afterEventID: after, limit: UInt32(clamping: limit))) }) {
            if case .eventsReply(let r) = $0 { r.events } else { nil }
        }
    }

    func run() throws {
        var cursor: Int64
        var events: [EventRow]
        if let after {
            events = try fetch(after: after, limit: limit)
        } else {
            // The last `limit` events: page through to the end, keeping the tail.
            cursor = 0
            events = []
            while true {
                let page = try fetch(after: cursor, limit: 5_000)
                events = Array((events + page).suffix(limit))
                guard let last = page.last, page.count == 5_000 else { break }
                cursor = last.eventID
            }
        }
        cursor = events.last?.eventID ?? after ?? 0
        emit(events)
        guard follow else { return }
        let stop = StopFlag()
        let watcher = SignalWatcher { _ in stop.set() }
        defer { withExtendedLifetime(watcher) {} }
        while !stop.isSet {
            Thread.sleep(forTimeInterval: interval)
            let page = try fetch(after: cursor, limit: 5_000)
            emit(page)
            cursor = page.last?.eventID ?? cursor
        }
    }

    private func emit(_ events: [EventRow]) {
        for event in events {
            let report = EventReport(event)
            print(json ? stableJSON(report, pretty: false) : TextFormat.event(report))
        }
        flushStandardOutput()
    }
}

/// A flag set from a signal handler's thread and read by a loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Options of the steering commands.
struct SteerOutput: ParsableArguments {
    @Flag(help: "Print the acknowledgement as JSON.")
    var json = false

    func print(_ steered: Steered) {
        Swift.print(json ? stableJSON(SteerReport(steered)) : "\(steered.message) — state: \(describe(steered))")
    }

    private func describe(_ s: Steered) -> String {
        if s.action.targetsWorker { return s.state }
        return "\(s.state)\(s.paused ? ", paused" : ""), priority \(s.priority)"
    }
}

/// `tessera cancel JOB`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a job: nothing more is dispatched and its running tasks are stopped on their workers.")
    @Argument(help: "The job id.") var job: Int64
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(.cancel, target: job)) }
}

/// `tessera pause JOB`.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a job: no new tasks are dispatched; running tasks finish.")
    @Argument(help: "The job id.") var job: Int64
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(.pause, target: job)) }
}

/// `tessera resume JOB`.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused job.")
    @Argument(help: "The job id.") var job: Int64
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(.resume, target: job)) }
}

/// `tessera retry JOB [--failed]`.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Re-run a job's failed and cancelled frames (only the failed ones with --failed); finished work is kept.")
    @Argument(help: "The job id.") var job: Int64
    @Flag(help: "Re-run only failed frames (not those cancelled).") var failed = false
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(failed ? .retryFailed : .retry, target: job)) }
}

/// `tessera priority JOB N`.
struct PriorityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "priority", abstract: "Change a job's priority (higher first); takes effect at the next dispatch.")
    @Argument(help: "The job id.") var job: Int64
    @Argument(help: "The new priority (0 is normal; negative values are allowed).") var priority: Int32
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(.setPriority, target: job, value: priority)) }
}

/// `tessera drain WORKER`.
struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Drain a worker: it finishes its tasks, takes no new ones and leaves (as on SIGTERM).")
    @Argument(help: "The worker id (see tessera workers).") var worker: Int64
    @OptionGroup var output: SteerOutput
    @OptionGroup var remote: RemoteOptions
    func run() throws { output.print(try remote.steer(.drain, target: worker)) }
}

/// Flushes `print`'s buffer, so a line reaches a pipe as soon as it is printed (`--follow`, `watch`).
func flushStandardOutput() {
    fflush(nil)
}
