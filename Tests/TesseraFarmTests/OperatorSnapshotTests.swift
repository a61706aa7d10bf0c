import Foundation
import Testing
import TesseraCore

/// Snapshots of the operator commands' `--help` and of the shape of their `--json` documents
/// (Tests/Snapshots/operator). Regenerate with `TESSERA_UPDATE_SNAPSHOTS=1` after an
/// intended change, and review the diff: these texts and schemas are a contract.
@Suite struct OperatorSnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Snapshots/operator").path
    static let updating = ProcessInfo.processInfo.environment["TESSERA_UPDATE_SNAPSHOTS"] == "1"

    static func check(_ actual: String, _ name: String) throws {
        let path = directory + "/" + name
        if updating {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "snapshot \(name) differs (TESSERA_UPDATE_SNAPSHOTS=1 regenerates it)")
    }

    static let commands = ["jobs", "job", "workers", "events", "watch", "cancel", "pause", "resume", "retry", "priority", "drain",
                           "completions", "man", "status"]

    @Test("--help of every operator command", arguments: commands)
    func help(_ command: String) throws {
        let result = try TesseraProcess.run([command, "--help"])
        #expect(result.status == 0)
        try Self.check(result.stdout, "help-\(command).txt")
    }

    @Test("the man page and shell completions are generated from the command tree")
    func manAndCompletions() throws {
        let man = try TesseraProcess.run(["man"])
        #expect(man.status == 0)
        #expect(man.stdout.hasPrefix(".TH TESSERA 1"))
        for command in Self.commands where command != "status" {
            #expect(man.stdout.contains(".SS \(command)\n"), "man page lacks \(command)")
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = try TesseraProcess.run(["completions", shell])
            #expect(script.status == 0)
            #expect(script.stdout.contains("watch") && script.stdout.contains("drain"), "\(shell) completion lacks commands")
        }
        #expect(try TesseraProcess.run(["completions", "tcsh"]).status != 0)
    }

    /// The document with volatile values (times, rates, hosts, temp paths) replaced by their type.
    static func shape(_ text: String, tmp: String) throws -> String {
        let volatile: Set<String> = [
            "now", "createdAt", "startedAt", "finishedAt", "megapixelsPerSecond", "etaSeconds", "registeredAt", "lastHeartbeat",
            "secondsSinceHeartbeat", "tasksPerMinute", "busy", "at", "host", "bytes", "megapixelsDone",
        ]
        func normalise(_ value: Any, key: String?) -> Any {
            if let key, volatile.contains(key) { return value is NSNull ? "<null>" : "<\(key)>" }
            if let dict = value as? [String: Any] {
                return Dictionary(uniqueKeysWithValues: dict.map { ($0.key, normalise($0.value, key: $0.key)) })
            }
            if let array = value as? [Any] { return array.map { normalise($0, key: nil) } }
            if let string = value as? String { return string.replacingOccurrences(of: tmp, with: "$TMP") }
            return value
        }
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let data = try JSONSerialization.data(withJSONObject: normalise(object, key: nil), options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    @Test("--json documents of jobs, job, workers, events and steering keep their schema")
    func jsonDocuments() throws {
        let farm = try OperatorTests.Farm("ops-json")
        let job = try farm.submit(try farm.synth("j", frames: 2, size: "256x192", seed: 71))
        try farm.startWorker("snapshot-worker")
        try farm.waitFor(60, "the job to finish") { try farm.job(job).state.isFinished }
        let tmp = farm.tmp.path
        func json(_ args: [String]) throws -> String {
            let result = try farm.cli(args)
            #expect(result.status == 0, "\(args): \(result.stderr)")
            return try Self.shape(result.stdout, tmp: tmp)
        }
        try Self.check(try json(["jobs", "--json"]), "json-jobs.json")
        try Self.check(try json(["job", "\(job)", "--json"]), "json-job.json")
        try Self.check(try json(["workers", "--json"]), "json-workers.json")
        try Self.check(try json(["priority", "\(job)", "3", "--json"]), "json-priority.json")
        try Self.check(try json(["status", "\(job)", "--json"]), "json-status.json")
        let events = try farm.cli(["events", "\(job)", "--json"])
        let first = try #require(events.stdout.split(separator: "\n").first)
        // Events differ run to run in order and wording: their keys are the contract.
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]).keys.sorted()
        try Self.check(keys.joined(separator: "\n") + "\n", "json-event-keys.txt")
    }
}
