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

/// A small simulated network of "hosts": one Linux network namespace per host, each joined by a
/// veth pair (its end renamed `eth0`) to one Linux bridge `br0` in a "switch" namespace, with
/// addresses 10.a.b.1, 10.a.b.2, … (/24, in the order the hosts are named) on a random subnet.
/// Real tcp between hosts crosses two veth pairs and the bridge; nothing else is reachable.
///
/// Names are unique per instance (`tsr-pPID-TAG-…`); `destroy()` (also called by `deinit`, so
/// after a failed expectation too) deletes the namespaces and with them every veth pair and the
/// bridge. Namespaces left by a test process that died (its PID no longer running) are deleted
/// when the next network is made. Needs root with CAP_NET_ADMIN (`Faults.canUseNetworkNamespaces`).
final class NamespaceNetwork {
    /// One simulated machine: its name in the test, its namespace, its address on the bridge.
    struct Host {
        let name: String
        let namespace: String
        let address: String
    }

    /// A failed `ip` command, with its output.
    struct SetupError: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed: \(output)" }
    }

    let hosts: [Host]
    let switchNamespace: String
    private var created: [String] = []

    /// Makes the switch namespace, the bridge and one namespace per name in `hostNames`.
    init(hosts hostNames: [String]) throws {
        precondition(!hostNames.isEmpty && hostNames.count < 250 && Set(hostNames).count == hostNames.count, "1…249 distinct host names")
        Self.removeStale()
        let tag = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)).lowercased()
        let prefix = "tsr-p\(getpid())-\(tag)"
        var rng = SystemRandomNumberGenerator()
        let a = Int.random(in: 100...250, using: &rng), b = Int.random(in: 0...255, using: &rng)
        switchNamespace = "\(prefix)-switch"
        hosts = hostNames.enumerated().map { index, name in
            Host(name: name, namespace: "\(prefix)-h\(index)", address: "10.\(a).\(b).\(index + 1)")
        }
        do {
            try Self.ip(["netns", "add", switchNamespace])
            created.append(switchNamespace)
            try Self.ip(["-n", switchNamespace, "link", "add", "br0", "type", "bridge"])
            try Self.ip(["-n", switchNamespace, "link", "set", "br0", "up"])
            for (index, host) in hosts.enumerated() {
                try Self.ip(["netns", "add", host.namespace])
                created.append(host.namespace)
                // Made in this namespace (names must be unique here, ≤ 15 bytes), then moved.
                let hostEnd = "t\(tag)h\(index)", switchEnd = "t\(tag)s\(index)"
                try Self.ip(["link", "add", hostEnd, "type", "veth", "peer", "name", switchEnd])
                try Self.ip(["link", "set", switchEnd, "netns", switchNamespace])
                try Self.ip(["link", "set", hostEnd, "netns", host.namespace])
                try Self.ip(["-n", switchNamespace, "link", "set", switchEnd, "master", "br0"])
                try Self.ip(["-n", switchNamespace, "link", "set", switchEnd, "up"])
                try Self.ip(["-n", host.namespace, "link", "set", hostEnd, "name", "eth0"])
                try Self.ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                try Self.ip(["-n", host.namespace, "link", "set", "lo", "up"])
                try Self.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
            }
        } catch {
            destroy()
            throw error
        }
    }

    /// The host named `name` (a programming error if there is none).
    func host(_ name: String) -> Host {
        guard let host = hosts.first(where: { $0.name == name }) else { preconditionFailure("no host \(name) in \(hosts.map(\.name))") }
        return host
    }

    /// Sets the link of host `name` down (cut off from every other host) or up again.
    func link(of name: String, up: Bool) throws {
        try Self.ip(["-n", host(name).namespace, "link", "set", "eth0", up ? "up" : "down"])
    }

    /// Arguments for `/usr/sbin/ip` that run `tessera args…` on host `name` (`ip netns exec`,
    /// which execs the command: the `tessera` process is the caller's child).
    func tessera(on name: String, _ args: [String]) -> [String] {
        ["netns", "exec", host(name).namespace, TesseraProcess.executable] + args
    }

    /// Runs `tessera args…` on host `name` to completion.
    func run(on name: String, _ args: [String], timeout: TimeInterval = 300) throws -> TesseraProcess.Output {
        try TesseraProcess.run(tessera(on: name, args), executable: "/usr/sbin/ip", timeout: timeout)
    }

    /// Starts `tessera args…` on host `name` in the background; the caller stops it.
    func start(on name: String, _ args: [String]) throws -> TesseraProcess.Background {
        try TesseraProcess.start(tessera(on: name, args), executable: "/usr/sbin/ip")
    }

    /// Deletes the namespaces (and with them the veth pairs and the bridge).
    func destroy() {
        for ns in created.reversed() { Faults.tool("/usr/sbin/ip", ["netns", "del", ns]) }
        created.removeAll()
    }

    deinit { destroy() }

    private static func ip(_ args: [String]) throws {
        let result = Faults.tool("/usr/sbin/ip", args)
        guard result.status == 0 else { throw SetupError(command: "ip " + args.joined(separator: " "), output: result.output) }
    }

    /// Deletes `tsr-pPID-…` namespaces whose test process is no longer running (a crashed or
    /// killed run never reached `destroy()`); namespaces of live processes are left alone.
    private static func removeStale() {
        let names = Faults.tool("/usr/sbin/ip", ["netns", "list"]).output
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        for name in names {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, parts[0] == "tsr", parts[1].hasPrefix("p"), let pid = pid_t(parts[1].dropFirst()) else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { Faults.tool("/usr/sbin/ip", ["netns", "del", name]) }
        }
    }
}
