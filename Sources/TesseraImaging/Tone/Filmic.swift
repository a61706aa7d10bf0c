import Foundation
import TesseraCore

/// A filmic tone curve: scene-referred linear light in → **display-referred linear** light in
/// [0, 1] out (the output encoding, e.g. the sRGB transfer curve, is applied after it).
///
/// The curve is an S-curve in log–log space: u = log2(x / `sceneGrey`) (scene exposure relative
/// to grey, in EV) maps to w = log2(d / `displayGrey`) (display exposure relative to display grey):
/// * a straight segment w = `contrast`·u for u in [`latitude`·`blackEV`, `latitude`·`whiteEV`]
///   (contrast 1 reproduces scene contrast: middle tones pass with d ≈ x·displayGrey/sceneGrey);
/// * a shoulder from the segment's end to (whiteEV, log2(1/displayGrey)), i.e. display white, and
///   a toe from the segment's start down to (blackEV, log2(`displayBlack`/displayGrey)). Both are
///   power curves matched in value and slope to the straight segment, with zero slope at the
///   anchors: shoulder w = w_W − (w_W − w_hi)·((whiteEV − u)/(whiteEV − u_hi))^q with
///   q = contrast·(whiteEV − u_hi)/(w_W − w_hi), and the mirror image for the toe.
///   This is John Hable's construction ("Filmic Tonemapping with Piecewise Power Curves", 2017)
///   applied in log–log space, as ACES' single-stage tone scale is a spline in log–log space.
/// Finally d' = (d − displayBlack)/(1 − displayBlack), so the anchors map exactly:
/// **x = sceneGrey·2^whiteEV → 1, x = sceneGrey·2^blackEV → 0**; brighter values give 1, darker
/// (and x ≤ 0) give 0. The curve is strictly increasing between the anchors.
///
/// `preserve`: ``Norm/maxRGB`` applies the curve to max(r, g, b) and scales the pixel by
/// curve(max)/max, keeping RGB ratios (no hue or saturation shift, output ≤ 1);
/// ``Norm/perChannel`` curves each channel (film-like: bright colours desaturate towards white,
/// with small hue shifts). Evaluated through a 4097-entry table over [blackEV, whiteEV] with linear
/// interpolation (max error vs ``curve(_:)`` < 2e-5).
public struct FilmicStage: PointwiseStage, Hashable {
    /// How colour is carried through the curve.
    public enum Norm: String, Sendable, Hashable, Codable {
        /// Curve the largest channel; scale all three by the same factor.
        case maxRGB
        /// Curve each channel on its own.
        case perChannel
    }

    /// Scene exposure (EV above `sceneGrey`, 0.5…16) that becomes display white.
    public let whiteEV: Double
    /// Scene exposure (EV relative to `sceneGrey`, −20…−0.5) that becomes display black.
    public let blackEV: Double
    /// Slope of the straight segment in log–log space (0.3…3); 1 keeps scene contrast.
    public let contrast: Double
    /// Fraction of each side of the range (grey→white, grey→black) that is straight (0…0.95).
    public let latitude: Double
    /// Scene-linear middle grey (0.01…1), default 0.18.
    public let sceneGrey: Double
    /// Display-linear value middle grey maps to before the black offset (0.01…0.5), default 0.18.
    public let displayGrey: Double
    /// Display-linear value the toe reaches at `blackEV`, before the offset (1e-6…0.05).
    public let displayBlack: Double
    /// Colour handling.
    public let preserve: Norm

    /// Table segments over [blackEV, whiteEV].
    static let segments = 4096
    private let table: [Float]

    /// Validates the parameters, including the curve's shape constraints (each throws
    /// ``StageError/invalidParameter(stage:parameter:value:reason:)`` naming the parameter):
    /// `contrast·whiteEV ≥ log2(1/displayGrey)` (else the shoulder would need to rise faster than
    /// the straight part), `contrast·blackEV ≤ log2(displayBlack/displayGrey)`, and the straight
    /// segment must stay strictly between display black and white.
    public init(whiteEV: Double = 4, blackEV: Double = -10, contrast: Double = 1, latitude: Double = 0.25,
                sceneGrey: Double = 0.18, displayGrey: Double = 0.18, displayBlack: Double = 0.0005,
                preserve: Norm = .maxRGB) throws {
        let stage = "filmic"
        try StageError.check(stage, "whiteEV", whiteEV, in: 0.5...16)
        try StageError.check(stage, "blackEV", blackEV, in: -20...(-0.5))
        try StageError.check(stage, "contrast", contrast, in: 0.3...3)
        try StageError.check(stage, "latitude", latitude, in: 0...0.95)
        try StageError.check(stage, "sceneGrey", sceneGrey, in: 0.01...1)
        try StageError.check(stage, "displayGrey", displayGrey, in: 0.01...0.5)
        try StageError.check(stage, "displayBlack", displayBlack, in: 1e-6...0.05)
        let wWhite = log2(1 / displayGrey), wBlack = log2(displayBlack / displayGrey)
        guard displayBlack < displayGrey else {
            throw StageError.invalidParameter(stage: stage, parameter: "displayBlack", value: "\(displayBlack)",
                                              reason: "must be below displayGrey (\(displayGrey))")
        }
        guard contrast * whiteEV >= wWhite else {
            throw StageError.invalidParameter(stage: stage, parameter: "whiteEV", value: "\(whiteEV)",
                                              reason: "too low for contrast \(contrast): needs ≥ \(wWhite / contrast) (log2(1/displayGrey)/contrast)")
        }
        guard contrast * blackEV <= wBlack else {
            throw StageError.invalidParameter(stage: stage, parameter: "blackEV", value: "\(blackEV)",
                                              reason: "too high for contrast \(contrast): needs ≤ \(wBlack / contrast) (log2(displayBlack/displayGrey)/contrast)")
        }
        guard contrast * latitude * whiteEV < wWhite, contrast * latitude * blackEV > wBlack else {
            throw StageError.invalidParameter(stage: stage, parameter: "latitude", value: "\(latitude)",
                                              reason: "the straight segment (contrast × latitude × white/black EV) reaches display white or black; lower latitude or contrast")
        }
        self.whiteEV = whiteEV
        self.blackEV = blackEV
        self.contrast = contrast
        self.latitude = latitude
        self.sceneGrey = sceneGrey
        self.displayGrey = displayGrey
        self.displayBlack = displayBlack
        self.preserve = preserve
        let n = FilmicStage.segments
        var t = [Float](repeating: 0, count: n + 1)
        let shape = Shape(whiteEV: whiteEV, blackEV: blackEV, contrast: contrast, latitude: latitude,
                          displayGrey: displayGrey, displayBlack: displayBlack)
        for i in 0...n {
            let u = blackEV + (whiteEV - blackEV) * Double(i) / Double(n)
            t[i] = Float(shape.display(u: u))
        }
        t[0] = 0
        t[n] = 1
        table = t
    }

    public var name: String { "filmic" }

    /// The exact curve in Double: scene-linear `x` → display-linear value in [0, 1].
    public func curve(_ x: Double) -> Double {
        guard x > 0 else { return 0 }
        let shape = Shape(whiteEV: whiteEV, blackEV: blackEV, contrast: contrast, latitude: latitude,
                          displayGrey: displayGrey, displayBlack: displayBlack)
        return shape.display(u: log2(x / sceneGrey))
    }

    /// The curve's geometry in log–log space.
    private struct Shape {
        let white, black, c, uLo, uHi, wWhite, wBlack, wLo, wHi, qS, qT, dBlack, dGrey: Double

        init(whiteEV: Double, blackEV: Double, contrast: Double, latitude: Double, displayGrey: Double, displayBlack: Double) {
            white = whiteEV
            black = blackEV
            c = contrast
            uLo = latitude * blackEV
            uHi = latitude * whiteEV
            wWhite = log2(1 / displayGrey)
            wBlack = log2(displayBlack / displayGrey)
            wLo = contrast * uLo
            wHi = contrast * uHi
            qS = contrast * (whiteEV - uHi) / (wWhite - wHi)
            qT = contrast * (uLo - blackEV) / (wLo - wBlack)
            dBlack = displayBlack
            dGrey = displayGrey
        }

        func display(u: Double) -> Double {
            if u >= white { return 1 }
            if u <= black { return 0 }
            let w: Double
            if u > uHi {
                w = wWhite - (wWhite - wHi) * pow((white - u) / (white - uHi), qS)
            } else if u < uLo {
                w = wBlack + (wLo - wBlack) * pow((u - black) / (uLo - black), qT)
            } else {
                w = c * u
            }
            let d = dGrey * exp2(w)
            return min(max((d - dBlack) / (1 - dBlack), 0), 1)
        }
    }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        let n = FilmicStage.segments
        let u0 = Float(blackEV), scale = Float(Double(n) / (whiteEV - blackEV))
        let logGrey = Float(log2(sceneGrey))
        let tMax = Float(n)
        table.withUnsafeBufferPointer { lutBuffer in
            let lut = lutBuffer.baseAddress!
            @inline(__always) func map(_ x: Float) -> Float {
                if !(x > 0) { return 0 }
                let t = min(max((log2f(x) - logGrey - u0) * scale, 0), tMax)
                let k = min(Int(t), n - 1)
                let f = t - Float(k)
                let a = lut[k], b = lut[k + 1]
                return a + f * (b - a)
            }
            switch preserve {
            case .perChannel:
                for i in pixels.indices { pixels[i] = map(pixels[i]) }
            case .maxRGB:
                var i = 0
                while i + 2 < pixels.count {
                    let r = pixels[i], g = pixels[i + 1], b = pixels[i + 2]
                    let m = max(r, max(g, b))
                    if m > 0 {
                        let s = map(m) / m
                        pixels[i] = r * s
                        pixels[i + 1] = g * s
                        pixels[i + 2] = b * s
                    } else {
                        pixels[i] = 0
                        pixels[i + 1] = 0
                        pixels[i + 2] = 0
                    }
                    i += 3
                }
            }
        }
    }
}
