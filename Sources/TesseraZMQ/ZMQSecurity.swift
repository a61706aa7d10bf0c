import Foundation
import Synchronization

// CURVE sockets, ZAP (ZeroMQ RFC 27) and what a received message says about its peer.

/// A long-term CURVE key pair, each key 40 Z85 characters. Value type; `Sendable`.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key: give it to peers.
    public let publicKey: String
    /// The secret key: never leaves the machine that owns it.
    public let secretKey: String

    /// A fresh key pair (`zmq_curve_keypair`). Throws ``ZMQError/notSupported`` without CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        let pair = try ZMQCurve.generateKeyPair()
        return CurveKeyPair(publicKey: pair.publicKey, secretKey: pair.secretKey)
    }

    /// The pair of a secret key, its public key derived (so a key file cannot pair a secret key
    /// with someone else's public key). Throws ``ZMQError/invalid`` for a malformed key.
    public init(secretKey: String) throws(ZMQError) {
        publicKey = try ZMQCurve.publicKey(forSecretKey: secretKey)
        self.secretKey = secretKey
    }

    private init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Whether `text` is a well-formed Z85 CURVE key (40 characters decoding to 32 bytes).
    public static func isValidKey(_ text: String) -> Bool {
        text.utf8.count == 40 && (try? ZMQCurve.z85Decode(text))?.count == 32
    }
}

/// How a connecting (client) socket secures its connection.
public enum ClientSecurity: Sendable, Equatable {
    /// ZMTP NULL: no encryption, no authentication. Only a server started insecure accepts it.
    case plaintext
    /// CURVE: this client's key pair and the server's public key (40 Z85 characters).
    case curve(keys: CurveKeyPair, serverKey: String)
}

extension ZMQSocket {
    /// Configures a connecting socket for `security`; call before `connect`.
    public func applyClientSecurity(_ security: ClientSecurity) throws(ZMQError) {
        guard case .curve(let keys, let serverKey) = security else { return }
        try set(.curvePublicKey, keys.publicKey)
        try set(.curveSecretKey, keys.secretKey)
        try set(.curveServerKey, serverKey)
    }

    /// Makes this socket a CURVE server with `secretKey`, authenticating each client through the
    /// ZAP handler of its context with `zapDomain`; call before `bind`. Start the
    /// ``ZAPHandler`` first: without one, libzmq 4.3 admits every CURVE client.
    public func applyCurveServer(secretKey: String, zapDomain: String) throws(ZMQError) {
        try set(.curveServer, true)
        try set(.curveSecretKey, secretKey)
        try set(.zapDomain, zapDomain)
    }
}

extension ZMQMessage {
    /// A metadata property of a received message: `"User-Id"` (what the ZAP handler returned
    /// for the connection), `"Peer-Address"` (the peer's IP address), `"Socket-Type"`, … ;
    /// nil when absent.
    public func property(_ name: String) -> String? { LibZMQ.messageProperty(storage, name) }

    /// The file descriptor of the connection this message was received on (nil for inproc and
    /// locally built messages). Only for ``ZMQConnection/shutDown(descriptor:)``.
    public var sourceDescriptor: Int32? { LibZMQ.messageSourceDescriptor(storage) }
}

/// Forcible disconnection of one peer of a bound socket (libzmq 4.3 has no stable API for it).
public enum ZMQConnection {
    /// Shuts down the connection behind `descriptor` (from ``ZMQMessage/sourceDescriptor`` of a
    /// message just received): libzmq's I/O thread sees the peer gone and closes it. Call on the
    /// socket's thread right after receiving, so the descriptor is still that connection's.
    /// Returns false if the descriptor was already gone.
    @discardableResult
    public static func shutDown(descriptor: Int32) -> Bool { LibZMQ.shutdownConnection(descriptor) }
}

/// One ZAP authentication request (RFC 27), as libzmq sends it to the handler.
public struct ZAPRequest: Sendable {
    /// The ZAP domain of the server socket (``ZMQSocketOption/zapDomain``).
    public let domain: String
    /// The peer's IP address.
    public let address: String
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    public let mechanism: String
    /// For CURVE: the client's long-term public key, 40 Z85 characters; nil otherwise.
    public let clientKey: String?
}

/// The handler's answer to a ``ZAPRequest``.
public enum ZAPDecision: Sendable, Equatable {
    /// Admit the peer; `userID` is attached to every message from it (`"User-Id"`).
    case allow(userID: String)
    /// Refuse the handshake (ZAP status 400) with a reason for logs.
    case deny(reason: String)
}

/// A ZAP handler: a REP socket at `inproc://zeromq.zap.01` on its own thread, answering every
/// authentication request of its context's CURVE server sockets with `authenticate`.
///
/// Start it before binding any server socket that relies on it. `authenticate` runs on the
/// handler's thread, one request at a time; keep it short (a store lookup is fine). Requests
/// the handler cannot parse are refused (status 400).
public final class ZAPHandler: Sendable {
    /// The inproc endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let context: ZMQContext
    private let authenticate: @Sendable (ZAPRequest) -> ZAPDecision
    private let wakeup: PollWakeup
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let startError = Mutex<ZMQError?>(nil)
    private let running = Atomic<Bool>(false)

    /// Creates a handler for `context`; nothing runs until ``start()``.
    public init(context: ZMQContext, authenticate: @escaping @Sendable (ZAPRequest) -> ZAPDecision) throws(ZMQError) {
        self.context = context
        self.authenticate = authenticate
        wakeup = try PollWakeup()
    }

    /// Binds the ZAP endpoint on a new thread ("tessera-zap") and returns once it is bound.
    /// Throws ``ZMQError/addressInUse`` if the context already has a ZAP handler.
    public func start() throws(ZMQError) {
        let thread = Thread { [self] in
            self.threadMain()
            self.finished.signal()
        }
        thread.name = "tessera-zap"
        thread.start()
        ready.wait()
        if let error = startError.withLock({ $0 }) { throw error }
        running.store(true, ordering: .relaxed)
    }

    /// Stops the thread and waits for it. Idempotent.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wakeup.signal()
        finished.wait()
    }

    private func threadMain() {
        let socket: ZMQSocket
        do {
            socket = try context.makeSocket(.rep)
            try socket.bind(Self.endpoint)
        } catch {
            startError.withLock { $0 = error }
            ready.signal()
            return
        }
        ready.signal()
        defer { socket.close() }
        var poller = ZMQPoller()
        _ = poller.add(socket)
        _ = poller.add(fileDescriptor: wakeup.fileDescriptor)
        while true {
            guard let items = try? poller.poll(timeoutMilliseconds: -1) else { return }
            if items.isReadable(1) { return }
            guard items.isReadable(0) else { continue }
            guard let frames = try? socket.receiveMultipartBytes(dontWait: true) else { continue }
            let reply = Self.answer(frames, authenticate)
            guard (try? socket.send(reply)) != nil else { return }
        }
    }

    /// The reply frames for one request (RFC 27 §3): version, request id, status code, status
    /// text, user id, metadata.
    static func answer(_ frames: [[UInt8]], _ authenticate: (ZAPRequest) -> ZAPDecision) -> [[UInt8]] {
        let version = Array("1.0".utf8)
        guard frames.count >= 6, frames[0] == version else {
            return [version, frames.count > 1 ? frames[1] : [], Array("400".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        func text(_ index: Int) -> String { String(decoding: frames[index], as: UTF8.self) }
        let mechanism = text(5)
        var clientKey: String?
        if mechanism == "CURVE" {
            guard frames.count >= 7, frames[6].count == 32, let key = try? ZMQCurve.z85Encode(frames[6]) else {
                return [version, frames[1], Array("400".utf8), Array("malformed CURVE credentials".utf8), [], []]
            }
            clientKey = key
        }
        let request = ZAPRequest(domain: text(2), address: text(3), mechanism: mechanism, clientKey: clientKey)
        switch authenticate(request) {
        case .allow(let userID):
            return [version, frames[1], Array("200".utf8), Array("OK".utf8), Array(userID.utf8), []]
        case .deny(let reason):
            return [version, frames[1], Array("400".utf8), Array(reason.utf8), [], []]
        }
    }
}
