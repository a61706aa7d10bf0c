import CZeroMQ

/// Waits until any of a set of sockets and raw file descriptors is ready (`zmq_poll`).
///
/// Register items once with ``add(_:events:)`` / ``add(fileDescriptor:events:)`` (each returns
/// the item's index), then call ``poll(timeoutMilliseconds:)`` in the socket thread's loop.
/// A typical loop polls its sockets plus a ``Mailbox``'s descriptor, so other threads can hand
/// it work.
///
/// Threading: like its sockets, a poller belongs to one thread; it keeps its sockets alive.
public struct ZMQPoller {
    private var items: [zmq_pollitem_t] = []
    private var sockets: [ZMQSocket?] = []

    /// Creates an empty poller.
    public init() {}

    /// The number of registered items.
    public var count: Int { items.count }

    /// Registers a socket; returns its index in ``ZMQPollResult``. `events` is normally
    /// `.readable`; add `.writable` to wait for room in the send queue.
    @discardableResult
    public mutating func add(_ socket: ZMQSocket, events: ZMQPollEvents = .readable) -> Int {
        sockets.append(socket)
        items.append(zmq_pollitem_t(socket: nil, fd: -1, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Registers a raw file descriptor (e.g. ``PollWakeup/fileDescriptor``); returns its index.
    /// The caller keeps the descriptor open while it is registered.
    @discardableResult
    public mutating func add(fileDescriptor: Int32, events: ZMQPollEvents = .readable) -> Int {
        sockets.append(nil)
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Changes which events an item waits for (e.g. add `.writable` only while output is queued).
    public mutating func setEvents(_ events: ZMQPollEvents, at index: Int) {
        items[index].events = events.rawValue
    }

    /// Waits up to `timeoutMilliseconds` (0 = just check, -1 = forever) until at least one item
    /// is ready; returns which ones (an empty result on timeout). An interrupted wait (EINTR) is
    /// resumed with the remaining time. Throws ``ZMQError/terminated`` after the context of a
    /// polled socket was shut down, ``ZMQError/notSocket`` if a polled socket was closed.
    public mutating func poll(timeoutMilliseconds: Int) throws(ZMQError) -> ZMQPollResult {
        for index in items.indices {
            items[index].revents = 0
            if let socket = sockets[index] {
                guard let handle = socket.rawHandle else {
                    throw ZMQError(
                        ZMQError.notSocket.rawValue, operation: "zmq_poll",
                        detail: "item \(index): \(socket.type) socket is closed")
                }
                items[index].socket = handle
            }
        }
        let ready = try items.withUnsafeMutableBufferPointer { (buffer) throws(ZMQError) in
            try LibZMQ.poll(buffer, timeoutMilliseconds: timeoutMilliseconds)
        }
        return ZMQPollResult(readyCount: ready, events: items.map { ZMQPollEvents(rawValue: $0.revents) })
    }
}

/// The outcome of one ``ZMQPoller/poll(timeoutMilliseconds:)``.
public struct ZMQPollResult: Sendable, Hashable {
    /// How many items are ready (0 after a timeout).
    public let readyCount: Int
    private let events: [ZMQPollEvents]

    init(readyCount: Int, events: [ZMQPollEvents]) {
        self.readyCount = readyCount
        self.events = events
    }

    /// True if no item is ready (the timeout expired).
    public var isEmpty: Bool { readyCount == 0 }

    /// The indices of the items that are ready, ascending.
    public var readyIndices: [Int] { events.indices.filter { !events[$0].isEmpty } }

    /// The ready conditions of the item at `index` (empty if not ready).
    public subscript(index: Int) -> ZMQPollEvents { events[index] }

    /// Whether the item at `index` is readable.
    public func isReadable(_ index: Int) -> Bool { events[index].contains(.readable) }

    /// Whether the item at `index` is writable.
    public func isWritable(_ index: Int) -> Bool { events[index].contains(.writable) }
}
