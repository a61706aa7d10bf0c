import ArgumentParser
import Foundation
import TesseraCore
import TesseraWire

/// `tessera watch [JOB]`: a live view of the farm (or one job) refreshed several times a
/// second — progress bars, throughput, ETA, stuck tasks and worker health. On a terminal it
/// redraws the screen; otherwise (or with `--plain`) it prints a line whenever something
/// changes. Each refresh is two or three bounded control requests (JOBS, WORKERS, and JOB for
/// one job) answered from the coordinator's store on its control thread: watching never
/// touches the dispatch thread.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Live view of jobs (or one job): progress, throughput, ETA, stuck tasks and worker health.",
        discussion: "With JOB, exits when the job finishes: 0 if every frame succeeded, 1 otherwise. Without JOB, runs until interrupted.")

    @Argument(help: "Watch only this job, and exit when it finishes.")
    var job: Int64?

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 0.25

    @Option(help: "Jobs shown in the farm view.")
    var rows: Int = 20

    @Flag(help: "Print a line per change even on a terminal.")
    var plain = false

    @OptionGroup var source: ViewSource

    func validate() throws {
        guard interval >= 0.05 else { throw ValidationError("--interval must be at least 0.05 s") }
        guard rows > 0 else { throw ValidationError("--rows must be positive") }
        if let job, job <= 0 { throw ValidationError("job ids are positive") }
    }

    /// One refresh: what the view shows.
    struct Frame {
        var jobs: JobsReport
        var workers: WorkersReport
        var focus: JobReport?
        var millis: Double
    }

    func fetch() throws -> Frame {
        let start = ContinuousClock.now
        let jobs = JobsReport(try source.jobs(limit: job == nil ? rows : 1))
        let workers = WorkersReport(try source.workers(includeGone: false, limit: 0))
        var focus: JobReport?
        if let job {
            let reply = try source.request({ .job(JobDetailRequest(requestID: $0, jobID: JobID(job), limit: 1)) }) {
                if case .jobReply(let r) = $0 { r } else { nil }
            }
            focus = JobReport(row: reply.job, now: UInt64(jobs.now))
        }
        let elapsed = ContinuousClock.now - start
        return Frame(jobs: jobs, workers: workers, focus: focus, millis: Double(elapsed / .microseconds(1)) / 1000)
    }

    func run() throws {
        let tty = !plain && isatty(STDOUT_FILENO) == 1
        let stop = StopFlag()
        let watcher = SignalWatcher { _ in stop.set() }
        defer { withExtendedLifetime(watcher) {} }
        var plainView = PlainView()
        if tty { FileHandle.standardOutput.write(Data("\u{1B}[?25l".utf8)) }
        defer { if tty { FileHandle.standardOutput.write(Data("\u{1B}[?25h".utf8)) } }
        while true {
            let frame = try fetch()
            if tty {
                FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + screen(frame, width: terminalWidth()) + "\n").utf8))
            } else {
                for line in plainView.changes(frame, job: job) { print(line) }
                flushStandardOutput()
            }
            if let focus = frame.focus, focus.complete {
                if focus.state != "succeeded" { throw ExitCode(OperatorExit.jobFailed) }
                return
            }
            if stop.isSet { return }
            Thread.sleep(forTimeInterval: interval)
            if stop.isSet { return }
        }
    }

    private func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }

    static func bar(_ progress: Double, width: Int) -> String {
        let filled = max(0, min(width, Int((progress * Double(width)).rounded(.down))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    static func percent(_ progress: Double) -> String { "\(Int((progress * 100).rounded(.down)))%" }

    /// Worker health in one line: counts by state, silent workers (no heartbeat for 3 s).
    static func health(_ workers: WorkersReport) -> String {
        let connected = workers.workers.filter { $0.state == "connected" }.count
        let draining = workers.workers.filter { $0.state == "draining" }.count
        let silent = workers.workers.filter { $0.secondsSinceHeartbeat > 3 }.count
        let slots = workers.workers.reduce(0) { $0 + $1.slots }
        let busy = workers.workers.reduce(0) { $0 + $1.runningTasks }
        return "workers: \(connected) connected, \(draining) draining, \(silent) silent; \(busy) task(s) held, \(slots) slots"
    }

    func screen(_ frame: Frame, width: Int) -> String {
        let clock = Date(timeIntervalSince1970: Double(frame.jobs.now) / 1000)
        let time = DateFormatter.localizedString(from: clock, dateStyle: .none, timeStyle: .medium)
        let jobs = frame.focus.map { [$0] } ?? frame.jobs.jobs
        let throughput = jobs.filter { !$0.complete }.compactMap(\.megapixelsPerSecond).reduce(0, +)
        var lines = [
            "tessera watch — \(source.description) — \(time)",
            Self.health(frame.workers) + " — throughput \(TextFormat.rate(throughput)) MP/s",
            "",
        ]
        let nameWidth = min(24, max(4, jobs.map(\.name.count).max() ?? 4))
        let barWidth = max(10, min(40, width - nameWidth - 60))
        for j in jobs {
            let name = j.name.count > nameWidth ? String(j.name.prefix(nameWidth - 1)) + "…" : j.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let id = String(j.id).leftPadded(to: 5)
            let state = TextFormat.jobState(j).padding(toLength: 21, withPad: " ", startingAt: 0)
            lines.append("\(id) \(name) \(Self.bar(j.progress, width: barWidth)) \(Self.percent(j.progress).leftPadded(to: 4)) "
                + "\(j.frames.done)/\(j.frames.failed)/\(j.frames.total) \(state) \(TextFormat.rate(j.megapixelsPerSecond)) MP/s "
                + "ETA \(j.complete ? "-" : TextFormat.duration(j.etaSeconds))")
        }
        if jobs.isEmpty { lines.append("no jobs") }
        let stuck = frame.jobs.stuck.filter { frame.focus == nil || $0.jobID == frame.focus?.id }
        if !stuck.isEmpty {
            lines.append("")
            for s in stuck.prefix(10) {
                lines.append("stuck: task \(s.taskID) (\(s.kind), job \(s.jobID)) on worker \(s.workerID) for \(TextFormat.duration(s.runningSeconds))"
                    + (s.expectedSeconds.map { ", expected \(TextFormat.duration($0))" } ?? ""))
            }
        }
        lines.append("")
        lines.append("refreshed in \(String(format: "%.1f", frame.millis)) ms every \(interval) s — Ctrl-C to quit")
        return lines.joined(separator: "\n")
    }

    /// Line output for pipes and logs: a line per job whose progress or state changed, per
    /// change of worker health, and per newly stuck task.
    struct PlainView {
        var lastJobs: [Int64: String] = [:]
        var lastHealth = ""
        var lastStuck: Set<Int64> = []

        mutating func changes(_ frame: Frame, job: Int64?) -> [String] {
            var out: [String] = []
            let health = WatchCommand.health(frame.workers)
            if health != lastHealth {
                out.append(health)
                lastHealth = health
            }
            for j in frame.focus.map({ [$0] }) ?? frame.jobs.jobs {
                let key = "\(j.state) \(j.paused) \(j.frames.done) \(j.frames.failed)"
                guard lastJobs[j.id] != key else { continue }
                lastJobs[j.id] = key
                out.append("job \(j.id) \(j.name): \(TextFormat.jobState(j)) \(WatchCommand.percent(j.progress)) "
                    + "(\(j.frames.done) done, \(j.frames.failed) failed of \(j.frames.total)) \(TextFormat.rate(j.megapixelsPerSecond)) MP/s "
                    + "ETA \(j.complete ? "-" : TextFormat.duration(j.etaSeconds))")
            }
            let stuck = frame.jobs.stuck.filter { job == nil || $0.jobID == job }
            for s in stuck where !lastStuck.contains(s.taskID) {
                out.append("stuck: task \(s.taskID) (\(s.kind), job \(s.jobID)) on worker \(s.workerID) for \(TextFormat.duration(s.runningSeconds))")
            }
            lastStuck = Set(stuck.map(\.taskID))
            return out
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// `tessera completions SHELL`: a shell completion script generated from the command tree.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print a completion script for bash, zsh or fish (e.g. tessera completions bash > /etc/bash_completion.d/tessera).")

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw ValidationError("unknown shell '\(shell)': use bash, zsh or fish")
        }
        print(TesseraCommand.completionScript(for: kind))
    }
}

/// `tessera man`: a man page (roff) generated from the command tree.
struct ManCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "man",
        abstract: "Print the tessera(1) man page, generated from the command tree (tessera man > tessera.1; man ./tessera.1).")

    func run() throws {
        print(Self.page())
    }

    /// The whole page: every subcommand with its help text.
    static func page() -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\e").split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
            }.joined(separator: "\n")
        }
        let root = TesseraCommand.configuration
        var lines = [
            ".TH TESSERA 1 \"\" \"tessera \(TesseraVersion.string)\" \"Tessera manual\"",
            ".SH NAME", "tessera \\- \(escape(root.abstract))",
            ".SH SYNOPSIS", ".B tessera", ".I command", "[options]",
            ".SH DESCRIPTION",
            escape("Operators control a running coordinator with the commands below; each prints text or, with --json, a stable JSON document (docs/operator-guide.md). Remote use: --coordinator tcp://HOST:PORT."),
            ".SH COMMANDS",
        ]
        for command in root.subcommands {
            let name = command.configuration.commandName ?? "\(command)"
            lines += [".SS \(name)", escape(command.configuration.abstract), ".PP", ".nf",
                      escape(TesseraCommand.helpMessage(for: command, columns: 78)), ".fi"]
        }
        lines += [
            ".SH EXIT STATUS",
            "0 success; 1 the job finished with failed frames (run, status \\-\\-wait, watch JOB); 3 no coordinator answered;",
            "4 the coordinator refused (unknown job or worker, invalid request); 5 the coordinator failed; 64 usage error.",
            ".SH SEE ALSO", "docs/operator-guide.md, docs/architecture.md",
        ]
        return lines.joined(separator: "\n")
    }
}
