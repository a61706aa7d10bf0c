import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An encoded file's bytes, kept in the buffer the encoder wrote them to (libtiff's memory
/// stream, libpng's output) instead of being copied into an array: a 24 MP 16-bit TIFF or PNG
/// is about 100 MB, and the coordinator writes and hashes these bytes straight from here
/// (`ImageWriter.writeAtomically` of raw bytes, `XXH64.hash`).
/// Immutable; the buffer is freed when the last reference goes.
public final class EncodedBytes {
    /// The adopted `malloc` buffer (nil when the bytes live in `array`).
    private let buffer: UnsafeMutableRawPointer?
    private let array: [UInt8]
    /// The number of bytes.
    public let count: Int

    /// Bytes already in an array (JPEG: its segments are spliced into a new array anyway).
    init(_ bytes: [UInt8]) {
        buffer = nil
        array = bytes
        count = bytes.count
    }

    /// Takes ownership of the `count` bytes at `buffer`, allocated with `malloc` (or `realloc`):
    /// freed with `free` when this goes.
    init(adopting buffer: UnsafeMutableRawPointer, count: Int) {
        self.buffer = buffer
        array = []
        self.count = count
    }

    deinit { free(buffer) }

    /// Calls `body` with the bytes, valid only during the call.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if let buffer { return try body(UnsafeRawBufferPointer(start: buffer, count: count)) }
        let result: Result<R, E> = array.withUnsafeBytes { bytes in Result { () throws(E) -> R in try body(bytes) } }
        return try result.get()
    }

    /// The bytes, which never move nor change while this object lives (the adopted buffer is
    /// never reallocated; the array is a constant): for sharing them without a copy, kept alive
    /// by a reference to this object (the worker's zero-copy RESULT of a whole-frame file).
    public var stableBytes: UnsafeRawBufferPointer {
        if let buffer { return UnsafeRawBufferPointer(start: buffer, count: count) }
        return array.withUnsafeBytes { $0 }
    }

    /// The bytes as an array (a copy, unless they already are one).
    public var bytes: [UInt8] {
        buffer == nil ? array : withUnsafeBytes { Array($0) }
    }
}
