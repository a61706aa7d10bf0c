import Foundation
import TesseraCore
import TesseraWire

// The `--json` documents of the operator commands (docs/operator-guide.md): stable schemas —
// fields are added, never renamed. Times are milliseconds since the Unix epoch (the
// coordinator's clock), durations seconds; absent values are `null`.

/// Encodes `value` as pretty-printed JSON with sorted keys (stable for scripts and snapshots).
func stableJSON<T: Encodable>(_ value: T, pretty: Bool = true) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}

/// One job in `tessera jobs --json` and `tessera job --json`.
struct JobReport: Codable, Sendable, Equatable {
    struct Frames: Codable, Sendable, Equatable {
        var total: Int
        var done: Int
        var failed: Int
    }

    var id: Int64
    var name: String
    /// queued, running, succeeded, completedWithFailures, failed, cancelled
    var state: String
    var complete: Bool
    var paused: Bool
    var priority: Int
    var frames: Frames
    /// Task counts by state: queued, running, succeeded, failed, cancelled.
    var tasks: [String: Int]
    /// Share of frames finished (done or failed), 0…1.
    var progress: Double
    /// Megapixels written.
    var megapixelsDone: Double
    /// Megapixels written per second since the job started (null before it started).
    var megapixelsPerSecond: Double?
    /// Estimated seconds to finish at the job's frame rate so far (null when unknown or finished).
    var etaSeconds: Double?
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?

    init(row j: JobRow, now: UInt64) {
        id = j.jobID.rawValue
        name = j.name
        state = j.state.description
        complete = j.state.isTerminal
        paused = j.paused
        priority = Int(j.priority)
        frames = Frames(total: Int(j.framesTotal), done: Int(j.framesDone), failed: Int(j.framesFailed))
        tasks = ["queued": Int(clamping: j.tasks.queued), "running": Int(clamping: j.tasks.running),
                 "succeeded": Int(clamping: j.tasks.succeeded), "failed": Int(clamping: j.tasks.failed),
                 "cancelled": Int(clamping: j.tasks.cancelled)]
        let finished = Int(j.framesDone) + Int(j.framesFailed)
        progress = j.framesTotal == 0 ? (complete ? 1 : 0) : Double(finished) / Double(j.framesTotal)
        megapixelsDone = (Double(j.pixelsDone) / 1e6 * 10).rounded() / 10
        createdAt = Int64(j.createdAtMillis)
        startedAt = j.startedAtMillis == 0 ? nil : Int64(j.startedAtMillis)
        finishedAt = j.finishedAtMillis == 0 ? nil : Int64(j.finishedAtMillis)
        if let started = startedAt {
            let end = finishedAt ?? Int64(now)
            let seconds = Double(max(1, end - started)) / 1000
            megapixelsPerSecond = (Double(j.pixelsDone) / 1e6 / seconds * 100).rounded() / 100
            if !complete, finished > 0 {
                let rate = Double(finished) / seconds
                etaSeconds = (Double(Int(j.framesTotal) - finished) / rate).rounded()
            }
        }
    }
}

/// A task running far beyond its expected time.
struct StuckReport: Codable, Sendable, Equatable {
    var taskID: Int64
    var jobID: Int64
    var workerID: Int64
    var kind: String
    var runningSeconds: Double
    /// What the worker's measured speed predicts (null while unknown).
    var expectedSeconds: Double?

    init(_ s: StuckTask) {
        taskID = s.taskID.rawValue
        jobID = s.jobID.rawValue
        workerID = s.workerID.rawValue
        kind = "\(s.kind)"
        runningSeconds = Double(s.runningMillis) / 1000
        expectedSeconds = s.expectedMillis == 0 ? nil : Double(s.expectedMillis) / 1000
    }
}

/// `tessera jobs --json`.
struct JobsReport: Codable, Sendable, Equatable {
    var now: Int64
    var workersConnected: Int
    /// Jobs in the database (`jobs` may list fewer: see `--limit`).
    var jobsTotal: Int
    var jobs: [JobReport]
    var stuck: [StuckReport]

    init(_ reply: JobsReply) {
        now = Int64(reply.nowMillis)
        workersConnected = Int(reply.workersConnected)
        jobsTotal = Int(reply.jobsTotal)
        jobs = reply.jobs.map { JobReport(row: $0, now: reply.nowMillis) }
        stuck = reply.stuck.map(StuckReport.init)
    }
}

/// `tessera job JOB --json`.
struct JobDetailReport: Codable, Sendable, Equatable {
    struct Failure: Codable, Sendable, Equatable {
        var frameID: Int64
        var path: String
        var code: String
        var reason: String
        var attempts: Int
    }

    struct Output: Codable, Sendable, Equatable {
        var frameID: Int64
        var path: String
        var bytes: Int64
    }

    var job: JobReport
    /// Frame state → count: pending, developing, assembling, done, failed.
    var frames: [String: Int]
    /// Task kind → state → count.
    var tasks: [String: [String: Int]]
    var failures: [Failure]
    var outputs: [Output]

    init(_ reply: JobDetailReply, now: UInt64) {
        job = JobReport(row: reply.job, now: now)
        frames = Dictionary(uniqueKeysWithValues: reply.frameStates.map { ($0.name, Int(clamping: $0.count)) })
        var tasks: [String: [String: Int]] = [:]
        for count in reply.taskStates {
            let parts = count.name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            tasks[parts[0], default: [:]][parts[1]] = Int(clamping: count.count)
        }
        self.tasks = tasks
        failures = reply.failures.map { Failure(frameID: $0.frameID.rawValue, path: $0.path, code: $0.code, reason: $0.reason, attempts: Int($0.attempts)) }
        outputs = reply.outputs.map { Output(frameID: $0.frameID.rawValue, path: $0.path, bytes: Int64(clamping: $0.bytes)) }
    }
}

/// One worker in `tessera workers --json`.
struct WorkerReport: Codable, Sendable, Equatable {
    var id: Int64
    var name: String
    var host: String
    var slots: Int
    /// connected, draining, left, lost
    var state: String
    var runningTasks: Int
    var registeredAt: Int64
    var lastHeartbeat: Int64
    /// Seconds since the last heartbeat, at the coordinator's clock.
    var secondsSinceHeartbeat: Double
    var tasksSucceeded: Int
    var tasksFailed: Int
    /// Tasks completed per minute since the worker registered.
    var tasksPerMinute: Double
    /// Share of its slots' time spent computing since it registered, 0…1.
    var busy: Double

    init(_ w: WorkerRow, now: UInt64) {
        id = w.workerID.rawValue
        name = w.name
        host = w.host
        slots = Int(w.slots)
        state = w.state.description
        runningTasks = Int(w.runningTasks)
        registeredAt = Int64(w.registeredAtMillis)
        lastHeartbeat = Int64(w.lastSeenMillis)
        secondsSinceHeartbeat = Double(max(0, Int64(now) - Int64(w.lastSeenMillis))) / 1000
        tasksSucceeded = Int(clamping: w.tasksSucceeded)
        tasksFailed = Int(clamping: w.tasksFailed)
        let end = w.state == .connected || w.state == .draining ? Int64(now) : Int64(w.lastSeenMillis)
        let seconds = Double(max(1, end - Int64(w.registeredAtMillis))) / 1000
        tasksPerMinute = (Double(tasksSucceeded) / seconds * 60 * 10).rounded() / 10
        busy = min(1, (Double(w.computeMicros) / 1e6 / (seconds * Double(max(1, w.slots))) * 100).rounded() / 100)
    }
}

/// `tessera workers --json`.
struct WorkersReport: Codable, Sendable, Equatable {
    var now: Int64
    /// Workers matching (`workers` may list fewer: see `--limit`).
    var workersTotal: Int
    var workers: [WorkerReport]

    init(_ reply: WorkersReply) {
        now = Int64(reply.nowMillis)
        workersTotal = Int(reply.workersTotal)
        workers = reply.workers.map { WorkerReport($0, now: reply.nowMillis) }
    }
}

/// One event in `tessera events --json` (one JSON object per line).
struct EventReport: Codable, Sendable, Equatable {
    var id: Int64
    var at: Int64
    /// debug, info, warning, error
    var level: String
    var kind: String
    var message: String
    var job: Int64?
    var worker: Int64?

    init(_ e: EventRow) {
        id = e.eventID
        at = Int64(e.atMillis)
        level = e.level.description
        kind = e.kind
        message = e.message
        job = e.jobID?.rawValue
        worker = e.workerID?.rawValue
    }
}

/// The acknowledgement of a steering command (`cancel`, `pause`, … `--json`).
struct SteerReport: Codable, Sendable, Equatable {
    /// cancel, pause, resume, retry, retryFailed, setPriority, drain
    var action: String
    /// "job" or "worker"
    var target: String
    var id: Int64
    /// The job's or worker's state afterwards.
    var state: String
    var paused: Bool?
    var priority: Int?
    var tasksAffected: Int
    var message: String

    init(_ s: Steered) {
        action = s.action.description
        target = s.action.targetsWorker ? "worker" : "job"
        id = s.targetID
        state = s.state
        paused = s.action.targetsWorker ? nil : s.paused
        priority = s.action.targetsWorker ? nil : Int(s.priority)
        tasksAffected = Int(clamping: s.tasksAffected)
        message = s.message
    }
}

// MARK: - Text rendering

enum TextFormat {
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return String(format: value < 10 ? "%.2f" : "%.1f", value)
    }

    /// Left-aligned columns separated by two spaces; `rightAligned` columns are right-aligned.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return rightAligned.contains(i) ? pad + cell : (i == cells.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func jobState(_ job: JobReport) -> String { job.paused && !job.complete ? "\(job.state) (paused)" : job.state }

    static func jobs(_ report: JobsReport) -> String {
        if report.jobs.isEmpty { return "no jobs (workers connected: \(report.workersConnected))" }
        let rows = report.jobs.map { j in
            ["\(j.id)", j.name, jobState(j), "\(j.priority)", "\(j.frames.done)/\(j.frames.failed)/\(j.frames.total)",
             rate(j.megapixelsPerSecond), j.complete ? "-" : duration(j.etaSeconds)]
        }
        var text = table(["ID", "NAME", "STATE", "PRI", "DONE/FAILED/TOTAL", "MP/S", "ETA"], rows, rightAligned: [0, 3, 5, 6])
        let shown = report.jobs.count < report.jobsTotal ? " (showing \(report.jobs.count) of \(report.jobsTotal) jobs)" : ""
        text += "\nworkers connected: \(report.workersConnected)\(shown)"
        for s in report.stuck {
            text += "\nstuck: task \(s.taskID) (\(s.kind), job \(s.jobID)) on worker \(s.workerID) running \(duration(s.runningSeconds))"
                + (s.expectedSeconds.map { ", expected \(duration($0))" } ?? "")
        }
        return text
    }

    static func workers(_ report: WorkersReport) -> String {
        if report.workers.isEmpty { return "no workers connected" }
        let rows = report.workers.map { w in
            ["\(w.id)", w.host, w.name, "\(w.slots)", w.state, "\(w.runningTasks)", "\(duration(w.secondsSinceHeartbeat)) ago",
             rate(w.tasksPerMinute), "\(Int((w.busy * 100).rounded()))%", "\(w.tasksFailed)"]
        }
        var text = table(["ID", "HOST", "NAME", "SLOTS", "STATE", "TASKS", "HEARTBEAT", "TASKS/MIN", "BUSY", "FAILURES"], rows,
                         rightAligned: [0, 3, 5, 6, 7, 8, 9])
        if report.workers.count < report.workersTotal { text += "\n(showing \(report.workers.count) of \(report.workersTotal) workers)" }
        return text
    }

    static func job(_ report: JobDetailReport) -> String {
        let j = report.job
        var lines = [
            "job \(j.id) \(j.name): \(jobState(j)), priority \(j.priority)",
            "frames: \(j.frames.done) done, \(j.frames.failed) failed, \(j.frames.total) total (\(Int((j.progress * 100).rounded(.down)))%)"
                + " — " + report.frames.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
        ]
        for (kind, states) in report.tasks.sorted(by: { $0.key < $1.key }) {
            lines.append("\(kind) tasks: " + states.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        lines.append("throughput: \(rate(j.megapixelsPerSecond)) MP/s, \(j.megapixelsDone) MP written, ETA \(j.complete ? "-" : duration(j.etaSeconds))")
        for f in report.failures {
            lines.append("failed: \(f.path): \(f.code.isEmpty ? "" : f.code + ": ")\(f.reason) (\(f.attempts) attempt(s))")
        }
        for o in report.outputs { lines.append("output: \(o.path) (\(o.bytes) bytes)") }
        return lines.joined(separator: "\n")
    }

    static func event(_ e: EventReport) -> String {
        let time = Date(timeIntervalSince1970: Double(e.at) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return "\(formatter.string(from: time)) \(e.level.uppercased()) \(e.kind): \(e.message)"
    }
}
