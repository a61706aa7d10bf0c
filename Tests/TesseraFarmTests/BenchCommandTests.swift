import Foundation
import Testing

/// The benchmark commands run end to end at a tiny size and report well-formed figures (their
/// speed is measured in release builds and recorded in docs/performance.md, never asserted).
@Suite struct BenchCommandTests {
    @Test("bench transport moves checksummed RESULT payloads and raw frames, plain and CURVE, and reports both")
    func transportReports() throws {
        for extra in [[String](), ["--curve", "--transport", "ipc"]] {
            let run = try TesseraProcess.run(["bench", "transport", "--sizes", "4096,65536", "--megabytes", "1", "--repeats", "1", "--json"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            let rows = try #require(report?["rows"] as? [[String: Any]])
            #expect(rows.map { $0["payloadBytes"] as? Int } == [4096, 65536])
            for row in rows {
                let baseline = try #require(row["baselineGBps"] as? Double), tessera = try #require(row["tesseraGBps"] as? Double)
                #expect(baseline > 0 && tessera > 0 && ((row["ratio"] as? Double) ?? 0) > 0)
            }
            #expect(report?["curve"] as? Bool == extra.contains("--curve"))
        }
        let bad = try TesseraProcess.run(["bench", "transport", "--transport", "udp"])
        #expect(bad.status != 0 && bad.stderr.contains("--transport"))
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
