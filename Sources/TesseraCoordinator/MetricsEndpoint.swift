import CoreMetrics
import Foundation
import Logging
import Prometheus
import Synchronization
import TesseraCore
import TesseraStore

/// The coordinator's metrics, through swift-metrics with a Prometheus backend (swift-prometheus)
/// bound to this coordinator's own registry (so several coordinators in one process — tests —
/// do not share numbers, and nothing needs the process-wide `MetricsSystem.bootstrap`).
///
/// Counters of the dispatch thread are atomics (`DispatchCounters`), read at scrape time and
/// carried into Prometheus counters by their increase; gauges are read from the store's
/// aggregates at scrape time. So a scrape costs the dispatch thread nothing. The dispatch latency
/// (claim → TASK sent, including preparation) is a histogram recorded as tasks are sent.
final class FarmMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let store: TesseraStore
    private let counters: DispatchCounters
    private let sessions: @Sendable () -> [SessionSnapshot]

    private let sent: [(@Sendable (DispatchCounters) -> Int, CoreMetrics.Counter)]
    /// The value of each entry of `sent` at the last scrape (counters only grow by the difference).
    private let seen: Mutex<[Int]>
    private let framesDone: CoreMetrics.Counter
    private let framesFailed: CoreMetrics.Counter
    private let pixelsDone: CoreMetrics.Counter
    private let storeTotals = Mutex<(frames: Int, failed: Int, pixels: Int64)>((0, 0, 0))
    private let tasksByState: [TaskState: CoreMetrics.Gauge]
    private let jobsByState: [JobState: CoreMetrics.Gauge]
    private let workersByState: [String: CoreMetrics.Gauge]
    private let queueDepth: CoreMetrics.Gauge
    private let tasksInFlight: CoreMetrics.Gauge
    private let tasksStuck: CoreMetrics.Gauge
    /// Recorded by the dispatch thread as each TASK is sent.
    let dispatchLatency: CoreMetrics.Timer

    static let workerStates = ["connected", "draining", "left", "lost"]

    init(store: TesseraStore, counters: DispatchCounters, sessions: @escaping @Sendable () -> [SessionSnapshot]) {
        self.store = store
        self.counters = counters
        self.sessions = sessions
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["tessera_dispatch_latency_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        }
        func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
            CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
        }
        let sent: [(@Sendable (DispatchCounters) -> Int, CoreMetrics.Counter)] = [
            ({ @Sendable c in c.tasksSent.load(ordering: .relaxed) }, counter("tessera_tasks_sent_total")),
            ({ @Sendable c in c.resultsReceived.load(ordering: .relaxed) }, counter("tessera_results_received_total")),
            ({ @Sendable c in c.failuresReceived.load(ordering: .relaxed) }, counter("tessera_failures_received_total")),
            ({ @Sendable c in c.tasksExpired.load(ordering: .relaxed) }, counter("tessera_tasks_expired_total")),
            ({ @Sendable c in c.staleResults.load(ordering: .relaxed) }, counter("tessera_stale_results_total")),
            ({ @Sendable c in c.malformed.load(ordering: .relaxed) }, counter("tessera_malformed_messages_total")),
            ({ @Sendable c in c.bytesSent.load(ordering: .relaxed) }, counter("tessera_bytes_total", [("direction", "sent")])),
            ({ @Sendable c in c.bytesReceived.load(ordering: .relaxed) }, counter("tessera_bytes_total", [("direction", "received")])),
            ({ @Sendable c in c.cacheWindowsReferenced.load(ordering: .relaxed) }, counter("tessera_cache_hits_total")),
            ({ @Sendable c in c.cacheMisses.load(ordering: .relaxed) }, counter("tessera_cache_misses_total")),
            ({ @Sendable c in c.cacheBytesSaved.load(ordering: .relaxed) }, counter("tessera_cache_bytes_saved_total")),
        ]
        self.sent = sent
        seen = Mutex(Array(repeating: 0, count: sent.count))
        framesDone = counter("tessera_frames_total", [("outcome", "done")])
        framesFailed = counter("tessera_frames_total", [("outcome", "failed")])
        pixelsDone = counter("tessera_pixels_written_total")
        tasksByState = Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0, gauge("tessera_tasks", [("state", $0.rawValue)])) })
        jobsByState = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, gauge("tessera_jobs", [("state", $0.rawValue)])) })
        workersByState = Dictionary(uniqueKeysWithValues: Self.workerStates.map { ($0, gauge("tessera_workers", [("state", $0)])) })
        queueDepth = gauge("tessera_queue_depth")
        tasksInFlight = gauge("tessera_tasks_in_flight")
        tasksStuck = gauge("tessera_tasks_stuck")
        dispatchLatency = CoreMetrics.Timer(label: "tessera_dispatch_latency_seconds", dimensions: [], factory: factory)
    }

    /// Brings every metric up to date (store aggregates, dispatch counters, sessions) and returns
    /// the Prometheus text exposition (format 0.0.4).
    func scrape() throws(StoreError) -> String {
        let totals = try store.farmTotals()
        for state in TaskState.allCases { tasksByState[state]?.record(totals.tasks[state, default: 0]) }
        for state in JobState.allCases { jobsByState[state]?.record(totals.jobs[state, default: 0]) }
        for state in Self.workerStates { workersByState[state]?.record(totals.workers[state, default: 0]) }
        queueDepth.record(totals.queueDepth)
        let snapshot = sessions()
        tasksInFlight.record(snapshot.reduce(0) { $0 + $1.tasks.count })
        tasksStuck.record(snapshot.reduce(0) { sum, session in
            sum + session.tasks.filter { OperatorRequests.isStuck(runningMillis: $0.runningMillis, expectedMillis: $0.expectedMillis) }.count
        })
        seen.withLock { seen in
            for (index, (path, counter)) in sent.enumerated() {
                let value = path(counters)
                if value > seen[index] { counter.increment(by: value - seen[index]) }
                seen[index] = max(seen[index], value)
            }
        }
        storeTotals.withLock { last in
            if totals.framesDone > last.frames { framesDone.increment(by: totals.framesDone - last.frames) }
            if totals.framesFailed > last.failed { framesFailed.increment(by: totals.framesFailed - last.failed) }
            if totals.pixelsDone > last.pixels { pixelsDone.increment(by: Int(totals.pixelsDone - last.pixels)) }
            last = (max(last.frames, totals.framesDone), max(last.failed, totals.framesFailed), max(last.pixels, totals.pixelsDone))
        }
        return registry.emitToString()
    }
}

/// A minimal HTTP/1.1 server on its own thread that answers `GET /metrics` with the Prometheus
/// text exposition and anything else with 404. One connection at a time (scrapers are few);
/// each request must arrive within 2 s and be at most 8 KiB; the connection is closed after
/// the answer. Never touches the dispatch thread.
final class MetricsServer: Sendable {
    private let host: String
    private let port: UInt16
    private let metrics: FarmMetrics
    private let logger: Logger
    private let listener = Mutex<Int32>(-1)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let boundPort = Atomic<Int>(0)

    /// Parses `HOST:PORT` (port 0 picks a free port).
    init(endpoint: String, metrics: FarmMetrics, logger: Logger) throws(CoordinatorError) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]) else {
            throw .invalidRequest("--metrics wants HOST:PORT (e.g. 127.0.0.1:9464), got '\(endpoint)'")
        }
        let host = String(endpoint[..<colon])
        self.host = host.isEmpty || host == "*" ? "0.0.0.0" : (host == "localhost" ? "127.0.0.1" : host)
        self.port = port
        self.metrics = metrics
        self.logger = logger
    }

    /// `HOST:PORT` actually bound.
    var endpoint: String { "\(host):\(boundPort.load(ordering: .relaxed))" }

    func start() throws(CoordinatorError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .transport("metrics: socket() failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw .invalidRequest("--metrics: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .transport("cannot serve metrics on \(host):\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        boundPort.store(Int(UInt16(bigEndian: actual.sin_port)), ordering: .relaxed)
        listener.withLock { $0 = fd }
        let thread = Thread { [self] in
            self.serve(fd)
            self.finished.signal()
        }
        thread.name = "tessera-metrics"
        thread.start()
        logger.info("serving metrics", metadata: ["endpoint": "http://\(endpoint)/metrics"])
    }

    func stop() {
        guard listener.withLock({ $0 }) >= 0 else { return }
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        listener.withLock { fd in
            close(fd)
            fd = -1
        }
    }

    private func serve(_ fd: Int32) {
        while !stopping.load(ordering: .relaxed) {
            var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 200) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .seconds(2)
        while request.count < 8192, !request.containsHeaderEnd, ContinuousClock.now < deadline {
            var item = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            request += buffer[..<n]
        }
        let line = String(decoding: request.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self).split(separator: " ")
        let (status, type, body): (String, String, String)
        if line.count >= 2, line[0] == "GET", line[1] == "/metrics" || line[1].hasPrefix("/metrics?") {
            do {
                (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", try metrics.scrape())
            } catch {
                logger.error("metrics scrape failed: \(error)")
                (status, type, body) = ("500 Internal Server Error", "text/plain; charset=utf-8", "scrape failed: \(error)\n")
            }
        } else {
            (status, type, body) = ("404 Not Found", "text/plain; charset=utf-8", "Tessera serves metrics at /metrics\n")
        }
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        var out = Array(head.utf8) + bytes
        var offset = 0
        while offset < out.count {
            let n = out.withUnsafeMutableBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            offset += n
        }
    }
}

extension [UInt8] {
    fileprivate var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 0x0D && self[i + 1] == 0x0A && self[i + 2] == 0x0D && self[i + 3] == 0x0A {
            return true
        }
        return false
    }
}
