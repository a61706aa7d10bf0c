import Foundation
import Logging
import Synchronization
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire
import TesseraZMQ

/// The coordinator's task socket: one dedicated thread owns the ROUTER that workers connect to,
/// keeps each worker session (credit, tasks in flight, last heard), and hands out tasks.
///
/// Nothing slow happens on this thread: task preparation (file reads, tile windows) and result
/// handling (spool writes, state changes, output encoding) run on `work` queues and report
/// back through the mailbox, so dispatch never waits on a disk.
final class TaskDispatcher: Sendable {
    enum Event: Sendable {
        /// New tasks may be claimable (a job was submitted, a frame decoded, a task requeued).
        case tasksAvailable
        /// A prepared task to send to a worker session.
        case prepared(routingID: [UInt8], session: UInt64, task: FramePipeline.PreparedTask)
        /// A claimed task could not be sent or prepared; its credit goes back to the session.
        case preparationFailed(routingID: [UInt8], session: UInt64, task: TaskID)
        /// A result of this session has been persisted (or rejected) by the work queue.
        case resultHandled(routingID: [UInt8], session: UInt64)
        /// A claimed task whose payload does not fit the bytes-in-flight bound yet: it waits
        /// (still leased to the session, nothing read) until bytes are released.
        case deferred(routingID: [UInt8], session: UInt64, task: ClaimedTask)
        case stop
        /// An operator cancelled these running tasks (already cancelled in the store): send
        /// CANCEL to the workers holding them and forget the leases.
        case cancelTasks([CancelledTask])
        /// An operator asked this worker to drain: send it DRAIN.
        case drainWorker(WorkerID, reason: String)
        /// The claim lane committed (or failed) a batch: send its tasks, release its sessions.
        case claimed(ClaimLane.Batch, Result<[[ClaimedTask]], StoreError>)
    }

    /// What the socket thread last published about its sessions (once per heartbeat and after
    /// operator actions), for the operators' views; read from any thread.
    let sessionsSnapshot = Mutex<[SessionSnapshot]>([])

    private let config: CoordinatorConfig
    private let store: TesseraStore
    private let pipeline: FramePipeline
    private let context: ZMQContext
    private let logger: Logger
    let mailbox: Mailbox<Event>
    let counters: DispatchCounters
    private let work = DispatchQueue(label: "tessera.coordinator.work", attributes: .concurrent)
    private let boundEndpoint = Mutex<String?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let startError = Mutex<String?>(nil)
    private let security: ServerSecurity

    init(config: CoordinatorConfig, store: TesseraStore, pipeline: FramePipeline, context: ZMQContext,
         counters: DispatchCounters, logger: Logger, security: ServerSecurity = .plaintext) throws(CoordinatorError) {
        self.security = security
        do { mailbox = try Mailbox() } catch { throw .transport("\(error)") }
        self.config = config
        self.store = store
        self.pipeline = pipeline
        self.context = context
        self.counters = counters
        self.logger = logger
    }

    /// The endpoint actually bound (wildcard ports resolved), once started.
    var endpoint: String? { boundEndpoint.withLock { $0 } }

    /// Starts the socket thread; returns once the socket is bound (or throws why it could not be).
    func start() throws(CoordinatorError) {
        let thread = Thread { [self] in
            self.threadMain()
            self.finished.signal()
        }
        thread.name = "tessera-dispatch"
        thread.start()
        ready.wait()
        if let message = startError.withLock({ $0 }) { throw .transport(message) }
    }

    /// Stops the thread and waits for it.
    func stop() {
        mailbox.post(.stop)
        finished.wait()
    }

    // MARK: - Socket thread

    /// A connected worker, as the socket thread sees it.
    /// A task handed to a session: what a result needs to be routed, and its deadline.
    private struct InFlight {
        var kind: TaskKind
        var frameID: FrameID
        var attempt: Int
        /// The task's size in its kind's unit: pixels of a tile's core; 1 for a decode (the frame's
        /// size is unknown until it is decoded, so decodes are timed per task).
        var work: Int
        /// When the TASK was sent (nil while it is being prepared).
        var sentAt: ContinuousClock.Instant?
        /// Payload bytes counted in flight for this task (set when it is sent).
        var bytes = 0
        /// When the task was claimed for this session (dispatch latency runs from here to `sentAt`).
        var claimedAt: ContinuousClock.Instant = .now
        /// A benchmark task (``TesseraStore/benchmarkFormat``): its result is batched.
        var benchmark = false
        /// Sent with inputs referenced in the worker's cache: what a cache miss needs to resend
        /// it inline, and what a result counts as saved.
        var cached: CachedSend? = nil
    }

    /// A task sent with cached inputs (``InFlight/cached``).
    private struct CachedSend {
        var claimed: ClaimedTask
        var planes: [TaskContract.PlaneReference]
        var savedBytes: Int
    }

    private struct Session {
        var id: UInt64
        var workerID: WorkerID
        var routingID: [UInt8]
        var name: String
        var credits: Int
        /// Tasks sent to (or being prepared for) this worker, with what a result needs to be routed.
        var inFlight: [TaskID: InFlight] = [:]
        /// Measured speed of this worker per task kind, in work units per second of compute
        /// (exponential average; see ``InFlight/work``).
        var speed: [TaskKind: Double] = [:]
        /// Sent GOODBYE: gets no more tasks; the session ends once it holds no lease.
        var leaving = false
        /// Results received but not yet persisted by the work queue (their tasks are still
        /// `running` in the store until then, so a leaving session waits for them).
        var resultsPending = 0
        /// Credits reserved by the claim batch in the lane (not in `credits` until it returns).
        var claiming = 0
        var lastHeard: ContinuousClock.Instant
        /// The key this session authenticated with (docs/security.md); plaintext when insecure.
        var identity: PeerIdentity = .plaintext
        /// The connection's socket descriptor (to cut it if the key is revoked), when known.
        var descriptor: Int32?

        /// The scalars `handle` reads, copied out so that no copy of the session (and of its
        /// tables) stays alive while the session is changed in place.
        struct Summary {
            var id: UInt64
            var workerID: WorkerID
            var name: String
            var credits: Int
            var leaving: Bool
            /// Tasks in flight.
            var held: Int
        }

        var summary: Summary {
            Summary(id: id, workerID: workerID, name: name, credits: credits, leaving: leaving, held: inFlight.count + claiming)
        }

        /// Takes the lease a RESULT answers, in place: returns it (and counts the result as pending
        /// until persisted, and updates the measured speed), or nil when the session does not
        /// hold that attempt of the task (a stale result, nothing changes).
        mutating func takeResult(_ result: TaskResult) -> InFlight? {
            guard let task = inFlight[result.taskID], task.attempt == Int(result.attempt) else { return nil }
            inFlight.removeValue(forKey: result.taskID)
            if result.computeMicros > 0 {
                let measured = Double(task.work) / (Double(result.computeMicros) / 1e6)
                speed[task.kind] = speed[task.kind].map { 0.7 * $0 + 0.3 * measured } ?? measured
            }
            resultsPending += 1
            return task
        }

        /// Leases freshly claimed tasks to this session, in place (one dictionary change per
        /// session, not one per task); their credit is used up.
        mutating func lease(_ claimed: [ClaimedTask], at now: ContinuousClock.Instant) {
            credits = max(0, credits - claimed.count)
            for task in claimed {
                inFlight[task.taskID] = InFlight(
                    kind: task.kind, frameID: task.frameID, attempt: task.attempt,
                    work: task.kind == .decode ? 1 : max(1, task.core?.area ?? 1), sentAt: nil, claimedAt: now,
                    benchmark: FramePipeline.isBenchmark(task))
            }
        }

        /// Records that a task's TASK went out carrying `bytes` of payload (and, with `cached`,
        /// inputs referenced in the worker's cache); returns when it was claimed, or nil when the
        /// session no longer holds it (its bytes are then not counted).
        mutating func markSent(_ taskID: TaskID, bytes: Int, cached: CachedSend? = nil, at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
            guard var task = inFlight[taskID] else { return nil }
            task.bytes = bytes
            task.cached = cached
            task.sentAt = now
            inFlight[taskID] = task
            return task.claimedAt
        }
    }

    private final class LoopState {
        var sessions: [[UInt8]: Session] = [:]
        var nextSession: UInt64 = 1
        var preparing = 0
        var lastBeat = ContinuousClock.now
        var rotation = 0
        /// Who sent the message being handled, and over which connection (set by `receive`).
        var peer: PeerIdentity = .plaintext
        var peerDescriptor: Int32?
        /// Identities already parsed, by the User-Id libzmq attaches to every message (parsing
        /// one per message was ≈ 15 % of this thread's time at 45 k tasks/s). A pure function of
        /// the string, so a cache cannot go stale; emptied when it reaches `identityCacheLimit`.
        var identities: [String: PeerIdentity] = [:]
        static let identityCacheLimit = 4096

        /// The identity behind `userID` (nil: a plaintext peer), parsed once per distinct value.
        func identity(userID: String?) -> PeerIdentity {
            guard let userID else { return PeerIdentity(userID: nil) }
            if let known = identities[userID] { return known }
            let parsed = PeerIdentity(userID: userID)
            if identities.count >= Self.identityCacheLimit { identities.removeAll(keepingCapacity: true) }
            identities[userID] = parsed
            return parsed
        }
        /// Malformed or out-of-place messages per connection (routing id), reset when it is cut off.
        var strikes: [[UInt8]: Int] = [:]
        /// Connections cut off for garbage, until when their leftover messages are ignored.
        var cutOff: [[UInt8]: ContinuousClock.Instant] = [:]
        /// Claimed tasks waiting for room under the bytes-in-flight bound, oldest first.
        var deferred: [(routingID: [UInt8], session: UInt64, task: ClaimedTask)] = []
        /// Bytes were released since deferred tasks were last retried.
        var released = false
        /// Workers whose loss could not be recorded (database busy): retried at each beat.
        var pendingLost: [(WorkerID, String)] = []
        /// The task socket (set once bound), for sending benchmark tasks inline from `dispatch`.
        var socket: ZMQSocket?
        /// A CREDIT arrived: dispatch once the socket is drained (one claim transaction for all).
        var dispatchWanted = false
        /// Benchmark results received in this drain, persisted together with the next claims in
        /// one transaction by `dispatch`.
        var benchmarkResults: [(result: TaskResult, routingID: [UInt8], session: UInt64)] = []
        /// The sessions' routing ids in a fixed (sorted) order for round-robin claims; nil after
        /// a session was added or removed (rebuilt by `dispatch`).
        var order: [[UInt8]]?
        /// Runs the claim transactions off this thread (set once bound).
        var lane: ClaimLane?
        /// A batch is in the lane: further claims wait for it (`dispatchWanted`).
        var claimInFlight = false
        /// ``drainAfterFailedSend`` is running (a failed send while it handles messages does not
        /// start another).
        var drainingAfterFailedSend = false
    }

    /// Messages handled from one drain of the socket before pending claims are made anyway.
    private static let maxDrainBeforeDispatch = 512

    private func threadMain() {
        let socket: ZMQSocket
        do {
            socket = try context.makeSocket(.router)
            try socket.set(.routerMandatory, true)
            try socket.set(.routerHandover, true)
            // No single frame may exceed the largest a v1 message can legally carry; libzmq drops
            // a connection that sends one before it is ever buffered whole.
            try socket.set(.maxMessageSize, Int64(clamping: max(UInt64(WireLimits.default.maxHeaderLength), WireLimits.default.maxPayloadLength)))
            try security.apply(to: socket, domain: Authenticator.taskDomain)
            HandshakeMonitor.attach(to: socket, name: "task", counters: counters, logger: logger)
            try socket.bind(config.taskEndpoint)
            boundEndpoint.withLock { $0 = try? socket.lastEndpoint }
        } catch {
            startError.withLock { $0 = "cannot bind task endpoint \(config.taskEndpoint): \(error)" }
            ready.signal()
            return
        }
        ready.signal()
        defer { socket.close() }
        let state = LoopState()
        state.socket = socket
        let mailbox = self.mailbox
        let lane = ClaimLane(store: store) { batch, outcome in mailbox.post(.claimed(batch, outcome)) }
        lane.start()
        // Runs before the socket closes: a batch still in the lane commits, and its tasks stay
        // `running` in the store (requeued at the next start, like every lease of a stopped coordinator).
        defer { lane.stop() }
        state.lane = lane
        var poller = ZMQPoller()
        _ = poller.add(socket)
        _ = poller.add(fileDescriptor: mailbox.fileDescriptor)
        logger.info("dispatching", metadata: ["endpoint": "\(endpoint ?? config.taskEndpoint)"])
        while true {
            let readyItems: ZMQPollResult
            do { readyItems = try poller.poll(timeoutMilliseconds: config.heartbeatMillis) } catch {
                logger.critical("poll failed: \(error)")
                return
            }
            if readyItems.isReadable(0) {
                // Claims wait for the drain (one transaction for all the CREDITs in it), but no
                // longer than `maxDrainBeforeDispatch` messages: a flood (e.g. a peer sending
                // garbage) must not starve the workers.
                var drained = 0
                while let parts = receive(socket, state: state) {
                    handle(parts, socket: socket, state: state)
                    drained += 1
                    if drained % Self.maxDrainBeforeDispatch == 0, state.dispatchWanted || !state.benchmarkResults.isEmpty {
                        dispatch(state: state)
                    }
                }
                if state.dispatchWanted || !state.benchmarkResults.isEmpty { dispatch(state: state) }
            }
            if readyItems.isReadable(1) {
                var shouldDispatch = false
                for event in mailbox.drainAll() {
                    switch event {
                    case .stop: return
                    case .tasksAvailable: shouldDispatch = true
                    case .prepared(let routingID, let sessionID, let task):
                        state.preparing -= 1
                        send(task, to: routingID, sessionID: sessionID, socket: socket, state: state)
                    case .deferred(let routingID, let sessionID, let task):
                        state.preparing -= 1
                        counters.tasksDeferred.add(1)
                        state.deferred.append((routingID, sessionID, task))
                    case .resultHandled(let routingID, let sessionID):
                        if state.sessions[routingID]?.id == sessionID {
                            state.sessions[routingID]?.resultsPending -= 1
                            leaveIfDone(routingID, reason: "drained", state: state)
                        }
                    case .cancelTasks(let tasks):
                        cancel(tasks, socket: socket, state: state)
                    case .drainWorker(let workerID, let reason):
                        if let session = state.sessions.values.first(where: { $0.workerID == workerID }) {
                            _ = reply(.drain(Drain(reason: reason)), to: session.routingID, socket: socket)
                        }
                    case .claimed(let batch, let outcome):
                        claimed(batch, outcome, state: state)
                        shouldDispatch = shouldDispatch || state.dispatchWanted || !state.benchmarkResults.isEmpty
                    case .preparationFailed(let routingID, let sessionID, let taskID):
                        state.preparing -= 1
                        if state.sessions[routingID]?.id == sessionID {
                            state.sessions[routingID]?.credits += 1
                            state.sessions[routingID]?.inFlight.removeValue(forKey: taskID)
                        }
                        shouldDispatch = true
                    }
                }
                if state.released { retryDeferred(state: state) }
                if shouldDispatch { dispatch(state: state) }
            }
            if state.released { retryDeferred(state: state) }
            housekeeping(socket: socket, state: state)
        }
    }

    /// The next message to handle, as libzmq's frames: nothing is copied here (a payload is
    /// copied out of its frame once, while it is verified, on the work queue; see `accept`).
    private func receive(_ socket: ZMQSocket, state: LoopState) -> [ZMQMessage]? {
        do {
            while true {
                guard let parts = try socket.receiveMultipart(dontWait: true) else { return nil }
                let routingID = parts[0].bytes
                if let until = state.cutOff[routingID], until > .now { continue }  // leftovers of a cut-off connection
                state.peer = state.identity(userID: parts.count > 1 ? parts[1].property("User-Id") : nil)
                state.peerDescriptor = parts.count > 1 ? parts[1].sourceDescriptor : nil
                // Routing id + header + at most maxPayloads payload frames; more is malformed, and
                // is rejected before anything is copied.
                guard parts.count <= 2 + WireLimits.default.maxPayloads else {
                    counters.malformed.add(1)
                    strike(routingID, why: "a message of \(parts.count) frames", socket: socket, state: state)
                    continue
                }
                return parts
            }
        } catch {
            logger.error("receive failed: \(error)")
            return nil
        }
    }

    private func reply(_ message: WireMessage, to routingID: [UInt8], payloads: [[UInt8]] = [], socket: ZMQSocket) -> Bool {
        do {
            guard !payloads.isEmpty else { return try socket.send([routingID, WireCodec.encode(message)], dontWait: true) }
            // Payloads (checksummed on the work queue) are handed to libzmq as they are: zero-copy,
            // the socket thread copies none of their bytes.
            return try socket.send([ZMQMessage(routingID), ZMQMessage(WireCodec.encode(message))] + payloads.map { ZMQMessage(sharing: $0) },
                                   dontWait: true)
        } catch {
            logger.debug("cannot send \(message.name) to peer: \(error)")
            return false
        }
    }

    private func handle(_ parts: [ZMQMessage], socket: ZMQSocket, state: LoopState) {
        let routingID = parts[0].bytes
        guard parts.count >= 2 else {
            counters.malformed.add(1)
            strike(routingID, why: "an empty message", socket: socket, state: state)
            return
        }
        if let identity = state.sessions[routingID]?.identity, identity != state.peer {
            // Another key took over this routing id (ROUTER_HANDOVER): the old session is over.
            drop(routingID, reason: "connection taken over by \(state.peer.description)", state: state)
        }
        let message: WireMessage
        do {
            message = try parts[1].withUnsafeBytes { header throws(WireError) in try WireCodec.decode(header) }  // in place
        } catch let error {
            counters.malformed.add(1)
            logger.debug("malformed message from a peer rejected: \(error)")
            _ = reply(.refuse(Refuse(code: error.wireStatus, reason: WireText.clamped("\(error)"))), to: routingID, socket: socket)
            strike(routingID, why: "malformed messages (\(error))", socket: socket, state: state)
            return
        }
        let payloads = Array(parts.dropFirst(2))
        if case .hello(let hello) = message {
            register(hello, routingID: routingID, socket: socket, state: state)
            return
        }
        guard state.sessions[routingID] != nil else {
            _ = reply(.refuse(Refuse(code: .notRegistered, reason: "say HELLO first")), to: routingID, socket: socket)
            return
        }
        state.sessions[routingID]?.lastHeard = .now
        // What the cases below read, as plain values: a copy of the session itself alive here
        // would make every in-place change below copy its tables (one copy per message).
        let session = state.sessions[routingID]!.summary
        switch message {
        case .heartbeat:
            break
        case .credit(let credit):
            // Tasks in flight per worker are capped whatever credit it grants.
            let held = session.held
            state.sessions[routingID]?.credits = min(session.credits + Int(credit.credits), max(0, config.maxTasksInFlightPerWorker - held))
            state.dispatchWanted = true
        case .result(let result):
            // A lease is (task, attempt): a result for an older attempt of a task this session
            // holds again (it was requeued and handed back to the same worker) is stale.
            guard let task = state.sessions[routingID]?.takeResult(result) else {
                counters.staleResults.add(1)
                return
            }
            release(task.bytes, state: state)
            if let cached = task.cached {
                counters.cacheWindowsReferenced.add(cached.planes.count)
                counters.cacheBytesSaved.add(cached.savedBytes)
            }
            if task.benchmark {
                state.benchmarkResults.append((result, routingID, session.id))
            } else {
                accept(result, kind: task.kind, frameID: task.frameID, payloads: payloads, routingID: routingID, sessionID: session.id)
            }
            leaveIfDone(routingID, reason: "drained", state: state)
        case .failure(let failure):
            guard let task = state.sessions[routingID]?.inFlight[failure.taskID], task.attempt == Int(failure.attempt) else {
                counters.staleResults.add(1)
                return
            }
            if let cached = task.cached, failure.code == .inputNotCached {
                resendInline(cached, failure: failure, task: task, routingID: routingID, session: session, state: state)
                return
            }
            state.sessions[routingID]?.inFlight.removeValue(forKey: failure.taskID)
            release(task.bytes, state: state)
            recordFailure(failure, worker: session.workerID)
            leaveIfDone(routingID, reason: "drained", state: state)
        case .goodbye(let goodbye):
            if session.leaving {
                // Its second GOODBYE: it has reported everything it ran; what is still on the wire
                // to it was never run — hand it back.
                for (taskID, task) in state.sessions[routingID]?.inFlight ?? [:] {
                    release(task.bytes, state: state)
                    pipeline.recordFailure(task: taskID, attempt: task.attempt, code: "cancelled",
                                           reason: "worker left before running the task", retryable: true, worker: session.workerID)
                }
                state.sessions[routingID]?.inFlight.removeAll()
            }
            state.sessions[routingID]?.leaving = true
            state.sessions[routingID]?.credits = 0
            leaveIfDone(routingID, reason: goodbye.reason, state: state)
        default:
            counters.malformed.add(1)
            logger.warning("unexpected \(message.name) from worker \(session.name); ignored")
            strike(routingID, why: "unexpected messages (\(message.name))", socket: socket, state: state)
        }
    }

    /// A task sent with cached inputs came back as a cache miss (FAILURE `inputNotCached` from a
    /// worker that no longer holds a referenced plane):
    /// the session keeps the lease — same task, same attempt, nothing recorded in the store, not
    /// the worker's fault — and the task is prepared again with every input inline and sent to
    /// the same worker at once (its FAILURE is followed by the CREDIT this resend uses).
    private func resendInline(_ cached: CachedSend, failure: TaskFailure, task: InFlight, routingID: [UInt8], session: Session.Summary,
                              state: LoopState) {
        counters.cacheMisses.add(1)
        pipeline.planes.workerLacks(session: session.id, planes: cached.planes)
        release(task.bytes, state: state)
        logger.info("cache miss on \(session.name) for task \(failure.taskID): \(failure.reason); resending it inline")
        state.sessions[routingID]?.inFlight[failure.taskID]?.cached = nil
        state.sessions[routingID]?.inFlight[failure.taskID]?.sentAt = nil
        state.sessions[routingID]?.inFlight[failure.taskID]?.bytes = 0
        state.sessions[routingID]?.credits -= 1
        state.preparing += 1
        prepare(cached.claimed, routingID: routingID, sessionID: session.id, inline: true)
    }

    /// Counts one malformed or out-of-place message against a connection; at
    /// `maxMalformedPerPeer` the connection is shut down, its session dropped (tasks requeued),
    /// and under CURVE its key refused for `suspensionSeconds`. Counted in `peersDisconnected`.
    private func strike(_ routingID: [UInt8], why: String, socket: ZMQSocket, state: LoopState) {
        if state.strikes.count > 10_000 { state.strikes.removeAll() }  // bounded bookkeeping
        let strikes = state.strikes[routingID, default: 0] + 1
        guard strikes >= config.maxMalformedPerPeer else {
            state.strikes[routingID] = strikes
            return
        }
        state.strikes.removeValue(forKey: routingID)
        let suspension = Duration.seconds(config.suspensionSeconds)
        if state.cutOff.count > 10_000 { state.cutOff = state.cutOff.filter { $0.value > .now } }
        state.cutOff[routingID] = .now + suspension
        if let descriptor = state.peerDescriptor { ZMQConnection.shutDown(descriptor: descriptor) }
        let peer = state.peer
        security.authenticator?.suspend(peer, for: suspension)
        counters.peersDisconnected.add(1)
        let who = state.sessions[routingID].map { "worker \($0.name) (\(peer.description))" } ?? peer.description
        let message = "disconnected \(who) after \(strikes) \(why)" + (peer.role != nil ? "; key suspended for \(config.suspensionSeconds) s" : "")
        logger.warning("\(message)")
        pipeline.events.record(NewEvent(level: .warning, kind: "peer.disconnected", message: message, worker: state.sessions[routingID]?.workerID))
        drop(routingID, reason: "disconnected for sending garbage", state: state)
    }

    /// Ends the sessions whose key was revoked after their handshake (checked once per
    /// heartbeat): REFUSE `unauthorized` (a worker stops and says why), the connection cut (its
    /// reconnect is refused by ZAP), the session dropped and its tasks requeued; a `key.revoked`
    /// event names the worker and the key.
    private func endRevokedSessions(socket: ZMQSocket, state: LoopState) {
        guard let authenticator = security.authenticator, !state.sessions.isEmpty else { return }
        let sessions = Array(state.sessions)
        let admitted: [Bool]
        do { admitted = try authenticator.admits(sessions.map(\.value.identity)) } catch {
            logger.error("cannot read the key allow-list to check open sessions: \(error)")
            return
        }
        for ((routingID, session), admitted) in zip(sessions, admitted) where !admitted {
            let message = "ended the session of worker \(session.name): \(session.identity.description) was revoked"
            _ = reply(.refuse(Refuse(code: .unauthorized, reason: "\(session.identity.description) was revoked")), to: routingID, socket: socket)
            if let descriptor = session.descriptor { ZMQConnection.shutDown(descriptor: descriptor) }
            counters.sessionsRevoked.add(1)
            logger.warning("\(message)")
            pipeline.events.record(NewEvent(level: .warning, kind: "key.revoked", message: message, worker: session.workerID))
            drop(routingID, reason: "key revoked", state: state)
        }
    }

    /// Ends a leaving session once it holds no lease (tasks still being prepared for it are
    /// handed back when they are ready).
    private func leaveIfDone(_ routingID: [UInt8], reason: String, state: LoopState) {
        guard let session = state.sessions[routingID], session.leaving, session.inFlight.isEmpty, session.resultsPending == 0,
              session.claiming == 0 else { return }
        drop(routingID, reason: "worker left: \(reason)", graceful: true, state: state)
    }

    private func register(_ hello: Hello, routingID: [UInt8], socket: ZMQSocket, state: LoopState) {
        if state.sessions[routingID] != nil { drop(routingID, reason: "worker re-registered", state: state) }
        // ZAP admitted the connection at its handshake; the key may have been revoked since (a
        // session ended for that must not simply say HELLO again on the same connection).
        if let authenticator = security.authenticator, (try? authenticator.admits([state.peer]))?.first != true {
            counters.authRefused.add(1)
            _ = reply(.refuse(Refuse(code: .unauthorized, reason: "\(state.peer.description) is no longer allow-listed (revoked)")),
                      to: routingID, socket: socket)
            if let descriptor = state.peerDescriptor { ZMQConnection.shutDown(descriptor: descriptor) }
            return
        }
        let workerID: WorkerID
        do {
            workerID = try store.registerWorker(
                name: hello.workerName, host: hello.hostname, cores: Int(hello.cores),
                memoryBytes: Int64(clamping: hello.memoryBytes), slots: Int(hello.slots), version: hello.softwareVersion)
        } catch {
            logger.error("cannot register worker \(hello.workerName): \(error)")
            _ = reply(.refuse(Refuse(code: .shuttingDown, reason: "coordinator database unavailable")), to: routingID, socket: socket)
            return
        }
        let session = Session(id: state.nextSession, workerID: workerID, routingID: routingID, name: hello.workerName,
                              credits: 0, lastHeard: .now, identity: state.peer, descriptor: state.peerDescriptor)
        state.nextSession += 1
        state.sessions[routingID] = session
        pipeline.planes.join(session: session.id, capacity: PlaneDirectory.advertisedCapacity(hello.capabilities))
        state.order = nil
        counters.workersConnected.store(state.sessions.count, ordering: .relaxed)
        let welcome = Welcome(workerID: workerID, heartbeatIntervalMillis: UInt32(config.heartbeatMillis),
                              livenessBeats: UInt16(config.livenessBeats), coordinatorVersion: TesseraVersion.string)
        _ = reply(.welcome(welcome), to: routingID, socket: socket)
        pipeline.events.record(NewEvent(level: .info, kind: "worker.joined",
                                        message: "\(hello.workerName) on \(hello.hostname) joined with \(hello.slots) slot(s)"
                                            + (state.peer.role != nil ? " (key '\(state.peer.name)')" : ""), worker: workerID))
    }

    private func drop(_ routingID: [UInt8], reason: String, graceful: Bool = false, state: LoopState) {
        guard let session = state.sessions.removeValue(forKey: routingID) else { return }
        pipeline.planes.leave(session: session.id)
        state.order = nil
        counters.workersConnected.store(state.sessions.count, ordering: .relaxed)
        for task in session.inFlight.values { release(task.bytes, state: state) }
        do {
            let requeued = try store.workerLost(session.workerID, reason: reason)
            pipeline.events.record(NewEvent(
                level: graceful && requeued == 0 ? .info : .warning, kind: graceful ? "worker.left" : "worker.lost",
                message: "\(session.name) \(graceful ? "left" : "lost") (\(reason)); \(requeued) task(s) requeued", worker: session.workerID))
        } catch {
            logger.error("cannot record loss of worker \(session.name): \(error)")
            // Its tasks would stay leased to a session that no longer exists: try again later.
            if error.isBusy { state.pendingLost.append((session.workerID, reason)) }
        }
        mailbox.post(.tasksAvailable)
    }

    /// Claims tasks for sessions with credit, round-robin, in one transaction on the claim lane
    /// (``ClaimLane``), with the benchmark results received since the last call recorded in the
    /// same transaction, before the claims (persist before record: their tasks stay `running`
    /// until it commits). The sessions' credits are reserved until the batch returns
    /// (`claimed`); while a batch is in the lane, this only notes that claims are wanted.
    private func dispatch(state: LoopState) {
        state.dispatchWanted = false
        guard !state.claimInFlight, let lane = state.lane else {
            state.dispatchWanted = true
            return
        }
        let results = state.benchmarkResults
        state.benchmarkResults.removeAll(keepingCapacity: true)
        var requests: [(worker: WorkerID, limit: Int)] = []
        var owners: [(routingID: [UInt8], session: UInt64)] = []
        let routingIDs: [[UInt8]]
        if let order = state.order {
            routingIDs = order
        } else {
            routingIDs = state.sessions.keys.sorted { $0.lexicographicallyPrecedes($1) }
            state.order = routingIDs
        }
        // Tasks waiting for room under the bytes-in-flight bound go first; claim nothing more.
        if !routingIDs.isEmpty, state.deferred.isEmpty, counters.bytesInFlight.load(ordering: .relaxed) < config.maxInflightBytes {
            let start = state.rotation % routingIDs.count
            state.rotation += 1
            var budget = config.maxPreparing - state.preparing
            for offset in 0..<routingIDs.count where budget > 0 {
                let routingID = routingIDs[(start + offset) % routingIDs.count]
                guard let (credits, workerID, sessionID) = state.sessions[routingID].map({ ($0.credits, $0.workerID, $0.id) }),
                      credits > 0 else { continue }
                let limit = min(credits, budget)
                requests.append((workerID, limit))
                owners.append((routingID, sessionID))
                state.sessions[routingID]?.credits -= limit
                state.sessions[routingID]?.claiming += limit
                budget -= limit
            }
        }
        guard !requests.isEmpty || !results.isEmpty else { return }
        state.claimInFlight = true
        // Workers holding a task's input planes get it first (the input cache; PlaneDirectory).
        let affinity = requests.isEmpty ? .none
            : pipeline.planes.affinity(workers: state.sessions.values.map { ($0.id, $0.workerID) })
        lane.submit(ClaimLane.Batch(requests: requests, owners: owners, results: results, affinity: affinity))
    }

    /// A batch came back from the claim lane: the reserved credits return to their sessions, the
    /// claimed tasks are leased and sent (benchmark tasks at once: there is nothing to prepare)
    /// or prepared, and the recorded results release their sessions. Tasks claimed for a
    /// session that has ended since are not sent: ending it requeued them (`workerLost` waits
    /// for the lane's transaction, or the lane found the worker lost and claimed nothing).
    private func claimed(_ batch: ClaimLane.Batch, _ outcome: Result<[[ClaimedTask]], StoreError>, state: LoopState) {
        state.claimInFlight = false
        for ((routingID, sessionID), request) in zip(batch.owners, batch.requests) where state.sessions[routingID]?.id == sessionID {
            // A session that said GOODBYE meanwhile keeps no credit (what was claimed for it is
            // handed back by `send`).
            if state.sessions[routingID]?.leaving == false { state.sessions[routingID]?.credits += request.limit }
            state.sessions[routingID]?.claiming -= request.limit
        }
        let claimedPerSession: [[ClaimedTask]]
        switch outcome {
        case .success(let claimed):
            claimedPerSession = claimed
        case .failure(let error):
            logger.error("claiming tasks failed: \(error)")
            for item in batch.results {
                // Not recorded: the task goes back to the queue (not the worker's fault).
                pipeline.recordFailure(task: item.result.taskID, attempt: Int(item.result.attempt), code: RetryPolicy.coordinatorErrorCode,
                                       reason: "recording the result failed: \(error)", retryable: true, worker: nil)
            }
            benchmarkResultsHandled(batch.results, state: state)
            for (routingID, _) in batch.owners { leaveIfDone(routingID, reason: "drained", state: state) }
            return
        }
        benchmarkResultsHandled(batch.results, state: state)
        let now = ContinuousClock.now
        for ((routingID, sessionID), claimed) in zip(batch.owners, claimedPerSession) {
            guard !claimed.isEmpty, state.sessions[routingID]?.id == sessionID else {
                leaveIfDone(routingID, reason: "drained", state: state)
                continue
            }
            state.sessions[routingID]?.lease(claimed, at: now)
            for task in claimed {
                if FramePipeline.isBenchmark(task), let socket = state.socket {
                    send(pipeline.prepareBenchmark(task), to: routingID, sessionID: sessionID, socket: socket, state: state)
                } else {
                    state.preparing += 1
                    prepare(task, routingID: routingID, sessionID: sessionID)
                }
            }
        }
    }

    /// Benchmark results were persisted (or failed): their sessions no longer wait for them.
    private func benchmarkResultsHandled(_ results: [(result: TaskResult, routingID: [UInt8], session: UInt64)], state: LoopState) {
        guard !results.isEmpty else { return }
        counters.resultsReceived.add(results.count)
        for item in results where state.sessions[item.routingID]?.id == item.session {
            state.sessions[item.routingID]?.resultsPending -= 1
            leaveIfDone(item.routingID, reason: "drained", state: state)
        }
    }

    /// `inline`: send every input (a resend after a cache miss); otherwise inputs the session's
    /// worker holds in its cache are referenced.
    private func prepare(_ task: ClaimedTask, routingID: [UInt8], sessionID: UInt64, inline: Bool = false) {
        let pipeline = self.pipeline, mailbox = self.mailbox, logger = self.logger
        let counters = self.counters, bound = config.maxInflightBytes
        work.async {
            do {
                // Reserve the payload's bytes before reading anything; if they do not fit, the
                // task waits on the socket thread until bytes are released.
                let estimate = try pipeline.payloadBytes(task)
                guard counters.reserveInflight(estimate, bound: bound) else {
                    mailbox.post(.deferred(routingID: routingID, session: sessionID, task: task))
                    return
                }
                let prepared: FramePipeline.PreparedTask
                do { prepared = try pipeline.prepare(task, session: inline ? nil : sessionID) } catch {
                    counters.releaseInflight(estimate)
                    throw error
                }
                counters.adjustInflight(by: prepared.payloadBytes - estimate)
                mailbox.post(.prepared(routingID: routingID, session: sessionID, task: prepared))
            } catch let corruption as SpoolCorruption {
                // The frame's decoded plane is lost: decode it again (this tile's lease is gone
                // with the frame's tile tasks).
                pipeline.redoDecode(frame: task.frameID, corruption: corruption)
                mailbox.post(.preparationFailed(routingID: routingID, session: sessionID, task: task.taskID))
            } catch {
                logger.warning("cannot prepare \(task.kind) task \(task.taskID): \(error)")
                pipeline.recordFailure(task: task.taskID, attempt: task.attempt, code: "unsupportedInput", reason: "\(error)",
                                       retryable: false, worker: nil)
                mailbox.post(.preparationFailed(routingID: routingID, session: sessionID, task: task.taskID))
            }
        }
    }

    private func send(_ task: FramePipeline.PreparedTask, to routingID: [UInt8], sessionID: UInt64, socket: ZMQSocket, state: LoopState) {
        let taskID = task.message.taskID
        // Plain values, not a copy of the session (which would make the in-place changes below
        // copy its tables).
        guard let session = state.sessions[routingID].map({ (id: $0.id, leaving: $0.leaving, workerID: $0.workerID) }),
              session.id == sessionID else {
            // The worker left while we prepared; its tasks were requeued with the session.
            release(task.payloadBytes, state: state)
            return
        }
        if session.leaving {
            release(task.payloadBytes, state: state)
            // It said GOODBYE while we prepared: hand the task back, not the worker's fault.
            state.sessions[routingID]?.inFlight.removeValue(forKey: taskID)
            pipeline.recordFailure(task: taskID, attempt: Int(task.message.attempt), code: "cancelled",
                                   reason: "worker left before the task was sent", retryable: true, worker: session.workerID)
            leaveIfDone(routingID, reason: "drained", state: state)
            mailbox.post(.tasksAvailable)
            return
        }
        if reply(.task(task.message), to: routingID, payloads: task.payloads, socket: socket) {
            let now = ContinuousClock.now
            let cached = task.referenced.isEmpty ? nil : task.claimed.map {
                CachedSend(claimed: $0, planes: task.referenced, savedBytes: task.savedBytes)
            }
            if let claimed = state.sessions[routingID]?.markSent(taskID, bytes: task.payloadBytes, cached: cached, at: now) {
                counters.recordDispatchLatency(now - claimed)
            } else {
                release(task.payloadBytes, state: state)
            }
            counters.tasksSent.add(1)
            counters.bytesSent.add(task.payloads.reduce(0) { $0 + $1.count })
        } else {
            // Its bytes were reserved but never counted in the session (not sent): released here,
            // once, whatever the drain below does with the session.
            release(task.payloadBytes, state: state)
            // The peer is gone. What it sent before it went may still be queued here — a worker
            // that drained says GOODBYE and exits: handle that first, so it is not taken for lost.
            drainAfterFailedSend(socket: socket, state: state)
            guard let current = state.sessions[routingID], current.id == sessionID,
                  current.inFlight[taskID] != nil else {
                return  // its session ended meanwhile (GOODBYE: the task handed back; or dropped: requeued)
            }
            state.sessions[routingID]?.inFlight.removeValue(forKey: taskID)
            if current.leaving {
                pipeline.recordFailure(task: taskID, attempt: Int(task.message.attempt), code: "cancelled",
                                       reason: "worker left before the task was sent", retryable: true, worker: session.workerID)
                leaveIfDone(routingID, reason: "drained", state: state)
                mailbox.post(.tasksAvailable)
            } else {
                drop(routingID, reason: "unreachable", state: state)
            }
        }
    }

    /// A send failed because its peer has disconnected (ROUTER_MANDATORY). Handles what is
    /// already queued on the socket (at most ``maxDrainBeforeDispatch`` messages) before the
    /// caller decides: a peer's last RESULTs, FAILUREs and GOODBYE arrive before it goes, and
    /// a worker that left cleanly must not be recorded as lost because a TASK or a heartbeat to
    /// it was sent first.
    private func drainAfterFailedSend(socket: ZMQSocket, state: LoopState) {
        guard !state.drainingAfterFailedSend else { return }
        state.drainingAfterFailedSend = true
        defer { state.drainingAfterFailedSend = false }
        var handled = 0
        while handled < Self.maxDrainBeforeDispatch, let parts = receive(socket, state: state) {
            handle(parts, socket: socket, state: state)
            handled += 1
        }
    }

    /// Gives back payload bytes counted in flight (the task was answered, lost, or not sent).
    private func release(_ bytes: Int, state: LoopState) {
        guard bytes != 0 else { return }
        counters.releaseInflight(bytes)
        state.released = true
    }

    /// Prepares deferred tasks again now that bytes were released (each reserves its bytes again
    /// and may be deferred again); drops those whose session ended (the store requeued them).
    private func retryDeferred(state: LoopState) {
        state.released = false
        guard !state.deferred.isEmpty else { return }
        var waiting = state.deferred
        state.deferred.removeAll()
        while !waiting.isEmpty, state.preparing < config.maxPreparing {
            let item = waiting.removeFirst()
            guard let session = state.sessions[item.routingID], session.id == item.session,
                  session.inFlight[item.task.taskID]?.attempt == item.task.attempt
            else { continue }
            if session.leaving {
                state.sessions[item.routingID]?.inFlight.removeValue(forKey: item.task.taskID)
                pipeline.recordFailure(task: item.task.taskID, attempt: item.task.attempt, code: "cancelled",
                                       reason: "worker left before the task was sent", retryable: true, worker: session.workerID)
                leaveIfDone(item.routingID, reason: "drained", state: state)
                continue
            }
            state.preparing += 1
            prepare(item.task, routingID: item.routingID, sessionID: item.session)
        }
        state.deferred.append(contentsOf: waiting)
    }

    private func accept(_ result: TaskResult, kind: TaskKind, frameID: FrameID, payloads frames: [ZMQMessage], routingID: [UInt8], sessionID: UInt64) {
        let pipeline = self.pipeline, mailbox = self.mailbox, logger = self.logger
        let counters = self.counters
        counters.resultsReceived.add(1)
        counters.bytesReceived.add(frames.reduce(0) { $0 + $1.count })
        work.async {
            let taskID = result.taskID, attempt = Int(result.attempt)
            do {
                // Each payload is verified as it is copied out of libzmq's frame (one pass over
                // its bytes, off the socket thread); the frames are released right after.
                guard frames.count == result.payloads.count else {
                    throw WireError.payloadCountMismatch(expected: result.payloads.count, actual: frames.count)
                }
                var payloads: [[UInt8]] = []
                payloads.reserveCapacity(frames.count)
                for (index, frame) in frames.enumerated() {
                    payloads.append(try frame.withUnsafeBytes { bytes throws(WireError) in
                        try WireCodec.copyVerifying(bytes, index: index, against: result.payloads[index])
                    })
                }
                switch kind {
                case .decode:
                    _ = try pipeline.acceptDecode(taskID: taskID, attempt: attempt, frameID: frameID, result: result, payloads: payloads,
                                                  session: sessionID)
                case .developTile:
                    try pipeline.acceptTile(taskID: taskID, attempt: attempt, frameID: frameID, result: result, payloads: payloads)
                case .mergeTile:
                    try pipeline.acceptMergeTile(taskID: taskID, attempt: attempt, frameID: frameID, result: result, payloads: payloads)
                }
            } catch let error as ImagingError {
                // The coordinator could not write the output: an existing file it must not
                // replace fails the frame for good; other write errors are retried later. Neither
                // is the worker's fault.
                if case .fileExists(let path) = error {
                    pipeline.recordFailure(task: taskID, attempt: attempt, code: "outputExists",
                                           reason: "\(path) already exists (run with --overwrite to replace it)", retryable: false, worker: nil)
                } else {
                    pipeline.events.record(NewEvent(level: .error, kind: "output.write-failed",
                                                    message: "frame \(frameID.rawValue): \(error); the frame is retried later",
                                                    frame: frameID, task: taskID))
                    pipeline.recordFailure(task: taskID, attempt: attempt, code: RetryPolicy.coordinatorErrorCode,
                                           reason: "writing the output failed: \(error)", retryable: true, worker: nil)
                }
            } catch let error as SpoolError {
                pipeline.recordFailure(task: taskID, attempt: attempt, code: RetryPolicy.coordinatorErrorCode,
                                       reason: "spooling the result failed: \(error)", retryable: true, worker: nil)
            } catch {
                logger.warning("result of task \(taskID) rejected: \(error)")
                pipeline.recordFailure(task: taskID, attempt: attempt, code: "payloadCorrupt", reason: "result rejected: \(error)",
                                       retryable: true, worker: nil)
            }
            mailbox.post(.resultHandled(routingID: routingID, session: sessionID))
            mailbox.post(.tasksAvailable)
        }
    }

    private func recordFailure(_ failure: TaskFailure, worker: WorkerID) {
        counters.failuresReceived.add(1)
        pipeline.recordFailure(task: failure.taskID, attempt: Int(failure.attempt), code: "\(failure.code)", reason: failure.reason,
                               retryable: failure.retryable, worker: worker)
        dispatchSoon()
    }

    private func dispatchSoon() { mailbox.post(.tasksAvailable) }

    /// How long a task may take on a session before it is presumed hung: `taskTimeoutFactor`
    /// times what the worker's measured speed predicts, never less than `taskTimeoutMinMillis`.
    private func deadline(for task: InFlight, on session: Session) -> Duration {
        let minimum = Duration.milliseconds(config.taskTimeoutMinMillis)
        guard let speed = session.speed[task.kind], speed > 0 else { return minimum * 4 }
        let expected = Double(task.work) / speed * config.taskTimeoutFactor
        return max(minimum, .milliseconds(Int(min(expected * 1000, 86_400_000))))
    }

    /// Requeues tasks that outlived their deadline; a late result for one is then ignored.
    private func expireHungTasks(now: ContinuousClock.Instant, state: LoopState) {
        for (routingID, session) in state.sessions {
            for (taskID, task) in session.inFlight {
                guard let sentAt = task.sentAt else { continue }
                let limit = deadline(for: task, on: session)
                guard now - sentAt > limit else { continue }
                state.sessions[routingID]?.inFlight.removeValue(forKey: taskID)
                release(task.bytes, state: state)
                counters.tasksExpired.add(1)
                pipeline.recordFailure(task: taskID, attempt: task.attempt, code: "timeout",
                                       reason: "no result from \(session.name) within \(limit) (presumed hung)",
                                       retryable: true, worker: session.workerID)
                mailbox.post(.tasksAvailable)
            }
        }
    }

    /// Sends CANCEL to the workers holding `tasks` and forgets those leases (the store has
    /// already cancelled them; the workers' FAILURE `cancelled` replies are then stale).
    private func cancel(_ tasks: [CancelledTask], socket: ZMQSocket, state: LoopState) {
        let byWorker = Dictionary(grouping: tasks, by: \.workerID)
        for (routingID, session) in state.sessions {
            guard let held = byWorker[session.workerID] else { continue }
            let ids = held.map(\.taskID).filter { session.inFlight[$0] != nil }
            for id in ids { state.sessions[routingID]?.inFlight.removeValue(forKey: id) }
            if !ids.isEmpty, reply(.cancel(Cancel(taskIDs: ids)), to: routingID, socket: socket) {
                counters.tasksCancelledOnWorkers.add(ids.count)
            }
            leaveIfDone(routingID, reason: "drained", state: state)
        }
        publishSnapshot(state: state)
    }

    /// Publishes the sessions' state for the operators' views (``sessionsSnapshot``).
    private func publishSnapshot(state: LoopState) {
        let now = ContinuousClock.now
        let snapshot = state.sessions.values.map { session in
            SessionSnapshot(
                workerID: session.workerID, name: session.name, leaving: session.leaving,
                tasks: session.inFlight.map { taskID, task in
                    let expected = session.speed[task.kind].map { $0 > 0 ? Double(task.work) / $0 : 0 } ?? 0
                    return SessionSnapshot.Task(
                        taskID: taskID, kind: task.kind, frameID: task.frameID,
                        runningMillis: task.sentAt.map { Int64(($0.duration(to: now)) / .milliseconds(1)) } ?? 0,
                        expectedMillis: Int64(min(expected * 1000, 86_400_000)))
                })
        }
        sessionsSnapshot.withLock { $0 = snapshot }
    }

    /// Heartbeats out, lost workers dropped, hung tasks expired, and a periodic dispatch as a safety net.
    private func housekeeping(socket: ZMQSocket, state: LoopState) {
        let now = ContinuousClock.now
        let beat = Duration.milliseconds(config.heartbeatMillis)
        guard now - state.lastBeat >= beat else { return }
        state.lastBeat = now
        publishSnapshot(state: state)
        expireHungTasks(now: now, state: state)
        if !state.pendingLost.isEmpty {
            let pending = state.pendingLost
            state.pendingLost.removeAll()
            for (worker, reason) in pending {
                do { _ = try store.workerLost(worker, reason: reason) } catch { state.pendingLost.append((worker, reason)) }
            }
        }
        retryDeferred(state: state)
        endRevokedSessions(socket: socket, state: state)
        let deadline = beat * config.livenessBeats
        for (routingID, listed) in state.sessions {
            // A failed heartbeat below handles queued messages, which may end or change sessions.
            guard let session = state.sessions[routingID], session.id == listed.id else { continue }
            if session.leaving, session.inFlight.isEmpty {
                // Said GOODBYE and holds no lease: only its results still being persisted keep
                // the session; it may already have disconnected, so no beats and no liveness.
                continue
            }
            if now - session.lastHeard > deadline {
                drop(routingID, reason: "missed \(config.livenessBeats) heartbeats", state: state)
            } else if !reply(.heartbeat, to: routingID, socket: socket) {
                // Gone: unless what it sent last (still queued) was a GOODBYE, it is lost.
                drainAfterFailedSend(socket: socket, state: state)
                if let current = state.sessions[routingID], current.id == session.id, !current.leaving {
                    drop(routingID, reason: "unreachable", state: state)
                }
            }
        }
        if !state.sessions.isEmpty {
            do {
                try store.workersSeen(state.sessions.values.map(\.workerID))
            } catch {
                logger.error("cannot update worker liveness: \(error)")
            }
        }
        dispatch(state: state)
    }
}

/// A worker session as the dispatch thread last saw it (see `TaskDispatcher.sessionsSnapshot`).
struct SessionSnapshot: Sendable {
    /// A task the session holds.
    struct Task: Sendable {
        var taskID: TaskID
        var kind: TaskKind
        var frameID: FrameID
        /// Since the TASK was sent (0 while it is prepared), ms.
        var runningMillis: Int64
        /// What the worker's measured speed predicts, ms (0 while unknown).
        var expectedMillis: Int64
    }

    var workerID: WorkerID
    var name: String
    /// Said GOODBYE (draining).
    var leaving: Bool
    var tasks: [Task]
}

/// Counters the coordinator keeps for operators and tests (read from any thread).
public final class DispatchCounters: Sendable {
    public let tasksSent = Atomic<Int>(0)
    public let resultsReceived = Atomic<Int>(0)
    public let failuresReceived = Atomic<Int>(0)
    public let malformed = Atomic<Int>(0)
    /// Results for tasks this worker session no longer holds (late, duplicate or after a requeue).
    public let staleResults = Atomic<Int>(0)
    /// Tasks requeued because they outlived their deadline.
    public let tasksExpired = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    public let bytesReceived = Atomic<Int>(0)
    public let workersConnected = Atomic<Int>(0)
    /// Handshakes refused by the ZAP handler (unknown, revoked, suspended or wrong-role keys,
    /// plaintext peers on a CURVE socket).
    public let authRefused = Atomic<Int>(0)
    /// Handshakes that failed before authentication (wrong server key, garbage instead of ZMTP).
    public let handshakeFailures = Atomic<Int>(0)
    /// Connections closed by the coordinator for sending too many malformed messages.
    public let peersDisconnected = Atomic<Int>(0)
    /// Worker sessions ended because their key was revoked while they were connected.
    public let sessionsRevoked = Atomic<Int>(0)
    /// Control requests refused because the peer's key may not make them.
    public let controlRefused = Atomic<Int>(0)
    /// Task payload bytes held now: prepared, or sent and not yet answered (never above the
    /// configured bound, except for one task larger than the bound alone).
    public let bytesInFlight = Atomic<Int>(0)
    /// The highest ``bytesInFlight`` seen.
    public let peakBytesInFlight = Atomic<Int>(0)
    /// Times a claimed task waited for room under the bytes-in-flight bound.
    public let tasksDeferred = Atomic<Int>(0)
    /// Task ids sent in CANCEL messages to workers (operator cancels).
    public let tasksCancelledOnWorkers = Atomic<Int>(0)
    /// Task inputs (tile or merge windows) a worker cut from a plane in its input cache instead
    /// of receiving them, counted when the task's result arrives.
    public let cacheWindowsReferenced = Atomic<Int>(0)
    /// Payload bytes not sent because the worker cut those windows from its cache (counted with
    /// ``cacheWindowsReferenced``); `bytesSent + cacheBytesSaved` is what the tasks would have sent.
    public let cacheBytesSaved = Atomic<Int>(0)
    /// Tasks a worker answered with a cache miss (a referenced plane no longer held); each was
    /// resent inline at once, without counting an attempt.
    public let cacheMisses = Atomic<Int>(0)
    /// Where dispatch latencies (claim → TASK sent) go; set once by the metrics endpoint.
    let dispatchLatency = Mutex<(@Sendable (Duration) -> Void)?>(nil)
    public init() {}

    /// Records one task's dispatch latency (a no-op without a metrics endpoint).
    func recordDispatchLatency(_ latency: Duration) {
        if let record = dispatchLatency.withLock({ $0 }) { record(latency) }
    }

    /// Reserves `bytes` in flight if they fit under `bound` (or nothing else is in flight, so a
    /// task larger than the bound still goes); returns whether they were reserved.
    func reserveInflight(_ bytes: Int, bound: Int) -> Bool {
        var current = bytesInFlight.load(ordering: .relaxed)
        while true {
            if current > 0, current + bytes > bound { return false }
            let (exchanged, original) = bytesInFlight.compareExchange(
                expected: current, desired: current + bytes, ordering: .acquiringAndReleasing)
            if exchanged {
                notePeak(current + bytes)
                return true
            }
            current = original
        }
    }

    /// Corrects a reservation by `delta` bytes (the prepared payload differed from its estimate).
    func adjustInflight(by delta: Int) {
        guard delta != 0 else { return }
        notePeak(bytesInFlight.wrappingAdd(delta, ordering: .acquiringAndReleasing).newValue)
    }

    /// Gives back `bytes` reserved in flight.
    func releaseInflight(_ bytes: Int) { _ = bytesInFlight.wrappingSubtract(bytes, ordering: .acquiringAndReleasing) }

    private func notePeak(_ value: Int) {
        var peak = peakBytesInFlight.load(ordering: .relaxed)
        while value > peak {
            let (exchanged, original) = peakBytesInFlight.compareExchange(expected: peak, desired: value, ordering: .relaxed)
            if exchanged { return }
            peak = original
        }
    }
}

extension Atomic where Value == Int {
    /// Adds `delta` (relaxed ordering: these are statistics).
    func add(_ delta: Int) { _ = wrappingAdd(delta, ordering: .relaxed) }
}
