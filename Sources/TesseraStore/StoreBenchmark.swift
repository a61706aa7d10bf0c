import Foundation
import TesseraCore

/// Throughput of the store's hot paths on a real file, for `docs/store.md` and for the lead to
/// re-run on a target machine. Prints nothing; returns figures.
public enum StoreBenchmark {
    /// Measured rates, in operations per second of wall time.
    public struct Report: Sendable, CustomStringConvertible {
        /// Tasks per job measured.
        public var tasks: Int
        public var durability: StoreOptions.Durability
        /// `createJob` with `tasks` frames (one transaction: `tasks` frame rows + `tasks` decode tasks).
        public var createJobTasksPerSecond: Double
        /// Tile task inserts through `recordDecoded` (one transaction per frame of `tilesPerFrame` tiles).
        public var tileInsertsPerSecond: Double
        /// Tasks handed out by `claimTasks(worker:limit:)` in a loop (one transaction per claim).
        public var claimedPerSecond: Double
        /// Tiles recorded by `recordTilesDone` in batches of `batch` (one transaction per batch).
        public var completedPerSecond: Double
        /// Claim and completion batch size.
        public var batch: Int

        public var description: String {
            func f(_ v: Double) -> String { String(format: "%9.0f", v) }
            return """
                store benchmark (\(tasks) tasks, batch \(batch), synchronous=\(durability == .full ? "FULL" : "NORMAL")):
                  createJob        \(f(createJobTasksPerSecond)) tasks/s
                  tile inserts     \(f(tileInsertsPerSecond)) tasks/s
                  claimTasks       \(f(claimedPerSecond)) tasks/s
                  recordTilesDone  \(f(completedPerSecond)) tasks/s
                """
        }
    }

    /// Runs the benchmark in a fresh database file inside `directory` (which must exist; the
    /// file is left there). A job of `tasks / tilesPerFrame` frames is created, every frame is
    /// decoded into `tilesPerFrame` tiles, then every tile is claimed `batch` at a time and
    /// completed `batch` at a time. `tasks` must be a multiple of `tilesPerFrame`.
    public static func run(directory: String, tasks: Int = 100_000, tilesPerFrame: Int = 1_000,
                           batch: Int = 64, durability: StoreOptions.Durability = .full) throws(StoreError) -> Report {
        precondition(tasks > 0 && tilesPerFrame > 0 && tasks % tilesPerFrame == 0 && batch > 0)
        func seconds(_ body: () throws(StoreError) -> Void) throws(StoreError) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        func job(_ name: String) -> NewJob {
            NewJob(name: name, captureDir: "/bench/\(name)", outputDir: "/bench/out", recipeName: "standard",
                   recipeDocument: #"{"recipe":"standard"}"#, recipeHash: "0", tileSize: 256, format: "jpeg")
        }
        let path = (directory as NSString).appendingPathComponent("bench-\(UUID().uuidString).sqlite")
        let store = try TesseraStore(path: path, options: StoreOptions(durability: durability))
        let worker = try store.registerWorker(name: "bench", host: "localhost", cores: 2, memoryBytes: 1 << 30,
                                              slots: batch, version: "bench")

        // 1. createJob with `tasks` frames (tasks decode tasks) in one transaction.
        let bigFrames = (0..<tasks).map { NewFrame(path: "/bench/f\($0).dng", stem: "f\($0)", byteCount: 1 << 20) }
        var bigJob = JobID(0)
        let createSeconds = try seconds { () throws(StoreError) in bigJob = try store.createJob(job("big"), frames: bigFrames) }
        try store.cancelJob(bigJob)

        // 2. A job whose frames decode into `tilesPerFrame` tiles each.
        let frameCount = tasks / tilesPerFrame
        let side = Int(Double(tilesPerFrame).squareRoot().rounded(.up))
        let tiles = (0..<tilesPerFrame).map { PixelRect(x: ($0 % side) * 16, y: ($0 / side) * 16, width: 16, height: 16) }
        let jobID = try store.createJob(job("tiles"), frames: (0..<frameCount).map {
            NewFrame(path: "/bench/t\($0).dng", stem: "t\($0)", byteCount: 1 << 20)
        })
        let decodes = try store.claimTasks(worker: worker, limit: frameCount)
        let insertSeconds = try seconds { () throws(StoreError) in
            for d in decodes {
                _ = try store.recordDecoded(task: d.taskID, attempt: d.attempt, width: side * 16, height: side * 16,
                                            metadata: #"{"camera":"bench"}"#, spoolPath: "/bench/spool/\(d.frameID)",
                                            tiles: tiles, computeMicros: 1000)
            }
        }

        // 3. Claim every tile, `batch` at a time.
        var claimed: [ClaimedTask] = []
        claimed.reserveCapacity(tasks)
        let claimSeconds = try seconds { () throws(StoreError) in
            while true {
                let got = try store.claimTasks(worker: worker, limit: batch)
                if got.isEmpty { break }
                claimed.append(contentsOf: got)
            }
        }

        // 4. Complete them, `batch` at a time.
        let completeSeconds = try seconds { () throws(StoreError) in
            var i = 0
            while i < claimed.count {
                let slice = claimed[i..<min(i + batch, claimed.count)]
                _ = try store.recordTilesDone(slice.map { ($0.taskID, attempt: $0.attempt, computeMicros: 500) })
                i += batch
            }
        }
        guard claimed.count == tasks, try store.job(jobID)?.taskCounts[.succeeded] == tasks + frameCount else {
            throw StoreError(.invalidState, "benchmark: claimed \(claimed.count) of \(tasks) tiles", databasePath: path)
        }
        try store.close()
        return Report(tasks: tasks, durability: durability,
                      createJobTasksPerSecond: Double(tasks) / createSeconds,
                      tileInsertsPerSecond: Double(tasks) / insertSeconds,
                      claimedPerSecond: Double(claimed.count) / claimSeconds,
                      completedPerSecond: Double(claimed.count) / completeSeconds, batch: batch)
    }
}
