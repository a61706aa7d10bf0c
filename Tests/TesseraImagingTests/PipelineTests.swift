import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// A 5×5 box blur (halo 2): a neighbourhood stage written for the tiling tests.
struct BoxBlur5: RGBStage {
    var name: String { "box5" }
    func outputSize(for size: FrameSize) -> FrameSize { size }
    func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output.expanded(by: 2) }
    func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        var out = RGBImageF(width: output.width, height: output.height)
        for y in 0..<output.height {
            for x in 0..<output.width {
                for c in 0..<3 {
                    var sum: Float = 0
                    for dy in -2...2 {
                        for dx in -2...2 {
                            let ix = output.x + x + dx - inputRect.x, iy = output.y + y + dy - inputRect.y
                            sum += input.pixels[(iy * inputRect.width + ix) * 3 + c]
                        }
                    }
                    out.pixels[(y * output.width + x) * 3 + c] = sum / 25
                }
            }
        }
        return out
    }
}

/// A 2× box downscale (output (x, y) = mean of input 2x…2x+1, 2y…2y+1): changes geometry.
struct Downscale2: RGBStage {
    var name: String { "down2" }
    func outputSize(for size: FrameSize) -> FrameSize { FrameSize(width: (size.width + 1) / 2, height: (size.height + 1) / 2) }
    func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect {
        PixelRect(x: output.x * 2, y: output.y * 2, width: output.width * 2, height: output.height * 2)
    }
    func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        var out = RGBImageF(width: output.width, height: output.height)
        for y in 0..<output.height {
            for x in 0..<output.width {
                let ix = 2 * (output.x + x) - inputRect.x, iy = 2 * (output.y + y) - inputRect.y
                for c in 0..<3 {
                    let p = { (dx: Int, dy: Int) in input.pixels[((iy + dy) * inputRect.width + ix + dx) * 3 + c] }
                    out.pixels[(y * output.width + x) * 3 + c] = ((p(0, 0) + p(1, 0)) + (p(0, 1) + p(1, 1))) * 0.25
                }
            }
        }
        return out
    }
}

@Suite struct PipelineTests {
    static func randomPlane(_ w: Int, _ h: Int, rng: inout SplitMix64) -> RawPlane {
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count { plane.pixels[i] = UInt16.random(in: 400...17_000, using: &rng) }
        return plane
    }

    /// Tiles planned in output coordinates, each developed from its own CFA window, assemble
    /// bit-identically to the whole frame — with a halo stage and a geometry stage, odd sizes,
    /// random tile sizes, all four CFA phases, both demosaics.
    @Test(arguments: [DemosaicMethod.mhc, .rcd])
    func tiledEqualsWholeFrameWithNeighbourhoodAndGeometryStages(method: DemosaicMethod) throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("tiledEqualsWholeFrame \(method) seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let stageLists: [[any RGBStage]] = [[BoxBlur5()], [Downscale2()], [BoxBlur5(), Downscale2(), BoxBlur5()], [Downscale2(), IdentityStage()]]
        for round in 0..<8 {
            let cfa = CFAPattern.all[round % 4]
            let w = Int.random(in: 3...49, using: &rng), h = Int.random(in: 3...37, using: &rng)
            let plane = Self.randomPlane(w, h, rng: &rng)
            var settings = DevelopFixtures.cameraSettings(cfa)
            settings.demosaic = method
            let stages = stageLists[round % stageLists.count]
            let pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: w, height: h), stages: stages)
            let size = pipeline.outputSize
            #expect(size == pipeline.outputSize(for: FrameSize(width: w, height: h)))
            let whole = try pipeline.developFrame(plane)
            #expect(whole.width == size.width && whole.height == size.height)
            #expect(try pipeline.developFrame(plane, threads: 1) == whole, "seed \(seed) round \(round): threads")

            let tileSize = Int.random(in: 1...12, using: &rng)
            var assembled = RGBImage16(width: size.width, height: size.height)
            for ty in stride(from: 0, to: size.height, by: tileSize) {
                for tx in stride(from: 0, to: size.width, by: tileSize) {
                    let core = PixelRect(x: tx, y: ty, width: min(tileSize, size.width - tx), height: min(tileSize, size.height - ty))
                    let window = pipeline.cfaWindow(forOutput: core)
                    let tile = try pipeline.developTile(Developer.window(window, of: plane), inputRect: window, core: core)
                    for y in 0..<core.height {
                        let src = y * core.width * 3, dst = ((core.y + y) * size.width + core.x) * 3
                        assembled.pixels.replaceSubrange(dst..<dst + core.width * 3, with: tile.pixels[src..<src + core.width * 3])
                    }
                }
            }
            #expect(assembled == whole, "seed \(seed) round \(round) \(cfa) \(w)x\(h) tile \(tileSize) stages \(stages.map(\.name))")
        }
    }

    @Test(arguments: [DemosaicMethod.mhc, .rcd])
    func identityStagesChangeNothing(method: DemosaicMethod) throws {
        var rng = SplitMix64(seed: 5)
        let plane = Self.randomPlane(37, 29, rng: &rng)
        var settings = DevelopFixtures.cameraSettings(.gbrg)
        settings.demosaic = method
        let frame = FrameSize(width: 37, height: 29)
        let plain = try DevelopPipeline(settings: settings, frame: frame, stages: []).developFrame(plane)
        let identities = try DevelopPipeline(settings: settings, frame: frame, stages: [IdentityStage(), IdentityStage()]).developFrame(plane)
        #expect(plain == identities)
        // The same through settings (StageSpec) and through Developer.
        settings.stages = [.identity]
        settings.frameSize = frame
        #expect(try Developer.developFrame(plane, settings: settings) == plain)
        #expect(try DevelopPipeline(settings: settings).developFrame(plane) == plain)
    }

    @Test func planningRegions() throws {
        let settings = DevelopFixtures.cameraSettings(.rggb)
        let frame = FrameSize(width: 101, height: 67)
        let none = try DevelopPipeline(settings: settings, frame: frame, stages: [])
        let core = PixelRect(x: 10, y: 20, width: 30, height: 8)
        #expect(none.cfaWindow(forOutput: core) == core.expanded(by: 2))
        let staged = try DevelopPipeline(settings: settings, frame: frame, stages: [BoxBlur5(), Downscale2()])
        #expect(staged.outputSize == FrameSize(width: 51, height: 34))
        #expect(staged.demosaicRegion(forOutput: core) == PixelRect(x: 18, y: 38, width: 64, height: 20))
        #expect(staged.cfaWindow(forOutput: core) == PixelRect(x: 16, y: 36, width: 68, height: 24))
        var rcd = settings
        rcd.demosaic = .rcd
        #expect(try DevelopPipeline(settings: rcd, frame: frame, stages: []).cfaWindow(forOutput: core) == core.expanded(by: RCDDemosaic.halo))
    }

    @Test func settingsCarryStagesAndFrameSizeThroughJSON() throws {
        var settings = DevelopFixtures.cameraSettings(.bggr)
        settings.demosaic = .rcd
        settings.stages = [.identity]
        settings.frameSize = FrameSize(width: 640, height: 480)
        let back = try DevelopSettings(json: Array(settings.canonicalJSON.utf8))
        #expect(back == settings)
        #expect(settings.canonicalJSON.contains(#""demosaic":"rcd""#) && settings.canonicalJSON.contains(#"{"kind":"identity"}"#))

        let unknown = settings.canonicalJSON.replacingOccurrences(of: #"{"kind":"identity"}"#, with: #"{"kind":"vignette"}"#)
        #expect {
            _ = try DevelopSettings(json: Array(unknown.utf8))
        } throws: { error in
            guard case ImagingError.invalidSettings(let field, let reason) = error else { return false }
            return field == "json" && reason.contains("vignette")
        }

        var missing = settings
        missing.frameSize = nil
        #expect(throws: ImagingError.self) { try missing.validate() }
    }

    @Test func tileErrorsNameTheProblem() throws {
        var rng = SplitMix64(seed: 8)
        let plane = Self.randomPlane(40, 30, rng: &rng)
        let settings = DevelopFixtures.cameraSettings(.rggb)
        let pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: 40, height: 30), stages: [BoxBlur5()])
        let core = PixelRect(x: 8, y: 8, width: 10, height: 10)
        let short = core.expanded(by: 3)  // demosaic halo only, not the blur's
        #expect {
            _ = try pipeline.developTile(Developer.window(short, of: plane), inputRect: short, core: core)
        } throws: { error in
            guard case ImagingError.invalidTile(let reason) = error else { return false }
            return reason.contains("CFA window") && reason.contains("halo")
        }
        #expect(throws: ImagingError.self) {
            _ = try DevelopPipeline(settings: settings, frame: FrameSize(width: 41, height: 30), stages: []).developFrame(plane)
        }
    }
}
