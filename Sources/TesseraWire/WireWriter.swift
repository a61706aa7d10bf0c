import TesseraCore

/// An unchecked little-endian writer into a buffer pre-sized by `WireCodec.encodedLength`.
/// Only the encoder uses it, and it checks at the end that exactly the computed size was written.
struct WireWriter {
    let base: UnsafeMutableRawPointer
    private(set) var offset = 0

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    private mutating func store<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func u8(_ value: UInt8) { store(value) }
    mutating func u16(_ value: UInt16) { store(value) }
    mutating func u32(_ value: UInt32) { store(value) }
    mutating func u64(_ value: UInt64) { store(value) }
    mutating func i32(_ value: Int32) { store(value) }
    mutating func bool(_ value: Bool) { store(UInt8(value ? 1 : 0)) }
    /// A row id as u64 (two's-complement bit pattern; `validate` rejects negative ids).
    mutating func id(_ value: Int64) { store(UInt64(bitPattern: value)) }

    /// `str`: u16 length + UTF-8. Traps on strings over 65,535 bytes, which u16 cannot express.
    mutating func str(_ text: String, _ field: StaticString) {
        let length = text.utf8.count
        precondition(length <= Int(UInt16.max), "TesseraWire: \(field) is \(length) bytes; a str holds at most 65535 (use WireCodec.validate)")
        u16(UInt16(truncatingIfNeeded: length))
        utf8(text)
    }

    /// `longstr`: u32 length + UTF-8.
    mutating func longstr(_ text: String, _ field: StaticString) {
        let length = text.utf8.count
        precondition(length <= Int(UInt32.max), "TesseraWire: \(field) is \(length) bytes; a longstr holds at most 2^32-1")
        u32(UInt32(truncatingIfNeeded: length))
        utf8(text)
    }

    /// `bytes`: u32 length + raw bytes.
    mutating func bytes(_ value: [UInt8], _ field: StaticString) {
        precondition(value.count <= Int(UInt32.max), "TesseraWire: \(field) is \(value.count) bytes; bytes hold at most 2^32-1")
        u32(UInt32(truncatingIfNeeded: value.count))
        value.withUnsafeBytes { raw($0) }
    }

    /// A list's u32 count.
    mutating func count(_ value: Int, _ field: StaticString) {
        precondition(value <= Int(UInt32.max), "TesseraWire: list \(field) has \(value) items; at most 2^32-1")
        u32(UInt32(truncatingIfNeeded: value))
    }

    private mutating func utf8(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { raw(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for byte in text.utf8 { u8(byte) }
        }
    }

    private mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }
}
