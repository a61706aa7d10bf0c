import Foundation
import Testing
import Yams

/// deploy/ stays true to the code: every manifest parses, has what a cluster needs, and every
/// `tessera` flag it uses exists in the binary this build made (checked against `--help`).
@Suite struct DeployManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let deploy = root + "/deploy"

    /// All YAML documents under deploy/kubernetes, with the file each came from.
    static func kubernetesDocuments() throws -> [(file: String, doc: [String: Any])] {
        let dir = deploy + "/kubernetes"
        var out: [(String, [String: Any])] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".yaml") {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            for case let doc as [String: Any] in try Yams.load_all(yaml: text) { out.append((name, doc)) }
        }
        return out
    }

    /// The long options `tessera <subcommand> --help` lists.
    static func flags(of subcommand: String) throws -> Set<String> {
        let help = try TesseraProcess.run([subcommand, "--help"])
        #expect(help.status == 0, "tessera \(subcommand) --help: \(help.stderr)")
        let pattern = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*")
        let text = help.stdout
        return Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) })
    }

    /// Checks a `tessera` argument vector (subcommand first) against the binary.
    static func checkArguments(_ args: [String], in file: String) throws {
        guard let subcommand = args.first else { Issue.record("\(file): empty tessera command"); return }
        let known = try flags(of: subcommand)
        for arg in args.dropFirst() where arg.hasPrefix("--") {
            let flag = String(arg.prefix { $0 != "=" })
            #expect(known.contains(flag), "\(file): `tessera \(subcommand) \(flag)` is not an option of this build")
        }
    }

    static func dig(_ value: Any?, _ path: String...) -> Any? {
        var current = value
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }

    @Test("Kubernetes manifests parse and carry what the farm needs")
    func kubernetesManifests() throws {
        let docs = try Self.kubernetesDocuments()
        #expect(!docs.isEmpty)
        for (file, doc) in docs {
            #expect(doc["apiVersion"] is String && doc["kind"] is String, "\(file): apiVersion and kind")
            #expect(Self.dig(doc, "metadata", "name") is String, "\(file): metadata.name")
        }
        func one(_ kind: String, _ name: String) throws -> [String: Any] {
            try #require(docs.first { $0.doc["kind"] as? String == kind && Self.dig($0.doc, "metadata", "name") as? String == name }?.doc,
                         "no \(kind) \(name)")
        }
        let coordinator = try one("StatefulSet", "tessera-coordinator")
        #expect(Self.dig(coordinator, "spec", "replicas") as? Int == 1, "exactly one coordinator")
        #expect((Self.dig(coordinator, "spec", "volumeClaimTemplates") as? [Any])?.isEmpty == false, "a persistent volume for SQLite and the spool")
        let worker = try one("Deployment", "tessera-worker")
        let workerPod = try #require(Self.dig(worker, "spec", "template", "spec") as? [String: Any])
        #expect((workerPod["terminationGracePeriodSeconds"] as? Int ?? 0) >= 60, "time for a drain")
        #expect(Self.dig(workerPod, "affinity", "podAntiAffinity") != nil, "workers spread over nodes")
        _ = try one("Service", "tessera-coordinator")
        _ = try one("ScaledObject", "tessera-worker")

        // Every container's tessera invocation is valid for this build, and has resource requests.
        for (file, doc) in docs {
            guard let containers = Self.dig(doc, "spec", "template", "spec", "containers") as? [[String: Any]] else { continue }
            for container in containers {
                #expect(Self.dig(container, "resources", "requests") != nil, "\(file): \(container["name"] ?? "?") has resource requests")
                if let args = container["args"] as? [String] { try Self.checkArguments(args, in: file) }
            }
        }
    }

    @Test("systemd units run options this build has")
    func systemdUnits() throws {
        let dir = Self.deploy + "/systemd"
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".service") {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8).replacingOccurrences(of: "\\\n", with: " ")
            let exec = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }, "\(name): ExecStart")
            let words = exec.split(separator: " ").map(String.init)
            #expect(words.first?.hasSuffix("/tessera") == true, "\(name) runs tessera")
            try Self.checkArguments(Array(words.dropFirst()), in: name)
        }
    }

    @Test("the container file copies files that exist and installs runtime packages Debian 12 has")
    func containerFile() throws {
        let text = try String(contentsOfFile: Self.deploy + "/container/Containerfile", encoding: .utf8)
        #expect(text.components(separatedBy: "\nFROM ").count >= 3, "multi-stage: a build and a runtime stage")
        for line in text.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let sources = line.split(separator: " ").dropFirst().dropLast()
            for source in sources {
                #expect(FileManager.default.fileExists(atPath: Self.root + "/" + source), "Containerfile copies \(source), which does not exist")
            }
        }
        // The runtime stage's packages must exist in this Debian's archive (apt-cache is offline).
        let runtime = try #require(text.components(separatedBy: "AS runtime").last)
        let install = try #require(runtime.components(separatedBy: "--no-install-recommends").dropFirst().first?
            .components(separatedBy: "&&").first)
        let packages = install.split(whereSeparator: { $0 == " " || $0 == "\\" || $0 == "\n" }).map(String.init).filter { !$0.isEmpty }
        #expect(packages.contains("libzmq5") && packages.contains("libraw20"))
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-cache") else { return }
        // One query for all (apt-cache skips unknown names silently when given several, so
        // compare the names it describes with the names asked for).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/apt-cache")
        process.arguments = ["show", "--no-all-versions"] + packages
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let listing = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let described = Set(listing.split(separator: "\n").filter { $0.hasPrefix("Package: ") }.map { String($0.dropFirst(9)) })
        #expect(Set(packages).subtracting(described).isEmpty,
                "Containerfile runtime packages unknown to apt: \(Set(packages).subtracting(described).sorted())")
    }
}
