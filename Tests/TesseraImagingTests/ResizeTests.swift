import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite("Lanczos-3 resize")
struct ResizeTests {
    @Test func weightsSumToOneAndKernelHasItsZeros() {
        #expect(Lanczos3.kernel(0) == 1)
        for k in 1...3 { #expect(abs(Lanczos3.kernel(Double(k))) < 1e-15) }
        #expect(Lanczos3.kernel(3.5) == 0 && Lanczos3.kernel(-0.5) == Lanczos3.kernel(0.5))
        for (inCount, outCount) in [(100, 50), (97, 40), (6000, 1024), (23, 50), (10, 3)] {
            for o in [0, outCount / 3, outCount - 1] {
                let t = Lanczos3.taps(output: o, inputCount: inCount, outputCount: outCount)
                let sum = t.weights.reduce(0, +)
                #expect(abs(sum - 1) < 1e-6, "\(inCount)→\(outCount) o=\(o): Σw = \(sum)")
                // Downscaling stretches the support to 3·scale on each side.
                let scale = max(1, Double(inCount) / Double(outCount))
                #expect(t.weights.count <= Int(6 * scale) + 1 && t.weights.count >= Int(6 * scale) - 1)
            }
        }
    }

    @Test func outputSizes() throws {
        let land = FrameSize(width: 4000, height: 3000), port = FrameSize(width: 3000, height: 4000)
        #expect(try ResizeStage(target: .longEdge(1024)).outputSize(for: land) == FrameSize(width: 1024, height: 768))
        #expect(try ResizeStage(target: .longEdge(1024)).outputSize(for: port) == FrameSize(width: 768, height: 1024))
        #expect(try ResizeStage(target: .megapixels(6)).outputSize(for: FrameSize(width: 6000, height: 4000)) == FrameSize(width: 3000, height: 2000))
        #expect(try ResizeStage(target: .longEdge(8000)).outputSize(for: land) == land)
        #expect(try ResizeStage(target: .longEdge(8000), allowUpscale: true).outputSize(for: land) == FrameSize(width: 8000, height: 6000))
        #expect(try ResizeStage(target: .size(width: 100, height: 50)).outputSize(for: land) == FrameSize(width: 100, height: 50))
        #expect(StageFixtures.rejects("longEdge") { _ = try ResizeStage(target: .longEdge(0)) })
        #expect(StageFixtures.rejects("megapixels") { _ = try ResizeStage(target: .megapixels(.infinity)) })
    }

    @Test func constantStaysConstantAndSameSizeIsACopy() throws {
        let size = FrameSize(width: 61, height: 45)
        for stage in [try ResizeStage(target: .longEdge(20)), try ResizeStage(target: .size(width: 90, height: 70), allowUpscale: true)] {
            let need = stage.inputRegion(for: PixelRect(x: 0, y: 0, width: 61, height: 45), inputSize: size)
            let world = stage.inputRegion(for: PixelRect(x: 0, y: 0, width: stage.outputSize(for: size).width,
                                                          height: stage.outputSize(for: size).height), inputSize: size)
            _ = need
            let flat = StageFixtures.image(world) { _, _ in (0.25, 0.5, 0.75) }
            let out = StageFixtures.whole(stage, world: flat, worldRect: world, inputSize: size)
            for (i, v) in out.pixels.enumerated() {
                let e: Float = [0.25, 0.5, 0.75][i % 3]
                #expect(abs(v - e) <= 1e-6 * e, "pixel \(i / 3): \(v)")
            }
        }
        let copy = try ResizeStage(target: .longEdge(61))
        let frame = PixelRect(x: 0, y: 0, width: 61, height: 45)
        #expect(copy.inputRegion(for: frame, inputSize: size) == frame)
        let img = StageFixtures.random(frame, seed: 6)
        #expect(copy.apply(img, inputRect: frame, output: frame, inputSize: size).pixels == img.pixels)
    }

    @Test func halvingARampGivesTheAnalyticRamp() throws {
        let size = FrameSize(width: 40, height: 20)
        let stage = try ResizeStage(target: .longEdge(20))
        #expect(stage.outputSize(for: size) == FrameSize(width: 20, height: 10))
        let o = PixelRect(x: 0, y: 0, width: 20, height: 10)
        let world = stage.inputRegion(for: o, inputSize: size)
        #expect(world == PixelRect(x: -5, y: -5, width: 50, height: 30))
        let ramp = StageFixtures.image(world) { x, y in
            let v = 0.3 + 0.01 * Float(x) + 0.02 * Float(y)
            return (v, 2 * v, 0.5 * v)
        }
        let out = StageFixtures.whole(stage, world: ramp, worldRect: world, inputSize: size)
        var worst: Double = 0
        for y in 0..<10 {
            for x in 0..<20 {
                // Output pixel (x, y) is centred on input (2x + 0.5, 2y + 0.5).
                let v = 0.3 + 0.01 * (2 * Double(x) + 0.5) + 0.02 * (2 * Double(y) + 0.5)
                let p = StageFixtures.pixel(out, x, y)
                worst = max(worst, abs(Double(p.0) - v), abs(Double(p.1) - 2 * v), abs(Double(p.2) - 0.5 * v))
            }
        }
        #expect(worst < 1e-5)
    }

    @Test func tiledEqualsWhole() throws {
        let cases: [(ResizeStage, FrameSize)] = [
            (try ResizeStage(target: .longEdge(40)), FrameSize(width: 97, height: 61)),
            (try ResizeStage(target: .megapixels(0.001)), FrameSize(width: 70, height: 33)),
            (try ResizeStage(target: .size(width: 50, height: 37), allowUpscale: true), FrameSize(width: 23, height: 17)),
            (try ResizeStage(target: .longEdge(10)), FrameSize(width: 64, height: 64)),
        ]
        for (i, (stage, size)) in cases.enumerated() {
            #expect(StageFixtures.tiledMismatches(stage, inputSize: size, seed: 70 + UInt64(i), trials: 16) == 0)
        }
    }
}
