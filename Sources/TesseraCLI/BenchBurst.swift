import ArgumentParser
import Foundation
import TesseraCoordinator
import TesseraCore
import TesseraImaging
import TesseraStore
#if canImport(Glibc)
import Glibc
#endif

/// `tessera bench burst`: align + merge of a synthetic burst (default 8 × 12 MP) in this process
/// on one thread and on every core (the baseline is the one-thread run in the same process), the
/// bytes a merge-tile task carries in and out, and — with `--farm` — the whole burst job through
/// an embedded farm (coordinator in this process, worker processes) with the coordinator's and the
/// workers' CPU seconds.
struct BenchBurst: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "burst",
        abstract: "Align + merge of an N-frame burst on 1 and all cores, bytes per merge tile, and (--farm) the coordinator's CPU share of a burst job.")

    @Option(help: "Frame size as WIDTHxHEIGHT.")
    var size: String = "4000x3000"

    @Option(help: "Frames in the burst (2...16).")
    var frames: Int = 8

    @Option(help: "Merge-tile edge in pixels for the in-process runs and the byte figures.")
    var tileSize: Int = BurstPlan.maxMergeTile

    @Option(help: "Scene seed.")
    var seed: UInt64 = 21

    @Flag(help: "Also run the burst as a job on an embedded farm and report CPU seconds per process.")
    var farm = false

    @Option(help: "Worker processes for --farm.")
    var workers: Int = 2

    @Option(help: "Input cache of each --farm worker in MiB (0: every window is sent inline).")
    var cacheMb: Int = 1024

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// The whole report.
    struct Report: Codable {
        var width: Int
        var height: Int
        var frames: Int
        var cores: Int
        var tileSize: Int
        var proxySeconds: Double
        var coarseSeconds: Double
        /// Align + merge, wall seconds on one thread and on every core.
        var oneThreadSeconds: Double
        var allCoresSeconds: Double
        /// `oneThreadSeconds / allCoresSeconds`.
        var speedup: Double
        /// CPU seconds of the two runs (less sensitive than wall time to other load on the machine).
        var oneThreadCPUSeconds: Double
        var allCoresCPUSeconds: Double
        /// The 1-minute load average after the runs (above the core count: the wall times are not clean).
        var loadAverage: Double
        var effectiveFrames: Double
        /// Per merge-tile task at `tileSize` (mean over the frame's tiles): bytes in (reference +
        /// alternate windows) and out (merged core).
        var tileTasks: Int
        var bytesInPerTile: Double
        var bytesOutPerTile: Double
        var farm: Farm?
    }

    /// The farm run.
    struct Farm: Codable {
        var workers: Int
        var wallSeconds: Double
        /// CPU seconds (user + system) of the coordinator (this process) during the job, and of
        /// every worker process together.
        var coordinatorCPUSeconds: Double
        var workerCPUSeconds: Double
        /// coordinator / (coordinator + workers).
        var coordinatorShare: Double
        var bytesSent: Int
        var bytesReceived: Int
        var mergeTiles: Int
        /// Input cache: windows workers cut from planes they held, bytes not sent because of
        /// that (`bytesSent + cacheBytesSaved` is what the job sends without a cache), misses.
        var cacheWindows: Int = 0
        var cacheBytesSaved: Int = 0
        var cacheMisses: Int = 0
    }

    func validate() throws {
        guard (2...16).contains(frames) else { throw ValidationError("--frames must be between 2 and 16") }
        guard tileSize >= 64, tileSize % 2 == 0 else { throw ValidationError("--tile-size must be even and at least 64") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
        guard (0...1 << 24).contains(cacheMb) else { throw ValidationError("--cache-mb must be between 0 and 16777216 (MiB)") }
    }

    func run() throws {
        LoggingBootstrap.once(level: .warning)
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (256...20_000).contains(parts[0]), (256...20_000).contains(parts[1]) else {
            throw ValidationError("--size must be WIDTHxHEIGHT with each side 256...20000, e.g. 4000x3000")
        }
        let (w, h) = (parts[0], parts[1])
        var options = SynthOptions(frames: frames, burstSize: frames, width: w, height: h, iso: 3200, seed: seed)
        options.supersampling = 1
        options.threads = 0
        let manifest = try ShootSynthesizer.plan(options)
        let planes = manifest.frames.map { f in ShootSynthesizer.mosaic(ShootSynthesizer.renderTruth(f, options: options), frame: f, options: options) }
        let f0 = manifest.frames[0]
        let settings = BurstSettings(blackLevels: f0.blackLevels, whiteLevel: Double(f0.whiteLevel), noise: NoiseModel(f0.noise))

        var proxies: [BurstProxy] = []
        let proxyTime = try seconds { proxies = try planes.map { p throws(BurstError) in try BurstProxy(plane: p) } }
        var coarse: [BurstShift] = []
        let coarseTime = try seconds {
            coarse = try proxies[1...].map { p throws(BurstError) in try BurstAligner.coarseShift(reference: proxies[0], alternate: p) }
        }
        let alternates = Array(planes[1...])
        let self0 = Self.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        let one = try seconds {
            _ = try BurstMerger.mergeFrames(reference: planes[0], alternates: alternates, coarse: coarse, settings: settings, tileSize: tileSize, threads: 1)
        }
        let self1 = Self.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        var merged: BurstMergeResult?
        let all = try seconds {
            merged = try BurstMerger.mergeFrames(reference: planes[0], alternates: alternates, coarse: coarse, settings: settings, tileSize: tileSize)
        }
        let self2 = Self.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        var load = [Double](repeating: 0, count: 3)
        _ = getloadavg(&load, 3)
        let cores = TilePlanner(tileSize: tileSize).cores(width: w, height: h)
        let bytesIn = cores.map { core in
            BurstGeometry.referenceRect(core: core).area * 2 + coarse.map { BurstGeometry.alternateRect(core: core, coarse: $0).area * 2 }.reduce(0, +)
        }.reduce(0, +)
        var report = Report(
            width: w, height: h, frames: frames, cores: ProcessInfo.processInfo.activeProcessorCount, tileSize: tileSize,
            proxySeconds: proxyTime, coarseSeconds: coarseTime, oneThreadSeconds: one, allCoresSeconds: all, speedup: one / all,
            oneThreadCPUSeconds: self1 - self0, allCoresCPUSeconds: self2 - self1, loadAverage: load[0],
            effectiveFrames: merged?.effectiveFrames ?? 0, tileTasks: cores.count,
            bytesInPerTile: Double(bytesIn) / Double(cores.count), bytesOutPerTile: Double(w * h * 2) / Double(cores.count), farm: nil)
        if farm { report.farm = try runFarm(options: options) }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        print("burst \(frames) x \(w)x\(h), merge tiles \(tileSize) (\(cores.count) tiles), \(report.cores) cores")
        print("  proxies \(f(proxyTime)) s, coarse shifts \(f(coarseTime)) s")
        print("  align+merge: 1 thread \(f(one)) s wall / \(f(report.oneThreadCPUSeconds)) s CPU, \(report.cores) threads \(f(all)) s wall / \(f(report.allCoresCPUSeconds)) s CPU (speedup \(f(report.speedup))×); effective frames \(f(report.effectiveFrames)); load average \(f(load[0]))")
        print("  per merge-tile task: in \(f(report.bytesInPerTile / 1e6)) MB (reference + \(frames - 1) alternate windows), out \(f(report.bytesOutPerTile / 1e6)) MB")
        if let farm = report.farm {
            print("  farm (\(farm.workers) workers): \(f(farm.wallSeconds)) s wall; CPU coordinator \(f(farm.coordinatorCPUSeconds)) s, workers \(f(farm.workerCPUSeconds)) s (coordinator share \(f(100 * farm.coordinatorShare)) %); \(farm.mergeTiles) merge tiles; sent \(f(Double(farm.bytesSent) / 1e6)) MB, received \(f(Double(farm.bytesReceived) / 1e6)) MB")
            let without = farm.bytesSent + farm.cacheBytesSaved
            print("  input cache (\(cacheMb) MiB per worker): \(farm.cacheWindows) windows cut on workers, \(farm.cacheMisses) misses; sent \(f(Double(farm.bytesSent) / 1e6)) MB vs \(f(Double(without) / 1e6)) MB without the cache (\(f(100 * Double(farm.cacheBytesSaved) / Double(max(1, without)))) % saved)")
        }
    }

    /// Writes the burst as DNGs, then develops it with `--merge-bursts` on an embedded farm
    /// (default recipe, JPEG), measuring this process's and the workers' CPU time.
    private func runFarm(options: SynthOptions) throws -> Farm {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-bench-burst-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shoot = directory + "/shoot", out = directory + "/out"
        _ = try ShootSynthesizer.write(options, to: shoot, truthDirectory: nil)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keys = try EphemeralFarmKeys(directory: directory)
        var config = CoordinatorConfig(taskEndpoint: "ipc://\(directory)/tasks", controlEndpoint: nil, databasePath: directory + "/farm.db")
        config.security = keys.coordinatorSecurity
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        defer { coordinator.stop() }
        let cpuBefore = Self.cpuSeconds(Int32(RUSAGE_SELF.rawValue))
        let started = ContinuousClock.now
        var request = JobRequest(captureDirectory: shoot, outputDirectory: out)
        request.mergeBursts = true
        let job = try coordinator.submit(request).job
        let pool = try WorkerPool(count: workers, slots: 1, endpoint: coordinator.taskEndpoint ?? config.taskEndpoint, logLevel: "warning",
                                  keyArguments: keys.workerArguments + ["--cache-mb", "\(cacheMb)"])
        var summary = try coordinator.store.jobSummaries(job).first
        while summary.map({ !$0.state.isFinished }) ?? false {
            try pool.superviseAlive()
            Thread.sleep(forTimeInterval: 0.02)  // polling the job's state
            summary = try coordinator.store.jobSummaries(job).first
        }
        let wall = ContinuousClock.now - started
        let coordinatorCPU = Self.cpuSeconds(Int32(RUSAGE_SELF.rawValue)) - cpuBefore
        pool.stop()
        let workerCPU = Self.cpuSeconds(Int32(RUSAGE_CHILDREN.rawValue))
        guard summary?.state == .succeeded else { throw ValidationError("the burst job did not succeed: \(String(describing: summary))") }
        let tiles = try coordinator.store.tasks(of: job).filter { $0.kind == .mergeTile }.count
        return Farm(workers: workers, wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18,
                    coordinatorCPUSeconds: coordinatorCPU, workerCPUSeconds: workerCPU,
                    coordinatorShare: coordinatorCPU / max(1e-9, coordinatorCPU + workerCPU),
                    bytesSent: coordinator.counters.bytesSent.load(ordering: .relaxed),
                    bytesReceived: coordinator.counters.bytesReceived.load(ordering: .relaxed), mergeTiles: tiles,
                    cacheWindows: coordinator.counters.cacheWindowsReferenced.load(ordering: .relaxed),
                    cacheBytesSaved: coordinator.counters.cacheBytesSaved.load(ordering: .relaxed),
                    cacheMisses: coordinator.counters.cacheMisses.load(ordering: .relaxed))
    }

    /// User + system CPU seconds of `who` (`RUSAGE_SELF`, or `RUSAGE_CHILDREN`: waited-for children).
    static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let d = try ContinuousClock().measure(body)
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
