import CZeroMQ

/// An error reported by libzmq (or by the few system calls TesseraZMQ makes), identified by its
/// errno value.
///
/// Modelled on swift-system's `Errno`: a `RawRepresentable` struct with static members, so it can
/// be pattern-matched (`catch .again`, `catch .hostUnreachable`, `case .terminated`).
/// Equality and hashing look at ``rawValue`` only; ``operation``, ``endpoint`` and ``detail`` are
/// context for humans (they appear in ``description``), not part of the identity.
public struct ZMQError: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The errno value (a POSIX errno, or one of libzmq's own codes such as `ETERM`).
    public let rawValue: Int32
    /// The libzmq function or operation that failed, e.g. `"zmq_connect"`; nil when unknown.
    public let operation: String?
    /// The endpoint involved, e.g. `"tcp://127.0.0.1:5555"`; nil when unknown or not applicable.
    public let endpoint: String?
    /// Extra context, e.g. the routing id of an unreachable peer or the option being set.
    public let detail: String?

    /// Creates an error from an errno value without context.
    public init(rawValue: Int32) {
        self.init(rawValue, operation: nil, endpoint: nil, detail: nil)
    }

    /// Creates an error from an errno value with context naming the operation, endpoint and detail.
    public init(_ code: Int32, operation: String?, endpoint: String? = nil, detail: String? = nil) {
        self.rawValue = code
        self.operation = operation
        self.endpoint = endpoint
        self.detail = detail
    }

    /// Returns a copy carrying the given context, keeping any context already present.
    func with(operation: String? = nil, endpoint: String? = nil, detail: String? = nil) -> ZMQError {
        ZMQError(
            rawValue, operation: self.operation ?? operation, endpoint: self.endpoint ?? endpoint,
            detail: self.detail ?? detail)
    }

    /// libzmq's message for this code (`zmq_strerror`, which falls back to `strerror`).
    public var message: String { LibZMQ.strerror(rawValue) }

    /// `"<operation> <endpoint>: <message> (errno N; detail)"`.
    public var description: String {
        var text = ""
        if let operation { text += operation }
        if let endpoint { text += text.isEmpty ? endpoint : " \(endpoint)" }
        if !text.isEmpty { text += ": " }
        text += message
        text += " (errno \(rawValue)"
        if let detail { text += "; \(detail)" }
        text += ")"
        return text
    }

    public static func == (lhs: ZMQError, rhs: ZMQError) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// `EAGAIN`: a non-blocking call would block, or a send/receive timeout expired.
    public static var again: ZMQError { ZMQError(rawValue: EAGAIN) }
    /// `EINTR`: interrupted by a signal (TesseraZMQ retries these itself; you should not see it).
    public static var interrupted: ZMQError { ZMQError(rawValue: EINTR) }
    /// `EINVAL`: an invalid argument, option, option value or endpoint.
    public static var invalid: ZMQError { ZMQError(rawValue: EINVAL) }
    /// `EFAULT`: an invalid socket or message pointer.
    public static var fault: ZMQError { ZMQError(rawValue: EFAULT) }
    /// `ENOMEM`: out of memory.
    public static var outOfMemory: ZMQError { ZMQError(rawValue: ENOMEM) }
    /// `EMFILE`: the process or context has too many open sockets or file descriptors.
    public static var tooManyOpenFiles: ZMQError { ZMQError(rawValue: EMFILE) }
    /// `ENOENT`: no such file (e.g. an `ipc://` directory that does not exist).
    public static var noSuchFile: ZMQError { ZMQError(rawValue: ENOENT) }
    /// `ENODEV`: no such network interface (bind to an unknown interface name).
    public static var noDevice: ZMQError { ZMQError(rawValue: ENODEV) }
    /// `EHOSTUNREACH`: a ROUTER with `routerMandatory` was asked to send to an unknown peer.
    public static var hostUnreachable: ZMQError { ZMQError(rawValue: EHOSTUNREACH) }
    /// `EADDRINUSE`: the endpoint is already bound.
    public static var addressInUse: ZMQError { ZMQError(rawValue: EADDRINUSE) }
    /// `EADDRNOTAVAIL`: the requested address is not local.
    public static var addressNotAvailable: ZMQError { ZMQError(rawValue: EADDRNOTAVAIL) }
    /// `ECONNREFUSED`: the connection was refused.
    public static var connectionRefused: ZMQError { ZMQError(rawValue: ECONNREFUSED) }
    /// `EPROTONOSUPPORT`: the endpoint's transport is not supported.
    public static var protocolNotSupported: ZMQError { ZMQError(rawValue: EPROTONOSUPPORT) }
    /// `ENOTSUP`: the operation is not supported by this socket type.
    public static var notSupported: ZMQError { ZMQError(rawValue: ENOTSUP) }
    /// `ENOTSOCK`: the socket was closed or is invalid.
    public static var notSocket: ZMQError { ZMQError(rawValue: ENOTSOCK) }
    /// `EMSGSIZE`: a message is too large.
    public static var messageTooLarge: ZMQError { ZMQError(rawValue: EMSGSIZE) }
    /// `EFSM`: the operation is not valid in the socket's current state (e.g. REQ sending twice).
    public static var wrongState: ZMQError { ZMQError(rawValue: EFSM) }
    /// `ENOCOMPATPROTO`: the transport is not compatible with the socket type.
    public static var incompatibleProtocol: ZMQError { ZMQError(rawValue: ENOCOMPATPROTO) }
    /// `ETERM`: the context was shut down or terminated; close the socket.
    public static var terminated: ZMQError { ZMQError(rawValue: ETERM) }
    /// `EMTHREAD`: no I/O thread is available.
    public static var noIOThread: ZMQError { ZMQError(rawValue: EMTHREAD) }
}
