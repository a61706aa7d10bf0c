import ArgumentParser
import Foundation
import TesseraCoordinator
import TesseraCore
import TesseraStore
import TesseraWire

/// `tessera bench ops`: how long the operators' views take on a big farm database — a real
/// coordinator answering real control requests over ZeroMQ (one connection per request, as the
/// CLI does), next to the bare store query as a baseline measured in the same run.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time jobs/workers/watch refreshes against a coordinator with many jobs and workers.")

    @Option(help: "Jobs in the database.") var jobs = 5_000
    @Option(help: "Frames per job.") var frames = 4
    @Option(help: "Registered workers.") var workers = 1_000
    @Option(help: "Refreshes timed per view.") var refreshes = 20
    @Flag(help: "Print JSON.") var json = false

    struct Row: Codable {
        var view: String
        var rows: Int
        var medianMillis: Double
        var p95Millis: Double
        var storeMedianMillis: Double
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-bench-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dbPath = dir + "/bench.db"
        let setupStart = ContinuousClock.now
        do {
            let store = try TesseraStore(path: dbPath, options: StoreOptions(durability: .normal))
            for j in 0..<jobs {
                let job = NewJob(name: "job-\(j)", captureDir: "/bench/in/\(j)", outputDir: "/bench/out/\(j)", recipeName: "standard",
                                 recipeDocument: "{}", recipeHash: "0", tileSize: 512, format: "jpeg", priority: j % 7)
                _ = try store.createJob(job, frames: (0..<frames).map { NewFrame(path: "/bench/in/\(j)/IMG_\($0).DNG", stem: "IMG_\($0)", byteCount: 1) })
                if j % 3 == 0 { try store.cancelJob(JobID(Int64(j + 1))) }
            }
            try store.close()
        }
        var config = CoordinatorConfig(taskEndpoint: "ipc://\(dir)/tasks.ipc", controlEndpoint: "ipc://\(dir)/control.ipc", databasePath: dbPath)
        config.heartbeatMillis = 1000
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        defer { coordinator.stop() }
        // Workers registered after the start (a start marks earlier sessions lost), each holding tasks.
        let store = try TesseraStore(path: dbPath, options: StoreOptions(durability: .normal))
        for w in 0..<workers {
            let id = try store.registerWorker(name: "w\(w)", host: "host-\(w / 8)", cores: 8, memoryBytes: 1 << 34, slots: 2, version: "bench")
            _ = try store.claimTasks(worker: id, limit: 2)
        }
        let setup = ContinuousClock.now - setupStart
        let client = ControlClient(endpoint: coordinator.controlEndpoint ?? "", timeoutMillis: 30_000)

        func time(_ body: () throws -> Void) rethrows -> [Double] {
            try (0..<refreshes).map { _ in
                let start = ContinuousClock.now
                try body()
                return Double((ContinuousClock.now - start) / .microseconds(1)) / 1000
            }
        }
        func remote(_ build: @escaping (UInt32) -> WireMessage) -> () throws -> Void {
            { _ = try client.ask(build) }
        }
        var rows: [Row] = []
        func add(_ view: String, _ count: Int, _ samples: [Double], _ baseline: [Double]) {
            let sorted = samples.sorted(), base = baseline.sorted()
            rows.append(Row(view: view, rows: count, medianMillis: sorted[sorted.count / 2],
                            p95Millis: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))],
                            storeMedianMillis: base[base.count / 2]))
        }
        add("jobs (default page)", OperatorRequestsDefaults.jobs,
            try time(remote { .jobs(JobsRequest(requestID: $0, limit: 0)) }),
            try time { _ = try store.jobOverviews(limit: OperatorRequestsDefaults.jobs) })
        add("jobs --limit \(jobs)", jobs,
            try time(remote { .jobs(JobsRequest(requestID: $0, limit: UInt32(jobs))) }),
            try time { _ = try store.jobOverviews(limit: jobs) })
        add("workers", workers,
            try time(remote { .workers(WorkersRequest(requestID: $0, includeGone: false, limit: 0)) }),
            try time { _ = try store.workerOverviews(includeGone: false, limit: workers) })
        add("job JOB", 1,
            try time(remote { .job(JobDetailRequest(requestID: $0, jobID: JobID(2), limit: 0)) }),
            try time { _ = try store.jobDetail(JobID(2), limit: 100) })
        add("watch refresh (jobs 20 + workers)", 20 + workers,
            try time {
                _ = try client.ask { .jobs(JobsRequest(requestID: $0, limit: 20)) }
                _ = try client.ask { .workers(WorkersRequest(requestID: $0, includeGone: false, limit: 0)) }
            },
            try time {
                _ = try store.jobOverviews(limit: 20)
                _ = try store.workerOverviews(includeGone: false, limit: workers)
            })
        if json {
            print(stableJSON(rows))
            return
        }
        print("bench ops: \(jobs) jobs × \(frames) frames, \(workers) workers (\(workers * 2) running tasks); setup \(setup); \(refreshes) refreshes each")
        print(TextFormat.table(
            ["VIEW", "ROWS", "MEDIAN ms", "P95 ms", "STORE ms", "RATIO"],
            rows.map { [$0.view, "\($0.rows)", String(format: "%.1f", $0.medianMillis), String(format: "%.1f", $0.p95Millis),
                        String(format: "%.1f", $0.storeMedianMillis), String(format: "%.1f×", $0.medianMillis / max(0.001, $0.storeMedianMillis))] },
            rightAligned: [1, 2, 3, 4, 5]))
    }
}

/// The coordinator's default page sizes (mirrors `OperatorRequests`, which is internal to the coordinator).
enum OperatorRequestsDefaults {
    static let jobs = 200
}
