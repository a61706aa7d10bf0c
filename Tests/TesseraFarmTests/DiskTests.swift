import Foundation
import GRDB
import Testing
import TesseraCore
import TesseraImaging
import TesseraStore

/// The coordinator's disks misbehaving: the output disk fills up, another process locks the
/// database. Frames wait and retry; nothing partial is left; nothing fails for good.
@Suite(.serialized) struct DiskTests {
    @Test("output disk full: frames retry later with output.write-failed, no partial file, and complete once space is freed",
          .enabled(if: Faults.canMountTmpfs, "needs root with CAP_SYS_ADMIN to mount a tmpfs (skipped: not permitted here)"))
    func outputDiskFull() throws {
        let tmp = try TemporaryDirectory("disk-full")
        let shoot = tmp.sub("shoot"), disk = tmp.sub("disk"), ref = tmp.sub("ref")
        let tiledOut = disk + "/tiled", wholeOut = disk + "/whole"
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "4", "--size", "640x480", "--seed", "61"]).status == 0)
        // The size of one output, from a reference develop.
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: shoot).filter { $0.hasSuffix(".dng") }.sorted().first)
        let stem = (first as NSString).deletingPathExtension
        #expect(try TesseraProcess.run(["develop", shoot + "/" + first, "--out", "\(ref)/\(stem).tif", "--format", "tiff"]).status == 0)
        let outputBytes = try FileManager.default.attributesOfItem(atPath: "\(ref)/\(stem).tif")[.size] as! Int

        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let size = (outputBytes * 10 / 4096 + 16) * 4096  // room for all 8 outputs once the ballast goes
        let mounted = Faults.tool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", disk])
        try #require(mounted.status == 0, "mount: \(mounted.output)")
        defer { Faults.tool("/usr/bin/umount", ["-l", disk]) }
        for dir in [tiledOut, wholeOut] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        // Ballast leaves room for about 1.5 outputs; two jobs (tiled and whole-frame) want 8.
        var fs = statvfs()
        #expect(statvfs(disk, &fs) == 0)
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        let ballast = disk + "/ballast"
        #expect(FileManager.default.createFile(atPath: ballast, contents: Data(count: max(0, free - outputBytes * 3 / 2))))

        let farm = try ChaosTests.Farm(tmp)
        defer { farm.stopAll() }
        try farm.startCoordinator(extra: ["--retry-backoff-ms", "100", "--liveness-beats", "25"])
        _ = try farm.startWorker("w1")
        _ = try farm.startWorker("w2")
        let tiled = try farm.submit(shoot, out: tiledOut)
        let wholeSubmit = try TesseraProcess.run(["submit", shoot, "--out", wholeOut, "--format", "tiff",
                                                  "--coordinator", farm.controlEndpoint] + farm.keys.operatorArgs)
        #expect(wholeSubmit.status == 0, "\(wholeSubmit.stderr)")
        let whole = JobID(try #require(Int64(wholeSubmit.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))

        // Both paths hit the full disk: assembly of a tiled frame, and a whole frame from a worker.
        let store = try TesseraStore(path: farm.db)
        let bothFailed = try Faults.poll(upTo: 120) {
            let failed = try store.events(job: nil, after: 0, limit: 100_000).filter { $0.kind == "output.write-failed" }
            return failed.contains { $0.task == nil } && failed.contains { $0.task != nil }
        }
        let failures = try Faults.events(farm.db, kind: "output.write-failed")
        print("output.write-failed events before space is freed: \(failures.count); first: \(failures.first?.message ?? "-")")
        #expect(bothFailed, "expected write failures on both the assembly and the whole-frame path")
        #expect(failures.allSatisfy { $0.message.contains("No space left on device") }, "\(failures.map(\.message))")
        // Nothing partial under an output's name: every visible file is a complete output (a
        // hidden temporary file may exist at this moment: a retry is being written).
        for dir in [tiledOut, wholeOut] {
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) where !name.hasPrefix(".") {
                #expect(!name.contains(".tmp"), "a temporary name without the hidden prefix in \(dir): \(name)")
                #expect(try ImageReader.read(path: "\(dir)/\(name)").width > 0, "\(name) is not a complete image")
            }
        }
        #expect(try store.frames(of: tiled).allSatisfy { $0.state != .failed } && store.frames(of: whole).allSatisfy { $0.state != .failed },
                "a full disk must not fail frames")

        try FileManager.default.removeItem(atPath: ballast)
        let done = try Faults.poll(upTo: 180) {
            try store.jobSummaries(nil).allSatisfy { $0.state.isFinished }
        }
        #expect(done, "the jobs did not finish after space was freed")
        if !done {
            for job in [tiled, whole] {
                let open = try store.tasks(of: job).filter { $0.state != .succeeded }
                let openAttempts = try store.attempts(of: job).filter { a in open.contains { $0.id == a.taskID } }
                Issue.record("job \(job): open tasks \(open); attempts \(openAttempts)")
            }
        }
        for job in [tiled, whole] {
            #expect(try store.jobSummaries(job).first?.state == .succeeded)
        }
        // Once done, no temporary file is left behind.
        for dir in [tiledOut, wholeOut] {
            let listing = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(!listing.contains { $0.hasPrefix(".") || $0.contains(".tmp") }, "temporary files left in \(dir): \(listing)")
        }
        try Faults.expectOutputsMatchDevelop(db: farm.db, job: tiled, out: tiledOut, refDir: ref)
        try Faults.expectOutputsMatchDevelop(db: farm.db, job: whole, out: wholeOut, refDir: ref)
        #expect(try store.badWorkers(of: tiled).isEmpty && store.badWorkers(of: whole).isEmpty, "the full disk is not the workers' fault")
    }

    @Test("another process holds the database's write lock past the busy timeout: the coordinator waits, retries, and the job succeeds")
    func databaseLockedByAnotherProcess() throws {
        let tmp = try TemporaryDirectory("db-busy")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "62"]).status == 0)
        let farm = try ChaosTests.Farm(tmp)
        defer { farm.stopAll() }
        // 300 ms busy timeout: the lock below outlasts it ten times over. A 10 s liveness window:
        // this test is about the database, not about heartbeats delayed by blocked calls.
        try farm.startCoordinator(extra: ["--db-busy-timeout-ms", "300", "--heartbeat-ms", "500", "--liveness-beats", "20"])
        _ = try farm.startWorker("w1")
        _ = try farm.startWorker("w2")
        let jobID = try farm.submit(shoot, out: out)
        _ = farm.wait(until: { $0.taskCounts[.succeeded, default: 0] >= 20 })

        // This test process is the second process: it takes the write lock and keeps it 3 s. A
        // separate reader (WAL readers are never blocked) sees that nothing commits meanwhile.
        var readOnly = Configuration()
        readOnly.readonly = true
        let reader = try DatabaseQueue(path: farm.db, configuration: readOnly)
        func committed() throws -> Int { try reader.read { try Int.fetchOne($0, sql: "SELECT sum(tasks_succeeded) FROM jobs") ?? 0 } }
        var locker = Configuration()
        locker.busyMode = .timeout(30)  // wait for the coordinator's own write to finish first
        let queue = try DatabaseQueue(path: farm.db, configuration: locker)
        var before = 0, during = 0
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            before = try committed()
            Thread.sleep(forTimeInterval: 3)  // the fault: a lock held for 3 s (not synchronisation)
            during = try committed()
            try db.execute(sql: "ROLLBACK")
        }
        try queue.close()
        try reader.close()
        #expect(during == before, "nothing could be committed while the lock was held")

        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded, "\(final.failures)")
        #expect(farm.coordinator?.process.isRunning == true, "the coordinator survived the locked database")
        let busy = try Faults.events(farm.db, kind: "store.busy")
        print("store.busy events: \(busy.count); first: \(busy.first?.message ?? "-")")
        #expect(!busy.isEmpty, "results arrived during the lock, so some were retried")
        let store = try TesseraStore(path: farm.db)
        let attempts = try store.attempts(of: jobID)
        #expect(!attempts.contains { $0.errorCode == "payloadCorrupt" }, "no result was rejected because the database was busy")
        #expect(attempts.filter { $0.outcome == .succeeded }.count == (try store.tasks(of: jobID)).count, "every task succeeded once")
        try Faults.expectOutputsMatchDevelop(db: farm.db, job: jobID, out: out, refDir: tmp.sub("ref"))
    }
}
