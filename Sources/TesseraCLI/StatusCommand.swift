import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore
import TesseraWire

/// `tessera status`: jobs and their progress, from a running coordinator (or a database file).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show jobs, their frames and tasks by state, and the reasons of failed frames.")

    @Argument(help: "A job id (default: every job).")
    var job: Int64?

    @Flag(help: "Print the stable JSON document instead of text.")
    var json = false

    @Flag(help: "Wait until the job (or every job) is finished; exit 0 only if all frames succeeded.")
    var wait = false

    @Option(help: "Read a coordinator's database file directly instead of asking the coordinator.")
    var db: String?

    @OptionGroup var remote: RemoteOptions

    func run() throws {
        var report = try fetch()
        if wait {
            while !report.jobs.allSatisfy(\.complete) {
                // Progress polling, not synchronisation: the coordinator owns the truth.
                Thread.sleep(forTimeInterval: 0.2)
                report = try fetch()
            }
        }
        print(json ? report.json() : report.text())
        if wait, !report.jobs.allSatisfy({ $0.state == "succeeded" }) { throw ExitCode(1) }
    }

    func fetch() throws -> StatusReport {
        if let db {
            let store = try TesseraStore(path: absolutePath(db))
            let summaries = try store.jobSummaries(job.map { JobID($0) })
            if let job, summaries.isEmpty { throw ValidationError("no job \(job) in \(db)") }
            return StatusReport(workersConnected: 0, jobs: summaries.map(StatusReport.Job.init(summary:)))
        }
        let requestID = ControlClient.newRequestID()
        let reply = try remote.client.call(.status(StatusRequest(requestID: requestID, jobID: job.map { JobID($0) })),
                                           requestID: requestID)
        guard case .statusReply(let status) = reply else { throw ControlClient.Failure.unexpectedReply(reply.name) }
        return StatusReport(workersConnected: Int(status.workersConnected), jobs: status.jobs.map(StatusReport.Job.init(wire:)))
    }
}
