import Dispatch
import Foundation
import TesseraCore

/// Levels and noise of a burst's frames plus the alignment/merge tunables: everything a worker
/// needs besides the pixels. A value type; travels in task parameters (Codable).
public struct BurstSettings: Sendable, Hashable, Codable {
    /// Black level per 2×2 cell (index ``CFAPattern/cell(x:y:)`` of frame coordinates), raw units.
    public var blackLevels: [Double]
    /// Saturation level, raw units.
    public var whiteLevel: Double
    /// Noise model of the frames (DNG NoiseProfile, or ``NoiseEstimator/estimate(_:blackLevels:whiteLevel:)``).
    public var noise: NoiseModel
    /// Alignment and merge tunables.
    public var parameters: BurstParameters

    /// Memberwise.
    public init(blackLevels: [Double], whiteLevel: Double, noise: NoiseModel, parameters: BurstParameters = BurstParameters()) {
        self.blackLevels = blackLevels
        self.whiteLevel = whiteLevel
        self.noise = noise
        self.parameters = parameters
    }

    /// Levels from the reference frame's ``RawFrameInfo``.
    public init(info: RawFrameInfo, noise: NoiseModel, parameters: BurstParameters = BurstParameters()) {
        self.init(blackLevels: info.blackLevels, whiteLevel: info.whiteLevel, noise: noise, parameters: parameters)
    }

    /// Throws ``BurstError/invalidParameter(field:reason:)`` naming the first bad field.
    public func validate() throws(BurstError) {
        guard blackLevels.count == 4, blackLevels.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidParameter(field: "blackLevels", reason: "need 4 finite non-negative values, got \(blackLevels)")
        }
        guard whiteLevel.isFinite, whiteLevel <= 65535, blackLevels.allSatisfy({ whiteLevel > $0 }) else {
            throw .invalidParameter(field: "whiteLevel", reason: "\(whiteLevel) must be ≤ 65535 and above every black level")
        }
        try noise.validate()
        try parameters.validate()
    }
}

/// The merged CFA core of a burst tile.
public struct BurstMergeResult: Sendable, Hashable {
    /// `core.width × core.height` raw samples, same units as the input (black not subtracted),
    /// rounded to the nearest integer.
    public var plane: RawPlane
    /// Sum over the core of the merge weights (the reference counts 1, each alternate 0…1);
    /// divide by the pixel count for the mean number of frames merged. Each pixel's weight is
    /// quantised to 2⁻²⁴ and summed exactly, so sums over any tiling of a frame agree bit for
    /// bit (exact while a frame's total stays below 2²⁹, e.g. 16 frames of 33 MP).
    public var weightSum: Double
    /// Pixels in the core.
    public var pixels: Int

    /// Mean number of frames merged per pixel (1 … burst size).
    public var effectiveFrames: Double { pixels > 0 ? weightSum / Double(pixels) : 0 }
}

/// Robust merge of aligned burst frames on the raw CFA data.
///
/// **Method (robust spatial merge, per Bayer plane).** The frame is covered by merge tiles of
/// 16×16 Bayer-plane pixels (32×32 raw) with stride 8, anchored at the frame origin; each tile
/// has one displacement per alternate (``BurstAligner``). Inside a tile, each raw sample of the
/// reference is averaged with the displaced alternate samples of the same colour, each alternate
/// weighted by `w = clamp((h − |Δ|/σΔ) / (h − l), 0, 1)`, where `Δ` is the difference of the
/// 3×3 same-colour local means of reference and alternate, `σΔ = √(2σ²/9)` its standard
/// deviation under noise alone, `σ²` the noise model's variance at the reference's local mean,
/// and `l`, `h` ``BurstParameters/lowThreshold`` / ``BurstParameters/highThreshold``. Tiles are
/// blended with a separable raised-cosine window `½ − ½cos(2π(t + ½)/16)` whose shifted copies
/// sum to exactly one, so displacement changes between tiles leave no seams. A misaligned or
/// moving area differs from the reference by much more than its noise and gets weight ≈ 0
/// (no ghosts); a static area differs by noise only and gets weight ≈ 1 (full averaging).
///
/// **Determinism.** Every output pixel is the sum of its four tiles' contributions in a fixed
/// order, each computed from frame-anchored data only: any tiling gives bit-identical output.
/// Thread-safe; blocks the caller.
public enum BurstMerger {
    /// Merges the output `core` (raw frame coordinates, even origin and size) of the reference
    /// and its alternates. `reference` must cover ``BurstGeometry/referenceRect(core:parameters:)``
    /// (the merge itself needs 2 pixels of halo beyond the merge tiles; the rest serves the
    /// alignment); `alternates[z]` must cover the window its displacement field points into, which
    /// ``BurstGeometry/alternateRect(core:coarse:parameters:)`` guarantees for fields made by
    /// ``BurstAligner/align(reference:alternates:coarse:core:parameters:)``. `displacements[z]`
    /// must cover ``BurstGeometry/mergeTiles(core:)``.
    ///
    /// With no alternates the result is the reference's core, unchanged. Identical alternates
    /// give back the reference exactly.
    public static func merge(reference: BurstRegion, alternates: [BurstRegion], displacements: [BurstDisplacementField],
                             core: PixelRect, settings: BurstSettings) throws(BurstError) -> BurstMergeResult {
        try settings.validate()
        try BurstAligner.checkCore(core)
        try reference.check("reference")
        guard displacements.count == alternates.count else {
            throw .invalidParameter(field: "displacements", reason: "\(displacements.count) displacement fields for \(alternates.count) alternates")
        }
        let tiles = BurstGeometry.mergeTiles(core: core)
        let refNeed = PixelRect(x: 16 * tiles.x.lowerBound - 2, y: 16 * tiles.y.lowerBound - 2,
                                width: 16 * tiles.x.count + 20, height: 16 * tiles.y.count + 20)
        guard reference.rect.contains(refNeed) else { throw .regionTooSmall(role: "reference", needed: refNeed, given: reference.rect) }
        for (z, alt) in alternates.enumerated() {
            let role = "alternate \(z + 1)"
            try alt.check(role)
            let f = displacements[z]
            guard f.firstTileX <= tiles.x.lowerBound, f.firstTileY <= tiles.y.lowerBound,
                  f.firstTileX + f.columns >= tiles.x.upperBound, f.firstTileY + f.rows >= tiles.y.upperBound else {
                throw .invalidParameter(field: "displacements", reason: "\(role)'s field (tiles \(f.firstTileX)+\(f.columns), \(f.firstTileY)+\(f.rows)) does not cover tiles \(tiles)")
            }
            for j in tiles.y {
                for i in tiles.x {
                    let d = f.shift(tileX: i, tileY: j)!
                    guard d.dx & 1 == 0, d.dy & 1 == 0 else {
                        throw .invalidParameter(field: "displacements", reason: "\(role) tile (\(i), \(j)) has odd displacement \(d)")
                    }
                    let need = PixelRect(x: 16 * i + d.dx - 2, y: 16 * j + d.dy - 2, width: 36, height: 36)
                    guard alt.rect.contains(need) else { throw .regionTooSmall(role: "\(role) (tile \(i), \(j))", needed: need, given: alt.rect) }
                }
            }
        }
        if alternates.isEmpty {
            var plane = RawPlane(width: core.width, height: core.height)
            for y in 0..<core.height {
                for x in 0..<core.width { plane[x, y] = reference.plane[core.x - reference.rect.x + x, core.y - reference.rect.y + y] }
            }
            return BurstMergeResult(plane: plane, weightSum: Double(core.area), pixels: core.area)
        }
        return mergeChecked(reference: reference, alternates: alternates, displacements: displacements, core: core, tiles: tiles, settings: settings)
    }

    /// A region's samples as Float plus their 3×3 same-colour local means (valid 2 pixels in).
    struct Prepared {
        var rect: PixelRect
        var values: [Float]
        var means: [Float]

        init(_ region: BurstRegion) {
            rect = region.rect
            let w = rect.width, h = rect.height
            var v = [Float](repeating: 0, count: w * h)
            var m = [Float](repeating: 0, count: w * h)
            var tmp = [Float](repeating: 0, count: w * h)
            region.plane.pixels.withUnsafeBufferPointer { src in
                v.withUnsafeMutableBufferPointer { vp in
                    for i in 0..<(w * h) { vp[i] = Float(src[i]) }
                }
            }
            v.withUnsafeBufferPointer { vp in
                tmp.withUnsafeMutableBufferPointer { tp in
                    for y in 0..<h {
                        let s = vp.baseAddress! + y * w, d = tp.baseAddress! + y * w
                        if w > 4 { for x in 2..<(w - 2) { d[x] = (s[x - 2] + s[x]) + s[x + 2] } }
                    }
                }
                tmp.withUnsafeBufferPointer { tp in
                    m.withUnsafeMutableBufferPointer { mp in
                        if h > 4 {
                            for y in 2..<(h - 2) {
                                let a = tp.baseAddress! + (y - 2) * w, b = a + 2 * w, c = b + 2 * w
                                let d = mp.baseAddress! + y * w
                                for x in 0..<w { d[x] = ((a[x] + b[x]) + c[x]) * (1.0 / 9) }
                            }
                        }
                    }
                }
            }
            values = v
            means = m
        }
    }

    /// Raised-cosine window over 32 raw offsets of a tile (each Bayer-plane weight twice).
    static let window: [Float] = (0..<32).map { o in
        let t = Double(o >> 1)
        return Float(0.5 - 0.5 * cos(2 * Double.pi * (t + 0.5) / 16))
    }

    static func mergeChecked(reference: BurstRegion, alternates: [BurstRegion], displacements: [BurstDisplacementField],
                             core: PixelRect, tiles: (x: Range<Int>, y: Range<Int>), settings: BurstSettings) -> BurstMergeResult {
        let ref = Prepared(reference)
        let alts = alternates.map(Prepared.init)
        let area = core.expanded(by: BurstGeometry.spatialHalo)
        let out = temporalMerge(ref: ref, alts: alts, displacements: displacements, area: area, tiles: tiles, settings: settings)
        return spatialStage(merged: out.values, den: out.den, area: area, core: core, frames: alts.count + 1, settings: settings)
    }

    /// The windowed temporal merge over `area`: merged values and blended weight sums.
    static func temporalMerge(ref: Prepared, alts: [Prepared], displacements: [BurstDisplacementField], area: PixelRect,
                              tiles: (x: Range<Int>, y: Range<Int>), settings: BurstSettings) -> (values: [Float], den: [Float]) {
        let p = settings.parameters
        let low = Float(p.lowThreshold), high = Float(p.highThreshold)
        let hOverSpan = high / (high - low)
        // Per reference pixel of the area: 1 / (σΔ · (h − l)).
        var inv = [Float](repeating: 0, count: area.area)
        do {
            let scaleDN = settings.blackLevels.map { settings.whiteLevel - $0 }
            let s = settings.noise.scale, o = settings.noise.offset
            for y in area.y..<area.maxY {
                for x in area.x..<area.maxX {
                    let cell = CFAPattern.cell(x: x, y: y)
                    let mean = Double(ref.means[(y - ref.rect.y) * ref.rect.width + (x - ref.rect.x)])
                    let range = scaleDN[cell]
                    let xn = max(0, (mean - settings.blackLevels[cell]) / range)
                    let variance = max((s * xn + o) * range * range, 1e-6)
                    let sigmaD = (2 * variance / 9).squareRoot()
                    inv[(y - area.y) * area.width + (x - area.x)] = Float(1 / (sigmaD * Double(high - low)))
                }
            }
        }
        var out = [Float](repeating: 0, count: area.area)
        var denOut = [Float](repeating: 0, count: area.area)
        // Two rows (one row of 2×2 cells) at a time: 64 slots of numerator, denominator, distance.
        var num = [Float](repeating: 0, count: 64), den = [Float](repeating: 0, count: 64), dist = [Float](repeating: 0, count: 64)
        let window = Self.window
        for j in tiles.y {
            for i in tiles.x {
                let fx0 = 16 * i, fy0 = 16 * j
                let x0 = max(fx0, area.x), x1 = min(fx0 + 32, area.maxX)
                let y0 = max(fy0, area.y), y1 = min(fy0 + 32, area.maxY)
                guard x1 > x0, y1 > y0 else { continue }
                let n = x1 - x0
                let shifts = displacements.map { $0.shift(tileX: i, tileY: j)! }
                for y in stride(from: y0, to: y1, by: 2) {
                    ref.values.withUnsafeBufferPointer { rv in
                        ref.means.withUnsafeBufferPointer { rm in
                            inv.withUnsafeBufferPointer { iv in
                                num.withUnsafeMutableBufferPointer { nb in
                                    den.withUnsafeMutableBufferPointer { db in
                                        dist.withUnsafeMutableBufferPointer { tb in
                                            let nn = nb.baseAddress!, dd = db.baseAddress!, tt = tb.baseAddress!
                                            let rw = ref.rect.width
                                            let ro = (y - ref.rect.y) * rw + (x0 - ref.rect.x)
                                            let r = rv.baseAddress! + ro, rmean = rm.baseAddress! + ro
                                            let sc = iv.baseAddress! + (y - area.y) * area.width + (x0 - area.x)
                                            for x in 0..<n {
                                                nn[x] = r[x]
                                                nn[32 + x] = r[rw + x]
                                                dd[x] = 1
                                                dd[32 + x] = 1
                                            }
                                            for (z, alt) in alts.enumerated() {
                                                let d = shifts[z]
                                                alt.values.withUnsafeBufferPointer { av in
                                                    alt.means.withUnsafeBufferPointer { am in
                                                        let aw = alt.rect.width
                                                        let ao = (y + d.dy - alt.rect.y) * aw + (x0 + d.dx - alt.rect.x)
                                                        let a = av.baseAddress! + ao, amean = am.baseAddress! + ao
                                                        // Normalised local-mean distance per sample, then the
                                                        // largest of each 2×2 cell (all four colours) decides.
                                                        for x in 0..<n {
                                                            tt[x] = abs(rmean[x] - amean[x]) * sc[x]
                                                            tt[32 + x] = abs(rmean[rw + x] - amean[aw + x]) * sc[area.width + x]
                                                        }
                                                        for q in stride(from: 0, to: n, by: 2) {
                                                            let c = max(max(tt[q], tt[q + 1]), max(tt[32 + q], tt[33 + q]))
                                                            let w = min(1, max(0, hOverSpan - c))
                                                            nn[q] += w * a[q]
                                                            nn[q + 1] += w * a[q + 1]
                                                            nn[32 + q] += w * a[aw + q]
                                                            nn[33 + q] += w * a[aw + q + 1]
                                                            dd[q] += w
                                                            dd[q + 1] += w
                                                            dd[32 + q] += w
                                                            dd[33 + q] += w
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    out.withUnsafeMutableBufferPointer { ob in
                        denOut.withUnsafeMutableBufferPointer { db in
                            for row in 0..<2 {
                                let wy = window[y + row - fy0]
                                let o = ob.baseAddress! + (y + row - area.y) * area.width + (x0 - area.x)
                                let dO = db.baseAddress! + (y + row - area.y) * area.width + (x0 - area.x)
                                for x in 0..<n {
                                    let wxy = wy * window[x0 + x - fx0]
                                    o[x] += wxy * (num[32 * row + x] / den[32 * row + x])
                                    dO[x] += wxy * den[32 * row + x]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, denOut)
    }

    /// The spatial stage: pixels merged from fewer than all `frames` (moving or misaligned areas)
    /// are shrunk towards their 3×3 same-colour local mean by a local Wiener (Lee) gain that
    /// removes only the noise the missing frames would have removed: with `σ²` the noise
    /// variance at the local mean `m`, `n` the pixel's merged weight and `v` the local variance,
    /// `out = m + s²/(s² + σ²(1/n − 1/N))·(merged − m)` with `s² = max(0, v − σ²/n)`. A pixel
    /// merged from all N frames (or any pixel of a one-frame burst) is left unchanged.
    static func spatialStage(merged: [Float], den: [Float], area: PixelRect, core: PixelRect, frames: Int,
                             settings: BurstSettings) -> BurstMergeResult {
        var plane = RawPlane(width: core.width, height: core.height)
        var weightSum = 0.0
        let inverseN = 1 / Float(frames)
        let scaleDN = settings.blackLevels.map { settings.whiteLevel - $0 }
        let s = settings.noise.scale, o = settings.noise.offset
        let h = BurstGeometry.spatialHalo
        merged.withUnsafeBufferPointer { mp in
            den.withUnsafeBufferPointer { dp in
                plane.pixels.withUnsafeMutableBufferPointer { pp in
                    let aw = area.width
                    for y in 0..<core.height {
                        // Integer units of 2⁻²⁴: exact, so independent of how the frame is tiled.
                        var rowWeight: Int64 = 0
                        let cells = (CFAPattern.cell(x: core.x, y: core.y + y), CFAPattern.cell(x: core.x + 1, y: core.y + y))
                        for x in 0..<core.width {
                            let i = (y + h) * aw + (x + h)
                            let value = mp[i], n = dp[i]
                            rowWeight += Int64((n * 16_777_216).rounded())
                            var result = value
                            let excess = 1 / n - inverseN
                            if excess > 1e-4 {
                                var sum: Float = 0, sq: Float = 0
                                for dy in stride(from: -2, through: 2, by: 2) {
                                    for dx in stride(from: -2, through: 2, by: 2) {
                                        let v = mp[i + dy * aw + dx]
                                        sum += v
                                        sq += v * v
                                    }
                                }
                                let m = sum * (1.0 / 9)
                                let variance = max(0, sq * (1.0 / 9) - m * m)
                                let cell = x & 1 == 0 ? cells.0 : cells.1
                                let range = scaleDN[cell]
                                let xn = max(0, (Double(m) - settings.blackLevels[cell]) / range)
                                let sigma2 = Float((s * xn + o) * range * range)
                                let signal = max(0, variance - sigma2 / n)
                                let gain = signal / (signal + sigma2 * excess)
                                result = m + gain * (value - m)
                            }
                            pp[y * core.width + x] = UInt16(max(0, min(65535, result.rounded())))
                        }
                        weightSum += Double(rowWeight) / 16_777_216
                    }
                }
            }
        }
        return BurstMergeResult(plane: plane, weightSum: weightSum, pixels: core.area)
    }

    /// Aligns and merges one tile task: ``BurstAligner/align(reference:alternates:coarse:core:parameters:)``
    /// then ``merge(reference:alternates:displacements:core:settings:)``. This is what a worker
    /// runs for a burst tile. `coarse[z]` is alternate z's coarse displacement, the same value the
    /// coordinator used to cut its window.
    public static func alignAndMerge(reference: BurstRegion, alternates: [BurstRegion], coarse: [BurstShift], core: PixelRect,
                                     settings: BurstSettings) throws(BurstError) -> BurstMergeResult {
        try settings.validate()
        let fields = try BurstAligner.align(reference: reference, alternates: alternates, coarse: coarse, core: core, parameters: settings.parameters)
        return try merge(reference: reference, alternates: alternates, displacements: fields, core: core, settings: settings)
    }

    /// Merges whole frames in one process, as a farm would: coarse displacements from proxies
    /// (unless given), the frame cut into `tileSize` cores (``TilePlanner``), each core's windows
    /// cut with reflect-101 borders and run through ``alignAndMerge(reference:alternates:coarse:core:settings:)``,
    /// cores in parallel on `threads` threads (default: all cores). The output never depends on
    /// `tileSize` or `threads`. Blocks the caller.
    public static func mergeFrames(reference: RawPlane, alternates: [RawPlane], coarse: [BurstShift]? = nil, settings: BurstSettings,
                                   tileSize: Int = 1024, threads: Int? = nil) throws(BurstError) -> BurstMergeResult {
        try settings.validate()
        for (z, a) in alternates.enumerated() where a.width != reference.width || a.height != reference.height {
            throw .sizeMismatch(role: "alternate \(z + 1)", reason: "frame is \(a.width)x\(a.height), the reference \(reference.width)x\(reference.height)")
        }
        guard reference.width >= 2, reference.height >= 2, reference.width & 1 == 0, reference.height & 1 == 0 else {
            throw .sizeMismatch(role: "reference", reason: "frame \(reference.width)x\(reference.height) must have even sides")
        }
        guard tileSize >= 16, tileSize % 2 == 0 else { throw .invalidParameter(field: "tileSize", reason: "\(tileSize) must be even and ≥ 16") }
        let shifts: [BurstShift]
        if let coarse {
            guard coarse.count == alternates.count else {
                throw .invalidParameter(field: "coarse", reason: "\(coarse.count) coarse shifts for \(alternates.count) alternates")
            }
            shifts = coarse
        } else {
            let refProxy = try BurstProxy(plane: reference)
            var s: [BurstShift] = []
            for a in alternates { s.append(try BurstAligner.coarseShift(reference: refProxy, alternate: BurstProxy(plane: a))) }
            shifts = s
        }
        let cores = TilePlanner(tileSize: tileSize).cores(width: reference.width, height: reference.height)
        let width = reference.width
        let p = settings.parameters
        var out = [UInt16](repeating: 0, count: reference.width * reference.height)
        let results = ResultBox(count: cores.count)
        out.withUnsafeMutableBufferPointer { ob in
            let dst = UncheckedSendable(value: ob.baseAddress!)
            let run: @Sendable (Int) -> Void = { index in
                let core = cores[index]
                do throws(BurstError) {
                    let ref = BurstRegion(cutting: BurstGeometry.referenceRect(core: core, parameters: p), from: reference)
                    let alts = alternates.enumerated().map { z, a in
                        BurstRegion(cutting: BurstGeometry.alternateRect(core: core, coarse: shifts[z], parameters: p), from: a)
                    }
                    let r = try alignAndMerge(reference: ref, alternates: alts, coarse: shifts, core: core, settings: settings)
                    for y in 0..<core.height {
                        r.plane.pixels.withUnsafeBufferPointer { src in
                            (dst.value + (core.y + y) * width + core.x).update(from: src.baseAddress! + y * core.width, count: core.width)
                        }
                    }
                    results.set(index, .success(r.weightSum))
                } catch {
                    results.set(index, .failure(error))
                }
            }
            let workers = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
            if workers == 1 || cores.count == 1 {
                for i in cores.indices { run(i) }
            } else {
                DispatchQueue.concurrentPerform(iterations: cores.count, execute: run)
            }
        }
        var weightSum = 0.0
        for r in results.all() {
            switch r {
            case .success(let w): weightSum += w
            case .failure(let e): throw e
            case nil: throw .invalidParameter(field: "tileSize", reason: "a tile was not merged")
            }
        }
        return BurstMergeResult(plane: RawPlane(width: reference.width, height: reference.height, pixels: out),
                                weightSum: weightSum, pixels: reference.width * reference.height)
    }
}

/// Per-tile results written from Dispatch worker threads (each index once), read after the join.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Double, BurstError>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<Double, BurstError>) {
        lock.lock()
        results[i] = r
        lock.unlock()
    }

    func all() -> [Result<Double, BurstError>?] {
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}
