import Foundation
import Testing
import TesseraCore
import TesseraStore

/// Spooled work carries checksums: a plane or tile damaged while the coordinator was down is
/// detected after the restart, recorded, and redone — never a crash, never a wrong output.
@Suite(.serialized) struct SpoolIntegrityTests {
    @Test("a corrupt plane and a corrupt tile, damaged between a coordinator kill and its restart, are redone; outputs identical")
    func corruptSpoolIsRedone() throws {
        let tmp = try TemporaryDirectory("spool-corrupt")
        let (farm, out, jobID) = try ChaosTests.Farm.running(tmp, seed: 41)
        defer { farm.stopAll() }

        // Wait for a moment with a decoded frame that has some tiles done and one with none.
        var planeVictim: FrameRecord?, tileVictim: FrameRecord?
        let found = try Faults.poll(upTo: 120) {
            guard let store = try? TesseraStore(path: farm.db) else { return false }
            let frames = try store.frames(of: jobID)
            let developing = frames.filter { $0.state == .developing }
            guard let partly = developing.first(where: { $0.tilesDone >= 2 }),
                  let untouched = developing.last(where: { $0.tilesDone == 0 && $0.id != partly.id })
            else { return false }
            let coordinator = try #require(farm.coordinator)
            kill(coordinator.process.processIdentifier, SIGKILL)
            coordinator.process.waitUntilExit()
            // Read again after the kill: what the dead coordinator committed last.
            let after = try TesseraStore(path: farm.db).frames(of: jobID)
            tileVictim = after.first { $0.id == partly.id && $0.state == .developing && $0.tilesDone >= 1 }
            planeVictim = after.first { $0.id == untouched.id && $0.state == .developing }
            return true
        }
        #expect(found, "no moment with one frame partly tiled and another not started")
        let plane = try #require(planeVictim), tiled = try #require(tileVictim)
        let spool = farm.db + ".spool"

        // Damage the plane: flip bytes in the middle of its samples.
        let planePath = try #require(plane.spoolPath)
        let planeHandle = try FileHandle(forUpdating: URL(fileURLWithPath: planePath))
        try planeHandle.seek(toOffset: 1000)
        try planeHandle.write(contentsOf: Data([0xFF, 0x00, 0xFF, 0x00]))
        try planeHandle.close()
        // Damage a finished tile in the other frame's assembly file.
        let store = try TesseraStore(path: farm.db)
        let doneTile = try #require(try store.tiles(of: tiled.id).first { $0.state == .succeeded })
        let width = try #require(tiled.width)
        let assembly = "\(spool)/frame-\(tiled.id.rawValue).rgb"
        let assemblyHandle = try FileHandle(forUpdating: URL(fileURLWithPath: assembly))
        try assemblyHandle.seek(toOffset: UInt64(((doneTile.core.y + 3) * width + doneTile.core.x + 3) * 6))
        try assemblyHandle.write(contentsOf: Data([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]))
        try assemblyHandle.close()

        try farm.startCoordinator()
        let final = try #require(farm.wait(until: { $0.state.isFinished }))
        #expect(final.state == .succeeded, "\(final.failures)")
        #expect(farm.coordinator?.process.isRunning == true, "the coordinator survived the corrupt spool")

        let corrupt = try Faults.events(farm.db, kind: "spool.corrupt")
        print("spool.corrupt events: \(corrupt.map(\.message))")
        #expect(corrupt.contains { $0.frame == plane.id && $0.message.contains("checksum mismatch") && $0.message.contains("decoding the frame again") })
        #expect(corrupt.contains { $0.frame == tiled.id && $0.message.contains("1 of \(tiled.tilesTotal) tile(s)") })
        // The damaged tile was developed again (a second successful attempt); the re-decoded frame
        // has a fresh set of tiles, each done once.
        let attempts = try store.attempts(of: jobID)
        #expect(attempts.filter { $0.taskID == doneTile.taskID && $0.outcome == .succeeded }.count == 2)
        let decode = try #require(try store.tasks(of: jobID).first { $0.frameID == plane.id && $0.kind == .decode })
        #expect(attempts.filter { $0.taskID == decode.id && $0.outcome == .succeeded }.count == 2, "the frame was decoded again")
        let planeTiles = try store.tiles(of: plane.id)
        #expect(planeTiles.filter { $0.state == .succeeded }.count == plane.tilesTotal, "a fresh set of tiles, all done")
        #expect(planeTiles.filter { $0.state == .cancelled }.count == plane.tilesTotal, "the first set superseded")
        try Faults.expectOutputsMatchDevelop(db: farm.db, job: jobID, out: out, refDir: tmp.sub("ref"))
        #expect(!FileManager.default.fileExists(atPath: planePath), "spool files are removed once the output is recorded")
    }
}
