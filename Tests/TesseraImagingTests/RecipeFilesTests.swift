import Foundation
import Testing
import TesseraImaging

/// A recipe's `.cube` look is read into the recipe when a job is made: the job keeps the LUT it
/// was submitted with, works on a coordinator that cannot see the file, and its hash covers the
/// LUT's contents.
@Suite struct RecipeFilesTests {
    static func cube(redGain: Double) -> String {
        var text = "TITLE \"test\"\nLUT_3D_SIZE 2\n"
        for b in 0..<2 { for g in 0..<2 { for r in 0..<2 {
            text += String(format: "%.6f %d %d\n", min(1, Double(r) * redGain), g, b)
        } } }
        return text
    }

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "tessera-recipe-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func pinningReadsTheLUTAndTheHashFollowsItsContents() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/look.cube"
        try Self.cube(redGain: 0.9).write(toFile: path, atomically: true, encoding: .utf8)
        var recipe = Recipe.neutral
        recipe.look = .cube(path: path)
        let pathOnlyHash = recipe.hash
        let first = try recipe.pinningFiles()
        #expect(first.look == .embeddedCube(source: path, table: Self.cube(redGain: 0.9)))
        #expect(try first.pinningFiles() == first, "idempotent")

        // Same path, different contents ⇒ different hash; the path-only recipe cannot tell.
        try Self.cube(redGain: 0.8).write(toFile: path, atomically: true, encoding: .utf8)
        let second = try recipe.pinningFiles()
        #expect(second.hash != first.hash)
        #expect(recipe.hash == pathOnlyHash, "a recipe naming only the path cannot tell the two grades apart")

        // The pinned recipe is complete: it survives its canonical text with the file gone.
        try FileManager.default.removeItem(atPath: path)
        let back = try Recipe.parse(first.canonicalJSON, source: "job")
        #expect(back == first && back.hash == first.hash)
        let settings = try DevelopSettings.resolve(recipe: back, info: RawFrameInfo(width: 64, height: 64, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 65535, asShotMultipliers: [2, 1, 1.5], cameraToSRGB: .identity))
        #expect(settings.stages.contains(.lut(cube: Self.cube(redGain: 0.9), source: path)))
    }

    @Test func relativeLUTPathsResolveAgainstTheGivenDirectory() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/luts", withIntermediateDirectories: true)
        try Self.cube(redGain: 1).write(toFile: dir + "/luts/film.cube", atomically: true, encoding: .utf8)
        var recipe = Recipe.neutral
        recipe.look = .cube(path: "luts/film.cube")
        #expect(try recipe.pinningFiles(relativeTo: dir).look == .embeddedCube(source: "luts/film.cube", table: Self.cube(redGain: 1)))
    }

    @Test func unreadableOrInvalidLUTsAreRefusedNamingTheKey() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var recipe = Recipe.neutral
        recipe.look = .cube(path: dir + "/missing.cube")
        #expect { try recipe.pinningFiles() } throws: { error in
            guard case ImagingError.invalidRecipe(_, let key, let reason) = error else { return false }
            return key == "look" && reason.contains("missing.cube")
        }
        try "LUT_3D_SIZE 2\n0 0 0\n".write(toFile: dir + "/short.cube", atomically: true, encoding: .utf8)
        recipe.look = .cube(path: dir + "/short.cube")
        #expect { try recipe.pinningFiles() } throws: { error in
            guard case ImagingError.invalidRecipe(_, let key, _) = error else { return false }
            return key == "look"
        }
    }

    @Test func anEmbeddedLUTParsesFromYAMLAndIsValidated() throws {
        let table = Self.cube(redGain: 0.5)
        let indented = table.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let yaml = "version: 2\nname: t\nlook:\n  cube: film.cube\n  table: |\n\(indented)\n"
        let recipe = try Recipe.parse(yaml, source: "t.yaml")
        #expect(recipe.look == .embeddedCube(source: "film.cube", table: table))
        #expect(try Recipe.parse(recipe.canonicalJSON, source: "json") == recipe)

        #expect { try Recipe.parse("version: 2\nname: t\nlook: { cube: x.cube, table: \"LUT_3D_SIZE 2\" }\n", source: "t.yaml") } throws: { error in
            guard case ImagingError.invalidRecipe(let source, let key, _) = error else { return false }
            return key == "look.table" && source.hasPrefix("t.yaml:3")
        }
        #expect { try Recipe.parse(yaml + "  extra: 1\n", source: "t.yaml") } throws: { error in
            guard case ImagingError.invalidRecipe(_, let key, _) = error else { return false }
            return key == "look.extra"
        }
    }
}
