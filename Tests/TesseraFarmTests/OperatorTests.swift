import Foundation
import Testing
import TesseraCoordinator
import TesseraCore
import TesseraStore

/// Operators in control: steering a running farm through the real CLI and control socket, the
/// metrics endpoint, and `tessera watch` in a real pseudo-terminal.
@Suite struct OperatorTests {
    /// An in-process coordinator on wildcard tcp ports, with real worker processes.
    final class Farm {
        let tmp: TemporaryDirectory
        let coordinator: Coordinator
        let control: String
        let tasks: String
        let keys: FarmKeys
        var workers: [TesseraProcess.Background] = []

        init(_ label: String, heartbeatMillis: Int = 200, metrics: Bool = false) throws {
            tmp = try TemporaryDirectory(label)
            var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: "tcp://127.0.0.1:*", databasePath: tmp.sub("c.db"))
            config.heartbeatMillis = heartbeatMillis
            config.retryBackoffMillis = 0
            if metrics { config.metricsEndpoint = "127.0.0.1:0" }
            keys = try FarmKeys(directory: tmp.sub("keys"), db: config.databasePath)
            config.security = .curve(serverKeys: keys.coordinator)
            coordinator = try Coordinator(config: config)
            try coordinator.start()
            control = try #require(coordinator.controlEndpoint)
            tasks = try #require(coordinator.taskEndpoint)
        }

        func synth(_ name: String, frames: Int, size: String, seed: Int) throws -> String {
            let dir = tmp.sub(name)
            let result = try TesseraProcess.run(["synth", dir, "--frames", "\(frames)", "--size", size, "--seed", "\(seed)"])
            #expect(result.status == 0, "synth failed: \(result.stderr)")
            return dir
        }

        func submit(_ shoot: String, tileSize: Int = 256) throws -> Int64 {
            let out = tmp.sub("out-\(URL(fileURLWithPath: shoot).lastPathComponent)")
            let result = try TesseraProcess.run(["submit", shoot, "--out", out, "--tile-size", "\(tileSize)", "--coordinator", control] + keys.operatorArgs)
            #expect(result.status == 0, "submit failed: \(result.stderr)")
            return try #require(Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        func cli(_ args: [String]) throws -> TesseraProcess.Output {
            try TesseraProcess.run(args + ["--coordinator", control] + keys.operatorArgs, timeout: 60)
        }

        @discardableResult
        func startWorker(_ name: String, slots: Int = 1, extra: [String] = []) throws -> TesseraProcess.Background {
            let worker = try TesseraProcess.start(["worker", "--connect", tasks, "--slots", "\(slots)", "--name", name, "--log-level", "error"]
                + keys.workerArgs + extra)
            workers.append(worker)
            return worker
        }

        func job(_ id: Int64) throws -> JobOverview { try #require(try coordinator.store.jobOverview(JobID(id))) }

        /// Polls `condition` until it holds or `seconds` pass.
        func waitFor(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return }
                Thread.sleep(forTimeInterval: 0.02)  // polling interval, not synchronisation
            }
            Issue.record("timed out after \(seconds) s waiting for \(what)")
            throw CancellationError()
        }

        deinit {
            for worker in workers { worker.stop() }
            coordinator.stop()
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test("priority changed on a queued job reorders dispatch: its tasks go out first")
    func priorityReordersDispatch() throws {
        let farm = try Farm("ops-priority")
        let a = try farm.submit(try farm.synth("a", frames: 3, size: "256x192", seed: 21))
        let b = try farm.submit(try farm.synth("b", frames: 3, size: "256x192", seed: 22))
        let ack = try farm.cli(["priority", "\(b)", "10", "--json"])
        #expect(ack.status == 0, "\(ack.stderr)")
        let steered = try Self.json(ack.stdout)
        #expect(steered["priority"] as? Int == 10)
        #expect(steered["state"] as? String == "running")
        try farm.startWorker("w1")
        try farm.waitFor(60, "both jobs to finish") { try farm.job(a).state.isFinished && farm.job(b).state.isFinished }
        let first = { (job: Int64) throws -> [Int64] in
            try farm.coordinator.store.attempts(of: JobID(job)).filter { $0.attempt == 1 }.map(\.startedAt)
        }
        let aStarts = try first(a), bStarts = try first(b)
        #expect(aStarts.count == 3 && bStarts.count == 3)
        // Job b was submitted second; without the change job a's tasks would go first.
        #expect(bStarts.max()! <= aStarts.min()!, "b \(bStarts) should all start before a \(aStarts)")
    }

    @Test("cancel stops dispatch and sends CANCEL for the tasks in flight within a heartbeat")
    func cancelStopsDispatchAndInFlightTasks() throws {
        // 500 ms beats: "within a heartbeat" must hold on a loaded 2-core CI machine too.
        let farm = try Farm("ops-cancel", heartbeatMillis: 500)
        let job = try farm.submit(try farm.synth("big", frames: 4, size: "1600x1200", seed: 31), tileSize: 128)
        try farm.startWorker("w1", slots: 2)
        try farm.waitFor(60, "tile tasks running") {
            let j = try farm.job(job)
            return j.taskCounts[.running, default: 0] > 0 && j.taskCounts[.succeeded, default: 0] >= 4
        }
        // A second worker whose tasks never finish (test hook): tasks are surely still running
        // when the job is cancelled, however fast w1's results come back on a loaded machine.
        let hanging = try farm.startWorker("w2", slots: 2, extra: ["--hang-tasks", "1000"])
        defer { _ = hanging.stop(grace: 0) }  // its tasks never end: a drain would wait for them
        try farm.waitFor(60, "tasks held by w2") {
            let rows = try Self.json(try farm.cli(["workers", "--json"]).stdout)["workers"] as? [[String: Any]] ?? []
            return rows.contains { ($0["name"] as? String ?? "").hasPrefix("w2") && ($0["runningTasks"] as? Int ?? 0) > 0 }
        }
        let cancelled = try farm.cli(["cancel", "\(job)", "--json"])
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        let ack = try Self.json(cancelled.stdout)
        #expect(ack["state"] as? String == "cancelled")
        let inFlight = try #require(ack["tasksAffected"] as? Int)
        #expect(inFlight > 0, "tasks were running when the job was cancelled")
        let j = try farm.job(job)
        #expect(j.state == .cancelled)
        #expect(j.taskCounts[.queued, default: 0] == 0 && j.taskCounts[.running, default: 0] == 0)
        // CANCEL for every task in flight went out within a heartbeat (the command returned after
        // the store change; the mailbox hop to the socket thread is µs on an idle machine).
        // (A task whose result was already on its way when the job was cancelled needs no CANCEL,
        // so the count may be below `tasksAffected`, never above.)
        try farm.waitFor(0.5, "CANCEL for the tasks in flight") {
            farm.coordinator.counters.tasksCancelledOnWorkers.load(ordering: .relaxed) > 0
        }
        #expect(farm.coordinator.counters.tasksCancelledOnWorkers.load(ordering: .relaxed) <= inFlight)
        let workers = try Self.json(try farm.cli(["workers", "--json"]).stdout)
        let rows = try #require(workers["workers"] as? [[String: Any]])
        #expect(rows.count == 2 && rows.allSatisfy { $0["runningTasks"] as? Int == 0 }, "\(rows)")
        let sent = farm.coordinator.counters.tasksSent.load(ordering: .relaxed)
        Thread.sleep(forTimeInterval: 1.5)  // observing three heartbeats: nothing more may be dispatched
        #expect(farm.coordinator.counters.tasksSent.load(ordering: .relaxed) == sent)
        let events = try farm.cli(["events", "\(job)"])
        #expect(events.stdout.contains("job.cancel"))
    }

    @Test("retry --failed re-runs only the failed frame's tasks; finished frames are not redone")
    func retryFailedRerunsOnlyFailedTasks() throws {
        let farm = try Farm("ops-retry")
        let shoot = try farm.synth("shoot", frames: 3, size: "256x192", seed: 41)
        let files = try FileManager.default.contentsOfDirectory(atPath: shoot).filter { $0.hasSuffix(".dng") || $0.hasSuffix(".DNG") }.sorted()
        let victim = shoot + "/" + files[1]
        let original = try Data(contentsOf: URL(fileURLWithPath: victim))
        try Data(original.prefix(200)).write(to: URL(fileURLWithPath: victim))
        let job = try farm.submit(shoot)
        try farm.startWorker("w1")
        try farm.waitFor(60, "the job to finish") { try farm.job(job).state.isFinished }
        #expect(try farm.job(job).state == .completedWithFailures)
        let before = try farm.coordinator.store.attempts(of: JobID(job))
        try original.write(to: URL(fileURLWithPath: victim))

        let result = try farm.cli(["retry", "\(job)", "--failed", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let ack = try Self.json(result.stdout)
        #expect(ack["tasksAffected"] as? Int == 1)
        #expect(ack["state"] as? String == "running")
        try farm.waitFor(60, "the retried job to finish") { try farm.job(job).state.isFinished }
        #expect(try farm.job(job).state == .succeeded)
        let after = try farm.coordinator.store.attempts(of: JobID(job))
        let new = after.filter { a in !before.contains { $0.taskID == a.taskID && $0.attempt == a.attempt } }
        #expect(new.count == 1, "only the failed decode runs again: \(new)")
        let failedTask = try #require(before.first { $0.outcome == .failed }?.taskID)
        #expect(new.first?.taskID == failedTask)
        #expect(FileManager.default.fileExists(atPath: farm.tmp.sub("out-shoot")))
    }

    @Test("drain reaches the worker over the task socket: it finishes and leaves")
    func drainMakesTheWorkerLeave() throws {
        let farm = try Farm("ops-drain")
        try farm.startWorker("w1")
        try farm.waitFor(30, "the worker to register") { try farm.coordinator.store.workerOverviews(includeGone: false, limit: 10).total == 1 }
        let id = try #require(try farm.coordinator.store.workerOverviews(includeGone: false, limit: 10).workers.first?.id)
        let result = try farm.cli(["drain", "\(id.rawValue)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("state: draining"))
        try farm.waitFor(30, "the worker process to exit") { !farm.workers[0].process.isRunning }
        #expect(farm.workers[0].process.terminationStatus == 0)
        let workers = try Self.json(try farm.cli(["workers", "--all", "--json"]).stdout)
        #expect((workers["workers"] as? [[String: Any]])?.first?["state"] as? String == "left")
        // Unknown targets are refused with exit code 4 and a message naming them.
        let unknown = try farm.cli(["drain", "999"])
        #expect(unknown.status == 4)
        #expect(unknown.stderr.contains("999"))
        #expect(try farm.cli(["pause", "999"]).status == 4)
    }

    @Test("jobs, job, workers and events read a database file with --db when no coordinator runs; steering is not offered there")
    func viewsFromTheDatabaseFile() throws {
        let tmp = try TemporaryDirectory("ops-db")
        let shoot = tmp.sub("shoot"), db = tmp.sub("farm.db")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "3", "--size", "256x192", "--seed", "43"]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: shoot).filter { $0.hasSuffix(".dng") }.sorted()
        try Data("not a raw file".utf8).write(to: URL(fileURLWithPath: shoot + "/" + files[2]))
        let run = try TesseraProcess.run(["run", shoot, "--out", tmp.sub("out"), "--workers", "2", "--tile-size", "128", "--db", db])
        #expect(run.status == 1, "one frame fails: \(run.stderr)")

        // The coordinator of that run is gone: every view answers from the file.
        let jobs = try Self.json(try TesseraProcess.run(["jobs", "--db", db, "--json"]).stdout)
        let job = try #require((jobs["jobs"] as? [[String: Any]])?.first)
        #expect(job["state"] as? String == "completedWithFailures")
        #expect(job["frames"] as? [String: Int] == ["total": 3, "done": 2, "failed": 1])
        #expect(jobs["workersConnected"] as? Int == 0)
        let id = try #require(job["id"] as? Int)

        let detail = try TesseraProcess.run(["job", "\(id)", "--db", db, "--json"])
        #expect(detail.status == 0, "\(detail.stderr)")
        let failures = try #require(try Self.json(detail.stdout)["failures"] as? [[String: Any]])
        #expect(failures.count == 1 && (failures.first?["path"] as? String)?.hasSuffix(files[2]) == true, "\(failures)")
        #expect((failures.first?["reason"] as? String)?.contains("not a RAW file") == true, "\(failures)")

        let workers = try #require(try Self.json(try TesseraProcess.run(["workers", "--all", "--db", db, "--json"]).stdout)["workers"] as? [[String: Any]])
        #expect(workers.count == 2, "\(workers)")
        #expect(workers.reduce(0) { $0 + ($1["tasksSucceeded"] as? Int ?? 0) } > 0)

        let events = try TesseraProcess.run(["events", "\(id)", "--db", db, "--json"])
        #expect(events.status == 0, "\(events.stderr)")
        let kinds = events.stdout.split(separator: "\n").compactMap { try? Self.json(String($0))["kind"] as? String }
        #expect(kinds.contains("job.submitted") && kinds.contains("frame.failed") && kinds.contains("job.finished"), "\(kinds)")

        // A job that is not there: refused (exit 4) naming it; a missing file: a usage error naming it.
        let unknown = try TesseraProcess.run(["job", "999", "--db", db])
        #expect(unknown.status == 4 && unknown.stderr.contains("999"), "\(unknown.stderr)")
        let missing = try TesseraProcess.run(["jobs", "--db", tmp.sub("nope.db")])
        #expect(missing.status != 0 && missing.stderr.contains("nope.db"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.sub("nope.db")), "a view must not create a database")
    }

    @Test("an unreachable coordinator: exit code 3 and a message naming the endpoint and how to start one")
    func unreachableCoordinator() throws {
        let result = try TesseraProcess.run(["jobs", "--coordinator", "tcp://127.0.0.1:9", "--timeout", "0.3", "--insecure"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("tcp://127.0.0.1:9"))
        #expect(result.stderr.contains("tessera coordinator"))
    }

    @Test("the metrics endpoint serves valid Prometheus text whose counters move during a job")
    func metricsEndpoint() throws {
        let farm = try Farm("ops-metrics", metrics: true)
        let endpoint = try #require(farm.coordinator.metricsEndpoint)
        let before = try PrometheusText.parse(try HTTP.get(endpoint, "/metrics"))
        #expect(before.value("tessera_tasks_sent_total") == 0)
        #expect(before.value("tessera_workers", ["state": "connected"]) == 0)
        let job = try farm.submit(try farm.synth("m", frames: 3, size: "640x480", seed: 51))
        try farm.startWorker("w1", slots: 2)
        try farm.waitFor(60, "the job to finish") { try farm.job(job).state.isFinished }
        let after = try PrometheusText.parse(try HTTP.get(endpoint, "/metrics"))
        #expect(after.value("tessera_tasks_sent_total")! > 0)
        #expect(after.value("tessera_results_received_total")! > 0)
        #expect(after.value("tessera_frames_total", ["outcome": "done"]) == 3)
        #expect(after.value("tessera_pixels_written_total") == Double(3 * 640 * 480))
        #expect(after.value("tessera_bytes_total", ["direction": "sent"])! > 0)
        #expect(after.value("tessera_tasks", ["state": "succeeded"])! > 0)
        #expect(after.value("tessera_jobs", ["state": "succeeded"]) == 1)
        #expect(after.value("tessera_workers", ["state": "connected"]) == 1)
        #expect(after.value("tessera_queue_depth") == 0)
        let count = try #require(after.value("tessera_dispatch_latency_seconds_count"))
        #expect(count == after.value("tessera_tasks_sent_total"))
        #expect(after.value("tessera_dispatch_latency_seconds_bucket", ["le": "+Inf"]) == count)
        #expect(after.types["tessera_dispatch_latency_seconds"] == "histogram")
        #expect(after.types["tessera_tasks_sent_total"] == "counter")
        // One worker decoded every frame, so it holds every plane: each tile window is cut there.
        #expect(after.value("tessera_cache_hits_total")! > 0)
        #expect(after.value("tessera_cache_bytes_saved_total")! > 0)
        #expect(after.value("tessera_cache_misses_total") == 0)
        #expect(after.types["tessera_cache_bytes_saved_total"] == "counter")
        #expect(try HTTP.get(endpoint, "/other").isEmpty == false)
    }

    @Test("tessera watch in a real terminal shows the job's progress reaching 100% and exits 0")
    func watchInAPseudoTerminal() throws {
        let farm = try Farm("ops-watch")
        let job = try farm.submit(try farm.synth("w", frames: 4, size: "640x480", seed: 61))
        let tmux = Tmux()
        defer { tmux.kill() }
        let command = "\(TesseraProcess.executable) watch \(job) --interval 0.1 --coordinator \(farm.control) \(farm.keys.operatorArgs.joined(separator: " ")); echo WATCH-EXIT=$?; sleep 30"
        try tmux.start(command, width: 120, height: 30)
        try farm.waitFor(20, "the live view") { try tmux.screen().contains("tessera watch") }
        #expect(try tmux.screen().contains(" 0%"))
        try farm.startWorker("w1", slots: 2)
        try farm.waitFor(90, "watch to exit") { try tmux.screen().contains("WATCH-EXIT=") }
        let screen = try tmux.screen()
        #expect(screen.contains("100%"), "\(screen)")
        #expect(screen.contains("[########################################]") || screen.contains("####"), "\(screen)")
        #expect(screen.contains("4/0/4"), "\(screen)")
        #expect(screen.contains("WATCH-EXIT=0"), "\(screen)")
    }

    @Test("watch without a terminal prints plain lines, one per change, ending at 100%")
    func watchPlainOutput() throws {
        let farm = try Farm("ops-watch-plain")
        let job = try farm.submit(try farm.synth("p", frames: 3, size: "256x192", seed: 62))
        try farm.startWorker("w1")
        let result = try farm.cli(["watch", "\(job)", "--interval", "0.1"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.last?.contains("succeeded 100%") == true, "\(result.stdout)")
        #expect(!result.stdout.contains("\u{1B}["), "no escape sequences in plain output")
    }
}

/// A tmux server of its own (unique socket) running one command in a detached session.
final class Tmux {
    let socket = "tessera-test-\(UUID().uuidString.prefix(8))"

    /// Runs a tmux client command with posix_spawn + waitpid and returns what it printed. (Not
    /// `Process`: the client of `new-session -d` forks the server, and Foundation's reaper then
    /// never saw the client exit here.)
    @discardableResult
    func run(_ args: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux", "-L", socket] + args).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        // Default signal handling for tmux and its panes (the test process may ignore SIGHUP and
        // SIGTERM, and ignored signals are inherited): kill-server must be able to end them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/tmux", &actions, &attributes, argv, environ)
        try #require(spawned == 0, "cannot start tmux: \(spawned)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    func start(_ command: String, width: Int, height: Int) throws {
        try run(["new-session", "-d", "-s", "watch", "-x", "\(width)", "-y", "\(height)", command])
    }

    func screen() throws -> String { try run(["capture-pane", "-p", "-t", "watch"]) }

    func kill() { _ = try? run(["kill-server"]) }
}

/// A minimal HTTP/1.1 GET over a POSIX socket (the test talks to the endpoint as a scraper would).
enum HTTP {
    static func get(_ hostPort: String, _ path: String) throws -> String {
        let parts = hostPort.split(separator: ":")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(parts[1])!.bigEndian
        inet_pton(AF_INET, String(parts[0]), &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "cannot connect to \(hostPort)")
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostPort)\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return "" }
        let head = text[..<split.lowerBound]
        if path == "/metrics" {
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.contains("Content-Type: text/plain; version=0.0.4"))
        } else {
            #expect(head.hasPrefix("HTTP/1.1 404"))
        }
        return String(text[split.upperBound...])
    }
}

/// A strict reader of the Prometheus text exposition format (0.0.4): every sample line must be
/// `name{label="value",…} number`, every family's TYPE must come before its samples, histogram
/// buckets must be cumulative.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func parse(_ text: String) throws -> PrometheusText {
        var result = PrometheusText()
        let name = /[a-zA-Z_:][a-zA-Z0-9_:]*/
        let sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|Inf))$/
        let label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4 && parts[2].wholeMatch(of: name) != nil, "bad TYPE line: \(line)")
                try #require(["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3])), "bad type: \(line)")
                result.types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let match = try #require(line.wholeMatch(of: sampleLine), "not a sample line: \(line)")
            var labels: [String: String] = [:]
            if let body = match.2 {
                let inner = body.dropFirst().dropLast()
                for part in inner.matches(of: label) { labels[String(part.1)] = String(part.2) }
            }
            let metric = String(match.1)
            let family = ["_bucket", "_sum", "_count"].reduce(metric) { $0.hasSuffix($1) && result.types[String($0.dropLast($1.count))] == "histogram" ? String($0.dropLast($1.count)) : $0 }
            try #require(result.types[family] != nil, "sample before its TYPE: \(line)")
            let value = match.3 == "+Inf" || match.3 == "Inf" ? Double.infinity : try #require(Double(match.3))
            result.samples.append(Sample(name: metric, labels: labels, value: value))
        }
        for (family, type) in result.types where type == "histogram" {
            let buckets = result.samples.filter { $0.name == family + "_bucket" }
            let ordered = buckets.sorted { (Double($0.labels["le"]!) ?? .infinity) < (Double($1.labels["le"]!) ?? .infinity) }
            try #require(zip(ordered, ordered.dropFirst()).allSatisfy { $0.value <= $1.value }, "\(family) buckets are not cumulative")
        }
        return result
    }
}
