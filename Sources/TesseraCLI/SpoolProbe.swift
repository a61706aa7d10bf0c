import ArgumentParser
import Foundation
import TesseraCore
import TesseraCoordinator
#if canImport(Glibc)
import Glibc
#endif

/// `tessera spool-sigbus-probe` (hidden; run by the tests of the SIGBUS guard): opens a real
/// ``Spool`` with the guard installed, spools a plane, maps it with `withPlane`, truncates the
/// file underneath the mapping and reads its last sample — which raises SIGBUS, as another
/// process truncating a spool file would. The process dies of SIGBUS; the guard journals the
/// plane's path in `<spool>/poisoned.journal` first. With `--unregistered` the file is mapped
/// with a bare `mmap` the guard does not know: the process dies the same way, journal untouched.
struct SpoolSigbusProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool-sigbus-probe", abstract: "Die of SIGBUS in a mapped spool plane (tests of the SIGBUS guard).",
        shouldDisplay: false)

    @Option(help: "The spool directory (created if needed).")
    var spool: String

    @Flag(help: "Map the plane with a bare mmap the guard does not know.")
    var unregistered = false

    func run() throws {
        try SpoolGuard.install()
        let spool = try Spool(directory: spool)
        let count = 64 * 1024  // 128 KiB of samples: the last one is 31 pages past the first
        let samples = [UInt16](repeating: 0x7777, count: count)
        let path = try samples.withUnsafeBytes { try spool.storePlane($0, frame: FrameID(1)) }
        let value: UInt16
        if unregistered {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, let base = mmap(nil, count * 2, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
                throw ValidationError("cannot map \(path): \(String(cString: strerror(errno)))")
            }
            close(fd)
            Self.say("mapped \(path) (unregistered)")
            guard truncate(path, 0) == 0 else { throw ValidationError("cannot truncate \(path): \(String(cString: strerror(errno)))") }
            value = base.load(fromByteOffset: count * 2 - 2, as: UInt16.self)
        } else {
            value = try spool.withPlane(at: path, count: count) { plane in
                Self.say("mapped \(path)")
                guard truncate(path, 0) == 0 else { return 0 }
                return plane[count - 1]  // past the new end of the file: SIGBUS
            }
        }
        Self.say("read \(value) past the end of a truncated file: no SIGBUS")
        throw ExitCode(3)
    }

    /// Writes a line to standard output at once (unbuffered: the process is about to die).
    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
