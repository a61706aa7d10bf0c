import Foundation
import Testing
import TesseraImaging

@Suite struct RecipeTests {
    @Test func builtInsResolveByName() throws {
        let neutral = try Recipe.resolve("neutral"), standard = try Recipe.resolve("standard")
        #expect(neutral == .neutral && standard == .standard)
        #expect(neutral.name == "neutral" && neutral.demosaic == .mhc && neutral.whiteBalance == .asShot && neutral.exposureEV == 0)
        #expect(neutral.output == Recipe.Output(jpegQuality: 92, jpegSubsampling: .s444, pngBitDepth: 16))
        #expect(neutral.hash != standard.hash, "distinct names, distinct hashes")
        #expect(Recipe.builtInNames == ["neutral", "standard"])
    }

    @Test func canonicalJSONAndHashAreStable() throws {
        let json = Recipe.neutral.canonicalJSON
        #expect(json == #"{"demosaic":"mhc","exposureEV":0,"name":"neutral","output":{"jpegQuality":92,"jpegSubsampling":"444","pngBitDepth":16},"version":1,"whiteBalance":"asShot"}"#)
        let hash = Recipe.neutral.hash
        #expect(hash.count == 16 && hash.allSatisfy(\.isHexDigit))
        #expect(Recipe.neutral.hash == hash)
        var brighter = Recipe.neutral
        brighter.exposureEV = 0.1 + 0.2
        #expect(brighter.canonicalJSON.contains(#""exposureEV":0.30000000000000004"#))
        #expect(brighter.hash != hash)
        // The canonical text decodes back to the same recipe.
        #expect(try Recipe.decode(json: Array(brighter.canonicalJSON.utf8), source: "canonical") == brighter)
    }

    @Test func jsonFileWithDefaults() throws {
        let dir = DevelopFixtures.tempDir("recipe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bright.json"
        try #"{ "version": 1, "name": "bright", "exposureEV": 1.5, "output": { "jpegQuality": 80, "jpegSubsampling": "420" } }"#
            .write(toFile: path, atomically: false, encoding: .utf8)
        let r = try Recipe.resolve(path)
        #expect(r.name == "bright" && r.exposureEV == 1.5 && r.demosaic == .mhc)
        #expect(r.output == Recipe.Output(jpegQuality: 80, jpegSubsampling: .s420, pngBitDepth: 16))
        // Key order and whitespace do not change the hash.
        try #"{"output":{"jpegSubsampling":"420","jpegQuality":80},"exposureEV":1.5,"name":"bright","version":1}"#
            .write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try Recipe.resolve(path).hash == r.hash)
    }

    @Test(arguments: [
        (#"{"version":1,"name":"x","exposure":1}"#, "exposure"),
        (#"{"version":1,"name":"x","output":{"jpegQuality":92,"quality":3}}"#, "output.quality"),
        (#"{"version":1,"name":"x","exposureEV":"1"}"#, "exposureEV"),
        (#"{"version":1,"name":"x","exposureEV":11}"#, "exposureEV"),
        (#"{"version":1,"name":"x","output":{"jpegQuality":0}}"#, "output.jpegQuality"),
        (#"{"version":1,"name":"x","output":{"jpegQuality":92.5}}"#, "output.jpegQuality"),
        (#"{"version":1,"name":"x","output":{"jpegSubsampling":"411"}}"#, "output.jpegSubsampling"),
        (#"{"version":1,"name":"x","output":{"pngBitDepth":12}}"#, "output.pngBitDepth"),
        (#"{"version":1,"name":"x","output":7}"#, "output"),
        (#"{"version":1,"name":"x","demosaic":"ahd"}"#, "demosaic"),
        (#"{"version":1,"name":"x","whiteBalance":"auto"}"#, "whiteBalance"),
        (#"{"version":2,"name":"x"}"#, "version"),
        (#"{"name":"x"}"#, "version"),
        (#"{"version":1}"#, "name"),
        (#"{"version":1,"name":true}"#, "name"),
        (#"[1,2]"#, "(top level)"),
    ])
    func invalidRecipesNameTheKey(json: String, key: String) {
        do {
            _ = try Recipe.decode(json: Array(json.utf8), source: "bad.json")
            Issue.record("accepted \(json)")
        } catch {
            guard case .invalidRecipe(let source, let k, let reason) = error else { Issue.record("\(error)"); return }
            #expect(source == "bad.json" && k == key, "\(json): key '\(k)' (\(reason))")
            #expect(error.description.contains("'\(key)'") && error.description.contains("bad.json"))
        }
    }

    @Test func malformedJSONAndUnknownNames() throws {
        #expect(throws: ImagingError.self) { try Recipe.decode(json: Array("{\"version\":1,".utf8), source: "cut.json") }
        do {
            _ = try Recipe.resolve("no-such-recipe")
            Issue.record("resolved an unknown name")
        } catch {
            guard case .unknownRecipe(let name) = error else { Issue.record("\(error)"); return }
            #expect(name == "no-such-recipe" && error.description.contains("neutral"))
        }
    }
}
