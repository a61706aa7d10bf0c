import Foundation
import Logging
import Synchronization
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire
import TesseraZMQ

/// The operators' socket: a ROUTER on its own thread answering the control vocabulary —
/// SUBMIT, STATUS, and the operators' JOBS, JOB, WORKERS, EVENTS and STEER (`OperatorRequests`).
/// It reads the store directly, so a slow query never delays dispatch; steering reaches the
/// dispatch thread only through its mailbox (`OperatorHooks`).
final class ControlServer: Sendable {
    private let endpointRequested: String
    private let store: TesseraStore
    private let context: ZMQContext
    private let logger: Logger
    private let onSubmit: @Sendable () -> Void
    private let workersConnected: @Sendable () -> Int
    private let counters: DispatchCounters
    private let wakeup: Mailbox<Bool>
    private let bound = Mutex<String?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let startError = Mutex<String?>(nil)
    private let security: ServerSecurity
    private let operators: OperatorRequests

    init(endpoint: String, store: TesseraStore, context: ZMQContext, counters: DispatchCounters, logger: Logger,
         workersConnected: @escaping @Sendable () -> Int, onSubmit: @escaping @Sendable () -> Void,
         security: ServerSecurity = .plaintext, hooks: OperatorHooks = OperatorHooks()) throws(CoordinatorError) {
        self.security = security
        operators = OperatorRequests(store: store, hooks: hooks, workersConnected: workersConnected, clock: .system)
        do { wakeup = try Mailbox() } catch { throw .transport("\(error)") }
        self.endpointRequested = endpoint
        self.store = store
        self.context = context
        self.counters = counters
        self.logger = logger
        self.workersConnected = workersConnected
        self.onSubmit = onSubmit
    }

    var endpoint: String? { bound.withLock { $0 } }

    func start() throws(CoordinatorError) {
        let thread = Thread { [self] in
            self.threadMain()
            self.finished.signal()
        }
        thread.name = "tessera-control"
        thread.start()
        ready.wait()
        if let message = startError.withLock({ $0 }) { throw .transport(message) }
    }

    func stop() {
        wakeup.post(true)
        finished.wait()
    }

    private func threadMain() {
        let socket: ZMQSocket
        do {
            socket = try context.makeSocket(.router)
            try socket.set(.routerMandatory, true)
            try socket.set(.maxMessageSize, Int64(WireLimits.default.maxRecipeLength + 64 * 1024))
            try security.apply(to: socket, domain: Authenticator.controlDomain)
            HandshakeMonitor.attach(to: socket, name: "control", counters: counters, logger: logger)
            try socket.bind(endpointRequested)
            bound.withLock { $0 = try? socket.lastEndpoint }
        } catch {
            startError.withLock { $0 = "cannot bind control endpoint \(endpointRequested): \(error)" }
            ready.signal()
            return
        }
        ready.signal()
        defer { socket.close() }
        var poller = ZMQPoller()
        _ = poller.add(socket)
        _ = poller.add(fileDescriptor: wakeup.fileDescriptor)
        while true {
            let items: ZMQPollResult
            do { items = try poller.poll(timeoutMilliseconds: -1) } catch {
                logger.critical("control poll failed: \(error)")
                return
            }
            if items.isReadable(1), !wakeup.drainAll().isEmpty { return }
            guard items.isReadable(0) else { continue }
            while true {
                let parts: [[UInt8]]
                let peer: PeerIdentity
                do {
                    guard let received = try socket.receiveMultipart(dontWait: true) else { break }
                    peer = PeerIdentity(userID: received.count > 1 ? received[1].property("User-Id") : nil)
                    guard received.count == 2 else {
                        counters.malformed.add(1)
                        continue
                    }
                    parts = received.map(\.bytes)
                } catch {
                    logger.error("control receive failed: \(error)")
                    break
                }
                guard parts.count >= 2 else {
                    counters.malformed.add(1)
                    continue
                }
                let replyMessage = respond(to: parts[1], peer: peer)
                do { _ = try socket.send([parts[0], WireCodec.encode(replyMessage)], dontWait: true) } catch {
                    logger.debug("control reply not delivered: \(error)")
                }
            }
        }
    }

    /// Answers one request (never throws: every failure becomes a CONTROL_ERROR).
    func respond(to header: [UInt8], peer: PeerIdentity = .plaintext) -> WireMessage {
        let message: WireMessage
        do { message = try WireCodec.decode(header) } catch {
            counters.malformed.add(1)
            return .controlError(ControlError(requestID: 0, code: .malformed, message: "\(error)"))
        }
        // Authorisation, before anything else: a worker key may only read status.
        guard peer.mayControl(message.name) else {
            counters.controlRefused.add(1)
            logger.warning("refused \(message.name) from \(peer.description): not an operator key")
            return .controlError(ControlError(requestID: message.controlRequestID, code: .unauthorized,
                                              message: "\(message.name) needs an operator key; \(peer.description) may only read status"))
        }
        // ZAP admitted the connection at its handshake; the key may have been revoked since.
        if let authenticator = security.authenticator, (try? authenticator.admits([peer]))?.first != true {
            counters.controlRefused.add(1)
            logger.warning("refused \(message.name) from \(peer.description): the key was revoked")
            return .controlError(ControlError(requestID: message.controlRequestID, code: .unauthorized,
                                              message: "\(peer.description) is no longer allow-listed (revoked)"))
        }
        switch message {
        case .submit(let submit):
            let format = OutputFormat(submit.format)
            var request = JobRequest(
                name: submit.jobName.isEmpty ? nil : submit.jobName, captureDirectory: submit.captureDir,
                outputDirectory: submit.outputDir, recipe: submit.recipe, tileSize: Int(submit.tileSize), format: format,
                priority: Int(submit.priority), overwrite: submit.overwrite)
            request.mergeBursts = submit.mergeBursts
            request.burstGap = Double(submit.burstGapMillis) / 1000
            do {
                let (job, frames) = try JobSubmitter.submit(request, store: store)
                logger.info("job submitted", metadata: ["job": "\(job)", "frames": "\(frames)", "capture": "\(submit.captureDir)"])
                onSubmit()
                return .submitted(Submitted(requestID: submit.requestID, jobID: job, frames: UInt32(frames)))
            } catch {
                return .controlError(ControlError(requestID: submit.requestID, code: .invalidRequest, message: WireText.clamped("\(error)")))
            }
        case .status(let request):
            do {
                let jobID = request.jobID
                let summaries = try store.jobSummaries(jobID)
                if let jobID, summaries.isEmpty {
                    return .controlError(ControlError(requestID: request.requestID, code: .unknownJob, message: "no job \(jobID.rawValue)"))
                }
                return .statusReply(StatusReply(requestID: request.requestID, workersConnected: UInt32(workersConnected()),
                                                jobs: summaries.map { JobStatus(summary: $0) }))
            } catch {
                return .controlError(ControlError(requestID: request.requestID, code: .internalError, message: "\(error)"))
            }
        case .jobs, .job, .workers, .events:
            return operators.view(message) { logger.error("control request failed: \($0)") } ?? .controlError(ControlError(
                requestID: 0, code: .internalError, message: "\(message.name) is not a view"))
        case .steer(let request):
            return operators.steer(request)
        default:
            counters.malformed.add(1)
            return .controlError(ControlError(requestID: 0, code: .malformed, message: "\(message.name) is not a control request"))
        }
    }
}

extension WireMessage {
    /// The request id of a control request (0 when the message has none), for error replies.
    fileprivate var controlRequestID: UInt32 {
        switch self {
        case .submit(let m): m.requestID
        case .status(let m): m.requestID
        default: 0
        }
    }
}
