/// XXH3-64's long-input loop (inputs over 240 bytes: 1 KiB blocks of sixteen 64-byte stripes,
/// a scramble after each block, the remaining stripes, then the last 64 bytes), the part of
/// `TesseraCore.XXH3` that runs at memory speed, written once and compiled by every kernel build
/// (``BaselineKernels/xxh3Accumulate(_:count:secret:copyingTo:)``,
/// `AVX2Kernels.xxh3Accumulate`, `AVX512Kernels.xxh3Accumulate`). Integer arithmetic only, so
/// every build gives the same bits.
/// Generic over the build's ``KernelTarget`` so that a helper the optimiser leaves out of line
/// gets a symbol of its own build (docs/develop.md, "Kernel dispatch").
///
/// Per stripe the spec adds each lane's keyed product to lane i and its raw input to lane
/// i ^ 1. Addition commutes, so the raw inputs are summed unswapped in `sums` and swapped into
/// the accumulators once per block (before each scramble, and before the last stripe): one
/// shuffle per 1 KiB instead of one per 64 bytes, bit-identical to the reference.
public struct XXH3Stripes<Target: KernelTarget> {
    /// The eight accumulators after every stripe of `count` (> 240) bytes at `p`, keyed by the
    /// 192-byte `secret`; when `destination` is given, the bytes are also copied there (at least
    /// `count` bytes, not overlapping) from the registers they were loaded into. The caller
    /// merges the accumulators into the digest.
    @_alwaysEmitIntoClient
    public static func accumulate(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer,
                                  copyingTo destination: UnsafeMutableRawPointer?) -> SIMD8<UInt64> {
        var acc = SIMD8<UInt64>(0xC2B2_AE3D, 0x9E37_79B1_85EB_CA87, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9,
                                0x85EB_CA77_C2B2_AE63, 0x85EB_CA77, 0x27D4_EB2F_1656_67C5, 0x9E37_79B1)
        let blocks = (count - 1) / 1024
        let scrambleKey = loadLanes(secret, 128)
        var offset = 0
        if let destination {
            for _ in 0..<blocks {
                var sums = SIMD8<UInt64>()
                for stripe in 0..<16 {
                    let data = loadLanes(p, offset)
                    destination.storeBytes(of: data, toByteOffset: offset, as: SIMD8<UInt64>.self)
                    stripe1(&acc, &sums, data, loadLanes(secret, 8 &* stripe))
                    offset &+= 64
                }
                acc &+= swapPairs(sums)
                scramble(&acc, scrambleKey)
            }
        } else {
            for _ in 0..<blocks {
                var sums = SIMD8<UInt64>()
                for stripe in 0..<16 {
                    stripe1(&acc, &sums, loadLanes(p, offset), loadLanes(secret, 8 &* stripe))
                    offset &+= 64
                }
                acc &+= swapPairs(sums)
                scramble(&acc, scrambleKey)
            }
        }
        var sums = SIMD8<UInt64>()
        let stripes = ((count - 1) - 1024 * blocks) / 64
        for stripe in 0..<stripes {
            let data = loadLanes(p, offset)
            destination?.storeBytes(of: data, toByteOffset: offset, as: SIMD8<UInt64>.self)
            stripe1(&acc, &sums, data, loadLanes(secret, 8 &* stripe))
            offset &+= 64
        }
        if let destination, offset < count {
            (destination + offset).copyMemory(from: p + offset, byteCount: count - offset)
        }
        stripe1(&acc, &sums, loadLanes(p, count - 64), loadLanes(secret, 192 - 64 - 7))
        return acc &+ swapPairs(sums)
    }

    /// One stripe: each lane adds the 32×32→64-bit product of its keyed input's halves to
    /// `acc`, and its raw input to `sums` (which belong to the neighbouring lane, i ^ 1: see
    /// ``swapPairs(_:)``).
    @_alwaysEmitIntoClient @inline(__always)
    static func stripe1(_ acc: inout SIMD8<UInt64>, _ sums: inout SIMD8<UInt64>, _ data: SIMD8<UInt64>, _ key: SIMD8<UInt64>) {
        let keyed = data ^ key
        acc &+= (keyed & 0xFFFF_FFFF) &* (highHalves(keyed) & 0xFFFF_FFFF)
        sums &+= data
    }

    /// Each lane's high 32 bits, in its low 32 bits (the high bits are not specified: callers
    /// mask them). `keyed &>> 32` computes the same after masking; this form compiles to one
    /// non-destructive shuffle (`pshufd`) instead of a register copy and a shift, ~9 % faster
    /// for the whole loop on the baseline build.
    @_alwaysEmitIntoClient @inline(__always)
    static func highHalves(_ v: SIMD8<UInt64>) -> SIMD8<UInt64> {
        #if _endian(little)
        let h = unsafeBitCast(v, to: SIMD16<UInt32>.self)
        return unsafeBitCast(SIMD16<UInt32>(h[1], h[1], h[3], h[3], h[5], h[5], h[7], h[7],
                                            h[9], h[9], h[11], h[11], h[13], h[13], h[15], h[15]), to: SIMD8<UInt64>.self)
        #else
        return v &>> 32
        #endif
    }

    /// Lanes 0↔1, 2↔3, 4↔5, 6↔7 exchanged.
    @_alwaysEmitIntoClient @inline(__always)
    static func swapPairs(_ v: SIMD8<UInt64>) -> SIMD8<UInt64> {
        SIMD8<UInt64>(v[1], v[0], v[3], v[2], v[5], v[4], v[7], v[6])
    }

    /// After each block: xorshift 47, xor the key, multiply by PRIME32_1.
    @_alwaysEmitIntoClient @inline(__always)
    static func scramble(_ acc: inout SIMD8<UInt64>, _ key: SIMD8<UInt64>) {
        acc ^= acc &>> 47
        acc ^= key
        acc &*= 0x9E37_79B1
    }

    /// Eight little-endian 64-bit lanes at `offset`.
    @_alwaysEmitIntoClient @inline(__always)
    static func loadLanes(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt64> {
        let lanes = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt64>.self)
        #if _endian(big)
        return SIMD8<UInt64>((0..<8).map { lanes[$0].byteSwapped })
        #else
        return lanes
        #endif
    }
}

extension BaselineKernels {
    /// ``XXH3Stripes/accumulate(_:count:secret:copyingTo:)``, baseline build.
    public static func xxh3Accumulate(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer,
                                      copyingTo destination: UnsafeMutableRawPointer?) -> SIMD8<UInt64> {
        XXH3Stripes<BaselineTarget>.accumulate(p, count: count, secret: secret, copyingTo: destination)
    }
}
