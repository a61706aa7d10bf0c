import CZeroMQ

/// Library-level facts about the linked libzmq.
public enum ZMQ {
    /// The version of the libzmq the process is linked against (4.3.4 on Debian 12).
    public static var version: (major: Int, minor: Int, patch: Int) { LibZMQ.version() }

    /// Whether libzmq supports a capability: a transport (`"ipc"`, `"pgm"`, `"tipc"`, `"norm"`),
    /// a security mechanism (`"curve"`, `"gssapi"`) or `"draft"` (the draft API).
    public static func has(_ capability: String) -> Bool { LibZMQ.has(capability) }
}

/// The kind of a ZeroMQ socket. Only the stable (non-draft) types exist in libzmq 4.3.4.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case router, dealer, req, rep, pub, sub, push, pull, pair

    var cValue: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }

    /// The libzmq name, e.g. `"ROUTER"`.
    public var description: String {
        switch self {
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .req: "REQ"
        case .rep: "REP"
        case .pub: "PUB"
        case .sub: "SUB"
        case .push: "PUSH"
        case .pull: "PULL"
        case .pair: "PAIR"
        }
    }
}

/// A ZeroMQ context: the owner of libzmq's I/O threads and the factory of sockets.
///
/// Threading: a context is thread-safe and may be shared freely (hence `Sendable`); the sockets
/// it makes are not (see ``ZMQSocket``). Every socket keeps its context alive, so the context is
/// terminated (`zmq_ctx_term`) in `deinit` only after all its sockets have been closed and
/// released; because sockets are created with LINGER 0, termination does not wait for unsent
/// messages.
///
/// To stop threads that are blocked in a socket call, call ``shutdown()``: every blocking call
/// on every socket of the context then throws ``ZMQError/terminated``, and further calls do too;
/// the owning threads should then close their sockets.
public final class ZMQContext: @unchecked Sendable {
    // Immutable after init; libzmq contexts are thread-safe.
    let handle: ZMQHandle

    /// Creates a context with `ioThreads` libzmq I/O threads (1 is enough for about 1 GB/s).
    /// Throws ``ZMQError/invalid`` for a negative count, or the error of `zmq_ctx_new`.
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let threads = Int32(exactly: ioThreads), threads >= 0 else {
            throw ZMQError.invalid.with(operation: "zmq_ctx_set", detail: "ZMQ_IO_THREADS=\(ioThreads)")
        }
        handle = try LibZMQ.contextNew(ioThreads: threads)
    }

    /// Creates a socket of the given type with LINGER 0 (pending outgoing messages are dropped
    /// on close). The socket belongs to the calling thread: use and close it there only.
    /// Throws ``ZMQError/terminated`` after ``shutdown()``, ``ZMQError/tooManyOpenFiles`` when
    /// the context's socket limit (1023 by default) is reached.
    public func makeSocket(_ type: ZMQSocketType) throws(ZMQError) -> ZMQSocket {
        let raw = try LibZMQ.socket(handle, type: type.cValue, typeName: type.description)
        return try ZMQSocket(adopting: raw, type: type, context: self)
    }

    /// Shuts the context down (`zmq_ctx_shutdown`): blocking calls on its sockets in any thread
    /// return ``ZMQError/terminated`` and new calls fail the same way. Idempotent, non-blocking,
    /// callable from any thread. Sockets must still be closed by their owning threads.
    public func shutdown() {
        LibZMQ.contextShutdown(handle)
    }

    deinit {
        // All sockets are closed by now (each retains the context). With LINGER 0 this returns
        // promptly; an error here (EFAULT) would mean a corrupted handle, nothing to recover.
        try? LibZMQ.contextTerminate(handle)
    }
}
