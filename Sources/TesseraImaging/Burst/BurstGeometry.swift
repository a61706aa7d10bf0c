import TesseraCore

/// Where a burst tile task's data must come from: the merge-tile grid, the alignment pyramid's
/// tile grids, and the reference and alternate windows a coordinator must cut for an output core.
///
/// All grids are anchored at the frame origin, so every output pixel is computed from the same
/// samples in the same order whatever the tiling (tiled merge ≡ whole-frame merge, bit for bit).
///
/// Level 0 of the alignment pyramid is the 2×2-averaged CFA (half resolution; its pixel (u, v)
/// averages raw pixels (2u…2u+1, 2v…2v+1)); level k+1 is level k filtered with the binomial
/// kernel [1 3 3 1]/8 and decimated by 2 (pixel u reads level-k pixels 2u−1…2u+2). Level k tile t
/// covers level-k pixels `[S·t, S·t + T)` with `T` = ``BurstParameters/tileSize(_:)``, `S = T/2`.
/// The displacement search at level k starts from the best of the upsampled displacements of
/// the two nearest level-(k+1) tiles per axis (four candidates) and searches ±`searchRadius[k]`.
public enum BurstGeometry {
    /// The merge tiles (frame tile indices, `x` then `y`) whose raised-cosine windows touch
    /// `core` (raw frame coordinates, even origin and size) grown by ``spatialHalo``.
    public static func mergeTiles(core: PixelRect) -> (x: Range<Int>, y: Range<Int>) {
        (tiles(core.x - spatialHalo, core.maxX + spatialHalo), tiles(core.y - spatialHalo, core.maxY + spatialHalo))
    }

    /// Raw pixels of merged data the spatial stage reads around each output pixel (its 3×3
    /// same-colour neighbourhood).
    public static let spatialHalo = 2

    /// The window of the reference frame a task for `core` needs (frame coordinates; may reach
    /// past the frame's edges, which the coordinator fills by reflect-101). Even origin and size.
    public static func referenceRect(core: PixelRect, parameters: BurstParameters = BurstParameters()) -> PixelRect {
        let x = axis(core.x, core.maxX, coarse: 0, parameters: parameters)
        let y = axis(core.y, core.maxY, coarse: 0, parameters: parameters)
        return PixelRect(x: x.reference.lowerBound, y: y.reference.lowerBound, width: x.reference.count, height: y.reference.count)
    }

    /// The window of an alternate frame a task for `core` needs, given that frame's coarse
    /// displacement (``BurstAligner/coarseShift(reference:alternate:maxShift:)``), in that frame's
    /// coordinates. Even origin and size. The tile alignment finds displacements up to
    /// ``reach(parameters:)`` raw pixels away from the coarse one (rounded to a multiple of 16).
    public static func alternateRect(core: PixelRect, coarse: BurstShift, parameters: BurstParameters = BurstParameters()) -> PixelRect {
        let x = axis(core.x, core.maxX, coarse: coarse.dx, parameters: parameters)
        let y = axis(core.y, core.maxY, coarse: coarse.dy, parameters: parameters)
        return PixelRect(x: x.alternate.lowerBound, y: y.alternate.lowerBound, width: x.alternate.count, height: y.alternate.count)
    }

    /// The largest distance, in raw pixels, between a tile's displacement and its frame's coarse
    /// displacement (rounded to a multiple of 16): 120 with the default parameters (plus up to 8
    /// for the rounding of the coarse displacement).
    public static func reach(parameters: BurstParameters = BurstParameters()) -> Int {
        2 * bounds(parameters)[0]
    }

    /// The coarse displacement as the alignment uses it: rounded to the nearest multiple of 16 raw
    /// pixels (one pixel of pyramid level 3).
    public static func anchored(_ coarse: BurstShift) -> BurstShift {
        BurstShift(dx: 16 * fdiv(coarse.dx + 8, 16), dy: 16 * fdiv(coarse.dy + 8, 16))
    }

    // MARK: - Internals shared with the aligner and the merger

    /// Merge tiles (stride 16 raw) whose 32-pixel footprint meets `[lo, hi)`.
    static func tiles(_ lo: Int, _ hi: Int) -> Range<Int> {
        guard hi > lo else { return 0..<0 }
        return (fdiv(lo, 16) - 1)..<(fdiv(hi - 1, 16) + 1)
    }

    /// B_k: largest |D_k − C_k| in level-k pixels (search radii plus sub-pixel rounding).
    static func bounds(_ p: BurstParameters) -> [Int] {
        var b = [Int](repeating: 0, count: BurstParameters.levels)
        b[BurstParameters.levels - 1] = p.searchRadius[BurstParameters.levels - 1]
        for k in stride(from: BurstParameters.levels - 2, through: 0, by: -1) { b[k] = 2 * b[k + 1] + 1 + p.searchRadius[k] }
        return b
    }

    /// Level-(k+1) parent tiles of level-k tile `t`: the nearer one and the next.
    static func firstParent(_ t: Int, level k: Int, _ p: BurstParameters) -> Int {
        let s = p.tileSize(k) / 2, sp = p.tileSize(k + 1) / 2
        return fdiv(s * (t + 1) - 2 * sp, 2 * sp)
    }

    /// Tile ranges per level for merge tiles `range` (level 0).
    static func levelTiles(_ range: Range<Int>, _ p: BurstParameters) -> [Range<Int>] {
        var out = [range]
        for k in 0..<(BurstParameters.levels - 1) {
            let r = out[k]
            out.append(firstParent(r.lowerBound, level: k, p)..<(firstParent(r.upperBound - 1, level: k, p) + 2))
        }
        return out
    }

    /// Level-k pixel range → raw range through the pyramid's filter supports.
    static func rawRange(_ r: Range<Int>, level k: Int) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        for _ in 0..<k {
            lo = 2 * lo - 1
            hi = 2 * hi + 1
        }
        return (2 * lo)..<(2 * hi)
    }

    /// One axis of the reference and alternate windows.
    static func axis(_ lo: Int, _ hi: Int, coarse: Int, parameters p: BurstParameters) -> (reference: Range<Int>, alternate: Range<Int>) {
        let merge = tiles(lo - spatialHalo, hi + spatialHalo)
        let levels = levelTiles(merge, p)
        let b = bounds(p)
        let c3 = fdiv(coarse + 8, 16)
        // Merge: the tiles' raw footprints plus the 3×3 same-colour box (2 raw pixels).
        var refLo = 16 * merge.lowerBound - 2, refHi = 16 * (merge.upperBound - 1) + 32 + 2
        let c0 = 16 * c3
        var altLo = refLo + c0 - 2 * b[0], altHi = refHi + c0 + 2 * b[0]
        for k in 0..<BurstParameters.levels {
            let t = p.tileSize(k), s = t / 2
            let need = (s * levels[k].lowerBound)..<(s * (levels[k].upperBound - 1) + t)
            let ck = c3 << (BurstParameters.levels - 1 - k)
            let r = rawRange(need, level: k)
            let a = rawRange((need.lowerBound + ck - b[k])..<(need.upperBound + ck + b[k]), level: k)
            refLo = min(refLo, r.lowerBound)
            refHi = max(refHi, r.upperBound)
            altLo = min(altLo, a.lowerBound)
            altHi = max(altHi, a.upperBound)
        }
        return (even(refLo)..<evenUp(refHi), even(altLo)..<evenUp(altHi))
    }

    static func even(_ v: Int) -> Int { 2 * fdiv(v, 2) }
    static func evenUp(_ v: Int) -> Int { 2 * fdiv(v + 1, 2) }
}

/// Floor division (rounds towards −∞), for frame-anchored grids with negative coordinates.
@inline(__always) func fdiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Ceiling division.
@inline(__always) func cdiv(_ a: Int, _ b: Int) -> Int { -fdiv(-a, b) }
