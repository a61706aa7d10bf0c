import CZeroMQ

/// A readable and writable socket option whose value has type `Value`
/// (`Int32`, `Int64`, `Bool`, `[UInt8]` or `String`).
///
/// Use with `ZMQSocket.set(_:_:)` and `ZMQSocket.get(_:)`:
/// `try socket.set(.receiveTimeout, 250)`, `let hwm = try socket.get(.sendHighWaterMark)`.
/// Durations are in milliseconds, as in libzmq; `-1` means "infinite" or "off" where libzmq says so.
public struct ZMQSocketOption<Value>: Sendable, CustomStringConvertible {
    /// The libzmq option number (`ZMQ_*`).
    public let code: Int32
    /// The libzmq option name, e.g. `"ZMQ_LINGER"`.
    public let name: String

    init(_ code: Int32, _ name: String) {
        self.code = code
        self.name = name
    }

    public var description: String { name }
}

/// A socket option that libzmq 4.3.4 accepts in `zmq_setsockopt` but cannot read back.
public struct ZMQWriteOnlySocketOption<Value>: Sendable, CustomStringConvertible {
    /// The libzmq option number (`ZMQ_*`).
    public let code: Int32
    /// The libzmq option name, e.g. `"ZMQ_ROUTER_MANDATORY"`.
    public let name: String

    init(_ code: Int32, _ name: String) {
        self.code = code
        self.name = name
    }

    public var description: String { name }
}

extension ZMQSocketOption where Value == Int32 {
    /// `ZMQ_LINGER`, milliseconds pending messages are kept after close; -1 forever. TesseraZMQ
    /// creates every socket with 0.
    public static var linger: Self { .init(ZMQ_LINGER, "ZMQ_LINGER") }
    /// `ZMQ_SNDHWM`, the maximum number of queued outgoing messages per peer; 0 = unlimited.
    public static var sendHighWaterMark: Self { .init(ZMQ_SNDHWM, "ZMQ_SNDHWM") }
    /// `ZMQ_RCVHWM`, the maximum number of queued incoming messages per peer; 0 = unlimited.
    public static var receiveHighWaterMark: Self { .init(ZMQ_RCVHWM, "ZMQ_RCVHWM") }
    /// `ZMQ_RECONNECT_IVL`, milliseconds before reconnecting; -1 = never reconnect.
    public static var reconnectInterval: Self { .init(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL") }
    /// `ZMQ_RECONNECT_IVL_MAX`, upper bound of the exponential reconnect back-off in
    /// milliseconds; 0 = no back-off (always ``reconnectInterval``).
    public static var reconnectIntervalMax: Self { .init(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX") }
    /// `ZMQ_HEARTBEAT_IVL`, milliseconds between ZMTP PING frames; 0 = no heartbeats.
    public static var heartbeatInterval: Self { .init(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL") }
    /// `ZMQ_HEARTBEAT_TIMEOUT`, milliseconds without traffic after a PING before the connection
    /// is dropped; -1 = use ``heartbeatInterval``.
    public static var heartbeatTimeout: Self { .init(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT") }
    /// `ZMQ_HEARTBEAT_TTL`, milliseconds the remote peer should wait for traffic before dropping
    /// the connection; libzmq stores it in tenths of a second (values below 100 read back as 0).
    public static var heartbeatTTL: Self { .init(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL") }
    /// `ZMQ_SNDTIMEO`, milliseconds a blocking send waits before giving up (send returns false);
    /// -1 = forever.
    public static var sendTimeout: Self { .init(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO") }
    /// `ZMQ_RCVTIMEO`, milliseconds a blocking receive waits before giving up (receive returns
    /// nil); -1 = forever.
    public static var receiveTimeout: Self { .init(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO") }
    /// `ZMQ_TCP_KEEPALIVE`: -1 = system default, 0 = off, 1 = on.
    public static var tcpKeepalive: Self { .init(ZMQ_TCP_KEEPALIVE, "ZMQ_TCP_KEEPALIVE") }
    /// `ZMQ_TCP_KEEPALIVE_IDLE`, seconds of idleness before keepalive probes; -1 = system default.
    public static var tcpKeepaliveIdle: Self { .init(ZMQ_TCP_KEEPALIVE_IDLE, "ZMQ_TCP_KEEPALIVE_IDLE") }
    /// `ZMQ_TCP_KEEPALIVE_INTVL`, seconds between keepalive probes; -1 = system default.
    public static var tcpKeepaliveInterval: Self { .init(ZMQ_TCP_KEEPALIVE_INTVL, "ZMQ_TCP_KEEPALIVE_INTVL") }
    /// `ZMQ_TCP_KEEPALIVE_CNT`, unanswered probes before the connection is dropped; -1 = default.
    public static var tcpKeepaliveCount: Self { .init(ZMQ_TCP_KEEPALIVE_CNT, "ZMQ_TCP_KEEPALIVE_CNT") }
    /// `ZMQ_HANDSHAKE_IVL`, milliseconds allowed for the ZMTP (and CURVE) handshake; 0 = no limit.
    public static var handshakeInterval: Self { .init(ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL") }
    /// `ZMQ_CONNECT_TIMEOUT`, milliseconds a TCP connect may take; 0 = system default.
    public static var connectTimeout: Self { .init(ZMQ_CONNECT_TIMEOUT, "ZMQ_CONNECT_TIMEOUT") }
    /// `ZMQ_SNDBUF`, kernel send buffer size in bytes; -1 = system default.
    public static var sendBufferSize: Self { .init(ZMQ_SNDBUF, "ZMQ_SNDBUF") }
    /// `ZMQ_RCVBUF`, kernel receive buffer size in bytes; -1 = system default.
    public static var receiveBufferSize: Self { .init(ZMQ_RCVBUF, "ZMQ_RCVBUF") }
}

extension ZMQSocketOption where Value == Int64 {
    /// `ZMQ_MAXMSGSIZE`, the largest inbound message in bytes; larger ones drop the connection.
    /// -1 = no limit.
    public static var maxMessageSize: Self { .init(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE") }
}

extension ZMQSocketOption where Value == Bool {
    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections (a DEALER then does not
    /// queue into half-open connections).
    public static var immediate: Self { .init(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE") }
    /// `ZMQ_CURVE_SERVER`: act as the CURVE server (needs ``curveSecretKey``).
    public static var curveServer: Self { .init(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER") }
    /// `ZMQ_IPV6`: allow IPv6 addresses for tcp endpoints.
    public static var ipv6: Self { .init(ZMQ_IPV6, "ZMQ_IPV6") }
}

extension ZMQSocketOption where Value == [UInt8] {
    /// `ZMQ_ROUTING_ID`, the identity a DEALER/REQ presents to a ROUTER: 1 to 255 bytes, the
    /// first of which must not be 0. Set it before connecting.
    public static var routingID: Self { .init(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID") }
}

extension ZMQSocketOption where Value == String {
    /// `ZMQ_CURVE_PUBLICKEY`, this socket's long-term public key as 40 Z85 characters.
    public static var curvePublicKey: Self { .init(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY") }
    /// `ZMQ_CURVE_SECRETKEY`, this socket's long-term secret key as 40 Z85 characters.
    public static var curveSecretKey: Self { .init(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY") }
    /// `ZMQ_CURVE_SERVERKEY`, the server's public key (client side) as 40 Z85 characters.
    public static var curveServerKey: Self { .init(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY") }
    /// `ZMQ_ZAP_DOMAIN`, the ZAP authentication domain.
    public static var zapDomain: Self { .init(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN") }
}

extension ZMQWriteOnlySocketOption where Value == Bool {
    /// `ZMQ_ROUTER_MANDATORY`: a ROUTER sending to an unknown routing id fails with
    /// ``ZMQError/hostUnreachable`` (instead of silently dropping), and with EAGAIN (send
    /// returns false) when the peer's queue is full.
    public static var routerMandatory: Self { .init(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY") }
    /// `ZMQ_ROUTER_HANDOVER`: a new connection presenting a routing id already in use takes it
    /// over (instead of being refused) — needed when workers reconnect with a fixed id.
    public static var routerHandover: Self { .init(ZMQ_ROUTER_HANDOVER, "ZMQ_ROUTER_HANDOVER") }
    /// `ZMQ_PROBE_ROUTER`: on connect, send an empty message so that a ROUTER peer learns this
    /// socket's routing id before it sends anything.
    public static var probeRouter: Self { .init(ZMQ_PROBE_ROUTER, "ZMQ_PROBE_ROUTER") }
}

extension ZMQWriteOnlySocketOption where Value == [UInt8] {
    /// `ZMQ_SUBSCRIBE` (SUB): receive messages starting with this prefix; empty = everything.
    public static var subscribe: Self { .init(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE") }
    /// `ZMQ_UNSUBSCRIBE` (SUB): remove one earlier subscription to this prefix.
    public static var unsubscribe: Self { .init(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE") }
    /// `ZMQ_CONNECT_ROUTING_ID` (ROUTER): the routing id to give the peer of the next connect.
    public static var connectRoutingID: Self { .init(ZMQ_CONNECT_ROUTING_ID, "ZMQ_CONNECT_ROUTING_ID") }
}

/// Readiness conditions of a socket or file descriptor (`ZMQ_POLLIN`/`ZMQ_POLLOUT`/`ZMQ_POLLERR`).
public struct ZMQPollEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int16
    /// Creates a set from `ZMQ_POLL*` bits.
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// At least one message (socket) or byte (descriptor) can be read without blocking.
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message (socket) or byte (descriptor) can be written without blocking.
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
    /// An error condition on a raw file descriptor (never set for ZeroMQ sockets).
    public static let error = ZMQPollEvents(rawValue: Int16(ZMQ_POLLERR))

    /// E.g. `"[readable, writable]"`.
    public var description: String {
        var names: [String] = []
        if contains(.readable) { names.append("readable") }
        if contains(.writable) { names.append("writable") }
        if contains(.error) { names.append("error") }
        return "[" + names.joined(separator: ", ") + "]"
    }
}
