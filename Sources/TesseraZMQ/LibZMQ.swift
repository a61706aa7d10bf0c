// The choke point: every call into libzmq (and every system call TesseraZMQ makes) happens in
// this file. Each wrapper retries EINTR where the call can be interrupted and turns a failure into
// a `ZMQError` naming the operation and, where known, the endpoint. No other file calls `zmq_*`.
import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw socket and context handles as imported from C.
typealias ZMQHandle = UnsafeMutableRawPointer

/// Thin wrappers over the libzmq C API. Internal; the public types are the only callers.
enum LibZMQ {
    // MARK: - Error plumbing

    /// The errno of the last failed libzmq call on this thread.
    @inline(__always)
    static func lastError(_ operation: String, endpoint: String? = nil, detail: String? = nil)
        -> ZMQError
    {
        ZMQError(zmq_errno(), operation: operation, endpoint: endpoint, detail: detail)
    }

    /// Runs `body` until it succeeds or fails with something other than EINTR.
    /// A result of -1 is a failure; anything else is returned.
    @inline(__always)
    static func retrying(
        _ operation: String, endpoint: String? = nil, detail: String? = nil,
        _ body: () -> Int32
    ) throws(ZMQError) -> Int32 {
        while true {
            let rc = body()
            if rc != -1 { return rc }
            let code = zmq_errno()
            if code == EINTR { continue }
            throw ZMQError(code, operation: operation, endpoint: endpoint, detail: detail)
        }
    }

    static func strerror(_ code: Int32) -> String {
        guard let text = zmq_strerror(code) else { return "Unknown error \(code)" }
        return String(cString: text)
    }

    // MARK: - Library

    static func version() -> (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }

    // MARK: - Context

    static func contextNew(ioThreads: Int32) throws(ZMQError) -> ZMQHandle {
        guard let context = zmq_ctx_new() else { throw lastError("zmq_ctx_new") }
        if zmq_ctx_set(context, ZMQ_IO_THREADS, ioThreads) != 0 {
            let error = lastError("zmq_ctx_set", detail: "ZMQ_IO_THREADS=\(ioThreads)")
            _ = try? contextTerminate(context)
            throw error
        }
        return context
    }

    static func contextShutdown(_ context: ZMQHandle) {
        // Fails only with EFAULT for an invalid context, which the owner rules out.
        _ = zmq_ctx_shutdown(context)
    }

    /// Blocks until every socket of the context is closed (sockets are LINGER 0 by default).
    static func contextTerminate(_ context: ZMQHandle) throws(ZMQError) {
        _ = try retrying("zmq_ctx_term") { zmq_ctx_term(context) }
    }

    // MARK: - Socket

    static func socket(_ context: ZMQHandle, type: Int32, typeName: String) throws(ZMQError)
        -> ZMQHandle
    {
        guard let socket = zmq_socket(context, type) else {
            throw lastError("zmq_socket", detail: typeName)
        }
        return socket
    }

    static func close(_ socket: ZMQHandle) {
        // zmq_close fails only for an invalid socket (ENOTSOCK), which the owner rules out.
        _ = zmq_close(socket)
    }

    static func bind(_ socket: ZMQHandle, _ endpoint: String) throws(ZMQError) {
        _ = try retrying("zmq_bind", endpoint: endpoint) { zmq_bind(socket, endpoint) }
    }

    static func connect(_ socket: ZMQHandle, _ endpoint: String) throws(ZMQError) {
        _ = try retrying("zmq_connect", endpoint: endpoint) { zmq_connect(socket, endpoint) }
    }

    static func unbind(_ socket: ZMQHandle, _ endpoint: String) throws(ZMQError) {
        _ = try retrying("zmq_unbind", endpoint: endpoint) { zmq_unbind(socket, endpoint) }
    }

    static func disconnect(_ socket: ZMQHandle, _ endpoint: String) throws(ZMQError) {
        _ = try retrying("zmq_disconnect", endpoint: endpoint) { zmq_disconnect(socket, endpoint) }
    }

    static func setOption(_ socket: ZMQHandle, _ option: Int32, name: String, _ value: [UInt8])
        throws(ZMQError)
    {
        _ = try retrying("zmq_setsockopt", detail: name) {
            value.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        }
    }

    /// Reads an option into a buffer of `capacity` bytes; returns the bytes libzmq wrote.
    /// Integer options need the exact size (4, or 8 for `ZMQ_MAXMSGSIZE`).
    static func getOption(_ socket: ZMQHandle, _ option: Int32, name: String, capacity: Int)
        throws(ZMQError) -> [UInt8]
    {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var length = capacity
        _ = try retrying("zmq_getsockopt", detail: name) {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &length) }
        }
        return Array(buffer.prefix(length))
    }

    static func socketMonitor(_ socket: ZMQHandle, endpoint: String?, events: Int32)
        throws(ZMQError)
    {
        _ = try retrying("zmq_socket_monitor", endpoint: endpoint) {
            zmq_socket_monitor(socket, endpoint, events)
        }
    }

    // MARK: - Messages

    static func messageInit(_ message: UnsafeMutablePointer<zmq_msg_t>) {
        // zmq_msg_init cannot fail.
        _ = zmq_msg_init(message)
    }

    static func messageInit(_ message: UnsafeMutablePointer<zmq_msg_t>, size: Int) throws(ZMQError) {
        if zmq_msg_init_size(message, size) != 0 {
            throw lastError("zmq_msg_init_size", detail: "\(size) bytes")
        }
    }

    /// `zmq_msg_init_data`: on success libzmq owns `data` and calls `free(data, hint)` exactly once.
    static func messageInit(
        _ message: UnsafeMutablePointer<zmq_msg_t>, data: UnsafeMutableRawPointer?, size: Int,
        free: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void,
        hint: UnsafeMutableRawPointer
    ) throws(ZMQError) {
        if zmq_msg_init_data(message, data, size, free, hint) != 0 {
            throw lastError("zmq_msg_init_data", detail: "\(size) bytes")
        }
    }

    static func messageClose(_ message: UnsafeMutablePointer<zmq_msg_t>) {
        // zmq_msg_close fails only for an invalid message (EFAULT), which the owner rules out.
        _ = zmq_msg_close(message)
    }

    static func messageSize(_ message: UnsafeMutablePointer<zmq_msg_t>) -> Int {
        zmq_msg_size(message)
    }

    static func messageData(_ message: UnsafeMutablePointer<zmq_msg_t>) -> UnsafeMutableRawPointer? {
        zmq_msg_data(message)
    }

    static func messageMore(_ message: UnsafeMutablePointer<zmq_msg_t>) -> Bool {
        zmq_msg_more(message) != 0
    }

    static func flags(dontWait: Bool, more: Bool) -> Int32 {
        (dontWait ? ZMQ_DONTWAIT : 0) | (more ? ZMQ_SNDMORE : 0)
    }

    /// `zmq_msg_send`. Returns false on EAGAIN when `dontWait` (or when a send timeout expired);
    /// on success libzmq has taken the content and the message is empty again.
    static func messageSend(
        _ message: UnsafeMutablePointer<zmq_msg_t>, _ socket: ZMQHandle, dontWait: Bool, more: Bool,
        endpoint: String?, detail: @autoclosure () -> String?
    ) throws(ZMQError) -> Bool {
        let flags = flags(dontWait: dontWait, more: more)
        while true {
            if zmq_msg_send(message, socket, flags) != -1 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZMQError(code, operation: "zmq_msg_send", endpoint: endpoint, detail: detail())
        }
    }

    /// `zmq_send` (libzmq copies the bytes). Returns false on EAGAIN.
    static func send(
        _ bytes: [UInt8], _ socket: ZMQHandle, dontWait: Bool, more: Bool,
        endpoint: String?, detail: @autoclosure () -> String?
    ) throws(ZMQError) -> Bool {
        let flags = flags(dontWait: dontWait, more: more)
        while true {
            let rc = bytes.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
            if rc != -1 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZMQError(code, operation: "zmq_send", endpoint: endpoint, detail: detail())
        }
    }

    /// `zmq_msg_recv` into an initialised message. Returns false on EAGAIN. A receive interrupted
    /// by a signal is restarted, which restarts a `ZMQ_RCVTIMEO` wait as well.
    static func messageReceive(
        _ message: UnsafeMutablePointer<zmq_msg_t>, _ socket: ZMQHandle, dontWait: Bool,
        endpoint: String?
    ) throws(ZMQError) -> Bool {
        let flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
        while true {
            if zmq_msg_recv(message, socket, flags) != -1 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZMQError(code, operation: "zmq_msg_recv", endpoint: endpoint)
        }
    }

    /// `zmq_msg_gets`: a metadata property of a received message ("User-Id", "Peer-Address",
    /// "Socket-Type", "Routing-Id"); nil when the message has none of that name.
    static func messageProperty(_ message: UnsafeMutablePointer<zmq_msg_t>, _ name: String) -> String? {
        guard let value = zmq_msg_gets(message, name) else { return nil }
        return String(cString: value)
    }

    /// `zmq_msg_get(ZMQ_SRCFD)`: the descriptor of the connection a received message came from;
    /// nil for inproc messages and messages built locally.
    static func messageSourceDescriptor(_ message: UnsafeMutablePointer<zmq_msg_t>) -> Int32? {
        let fd = zmq_msg_get(message, 2)  // ZMQ_SRCFD (deprecated in zmq.h, still supported by 4.3)
        return fd >= 0 ? fd : nil
    }

    /// `shutdown(fd, SHUT_RDWR)` on a connection libzmq owns: its I/O thread sees the peer gone
    /// and tears the connection down (closing the descriptor itself). The descriptor is never
    /// closed here, so it cannot be freed under libzmq's feet.
    static func shutdownConnection(_ fd: Int32) -> Bool {
        #if canImport(Glibc)
            return Glibc.shutdown(fd, Int32(SHUT_RDWR)) == 0
        #else
            return Darwin.shutdown(fd, SHUT_RDWR) == 0
        #endif
    }

    // MARK: - Polling

    /// `zmq_poll` with EINTR retried using the remaining time. `timeoutMilliseconds < 0` waits
    /// forever. Returns the number of ready items.
    static func poll(_ items: UnsafeMutableBufferPointer<zmq_pollitem_t>, timeoutMilliseconds: Int)
        throws(ZMQError) -> Int
    {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(max(timeoutMilliseconds, 0)))
        var timeout = timeoutMilliseconds
        while true {
            let rc = zmq_poll(items.baseAddress, Int32(items.count), timeout)
            if rc >= 0 { return Int(rc) }
            let code = zmq_errno()
            guard code == EINTR else {
                throw ZMQError(code, operation: "zmq_poll", detail: "\(items.count) items")
            }
            if timeoutMilliseconds > 0 {
                let remaining = clock.now.duration(to: deadline)
                let (seconds, attoseconds) = remaining.components
                // Round up so that a retried poll never ends before the caller's deadline.
                timeout = max(0, Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
            }
        }
    }

    // MARK: - CURVE and Z85

    static func curveKeyPair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicKey, &secretKey) != 0 { throw lastError("zmq_curve_keypair") }
        return (cString(publicKey), cString(secretKey))
    }

    static func curvePublic(secretKey: String) throws(ZMQError) -> String {
        // zmq_curve_public does not check the length itself (a longer text would overflow its
        // 32-byte buffer), so insist on exactly 40 characters first.
        guard secretKey.utf8.count == 40, !secretKey.utf8.contains(0) else {
            throw ZMQError(
                EINVAL, operation: "zmq_curve_public",
                detail: "secret key has \(secretKey.utf8.count) characters, expected 40 Z85 characters")
        }
        var publicKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_public(&publicKey, secretKey) != 0 {
            throw lastError("zmq_curve_public", detail: "secret key is not valid Z85")
        }
        return cString(publicKey)
    }

    /// Z85-encodes `bytes` (length must be a multiple of 4).
    static func z85Encode(_ bytes: [UInt8]) throws(ZMQError) -> String {
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else {
            throw lastError("zmq_z85_encode", detail: "\(bytes.count) bytes, must be a multiple of 4")
        }
        return cString(text)
    }

    /// Decodes Z85 `text` (length must be a multiple of 5, characters from the Z85 alphabet).
    static func z85Decode(_ text: String) throws(ZMQError) -> [UInt8] {
        let length = text.utf8.count
        guard !text.utf8.contains(0) else {
            throw ZMQError(EINVAL, operation: "zmq_z85_decode", detail: "text contains a NUL character")
        }
        guard length % 5 == 0 else {
            throw ZMQError(
                EINVAL, operation: "zmq_z85_decode", detail: "\(length) characters, must be a multiple of 5")
        }
        var bytes = [UInt8](repeating: 0, count: length / 5 * 4)
        guard zmq_z85_decode(&bytes, text) != nil else {
            throw lastError("zmq_z85_decode", detail: "invalid Z85 text of \(length) characters")
        }
        return bytes
    }

    private static func cString(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    // MARK: - System calls (wakeup descriptors)

    /// Creates the wakeup descriptor pair: an eventfd on Linux (both ends the same descriptor),
    /// a non-blocking pipe elsewhere.
    static func wakeupCreate() throws(ZMQError) -> (read: Int32, write: Int32) {
        #if os(Linux)
            let fd = tessera_eventfd_create()
            if fd < 0 { throw ZMQError(tessera_errno(), operation: "eventfd") }
            return (fd, fd)
        #else
            var fds: [Int32] = [-1, -1]
            if pipe(&fds) != 0 { throw ZMQError(tessera_errno(), operation: "pipe") }
            for fd in fds {
                let flags = fcntl(fd, F_GETFL)
                if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0
                    || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0
                {
                    let error = ZMQError(tessera_errno(), operation: "fcntl", detail: "wakeup pipe")
                    _ = systemClose(fds[0])
                    _ = systemClose(fds[1])
                    throw error
                }
            }
            return (fds[0], fds[1])
        #endif
    }

    /// Makes the wakeup descriptor readable. Never blocks: a full counter/pipe already means
    /// "readable", so EAGAIN is success.
    static func wakeupSignal(_ fd: Int32) {
        #if os(Linux)
            var one: UInt64 = 1
            while write(fd, &one, 8) < 0 && tessera_errno() == EINTR {}
        #else
            var one: UInt8 = 1
            while write(fd, &one, 1) < 0 && tessera_errno() == EINTR {}
        #endif
    }

    /// Consumes every pending signal; returns how many signals were pending (the eventfd counter;
    /// bytes read for a pipe). Never blocks.
    static func wakeupDrain(_ fd: Int32) -> UInt64 {
        #if os(Linux)
            var count: UInt64 = 0
            while true {
                let n = read(fd, &count, 8)
                if n == 8 { return count }
                if n < 0 && tessera_errno() == EINTR { continue }
                return 0  // EAGAIN: nothing pending.
            }
        #else
            var total: UInt64 = 0
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 {
                    total += UInt64(n)
                    continue
                }
                if n < 0 && tessera_errno() == EINTR { continue }
                return total
            }
        #endif
    }

    static func closeDescriptor(_ fd: Int32) {
        // Never retry close on EINTR: on Linux the descriptor is released regardless.
        _ = systemClose(fd)
    }
}

@inline(__always)
private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
        return Glibc.close(fd)
    #else
        return Darwin.close(fd)
    #endif
}
