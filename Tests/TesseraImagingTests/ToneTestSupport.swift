import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// Helpers for the tone / look / LUT / sharpen / resize / crop stage tests.
enum StageFixtures {
    /// A random image covering `rect` with values in `range` (deterministic for `seed`).
    static func random(_ rect: PixelRect, seed: UInt64, range: ClosedRange<Float> = 0...1) -> RGBImageF {
        var rng = SplitMix64(seed: seed)
        var img = RGBImageF(width: rect.width, height: rect.height)
        for i in img.pixels.indices { img.pixels[i] = range.lowerBound + Float(rng.nextUnit()) * (range.upperBound - range.lowerBound) }
        return img
    }

    /// An image covering `rect` whose pixel at frame position (x, y) is `f(x, y)`.
    static func image(_ rect: PixelRect, _ f: (Int, Int) -> (Float, Float, Float)) -> RGBImageF {
        var img = RGBImageF(width: rect.width, height: rect.height)
        for y in 0..<rect.height {
            for x in 0..<rect.width {
                let v = f(rect.x + x, rect.y + y)
                let i = (y * rect.width + x) * 3
                img.pixels[i] = v.0
                img.pixels[i + 1] = v.1
                img.pixels[i + 2] = v.2
            }
        }
        return img
    }

    /// The part `rect` of `image`, which covers `imageRect` (frame coordinates).
    static func cut(_ image: RGBImageF, covering imageRect: PixelRect, _ rect: PixelRect) -> RGBImageF {
        precondition(imageRect.contains(rect), "cut \(rect) outside \(imageRect)")
        var out = RGBImageF(width: rect.width, height: rect.height)
        for y in 0..<rect.height {
            let s = ((rect.y - imageRect.y + y) * imageRect.width + (rect.x - imageRect.x)) * 3
            let d = y * rect.width * 3
            for i in 0..<(rect.width * 3) { out.pixels[d + i] = image.pixels[s + i] }
        }
        return out
    }

    /// Pixel (x, y) of `image` (image coordinates).
    static func pixel(_ image: RGBImageF, _ x: Int, _ y: Int) -> (Float, Float, Float) {
        let i = (y * image.width + x) * 3
        return (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }

    /// Applies `stage` to a whole frame of `inputSize`, the input cut from `world` (which covers
    /// `worldRect`, a superset of what the stage needs).
    static func whole(_ stage: any RGBStage, world: RGBImageF, worldRect: PixelRect, inputSize: FrameSize) -> RGBImageF {
        let out = stage.outputSize(for: inputSize)
        let o = PixelRect(x: 0, y: 0, width: out.width, height: out.height)
        let need = stage.inputRegion(for: o, inputSize: inputSize)
        return stage.apply(cut(world, covering: worldRect, need), inputRect: need, output: o, inputSize: inputSize)
    }

    /// Tiled ≡ whole: random sub-rectangles of the output, each computed from just its
    /// `inputRegion` cut out of a random world image, must equal the whole output's bits.
    /// Returns the number of mismatching rectangles (0 expected); the seed is printed on failure.
    static func tiledMismatches(_ stage: any RGBStage, inputSize: FrameSize, seed: UInt64, trials: Int = 12,
                                range: ClosedRange<Float> = 0...1, world makeWorld: ((PixelRect) -> RGBImageF)? = nil) -> Int {
        let out = stage.outputSize(for: inputSize)
        let o = PixelRect(x: 0, y: 0, width: out.width, height: out.height)
        let worldRect = stage.inputRegion(for: o, inputSize: inputSize)
        let world = makeWorld?(worldRect) ?? random(worldRect, seed: seed, range: range)
        let whole = whole(stage, world: world, worldRect: worldRect, inputSize: inputSize)
        var rng = SplitMix64(seed: seed ^ 0x9E37)
        var bad = 0
        for _ in 0..<trials {
            let w = 1 + Int(rng.next() % UInt64(out.width)), h = 1 + Int(rng.next() % UInt64(out.height))
            let x = Int(rng.next() % UInt64(out.width - w + 1)), y = Int(rng.next() % UInt64(out.height - h + 1))
            let sub = PixelRect(x: x, y: y, width: w, height: h)
            let need = stage.inputRegion(for: sub, inputSize: inputSize)
            let tile = stage.apply(cut(world, covering: worldRect, need), inputRect: need, output: sub, inputSize: inputSize)
            let expected = cut(whole, covering: o, sub)
            if tile.width != w || tile.height != h || tile.pixels.map(\.bitPattern) != expected.pixels.map(\.bitPattern) {
                print("\(stage.name): tile \(sub) differs from the whole-frame output (seed \(seed))")
                bad += 1
            }
        }
        return bad
    }

    /// Applies a pointwise stage to one pixel.
    static func apply(_ stage: any PointwiseStage, _ rgb: (Float, Float, Float)) -> (Float, Float, Float) {
        var p: [Float] = [rgb.0, rgb.1, rgb.2]
        p.withUnsafeMutableBufferPointer { stage.transform($0) }
        return (p[0], p[1], p[2])
    }

    /// Whether a throwing call fails with `invalidParameter` naming `parameter`.
    static func rejects(_ parameter: String, _ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch let StageError.invalidParameter(_, name, _, _) {
            return name == parameter
        } catch {
            return false
        }
    }

    /// True when TESSERA_BENCH=1.
    static var benchEnabled: Bool { ProcessInfo.processInfo.environment["TESSERA_BENCH"] == "1" }

    /// Megapixels per second of `body` on one thread (best of `runs`), for a `pixels`-pixel image.
    static func mps(pixels: Int, runs: Int = 3, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return Double(pixels) / 1e6 / best
    }
}
