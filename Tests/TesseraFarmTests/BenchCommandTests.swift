import Foundation
import Testing

/// The benchmark commands run end to end at a tiny size and report well-formed figures (their
/// speed is measured in release builds and recorded in docs/performance.md, never asserted).
@Suite struct BenchCommandTests {
    @Test("bench transport moves checksummed RESULT and TASK payloads and raw frames, plain and CURVE, both directions, and reports both")
    func transportReports() throws {
        for extra in [[String](), ["--curve", "--transport", "ipc"]] {
            let run = try TesseraProcess.run(["bench", "transport", "--sizes", "4096,65536", "--megabytes", "1", "--repeats", "3", "--json"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            let rows = try #require(report?["rows"] as? [[String: Any]])
            // Each direction and size twice: the checksum made by the producer (the real paths), then by the sender.
            #expect(rows.map { $0["payloadBytes"] as? Int } == [4096, 4096, 65536, 65536, 4096, 4096, 65536, 65536])
            #expect(rows.map { $0["direction"] as? String } == ["results", "results", "results", "results", "tasks", "tasks", "tasks", "tasks"])
            #expect(rows.map { $0["checksums"] as? String } == Array(repeating: ["producer", "sender"], count: 4).flatMap { $0 })
            for row in rows {
                #expect(((row["producerChecksumCPUSecondsPerGB"] as? Double) ?? 0) > 0)
                let baseline = try #require(row["baselineGBps"] as? Double), tessera = try #require(row["tesseraGBps"] as? Double)
                #expect(baseline > 0 && tessera > 0 && ((row["ratio"] as? Double) ?? 0) > 0)
                #expect(((row["baselineCPUSecondsPerGB"] as? Double) ?? 0) > 0 && ((row["tesseraCPUSecondsPerGB"] as? Double) ?? 0) > 0)
                // Medians of 3 raw/Tessera round pairs, with their spread.
                #expect(row["pairs"] as? Int == 3)
                let spread = ["ratioMin", "ratioP25", "ratio", "ratioP75", "ratioMax"].compactMap { row[$0] as? Double }
                #expect(spread.count == 5 && spread == spread.sorted(), "\(spread)")
                for key in ["protocolCPUSecondsPerGB", "protocolSenderCPUSecondsPerGB", "protocolReceiverCPUSecondsPerGB", "protocolIOCPUSecondsPerGB"] {
                    #expect(row[key] as? Double != nil, "\(key)")
                }
            }
            #expect(report?["curve"] as? Bool == extra.contains("--curve"))
            #expect((report?["pinning"] as? String)?.isEmpty == false)
            #expect(report?["allocatorConfigured"] as? Bool == true)
        }
        let bad = try TesseraProcess.run(["bench", "transport", "--transport", "udp"])
        #expect(bad.status != 0 && bad.stderr.contains("--transport"))
        let badWay = try TesseraProcess.run(["bench", "transport", "--direction", "sideways"])
        #expect(badWay.status != 0 && badWay.stderr.contains("--direction"))
        let badPin = try TesseraProcess.run(["bench", "transport", "--pin", "everywhere"])
        #expect(badPin.status != 0 && badPin.stderr.contains("--pin"))
        let badSite = try TesseraProcess.run(["bench", "transport", "--checksums", "receiver"])
        #expect(badSite.status != 0 && badSite.stderr.contains("--checksums"))
        let senderOnly = try TesseraProcess.run(["bench", "transport", "--sizes", "4096", "--megabytes", "1", "--repeats", "2",
                                                 "--direction", "tasks", "--checksums", "sender", "--json"])
        #expect(senderOnly.status == 0, "\(senderOnly.stderr)")
        let senderRows = try #require(try JSONSerialization.jsonObject(with: Data(senderOnly.stdout.utf8)) as? [String: Any])["rows"] as? [[String: Any]]
        #expect(senderRows?.map { $0["checksums"] as? String } == ["sender"])
    }

    @Test("bench rogue runs a small job clean and under attack on an embedded farm: the rogues send, the compromised key is cut off and counted, every job succeeds")
    func rogueReports() throws {
        let run = try TesseraProcess.run(["bench", "rogue", "--frames", "2", "--size", "512x384", "--rounds", "1", "--json"], timeout: 300)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let rounds = try #require(report["rounds"] as? [[String: Any]])
        #expect(rounds.count == 1)
        for key in ["cleanSeconds", "attackedSeconds", "ratio", "cleanFarmCPUSeconds", "attackedFarmCPUSeconds", "cpuRatio"] {
            #expect(((rounds.first?[key] as? Double) ?? 0) > 0, "\(key)")
        }
        #expect(((report["compromisedMessages"] as? Int) ?? 0) > 0)
        #expect(((report["rawTCPConnections"] as? Int) ?? 0) > 0)
        let counted = try #require(report["counted"] as? [String: Any])
        #expect(((counted["peersDisconnected"] as? Int) ?? 0) >= 1, "the compromised key was never cut off: \(counted)")
        #expect(((counted["disconnectEvents"] as? Int) ?? 0) >= 1)
        #expect(((counted["malformed"] as? Int) ?? 0) >= 16)
        #expect(((counted["handshakeFailures"] as? Int) ?? 0) >= 1, "the wrong-key and raw TCP rogues caused no failed handshake")
        #expect(report["cleanRunMalformed"] as? Int == 0)
        #expect((report["pinning"] as? String)?.isEmpty == false)
        let bad = try TesseraProcess.run(["bench", "rogue", "--rounds", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--rounds"))
    }

    @Test("a coordinator given a malformed --metrics endpoint exits with a message naming the flag (it used to trap releasing its timer)")
    func badMetricsEndpointIsAnError() throws {
        let tmp = try TemporaryDirectory("bad-metrics")
        let run = try TesseraProcess.run(["coordinator", "--metrics", "nonsense", "--db", tmp.sub("c.db"), "--insecure",
                                          "--listen", "ipc://\(tmp.sub("t"))", "--control", "ipc://\(tmp.sub("c"))"], timeout: 60)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("--metrics wants HOST:PORT") && !run.stderr.contains("Fatal"), "\(run.stderr)")
    }

}
