#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX helpers shared by the decoder and the codecs. Every failure becomes an
/// ``ImagingError/io(path:operation:message:)`` carrying `strerror(errno)`.
enum FileIO {
    static func errnoMessage(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// Reads a whole regular file into memory. Retries EINTR; refuses directories.
    static func readAll(path: String) throws(ImagingError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", message: errnoMessage()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, operation: "stat", message: errnoMessage()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .io(path: path, operation: "open", message: "not a regular file")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(st.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", message: errnoMessage())
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Calls `body` with the whole regular file at `path` mapped read-only (`MAP_PRIVATE |
    /// MAP_POPULATE`: the page cache's pages, mapped in one go, no copy and no fresh anonymous
    /// memory to fault in); falls back to ``readAll(path:)`` where the file cannot be mapped.
    /// The mapping lives only during the call. Refuses directories. A file truncated by another
    /// process *while* mapped would raise SIGBUS on access: for inputs at rest (the CLI's RAW
    /// files), not for files being written.
    static func withMapped<T>(path: String, _ body: (UnsafeRawBufferPointer) throws(ImagingError) -> T) throws(ImagingError) -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", message: errnoMessage()) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw .io(path: path, operation: "stat", message: errnoMessage())
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .io(path: path, operation: "open", message: "not a regular file")
        }
        let size = Int(st.st_size)
        let mapped = size > 0 ? mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : MAP_FAILED
        close(fd)  // the mapping keeps the file
        guard let mapped, mapped != MAP_FAILED else { return try withBytes(try readAll(path: path), body) }
        defer { munmap(mapped, size) }
        return try body(UnsafeRawBufferPointer(start: mapped, count: size))
    }

    /// Asks the kernel for transparent huge pages (`MADV_HUGEPAGE`) on the 2 MiB-aligned part of
    /// a large, not yet touched buffer: one fault per 2 MiB instead of one per 4 KiB page when it
    /// is first written (THP's `enabled = madvise` mode honours exactly this). Advice only: no
    /// effect on the contents, ignored where unsupported.
    static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        let huge = 2 << 20
        guard let base = buffer.baseAddress, buffer.count >= 4 * huge else { return }
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    }

    /// Writes all of `bytes` to `fd`, retrying EINTR and short writes.
    static func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer, path: String) throws(ImagingError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", message: errnoMessage())
            }
            offset += n
        }
    }

    /// `bytes.withUnsafeBytes` for a body with typed throws.
    static func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImagingError) -> T) throws(ImagingError) -> T {
        let result: Result<T, ImagingError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ImagingError) -> T in try body(buffer) }
        }
        return try result.get()
    }

    /// The directory part of `path` ("." when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }
}
