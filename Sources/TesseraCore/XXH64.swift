/// XXH64 (Yann Collet's xxHash, 64-bit variant): the checksum of every spooled file (plane
/// trailers, tile records) and of recipes. Chosen over CRC-32C because a portable implementation
/// runs at memory speed (several GB/s) without CPU-specific instructions, and 64 bits make an
/// undetected corruption negligible. Wire payloads carried XXH64 up to protocol version 2; since
/// version 3 they carry ``XXH3`` (vectorisable, about twice as fast). The test vectors in
/// TesseraCoreTests come from the reference implementation.
public enum XXH64 {
    @usableFromInline static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The XXH64 digest of `bytes` with `seed`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        digest(bytes, seed: seed, copyingTo: nil)
    }

    /// Copies `source` to `destination` (at least `source.count` bytes, not overlapping) and
    /// returns the XXH64 of the bytes, in one pass over them: each 32-byte stripe is hashed
    /// from the registers it was loaded into for the copy. Cheaper than a `memcpy` followed by
    /// ``hash(_:seed:)`` when the bytes must be both moved and checksummed (a payload copied
    /// into a message buffer, or out of one).
    public static func hashCopying(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, seed: UInt64 = 0) -> UInt64 {
        digest(source, seed: seed, copyingTo: destination)
    }

    @inline(__always)
    private static func digest(_ bytes: UnsafeRawBufferPointer, seed: UInt64, copyingTo destination: UnsafeMutableRawPointer?) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return avalanche(seed &+ p5) }
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2
            var v2 = seed &+ p2
            var v3 = seed
            var v4 = seed &- p1
            let limit = count - 32
            if let destination {
                while offset <= limit {
                    let w1 = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    let w2 = base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                    let w3 = base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
                    let w4 = base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
                    destination.storeBytes(of: w1, toByteOffset: offset, as: UInt64.self)
                    destination.storeBytes(of: w2, toByteOffset: offset + 8, as: UInt64.self)
                    destination.storeBytes(of: w3, toByteOffset: offset + 16, as: UInt64.self)
                    destination.storeBytes(of: w4, toByteOffset: offset + 24, as: UInt64.self)
                    v1 = round(v1, UInt64(littleEndian: w1))
                    v2 = round(v2, UInt64(littleEndian: w2))
                    v3 = round(v3, UInt64(littleEndian: w3))
                    v4 = round(v4, UInt64(littleEndian: w4))
                    offset += 32
                }
            } else {
                while offset <= limit {
                    v1 = round(v1, load64(base, offset))
                    v2 = round(v2, load64(base, offset + 8))
                    v3 = round(v3, load64(base, offset + 16))
                    v4 = round(v4, load64(base, offset + 24))
                    offset += 32
                }
            }
            h = converge(v1, v2, v3, v4)
        } else {
            h = seed &+ p5
        }
        if let destination, offset < count {
            (destination + offset).copyMemory(from: base + offset, byteCount: count - offset)
        }
        return finish(h &+ UInt64(count), tail: base + offset, count: count - offset)
    }

    /// The four lanes merged into one (inputs of 32 bytes or more).
    @inline(__always) static func converge(_ v1: UInt64, _ v2: UInt64, _ v3: UInt64, _ v4: UInt64) -> UInt64 {
        var h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        h = mergeRound(h, v1)
        h = mergeRound(h, v2)
        h = mergeRound(h, v3)
        h = mergeRound(h, v4)
        return h
    }

    /// The last `count` (< 32) bytes at `tail` folded into `h` (which has the total length
    /// added), then the avalanche.
    @inline(__always) static func finish(_ hash: UInt64, tail base: UnsafeRawPointer, count: Int) -> UInt64 {
        var h = hash
        var offset = 0
        while offset + 8 <= count {
            h ^= round(0, load64(base, offset))
            h = rotl(h, 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= count {
            h ^= UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) &* p5
            h = rotl(h, 11) &* p1
            offset += 1
        }
        return avalanche(h)
    }

    /// XXH64 of bytes that arrive in pieces: after ``update(_:)`` with each piece in order,
    /// ``digest()`` is ``XXH64/hash(_:seed:)`` of their concatenation. Hashes a region where it
    /// lies — a tile's rows inside a frame — without gathering it into one buffer first.
    public struct Hasher {
        private let seed: UInt64
        private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
        /// Bytes fed so far.
        private var total = 0
        /// A stripe begun by one piece and not yet completed by the next (`pending` bytes of it).
        private var stripe: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        private var pending = 0

        /// A hasher with `seed` (0: the spool's checksums).
        public init(seed: UInt64 = 0) {
            self.seed = seed
            v1 = seed &+ p1 &+ p2
            v2 = seed &+ p2
            v3 = seed
            v4 = seed &- p1
        }

        /// Feeds the next piece.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            let count = bytes.count
            total += count
            var offset = 0
            if pending > 0 {
                offset = min(32 - pending, count)
                let filled = pending
                withUnsafeMutableBytes(of: &stripe) { ($0.baseAddress! + filled).copyMemory(from: base, byteCount: offset) }
                pending += offset
                guard pending == 32 else { return }
                pending = 0
                withUnsafeBytes(of: stripe) { consume(UnsafeRawPointer($0.baseAddress!)) }
            }
            while offset + 32 <= count {
                consume(base + offset)
                offset += 32
            }
            if offset < count {
                let rest = count - offset
                withUnsafeMutableBytes(of: &stripe) { $0.baseAddress!.copyMemory(from: base + offset, byteCount: rest) }
                pending = rest
            }
        }

        /// The digest of everything fed so far.
        public func digest() -> UInt64 {
            let h = total >= 32 ? converge(v1, v2, v3, v4) : seed &+ p5
            return withUnsafeBytes(of: stripe) { finish(h &+ UInt64(total), tail: $0.baseAddress!, count: pending) }
        }

        @inline(__always) private mutating func consume(_ stripe: UnsafeRawPointer) {
            v1 = round(v1, load64(stripe, 0))
            v2 = round(v2, load64(stripe, 8))
            v3 = round(v3, load64(stripe, 16))
            v4 = round(v4, load64(stripe, 24))
        }
    }

    /// The XXH64 digest of a byte collection (copied only if it is not contiguous).
    public static func hash<Bytes: Sequence>(_ bytes: Bytes, seed: UInt64 = 0) -> UInt64 where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0), seed: seed) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always) static func load64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }
    @inline(__always) static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* p1 &+ p4
    }
    @inline(__always) static func avalanche(_ hash: UInt64) -> UInt64 {
        var h = hash
        h ^= h >> 33
        h &*= p2
        h ^= h >> 29
        h &*= p3
        h ^= h >> 32
        return h
    }
}
