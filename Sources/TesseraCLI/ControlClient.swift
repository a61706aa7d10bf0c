import Foundation
import TesseraWire
import TesseraZMQ

/// A short-lived connection to a coordinator's control socket: one request, one reply.
struct ControlClient {
    let endpoint: String
    let timeoutMillis: Int
    var security: ClientSecurity = .plaintext

    /// Errors an operator sees; each says which endpoint was involved and what to do.
    enum Failure: Error, CustomStringConvertible {
        case unreachable(endpoint: String, seconds: Double)
        case transport(endpoint: String, message: String)
        case rejected(String)
        case unexpectedReply(String)
        case handshakeFailed(endpoint: String, event: ZMQMonitorEvents, plaintext: Bool)
        /// The coordinator answered with CONTROL_ERROR `code` (kept for exit codes).
        case refused(code: WireStatus, message: String)

        var description: String {
            switch self {
            case .unreachable(let endpoint, let seconds):
                "no answer from a coordinator at \(endpoint) within \(seconds) s — is one running? "
                    + "Start one with `tessera coordinator --control \(endpoint)` or pass --coordinator ENDPOINT."
            case .transport(let endpoint, let message): "cannot talk to \(endpoint): \(message)"
            case .rejected(let message): "coordinator refused: \(message)"
            case .unexpectedReply(let name): "coordinator sent an unexpected \(name)"
            case .handshakeFailed(let endpoint, let event, let plaintext):
                event == .handshakeFailedAuth
                    ? "the coordinator at \(endpoint) refused this key (not allow-listed or revoked): ask its operator to run `tessera keys allow NAME KEY.pub --role operator`"
                    : plaintext
                        ? "the coordinator at \(endpoint) requires CURVE: pass --key FILE and --coordinator-key KEY"
                        : "CURVE handshake with \(endpoint) failed: check --coordinator-key (the coordinator's public key) \(event)"
            case .refused(_, let message): "coordinator refused: \(message)"
            }
        }
    }

    /// Sends `request` and waits for the reply carrying the same request id.
    func call(_ request: WireMessage, requestID: UInt32, keepCodes: Bool = false) throws(Failure) -> WireMessage {
        do {
            let context = try ZMQContext(ioThreads: 1)
            defer { context.shutdown() }
            let socket = try context.makeSocket(.dealer)
            defer { socket.close() }
            try socket.applyClientSecurity(security)
            let monitorEndpoint = "inproc://tessera-control-handshake"
            try socket.startMonitor(endpoint: monitorEndpoint, events: .handshakeFailed)
            let monitor = try context.makeSocket(.pair)
            defer { monitor.close() }
            try monitor.connect(monitorEndpoint)
            try socket.connect(endpoint)
            _ = try socket.send([WireCodec.encode(request)])
            var poller = ZMQPoller()
            _ = poller.add(socket)
            _ = poller.add(monitor)
            let deadline = ContinuousClock.now + .milliseconds(timeoutMillis)
            while ContinuousClock.now < deadline {
                let remaining = deadline - ContinuousClock.now
                let millis = Int(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
                let ready = try poller.poll(timeoutMilliseconds: max(1, millis))
                if ready.isReadable(1), let parts = try monitor.receiveMultipart(dontWait: true), let event = ZMQMonitorEvent(parts: parts),
                   event.kind == .handshakeFailedAuth || event.kind == .handshakeFailedProtocol {
                    throw Failure.handshakeFailed(endpoint: endpoint, event: event.kind, plaintext: security == .plaintext)
                }
                guard ready.isReadable(0) else { continue }
                while let parts = try socket.receiveMultipart(dontWait: true) {
                    guard let header = parts.first else { continue }
                    let reply = try WireCodec.decode(header.bytes)
                    switch reply {
                    case .controlError(let error) where error.requestID == requestID || error.requestID == 0:
                        throw keepCodes ? Failure.refused(code: error.code, message: error.message) : Failure.rejected(error.message)
                    case .submitted(let m) where m.requestID == requestID: return reply
                    case .statusReply(let m) where m.requestID == requestID: return reply
                    case _ where reply.operatorRequestID == requestID: return reply
                    default: continue
                    }
                }
            }
            throw Failure.unreachable(endpoint: endpoint, seconds: Double(timeoutMillis) / 1000)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .transport(endpoint: endpoint, message: "\(error)")
        }
    }

    static func newRequestID() -> UInt32 { UInt32.random(in: 1...UInt32.max) }

    /// Sends an operator request and returns its reply; a CONTROL_ERROR becomes `.refused` with
    /// its code (so commands can choose exit codes).
    func ask(_ build: (UInt32) -> WireMessage) throws(Failure) -> WireMessage {
        let requestID = Self.newRequestID()
        do {
            return try call(build(requestID), requestID: requestID, keepCodes: true)
        }
    }
}

extension WireMessage {
    /// The request id of an operator reply (JOBS_REPLY … STEERED), nil for other messages.
    var operatorRequestID: UInt32? {
        switch self {
        case .jobsReply(let m): m.requestID
        case .jobReply(let m): m.requestID
        case .workersReply(let m): m.requestID
        case .eventsReply(let m): m.requestID
        case .steered(let m): m.requestID
        default: nil
        }
    }
}

import ArgumentParser

/// Options shared by commands that talk to a running coordinator.
struct RemoteOptions: ParsableArguments {
    @Option(help: "The coordinator's control endpoint.")
    var coordinator: String = "tcp://127.0.0.1:7011"

    @Option(help: "Seconds to wait for the coordinator's answer.")
    var timeout: Double = 10

    @OptionGroup var keys: ClientKeyOptions

    var client: ControlClient {
        get throws { ControlClient(endpoint: coordinator, timeoutMillis: Int(timeout * 1000), security: try keys.security()) }
    }
}
