import Foundation
import Testing
import TesseraCoordinator
import TesseraCore
import TesseraStore

/// The SIGBUS guard of mapped spool files: a page that cannot be read kills the process once,
/// the file is journalled and set aside at the next start, and the work is redone — never a
/// crash loop (docs/reliability.md, "Spool checksums").
@Suite(.serialized) struct SpoolGuardTests {
    /// The journal's lines (nil when there is no journal).
    static func journal(_ spool: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: spool + "/poisoned.journal") else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("a spool plane truncated underneath its mapping: the process dies of SIGBUS, the journal names the file")
    func truncatedPlaneIsJournalled() throws {
        let tmp = try TemporaryDirectory("sigbus-probe")
        let spool = tmp.sub("spool")
        let probe = try TesseraProcess.run(["spool-sigbus-probe", "--spool", spool])
        #expect(probe.stdout.contains("mapped \(spool)/frame-1.cfa"), "\(probe.stdout)\(probe.stderr)")
        #expect(probe.uncaughtSignal && probe.status == SIGBUS, "status \(probe.status), signal \(probe.uncaughtSignal): \(probe.stdout)")
        #expect(Self.journal(spool) == ["\(spool)/frame-1.cfa"])
    }

    @Test("a SIGBUS in a mapping the guard does not know: the process dies the same way, nothing journalled")
    func unregisteredMappingIsNotJournalled() throws {
        let tmp = try TemporaryDirectory("sigbus-probe-bare")
        let spool = tmp.sub("spool")
        let probe = try TesseraProcess.run(["spool-sigbus-probe", "--spool", spool, "--unregistered"])
        #expect(probe.stdout.contains("(unregistered)"), "\(probe.stdout)\(probe.stderr)")
        #expect(probe.uncaughtSignal && probe.status == SIGBUS, "status \(probe.status), signal \(probe.uncaughtSignal): \(probe.stdout)")
        #expect(Self.journal(spool) == [])
    }

    @Test("the journal moves only spool files of its own spool, ignores a torn last line, and is emptied at start")
    func journalEntriesAreTrustedOnlyAsSpoolFileNames() throws {
        let tmp = try TemporaryDirectory("sigbus-journal")
        var config = CoordinatorConfig(taskEndpoint: "ipc://\(tmp.sub("tasks.ipc"))", controlEndpoint: nil, databasePath: tmp.sub("c.db"))
        config.security = .insecure
        let spool = config.spoolDirectory
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        // A poisoned plane of this spool (listed under another directory: only its name counts),
        // a file outside the spool, a non-spool file inside it, and a line cut short by the crash.
        let plane = spool + "/frame-9.cfa", outside = tmp.sub("precious"), inside = spool + "/notes.txt", torn = spool + "/frame-8.rgb"
        for path in [plane, outside, inside, torn] { #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))) }
        // The torn entry has no newline: the crash cut it short.
        let lines = ["/old/place/frame-9.cfa", outside, inside, "\(spool)/poisoned.journal"].joined(separator: "\n") + "\n" + torn
        try Data(lines.utf8).write(to: URL(fileURLWithPath: spool + "/poisoned.journal"))

        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        coordinator.stop()
        #expect(SpoolGuard.isInstalled)
        #expect(!FileManager.default.fileExists(atPath: plane))
        #expect(FileManager.default.fileExists(atPath: spool + "/quarantine/frame-9.cfa"))
        for kept in [outside, inside, torn] { #expect(FileManager.default.fileExists(atPath: kept), "\(kept) was moved") }
        #expect(Self.journal(spool) == [])
        let events = try Faults.events(config.databasePath, kind: "spool.corrupt")
        #expect(events.count == 1 && events[0].message.contains("frame-9.cfa raised SIGBUS"), "\(events.map(\.message))")
    }

    @Test("a plane and an assembly file whose pages cannot be read: one coordinator crash per file, then the work is redone; outputs identical")
    func unreadableSpoolFilesAreSetAside() throws {
        let tmp = try TemporaryDirectory("sigbus-farm")
        let (farm, out, jobID) = try ChaosTests.Farm.running(tmp, seed: 43)
        defer { farm.stopAll() }

        // Stop the coordinator at a moment with a frame partly tiled (an assembly file) and one
        // decoded but not tiled yet (a plane no tile was cut from).
        var planeVictim: FrameRecord?, assemblyVictim: FrameRecord?
        let found = try Faults.poll(upTo: 120) {
            guard let store = try? TesseraStore(path: farm.db) else { return false }
            let developing = try store.frames(of: jobID).filter { $0.state == .developing }
            guard let partly = developing.first(where: { $0.tilesDone >= 2 }),
                  let untouched = developing.last(where: { $0.tilesDone == 0 && $0.id != partly.id })
            else { return false }
            let coordinator = try #require(farm.coordinator)
            kill(coordinator.process.processIdentifier, SIGKILL)
            coordinator.process.waitUntilExit()
            let after = try TesseraStore(path: farm.db).frames(of: jobID)
            assemblyVictim = after.first { $0.id == partly.id && $0.state == .developing && $0.tilesDone >= 1 }
            planeVictim = after.first { $0.id == untouched.id && $0.state == .developing && $0.tilesDone == 0 }
            return true
        }
        #expect(found, "no moment with one frame partly tiled and another not started")
        let plane = try #require(planeVictim), assembled = try #require(assemblyVictim)
        let spool = farm.db + ".spool"
        let planePath = try #require(plane.spoolPath), assemblyPath = "\(spool)/frame-\(assembled.id.rawValue).rgb"
        let doneTile = try #require(try TesseraStore(path: farm.db).tiles(of: assembled.id).first { $0.state == .succeeded })
        func inode(_ path: String) throws -> UInt64 {
            var st = stat()
            try #require(stat(path, &st) == 0, "\(path) is missing")
            return UInt64(st.st_ino)
        }
        // From now on every mapping of these two files faults, as if their sectors could not be read.
        let badDisk = ["TESSERA_TEST_SPOOL_UNREADABLE_INODES": "\(try inode(planePath)),\(try inode(assemblyPath))"]

        // Each start either finishes the job or dies of SIGBUS on a bad file; without the guard
        // (or without setting the files aside) it would die on the same file at every start.
        var crashes = 0
        var final: JobSummary?
        for _ in 0..<4 {
            let coordinator = try TesseraProcess.start([
                "coordinator", "--listen", farm.taskEndpoint, "--control", farm.controlEndpoint, "--db", farm.db,
                "--heartbeat-ms", "200", "--liveness-beats", "5", "--log-level", "error",
            ] + farm.keys.coordinatorArgs, environment: badDisk)
            farm.coordinator = coordinator
            let settled = Faults.poll(upTo: 120) { !coordinator.process.isRunning || farm.progress()?.state.isFinished == true }
            #expect(settled, "the coordinator neither finished the job nor died")
            if coordinator.process.isRunning {
                final = farm.progress()
                break
            }
            coordinator.process.waitUntilExit()
            #expect(coordinator.process.terminationReason == .uncaughtSignal && coordinator.process.terminationStatus == SIGBUS,
                    "the coordinator exited with \(coordinator.process.terminationStatus): \(coordinator.stderr.wait().suffix(2000))")
            crashes += 1
        }
        print("coordinator crashes: \(crashes)")
        #expect((1...2).contains(crashes), "one crash per bad file at most, then the work is redone")
        #expect(final?.state == .succeeded, "\(String(describing: final?.failures))")
        #expect(farm.coordinator?.process.isRunning == true, "the coordinator runs on after the bad files were set aside")

        // Both files were set aside unread (kept in quarantine, inodes and all), the journal emptied.
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: spool + "/quarantine")
        #expect(quarantined.contains("frame-\(plane.id.rawValue).cfa"), "\(quarantined)")
        #expect(quarantined.contains("frame-\(assembled.id.rawValue).rgb"), "\(quarantined)")
        #expect(Self.journal(spool) == [])
        let corrupt = try Faults.events(farm.db, kind: "spool.corrupt")
        print("spool.corrupt events: \(corrupt.map(\.message))")
        #expect(corrupt.contains { $0.frame == plane.id && $0.message.contains("raised SIGBUS") && $0.job == jobID })
        #expect(corrupt.contains { $0.frame == assembled.id && $0.message.contains("raised SIGBUS") && $0.job == jobID })
        // The plane's frame was decoded again; the assembled frame's tiles were developed again.
        let store = try TesseraStore(path: farm.db)
        let attempts = try store.attempts(of: jobID)
        let decode = try #require(try store.tasks(of: jobID).first { $0.frameID == plane.id && $0.kind == .decode })
        #expect(attempts.filter { $0.taskID == decode.id && $0.outcome == .succeeded }.count == 2, "the frame was decoded again")
        #expect(attempts.filter { $0.taskID == doneTile.taskID && $0.outcome == .succeeded }.count == 2, "the tiles were developed again")
        try Faults.expectOutputsMatchDevelop(db: farm.db, job: jobID, out: out, refDir: tmp.sub("ref"))
    }
}
