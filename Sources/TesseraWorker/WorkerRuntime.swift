import Foundation
import Logging
import TesseraCore
import TesseraWire
import TesseraZMQ

/// How a worker connects and how much it takes on.
public struct WorkerConfig: Sendable {
    /// The coordinator's task endpoint, e.g. `tcp://farm-head:7010` or `ipc:///run/tessera/tasks`.
    public var endpoint: String
    /// Tasks run at once (each on its own thread); also the credit the worker grants.
    public var slots: Int
    /// A human name for operators (defaults to host name + pid).
    public var name: String
    /// Heartbeat period before the coordinator's WELCOME says otherwise, in milliseconds.
    public var heartbeatMillis: Int
    /// Missed beats before the coordinator is presumed gone and the worker reconnects.
    public var livenessBeats: Int
    /// Tasks accepted beyond `slots` and queued here, so a slot never waits for a round trip.
    public var prefetch: Int = 1
    /// When set, the worker stops once this process is no longer its parent — how the workers of
    /// an embedded `tessera run` follow it when it is killed, instead of lingering as orphans.
    public var parentProcess: Int32?
    /// Test hook (chaos suite): fail every task with a retryable internal error instead of running it.
    public var failEveryTask = false
    /// Test hook (chaos suite): the first this-many tasks hang (never finish, slot stays busy).
    public var hangTasks = 0
    /// How the connection is secured: CURVE with this worker's key pair and the coordinator's
    /// public key, or plaintext for a coordinator started `--insecure` (docs/security.md).
    public var security: ClientSecurity = .plaintext

    /// Bytes of decoded planes this worker keeps for later tile and merge tasks (its
    /// ``PlaneCache``); 0 disables the cache (every input then travels inline).
    public var cacheBytes: Int = 1024 << 20
    /// Test hook (input-cache tests): a cached plane is forgotten once it served this many
    /// windows, so the coordinator's references miss.
    public var cacheForgetAfterUses: Int?

    /// The credit this worker grants: tasks running plus tasks queued.
    public var capacity: Int { slots + prefetch }

    public init(endpoint: String, slots: Int, name: String? = nil, heartbeatMillis: Int = 1000, livenessBeats: Int = 5) {
        self.endpoint = endpoint
        self.slots = max(1, slots)
        self.name = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        self.heartbeatMillis = heartbeatMillis
        self.livenessBeats = livenessBeats
    }
}

/// Errors that end a worker.
public enum WorkerError: Error, CustomStringConvertible {
    case transport(String)
    case refused(endpoint: String, reason: String)

    public var description: String {
        switch self {
        case .transport(let message): "worker transport error: \(message)"
        case .refused(let endpoint, let reason): "coordinator at \(endpoint) refused this worker: \(reason)"
        }
    }
}

/// The worker service: one socket thread (the caller of ``run()``) that owns the DEALER socket,
/// and execution threads that run tasks. The socket thread never computes; execution threads never
/// touch the socket — they hand finished work back through a ``Mailbox``.
///
/// Dialogue (protos/PROTOCOL.md): HELLO → WELCOME, then CREDIT(slots); each TASK is answered by
/// RESULT or FAILURE followed by CREDIT(1); HEARTBEATs both ways keep the session alive.
public final class WorkerRuntime: Sendable {
    public let config: WorkerConfig
    private let logger: Logger
    private let mailbox: Mailbox<Event>
    /// Decoded planes kept for tile and merge tasks that reference them.
    public let cache: PlaneCache

    enum Event: Sendable {
        case finished(taskID: TaskID, attempt: UInt32, micros: UInt64, outcome: Result<TaskExecutor.Output, TaskExecutor.Failure>)
        case stop
        case drain
    }

    /// Also sets the process's allocator for large messages (``MessageMemory/configure()``).
    public init(config: WorkerConfig, logger: Logger = Logger(label: "tessera.worker")) throws(WorkerError) {
        MessageMemory.configure()
        do { mailbox = try Mailbox() } catch { throw .transport("\(error)") }
        self.config = config
        self.logger = logger
        self.cache = PlaneCache(capacityBytes: config.cacheBytes, forgetAfterUses: config.cacheForgetAfterUses)
    }

    /// Asks the worker to leave: it says GOODBYE and ``run()`` returns. Safe from any thread.
    public func stop() { mailbox.post(.stop) }

    /// Asks the worker to drain: it takes no new tasks (tasks not yet started, and any that
    /// still arrive, go back to the coordinator as `cancelled`), finishes and reports the tasks it
    /// is running, then says GOODBYE and ``run()`` returns. Safe from any thread.
    public func drain() { mailbox.post(.drain) }

    /// Runs until ``stop()`` or a refusal. Blocks the calling thread (call it on a dedicated
    /// thread or the main thread, never from a Swift concurrency task).
    public func run() throws(WorkerError) {
        let context: ZMQContext
        do { context = try ZMQContext(ioThreads: 1) } catch { throw .transport("\(error)") }
        defer { context.shutdown() }
        var session = Session(config: config)
        while true {
            let outcome = try runSession(context: context, session: &session)
            switch outcome {
            case .stopped: return
            case .reconnect:
                logger.warning("coordinator silent; reconnecting", metadata: ["endpoint": "\(config.endpoint)"])
            }
        }
    }

    enum SessionOutcome { case stopped, reconnect }

    /// Per-connection state, owned by the socket thread.
    struct Session {
        var config: WorkerConfig
        var registered = false
        var heartbeatMillis: Int
        var livenessBeats: Int
        var lastHeard = ContinuousClock.now
        var lastSent = ContinuousClock.now
        /// Leases accepted and not yet reported (running or queued). A lease is a task and an
        /// attempt: the same task may come back as a new attempt while an old one still runs.
        var accepted: Set<Lease> = []
        /// Tasks executing now (at most `slots`).
        var executing = 0
        /// Tasks accepted but waiting for a free slot, oldest first.
        /// Each with its inputs as copied (and verified) out of the TASK's frames on receipt, or
        /// why they failed verification.
        var queued: [(TaskAssignment, Result<[[UInt8]], WireError>)] = []
        var cancelled: Set<TaskID> = []
        /// Tasks still to hang (test hook).
        var hangsLeft = 0
        /// Draining: no new work; leave once the running tasks are reported.
        var draining = false
        /// A send timed out: the connection is dead, reconnect.
        var unreachable = false

        init(config: WorkerConfig) {
            self.config = config
            heartbeatMillis = config.heartbeatMillis
            livenessBeats = config.livenessBeats
            hangsLeft = config.hangTasks
        }
    }

    private func runSession(context: ZMQContext, session: inout Session) throws(WorkerError) -> SessionOutcome {
        let socket: ZMQSocket
        let monitorEndpoint = "inproc://tessera-worker-handshake-\(UUID().uuidString)"
        do {
            socket = try context.makeSocket(.dealer)
            try socket.set(.immediate, true)
            try socket.set(.sendTimeout, Int32(clamping: max(100, config.heartbeatMillis)))
            // While the coordinator is away libzmq retries the connection with exponential
            // backoff (100 ms doubling to 5 s) instead of hammering it at a fixed rate.
            try socket.set(.reconnectInterval, 100)
            try socket.set(.reconnectIntervalMax, 5_000)
            try socket.applyClientSecurity(config.security)
            try socket.startMonitor(endpoint: monitorEndpoint, events: .handshakeFailed)
            try socket.connect(config.endpoint)
        } catch { throw .transport("\(error)") }
        defer { socket.close() }
        // Handshake failures are permanent (unknown or revoked key, wrong coordinator key,
        // plaintext against CURVE): say so and stop instead of retrying forever.
        let monitor: ZMQSocket
        do {
            monitor = try context.makeSocket(.pair)
            try monitor.connect(monitorEndpoint)
        } catch { throw .transport("\(error)") }
        defer { monitor.close() }
        session.registered = false
        session.unreachable = false
        session.lastHeard = .now
        // Tasks queued for the previous connection were requeued by the coordinator; running ones
        // finish and report (the coordinator ignores results it no longer expects).
        for (task, _) in session.queued { session.accepted.remove(Lease(task)) }
        session.queued.removeAll()
        cache.removeAll()
        try send(.hello(helloMessage()), on: socket, session: &session)

        var poller = ZMQPoller()
        _ = poller.add(socket)
        _ = poller.add(fileDescriptor: mailbox.fileDescriptor)
        _ = poller.add(monitor)
        while true {
            let ready: ZMQPollResult
            do { ready = try poller.poll(timeoutMilliseconds: session.heartbeatMillis) } catch { throw .transport("\(error)") }
            if ready.isReadable(2) || session.unreachable { try checkHandshake(monitor) }
            if ready.isReadable(1) {
                for event in mailbox.drainAll() {
                    switch event {
                    case .stop:
                        return leave("worker stopping", on: socket, session: &session)
                    case .drain:
                        if !session.draining {
                            logger.notice("draining: finishing \(session.executing) running task(s)")
                            try? send(.goodbye(Goodbye(reason: "draining")), on: socket, session: &session)
                        }
                        session.draining = true
                        for (task, _) in session.queued {
                            session.accepted.remove(Lease(task))
                            try giveBack(task, on: socket, session: &session)
                        }
                        session.queued.removeAll()
                    case .finished(let taskID, let attempt, let micros, let outcome):
                        try report(taskID: taskID, attempt: attempt, micros: micros, outcome: outcome, on: socket, session: &session)
                    }
                }
            }
            if ready.isReadable(0) {
                while let parts = try receive(on: socket) {
                    session.lastHeard = .now
                    if let outcome = try handle(parts, on: socket, session: &session) { return outcome }
                }
            }
            if session.draining, session.executing == 0 {
                return leave("drained", on: socket, session: &session)
            }
            if let parent = config.parentProcess, getppid() != parent {
                logger.warning("parent process \(parent) is gone; stopping")
                return leave("parent process exited", on: socket, session: &session)
            }
            let now = ContinuousClock.now
            if now - session.lastSent >= .milliseconds(session.heartbeatMillis) {
                try send(.heartbeat, on: socket, session: &session)
            }
            if session.unreachable || now - session.lastHeard > .milliseconds(session.heartbeatMillis * session.livenessBeats) {
                return .reconnect
            }
        }
    }

    /// Throws ``WorkerError/refused(endpoint:reason:)`` if the monitor reported a failed handshake.
    private func checkHandshake(_ monitor: ZMQSocket) throws(WorkerError) {
        while let parts = try? monitor.receiveMultipart(dontWait: true) {
            guard let event = ZMQMonitorEvent(parts: parts) else { continue }
            // A connection lost mid-handshake (no detail) is transient: libzmq reconnects. A
            // refused key or a protocol mismatch is not.
            guard event.kind == .handshakeFailedAuth || event.kind == .handshakeFailedProtocol else {
                logger.warning("handshake with the coordinator failed; retrying (if this repeats, check --coordinator-key)",
                               metadata: ["endpoint": "\(config.endpoint)", "event": "\(event)"])
                continue
            }
            let hint: String
            switch (event.kind, config.security) {
            case (.handshakeFailedAuth, _):
                hint = "this worker's key is not allow-listed or was revoked — on the coordinator run `tessera keys allow NAME KEY.pub --role worker`"
            case (_, .plaintext):
                hint = "the coordinator requires CURVE — pass --key FILE and --coordinator-key KEY (or start the coordinator with --insecure)"
            default:
                hint = "CURVE handshake failed — check --coordinator-key (it must be the coordinator's public key)"
            }
            throw .refused(endpoint: config.endpoint, reason: "\(hint) [\(event.kind)]")
        }
    }

    /// Says GOODBYE and gives the socket the liveness window to deliver what it still holds —
    /// results, handed-back tasks, the GOODBYE itself — when it is closed. Sockets are made with
    /// LINGER 0, which would silently drop them on a quick exit and leave the coordinator to
    /// declare this worker lost and redo its finished work.
    private func leave(_ reason: String, on socket: ZMQSocket, session: inout Session) -> SessionOutcome {
        try? send(.goodbye(Goodbye(reason: reason)), on: socket, session: &session)
        try? socket.set(.linger, Int32(clamping: session.heartbeatMillis * session.livenessBeats))
        return .stopped
    }

    private func helloMessage() -> Hello {
        Hello(
            workerName: config.name,
            hostname: ProcessInfo.processInfo.hostName,
            softwareVersion: TesseraVersion.string,
            cores: UInt16(clamping: ProcessInfo.processInfo.activeProcessorCount),
            memoryBytes: ProcessInfo.processInfo.physicalMemory,
            slots: UInt16(clamping: config.slots),
            taskKinds: Set(TaskKind.allCases),
            capabilities: ["decode-libraw", "develop-mhc"] + [cache.capability].compactMap { $0 })
    }

    /// The next message as libzmq's frames: nothing is copied here (the header is decoded in
    /// place, a TASK's payloads are copied out while they are verified; see `handle`).
    private func receive(on socket: ZMQSocket) throws(WorkerError) -> [ZMQMessage]? {
        do {
            return try socket.receiveMultipart(dontWait: true)
        } catch { throw .transport("\(error)") }
    }

    private func send(_ message: WireMessage, payloads: [[UInt8]] = [], on socket: ZMQSocket, session: inout Session) throws(WorkerError) {
        do {
            // Bounded by the socket's send timeout: with no live connection (IMMEDIATE) a send
            // would otherwise block forever; an unsent message means the coordinator is gone.
            if try socket.send([WireCodec.encode(message)] + payloads) {
                session.lastSent = .now
            } else {
                session.unreachable = true
            }
        } catch { throw .transport("\(error)") }
    }

    /// `send(_:payloads:on:session:)` with payloads already in message buffers (not copied again).
    private func send(_ message: WireMessage, frames: [ZMQMessage], on socket: ZMQSocket, session: inout Session) throws(WorkerError) {
        do {
            if try socket.send([ZMQMessage(WireCodec.encode(message))] + frames) {
                session.lastSent = .now
            } else {
                session.unreachable = true
            }
        } catch { throw .transport("\(error)") }
    }

    /// Handles one message from the coordinator; returns an outcome when the session must end.
    private func handle(_ parts: [ZMQMessage], on socket: ZMQSocket, session: inout Session) throws(WorkerError) -> SessionOutcome? {
        guard let header = parts.first else { return nil }
        let message: WireMessage
        do { message = try header.withUnsafeBytes { bytes throws(WireError) in try WireCodec.decode(bytes) } } catch {
            logger.error("dropping malformed message from coordinator: \(error)")
            return nil
        }
        switch message {
        case .welcome(let welcome):
            guard !session.registered else {
                // A WELCOME for an earlier HELLO of this connection; the session it opened was
                // replaced by the latest one, which already has our credit.
                return nil
            }
            session.registered = true
            session.heartbeatMillis = max(50, Int(welcome.heartbeatIntervalMillis))
            session.livenessBeats = max(2, Int(welcome.livenessBeats))
            logger.info("registered", metadata: ["worker": "\(welcome.workerID)", "endpoint": "\(config.endpoint)"])
            let free = config.capacity - session.accepted.count
            if free > 0 { try send(.credit(Credit(credits: UInt16(free))), on: socket, session: &session) }
        case .refuse(let refuse):
            if refuse.code == .notRegistered {
                // The coordinator restarted or forgot us: say hello again — once, not once per
                // refused message (a HELLO is already on its way when we are not registered).
                if session.registered {
                    session.registered = false
                    cache.removeAll()
                    try send(.hello(helloMessage()), on: socket, session: &session)
                }
            } else {
                throw .refused(endpoint: config.endpoint, reason: "\(refuse.code): \(refuse.reason)")
            }
        case .heartbeat:
            break
        case .task(let task) where session.draining:
            try giveBack(task, on: socket, session: &session)
        case .task(let task):
            session.accepted.insert(Lease(task))
            session.queued.append((task, Self.inputs(of: task, frames: parts.dropFirst())))
            startQueued(session: &session)
        case .cancel(let cancel):
            for id in cancel.taskIDs {
                if let index = session.queued.firstIndex(where: { $0.0.taskID == id }) {
                    // Not started yet: never run it; answer at once (PROTOCOL.md §7, Cancellation).
                    let task = session.queued.remove(at: index).0
                    session.accepted.remove(Lease(task))
                    try send(.failure(TaskFailure(taskID: id, attempt: task.attempt, code: .cancelled, retryable: false,
                                                  reason: "cancelled before it started")), on: socket, session: &session)
                    if !session.draining { try send(.credit(Credit(credits: 1)), on: socket, session: &session) }
                } else if session.accepted.contains(where: { $0.taskID == id }) {
                    // Running: its result is dropped when it ends (the executor has no cancellation point).
                    session.cancelled.insert(id)
                }
            }
        case .drain(let drain):
            // An operator's `tessera drain`: the same path as SIGTERM.
            logger.notice("coordinator asked to drain: \(drain.reason)")
            mailbox.post(.drain)
        default:
            logger.warning("unexpected \(message.name) from coordinator; ignored")
        }
        return nil
    }

    /// Starts queued tasks while slots are free. Cancelled ones are reported without running.
    private func startQueued(session: inout Session) {
        while session.executing < config.slots, !session.queued.isEmpty {
            let (task, payloads) = session.queued.removeFirst()
            session.executing += 1
            if session.hangsLeft > 0 {
                session.hangsLeft -= 1  // test hook: this task occupies its slot and never reports
                continue
            }
            start(task, payloads: payloads)
        }
    }

    /// A TASK's payloads copied out of libzmq's frames, each verified against its descriptor as
    /// it is copied (one pass over its bytes; ``WireCodec/copyVerifying(_:index:against:)``).
    private static func inputs(of task: TaskAssignment, frames: ArraySlice<ZMQMessage>) -> Result<[[UInt8]], WireError> {
        guard frames.count == task.payloads.count else {
            return .failure(.payloadCountMismatch(expected: task.payloads.count, actual: frames.count))
        }
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(frames.count)
        for (index, frame) in frames.enumerated() {
            do {
                payloads.append(try frame.withUnsafeBytes { bytes throws(WireError) in
                    try WireCodec.copyVerifying(bytes, index: index, against: task.payloads[index])
                })
            } catch { return .failure(error) }
        }
        return .success(payloads)
    }

    private func start(_ task: TaskAssignment, payloads verified: Result<[[UInt8]], WireError>) {
        let mailbox = self.mailbox
        let taskID = task.taskID, attempt = task.attempt
        let payloads: [[UInt8]]
        switch verified {
        case .success(let inputs):
            payloads = inputs
        case .failure(let error):
            mailbox.post(.finished(taskID: taskID, attempt: attempt, micros: 0, outcome: .failure(
                TaskExecutor.Failure(code: .payloadCorrupt, retryable: true, reason: "\(error)"))))
            return
        }
        if config.failEveryTask {
            mailbox.post(.finished(taskID: taskID, attempt: attempt, micros: 0, outcome: .failure(
                TaskExecutor.Failure(code: .internalError, retryable: true, reason: "injected failure (worker test hook --fail-every-task)"))))
            return
        }
        let kind = task.kind, parameters = task.parameters, cache = self.cache
        Thread.detachNewThread {
            let started = ContinuousClock.now
            let outcome: Result<TaskExecutor.Output, TaskExecutor.Failure>
            do throws(TaskExecutor.Failure) {
                // Inputs the coordinator referenced instead of sending are cut from held planes.
                let inputs: [[UInt8]]
                do { inputs = try cache.resolve(parameters: parameters, payloads: payloads) } catch let miss as PlaneCache.Miss {
                    // The coordinator resends the task inline; it is not held against this worker.
                    throw TaskExecutor.Failure(code: .inputNotCached, retryable: true, reason: "\(miss)")
                } catch {
                    throw TaskExecutor.Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
                }
                outcome = .success(try TaskExecutor.execute(kind: kind, parameters: parameters, payloads: inputs))
            } catch {
                outcome = .failure(error)
            }
            let elapsed = ContinuousClock.now - started
            let micros = UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
            mailbox.post(.finished(taskID: taskID, attempt: attempt, micros: micros, outcome: outcome))
        }
    }

    private func report(taskID: TaskID, attempt: UInt32, micros: UInt64,
                        outcome: Result<TaskExecutor.Output, TaskExecutor.Failure>,
                        on socket: ZMQSocket, session: inout Session) throws(WorkerError) {
        session.accepted.remove(Lease(taskID: taskID, attempt: attempt))
        session.executing -= 1
        defer { startQueued(session: &session) }
        if session.cancelled.remove(taskID) == nil {
            switch outcome {
            case .success(let output):
                // Each payload was described on the execution thread that made it; it goes to
                // libzmq as it is (zero-copy: the message keeps the array alive until the bytes
                // are on the wire), so this thread never reads the payload bytes.
                let descriptors = output.payloads.map(\.descriptor)
                let frames = output.payloads.map(\.message)
                let result = TaskResult(taskID: taskID, attempt: attempt, computeMicros: micros, metadata: output.metadata,
                                        payloads: descriptors)
                if let plane = output.cacheable, descriptors.indices.contains(plane.payload) {
                    // Kept under the descriptor the coordinator receives with the result (its name for the plane).
                    cache.insert(plane.samples, width: plane.width, height: plane.height,
                                 length: Int(descriptors[plane.payload].length), checksum: descriptors[plane.payload].checksum)
                }
                try send(.result(result), frames: frames, on: socket, session: &session)
            case .failure(let failure):
                if failure.code == .inputNotCached {
                    // Expected now and then (an evicted plane): the coordinator resends the task inline.
                    logger.info("cache miss", metadata: ["task": "\(taskID)", "reason": "\(failure.reason)"])
                } else {
                    logger.warning("task failed", metadata: ["task": "\(taskID)", "reason": "\(failure.reason)"])
                }
                try send(.failure(TaskFailure(taskID: taskID, attempt: attempt, code: failure.code,
                                              retryable: failure.retryable, reason: WireText.clamped(failure.reason))),
                         on: socket, session: &session)
            }
        }
        if !session.draining { try send(.credit(Credit(credits: 1)), on: socket, session: &session) }
    }

    /// Returns a task this worker will not run (draining): a retryable `cancelled` failure, which
    /// the coordinator requeues without holding it against this worker.
    private func giveBack(_ task: TaskAssignment, on socket: ZMQSocket, session: inout Session) throws(WorkerError) {
        try send(.failure(TaskFailure(taskID: task.taskID, attempt: task.attempt, code: .cancelled, retryable: true,
                                      reason: "worker draining")), on: socket, session: &session)
    }
}

/// One dispatch of a task: the task and its attempt number.
struct Lease: Hashable {
    var taskID: TaskID
    var attempt: UInt32

    init(taskID: TaskID, attempt: UInt32) {
        self.taskID = taskID
        self.attempt = attempt
    }

    init(_ task: TaskAssignment) { self.init(taskID: task.taskID, attempt: task.attempt) }
}

extension DescribedPayload {
    /// A zero-copy message of the payload: the array's storage, or the borrowed buffer, kept
    /// alive until libzmq is done with the bytes.
    var message: ZMQMessage {
        guard let borrowed else { return ZMQMessage(sharing: bytes) }
        return ZMQMessage(takingOwnershipOf: UnsafeMutableRawBufferPointer(mutating: borrowed.buffer)) { _ in
            withExtendedLifetime(borrowed) {}
        }
    }
}
