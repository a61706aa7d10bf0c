/// A payload frame together with its ``PayloadDescriptor``, made where the payload is made.
///
/// The side that produces a payload describes it: the worker's execution thread as a task's
/// result is written, the coordinator's preparation queue as a tile window is cut. The socket
/// threads then only frame and send (zero-copy): the XXH3-64 pass never runs on the thread that
/// feeds libzmq, and where the payload is a copy of samples, the checksum is computed in that
/// same copy (one read of the samples, ``init(samples:)``).
public struct DescribedPayload: Sendable {
    /// The frame's bytes, as they go on the wire.
    public let bytes: [UInt8]
    /// Their length and checksum.
    public let descriptor: PayloadDescriptor

    /// Describes `bytes` (one read of them).
    public init(_ bytes: [UInt8]) {
        self.init(bytes: bytes, descriptor: PayloadDescriptor(describing: bytes))
    }

    private init(bytes: [UInt8], descriptor: PayloadDescriptor) {
        self.bytes = bytes
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
        self.init(bytes: bytes, descriptor: descriptor)
    }

    /// The payload's length in bytes.
    public var count: Int { bytes.count }
}
