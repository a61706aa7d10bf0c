import Testing
import XCTest
import TesseraCore

@Suite struct XXH64Tests {
    /// Digests from the reference implementation (python-xxhash, which wraps the C library).
    @Test(arguments: [
        (Array("".utf8), UInt64(0), UInt64(0xEF46_DB37_51D8_E999)),
        (Array("a".utf8), 0, 0xD24E_C4F1_A98C_6E5B),
        (Array("abc".utf8), 0, 0x44BC_2CF5_AD77_0999),
        (Array("The quick brown fox jumps over the lazy dog".utf8), 0, 0x0B24_2D36_1FDA_71BC),
        (Array("".utf8), 0x1234, 0x6E01_C031_7D5C_53D0),
        (Array("The quick brown fox jumps over the lazy dog".utf8), 0x1234, 0x3F64_6739_897B_C6A3),
        (Array((0..<3).flatMap { _ in (0...255).map { UInt8($0) } }) + Array("tail1".utf8), 0, 0x7A71_E90C_16C8_3CAB),
        (Array((0..<3).flatMap { _ in (0...255).map { UInt8($0) } }) + Array("tail1".utf8), 0x1234, 0x614B_E435_DA5B_6B04),
    ])
    func referenceVectors(input: [UInt8], seed: UInt64, expected: UInt64) {
        #expect(XXH64.hash(input, seed: seed) == expected)
    }

    @Test("hashCopying copies the bytes exactly and digests them as hash does, at every length and alignment")
    func hashCopyingMatchesHash() {
        var rng = SplitMix64(seed: 5)
        let source = (0..<(70_000 + 7)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for (length, shift) in [(0, 0), (1, 3), (31, 0), (32, 1), (33, 5), (63, 2), (64, 7), (100, 0), (4099, 3), (70_000, 7)] {
            let slice = Array(source[shift..<(shift + length)])
            var destination = [UInt8](repeating: 0xEE, count: length + 9)
            let digest = slice.withUnsafeBytes { src in
                destination.withUnsafeMutableBytes { XXH64.hashCopying(src, to: $0.baseAddress! + 1, seed: 0x1234) }
            }
            #expect(digest == XXH64.hash(slice, seed: 0x1234), "length \(length)")
            #expect(Array(destination[1..<(1 + length)]) == slice, "copy of length \(length)")
            #expect(destination[0] == 0xEE && destination[(1 + length)...].allSatisfy { $0 == 0xEE }, "wrote outside, length \(length)")
        }
    }

    @Test("the streaming Hasher digests pieces as hash digests their concatenation, for any cut")
    func hasherMatchesHashForAnyPieces() {
        var rng = SplitMix64(seed: 11)
        let source = (0..<9_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // Piece lengths: empty, under a stripe, exactly one, straddling, row-like (6000 = 187.5 stripes).
        let cuts: [[Int]] = [[], [0], [5], [31, 1], [32, 32], [7, 0, 25, 1, 40], [33, 31, 64], [6000], [6000, 6000 - 3000 - 1]]
        for seed: UInt64 in [0, 0x1234] {
            for pieces in cuts + [(0..<40).map { _ in Int(rng.next() % 200) }] {
                var hasher = XXH64.Hasher(seed: seed)
                var offset = 0
                source.withUnsafeBytes { all in
                    for length in pieces {
                        hasher.update(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)]))
                        offset += length
                    }
                }
                #expect(hasher.digest() == XXH64.hash(source[..<offset], seed: seed), "pieces \(pieces), seed \(seed)")
            }
        }
        // The reference vectors, fed a byte at a time.
        var hasher = XXH64.Hasher()
        for byte in Array("The quick brown fox jumps over the lazy dog".utf8) { withUnsafeBytes(of: byte) { hasher.update($0) } }
        #expect(hasher.digest() == 0x0B24_2D36_1FDA_71BC)
    }

    @Test func singleBitFlipChangesDigest() {
        var bytes = [UInt8](repeating: 0x5A, count: 4096)
        let before = XXH64.hash(bytes)
        bytes[2049] ^= 0x10
        #expect(XXH64.hash(bytes) != before)
    }
}

@Suite struct GeometryTests {
    @Test func reflect101KeepsParityAndRange() {
        for count in [1, 2, 3, 7, 10] {
            for index in -25...25 {
                let r = BorderIndex.reflect101(index, count: count)
                #expect((0..<count).contains(r))
                if count > 1 { #expect((r - index) % 2 == 0, "parity of \(index) in \(count)") }
            }
        }
        #expect(BorderIndex.reflect101(-1, count: 10) == 1)
        #expect(BorderIndex.reflect101(10, count: 10) == 8)
        #expect(BorderIndex.reflect101(4, count: 10) == 4)
    }

    @Test func tileCoresPartitionTheFrame() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let w = Int(rng.next() % 700) + 1, h = Int(rng.next() % 500) + 1
            let planner = TilePlanner(tileSize: Int(rng.next() % 300) + 1)
            let cores = planner.cores(width: w, height: h)
            var covered = [Int](repeating: 0, count: w * h)
            for c in cores {
                #expect(c.x % 2 == 0 && c.y % 2 == 0, "tile origin keeps the CFA phase")
                #expect(PixelRect(x: 0, y: 0, width: w, height: h).contains(c))
                for y in c.y..<c.maxY { for x in c.x..<c.maxX { covered[y * w + x] += 1 } }
            }
            #expect(covered.allSatisfy { $0 == 1 }, "\(w)x\(h) tile \(planner.tileSize)")
        }
    }

    @Test func smallFrameIsOneTile() {
        #expect(TilePlanner(tileSize: 512).cores(width: 300, height: 200) == [PixelRect(x: 0, y: 0, width: 300, height: 200)])
        #expect(TilePlanner(tileSize: 7).tileSize == 6)
        #expect(TilePlanner(tileSize: 7).alignedHalo(3) == 4)
    }

    @Test func taskStateMachine() {
        #expect(TaskState.queued.canTransition(to: .running))
        #expect(!TaskState.succeeded.canTransition(to: .running))
        #expect(TaskState.running.canTransition(to: .queued))
        #expect(TaskState.allCases.filter(\.isTerminal) == [.succeeded, .failed, .cancelled])
    }

    @Test func splitMixIsDeterministic() {
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var s1 = SplitMix64(seed: 7, stream: 1), s2 = SplitMix64(seed: 7, stream: 2)
        #expect(s1.next() != s2.next())
    }
}

/// Keeps XCTest's summary meaningful (see PLATFORM.md): one XCTest case per test target.
final class CoreSmokeXCTests: XCTestCase {
    func testPixelRectIntersection() {
        let a = PixelRect(x: 0, y: 0, width: 10, height: 10)
        XCTAssertEqual(a.intersection(PixelRect(x: 5, y: 5, width: 10, height: 10)), PixelRect(x: 5, y: 5, width: 5, height: 5))
        XCTAssertTrue(a.intersection(PixelRect(x: 20, y: 0, width: 1, height: 1)).isEmpty)
    }
}
