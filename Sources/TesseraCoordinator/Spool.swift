import Foundation
import Synchronization
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
/// Every write carries an XXH64 checksum that is verified when the data is read back, also by a
/// coordinator that restarted: a plane ends with a 16-byte trailer (magic, XXH64 of the samples),
/// verified once per process before its first tile is cut; each tile's checksum is a 32-byte
/// record in the frame's `.sum` file (at the tile's slot: its index among the frame's tiles),
/// verified when the frame is assembled. A missing, truncated or corrupt file throws
/// ``SpoolCorruption`` naming what must be redone; it never yields wrong pixels.
///
/// Durability: every store fsyncs before it returns (persist before record).
///
/// Thread-safety: every method may be called from any thread; different tiles of one frame
/// write disjoint byte ranges of its assembly and checksum files with `pwrite`.
public struct Spool: Sendable {
    public let directory: String
    /// Planes verified (or written) by this process: checked once, not once per tile.
    private let verifiedPlanes = VerifiedSet()
    /// Where the SIGBUS guard journals a mapped file whose pages could not be read (``SpoolGuard``).
    let poisonJournal: PoisonJournal

    /// Bytes after a plane's samples: magic, then the samples' XXH64 (both little-endian UInt64).
    static let planeTrailerBytes = 16
    static let planeMagic: UInt64 = 0x3176_4C50_5354_5354  // "TSTSPLv1"
    /// One tile checksum record: x, y, width, height (UInt32), XXH64, magic (UInt64), little-endian.
    static let tileRecordBytes = 32
    static let tileMagic: UInt64 = 0x3176_4C54_5354_5354  // "TSTSTLv1"

    public init(directory: String) throws(CoordinatorError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .outputDirectoryUnusable(path: directory, reason: error.localizedDescription)
        }
        do { poisonJournal = try PoisonJournal(directory: directory) } catch {
            throw .outputDirectoryUnusable(path: directory, reason: "\(error)")
        }
    }

    /// Where frame `id`'s decoded CFA plane lives.
    public func planePath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).cfa" }
    /// Where frame `id`'s developed tiles are assembled.
    public func assemblyPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).rgb" }
    /// Where the checksums of frame `id`'s assembled tiles live.
    public func tileChecksumPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).sum" }

    /// Stores a decoded plane durably (temp file with its checksum trailer, fsync, rename) and
    /// returns its path.
    public func storePlane(_ bytes: UnsafeRawBufferPointer, frame id: FrameID) throws -> String {
        try storePlane(bytes, at: planePath(id))
        return planePath(id)
    }

    /// Stores `bytes` durably at `path` with the plane checksum trailer (temp file, fsync,
    /// rename): decoded planes, a burst's member planes and proxies. Read back with
    /// ``withPlane(at:count:_:)`` or ``readVerified(_:)``.
    public func storePlane(_ bytes: UnsafeRawBufferPointer, at path: String) throws {
        let temp = path + ".tmp"
        var trailer = [UInt8]()
        trailer.reserveCapacity(Self.planeTrailerBytes)
        SpoolIO.append(Self.planeMagic, to: &trailer)
        SpoolIO.append(XXH64.hash(bytes), to: &trailer)
        let fd = try SpoolIO.open(temp, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try SpoolIO.writeAll(fd, bytes, at: 0, path: temp)
            try trailer.withUnsafeBytes { try SpoolIO.writeAll(fd, $0, at: bytes.count, path: temp) }
            try SpoolIO.check(fsync(fd), "fsync", temp)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        try SpoolIO.check(rename(temp, path), "rename", path)
        verifiedPlanes.insert(path)
    }

    /// The bytes of a file stored with ``storePlane(_:at:)``, its checksum verified (every time:
    /// for small files such as a burst member's proxy). A missing, truncated or corrupt file throws
    /// ``SpoolCorruption``.
    public func readVerified(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SpoolCorruption(path: path, reason: "missing") }
        guard data.count >= Self.planeTrailerBytes else {
            throw SpoolCorruption(path: path, reason: "holds \(data.count) bytes, less than its checksum trailer")
        }
        let bytes = [UInt8](data)
        let count = bytes.count - Self.planeTrailerBytes
        return try bytes.withUnsafeBytes { all throws(SpoolCorruption) -> [UInt8] in
            let trailer = UnsafeRawBufferPointer(rebasing: all[count...])
            guard SpoolIO.load(trailer, at: 0) == Self.planeMagic else { throw SpoolCorruption(path: path, reason: "no checksum trailer") }
            let actual = XXH64.hash(UnsafeRawBufferPointer(rebasing: all[..<count])), stored = SpoolIO.load(trailer, at: 8)
            guard actual == stored else {
                throw SpoolCorruption(path: path, reason: "checksum mismatch (XXH64 \(SpoolIO.hex(actual)), recorded \(SpoolIO.hex(stored)))")
            }
            return Array(all[..<count])
        }
    }

    /// Calls `body` with the samples of a stored plane of `count` samples, memory-mapped read-only.
    /// The first use of a plane in this process verifies its size and checksum; a missing,
    /// truncated or corrupt plane throws ``SpoolCorruption``. The mapping is registered with the
    /// ``SpoolGuard`` for the call: a page that cannot be read (SIGBUS) journals the file before
    /// the process dies, and the next start sets it aside unread.
    public func withPlane<T>(at path: String, count: Int, _ body: (UnsafeBufferPointer<UInt16>) throws -> T) throws -> T {
        let expected = count * 2 + Self.planeTrailerBytes
        let fd = try openForReading(path, expecting: expected)
        defer { close(fd) }
        guard let base = mmap(nil, expected, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw SpoolError(path: path, operation: "mmap", message: String(cString: strerror(errno)))
        }
        defer { munmap(base, expected) }
        // A page that cannot be read raises SIGBUS: journalled, so the next start sets the file aside.
        return try SpoolGuard.guarding(base, length: expected, path: path, journal: poisonJournal) {
            SpoolGuard.simulateUnreadablePage(fd: fd, base: base, length: expected)
            return try withMappedPlane(base, path: path, count: count, body)
        }
    }

    /// ``withPlane(at:count:_:)`` on the plane mapped at `base`: verified on its first use here.
    private func withMappedPlane<T>(_ base: UnsafeMutableRawPointer, path: String, count: Int,
                                    _ body: (UnsafeBufferPointer<UInt16>) throws -> T) throws -> T {
        if !verifiedPlanes.contains(path) {
            let samples = UnsafeRawBufferPointer(start: base, count: count * 2)
            let trailer = UnsafeRawBufferPointer(start: base + count * 2, count: Self.planeTrailerBytes)
            let magic = SpoolIO.load(trailer, at: 0), stored = SpoolIO.load(trailer, at: 8)
            guard magic == Self.planeMagic else { throw SpoolCorruption(path: path, reason: "no checksum trailer") }
            let actual = XXH64.hash(samples)
            guard actual == stored else {
                throw SpoolCorruption(path: path, reason: "checksum mismatch (XXH64 \(SpoolIO.hex(actual)), recorded \(SpoolIO.hex(stored)))")
            }
            verifiedPlanes.insert(path)
        }
        return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: count))
    }

    /// Writes one developed tile (`core.area * 3` RGB samples, little-endian bytes) into frame
    /// `id`'s assembly file, creating the file at its full size on first use, and its checksum
    /// record at `slot` (the tile's index among the frame's tiles); both are fsynced.
    public func storeTile(_ bytes: UnsafeRawBufferPointer, core: PixelRect, slot: Int, frame id: FrameID,
                          frameWidth: Int, frameHeight: Int) throws {
        try storeRegion(bytes, core: core, bytesPerPixel: 6, slot: slot, path: assemblyPath(id), checksums: tileChecksumPath(id),
                        frameWidth: frameWidth, frameHeight: frameHeight)
    }

    /// Writes a rectangle of `bytesPerPixel`-byte pixels at its place in the frame-sized file at
    /// `path` (created at full size on first use) and its checksum record at `slot` of the file
    /// `checksums`; both are fdatasynced before it returns (persist before record).
    func storeRegion(_ bytes: UnsafeRawBufferPointer, core: PixelRect, bytesPerPixel: Int, slot: Int, path: String, checksums sumPath: String,
                     frameWidth: Int, frameHeight: Int) throws {
        let rowBytes = core.width * bytesPerPixel
        guard bytes.count == core.height * rowBytes else {
            throw SpoolError(path: path, operation: "store tile", message: "tile \(core) has \(bytes.count) bytes, expected \(core.height * rowBytes)")
        }
        let fd = try SpoolIO.open(path, flags: O_WRONLY | O_CREAT)
        defer { close(fd) }
        let total = off_t(frameWidth * frameHeight * bytesPerPixel)
        var st = stat()
        try SpoolIO.check(fstat(fd, &st), "fstat", path)
        if st.st_size < total { try SpoolIO.check(ftruncate(fd, total), "ftruncate", path) }
        for row in 0..<core.height {
            let offset = ((core.y + row) * frameWidth + core.x) * bytesPerPixel
            try SpoolIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: bytes[(row * rowBytes)..<((row + 1) * rowBytes)]), at: offset, path: path)
        }
        try SpoolIO.check(fdatasync(fd), "fdatasync", path)
        let sums = try SpoolIO.open(sumPath, flags: O_WRONLY | O_CREAT)
        defer { close(sums) }
        let record = Self.tileRecord(core: core, hash: XXH64.hash(bytes))
        try record.withUnsafeBytes { try SpoolIO.writeAll(sums, $0, at: slot * Self.tileRecordBytes, path: sumPath) }
        try SpoolIO.check(fdatasync(sums), "fdatasync", sumPath)
    }

    static func tileRecord(core: PixelRect, hash: UInt64) -> [UInt8] {
        var record = [UInt8]()
        record.reserveCapacity(tileRecordBytes)
        for v in [core.x, core.y, core.width, core.height] {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { record.append(contentsOf: $0) }
        }
        SpoolIO.append(hash, to: &record)
        SpoolIO.append(tileMagic, to: &record)
        return record
    }

    /// Opens a spool file for reading; a missing file, or one not exactly `expected` bytes long,
    /// throws ``SpoolCorruption``. The caller closes the descriptor.
    private func openForReading(_ path: String, expecting expected: Int) throws -> Int32 {
        let fd: Int32
        do { fd = try SpoolIO.open(path, flags: O_RDONLY) } catch let error as SpoolError where error.code == ENOENT {
            throw SpoolCorruption(path: path, reason: "missing")
        }
        var st = stat()
        do {
            try SpoolIO.check(fstat(fd, &st), "fstat", path)
            guard Int(st.st_size) == expected else {
                throw SpoolCorruption(path: path, reason: "holds \(st.st_size) bytes, expected \(expected) (truncated or overwritten)")
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Calls `body` with frame `id`'s assembled image — `width × height × 3` RGB samples,
    /// memory-mapped read-only, never copied — for the duration of the call. A missing or
    /// wrongly sized assembly file throws ``SpoolCorruption`` (every tile must be redone); the
    /// tiles are not verified here (``corruptTiles(ofAssembled:width:frame:tiles:)``).
    ///
    /// The file is ours and never shrinks while the coordinator runs (tiles are `pwrite`n into
    /// a file created at its full size; a frame's files are unlinked, never truncated, and an
    /// unlinked file stays mapped), so its size, checked here, holds for the whole call. A
    /// file truncated underneath by another process, or a disk read error, raises SIGBUS when
    /// the lost pages are touched and the coordinator dies (docs/reliability.md, "Spool
    /// checksums"); with the ``SpoolGuard`` installed the file is journalled first, set aside at
    /// the next start without being mapped, and the frame's tiles are developed again.
    public func withAssembled<T>(frame id: FrameID, width: Int, height: Int, _ body: (UnsafeBufferPointer<UInt16>) throws -> T) throws -> T {
        let path = assemblyPath(id)
        let count = width * height * 3
        let fd = try openForReading(path, expecting: count * 2)
        defer { close(fd) }
        guard count > 0 else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        guard let base = mmap(nil, count * 2, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw SpoolError(path: path, operation: "mmap", message: String(cString: strerror(errno)), code: errno)
        }
        defer { munmap(base, count * 2) }
        // A page that cannot be read raises SIGBUS: journalled, so the next start sets the file aside.
        return try SpoolGuard.guarding(base, length: count * 2, path: path, journal: poisonJournal) {
            SpoolGuard.simulateUnreadablePage(fd: fd, base: base, length: count * 2)
            return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: count))
        }
    }

    /// Checks every tile of an assembled image (`pixels`, a frame `width` pixels wide, as
    /// ``withAssembled(frame:width:height:_:)`` maps it) against the checksum recorded when it
    /// was stored. `tiles` are the frame's tile cores in slot order. Returns the slots whose
    /// pixels (or checksum record) are missing or do not match: those tiles must be redone.
    public func corruptTiles(ofAssembled pixels: UnsafeBufferPointer<UInt16>, width: Int, frame id: FrameID,
                             tiles: [PixelRect]) throws -> [Int] {
        try corruptRegions(of: UnsafeRawBufferPointer(pixels), width: width, bytesPerPixel: 6, checksums: tileChecksumPath(id), regions: tiles)
    }

    /// The slots of `regions` (in slot order) whose bytes in `pixels` (a frame `width` pixels
    /// wide) or whose checksum record in the file `checksums` are missing or do not match.
    func corruptRegions(of pixels: UnsafeRawBufferPointer, width: Int, bytesPerPixel: Int, checksums path: String,
                        regions: [PixelRect]) throws -> [Int] {
        var records = [UInt8](repeating: 0, count: regions.count * Self.tileRecordBytes)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            try records.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(done))
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { throw SpoolError(path: path, operation: "read", message: String(cString: strerror(errno))) }
                    if n == 0 { break }  // short: the remaining records are missing (zero)
                    done += n
                }
            }
        } else if errno != ENOENT {
            throw SpoolError(path: path, operation: "open", message: String(cString: strerror(errno)))
        }
        var bad: [Int] = []
        records.withUnsafeBytes { records in
            for (slot, core) in regions.enumerated() {
                let record = UnsafeRawBufferPointer(rebasing: records[(slot * Self.tileRecordBytes)..<((slot + 1) * Self.tileRecordBytes)])
                guard SpoolIO.load(record, at: 24) == Self.tileMagic,
                      Array(record[0..<16]) == Array(Self.tileRecord(core: core, hash: 0)[0..<16])
                else {
                    bad.append(slot)
                    continue
                }
                // The region's rows hashed where they lie: no copy of the tile.
                let rowBytes = core.width * bytesPerPixel
                var hasher = XXH64.Hasher()
                for row in 0..<core.height {
                    let offset = ((core.y + row) * width + core.x) * bytesPerPixel
                    hasher.update(UnsafeRawBufferPointer(rebasing: pixels[offset..<(offset + rowBytes)]))
                }
                if hasher.digest() != SpoolIO.load(record, at: 16) { bad.append(slot) }
            }
        }
        return bad
    }

    /// Deletes everything spooled for frame `id` (after its output is recorded, or to redo it).
    public func remove(frame id: FrameID) {
        verifiedPlanes.remove(planePath(id))
        unlink(planePath(id))
        unlink(assemblyPath(id))
        unlink(tileChecksumPath(id))
    }

    /// Deletes frame `id`'s assembly and tile checksums (its tiles are being redone) but keeps its plane.
    public func removeAssembly(frame id: FrameID) {
        unlink(assemblyPath(id))
        unlink(tileChecksumPath(id))
    }
}

/// A spooled file is missing, truncated or fails its checksum: the work that produced it must be
/// redone (the frame decoded again, or its tiles developed again). Never a reason to fail a frame.
public struct SpoolCorruption: Error, CustomStringConvertible, Sendable {
    /// The spool file.
    public var path: String
    /// What is wrong with it.
    public var reason: String
    public var description: String { "spool file \(path) is corrupt: \(reason)" }
}

/// Paths of planes already verified by this process.
final class VerifiedSet: Sendable {
    private let paths = Mutex<Set<String>>([])
    func contains(_ path: String) -> Bool { paths.withLock { $0.contains(path) } }
    func insert(_ path: String) { _ = paths.withLock { $0.insert(path) } }
    func remove(_ path: String) { _ = paths.withLock { $0.remove(path) } }
}

/// A spool file operation failed.
public struct SpoolError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var message: String
    /// The `errno` of the failed call (0 when not a system call failure).
    public var code: Int32 = 0

    /// An error for `operation` on `path`.
    public init(path: String, operation: String, message: String, code: Int32 = 0) {
        self.path = path
        self.operation = operation
        self.message = message
        self.code = code
    }

    public var description: String { "spool \(operation) \(path): \(message)" }
}

/// POSIX helpers with EINTR retries and typed errors.
enum SpoolIO {
    static func open(_ path: String, flags: Int32) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            let code = errno
            if code != EINTR { throw SpoolError(path: path, operation: "open", message: String(cString: strerror(code)), code: code) }
        }
    }

    static func check(_ result: Int32, _ operation: String, _ path: String) throws {
        if result != 0 {
            let code = errno
            throw SpoolError(path: path, operation: operation, message: String(cString: strerror(code)), code: code)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw SpoolError(path: path, operation: "write", message: String(cString: strerror(code)), code: code)
            }
            done += n
        }
    }

    /// Reads a whole file straight into one array (no memory map, no intermediate copy: a task
    /// payload costs its size once while it is prepared).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        var st = stat()
        try check(fstat(fd, &st), "fstat", path)
        let size = Int(st.st_size)
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = pread(fd, buffer.baseAddress! + done, size - done, off_t(done))
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw SpoolError(path: path, operation: "read", message: String(cString: strerror(errno)), code: errno) }
                if n == 0 { break }  // the file shrank meanwhile: send what is there
                done += n
            }
            count = done
        }
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
