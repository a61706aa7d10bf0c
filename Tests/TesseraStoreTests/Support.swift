import Foundation
import Testing
import TesseraCore
import TesseraStore

/// A deterministic clock: every read advances one millisecond from a fixed origin.
final class TickClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    init(start: Int64 = 1_700_000_000_000) { value = start }

    func next() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }

    var clock: StoreClock { StoreClock { self.next() } }
}

/// A fresh store in its own temporary directory with a deterministic clock.
func makeStore(durability: StoreOptions.Durability = .normal) throws -> TesseraStore {
    try TesseraStore.inMemory(options: StoreOptions(durability: durability, clock: TickClock().clock))
}

/// A unique temporary directory for tests that manage the database file themselves.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-store-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func sampleJob(_ name: String = "shoot", priority: Int = 0, tileSize: Int = 100) -> NewJob {
    NewJob(name: name, captureDir: "/captures/\(name)", outputDir: "/out/\(name)", recipeName: "standard",
           recipeDocument: #"{"wb":"camera"}"#, recipeHash: "abc123", tileSize: tileSize, format: "jpeg",
           priority: priority, overwrite: false)
}

func sampleFrames(_ count: Int, prefix: String = "IMG") -> [NewFrame] {
    (0..<count).map { NewFrame(path: "/captures/\(prefix)_\($0).dng", stem: "\(prefix)_\($0)", byteCount: 1_000 + Int64($0)) }
}

/// The 2 × 2 tile cores of a 200 × 200 frame.
let fourTiles = TilePlanner(tileSize: 100).cores(width: 200, height: 200)

func registerWorker(_ store: TesseraStore, _ name: String = "w") throws -> WorkerID {
    try store.registerWorker(name: name, host: "host-\(name)", cores: 2, memoryBytes: 1 << 30, slots: 4, version: "1.0")
}

/// Recounts a job's counters from its task and frame rows (the COUNT(*) the store avoids) and
/// checks them against the counters kept in the job row, plus frame-level invariants.
func expectCountersConsistent(_ store: TesseraStore, _ id: JobID, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let job = try #require(try store.job(id), sourceLocation: sourceLocation)
    let tasks = try store.tasks(of: id)
    let frames = try store.frames(of: id)
    var counted: [TaskState: Int] = [:]
    for state in TaskState.allCases { counted[state] = 0 }
    for task in tasks { counted[task.state, default: 0] += 1 }
    #expect(job.taskCounts == counted, "task counters of \(id)", sourceLocation: sourceLocation)
    #expect(job.framesTotal == frames.count, sourceLocation: sourceLocation)
    #expect(job.framesDone == frames.filter { $0.state == .done }.count, "frames done of \(id)", sourceLocation: sourceLocation)
    #expect(job.framesFailed == frames.filter { $0.state == .failed }.count, "frames failed of \(id)", sourceLocation: sourceLocation)
    let byFrame = Dictionary(grouping: tasks, by: \.frameID)
    for frame in frames {
        let tiles = (byFrame[frame.id] ?? []).filter { $0.kind == .developTile }
        #expect(frame.tiles.count == tiles.count, sourceLocation: sourceLocation)
        if frame.state == .developing || frame.state == .assembling {
            #expect(frame.tilesTotal == tiles.count, sourceLocation: sourceLocation)
            #expect(frame.tilesDone == tiles.filter { $0.state == .succeeded }.count, "tiles done of \(frame.id)",
                    sourceLocation: sourceLocation)
        }
        if frame.state == .assembling { #expect(frame.tilesDone == frame.tilesTotal, sourceLocation: sourceLocation) }
        if frame.state == .failed {
            #expect((byFrame[frame.id] ?? []).allSatisfy { $0.state.isTerminal }, "open task in failed \(frame.id)",
                    sourceLocation: sourceLocation)
        }
    }
    for task in tasks {
        #expect((task.state == .running) == (task.workerID != nil), "worker of \(task.id)", sourceLocation: sourceLocation)
    }
    if job.state == .running {
        #expect(job.framesDone + job.framesFailed < job.framesTotal, sourceLocation: sourceLocation)
    }
}
