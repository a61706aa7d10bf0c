import Foundation
import Testing
import TesseraImaging

/// The example recipe files shipped in `recipes/` (found from this file's path).
enum RecipeFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("recipes").path
    static func path(_ name: String) -> String { directory + "/" + name }
}

@Suite struct RecipeTests {
    @Test func builtInsResolveByName() throws {
        #expect(Recipe.builtInNames == ["neutral", "punchy", "standard"])
        for name in Recipe.builtInNames {
            let r = try Recipe.resolve(name)
            #expect(r == Recipe.builtIns[name] && r.name == name)
            try r.validate()
        }
        let n = Recipe.neutral
        #expect(n.version == 2 && n.demosaic == .quality && n.whiteBalance == .asShot && n.color.outputSpace == .sRGB)
        #expect(n.tone == Recipe.Tone(exposure: 0, highlights: .clip, contrast: 0, saturation: 0, vibrance: 0, curve: .srgb))
        #expect(n.look == .none && n.sharpen == nil && n.resize == nil && n.crop == nil)
        #expect(n.output == Recipe.Output(jpegQuality: 92, jpegSubsampling: .s444, pngBitDepth: 16, tiffCompression: .deflate, naming: "{stem}"))
        #expect(Recipe.standard.look == .natural && Recipe.standard.sharpen != nil)
        #expect(Recipe.punchy.look == .punchy)
        #expect(Set(Recipe.builtIns.values.map(\.hash)).count == 3, "distinct recipes, distinct hashes")
    }

    @Test func canonicalJSONAndHashAreStable() throws {
        let json = Recipe.neutral.canonicalJSON
        #expect(json == #"{"color":{"outputSpace":"sRGB"},"crop":null,"demosaic":"quality","look":"none","name":"neutral","output":{"jpeg":{"quality":92,"subsampling":"444"},"naming":"{stem}","png":{"bitDepth":16},"tiff":{"compression":"deflate"}},"resize":null,"sharpen":null,"tone":{"contrast":0,"curve":{"type":"srgb"},"exposure":0,"highlights":"clip","saturation":0,"vibrance":0},"version":2,"whiteBalance":{"mode":"asShot"}}"#)
        let hash = Recipe.neutral.hash
        #expect(hash.count == 16 && hash.allSatisfy(\.isHexDigit))
        var brighter = Recipe.neutral
        brighter.exposureEV = 0.1 + 0.2
        #expect(brighter.tone.exposure == 0.1 + 0.2)
        #expect(brighter.canonicalJSON.contains(#""exposure":0.30000000000000004"#))
        #expect(brighter.hash != hash)
        // The canonical text parses back to the same recipe, through YAML and through JSONDecoder.
        for r in [brighter, .standard, .punchy, Self.everything] {
            #expect(try Recipe.parse(r.canonicalJSON, source: "canonical") == r)
            #expect(try JSONDecoder().decode(Recipe.self, from: Data(r.canonicalJSON.utf8)) == r)
            #expect(String(decoding: try JSONEncoder().encode(r), as: UTF8.self).count > 100)
        }
    }

    /// A recipe with every optional stage and every non-default form.
    static let everything = Recipe(
        name: "everything", demosaic: .fast, whiteBalance: .kelvin(temperature: 3200, tint: -12.5),
        color: .init(outputSpace: .displayP3),
        tone: .init(exposure: -1.25, highlights: .reconstruct, contrast: 0.3, saturation: -0.5, vibrance: 1,
                    curve: .filmic(.init(whitePoint: 5, blackPoint: -10, contrast: 1.5))),
        look: .cube(path: "looks/Fuji Velvia.cube"), sharpen: .init(radius: 2, amount: 1.5, threshold: 0.05),
        resize: .megapixels(12.5), crop: .aspect(width: 1.91, height: 1),
        output: .init(jpegQuality: 80, jpegSubsampling: .s420, pngBitDepth: 8, tiffCompression: .lzw, naming: "{date:yyyy-MM-dd}_{seq:05}"))

    @Test func exampleFilesParse() throws {
        let neutral = try Recipe.resolve(RecipeFiles.path("neutral.yaml"))
        #expect(neutral == .neutral && neutral.hash == Recipe.neutral.hash, "explicit defaults = the built-in")

        let portrait = try Recipe.resolve(RecipeFiles.path("studio-portrait.yaml"))
        #expect(portrait.name == "studio-portrait" && portrait.demosaic == .quality && portrait.whiteBalance == .asShot)
        #expect(portrait.tone == Recipe.Tone(exposure: 0.3, highlights: .blend, contrast: 0.1, saturation: 0, vibrance: 0.15,
                                             curve: .filmic(.init(whitePoint: 4.5, blackPoint: -8, contrast: 1.1))))
        #expect(portrait.look == .natural && portrait.sharpen == Recipe.Sharpen(radius: 0.8, amount: 0.6, threshold: 0.02))
        #expect(portrait.resize == .longEdge(2048) && portrait.crop == .aspect(width: 4, height: 5))
        #expect(portrait.output.naming == "{date:yyyyMMdd}_{camera}_{seq:04}")

        let tungsten = try Recipe.resolve(RecipeFiles.path("tungsten-print.yaml"))
        #expect(tungsten.whiteBalance == .kelvin(temperature: 3200, tint: 5) && tungsten.color.outputSpace == .adobeRGB)
        #expect(tungsten.tone.highlights == .reconstruct && tungsten.output.tiffCompression == .lzw)

        let web = try Recipe.resolve(RecipeFiles.path("web-punchy.yaml"))
        #expect(web.whiteBalance == .auto && web.demosaic == .fast && web.resize == .megapixels(12))
        #expect(web.tone.curve == .filmic(Recipe.Filmic()) && web.sharpen == Recipe.Sharpen(radius: 1, amount: 0.7, threshold: 0))
        #expect(web.output.jpegSubsampling == .s420 && web.output.jpegQuality == 85)
    }

    @Test func formattingDoesNotChangeTheHash() throws {
        let block = """
            version: 2
            name: x
            tone:
              contrast: 0.1
              exposure: 0.5
            sharpen: { amount: 0.5 }
            output: { jpeg: { subsampling: 420 } }
            """
        let flow = #"{"output":{"jpeg":{"subsampling":"420","quality":92}},"sharpen":{"radius":1,"amount":0.5},"tone":{"exposure":0.50,"contrast":1e-1},"name":"x","version":2}"#
        let a = try Recipe.parse(block, source: "a.yaml"), b = try Recipe.parse(flow, source: "b.json")
        #expect(a == b && a.hash == b.hash && a.canonicalJSON == b.canonicalJSON)
        #expect(a.output.jpegSubsampling == .s420, "an unquoted 420 reads as the word")
    }

    @Test func whiteBalanceCurveCropAndResizeForms() throws {
        func parse(_ body: String) throws -> Recipe { try Recipe.parse("version: 2\nname: t\n" + body, source: "t.yaml") }
        #expect(try parse("whiteBalance: auto").whiteBalance == .auto)
        #expect(try parse("whiteBalance: asShot").whiteBalance == .asShot)
        #expect(try parse("whiteBalance: { mode: auto }").whiteBalance == .auto)
        for p in Recipe.WhiteBalancePreset.allCases {
            #expect(try parse("whiteBalance: { preset: \(p.rawValue) }").whiteBalance == .preset(p))
        }
        #expect(try parse("whiteBalance: { kelvin: { temperature: 5200 } }").whiteBalance == .kelvin(temperature: 5200, tint: 0))
        #expect(try parse("tone: { curve: none }").tone.curve == Recipe.Curve.none)
        #expect(try parse("tone: { curve: { type: filmic, whitePoint: 6 } }").tone.curve == .filmic(.init(whitePoint: 6)))
        #expect(try parse("crop: { x: 10, y: 20, width: 300, height: 200 }").crop == .rect(x: 10, y: 20, width: 300, height: 200))
        #expect(try parse("crop: { aspect: 3:2 }").crop == .aspect(width: 3, height: 2), "unquoted 3:2 is not sexagesimal here")
        #expect(try parse("resize: { longEdge: 1024 }").resize == .longEdge(1024))
        #expect(try parse("look: ./luts/film.CUBE").look == .cube(path: "./luts/film.CUBE"))
        #expect(try parse("sharpen: ~").sharpen == nil)
    }

    @Test func versionOneMigratesForward() throws {
        let v1 = #"{ "version": 1, "name": "bright", "demosaic": "mhc", "exposureEV": 1.5, "output": { "jpegQuality": 80, "jpegSubsampling": "420" } }"#
        let r = try Recipe.decode(json: Array(v1.utf8), source: "bright.json")
        #expect(r.version == 2 && r.name == "bright" && r.demosaic == .fast && r.exposureEV == 1.5)
        #expect(r == Recipe(name: "bright", demosaic: .fast, tone: .init(exposure: 1.5), output: .init(jpegQuality: 80, jpegSubsampling: .s420)))
        #expect(r.canonicalJSON.contains(#""version":2"#))
        #expect(try Recipe.parse(r.canonicalJSON, source: "c") == r)
    }

    @Test func resolveAcceptsPathsAndDocumentText() throws {
        let dir = DevelopFixtures.tempDir("recipe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "version: 2\nname: mine\ntone: { exposure: 1 }\n"
        try text.write(toFile: dir + "/mine.yaml", atomically: false, encoding: .utf8)
        let fromFile = try Recipe.resolve(dir + "/mine.yaml"), fromText = try Recipe.resolve(text)
        #expect(fromFile == fromText && fromFile.exposureEV == 1)
        do {
            _ = try Recipe.resolve("no-such-recipe")
            Issue.record("resolved an unknown name")
        } catch {
            guard case .unknownRecipe(let name) = error else { Issue.record("\(error)"); return }
            #expect(name == "no-such-recipe" && error.description.contains("punchy"))
        }
        do {
            _ = try Recipe.resolve("version: 2\nname: x\ntone: { contrast: 2 }")
            Issue.record("accepted contrast 2")
        } catch {
            guard case .invalidRecipe(let source, let key, _) = error else { Issue.record("\(error)"); return }
            #expect(source == "<recipe text>:3:19" && key == "tone.contrast")
        }
    }

    /// Each kind of mistake: the key path and the line:column of the offending value (or key).
    @Test(arguments: [
        // unknown keys (position of the key)
        ("version: 2\nname: x\ntone:\n  contrast: 0.1\n  exposur: 1\n", "tone.exposur", "5:3"),
        ("version: 2\nname: x\nsharpness: 1\n", "sharpness", "3:1"),
        ("version: 2\nname: x\nwhiteBalance: { kelvin: { temperature: 5000, tnt: 3 } }\n", "whiteBalance.kelvin.tnt", "3:46"),
        // wrong types
        ("version: 2\nname: x\ntone:\n  contrast: high\n", "tone.contrast", "4:13"),
        ("version: 2\nname: x\ntone:\n  contrast: \"0.1\"\n", "tone.contrast", "4:13"),
        ("version: 2\nname: x\ntone: 3\n", "tone", "3:7"),
        ("version: 2\nname: x\noutput:\n  jpeg: { quality: 92.5 }\n", "output.jpeg.quality", "4:20"),
        ("version: 2\nname: x\nsharpen: [1, 2]\n", "sharpen", "3:10"),
        // out of range / not one of
        ("version: 2\nname: x\ntone:\n  contrast: 1.5\n", "tone.contrast", "4:13"),
        ("version: 2\nname: x\ntone: { exposure: -11 }\n", "tone.exposure", "3:19"),
        ("version: 2\nname: x\noutput:\n  jpeg: { quality: 0 }\n", "output.jpeg.quality", "4:20"),
        ("version: 2\nname: x\noutput:\n  png: { bitDepth: 12 }\n", "output.png.bitDepth", "4:20"),
        ("version: 2\nname: x\ndemosaic: ahd\n", "demosaic", "3:11"),
        ("version: 2\nname: x\nwhiteBalance: { preset: candle }\n", "whiteBalance.preset", "3:25"),
        ("version: 2\nname: x\nwhiteBalance: { kelvin: { temperature: 900 } }\n", "whiteBalance.kelvin.temperature", "3:40"),
        ("version: 2\nname: x\nresize: { longEdge: 8 }\n", "resize.longEdge", "3:21"),
        ("version: 2\nname: x\ncrop: { aspect: \"3:0\" }\n", "crop.aspect", "3:17"),
        ("version: 2\nname: x\nlook: velvia\n", "look", "3:7"),
        ("version: 2\nname: x\noutput: { naming: \"{stem}/{seq}\" }\n", "output.naming", "3:19"),
        ("version: 2\nname: x\noutput: { naming: \"{shutter}\" }\n", "output.naming", "3:19"),
        ("version: 2\nname: x\ntone: { curve: { type: filmic, whitePoint: 40 } }\n", "tone.curve.whitePoint", "3:44"),
        // structure
        ("version: 2\nname: x\nwhiteBalance: { mode: auto, preset: shade }\n", "whiteBalance", "3:15"),
        ("version: 2\nname: x\ntone: { exposure: 1 }\ntone: { exposure: 2 }\n", "tone", "4:1"),
        ("version: 3\nname: x\n", "version", "1:10"),
        ("name: x\n", "version", "1:1"),
        ("version: 2\n", "name", "1:1"),
        ("version: 2\nname: x\ntone: { exposure: .nan }\n", "tone.exposure", "3:19"),
        // version 1 keys are checked too
        (#"{"version":1,"name":"x","output":{"jpegQuality":92,"quality":3}}"#, "output.quality", "1:52"),
        (#"{"version":1,"name":"x","exposureEV":"1"}"#, "exposureEV", "1:38"),
    ])
    func invalidRecipesNameKeyAndPosition(text: String, key: String, position: String) {
        do {
            _ = try Recipe.parse(text, source: "bad.yaml")
            Issue.record("accepted \(text)")
        } catch {
            guard case .invalidRecipe(let source, let k, let reason) = error else { Issue.record("\(error)"); return }
            #expect(k == key && source == "bad.yaml:\(position)", "\(text.debugDescription): \(source) key '\(k)' (\(reason))")
            #expect(error.description.contains("'\(key)'") && error.description.contains("bad.yaml:\(position)"))
        }
    }

    @Test func malformedYAMLIsReportedWithAPosition() {
        for (text, position) in [("version: 2\nname: [x\n", "3:1"), ("version: 2\n  name: x\n", "2:7"), ("", "")] {
            do {
                _ = try Recipe.parse(text, source: "m.yaml")
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                guard case .invalidRecipe(let source, _, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(source == (position.isEmpty ? "m.yaml" : "m.yaml:\(position)"), "\(text.debugDescription): \(source): \(reason)")
            }
        }
        #expect(throws: ImagingError.self) { try Recipe.decode(json: [0xFF, 0xFE, 0x00], source: "binary") }
    }

    @Test func validateChecksRecipesBuiltInSwift() throws {
        try Self.everything.validate()
        var bad = Recipe.neutral
        bad.tone.contrast = 3
        #expect(throws: ImagingError.self) { try bad.validate() }
        bad = .neutral
        bad.output.naming = "../{stem}"
        #expect(throws: ImagingError.self) { try bad.validate() }
        bad = .neutral
        bad.tone.exposure = .infinity
        #expect(throws: ImagingError.self) { try bad.validate() }
    }
}
