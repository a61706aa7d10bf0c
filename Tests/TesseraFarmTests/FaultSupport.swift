import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Helpers shared by the fault tests (spool corruption, bytes in flight, disk, partitions).
enum Faults {
    /// Runs a system tool to completion; returns its exit status and combined output.
    @discardableResult
    static func tool(_ path: String, _ args: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "cannot run \(path): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Whether this process may create network namespaces and veth pairs (root with CAP_NET_ADMIN).
    static let canUseNetworkNamespaces: Bool = {
        let name = "tsr-probe-\(UUID().uuidString.prefix(8).lowercased())"
        guard tool("/usr/sbin/ip", ["netns", "add", name]).status == 0 else { return false }
        defer { tool("/usr/sbin/ip", ["netns", "del", name]) }
        return tool("/usr/sbin/ip", ["-n", name, "link", "set", "lo", "up"]).status == 0
    }()

    /// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN).
    static let canMountTmpfs: Bool = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tsr-mount-probe-\(UUID().uuidString)").path
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard tool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]).status == 0 else { return false }
        tool("/usr/bin/umount", [dir])
        return true
    }()

    /// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
    static func poll(upTo seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)  // polling a condition, bounded by the deadline
        }
        return try condition()
    }

    /// Events of one kind recorded in the database at `db`.
    static func events(_ db: String, kind: String) throws -> [EventRecord] {
        try TesseraStore(path: db).events(job: nil, after: 0, limit: 100_000).filter { $0.kind == kind }
    }

    /// Every frame of `job` is done and its output is byte-identical to `tessera develop` of its
    /// RAW file in `format` (extension `ext`); references are cached in `refDir`.
    static func expectOutputsMatchDevelop(db: String, job: JobID, out: String, refDir: String, format: String = "tiff", ext: String = "tif") throws {
        let store = try TesseraStore(path: db)
        #expect(try store.integrityCheck() == "ok")
        for frame in try store.frames(of: job) {
            #expect(frame.state == .done, "\(frame.stem) is \(frame.state): \(frame.failureReason ?? "")")
            let reference = "\(refDir)/\(frame.stem).\(ext)"
            if !FileManager.default.fileExists(atPath: reference) {
                let developed = try TesseraProcess.run(["develop", frame.path, "--out", reference, "--format", format])
                #expect(developed.status == 0, "\(developed.stderr)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(frame.stem).\(ext)")),
                    "\(frame.stem).\(ext) differs from tessera develop")
        }
    }
}
