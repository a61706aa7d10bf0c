import Foundation
import Testing

/// `tessera bench dispatch|farm|restart` run end to end at tiny sizes (real coordinator, CURVE,
/// SQLite, simulated workers) and report well-formed figures; speed is measured in release
/// builds and recorded in docs/performance.md, never asserted.
@Suite struct BenchDispatchTests {
    private func report(_ args: [String]) throws -> [String: Any] {
        let run = try TesseraProcess.run(["bench"] + args + ["--json"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test("bench dispatch sends every no-op task through the coordinator to many simulated workers and reports its baselines")
    func dispatchReports() throws {
        let r = try report(["dispatch", "--workers", "12", "--credit", "3", "--tasks", "600", "--baseline-tasks", "300"])
        #expect(r["tasks"] as? Int == 600 && r["workers"] as? Int == 12)
        for key in ["tasksPerSecond", "storeOnlyTasksPerSecond", "sqliteBatchedUpdatesPerSecond", "rawZMQRoundTripsPerSecond",
                    "ratioToStoreOnly", "ratioToRawZMQ", "latencyP50Millis"] {
            #expect(((r[key] as? Double) ?? 0) > 0, "\(key)")
        }
        let p50 = try #require(r["latencyP50Millis"] as? Double), p99 = try #require(r["latencyP99Millis"] as? Double)
        #expect(p99 >= p50)
        let deciles = try #require(r["decileTasksPerSecond"] as? [Double])
        #expect(deciles.count == 10 && deciles.allSatisfy { $0 > 0 })
        // CPU is counted in clock ticks (10 ms): a tiny run may show 0 for a side, never less.
        for key in ["coordinatorCPUMicrosPerTask", "simulatedWorkersCPUMicrosPerTask", "coordinatorCores", "simulatedWorkersCores"] {
            #expect(((r[key] as? Double) ?? -1) >= 0, "\(key)")
        }
        let bad = try TesseraProcess.run(["bench", "dispatch", "--credit", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--credit"))
    }

    @Test("bench farm runs seeded task durations on a simulated farm and reports a makespan no shorter than the ideal")
    func farmReports() throws {
        let r = try report(["farm", "--workers", "8", "--tasks", "120", "--median-millis", "5", "--sigma", "0.5", "--seed", "3"])
        let makespan = try #require(r["makespanSeconds"] as? Double), ideal = try #require(r["idealSeconds"] as? Double)
        let greedy = try #require(r["greedySeconds"] as? Double), busy = try #require(r["busySeconds"] as? Double)
        #expect(busy > 0 && ideal >= busy / 8 - 1e-9 && greedy >= ideal - 1e-9)
        #expect(makespan >= ideal && ((r["efficiency"] as? Double) ?? 2) <= 1)
        // The durations are a function of the seed and the task ids alone: the same busy time again.
        let again = try report(["farm", "--workers", "8", "--tasks", "120", "--median-millis", "5", "--sigma", "0.5", "--seed", "3"])
        #expect(abs(((again["busySeconds"] as? Double) ?? 0) - busy) < 1e-6)
    }

    @Test("bench restart times coordinator start to the first TASK on a database with running tasks")
    func restartReports() throws {
        let r = try report(["restart", "--tasks", "2000", "--running", "50"])
        #expect(r["tasks"] as? Int == 2000 && ((r["databaseBytes"] as? Int) ?? 0) > 0)
        #expect(((r["storeOnlySeconds"] as? Double) ?? 0) > 0 && ((r["coordinatorSeconds"] as? Double) ?? 0) > 0)
    }
}
