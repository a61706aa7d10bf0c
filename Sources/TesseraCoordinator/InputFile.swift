import Foundation
import TesseraWire

/// Reads a capture file for a decode task without trusting it: only a regular file (a FIFO,
/// socket or device named `.dng` would block or never end), opened non-blocking, no larger than
/// one payload frame may be (protos/PROTOCOL.md §5). Errors are sentences for `tessera status`.
enum InputFile {
    /// The whole file, or a reason it cannot be used.
    static func read(_ path: String, limit: UInt64 = WireLimits.default.maxPayloadLength) throws(PipelineError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadableInput(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadableInput(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .unreadableInput(path: path, reason: "not a regular file (a FIFO, socket or device)")
        }
        let size = UInt64(max(0, info.st_size))
        guard size <= limit else {
            throw .unreadableInput(path: path, reason: "\(size) bytes is larger than the \(limit)-byte limit of one frame")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw .unreadableInput(path: path, reason: n == 0 ? "file shrank while being read" : String(cString: strerror(errno)))
            }
            done += n
        }
        return bytes
    }
}
