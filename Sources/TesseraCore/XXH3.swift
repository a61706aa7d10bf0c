#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TesseraKernels
import TesseraKernelsAVX2
import TesseraKernelsAVX512

/// XXH3-64 (Yann Collet's xxHash, `XXH3_64bits`: seed 0, the default 192-byte secret): the
/// checksum carried with every bulk payload on the wire (protocol version 3, protos/PROTOCOL.md
/// §3.3). Chosen over ``XXH64`` for payloads because its long-input loop is eight independent
/// 64-bit lanes with a 32×32→64-bit multiply, which vectorises (SSE2 `pmuludq`, NEON `umlal`),
/// where XXH64 is a serial add→multiply→rotate chain on four lanes: about twice the speed on
/// the same machine (docs/performance.md). Same 64-bit strength as XXH64 against accidental
/// corruption; neither is a defence against an attacker (that is CURVE's job).
///
/// Implemented from the specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md) for
/// every length class: 0, 1–3, 4–8, 9–16, 17–128, 129–240 and the long path (> 240 B: 1 KiB
/// blocks of sixteen 64-byte stripes, a scramble after each block, the remaining stripes, then
/// the last 64 bytes). The known-answer vectors in TesseraCoreTests come from the reference
/// implementation (python-xxhash, which wraps the C library). Little-endian loads on any host.
/// Stateless and thread-safe.
public enum XXH3 {
    @usableFromInline static let prime32_1: UInt64 = 0x9E37_79B1
    @usableFromInline static let prime32_2: UInt64 = 0x85EB_CA77
    @usableFromInline static let prime32_3: UInt64 = 0xC2B2_AE3D
    @usableFromInline static let primeMX1: UInt64 = 0x1656_6791_9E37_79F9
    @usableFromInline static let primeMX2: UInt64 = 0x9FB2_1C65_1E98_DF25

    /// Inputs longer than this take the long (striped) path.
    static let midSizeMax = 240

    /// The default secret (`XXH3_kSecret`), 192 bytes.
    static let secret: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]

    /// Which build of the long-input loop (inputs over 240 bytes) runs: the shared
    /// ``KernelBuild`` choice (every build is `XXH3Stripes` in TesseraKernels, same bits).
    public typealias Kernel = KernelBuild

    /// The build ``hash(_:)`` and ``hashCopying(_:to:)`` use: the fastest this CPU supports,
    /// unless the environment variable `TESSERA_SIMD` names another (`baseline`, `avx2`,
    /// `avx512`; ``KernelBuild/select(environment:)``). Read once, at first use.
    public static let activeKernel: Kernel = KernelBuild.active

    /// The XXH3-64 digest of `bytes` (seed 0, default secret).
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash(bytes, kernel: activeKernel)
    }

    /// The XXH3-64 digest of `bytes`, its long-input loop run by `kernel` (or by its
    /// ``KernelBuild/effective`` build if `kernel` is not supported here): tests and benchmarks compare the builds with it.
    public static func hash(_ bytes: UnsafeRawBufferPointer, kernel: Kernel) -> UInt64 {
        secret.withUnsafeBytes { digest(bytes, secret: $0.baseAddress!, copyingTo: nil, kernel: kernel) }
    }

    /// Copies `source` to `destination` (at least `source.count` bytes, not overlapping) and
    /// returns the XXH3-64 of the bytes, in one pass over them for inputs longer than 240 bytes:
    /// each 64-byte stripe is hashed from the registers it was loaded into for the copy. Cheaper
    /// than a `memcpy` followed by ``hash(_:)`` when the bytes must be both moved and checksummed
    /// (a payload copied into a message buffer, or out of one).
    public static func hashCopying(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer) -> UInt64 {
        hashCopying(source, to: destination, kernel: activeKernel)
    }

    /// ``hashCopying(_:to:)`` with the long-input loop run by `kernel` (or by its
    /// ``KernelBuild/effective`` build if `kernel` is not supported here).
    public static func hashCopying(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, kernel: Kernel) -> UInt64 {
        secret.withUnsafeBytes { digest(source, secret: $0.baseAddress!, copyingTo: destination, kernel: kernel) }
    }

    /// The XXH3-64 digest of a byte collection (copied only if it is not contiguous).
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }

    @inline(__always)
    private static func digest(_ bytes: UnsafeRawBufferPointer, secret: UnsafeRawPointer, copyingTo destination: UnsafeMutableRawPointer?,
                               kernel: Kernel) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress, count > 0 else {
            return XXH64.avalanche(load64(secret, 56) ^ load64(secret, 64))
        }
        if count > midSizeMax {
            return long(base, count: count, secret: secret, copyingTo: destination, kernel: kernel)
        }
        destination?.copyMemory(from: base, byteCount: count)
        if count <= 16 { return short(base, count: count, secret: secret) }
        if count <= 128 { return upTo128(base, count: count, secret: secret) }
        return upTo240(base, count: count, secret: secret)
    }

    /// 1–16 bytes.
    @inline(__always)
    private static func short(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer) -> UInt64 {
        let n = UInt64(count)
        if count > 8 {
            let low = load64(p, 0) ^ (load64(secret, 24) ^ load64(secret, 32))
            let high = load64(p, count - 8) ^ (load64(secret, 40) ^ load64(secret, 48))
            return avalanche(n &+ low.byteSwapped &+ high &+ mulFold(low, high))
        }
        if count >= 4 {
            let first = UInt64(load32(p, 0)), last = UInt64(load32(p, count - 4))
            var h = (last &+ (first << 32)) ^ (load64(secret, 8) ^ load64(secret, 16))
            h ^= rotl(h, 49) ^ rotl(h, 24)
            h &*= primeMX2
            h ^= (h >> 35) &+ n
            h &*= primeMX2
            return h ^ (h >> 28)
        }
        let c1 = UInt32(p.load(fromByteOffset: 0, as: UInt8.self))
        let c2 = UInt32(p.load(fromByteOffset: count >> 1, as: UInt8.self))
        let c3 = UInt32(p.load(fromByteOffset: count - 1, as: UInt8.self))
        let combined = (c1 << 16) | (c2 << 24) | c3 | (UInt32(count) << 8)
        return XXH64.avalanche(UInt64(combined) ^ UInt64(load32(secret, 0) ^ load32(secret, 4)))
    }

    /// 17–128 bytes: up to four pairs of 16-byte mixes from both ends.
    @inline(__always)
    private static func upTo128(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer) -> UInt64 {
        var acc = UInt64(count) &* XXH64.p1
        if count > 32 {
            if count > 64 {
                if count > 96 {
                    acc &+= mix16(p, 48, secret, 96)
                    acc &+= mix16(p, count - 64, secret, 112)
                }
                acc &+= mix16(p, 32, secret, 64)
                acc &+= mix16(p, count - 48, secret, 80)
            }
            acc &+= mix16(p, 16, secret, 32)
            acc &+= mix16(p, count - 32, secret, 48)
        }
        acc &+= mix16(p, 0, secret, 0)
        acc &+= mix16(p, count - 16, secret, 16)
        return avalanche(acc)
    }

    /// 129–240 bytes: eight 16-byte mixes, an avalanche, the remaining whole 16-byte rounds at
    /// secret offset 3, then the last 16 bytes at secret offset 136 − 17.
    @inline(__always)
    private static func upTo240(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer) -> UInt64 {
        var acc = UInt64(count) &* XXH64.p1
        for i in 0..<8 { acc &+= mix16(p, 16 * i, secret, 16 * i) }
        acc = avalanche(acc)
        for i in 8..<(count / 16) { acc &+= mix16(p, 16 * i, secret, 16 * (i - 8) + 3) }
        acc &+= mix16(p, count - 16, secret, 136 - 17)
        return avalanche(acc)
    }

    /// More than 240 bytes: the striped accumulator loop (`XXH3Stripes` in TesseraKernels, in
    /// the build `kernel` names), then the merge of its eight accumulators.
    @inline(__always)
    private static func long(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer, copyingTo destination: UnsafeMutableRawPointer?,
                             kernel: Kernel) -> UInt64 {
        let acc: SIMD8<UInt64>
        switch kernel.effective {
        case .avx512:
            acc = AVX512Kernels.xxh3Accumulate(p, count: count, secret: secret, copyingTo: destination)
        case .avx2:
            acc = AVX2Kernels.xxh3Accumulate(p, count: count, secret: secret, copyingTo: destination)
        case .baseline:
            acc = XXH3Stripes<BaselineTarget>.accumulate(p, count: count, secret: secret, copyingTo: destination)
        }
        var h = UInt64(count) &* XXH64.p1
        for i in 0..<4 {
            h &+= mulFold(acc[2 * i] ^ load64(secret, 11 + 16 * i), acc[2 * i + 1] ^ load64(secret, 11 + 16 * i + 8))
        }
        return avalanche(h)
    }

    @inline(__always)
    private static func mix16(_ p: UnsafeRawPointer, _ offset: Int, _ secret: UnsafeRawPointer, _ secretOffset: Int) -> UInt64 {
        mulFold(load64(p, offset) ^ load64(secret, secretOffset), load64(p, offset + 8) ^ load64(secret, secretOffset + 8))
    }

    /// The 128-bit product of `a` and `b`, its halves xored.
    @inline(__always)
    private static func mulFold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.low ^ product.high
    }

    @inline(__always)
    private static func avalanche(_ hash: UInt64) -> UInt64 {
        var h = hash
        h ^= h >> 37
        h &*= primeMX1
        return h ^ (h >> 32)
    }

    @inline(__always) private static func load64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inline(__always) private static func load32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
}
