import Foundation
import Logging
import TesseraCore
import TesseraStore
import TesseraWire

/// What the control server needs from the rest of the coordinator to serve operators: the
/// dispatch thread's mailbox (CANCEL, DRAIN, "tasks available"), its session snapshot, and the
/// frame pipeline (re-assembly after a retry). Closures, so the control server depends on no
/// concrete type; each is cheap and non-blocking (posts to a mailbox or reads a snapshot).
struct OperatorHooks: Sendable {
    /// Wake the dispatcher: tasks may be claimable.
    var tasksAvailable: @Sendable () -> Void = {}
    /// Tell the workers holding these (already cancelled) tasks to stop.
    var cancelRunning: @Sendable ([CancelledTask]) -> Void = { _ in }
    /// Send DRAIN to a worker.
    var drain: @Sendable (WorkerID, String) -> Void = { _, _ in }
    /// Assemble these frames (in the background).
    var assemble: @Sendable ([FrameID]) -> Void = { _ in }
    /// The dispatcher's last view of its sessions.
    var sessions: @Sendable () -> [SessionSnapshot] = { [] }
    /// Record an operator event (logged and stored).
    var record: @Sendable (NewEvent) -> Void = { _ in }
}

/// Answers the operators' requests (JOBS, JOB, WORKERS, EVENTS, STEER). Pure functions of the
/// store and the hooks; called on the control thread. Each answer is bounded (limits below).
struct OperatorRequests: Sendable {
    let store: TesseraStore
    let hooks: OperatorHooks
    let workersConnected: @Sendable () -> Int
    let clock: StoreClock

    /// Rows per reply when the client asks for 0 (the default).
    static let defaultJobs = 200
    static let defaultWorkers = 1_000
    static let defaultDetail = 100
    static let defaultEvents = 500

    /// A task is *stuck* when it has run more than 3× what its worker's speed predicts and at
    /// least 10 s, or — before the worker has a measured speed — more than 60 s.
    static func isStuck(runningMillis: Int64, expectedMillis: Int64) -> Bool {
        expectedMillis > 0 ? runningMillis > max(3 * expectedMillis, 10_000) : runningMillis > 60_000
    }

    /// Answers a view request (JOBS, JOB, WORKERS, EVENTS); nil for any other message. A
    /// database failure becomes a CONTROL_ERROR `internalError` naming it (and is passed to
    /// `failed`, e.g. to be logged).
    func view(_ message: WireMessage, failed: (StoreError) -> Void = { _ in }) -> WireMessage? {
        func answer(_ requestID: UInt32, _ body: () throws(StoreError) -> WireMessage) -> WireMessage {
            do { return try body() } catch {
                failed(error)
                return .controlError(ControlError(requestID: requestID, code: .internalError, message: WireText.clamped("\(error)")))
            }
        }
        switch message {
        case .jobs(let request): return answer(request.requestID) { () throws(StoreError) in .jobsReply(try jobs(request)) }
        case .job(let request): return answer(request.requestID) { () throws(StoreError) in try job(request) }
        case .workers(let request): return answer(request.requestID) { () throws(StoreError) in .workersReply(try workers(request)) }
        case .events(let request): return answer(request.requestID) { () throws(StoreError) in .eventsReply(try events(request)) }
        default: return nil
        }
    }

    func jobs(_ request: JobsRequest) throws(StoreError) -> JobsReply {
        let limit = clampLimit(request.limit, default: Self.defaultJobs, max: WireLimits.default.maxStatusJobs)
        let page = try store.jobOverviews(limit: limit)
        var stuck: [StuckTask] = []
        let sessions = hooks.sessions()
        let candidates = sessions.flatMap { session in
            session.tasks.filter { Self.isStuck(runningMillis: $0.runningMillis, expectedMillis: $0.expectedMillis) }.map { (session.workerID, $0) }
        }
        if !candidates.isEmpty {
            let jobs = try store.jobIDs(ofTasks: candidates.map(\.1.taskID))
            for (worker, task) in candidates.prefix(WireLimits.default.maxStatusJobs) {
                guard let job = jobs[task.taskID] else { continue }
                stuck.append(StuckTask(
                    taskID: task.taskID, jobID: job, workerID: worker, kind: task.kind,
                    runningMillis: UInt64(max(0, task.runningMillis)), expectedMillis: UInt64(max(0, task.expectedMillis))))
            }
        }
        return JobsReply(
            requestID: request.requestID, nowMillis: UInt64(max(0, clock.now())), workersConnected: UInt32(clamping: workersConnected()),
            jobsTotal: UInt32(clamping: page.total), jobs: page.jobs.map(JobRow.init(overview:)), stuck: stuck)
    }

    func job(_ request: JobDetailRequest) throws(StoreError) -> WireMessage {
        let limit = clampLimit(request.limit, default: Self.defaultDetail, max: WireLimits.default.maxJobFailures)
        guard let detail = try store.jobDetail(request.jobID, limit: limit) else {
            return .controlError(ControlError(requestID: request.requestID, code: .unknownJob, message: "no job \(request.jobID.rawValue)"))
        }
        let counts = { (d: [String: Int]) in d.sorted { $0.key < $1.key }.map { StateCount(name: $0.key, count: UInt64($0.value)) } }
        return .jobReply(JobDetailReply(
            requestID: request.requestID, job: JobRow(overview: detail.overview), frameStates: counts(detail.frameStates),
            taskStates: counts(detail.taskStates),
            failures: detail.failures.map {
                JobFailure(frameID: $0.frameID, path: WireText.clamped($0.path), code: WireText.clamped($0.code ?? ""),
                           reason: WireText.clamped($0.reason), attempts: UInt32(clamping: $0.attempts))
            },
            outputs: detail.outputs.map { JobOutput(frameID: $0.frameID, path: WireText.clamped($0.path), bytes: UInt64(max(0, $0.bytes))) }))
    }

    func workers(_ request: WorkersRequest) throws(StoreError) -> WorkersReply {
        let limit = clampLimit(request.limit, default: Self.defaultWorkers, max: WireLimits.default.maxWorkerRows)
        let page = try store.workerOverviews(includeGone: request.includeGone, limit: limit)
        let sessions = Dictionary(hooks.sessions().map { ($0.workerID, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = page.workers.map { w in
            let session = sessions[w.id]
            let state: WireWorkerState =
                w.active ? ((w.drainingAt != nil || session?.leaving == true) ? .draining : .connected) : (w.left ? .left : .lost)
            return WorkerRow(
                workerID: w.id, name: WireText.clamped(w.name), host: WireText.clamped(w.host), slots: UInt16(clamping: w.slots),
                state: state, runningTasks: UInt32(clamping: w.runningTasks),
                registeredAtMillis: UInt64(max(0, w.registeredAt)), lastSeenMillis: UInt64(max(0, w.lastSeen)),
                tasksSucceeded: UInt64(max(0, w.tasksSucceeded)), tasksFailed: UInt64(max(0, w.tasksFailed)),
                computeMicros: UInt64(max(0, w.computeMicros)))
        }
        return WorkersReply(requestID: request.requestID, nowMillis: UInt64(max(0, clock.now())), workersTotal: UInt32(clamping: page.total), workers: rows)
    }

    func events(_ request: EventsRequest) throws(StoreError) -> EventsReply {
        let limit = clampLimit(request.limit, default: Self.defaultEvents, max: WireLimits.default.maxEvents)
        let events = try store.events(job: request.jobID, after: request.afterEventID, limit: limit)
        return EventsReply(requestID: request.requestID, events: events.map { e in
            EventRow(
                eventID: e.id, atMillis: UInt64(max(0, e.at)), level: WireEventLevel(e.level), kind: WireText.clamped(e.kind),
                message: WireText.clamped(e.message), jobID: e.job.flatMap { $0.rawValue > 0 ? $0 : nil },
                workerID: e.worker.flatMap { $0.rawValue > 0 ? $0 : nil })
        })
    }

    /// Applies a steering action and answers with the target's new state. Every action records an event.
    func steer(_ request: Steer) -> WireMessage {
        func refuse(_ code: WireStatus, _ message: String) -> WireMessage {
            .controlError(ControlError(requestID: request.requestID, code: code, message: WireText.clamped(message)))
        }
        if request.action.targetsWorker {
            let worker = WorkerID(request.targetID)
            do {
                try store.markDraining(worker)
            } catch {
                return refuse(error.kind == .notFound ? .invalidRequest : .invalidRequest, "cannot drain worker \(request.targetID): \(error.message)")
            }
            hooks.drain(worker, "operator: tessera drain \(request.targetID)")
            hooks.record(NewEvent(level: .info, kind: "worker.draining", message: "worker \(request.targetID) asked to drain by an operator", worker: worker))
            return .steered(Steered(
                requestID: request.requestID, action: request.action, targetID: request.targetID, state: WireWorkerState.draining.description,
                paused: false, priority: 0, tasksAffected: 0, message: "worker \(request.targetID) is draining: it finishes its tasks, takes no new ones and leaves"))
        }
        let job = JobID(request.targetID)
        do {
            guard try store.jobOverview(job) != nil else { return refuse(.unknownJob, "no job \(request.targetID)") }
            var affected = 0
            var message: String
            switch request.action {
            case .cancel:
                let running = try store.cancelJob(job)
                hooks.cancelRunning(running)
                affected = running.count
                message = "job \(job.rawValue) cancelled; \(running.count) running task(s) told to stop"
            case .pause:
                try store.setPaused(job, true)
                message = "job \(job.rawValue) paused: no new tasks are dispatched, running ones finish"
            case .resume:
                try store.setPaused(job, false)
                hooks.tasksAvailable()
                message = "job \(job.rawValue) resumed"
            case .retry, .retryFailed:
                let outcome = try store.retryJob(job, onlyFailed: request.action == .retryFailed)
                affected = outcome.tasksRequeued
                if !outcome.framesToAssemble.isEmpty { hooks.assemble(outcome.framesToAssemble) }
                hooks.tasksAvailable()
                message = outcome.framesReopened == 0
                    ? "job \(job.rawValue): nothing to retry"
                    : "job \(job.rawValue): \(outcome.framesReopened) frame(s) reopened, \(outcome.tasksRequeued) task(s) queued again"
            case .setPriority:
                try store.setPriority(job, Int(request.value))
                hooks.tasksAvailable()
                message = "job \(job.rawValue) priority set to \(request.value)"
            case .drain:
                return refuse(.invalidRequest, "drain targets a worker")
            }
            guard let after = try store.jobOverview(job) else { return refuse(.unknownJob, "no job \(request.targetID)") }
            hooks.record(NewEvent(level: .info, kind: "job.\(request.action)", message: message, job: job))
            return .steered(Steered(
                requestID: request.requestID, action: request.action, targetID: request.targetID, state: after.state.rawValue,
                paused: after.paused, priority: Int32(clamping: after.priority), tasksAffected: UInt64(affected), message: WireText.clamped(message)))
        } catch {
            return refuse(error.kind == .notFound ? .unknownJob : .internalError, "\(request.action) of job \(request.targetID) failed: \(error)")
        }
    }

    private func clampLimit(_ asked: UInt32, default value: Int, max: Int) -> Int {
        asked == 0 ? value : min(Int(asked), max)
    }
}

extension JobRow {
    /// A job's JOBS_REPLY/JOB_REPLY row, from its stored overview (name clamped to the wire limit).
    init(overview o: JobOverview) {
        self.init(
            jobID: o.id, name: WireText.clamped(o.name), state: WireJobState(o.state), paused: o.paused,
            priority: Int32(clamping: o.priority), framesTotal: UInt32(clamping: o.framesTotal), framesDone: UInt32(clamping: o.framesDone),
            framesFailed: UInt32(clamping: o.framesFailed),
            tasks: TaskCounts(
                queued: UInt64(max(0, o.taskCounts[.queued, default: 0])), running: UInt64(max(0, o.taskCounts[.running, default: 0])),
                succeeded: UInt64(max(0, o.taskCounts[.succeeded, default: 0])), failed: UInt64(max(0, o.taskCounts[.failed, default: 0])),
                cancelled: UInt64(max(0, o.taskCounts[.cancelled, default: 0]))),
            pixelsDone: UInt64(max(0, o.pixelsDone)), createdAtMillis: UInt64(max(0, o.createdAt)),
            startedAtMillis: UInt64(max(0, o.startedAt ?? 0)), finishedAtMillis: UInt64(max(0, o.finishedAt ?? 0)))
    }
}

extension WireEventLevel {
    /// The wire code of a stored event level.
    init(_ level: EventLevel) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}

/// The operators' views (JOBS, JOB, WORKERS, EVENTS) answered straight from a coordinator's
/// database file, with no coordinator running — the same replies a live coordinator gives,
/// except what only a running coordinator knows: no worker is connected, nothing is stuck, and
/// workers' states are as last recorded (a coordinator that crashed leaves its workers
/// recorded as connected). `tessera jobs|job|workers|events --db PATH` use it.
public struct DatabaseViews: Sendable {
    private let requests: OperatorRequests

    /// Views of `store`.
    public init(store: TesseraStore) {
        requests = OperatorRequests(store: store, hooks: OperatorHooks(), workersConnected: { 0 }, clock: .system)
    }

    /// The reply to a view request, as the control socket would give it; a CONTROL_ERROR
    /// `invalidRequest` for any other message (steering and submitting need a coordinator).
    public func answer(_ request: WireMessage) -> WireMessage {
        requests.view(request) ?? .controlError(ControlError(
            requestID: 0, code: .invalidRequest, message: "\(request.name) needs a running coordinator, not a database file"))
    }
}
