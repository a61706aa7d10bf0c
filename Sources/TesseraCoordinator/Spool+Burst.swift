import Foundation
import TesseraCore
#if canImport(Glibc)
import Glibc
#endif

// A burst's spool files: each decoded member's plane and proxy, and the merged raw's assembly
// file into which merge tiles are written at their place (docs/burst.md).
extension Spool {
    /// Where member `member` of burst frame `id` keeps its decoded CFA plane.
    public func memberPlanePath(_ id: FrameID, member: Int) -> String { "\(directory)/frame-\(id.rawValue)-m\(member).cfa" }
    /// Where member `member` of burst frame `id` keeps its coarse-alignment proxy (Float32 LE).
    public func memberProxyPath(_ id: FrameID, member: Int) -> String { "\(directory)/frame-\(id.rawValue)-m\(member).proxy" }
    /// Where burst frame `id`'s merged raw is assembled from its merge tiles.
    public func mergedPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).merged" }

    /// Stores bytes durably at `path` (temp file, fsync, rename).
    public func storeDurably(_ bytes: UnsafeRawBufferPointer, at path: String) throws {
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
    }

    /// Reads a whole spool file.
    public func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpoolError(path: path, operation: "read", message: "missing or unreadable")
        }
        return Array(data)
    }

    /// Writes one merged raw core (`core.area` UInt16 samples, little-endian bytes) into burst
    /// frame `id`'s merged assembly file, created at its full size on first use.
    public func storeMergedCore(_ bytes: UnsafeRawBufferPointer, core: PixelRect, frame id: FrameID, frameWidth: Int, frameHeight: Int) throws {
        let path = mergedPath(id)
        let rowBytes = core.width * 2
        guard bytes.count == core.height * rowBytes else {
            throw SpoolError(path: path, operation: "store merge tile", message: "core \(core) has \(bytes.count) bytes, expected \(core.height * rowBytes)")
        }
        let fd = try SpoolIO.open(path, flags: O_WRONLY | O_CREAT)
        defer { close(fd) }
        let total = off_t(frameWidth * frameHeight * 2)
        var st = stat()
        try SpoolIO.check(fstat(fd, &st), "fstat", path)
        if st.st_size < total { try SpoolIO.check(ftruncate(fd, total), "ftruncate", path) }
        for row in 0..<core.height {
            let offset = ((core.y + row) * frameWidth + core.x) * 2
            try SpoolIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: bytes[(row * rowBytes)..<((row + 1) * rowBytes)]), at: offset, path: path)
        }
    }

    /// Makes burst frame `id`'s assembled merged raw its decoded plane (fsync, rename to
    /// ``planePath(_:)``) and returns that path. Idempotent: when the merged file is gone
    /// because an earlier call renamed it, the plane is already in place.
    public func commitMerged(frame id: FrameID) throws -> String {
        let merged = mergedPath(id), plane = planePath(id)
        if FileManager.default.fileExists(atPath: merged) {
            let fd = try SpoolIO.open(merged, flags: O_RDWR)
            defer { close(fd) }
            try SpoolIO.check(fsync(fd), "fsync", merged)
            try SpoolIO.check(rename(merged, plane), "rename", plane)
        }
        return plane
    }

    /// The merged raw of burst frame `id` (`count` samples): from its assembly file, or from its
    /// plane once ``commitMerged(frame:)`` ran.
    public func mergedSamples(frame id: FrameID, count: Int) throws -> [UInt16] {
        let path = FileManager.default.fileExists(atPath: mergedPath(id)) ? mergedPath(id) : planePath(id)
        return try withPlane(at: path, count: count) { Array($0) }
    }

    /// Deletes a burst's member planes and proxies (after the merged raw is committed).
    public func removeMembers(frame id: FrameID, count: Int) {
        for member in 0..<count {
            unlink(memberPlanePath(id, member: member))
            unlink(memberProxyPath(id, member: member))
        }
        unlink(mergedPath(id))
    }
}
