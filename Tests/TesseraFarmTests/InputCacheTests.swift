import Foundation
import Testing
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWorker

/// The content-addressed input cache: workers keep the planes they decoded, the coordinator
/// references them instead of sending tile and merge windows, and a miss is resent inline.
@Suite struct PlaneCacheTests {
    private static func plane(width: Int, height: Int, seed: UInt64) -> [UInt16] {
        var rng = SplitMix64(seed: seed)
        return (0..<(width * height)).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
    }

    private static func insert(_ cache: PlaneCache, _ samples: [UInt16], width: Int, height: Int) -> TaskContract.PlaneReference {
        let bytes = SampleBytes.bytes(of: samples)
        let reference = TaskContract.PlaneReference(length: bytes.count, checksum: XXH3.hash(bytes), width: width, height: height)
        cache.insert(samples, width: width, height: height, length: reference.length, checksum: reference.checksum)
        return reference
    }

    @Test("referenced windows are cut byte-identically to Developer.window (reflect-101 past the edges) and fill their slots")
    func resolveCutsWindows() throws {
        let cache = PlaneCache(capacityBytes: 1 << 20)
        #expect(cache.capability == "cache-bytes=1048576")
        let samples = Self.plane(width: 40, height: 30, seed: 1)
        let plane = Self.insert(cache, samples, width: 40, height: 30)
        let rect = PixelRect(x: -6, y: 20, width: 20, height: 16)  // past the left and bottom edges
        let parameters = TaskContract.encode(TaskContract.CachedInputs(cachedInputs: [.init(slot: 1, plane: plane, rect: rect)]))
        let resolved = try cache.resolve(parameters: parameters, payloads: [[1, 2], [3, 4]])
        let expected = SampleBytes.bytes(of: Developer.window(rect, of: RawPlane(width: 40, height: 30, pixels: samples)).pixels)
        #expect(resolved.count == 3)
        #expect(resolved[0] == [1, 2] && resolved[2] == [3, 4])
        #expect(resolved[1] == expected)
        #expect(cache.statistics.hits == 1)
        // A document without references leaves the payloads alone.
        #expect(try cache.resolve(parameters: Array(#"{"core":{}}"#.utf8), payloads: [[9]]) == [[9]])
        // A slot past the inputs is refused, not guessed.
        let bad = TaskContract.encode(TaskContract.CachedInputs(cachedInputs: [.init(slot: 5, plane: plane, rect: rect)]))
        #expect(throws: TaskContractError.self) { try cache.resolve(parameters: bad, payloads: []) }
    }

    @Test("the cache is bounded in bytes, least recently used out; a plane it does not hold is a Miss")
    func lruAndMiss() throws {
        let bytes = 16 * 16 * 2
        let cache = PlaneCache(capacityBytes: 2 * bytes)
        let a = Self.insert(cache, Self.plane(width: 16, height: 16, seed: 2), width: 16, height: 16)
        let b = Self.insert(cache, Self.plane(width: 16, height: 16, seed: 3), width: 16, height: 16)
        let use = TaskContract.encode(TaskContract.CachedInputs(cachedInputs: [
            .init(slot: 0, plane: a, rect: PixelRect(x: 0, y: 0, width: 4, height: 4))]))
        _ = try cache.resolve(parameters: use, payloads: [])  // a is now the most recently used
        let c = Self.insert(cache, Self.plane(width: 16, height: 16, seed: 4), width: 16, height: 16)
        #expect(cache.contains(length: a.length, checksum: a.checksum))
        #expect(!cache.contains(length: b.length, checksum: b.checksum), "b was the least recently used")
        #expect(cache.contains(length: c.length, checksum: c.checksum))
        #expect(cache.statistics.bytes == 2 * bytes)
        let missing = TaskContract.encode(TaskContract.CachedInputs(cachedInputs: [
            .init(slot: 0, plane: b, rect: PixelRect(x: 0, y: 0, width: 4, height: 4))]))
        let miss = #expect(throws: PlaneCache.Miss.self) { try cache.resolve(parameters: missing, payloads: []) }
        #expect(miss?.description.contains("cache miss") == true)
        #expect(cache.statistics.misses == 1)
        // Disabled: keeps nothing, advertises nothing.
        let off = PlaneCache(capacityBytes: 0)
        _ = Self.insert(off, Self.plane(width: 16, height: 16, seed: 5), width: 16, height: 16)
        #expect(off.capability == nil && off.statistics.planes == 0)
    }

    @Test("a plane reference survives the parameters document round trip (64-bit hashes included)")
    func referenceRoundTrip() throws {
        let reference = TaskContract.PlaneReference(length: 24_000_000, checksum: 0xFEDC_BA98_7654_3210, width: 4000, height: 3000)
        let document = TaskContract.encode(TaskContract.CachedInputs(cachedInputs: [
            .init(slot: 3, plane: reference, rect: PixelRect(x: -8, y: 2, width: 100, height: 50))]))
        let back = try TaskContract.decode(TaskContract.CachedInputs.self, from: document)
        #expect(back.cachedInputs?.first?.plane == reference)
    }
}

/// Whole farms (`tessera run`) with the cache on, off, and missing on purpose.
@Suite(.serialized) struct InputCacheFarmTests {
    struct CacheLine {
        var windows: Int
        var misses: Int
        var sent: Int
        var saved: Int
    }

    /// Parses `tessera run`'s "input cache: …" line.
    static func cacheLine(_ stderr: String) throws -> CacheLine {
        let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("input cache:") }, "no cache line in: \(stderr)")
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count >= 4, "cache line: \(line)")
        return CacheLine(windows: numbers[0], misses: numbers[1], sent: numbers[2], saved: numbers[3])
    }

    static func files(_ directory: String) throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\($0)"))) })
    }

    @Test("a tiled job with the cache: windows referenced, bytes saved, outputs byte-identical to --cache-mb 0 (which saves nothing); misses resent inline without a failed attempt")
    func tiledJob() throws {
        let tmp = try TemporaryDirectory("cache-tiled")
        let shoot = tmp.sub("shoot")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "4", "--size", "320x240", "--seed", "61"]).status == 0)
        // Tile 128: 3×2 develop tiles per frame.
        func run(_ name: String, _ extra: [String]) throws -> (CacheLine, [String: Data], TesseraStore) {
            let out = tmp.sub(name), db = tmp.sub("\(name).db")
            let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--tile-size", "128", "--format", "tiff",
                                              "--db", db] + extra)
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            return (try Self.cacheLine(run.stderr), try Self.files(out), try TesseraStore(path: db))
        }
        let (on, onFiles, _) = try run("on", ["--cache-mb", "64"])
        let (off, offFiles, _) = try run("off", ["--cache-mb", "0"])
        #expect(on.windows > 0 && on.saved > 0 && on.misses == 0, "cache on: \(on)")
        #expect(off.windows == 0 && off.saved == 0 && off.misses == 0, "cache off: \(off)")
        // What the cache saves is exactly what was not sent.
        #expect(on.sent + on.saved == off.sent, "on \(on) vs off \(off)")
        #expect(onFiles.count == 4 && onFiles == offFiles, "outputs differ with the cache on")

        // Workers that forget each plane after one window: the coordinator's references miss,
        // every miss is resent inline to the same worker, the job succeeds byte-identically,
        // and no attempt failed or was repeated.
        let (missing, missFiles, store) = try run("miss", ["--cache-mb", "64", "--cache-forget-after", "1"])
        #expect(missing.misses > 0, "no cache miss: \(missing)")
        #expect(missing.windows > 0 && missing.sent + missing.saved == off.sent, "miss run: \(missing)")
        #expect(missFiles == offFiles, "outputs differ after cache misses")
        let job = try #require(try store.jobSummaries(nil).first)
        #expect(job.state == .succeeded)
        let tasks = try store.tasks(of: job.id)
        #expect(tasks.allSatisfy { $0.state == .succeeded && $0.attempts == 1 }, "attempts: \(tasks.map(\.attempts))")
        let attempts = try store.attempts(of: job.id)
        #expect(attempts.count == tasks.count && attempts.allSatisfy { $0.outcome == .succeeded })
    }

    @Test("a burst merged on 3 workers with the cache: member windows referenced, outputs byte-identical to --cache-mb 0")
    func burstJob() throws {
        let tmp = try TemporaryDirectory("cache-burst")
        let shoot = tmp.sub("shoot")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--burst-size", "6", "--size", "320x240", "--iso", "3200",
                                        "--seed", "62"]).status == 0)
        func run(_ name: String, _ extra: [String]) throws -> (CacheLine, [String: Data]) {
            let out = tmp.sub(name)
            let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "3", "--merge-bursts", "--tile-size", "128",
                                              "--format", "tiff", "--db", tmp.sub("\(name).db")] + extra)
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            return (try Self.cacheLine(run.stderr), try Self.files(out))
        }
        let (on, onFiles) = try run("on", [])
        let (off, offFiles) = try run("off", ["--cache-mb", "0"])
        #expect(on.windows > 0 && on.saved > 0, "cache on: \(on)")
        #expect(off.windows == 0 && off.saved == 0, "cache off: \(off)")
        #expect(on.sent + on.saved == off.sent, "on \(on) vs off \(off)")
        #expect(onFiles.keys.sorted() == ["IMG_0001-merged.dng", "IMG_0001-merged.tif"])
        #expect(onFiles == offFiles, "outputs differ with the cache on")
    }
}
