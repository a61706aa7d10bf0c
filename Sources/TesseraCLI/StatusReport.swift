import Foundation
import TesseraCore

/// The `--json` document of `tessera status` and the end of `tessera run` — a stable schema
/// (docs/operator-guide.md) that scripts rely on: add fields, never rename them.
struct StatusReport: Codable, Sendable {
    struct Frames: Codable, Sendable {
        var total: Int
        var done: Int
        var failed: Int
    }

    struct Failure: Codable, Sendable {
        var path: String
        var reason: String
        var attempts: Int
    }

    struct Job: Codable, Sendable {
        var id: Int64
        var name: String
        /// queued, running, succeeded, completedWithFailures, failed, cancelled
        var state: String
        var complete: Bool
        var frames: Frames
        /// Task counts by state: queued, running, succeeded, failed, cancelled.
        var tasks: [String: Int]
        var outputDir: String
        var failures: [Failure]
    }

    var workersConnected: Int
    var jobs: [Job]

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// A human table: one line per job, then its failures.
    func text() -> String {
        var lines = ["workers connected: \(workersConnected)"]
        if jobs.isEmpty { lines.append("no jobs") }
        for job in jobs {
            let t = job.tasks
            lines.append(
                "job \(job.id) \(job.name): \(job.state) — frames \(job.frames.done)/\(job.frames.total) done, \(job.frames.failed) failed; "
                    + "tasks \(t["succeeded", default: 0]) done, \(t["running", default: 0]) running, \(t["queued", default: 0]) queued, "
                    + "\(t["failed", default: 0]) failed — output \(job.outputDir)")
            for failure in job.failures {
                lines.append("  failed: \(failure.path): \(failure.reason) (\(failure.attempts) attempt(s))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

import TesseraStore
import TesseraWire

extension StatusReport.Job {
    /// From the store (embedded runs, `status --db`).
    init(summary s: JobSummary) {
        self.init(
            id: s.id.rawValue, name: s.name, state: s.state.rawValue, complete: s.state.isFinished,
            frames: .init(total: s.framesTotal, done: s.framesDone, failed: s.framesFailed),
            tasks: Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0.rawValue, s.taskCounts[$0, default: 0]) }),
            outputDir: s.outputDir,
            failures: s.failures.map { .init(path: $0.path, reason: $0.reason, attempts: $0.attempts) })
    }

    /// From a coordinator's STATUS_REPLY.
    init(wire j: JobStatus) {
        self.init(
            id: j.jobID.rawValue, name: j.name, state: j.state.description, complete: j.state.isTerminal,
            frames: .init(total: Int(j.framesTotal), done: Int(j.framesDone), failed: Int(j.framesFailed)),
            tasks: ["queued": Int(j.tasks.queued), "running": Int(j.tasks.running), "succeeded": Int(j.tasks.succeeded),
                    "failed": Int(j.tasks.failed), "cancelled": Int(j.tasks.cancelled)],
            outputDir: j.outputDir,
            failures: j.failures.map { .init(path: $0.framePath, reason: $0.reason, attempts: Int($0.attempts)) })
    }
}
