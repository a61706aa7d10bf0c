import Synchronization

/// A wakeup descriptor for a socket thread's ``ZMQPoller``: an eventfd on Linux.
///
/// Any thread may ``signal()``; the socket-owning thread registers ``fileDescriptor`` in its
/// poller (readable = signalled) and calls ``drain()`` when it is. Signals coalesce: many
/// signals before a drain wake the poller once. Non-blocking on both sides.
///
/// Threading: thread-safe (`Sendable`). The descriptor is closed in `deinit`; keep the object
/// alive while it is registered in a poller.
public final class PollWakeup: @unchecked Sendable {
    // Immutable after init; eventfd reads and writes are atomic in the kernel.
    private let readDescriptor: Int32
    private let writeDescriptor: Int32

    /// Creates an unsignalled wakeup. Throws the errno of `eventfd` (e.g.
    /// ``ZMQError/tooManyOpenFiles``).
    public init() throws(ZMQError) {
        (readDescriptor, writeDescriptor) = try LibZMQ.wakeupCreate()
    }

    deinit {
        LibZMQ.closeDescriptor(readDescriptor)
        if writeDescriptor != readDescriptor { LibZMQ.closeDescriptor(writeDescriptor) }
    }

    /// The descriptor to register with ``ZMQPoller/add(fileDescriptor:events:)`` for
    /// `.readable`. Owned by this object: do not read or close it.
    public var fileDescriptor: Int32 { readDescriptor }

    /// Makes ``fileDescriptor`` readable until the next ``drain()``. Callable from any thread;
    /// never blocks.
    public func signal() {
        LibZMQ.wakeupSignal(writeDescriptor)
    }

    /// Clears the signalled state; returns how many signals were pending (0 if none). Call on
    /// the polling thread when the descriptor is readable. Never blocks.
    @discardableResult
    public func drain() -> UInt64 {
        LibZMQ.wakeupDrain(readDescriptor)
    }
}

/// A thread-safe FIFO queue that wakes a socket thread's ``ZMQPoller``: how async code and
/// other threads hand commands (or ready-made ``ZMQMessage``s) to the thread that owns a socket.
///
/// Producers (any thread) call ``post(_:)``. The socket thread registers ``fileDescriptor`` in its
/// poller for `.readable` and, when it is readable, calls ``drainAll()``, which returns every
/// posted item in posting order. Unbounded: apply back-pressure (credits) above it.
public final class Mailbox<T: Sendable>: Sendable {
    private let queue = Mutex<[T]>([])
    private let wakeup: PollWakeup

    /// Creates an empty mailbox. Throws if its eventfd cannot be created.
    public init() throws(ZMQError) {
        wakeup = try PollWakeup()
    }

    /// The descriptor that becomes readable when items are waiting (see ``PollWakeup``).
    public var fileDescriptor: Int32 { wakeup.fileDescriptor }

    /// Appends `item` and wakes the poller. Callable from any thread; never blocks on I/O (it
    /// takes a short lock).
    public func post(_ item: T) {
        let wasEmpty = queue.withLock { items in
            items.append(item)
            return items.count == 1
        }
        // Only the transition from empty needs a signal: drainAll() clears the signal before it
        // empties the queue, so an item posted after that always signals again.
        if wasEmpty { wakeup.signal() }
    }

    /// Removes and returns every waiting item, oldest first (empty if none). Call on the polling
    /// thread; it also clears the wakeup signal.
    public func drainAll() -> [T] {
        wakeup.drain()
        return queue.withLock { items in
            var taken: [T] = []
            swap(&taken, &items)
            return taken
        }
    }

    /// The number of waiting items (a snapshot; other threads may post at any time).
    public var pendingCount: Int { queue.withLock { $0.count } }
}
