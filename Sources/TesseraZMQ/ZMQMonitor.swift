import CZeroMQ

/// Kinds of socket monitor events (`ZMQ_EVENT_*`), as a set for
/// ``ZMQSocket/startMonitor(endpoint:events:)`` and as the single ``ZMQMonitorEvent/kind`` of
/// a received event.
public struct ZMQMonitorEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    /// Creates a set from `ZMQ_EVENT_*` bits.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// A connection to a remote peer was established. Value: the file descriptor.
    public static let connected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECTED)
    /// A connect is pending (asynchronous). Value: errno.
    public static let connectDelayed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECT_DELAYED)
    /// A connect is being retried. Value: the reconnect interval in milliseconds.
    public static let connectRetried = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECT_RETRIED)
    /// The socket is bound and listening. Value: the file descriptor.
    public static let listening = ZMQMonitorEvents(rawValue: ZMQ_EVENT_LISTENING)
    /// A bind failed. Value: errno.
    public static let bindFailed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_BIND_FAILED)
    /// A connection from a peer was accepted. Value: the file descriptor.
    public static let accepted = ZMQMonitorEvents(rawValue: ZMQ_EVENT_ACCEPTED)
    /// Accepting a connection failed. Value: errno.
    public static let acceptFailed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_ACCEPT_FAILED)
    /// A connection's descriptor was closed. Value: the file descriptor.
    public static let closed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CLOSED)
    /// Closing a descriptor failed. Value: errno.
    public static let closeFailed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CLOSE_FAILED)
    /// A session was broken unexpectedly (peer gone, heartbeat timeout). Value: the descriptor.
    public static let disconnected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_DISCONNECTED)
    /// The monitor was stopped; the last event it sends.
    public static let monitorStopped = ZMQMonitorEvents(rawValue: ZMQ_EVENT_MONITOR_STOPPED)
    /// The ZMTP/security handshake failed for an unspecified reason. Value: errno.
    public static let handshakeFailedNoDetail = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    /// The ZMTP/security handshake completed; the connection is usable.
    public static let handshakeSucceeded = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
    /// The handshake failed with a protocol error (e.g. a CURVE box that does not decrypt, as
    /// with a wrong server key). Value: a `ZMQ_PROTOCOL_ERROR_*` code.
    public static let handshakeFailedProtocol = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    /// Authentication was refused (ZAP). Value: the ZAP status code (e.g. 400).
    public static let handshakeFailedAuth = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    /// Every event.
    public static let all = ZMQMonitorEvents(rawValue: ZMQ_EVENT_ALL)

    /// Any handshake failure.
    public static let handshakeFailed: ZMQMonitorEvents = [
        .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth,
    ]

    private static let names: [(ZMQMonitorEvents, String)] = [
        (.connected, "connected"), (.connectDelayed, "connectDelayed"),
        (.connectRetried, "connectRetried"), (.listening, "listening"),
        (.bindFailed, "bindFailed"), (.accepted, "accepted"), (.acceptFailed, "acceptFailed"),
        (.closed, "closed"), (.closeFailed, "closeFailed"), (.disconnected, "disconnected"),
        (.monitorStopped, "monitorStopped"), (.handshakeFailedNoDetail, "handshakeFailedNoDetail"),
        (.handshakeSucceeded, "handshakeSucceeded"),
        (.handshakeFailedProtocol, "handshakeFailedProtocol"),
        (.handshakeFailedAuth, "handshakeFailedAuth"),
    ]

    /// E.g. `"[accepted, handshakeSucceeded]"`.
    public var description: String {
        let known = Self.names.filter { contains($0.0) }.map(\.1)
        let unknown = rawValue & ~Self.names.reduce(0) { $0 | $1.0.rawValue }
        return "[" + (known + (unknown != 0 ? ["0x" + String(unknown, radix: 16)] : [])).joined(separator: ", ") + "]"
    }
}

/// One socket monitor event, decoded from the two-frame message a monitor socket receives
/// (frame 1: 16-bit event id and 32-bit value in host byte order; frame 2: the endpoint).
public struct ZMQMonitorEvent: Sendable, Hashable, CustomStringConvertible {
    /// The event (exactly one bit of ``ZMQMonitorEvents``).
    public let kind: ZMQMonitorEvents
    /// The event's value: a file descriptor, errno, interval or protocol error code (see kind).
    public let value: UInt32
    /// The endpoint the event concerns, e.g. `"tcp://127.0.0.1:41234"`.
    public let endpoint: String

    /// Decodes a message received from a monitor socket; nil if it is not a monitor event.
    public init?(parts: [ZMQMessage]) {
        guard parts.count == 2, parts[0].count == 6 else { return nil }
        let (id, value) = parts[0].withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self),
             raw.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        self.kind = ZMQMonitorEvents(rawValue: Int32(id))
        self.value = value
        self.endpoint = String(decoding: parts[1].bytes, as: UTF8.self)
    }

    /// E.g. `"handshakeSucceeded tcp://127.0.0.1:41234 (0)"`.
    public var description: String {
        "\(kind.description.dropFirst().dropLast()) \(endpoint) (\(value))"
    }
}
