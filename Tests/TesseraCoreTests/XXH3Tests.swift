#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TesseraCore

@Suite struct XXH3Tests {
    /// xxHash's sanity buffer (the input of XXH3Vectors.swift): byte i is the top byte of a
    /// generator that starts at PRIME32_1 and is multiplied by PRIME64_1 after each byte.
    static let sanityBuffer: [UInt8] = {
        let count = xxh3KnownAnswers.map(\.length).max() ?? 0
        var generator: UInt64 = 2_654_435_761
        return (0..<count).map { _ in
            defer { generator &*= 0x9E37_79B1_85EB_CA87 }
            return UInt8(truncatingIfNeeded: generator >> 56)
        }
    }()

    @Test("digests equal the reference implementation's at every length class and block boundary")
    func knownAnswers() {
        #expect(xxh3KnownAnswers.count > 300)
        Self.sanityBuffer.withUnsafeBytes { all in
            for (length, expected) in xxh3KnownAnswers {
                let digest = XXH3.hash(UnsafeRawBufferPointer(rebasing: all[..<length]))
                #expect(digest == expected, "length \(length): 0x\(String(digest, radix: 16)), reference 0x\(String(expected, radix: 16))")
                // Every build of the long-input loop, whichever is active (an unsupported one runs the best lower build).
                for kernel in XXH3.Kernel.allCases {
                    let other = XXH3.hash(UnsafeRawBufferPointer(rebasing: all[..<length]), kernel: kernel)
                    #expect(other == expected, "length \(length), \(kernel) build: 0x\(String(other, radix: 16)), reference 0x\(String(expected, radix: 16))")
                }
            }
        }
    }

    @Test func textVectors() {
        // python-xxhash: xxh3_64_intdigest(b"abc"), (b"The quick brown fox jumps over the lazy dog").
        #expect(XXH3.hash(Array("abc".utf8)) == 0x78AF_5F94_892F_3950)
        #expect(XXH3.hash(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0xCE7D_19A5_418F_B365)
        #expect(XXH3.hash("abc".utf8) == XXH3.hash(Array("abc".utf8)), "non-array collections hash the same bytes")
    }

    @Test("hashCopying copies the bytes exactly and digests them as hash does, at every length and alignment")
    func hashCopyingMatchesHash() {
        var rng = SplitMix64(seed: 11)
        let source = (0..<(70_000 + 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let lengths = [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 255, 256, 1023, 1024, 1025, 1088, 4099, 16_385, 70_000]
        for (index, length) in lengths.enumerated() {
            let shift = index % 8
            let slice = Array(source[shift..<(shift + length)])
            var destination = [UInt8](repeating: 0xEE, count: length + 9)
            let digest = slice.withUnsafeBytes { src in
                destination.withUnsafeMutableBytes { XXH3.hashCopying(src, to: $0.baseAddress! + 1 + shift) }
            }
            #expect(digest == XXH3.hash(slice), "length \(length)")
            #expect(Array(destination[(1 + shift)..<(1 + shift + length)]) == slice, "copy of length \(length)")
            #expect(destination[..<(1 + shift)].allSatisfy { $0 == 0xEE } && destination[(1 + shift + length)...].allSatisfy { $0 == 0xEE },
                    "wrote outside, length \(length)")
        }
    }

    @Test("a single flipped bit changes the digest, wherever it is in a long input")
    func singleBitFlipChangesDigest() {
        var bytes = [UInt8](repeating: 0x5A, count: 4096 + 37)
        let before = XXH3.hash(bytes)
        for position in [0, 63, 64, 1023, 1024, 2049, 4096 - 1, 4096 + 36] {
            bytes[position] ^= 0x10
            #expect(XXH3.hash(bytes) != before, "bit flipped at \(position)")
            bytes[position] ^= 0x10
        }
        #expect(XXH3.hash(bytes) == before)
    }

    @Test("the AVX2 build of the long loop hashes and copies exactly as the baseline build, at every length and alignment",
          .enabled(if: XXH3.Kernel.avx2.isSupported, "no AVX2 build here (debug build, or the CPU lacks x86-64-v3)"))
    func avx2MatchesBaseline() {
        Self.expectSameBitsAsBaseline(.avx2)
    }

    @Test("the AVX-512 build of the long loop hashes and copies exactly as the baseline build, at every length and alignment",
          .enabled(if: XXH3.Kernel.avx512.isSupported, "no AVX-512 build here (debug build, or the CPU or OS lacks x86-64-v4)"))
    func avx512MatchesBaseline() {
        Self.expectSameBitsAsBaseline(.avx512)
    }

    @Test("TESSERA_SIMD: a named build, or the best lower one the CPU has; anything else the fastest")
    func selection() {
        #expect(XXH3.activeKernel == XXH3.Kernel.select(environment: getenv("TESSERA_SIMD").map { String(cString: $0) }))
        let supported = XXH3.Kernel.allCases.filter(\.isSupported)
        #expect(supported.first == .baseline && XXH3.Kernel.fastest == supported.last)
        #expect(XXH3.Kernel.select(environment: nil) == XXH3.Kernel.fastest && XXH3.Kernel.select(environment: "auto") == XXH3.Kernel.fastest)
        #expect(XXH3.Kernel.select(environment: "baseline") == .baseline && XXH3.Kernel.select(environment: "Baseline") == .baseline)
        #expect(XXH3.Kernel.select(environment: "avx2") == (XXH3.Kernel.avx2.isSupported ? .avx2 : .baseline))
        #expect(XXH3.Kernel.select(environment: "AVX512") == (XXH3.Kernel.avx512.isSupported ? .avx512 : XXH3.Kernel.avx2.effective))
        // An AVX-512 CPU runs AVX2 code too (CTesseraCPU checks the Haswell set first).
        #expect(!XXH3.Kernel.avx512.isSupported || XXH3.Kernel.avx2.isSupported)
        for kernel in XXH3.Kernel.allCases {
            #expect(kernel.effective.isSupported && (kernel.isSupported == (kernel.effective == kernel)), "\(kernel)")
        }
    }

    /// `kernel`'s long loop against the baseline's, hash and fused copy, at every length
    /// 241–1100 (every stripe count and tail of the first block) and across block boundaries,
    /// each at a different alignment.
    static func expectSameBitsAsBaseline(_ kernel: XXH3.Kernel) {
        #expect(kernel.isSupported && kernel.effective == kernel)
        var rng = SplitMix64(seed: 29)
        let source = (0..<(9_000 + 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var lengths = Array(241...1100)
        lengths += [2047, 2048, 2049, 4095, 4096, 4097, 9_000]
        for (index, length) in lengths.enumerated() {
            let shift = index % 8
            source.withUnsafeBytes { all in
                let bytes = UnsafeRawBufferPointer(rebasing: all[shift..<(shift + length)])
                let baseline = XXH3.hash(bytes, kernel: .baseline)
                #expect(XXH3.hash(bytes, kernel: kernel) == baseline, "\(kernel), length \(length)")
                var copied = [UInt8](repeating: 0xEE, count: length + 2)
                let digest = copied.withUnsafeMutableBytes { XXH3.hashCopying(bytes, to: $0.baseAddress! + 1, kernel: kernel) }
                #expect(digest == baseline, "\(kernel) copying, length \(length)")
                #expect(copied[1...length].elementsEqual(bytes) && copied[0] == 0xEE && copied[length + 1] == 0xEE, "\(kernel) copy of length \(length)")
            }
        }
    }
}
