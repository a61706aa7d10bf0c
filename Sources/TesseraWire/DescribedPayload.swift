/// A payload frame together with its ``PayloadDescriptor``, made where the payload is made.
///
/// The side that produces a payload describes it: the worker's execution thread as a task's
/// result is written, the coordinator's preparation queue as a tile window is cut. The socket
/// threads then only frame and send (zero-copy): the XXH3-64 pass never runs on the thread that
/// feeds libzmq, and where the payload is a copy of samples, the checksum is computed in that
/// same copy (one read of the samples, ``init(samples:)``). The bytes are an array, or memory
/// another object owns (``BorrowedBytes``: an encoder's buffer, sent without a copy into an array).
public struct DescribedPayload: Sendable {
    /// Their length and checksum.
    public let descriptor: PayloadDescriptor
    private let storage: Storage

    private enum Storage: Sendable {
        case array([UInt8])
        case borrowed(BorrowedBytes)
    }

    /// Describes `bytes` (one read of them).
    public init(_ bytes: [UInt8]) {
        self.init(storage: .array(bytes), descriptor: PayloadDescriptor(describing: bytes))
    }

    /// Describes bytes another object owns, sent from where they are.
    public init(borrowing bytes: BorrowedBytes) {
        self.init(storage: .borrowed(bytes), descriptor: PayloadDescriptor(describing: bytes.buffer))
    }

    private init(storage: Storage, descriptor: PayloadDescriptor) {
        self.storage = storage
        self.descriptor = descriptor
    }

    /// `samples` as little-endian bytes (the wire's sample order), described in the pass that
    /// copies them (``PayloadDescriptor/init(copying:to:)``).
    public init(samples: [UInt16]) {
        guard !samples.isEmpty else {
            self.init([])
            return
        }
        var descriptor = PayloadDescriptor(length: 0, checksum: 0)
        #if _endian(little)
        let bytes = [UInt8](unsafeUninitializedCapacity: samples.count * 2) { buffer, initialized in
            samples.withUnsafeBytes { source in
                descriptor = PayloadDescriptor(copying: source, to: UnsafeMutableRawPointer(buffer.baseAddress!))
            }
            initialized = samples.count * 2
        }
        #else
        var bytes = [UInt8](); bytes.reserveCapacity(samples.count * 2)
        for s in samples { bytes.append(UInt8(s & 0xFF)); bytes.append(UInt8(s >> 8)) }
        descriptor = PayloadDescriptor(describing: bytes)
        #endif
        self.init(storage: .array(bytes), descriptor: descriptor)
    }

    /// The payload's length in bytes.
    public var count: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .borrowed(let borrowed): borrowed.buffer.count
        }
    }

    /// The bytes as an array: the payload's own array, or a copy of borrowed bytes.
    public var bytes: [UInt8] {
        switch storage {
        case .array(let bytes): bytes
        case .borrowed(let borrowed): Array(borrowed.buffer)
        }
    }

    /// The payload's array when its bytes are one (nil for borrowed bytes: see ``borrowed``).
    public var array: [UInt8]? {
        if case .array(let bytes) = storage { return bytes }
        return nil
    }

    /// The borrowed bytes, when the payload is not an array.
    public var borrowed: BorrowedBytes? {
        if case .borrowed(let borrowed) = storage { return borrowed }
        return nil
    }
}

/// Immutable bytes that `owner` keeps alive (an encoder's output buffer), shared without a copy:
/// they must not move nor change while `owner` lives, and `owner` must be safe to release on any
/// thread — which is why this may cross threads (`@unchecked Sendable`: every field is a `let`).
public final class BorrowedBytes: @unchecked Sendable {
    /// What keeps the bytes alive.
    public let owner: AnyObject
    /// The bytes.
    public let buffer: UnsafeRawBufferPointer

    /// `buffer`, owned by `owner` under the rules above.
    public init(owner: AnyObject, buffer: UnsafeRawBufferPointer) {
        self.owner = owner
        self.buffer = buffer
    }
}
