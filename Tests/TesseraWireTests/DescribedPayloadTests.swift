import Testing
import TesseraCore
import TesseraWire

/// A payload described where it is made carries exactly the bytes and descriptor a receiver
/// checks it against.
@Suite struct DescribedPayloadTests {
    @Test("samples become little-endian wire bytes and are described in the same pass, for every length class of XXH3")
    func samplesAreCopiedAndDescribed() {
        var generator = SplitMix64(seed: 0xD35C)
        // 0, the short and mid-size paths (≤ 240 bytes), the long loop around a 1 KiB block
        // boundary and its tail, and a multi-block odd length.
        for count in [0, 1, 2, 3, 8, 60, 120, 121, 512, 513, 520, 1024, 1025, 4099, 300_001] {
            let samples = (0..<count).map { _ in UInt16(truncatingIfNeeded: generator.next()) }
            let payload = DescribedPayload(samples: samples)
            let expected = samples.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            #expect(payload.bytes == expected, "\(count) samples")
            #expect(payload.count == 2 * count)
            #expect(payload.descriptor == PayloadDescriptor(length: UInt64(2 * count), checksum: XXH3.hash(expected)), "\(count) samples")
            // What a receiver does with it.
            #expect(throws: Never.self) {
                _ = try payload.bytes.withUnsafeBytes { try WireCodec.copyVerifying($0, index: 0, against: payload.descriptor) }
            }
        }
    }

    @Test("borrowed bytes are described where they lie and kept alive by the payload")
    func borrowedBytesAreDescribed() throws {
        final class Buffer {
            let pointer: UnsafeMutableRawBufferPointer
            init(_ bytes: [UInt8]) {
                pointer = .allocate(byteCount: bytes.count, alignment: 16)
                bytes.withUnsafeBytes { pointer.copyMemory(from: $0) }
            }
            deinit { pointer.deallocate() }
        }
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        var payload: DescribedPayload?
        do {
            let owner = Buffer(bytes)  // only the payload keeps it after this scope
            payload = DescribedPayload(borrowing: BorrowedBytes(owner: owner, buffer: UnsafeRawBufferPointer(owner.pointer)))
        }
        let described = try #require(payload)
        #expect(described.array == nil && described.borrowed != nil && described.count == bytes.count)
        #expect(described.bytes == bytes)
        #expect(described.descriptor == PayloadDescriptor(describing: bytes))
        #expect(DescribedPayload(bytes).array == bytes && DescribedPayload(bytes).borrowed == nil)
    }

    @Test("bytes are described as they are")
    func bytesAreDescribed() {
        for count in [0, 7, 241, 70_000] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let payload = DescribedPayload(bytes)
            #expect(payload.bytes == bytes)
            #expect(payload.descriptor == PayloadDescriptor(length: UInt64(count), checksum: XXH3.hash(bytes)))
        }
    }
}
