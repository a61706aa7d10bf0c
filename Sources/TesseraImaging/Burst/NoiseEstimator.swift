import TesseraCore

/// Estimates a frame's ``NoiseModel`` from its own pixels when the file has no NoiseProfile.
///
/// Method: per raw sample, a same-colour high-pass `h = p − ¼(p←2 + p→2 + p↑2 + p↓2)` (variance
/// `1.25 σ²` on flat areas) and the 3×3 same-colour local mean; samples are binned by normalised
/// local mean (32 bins), each bin's variance is taken robustly from the lower quartile of
/// `|h − median|` (`σ_h = q₂₅ / 0.3186` for Gaussian noise; edges and texture inflate mostly the
/// upper quantiles), divided by 1.25, and `σ² = S·x + O` is fitted to the bins by
/// weighted least squares. Thread-safe; O(pixels).
public enum NoiseEstimator {
    /// The noise model of `plane` (raw samples with the given per-cell black levels and white level).
    /// Throws ``BurstError/invalidParameter(field:reason:)`` when the levels are unusable or the
    /// frame is too small or too uniform to measure (fewer than two populated brightness bins).
    public static func estimate(_ plane: RawPlane, blackLevels: [Double], whiteLevel: Double) throws(BurstError) -> NoiseModel {
        guard blackLevels.count == 4, blackLevels.allSatisfy({ $0 >= 0 && $0 < whiteLevel }) else {
            throw .invalidParameter(field: "blackLevels", reason: "need 4 values below the white level \(whiteLevel), got \(blackLevels)")
        }
        let bins = 32, minCount = 64
        var samples = [[Float]](repeating: [], count: bins)
        var means = [Double](repeating: 0, count: bins)
        let w = plane.width, h = plane.height
        guard w > 8, h > 8 else { throw .invalidParameter(field: "plane", reason: "\(w)x\(h) is too small to estimate noise") }
        plane.pixels.withUnsafeBufferPointer { p in
            for y in 2..<(h - 2) {
                for x in 2..<(w - 2) {
                    let i = y * w + x
                    let c = Float(p[i])
                    let hp = c - 0.25 * (Float(p[i - 2]) + Float(p[i + 2]) + Float(p[i - 2 * w]) + Float(p[i + 2 * w]))
                    var s: Float = 0
                    for dy in stride(from: -2, through: 2, by: 2) {
                        for dx in stride(from: -2, through: 2, by: 2) { s += Float(p[i + dy * w + dx]) }
                    }
                    let cell = CFAPattern.cell(x: x, y: y)
                    let xn = (Double(s) / 9 - blackLevels[cell]) / (whiteLevel - blackLevels[cell])
                    guard xn >= 0, xn < 0.95 else { continue }
                    let b = min(bins - 1, Int(xn * Double(bins)))
                    samples[b].append(hp)
                    means[b] += xn
                }
            }
        }
        // Per bin: robust variance at the bin's mean level; weighted least squares for (S, O).
        var sw = 0.0, swx = 0.0, swy = 0.0, swxx = 0.0, swxy = 0.0, used = 0
        for b in 0..<bins where samples[b].count >= minCount {
            var v = samples[b]
            v.sort()
            let median = v[v.count / 2]
            var dev = v.map { abs($0 - median) }
            dev.sort()
            let sigma = Double(dev[dev.count / 4]) / 0.31864
            let variance = sigma * sigma / 1.25
            let x = means[b] / Double(samples[b].count)
            let range = whiteLevel - blackLevels.reduce(0, +) / 4
            let y = variance / (range * range)
            let weight = Double(samples[b].count) / max(y * y, 1e-20)
            sw += weight
            swx += weight * x
            swy += weight * y
            swxx += weight * x * x
            swxy += weight * x * y
            used += 1
        }
        guard used >= 2 else { throw .invalidParameter(field: "plane", reason: "too few brightness levels (\(used)) to fit a noise model") }
        let det = sw * swxx - swx * swx
        var scale = det > 0 ? (sw * swxy - swx * swy) / det : 0
        var offset = (swy - scale * swx) / sw
        if scale < 0 {
            scale = 0
            offset = swy / sw
        }
        if offset < 0 {
            offset = 0
            scale = swxy / swxx
        }
        return NoiseModel(scale: max(0, scale), offset: max(0, offset))
    }
}
