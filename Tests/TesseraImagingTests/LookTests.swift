import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite("Built-in looks")
struct LookTests {
    /// The filmic log–log curve evaluated independently from its documented formulas.
    static func filmic(_ x: Double, white: Double, black: Double, c: Double, lat: Double) -> Double {
        let dg = 0.18, db = 0.0005
        let u = log2(x / 0.18)
        if u >= white { return 1 }
        if u <= black { return 0 }
        let wW = log2(1 / dg), wB = log2(db / dg)
        let uHi = lat * white, uLo = lat * black
        let w: Double
        if u > uHi {
            let q = c * (white - uHi) / (wW - c * uHi)
            w = wW - (wW - c * uHi) * pow((white - u) / (white - uHi), q)
        } else if u < uLo {
            let q = c * (uLo - black) / (c * uLo - wB)
            w = wB + (c * uLo - wB) * pow((u - black) / (uLo - black), q)
        } else {
            w = c * u
        }
        return (dg * exp2(w) - db) / (1 - db)
    }

    @Test func naturalIsFaithfulWithoutHueShifts() throws {
        let natural = Look.natural.chain()
        // u = log2(0.36/0.18) = 1 = latitude · whiteEV: still on the straight segment, so
        // max → (0.36 − 0.0005)/0.9995 and the other channels follow in proportion.
        let o = StageFixtures.apply(natural, (0.36, 0.18, 0.09))
        let m: Float = (0.36 - 0.0005) / 0.9995
        #expect(abs(o.0 - m) < 2e-6 && abs(o.1 - m / 2) < 1e-6 && abs(o.2 - m / 4) < 1e-6)
        // Middle grey stays middle grey (minus the black offset).
        let g = StageFixtures.apply(natural, (0.18, 0.18, 0.18))
        #expect(abs(g.1 - Float((0.18 - 0.0005) / 0.9995)) < 1e-6)
        // A bright colour is compressed but keeps its hue (ratios).
        let b = StageFixtures.apply(natural, (1.6, 0.8, 0.4))
        #expect(abs(Double(b.0) - LookTests.filmic(1.6, white: 4, black: -10, c: 1, lat: 0.25)) < 2e-5)
        #expect(abs(b.1 / b.0 - 0.5) < 1e-6 && abs(b.2 / b.0 - 0.25) < 1e-6)
        #expect(Look.natural.stages().count == 1)
    }

    @Test func punchyGivesExpectedValues() throws {
        let punchy = Look.punchy.chain()
        #expect(punchy.name == "contrast+saturation+filmic")
        // Grey 0.72: contrast 1.2 around 0.18 → 0.18 · 4^1.2; saturation leaves grey alone; then filmic.
        let y1 = 0.18 * pow(4.0, 1.2)
        let expected = LookTests.filmic(y1, white: 3.5, black: -8, c: 1.3, lat: 0.3)
        let o = StageFixtures.apply(punchy, (0.72, 0.72, 0.72))
        #expect(abs(Double(o.1) - expected) < 3e-5)
        // Middle grey is the fixed point of contrast and of the straight segment.
        let g = StageFixtures.apply(punchy, (0.18, 0.18, 0.18))
        #expect(abs(Double(g.1) - (0.18 - 0.0005) / 0.9995) < 2e-6)
        // A colour: contrast (luminance, ratios kept), saturation 1.15 + vibrance, filmic on max.
        let p: (Double, Double, Double) = (0.3, 0.2, 0.1)
        let y0 = 0.2126 * p.0 + 0.7152 * p.1 + 0.0722 * p.2
        let k = 0.18 * pow(y0 / 0.18, 1.2) / y0
        let c = (p.0 * k, p.1 * k, p.2 * k)
        let s = (c.0 - c.2) / c.0
        let skin = max(0, 1 - abs((c.1 - c.2) / (c.0 - c.2) - 0.45) / 0.3)
        let f = 1.15 * (1 + 0.25 * (1 - 0.7 * skin) * (1 - s) * (1 - s))
        let yc = y0 * k
        let sat = (yc + f * (c.0 - yc), yc + f * (c.1 - yc), yc + f * (c.2 - yc))
        let scale = LookTests.filmic(sat.0, white: 3.5, black: -8, c: 1.3, lat: 0.3) / sat.0
        let out = StageFixtures.apply(punchy, (Float(p.0), Float(p.1), Float(p.2)))
        #expect(abs(Double(out.0) - sat.0 * scale) < 3e-5)
        #expect(abs(Double(out.1) - sat.1 * scale) < 3e-5)
        #expect(abs(Double(out.2) - sat.2 * scale) < 3e-5)
        // Punchy has more contrast than natural: brighter above grey, darker below.
        let natural = Look.natural.chain()
        #expect(StageFixtures.apply(punchy, (0.5, 0.5, 0.5)).0 > StageFixtures.apply(natural, (0.5, 0.5, 0.5)).0)
        #expect(StageFixtures.apply(punchy, (0.05, 0.05, 0.05)).0 < StageFixtures.apply(natural, (0.05, 0.05, 0.05)).0)
    }

    @Test func lookNamesResolve() throws {
        #expect(try Look.named("natural") == .natural)
        #expect(try Look.named("punchy") == .punchy)
        #expect(StageFixtures.rejects("name") { _ = try Look.named("vivid") })
        #expect(StageFixtures.tiledMismatches(Look.punchy.chain(), inputSize: FrameSize(width: 31, height: 17), seed: 8, range: 0...3) == 0)
    }
}
