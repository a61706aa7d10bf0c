import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite struct DemosaicTests {
    /// A random normalised mosaic covering `rect`.
    static func randomMosaic(_ rect: PixelRect, rng: inout SplitMix64) -> [Float] {
        (0..<rect.area).map { _ in Float(rng.nextUnit()) }
    }

    static func run(_ samples: [Float], rect: PixelRect, cfa: CFAPattern, output: PixelRect, method: DemosaicMethod) -> RGBImageF {
        samples.withUnsafeBufferPointer { Demosaicer.demosaic(MosaicView(samples: $0.baseAddress!, rect: rect, cfa: cfa), output: output, method: method) }
    }

    @Test(arguments: DemosaicMethod.allCases)
    func flatColourIsReproduced(method: DemosaicMethod) {
        for cfa in CFAPattern.all {
            let rect = PixelRect(x: -20, y: -20, width: 60, height: 52)
            let colour: [Float] = [0.25, 0.5, 0.75]
            var samples = [Float](repeating: 0, count: rect.area)
            for y in 0..<rect.height {
                for x in 0..<rect.width { samples[y * rect.width + x] = colour[Int(cfa.color(x: rect.x + x, y: rect.y + y).rawValue)] }
            }
            let out = Self.run(samples, rect: rect, cfa: cfa, output: PixelRect(x: -3, y: -5, width: 17, height: 13), method: method)
            for i in 0..<(out.width * out.height) {
                for c in 0..<3 { #expect(abs(out.pixels[i * 3 + c] - colour[c]) < 1e-6, "\(method) \(cfa) pixel \(i) channel \(c)") }
            }
        }
    }

    @Test func measuredSamplesSurviveTheQualityPath() {
        var rng = SplitMix64(seed: 99)
        let rect = PixelRect(x: 0, y: 0, width: 48, height: 40)
        let samples = Self.randomMosaic(rect, rng: &rng)
        let output = PixelRect(x: 8, y: 8, width: 32, height: 24)
        let out = Self.run(samples, rect: rect, cfa: .grbg, output: output, method: .rcd)
        for y in 0..<output.height {
            for x in 0..<output.width {
                let c = Int(CFAPattern.grbg.color(x: output.x + x, y: output.y + y).rawValue)
                #expect(out.pixels[(y * output.width + x) * 3 + c] == samples[(output.y + y) * rect.width + output.x + x])
            }
        }
    }

    /// Any sub-rectangle computed from a mosaic that is exact only within its halo equals the
    /// same pixels of a large computation: the declared halo is enough and positions don't matter.
    @Test(arguments: DemosaicMethod.allCases)
    func tilesEqualWholeAndTheHaloSuffices(method: DemosaicMethod) {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for round in 0..<12 {
            let cfa = CFAPattern.all[round % 4]
            let frame = PixelRect(x: Int.random(in: -9...9, using: &rng), y: Int.random(in: -9...9, using: &rng),
                                  width: Int.random(in: 1...45, using: &rng), height: Int.random(in: 1...37, using: &rng))
            let big = frame.expanded(by: method.halo)
            let samples = Self.randomMosaic(big, rng: &rng)
            let whole = Self.run(samples, rect: big, cfa: cfa, output: frame, method: method)
            for _ in 0..<4 {
                let x = Int.random(in: frame.x..<frame.maxX, using: &rng), y = Int.random(in: frame.y..<frame.maxY, using: &rng)
                let tile = PixelRect(x: x, y: y, width: Int.random(in: 1...(frame.maxX - x), using: &rng),
                                     height: Int.random(in: 1...(frame.maxY - y), using: &rng))
                // The tile's own window (core ± halo) inside a NaN ring: reading past the
                // declared halo would poison the output.
                let window = tile.expanded(by: method.halo), ring = window.expanded(by: 2)
                var tileSamples = [Float](repeating: .nan, count: ring.area)
                for j in 0..<window.height {
                    for i in 0..<window.width {
                        tileSamples[(j + 2) * ring.width + i + 2] = samples[(window.y + j - big.y) * big.width + window.x + i - big.x]
                    }
                }
                let part = Self.run(tileSamples, rect: ring, cfa: cfa, output: tile, method: method)
                for j in 0..<tile.height {
                    for i in 0..<tile.width {
                        for c in 0..<3 {
                            let a = part.pixels[(j * tile.width + i) * 3 + c]
                            let b = whole.pixels[((tile.y + j - frame.y) * frame.width + tile.x + i - frame.x) * 3 + c]
                            #expect(a.bitPattern == b.bitPattern, "seed \(seed) \(method) \(cfa) tile \(tile) of \(frame) at \(i),\(j) c\(c)")
                        }
                    }
                }
            }
        }
    }

    @Test func halosAreEvenAndNamed() {
        #expect(DemosaicMethod.mhc.halo == 2)
        #expect(DemosaicMethod.rcd.halo == RCDDemosaic.halo && RCDDemosaic.halo >= 6 + RCDDemosaic.medianPasses)
        for m in DemosaicMethod.allCases { #expect(m.halo % 2 == 0) }
        #expect(DemosaicMethod(rawValue: "rcd") == .rcd && DemosaicMethod(rawValue: "mhc") == .mhc)
    }
}
