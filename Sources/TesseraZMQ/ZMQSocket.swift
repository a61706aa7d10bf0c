import CZeroMQ

/// A ZeroMQ socket, made by ``ZMQContext/makeSocket(_:)``.
///
/// Threading: NOT thread-safe and deliberately not `Sendable`. Create, use and close a socket on
/// one thread — a dedicated `Thread` running a ``ZMQPoller`` loop, never a task on the
/// cooperative pool, since blocking calls would stall it. Other threads talk to the socket
/// thread through a ``Mailbox`` (or ``PollWakeup``); to unblock it from outside, call
/// ``ZMQContext/shutdown()``.
///
/// Lifetime: the socket keeps its context alive; ``close()`` (idempotent) or `deinit` closes it.
/// Sockets are created with LINGER 0, so closing drops unsent messages instead of blocking.
/// Any call on a closed socket throws ``ZMQError/notSocket``.
public final class ZMQSocket {
    /// The socket type, fixed at creation.
    public let type: ZMQSocketType
    /// The context that made this socket (kept alive by it).
    public let context: ZMQContext
    private var handle: ZMQHandle?
    /// The most recent endpoint bound or connected, used to name the socket in errors.
    private var recentEndpoint: String?

    init(adopting raw: ZMQHandle, type: ZMQSocketType, context: ZMQContext) throws(ZMQError) {
        self.type = type
        self.context = context
        self.handle = raw
        do {
            try set(.linger, 0)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        if let handle { LibZMQ.close(handle) }
    }

    /// Closes the socket (`zmq_close`). Idempotent. Unsent messages are dropped (LINGER 0 unless
    /// changed). Must be called on the owning thread.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        LibZMQ.close(handle)
    }

    /// True once ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    /// The libzmq handle, nil once closed (for ``ZMQPoller``).
    var rawHandle: ZMQHandle? { handle }

    private func open(_ operation: String) throws(ZMQError) -> ZMQHandle {
        guard let handle else {
            throw ZMQError(
                ZMQError.notSocket.rawValue, operation: operation, endpoint: recentEndpoint,
                detail: "\(type) socket is closed")
        }
        return handle
    }

    // MARK: - Endpoints

    /// Binds to an endpoint such as `"tcp://127.0.0.1:*"` (wildcard port; read the result from
    /// ``lastEndpoint``), `"ipc:///path/to/socket"` or `"inproc://name"`.
    /// Throws e.g. ``ZMQError/addressInUse``, ``ZMQError/invalid`` (malformed endpoint).
    public func bind(_ endpoint: String) throws(ZMQError) {
        try LibZMQ.bind(open("zmq_bind"), endpoint)
        recentEndpoint = endpoint
    }

    /// Connects to an endpoint. The connection is made (and remade) asynchronously by libzmq;
    /// success here does not mean that a peer is there.
    public func connect(_ endpoint: String) throws(ZMQError) {
        try LibZMQ.connect(open("zmq_connect"), endpoint)
        recentEndpoint = endpoint
    }

    /// Stops listening on an endpoint given to ``bind(_:)`` (for a wildcard bind, pass the
    /// resolved ``lastEndpoint``). Throws ``ZMQError/noSuchFile`` if not bound there.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        try LibZMQ.unbind(open("zmq_unbind"), endpoint)
    }

    /// Drops the connection to an endpoint given to ``connect(_:)``.
    /// Throws ``ZMQError/noSuchFile`` if not connected there.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        try LibZMQ.disconnect(open("zmq_disconnect"), endpoint)
    }

    /// `ZMQ_LAST_ENDPOINT`: the resolved endpoint of the last bind, e.g.
    /// `"tcp://127.0.0.1:41234"` after binding `"tcp://127.0.0.1:*"`; empty if none.
    public var lastEndpoint: String {
        get throws(ZMQError) { try getString(ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT", capacity: 1024) }
    }

    /// `ZMQ_EVENTS`: whether a message can be received/sent right now without blocking.
    /// Level-triggered snapshot; prefer ``ZMQPoller`` for waiting.
    public var events: ZMQPollEvents {
        get throws(ZMQError) {
            ZMQPollEvents(rawValue: Int16(truncatingIfNeeded: try getInt32(ZMQ_EVENTS, name: "ZMQ_EVENTS")))
        }
    }

    /// `ZMQ_FD`: libzmq's edge-triggered signalling descriptor for this socket, for integrating
    /// with a foreign event loop. It signals "check ``events``", not readability; after it fires,
    /// read ``events`` and receive until it no longer says readable. Owned by libzmq: never
    /// read, write or close it.
    public var fileDescriptor: Int32 {
        get throws(ZMQError) { try getInt32(ZMQ_FD, name: "ZMQ_FD") }
    }

    // MARK: - Options

    /// Sets an integer option (milliseconds, counts or flags; see each option).
    public func set(_ option: ZMQSocketOption<Int32>, _ value: Int32) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name)=\(value)", encode(value))
    }

    /// Sets a 64-bit integer option.
    public func set(_ option: ZMQSocketOption<Int64>, _ value: Int64) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name)=\(value)", encode(value))
    }

    /// Sets a boolean option.
    public func set(_ option: ZMQSocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name)=\(value)", encode(Int32(value ? 1 : 0)))
    }

    /// Sets a boolean option that cannot be read back.
    public func set(_ option: ZMQWriteOnlySocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name)=\(value)", encode(Int32(value ? 1 : 0)))
    }

    /// Sets a binary option.
    public func set(_ option: ZMQSocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name) (\(value.count) bytes)", value)
    }

    /// Sets a binary option that cannot be read back.
    public func set(_ option: ZMQWriteOnlySocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name) (\(value.count) bytes)", value)
    }

    /// Sets a text option (UTF-8, without terminator). CURVE keys are 40 Z85 characters.
    public func set(_ option: ZMQSocketOption<String>, _ value: String) throws(ZMQError) {
        try setRaw(option.code, name: "\(option.name) (\(value.utf8.count) characters)", Array(value.utf8))
    }

    /// Reads an integer option.
    public func get(_ option: ZMQSocketOption<Int32>) throws(ZMQError) -> Int32 {
        try getInt32(option.code, name: option.name)
    }

    /// Reads a 64-bit integer option.
    public func get(_ option: ZMQSocketOption<Int64>) throws(ZMQError) -> Int64 {
        decode(try getRaw(option.code, name: option.name, capacity: 8), as: Int64.self)
    }

    /// Reads a boolean option.
    public func get(_ option: ZMQSocketOption<Bool>) throws(ZMQError) -> Bool {
        try getInt32(option.code, name: option.name) != 0
    }

    /// Reads a binary option (at most 255 bytes).
    public func get(_ option: ZMQSocketOption<[UInt8]>) throws(ZMQError) -> [UInt8] {
        try getRaw(option.code, name: option.name, capacity: 256)
    }

    /// Reads a text option. CURVE keys come back as 40 Z85 characters.
    public func get(_ option: ZMQSocketOption<String>) throws(ZMQError) -> String {
        let isCurveKey = [ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY, ZMQ_CURVE_SERVERKEY].contains(option.code)
        // libzmq returns a CURVE key in Z85 only when asked for exactly 41 bytes.
        return try getString(option.code, name: option.name, capacity: isCurveKey ? 41 : 1024)
    }

    private func setRaw(_ code: Int32, name: String, _ value: [UInt8]) throws(ZMQError) {
        try LibZMQ.setOption(open("zmq_setsockopt"), code, name: name, value)
    }

    private func getRaw(_ code: Int32, name: String, capacity: Int) throws(ZMQError) -> [UInt8] {
        try LibZMQ.getOption(open("zmq_getsockopt"), code, name: name, capacity: capacity)
    }

    private func getInt32(_ code: Int32, name: String) throws(ZMQError) -> Int32 {
        decode(try getRaw(code, name: name, capacity: 4), as: Int32.self)
    }

    private func getString(_ code: Int32, name: String, capacity: Int) throws(ZMQError) -> String {
        // libzmq counts the terminating NUL in the returned length of string options.
        let bytes = try getRaw(code, name: name, capacity: capacity)
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    private func encode<I: FixedWidthInteger>(_ value: I) -> [UInt8] {
        Swift.withUnsafeBytes(of: value) { Array($0) }
    }

    private func decode<I: FixedWidthInteger>(_ bytes: [UInt8], as type: I.Type) -> I {
        precondition(bytes.count == MemoryLayout<I>.size, "libzmq returned \(bytes.count) bytes for a \(I.self) option")
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: I.self) }
    }

    // MARK: - Sending and receiving

    /// Sends one multipart message: every part but the last with `ZMQ_SNDMORE`.
    ///
    /// Each part that was sent is consumed (see ``ZMQMessage``); sending a consumed message
    /// traps. With `dontWait`, returns false if the message cannot be queued now (EAGAIN on the
    /// first part; nothing is consumed). Without it, blocks until queued, or returns false when
    /// ``ZMQSocketOption/sendTimeout`` expires. libzmq delivers multipart messages atomically:
    /// once the first part is accepted the others are never refused with EAGAIN, so later parts
    /// are sent without `dontWait`.
    ///
    /// On a ROUTER the first part is the peer's routing id; with `routerMandatory` an unknown
    /// peer throws ``ZMQError/hostUnreachable`` (naming the routing id). Throws
    /// ``ZMQError/terminated`` after ``ZMQContext/shutdown()``. If a later part fails (only
    /// possible on termination), the earlier parts are consumed and the message is incomplete.
    @discardableResult
    public func send(_ parts: [ZMQMessage], dontWait: Bool = false) throws(ZMQError) -> Bool {
        precondition(!parts.isEmpty, "ZMQSocket.send: a message needs at least one part")
        for (index, part) in parts.enumerated() {
            precondition(!part.isConsumed, "ZMQSocket.send: part \(index) was already sent")
        }
        let handle = try open("zmq_msg_send")
        for (index, part) in parts.enumerated() {
            let more = index < parts.count - 1
            let sent = try LibZMQ.messageSend(
                part.storage, handle, dontWait: dontWait && index == 0, more: more,
                endpoint: recentEndpoint,
                detail: self.sendFailureDetail(partIndex: index, firstPart: { parts[0].bytes }))
            if !sent {
                if index == 0 { return false }
                throw partRefused(index, operation: "zmq_msg_send")
            }
            part.markConsumed()
        }
        return true
    }

    /// Sends one multipart message, copying each part's bytes into libzmq. Same semantics as
    /// the ``ZMQMessage`` variant above; for multi-megabyte payloads prefer a zero-copy
    /// ``ZMQMessage``.
    @discardableResult
    public func send(_ parts: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        precondition(!parts.isEmpty, "ZMQSocket.send: a message needs at least one part")
        let handle = try open("zmq_send")
        for (index, part) in parts.enumerated() {
            let more = index < parts.count - 1
            let sent = try LibZMQ.send(
                part, handle, dontWait: dontWait && index == 0, more: more, endpoint: recentEndpoint,
                detail: self.sendFailureDetail(partIndex: index, firstPart: { parts[0] }))
            if !sent {
                if index == 0 { return false }
                throw partRefused(index, operation: "zmq_send")
            }
        }
        return true
    }

    /// libzmq accepts the later parts of a message once it accepted the first; should it ever
    /// refuse one (EAGAIN), the message is incomplete and that is reported as an error.
    private func partRefused(_ index: Int, operation: String) -> ZMQError {
        ZMQError(
            ZMQError.again.rawValue, operation: operation, endpoint: recentEndpoint,
            detail: "\(type) socket refused part \(index) after accepting part 0; message incomplete")
    }

    /// Context for a failed send; on a ROUTER it names the peer (the first part, a routing id).
    private func sendFailureDetail(partIndex: Int, firstPart: () -> [UInt8]) -> String {
        var detail = "\(type) socket, part \(partIndex)"
        if type == .router && partIndex == 0 {
            detail += ", peer routing id 0x" + firstPart().prefix(255).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
        }
        return detail
    }

    /// Receives one multipart message (all its parts; any size).
    ///
    /// Returns nil if no message is available and `dontWait` is set, or when
    /// ``ZMQSocketOption/receiveTimeout`` expires. Blocks otherwise. Throws
    /// ``ZMQError/terminated`` after ``ZMQContext/shutdown()``.
    public func receiveMultipart(dontWait: Bool = false) throws(ZMQError) -> [ZMQMessage]? {
        let handle = try open("zmq_msg_recv")
        let first = ZMQMessage()
        guard try LibZMQ.messageReceive(first.storage, handle, dontWait: dontWait, endpoint: recentEndpoint)
        else { return nil }
        var parts = [first]
        while LibZMQ.messageMore(parts[parts.count - 1].storage) {
            let next = ZMQMessage()
            // The remaining parts have arrived with the first (atomic delivery); this never waits.
            guard try LibZMQ.messageReceive(next.storage, handle, dontWait: false, endpoint: recentEndpoint)
            else {
                throw ZMQError(
                    ZMQError.again.rawValue, operation: "zmq_msg_recv", endpoint: recentEndpoint,
                    detail: "part \(parts.count) of a multipart message timed out")
            }
            parts.append(next)
        }
        return parts
    }

    /// ``receiveMultipart(dontWait:)`` with every part copied out as bytes; for small control
    /// messages.
    public func receiveMultipartBytes(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        try receiveMultipart(dontWait: dontWait)?.map(\.bytes)
    }

    // MARK: - Monitoring

    /// Starts publishing this socket's connection events (``ZMQMonitorEvent``) on a PAIR socket
    /// bound by libzmq at `endpoint`, which must be `inproc://` and unique in the context.
    /// Connect a ``ZMQSocketType/pair`` socket there (on the thread that will read it) and
    /// decode each received message with ``ZMQMonitorEvent/init(parts:)``.
    public func startMonitor(endpoint: String, events: ZMQMonitorEvents = .all) throws(ZMQError) {
        try LibZMQ.socketMonitor(open("zmq_socket_monitor"), endpoint: endpoint, events: events.rawValue)
    }

    /// Stops a monitor started with ``startMonitor(endpoint:events:)``; the monitor socket then
    /// receives ``ZMQMonitorEvents/monitorStopped``.
    public func stopMonitor() throws(ZMQError) {
        try LibZMQ.socketMonitor(open("zmq_socket_monitor"), endpoint: nil, events: 0)
    }
}
