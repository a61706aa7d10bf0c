import Foundation
import TesseraCore
import TesseraImaging
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's scratch space on local disk: each decoded frame's CFA plane (read by tile
/// preparation through a memory map, so a frame is never held in memory whole) and each frame's
/// assembly file, into which developed tiles are written at their place as they arrive. Both are
/// plain little-endian sample arrays. Everything here can be recomputed; finished outputs live
/// in the job's output directory, not here.
///
/// Thread-safety: every method may be called from any thread; different tiles of one frame
/// write disjoint byte ranges of its assembly file with `pwrite`.
public struct Spool: Sendable {
    public let directory: String

    public init(directory: String) throws(CoordinatorError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .outputDirectoryUnusable(path: directory, reason: error.localizedDescription)
        }
    }

    /// Where frame `id`'s decoded CFA plane lives.
    public func planePath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).cfa" }
    /// Where frame `id`'s developed tiles are assembled.
    public func assemblyPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).rgb" }

    /// Stores a decoded plane durably (temp file, fsync, rename) and returns its path.
    public func storePlane(_ bytes: UnsafeRawBufferPointer, frame id: FrameID) throws -> String {
        let path = planePath(id)
        let temp = path + ".tmp"
        let fd = try SpoolIO.open(temp, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try SpoolIO.writeAll(fd, bytes, at: 0, path: temp)
            try SpoolIO.check(fsync(fd), "fsync", temp)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try SpoolIO.check(rename(temp, path), "rename", path)
        return path
    }

    /// Calls `body` with the samples of a stored plane of `count` samples, memory-mapped read-only.
    public func withPlane<T>(at path: String, count: Int, _ body: (UnsafeBufferPointer<UInt16>) throws -> T) throws -> T {
        let fd = try SpoolIO.open(path, flags: O_RDONLY)
        defer { close(fd) }
        var st = stat()
        try SpoolIO.check(fstat(fd, &st), "fstat", path)
        guard Int(st.st_size) == count * 2 else {
            throw SpoolError(path: path, operation: "map", message: "holds \(st.st_size) bytes, expected \(count * 2)")
        }
        if count == 0 { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        guard let base = mmap(nil, count * 2, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw SpoolError(path: path, operation: "mmap", message: String(cString: strerror(errno)))
        }
        defer { munmap(base, count * 2) }
        return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: count))
    }

    /// Writes one developed tile (`core.area * 3` RGB samples, little-endian bytes) into frame
    /// `id`'s assembly file, creating the file at its full size on first use.
    public func storeTile(_ bytes: UnsafeRawBufferPointer, core: PixelRect, frame id: FrameID, frameWidth: Int, frameHeight: Int) throws {
        let path = assemblyPath(id)
        let rowBytes = core.width * 6
        guard bytes.count == core.height * rowBytes else {
            throw SpoolError(path: path, operation: "store tile", message: "tile \(core) has \(bytes.count) bytes, expected \(core.height * rowBytes)")
        }
        let fd = try SpoolIO.open(path, flags: O_WRONLY | O_CREAT)
        defer { close(fd) }
        let total = off_t(frameWidth * frameHeight * 6)
        var st = stat()
        try SpoolIO.check(fstat(fd, &st), "fstat", path)
        if st.st_size < total { try SpoolIO.check(ftruncate(fd, total), "ftruncate", path) }
        for row in 0..<core.height {
            let offset = ((core.y + row) * frameWidth + core.x) * 6
            try SpoolIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: bytes[(row * rowBytes)..<((row + 1) * rowBytes)]), at: offset, path: path)
        }
    }

    /// Reads frame `id`'s assembled image.
    public func readAssembled(frame id: FrameID, width: Int, height: Int) throws -> RGBImage16 {
        let path = assemblyPath(id)
        let count = width * height * 3
        let pixels = try withPlane(at: path, count: count) { Array($0) }
        return RGBImage16(width: width, height: height, pixels: pixels)
    }

    /// Deletes everything spooled for frame `id` (after its output is recorded).
    public func remove(frame id: FrameID) {
        unlink(planePath(id))
        unlink(assemblyPath(id))
    }
}

/// A spool file operation failed.
public struct SpoolError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var message: String
    public var description: String { "spool \(operation) \(path): \(message)" }
}

/// POSIX helpers with EINTR retries and typed errors.
enum SpoolIO {
    static func open(_ path: String, flags: Int32) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw SpoolError(path: path, operation: "open", message: String(cString: strerror(errno))) }
        }
    }

    static func check(_ result: Int32, _ operation: String, _ path: String) throws {
        if result != 0 { throw SpoolError(path: path, operation: operation, message: String(cString: strerror(errno))) }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SpoolError(path: path, operation: "write", message: String(cString: strerror(errno)))
            }
            done += n
        }
    }
}
