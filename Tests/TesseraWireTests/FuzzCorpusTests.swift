import Foundation
import Testing
import TesseraWire

/// Replays the fuzzer's corpus and crash regressions (Fuzz/, scripts/fuzz-wire.sh) through the
/// decoder: every input must decode or throw a `WireError`, and whatever decodes must be
/// canonical (re-encoding gives back the same bytes) and pass `validate`.
@Suite struct WireFuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ sub: String) -> [URL] {
        let dir = fuzzDirectory.appendingPathComponent(sub)
        return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test("the corpus and every crash regression decode or are rejected, never trap; decoded inputs are canonical")
    func replay() throws {
        let corpus = Self.inputs("corpus/wire"), regressions = Self.inputs("regressions/wire")
        #expect(corpus.count >= 50, "the corpus at \(Self.fuzzDirectory.path) is missing")
        var decoded = 0
        for url in corpus + regressions {
            let bytes = try [UInt8](Data(contentsOf: url))
            guard let message = try? WireCodec.decode(bytes) else { continue }
            decoded += 1
            #expect(WireCodec.encode(message) == bytes, "\(url.lastPathComponent) is not canonical")
            #expect(throws: Never.self, "\(url.lastPathComponent) decodes but fails validate") { try WireCodec.validate(message) }
        }
        #expect(decoded > 0)
        print("replayed \(corpus.count) corpus inputs and \(regressions.count) regressions; \(decoded) decode")
    }
}
