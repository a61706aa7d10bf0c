import CZeroMQ

/// One ZeroMQ message frame of any size, owning a heap-allocated `zmq_msg_t`.
///
/// Ownership: the frame's content belongs to the message until it is sent. Sending hands the
/// content to libzmq (`zmq_msg_send`), after which the message is *consumed*
/// (``isConsumed`` is true, ``count`` is 0) and must not be sent again — doing so is a
/// programming error and traps. The `zmq_msg_t` is closed in `deinit`, which releases received
/// content and, for a zero-copy message that was never sent, calls its deallocator.
///
/// Threading: a message may be handed to another thread (for example built by an imaging thread
/// and posted through a ``Mailbox`` to the socket thread — hence `Sendable`), but it must never
/// be used from two threads at the same time: treat handing it over as a transfer of ownership.
public final class ZMQMessage: @unchecked Sendable, CustomStringConvertible {
    /// Heap-allocated so that its address is stable (libzmq may point into it for small frames).
    let storage: UnsafeMutablePointer<zmq_msg_t>
    /// True once the content has been handed to libzmq by a successful send.
    public private(set) var isConsumed = false

    /// Creates an empty (0-byte) message; also the state a message is received into.
    public init() {
        storage = .allocate(capacity: 1)
        LibZMQ.messageInit(storage)
    }

    /// Creates a message holding a copy of `bytes`.
    /// Traps if memory is exhausted, as `Array` does.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { destination in
            bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// Creates a message holding a copy of the bytes in `buffer`.
    /// Traps if memory is exhausted, as `Array` does.
    public convenience init(copying buffer: UnsafeRawBufferPointer) {
        self.init(count: buffer.count) { destination in
            if buffer.count > 0 { destination.copyMemory(from: buffer) }
        }
    }

    /// Creates a message of `count` bytes allocated by libzmq and lets `initializer` fill them in
    /// place — a way to build a large payload without an intermediate copy. The buffer is only
    /// valid during the call. Traps if memory is exhausted.
    public init<E: Error>(
        count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        precondition(count >= 0, "ZMQMessage: negative size \(count)")
        storage = .allocate(capacity: 1)
        do {
            try LibZMQ.messageInit(storage, size: count)
        } catch {
            storage.deallocate()
            fatalError("ZMQMessage: cannot allocate \(count) bytes: \(error)")
        }
        let buffer = UnsafeMutableRawBufferPointer(
            start: LibZMQ.messageData(storage), count: LibZMQ.messageSize(storage))
        try initializer(buffer)
    }

    /// Zero-copy: creates a message whose content *is* `buffer`, without copying it.
    ///
    /// The message takes ownership of `buffer`: do not write to or free it afterwards. libzmq
    /// calls `deallocator(buffer)` exactly once when it is done with the bytes — after they have
    /// been written to the network, after the receiving side of an `inproc` connection has
    /// released its message, or when this message is destroyed unsent. That call happens on an
    /// arbitrary thread (often a libzmq I/O thread), hence `@Sendable`; keep it short and
    /// non-blocking. Traps if libzmq cannot allocate its small bookkeeping block (after
    /// calling the deallocator).
    public init(
        takingOwnershipOf buffer: UnsafeMutableRawBufferPointer,
        deallocator: @escaping @Sendable (UnsafeMutableRawBufferPointer) -> Void
    ) {
        storage = .allocate(capacity: 1)
        let box = Unmanaged.passRetained(ZeroCopyRelease(buffer: buffer, deallocator: deallocator))
        do {
            try LibZMQ.messageInit(
                storage, data: buffer.baseAddress, size: buffer.count,
                free: { _, hint in
                    guard let hint else { return }
                    Unmanaged<ZeroCopyRelease>.fromOpaque(hint).takeRetainedValue().release()
                }, hint: box.toOpaque())
        } catch {
            storage.deallocate()
            box.takeRetainedValue().release()
            fatalError("ZMQMessage: cannot wrap a \(buffer.count)-byte buffer: \(error)")
        }
    }

    /// Zero-copy: creates a message whose content is the storage of `bytes`, without copying it.
    ///
    /// The message keeps the array alive until libzmq is done with its bytes (written to the
    /// network, released by an `inproc` receiver, or this message destroyed unsent); then it
    /// drops its reference and calls `released`, once, on an arbitrary thread (often a libzmq I/O
    /// thread: keep it short). Arrays are values: nobody can write to the storage a message
    /// shares — a later mutation of the caller's copy copies first — so one array may be sent in
    /// any number of messages. An empty array gives an empty frame (`released` is still called,
    /// when the message is destroyed).
    ///
    /// The pointer libzmq holds is the array's contiguous storage, which does not move while
    /// the array is referenced and not mutated. This is how the worker hands its result payloads
    /// and the coordinator its task payloads to the socket: the payload was checksummed in
    /// place (``TesseraWire/PayloadDescriptor``), and the socket thread copies nothing.
    public convenience init(sharing bytes: [UInt8], released: (@Sendable () -> Void)? = nil) {
        let base = bytes.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
        let buffer = UnsafeMutableRawBufferPointer(start: bytes.isEmpty ? nil : base, count: bytes.count)
        self.init(takingOwnershipOf: buffer) { _ in
            withExtendedLifetime(bytes) {}
            released?()
        }
    }

    deinit {
        LibZMQ.messageClose(storage)
        storage.deallocate()
    }

    /// The size of the content in bytes (0 once consumed by a send).
    public var count: Int { LibZMQ.messageSize(storage) }

    /// Calls `body` with the content. The pointer is valid only during the call and only while
    /// the message is not sent.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R)
        throws(E) -> R
    {
        try body(UnsafeRawBufferPointer(start: LibZMQ.messageData(storage), count: count))
    }

    /// A copy of the content.
    public var bytes: [UInt8] {
        withUnsafeBytes { [UInt8]($0) }
    }

    /// `"ZMQMessage(N bytes)"`.
    public var description: String {
        isConsumed ? "ZMQMessage(consumed)" : "ZMQMessage(\(count) bytes)"
    }

    /// Records that a successful `zmq_msg_send` took the content.
    func markConsumed() {
        isConsumed = true
    }
}

/// The hint passed to `zmq_msg_init_data`: the buffer and the closure that frees it.
private final class ZeroCopyRelease {
    let buffer: UnsafeMutableRawBufferPointer
    let deallocator: @Sendable (UnsafeMutableRawBufferPointer) -> Void

    init(
        buffer: UnsafeMutableRawBufferPointer,
        deallocator: @escaping @Sendable (UnsafeMutableRawBufferPointer) -> Void
    ) {
        self.buffer = buffer
        self.deallocator = deallocator
    }

    func release() {
        deallocator(buffer)
    }
}
