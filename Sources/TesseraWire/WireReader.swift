import TesseraCore

/// A bounds-checked little-endian cursor over a header frame. Every read checks the remaining
/// length first; lengths and counts read from the wire are checked against their limit and
/// against the bytes actually left before anything is allocated. Field names are
/// `StaticString`s so the success path builds no strings. Borrowed buffer: use within its scope.
struct WireReader {
    let base: UnsafeRawPointer?
    let count: Int
    private(set) var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress
        count = buffer.count
    }

    var remaining: Int { count - offset }

    @inline(__always)
    private func need(_ bytes: Int, _ field: StaticString) throws(WireError) {
        if remaining < bytes { throw .truncated(field: field.description) }
    }

    @inline(__always)
    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(WireError) -> T {
        try need(MemoryLayout<T>.size, field)
        let value = T(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func u8(_ field: StaticString) throws(WireError) -> UInt8 { try load(UInt8.self, field) }
    mutating func u16(_ field: StaticString) throws(WireError) -> UInt16 { try load(UInt16.self, field) }
    mutating func u32(_ field: StaticString) throws(WireError) -> UInt32 { try load(UInt32.self, field) }
    mutating func u64(_ field: StaticString) throws(WireError) -> UInt64 { try load(UInt64.self, field) }
    mutating func i32(_ field: StaticString) throws(WireError) -> Int32 { try load(Int32.self, field) }

    /// A u8 that must be 0 or 1.
    mutating func bool(_ field: StaticString) throws(WireError) -> Bool {
        let byte = try u8(field)
        switch byte {
        case 0: return false
        case 1: return true
        default: throw .invalidBool(field: field.description, value: byte)
        }
    }

    /// A u64 row id, which must fit in Int64 (0...Int64.max).
    mutating func id(_ field: StaticString) throws(WireError) -> Int64 {
        let raw = try u64(field)
        guard raw <= UInt64(Int64.max) else {
            throw .valueOutOfRange(field: field.description, value: raw, allowed: WireCodec.idRange)
        }
        return Int64(raw)
    }

    /// `str`: u16 byte length + UTF-8.
    mutating func str(_ field: StaticString, max: Int) throws(WireError) -> String {
        let length = Int(try u16(field))
        return try utf8(length, field, max: max)
    }

    /// `longstr`: u32 byte length + UTF-8.
    mutating func longstr(_ field: StaticString, max: Int) throws(WireError) -> String {
        let length = Int(try u32(field))
        return try utf8(length, field, max: max)
    }

    private mutating func utf8(_ length: Int, _ field: StaticString, max: Int) throws(WireError) -> String {
        if length > max { throw .stringTooLong(field: field.description, length: length, max: max) }
        try need(length, field)
        if length == 0 { return "" }
        let bytes = UnsafeRawBufferPointer(start: base! + offset, count: length)
        let text = bytes.withMemoryRebound(to: UInt8.self) { String(validating: $0, as: UTF8.self) }
        guard let text else { throw .invalidUTF8(field: field.description) }
        offset += length
        return text
    }

    /// `bytes`: u32 length + raw bytes (copied out of the frame).
    mutating func bytes(_ field: StaticString, max: Int) throws(WireError) -> [UInt8] {
        let length = Int(try u32(field))
        if length > max { throw .bytesTooLong(field: field.description, length: length, max: max) }
        try need(length, field)
        if length == 0 { return [] }
        let source = base! + offset
        offset += length
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: length)
            initialized = length
        }
    }

    /// A list's u32 count, checked against `max` and against the bytes left (each item takes
    /// at least `minItemSize` bytes), so a huge claimed count is rejected before any allocation.
    mutating func count(_ field: StaticString, max: Int, minItemSize: Int) throws(WireError) -> Int {
        let count = Int(try u32(field))
        if count > max { throw .listTooLong(field: field.description, count: count, max: max) }
        try need(count * minItemSize, field)
        return count
    }
}
