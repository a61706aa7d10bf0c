import Foundation
import Testing
import TesseraCoordinator
import TesseraCore
import TesseraImaging
import TesseraStore

/// The coordinator bounds the task payload bytes it holds (prepared, or sent and unanswered),
/// whatever the number of workers and their credit.
@Suite(.serialized) struct InflightTests {
    @Test("with a 1.5 MB bound and 6 slots asking for 600 KB decodes, bytes in flight never pass the bound and the job completes")
    func bytesInFlightStayUnderTheBound() throws {
        let tmp = try TemporaryDirectory("inflight")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "6", "--size", "640x480", "--seed", "51"]).status == 0)
        let raw = try FileManager.default.contentsOfDirectory(atPath: shoot).filter { $0.hasSuffix(".dng") }
        let rawBytes = try raw.map { try FileManager.default.attributesOfItem(atPath: shoot + "/" + $0)[.size] as! Int }
        let bound = 3 * (rawBytes.max() ?? 0) / 2  // room for one decode at a time, plus tile windows
        var config = CoordinatorConfig(taskEndpoint: "tcp://127.0.0.1:*", controlEndpoint: nil, databasePath: tmp.sub("c.db"))
        config.maxInflightBytes = bound
        config.heartbeatMillis = 200
        let keys = try FarmKeys(directory: tmp.sub("keys"), db: config.databasePath)
        config.security = .curve(serverKeys: keys.coordinator)
        let coordinator = try Coordinator(config: config)
        try coordinator.start()
        defer { coordinator.stop() }
        let endpoint = try #require(coordinator.taskEndpoint)
        let workers = try (1...3).map {
            try TesseraProcess.start(["worker", "--connect", endpoint, "--slots", "2", "--name", "w\($0)", "--log-level", "error"] + keys.workerArgs)
        }
        defer { for w in workers { w.stop() } }
        let (job, _) = try coordinator.submit(JobRequest(captureDirectory: shoot, outputDirectory: out, tileSize: 128, format: .tiff))

        var sampled = 0, maxSeen = 0
        let finished = try Faults.poll(upTo: 180) {
            let now = coordinator.counters.bytesInFlight.load(ordering: .relaxed)
            maxSeen = max(maxSeen, now)
            sampled += 1
            return try coordinator.store.jobSummaries(job).first?.state.isFinished == true
        }
        #expect(finished, "the job did not finish")
        #expect(try coordinator.store.jobSummaries(job).first?.state == .succeeded)
        let peak = coordinator.counters.peakBytesInFlight.load(ordering: .relaxed)
        let deferred = coordinator.counters.tasksDeferred.load(ordering: .relaxed)
        print("bound \(bound) B; peak in flight \(peak) B; max sampled \(maxSeen) B over \(sampled) samples; tasks deferred \(deferred)")
        #expect(peak <= bound, "peak bytes in flight \(peak) above the bound \(bound)")
        #expect(maxSeen <= bound)
        #expect(peak > rawBytes.min()!, "a decode's file was counted in flight")
        #expect(deferred > 0, "the bound never held a task back: the test did not exercise it")
        // Everything answered: nothing is still counted.
        #expect(Faults.poll(upTo: 10) { coordinator.counters.bytesInFlight.load(ordering: .relaxed) == 0 },
                "bytes still counted in flight after the job: \(coordinator.counters.bytesInFlight.load(ordering: .relaxed))")
        try Faults.expectOutputsMatchDevelop(db: tmp.sub("c.db"), job: job, out: out, refDir: tmp.sub("ref"))
    }
}
