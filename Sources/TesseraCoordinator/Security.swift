import Foundation
import Logging
import Synchronization
import TesseraStore
import TesseraZMQ

/// How the coordinator's sockets are secured (docs/security.md).
///
/// With CURVE (the default) every connection on the task and control sockets is encrypted and
/// its client key must be allow-listed: in the store (`tessera keys allow`) or, for an embedded
/// `tessera run`, in ``ephemeralKeys``. Plaintext exists only when asked for with ``insecure``.
public struct CoordinatorSecurity: Sendable {
    enum Mode: Sendable {
        case insecure
        case curve(CurveKeyPair?)
    }

    let mode: Mode
    /// Keys admitted in addition to the store's allow-list, never written to it (an embedded
    /// run's own worker key).
    public var ephemeralKeys: [KeyRecord] = []

    /// CURVE with this long-term server key pair (its public key is what workers and operators
    /// pass as `--coordinator-key`).
    public static func curve(serverKeys: CurveKeyPair, ephemeralKeys: [KeyRecord] = []) -> CoordinatorSecurity {
        CoordinatorSecurity(mode: .curve(serverKeys), ephemeralKeys: ephemeralKeys)
    }

    /// CURVE with a server key pair generated when the coordinator is created (read it from
    /// ``Coordinator/publicKey``). The default.
    public static let ephemeralCurve = CoordinatorSecurity(mode: .curve(nil))

    /// Plaintext (ZMTP NULL): no encryption, no authentication, every peer is an operator.
    /// Only for trusted networks and tests; the CLI warns loudly.
    public static let insecure = CoordinatorSecurity(mode: .insecure)

    /// Whether connections are plaintext.
    public var isInsecure: Bool {
        if case .insecure = mode { return true }
        return false
    }
}

/// Who sent a message, as the ZAP handler tagged its connection (`User-Id` =
/// `role:KEY:name`, KEY the client's 40-character Z85 public key). The key, not only the name,
/// identifies a session: revoking a key and allowing a new one under the same name ends the old
/// key's open sessions.
struct PeerIdentity: Sendable, Hashable {
    /// nil on a plaintext coordinator (everyone is trusted as an operator).
    var role: KeyRole?
    /// The key's name; "" on a plaintext coordinator.
    var name: String
    /// The client's public key (Z85); "" on a plaintext coordinator.
    var key: String

    static let plaintext = PeerIdentity(role: nil, name: "", key: "")

    /// Length of a Z85 CURVE public key.
    private static let keyLength = 40

    init(role: KeyRole?, name: String, key: String) {
        self.role = role
        self.name = name
        self.key = key
    }

    /// The identity of an allow-listed (or ephemeral) key.
    init(_ record: KeyRecord) {
        self.init(role: record.role, name: record.name, key: record.publicKey)
    }

    /// A `User-Id` that is present but not ours. Fails closed: a worker role with no key, which
    /// the allow-list never admits (``Authenticator/admits(_:)``), so such a peer gets no task
    /// and no control request. Our ZAP handler never produces one.
    private static let unrecognized = PeerIdentity(role: .worker, name: "(unrecognized User-Id)", key: "")

    /// Parses a `User-Id`. nil or empty means a plaintext connection (only a plaintext
    /// coordinator has no User-Id); anything else that is not `role:KEY:name` is
    /// ``unrecognized`` — never mistaken for a trusted plaintext peer.
    init(userID: String?) {
        guard let userID, !userID.isEmpty else {
            self = .plaintext
            return
        }
        guard let colon = userID.firstIndex(of: ":"), let role = KeyRole(rawValue: String(userID[..<colon])) else {
            self = .unrecognized
            return
        }
        // The key is exactly 40 characters (Z85 includes ':', so it is not split on colons).
        let rest = userID[userID.index(after: colon)...]
        guard rest.count > Self.keyLength, rest[rest.index(rest.startIndex, offsetBy: Self.keyLength)] == ":" else {
            self = .unrecognized
            return
        }
        let keyEnd = rest.index(rest.startIndex, offsetBy: Self.keyLength)
        self.init(role: role, name: String(rest[rest.index(after: keyEnd)...]), key: String(rest[..<keyEnd]))
    }

    var userID: String { role.map { "\($0.rawValue):\(key):\(name)" } ?? "" }

    /// Whether this peer may make `request` on the control socket: operators (and plaintext
    /// peers) may do anything; workers may only read status.
    func mayControl(_ request: String) -> Bool {
        switch role {
        case nil, .operator?: true
        case .worker?: request == "STATUS"
        }
    }

    var description: String { role.map { "\($0.rawValue) key '\(name)'" } ?? "plaintext peer" }
}

/// The ZAP policy: which key may open which socket. Admits a key when it is live in the store
/// (or ephemeral) with the role the socket needs and not suspended; logs and counts every
/// refusal. Thread-safe.
final class Authenticator: Sendable {
    static let taskDomain = "tessera.tasks"
    static let controlDomain = "tessera.control"

    private let store: TesseraStore
    private let ephemeral: [String: KeyRecord]
    private let counters: DispatchCounters
    private let logger: Logger
    /// Keys suspended after sending garbage, until the instant given.
    private let suspended = Mutex<[String: ContinuousClock.Instant]>([:])
    /// Refusals are all counted but only some logged: a peer handshaking in a loop must not
    /// turn the coordinator's log into the bottleneck (or fill its disk).
    private let refusalLog = RateLimitedLog(what: "refused connections")

    init(store: TesseraStore, ephemeralKeys: [KeyRecord], counters: DispatchCounters, logger: Logger) {
        self.store = store
        self.ephemeral = Dictionary(ephemeralKeys.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        self.counters = counters
        self.logger = logger
    }

    /// Refuses new handshakes of `peer`'s key for `duration` (a peer disconnected for sending
    /// garbage must not simply reconnect). Plaintext peers have no key to suspend.
    func suspend(_ peer: PeerIdentity, for duration: Duration) {
        guard peer.role != nil, !peer.key.isEmpty else { return }
        suspended.withLock { $0[peer.key] = .now + duration }
    }

    /// For each of `identities`, whether its key still admits it: live in the store (not revoked
    /// since the handshake) or ephemeral; plaintext identities always are. ZAP only runs at a
    /// handshake, so a session opened before its key was revoked is ended by whoever asks this
    /// (the dispatcher once per heartbeat, the control socket per request). One read of the
    /// allow-list for the whole batch.
    func admits(_ identities: [PeerIdentity]) throws(StoreError) -> [Bool] {
        guard identities.contains(where: { $0.role != nil }) else { return identities.map { _ in true } }
        var live = Set(ephemeral.values.map(PeerIdentity.init))
        for record in try store.keys() where record.revokedAt == nil {
            live.insert(PeerIdentity(record))
        }
        return identities.map { $0.role == nil || live.contains($0) }
    }

    func decide(_ request: ZAPRequest) -> ZAPDecision {
        let decision = evaluate(request)
        if case .deny(let reason) = decision {
            counters.authRefused.add(1)
            refusalLog.log(to: logger) {
                ("refused a connection", [
                    "peer": "\(request.address)", "socket": "\(request.domain)", "key": "\(request.clientKey ?? "-")", "reason": "\(reason)",
                ])
            }
        }
        return decision
    }

    private func evaluate(_ request: ZAPRequest) -> ZAPDecision {
        guard request.mechanism == "CURVE", let key = request.clientKey else {
            return .deny(reason: "\(request.mechanism) connections are not accepted (CURVE required)")
        }
        let record: KeyRecord?
        if let known = ephemeral[key] {
            record = known
        } else {
            do { record = try store.liveKey(key) } catch {
                return .deny(reason: "key store unavailable: \(error)")
            }
        }
        guard let record else { return .deny(reason: "key is not allow-listed or was revoked") }
        if let until = suspended.withLock({ $0[key] }), until > .now {
            return .deny(reason: "key '\(record.name)' is suspended after sending malformed messages")
        }
        switch (request.domain, record.role) {
        case (Self.taskDomain, .worker), (Self.controlDomain, _):
            return .allow(userID: PeerIdentity(role: record.role, name: record.name, key: key).userID)
        case (Self.taskDomain, .operator):
            return .deny(reason: "operator key '\(record.name)' cannot take tasks")
        default:
            return .deny(reason: "unknown ZAP domain '\(request.domain)'")
        }
    }
}

/// Counts and logs the handshakes a server socket rejects before ZAP is even asked (plaintext
/// clients on a CURVE socket, a wrong server key, garbage instead of ZMTP). Runs a thread
/// reading the socket's monitor; it ends when the context shuts down.
enum HandshakeMonitor {
    private static let sequence = Atomic<Int>(0)

    /// Starts monitoring `socket` (call on the socket's thread, before or after bind).
    static func attach(to socket: ZMQSocket, name: String, counters: DispatchCounters, logger: Logger) {
        let endpoint = "inproc://tessera-handshake-\(name)-\(getpid())-\(sequence.wrappingAdd(1, ordering: .relaxed).newValue)"
        do {
            try socket.startMonitor(endpoint: endpoint, events: [.handshakeFailedNoDetail, .handshakeFailedProtocol])
        } catch {
            logger.warning("cannot monitor handshakes on the \(name) socket: \(error)")
            return
        }
        let context = socket.context
        let failureLog = RateLimitedLog(what: "failed handshakes on the \(name) socket")
        let thread = Thread {
            guard let monitor = try? context.makeSocket(.pair) else { return }
            defer { monitor.close() }
            guard (try? monitor.connect(endpoint)) != nil else { return }
            while true {
                guard let parts = try? monitor.receiveMultipart(), let event = ZMQMonitorEvent(parts: parts) else { return }
                if event.kind == .monitorStopped { return }
                counters.handshakeFailures.add(1)
                failureLog.log(to: logger) { ("handshake failed on the \(name) socket", ["event": "\(event)"]) }
            }
        }
        thread.name = "tessera-handshake-\(name)"
        thread.start()
    }
}

/// The resolved security of the coordinator's server sockets (shared by the task and control
/// sockets): the CURVE key pair, nil when plaintext, and the policy that suspends keys.
struct ServerSecurity: Sendable {
    var keys: CurveKeyPair?
    var authenticator: Authenticator?

    static let plaintext = ServerSecurity(keys: nil, authenticator: nil)

    /// Configures a bound (server) socket for the ZAP `domain`; call before bind.
    func apply(to socket: ZMQSocket, domain: String) throws(ZMQError) {
        guard let keys else { return }
        try socket.applyCurveServer(secretKey: keys.secretKey, zapDomain: domain)
    }
}

/// Logs at most `burst` warnings per `window` and then one line saying how many more were
/// suppressed (at the first event of the next window). The caller still counts every event.
/// Thread-safe.
final class RateLimitedLog: Sendable {
    private struct State {
        var windowStart: ContinuousClock.Instant = .now
        var logged = 0
        var suppressed = 0
    }

    private let what: String
    private let burst: Int
    private let window: Duration
    private let state = Mutex(State())

    /// `what` names the events in the summary line, e.g. "refused connections".
    init(what: String, burst: Int = 10, window: Duration = .seconds(10)) {
        self.what = what
        self.burst = burst
        self.window = window
    }

    /// Logs the warning `message()` builds, unless this window's burst is spent (then it is
    /// only counted, and the message is never built).
    func log(to logger: Logger, _ message: () -> (String, Logger.Metadata)) {
        let (allowed, suppressedBefore) = state.withLock { s -> (Bool, Int) in
            let now = ContinuousClock.now
            var suppressed = 0
            if now - s.windowStart >= window {
                suppressed = s.suppressed
                s = State(windowStart: now, logged: 0, suppressed: 0)
            }
            guard s.logged < burst else {
                s.suppressed += 1
                return (false, suppressed)
            }
            s.logged += 1
            return (true, suppressed)
        }
        if suppressedBefore > 0 {
            logger.warning("\(suppressedBefore) more \(what) in the last \(window) were not logged (all are counted)")
        }
        if allowed {
            let (text, metadata) = message()
            logger.warning("\(text)", metadata: metadata)
        }
    }
}
