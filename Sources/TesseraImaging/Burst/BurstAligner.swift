import TesseraCore

/// One level of an alignment pyramid: a Float image over level pixels `[x0, x0+width) ×
/// [y0, y0+height)` (frame-anchored level coordinates).
struct LevelImage {
    var x0: Int
    var y0: Int
    var width: Int
    var height: Int
    var data: [Float]

    /// The 2×2-averaged CFA (level 0) of a region: pixel (u, v) = mean of raw (2u…2u+1, 2v…2v+1).
    init(gray region: BurstRegion) {
        let r = region.rect
        x0 = fdiv(r.x + 1, 2)
        y0 = fdiv(r.y + 1, 2)
        width = max(0, fdiv(r.maxX, 2) - x0)
        height = max(0, fdiv(r.maxY, 2) - y0)
        var out = [Float](repeating: 0, count: width * height)
        let w = width, h = height, sw = r.width
        let ox = 2 * x0 - r.x, oy = 2 * y0 - r.y
        region.plane.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for v in 0..<h {
                    let row0 = src.baseAddress! + (oy + 2 * v) * sw + ox
                    let row1 = row0 + sw
                    let d = dst.baseAddress! + v * w
                    for u in 0..<w {
                        let a = Float(row0[2 * u]) + Float(row0[2 * u + 1])
                        let b = Float(row1[2 * u]) + Float(row1[2 * u + 1])
                        d[u] = (a + b) * 0.25
                    }
                }
            }
        }
        data = out
    }

    /// The next pyramid level: binomial [1 3 3 1]/8 filter, decimated by 2. Pixel u reads this
    /// level's pixels 2u−1…2u+2 (only pixels whose whole support is present are produced).
    func downsampled() -> LevelImage {
        let nx0 = cdiv(x0 + 1, 2), ny0 = cdiv(y0 + 1, 2)
        let nw = max(0, fdiv(x0 + width - 3, 2) + 1 - nx0), nh = max(0, fdiv(y0 + height - 3, 2) + 1 - ny0)
        var out = [Float](repeating: 0, count: nw * nh)
        // Horizontal pass over all rows, then vertical.
        var tmp = [Float](repeating: 0, count: nw * height)
        let w = width
        data.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                for y in 0..<height {
                    let s = src.baseAddress! + y * w + (2 * nx0 - 1 - x0)
                    let d = t.baseAddress! + y * nw
                    for u in 0..<nw {
                        d[u] = ((s[2 * u] + s[2 * u + 3]) + 3 * (s[2 * u + 1] + s[2 * u + 2])) * 0.125
                    }
                }
            }
            tmp.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    for v in 0..<nh {
                        let r = 2 * (ny0 + v) - 1 - y0
                        let a = t.baseAddress! + r * nw, b = a + nw, c = b + nw, e = c + nw
                        let d = o.baseAddress! + v * nw
                        for u in 0..<nw { d[u] = ((a[u] + e[u]) + 3 * (b[u] + c[u])) * 0.125 }
                    }
                }
            }
        }
        return LevelImage(x0: nx0, y0: ny0, width: nw, height: nh, data: out)
    }

    init(x0: Int, y0: Int, width: Int, height: Int, data: [Float]) {
        self.x0 = x0
        self.y0 = y0
        self.width = width
        self.height = height
        self.data = data
    }

    /// Whether the level covers `[x, x+w) × [y, y+h)`.
    func covers(x: Int, y: Int, w: Int, h: Int) -> Bool {
        x >= x0 && y >= y0 && x + w <= x0 + width && y + h <= y0 + height
    }
}

/// The four-level alignment pyramid of a region (level 0 = 2×2-averaged CFA).
struct AlignPyramid {
    var levels: [LevelImage]

    init(_ region: BurstRegion) {
        var l = [LevelImage(gray: region)]
        for _ in 1..<BurstParameters.levels { l.append(l[l.count - 1].downsampled()) }
        levels = l
    }
}

/// A heavily downsampled, single-channel proxy of a whole frame for the coarse global estimate:
/// pixel (u, v) is the mean of the raw block `[f·u, f·u + f) × [f·v, f·v + f)` (f even, so every
/// CFA colour counts equally); partial blocks at the right and bottom edges are dropped.
/// Small (a 12 MP frame at f = 16 is 250×187 floats): computed once per frame, e.g. on the worker
/// that decodes it, and shipped to the coordinator.
public struct BurstProxy: Sendable, Hashable, Codable {
    /// Block size in raw pixels (even).
    public var factor: Int
    public var width: Int
    public var height: Int
    /// Row-major block means, raw units.
    public var pixels: [Float]

    /// The default block size for a frame: the largest of 16, 8, 4, 2 that leaves at least 64
    /// proxy pixels on the short side.
    public static func defaultFactor(width: Int, height: Int) -> Int {
        var f = 16
        while f > 2 && min(width, height) / f < 64 { f /= 2 }
        return f
    }

    /// The proxy of a whole frame (`factor` nil: ``defaultFactor(width:height:)``).
    /// Throws ``BurstError/invalidParameter(field:reason:)`` for an odd or non-positive factor
    /// or a frame smaller than 8 blocks on a side.
    public init(plane: RawPlane, factor: Int? = nil) throws(BurstError) {
        let f = factor ?? Self.defaultFactor(width: plane.width, height: plane.height)
        guard f >= 2, f % 2 == 0 else { throw .invalidParameter(field: "factor", reason: "\(f) must be even and at least 2") }
        let w = plane.width / f, h = plane.height / f
        guard w >= 8, h >= 8 else {
            throw .invalidParameter(field: "factor", reason: "a \(plane.width)x\(plane.height) frame gives only \(w)x\(h) proxy pixels at factor \(f)")
        }
        var out = [Float](repeating: 0, count: w * h)
        let sw = plane.width
        plane.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var rowSums = [UInt32](repeating: 0, count: w)
                for v in 0..<h {
                    for i in 0..<w { rowSums[i] = 0 }
                    for y in (v * f)..<(v * f + f) {
                        let row = src.baseAddress! + y * sw
                        for u in 0..<w {
                            var s: UInt32 = 0
                            for x in (u * f)..<(u * f + f) { s &+= UInt32(row[x]) }
                            rowSums[u] &+= s
                        }
                    }
                    let scale = 1 / Float(f * f)
                    for u in 0..<w { dst[v * w + u] = Float(rowSums[u]) * scale }
                }
            }
        }
        self.factor = f
        self.width = w
        self.height = h
        self.pixels = out
    }

    init(factor: Int, width: Int, height: Int, pixels: [Float]) {
        self.factor = factor
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// 2×2 box average (drops an odd last row/column).
    func halved() -> BurstProxy {
        let w = width / 2, h = height / 2
        var out = [Float](repeating: 0, count: w * h)
        for v in 0..<h {
            for u in 0..<w {
                let i = 2 * v * width + 2 * u
                out[v * w + u] = ((pixels[i] + pixels[i + 1]) + (pixels[i + width] + pixels[i + width + 1])) * 0.25
            }
        }
        return BurstProxy(factor: factor * 2, width: w, height: h, pixels: out)
    }
}

/// Burst alignment (Hasinoff et al. 2016, §4): a coarse global estimate on small proxies, then
/// per-tile coarse-to-fine alignment on a four-level Gaussian pyramid of the 2×2-averaged CFA —
/// L2 matching with sub-pixel (parabola) refinement at the coarse levels, L1 at the finest.
///
/// Pure and deterministic; every function is thread-safe and blocks the caller for its
/// duration (call it off the cooperative pool for large inputs).
public enum BurstAligner {
    /// The global displacement of `alternate` relative to `reference` (see ``BurstShift``),
    /// estimated on the proxies by exhaustive L2 search over ±`maxShift` raw pixels at the
    /// proxies' coarsest level and ±2 pixel refinements at each finer one, with a sub-pixel
    /// parabola at the proxy's own resolution. The result is rounded to even raw pixels; its
    /// error is a small fraction of the proxy's block size, which the tile alignment absorbs
    /// (its reach is ±``BurstGeometry/reach(parameters:)`` pixels).
    ///
    /// Throws ``BurstError/invalidParameter(field:reason:)`` when the proxies differ in size or
    /// factor or `maxShift` is negative.
    public static func coarseShift(reference: BurstProxy, alternate: BurstProxy, maxShift: Int = 128) throws(BurstError) -> BurstShift {
        guard reference.factor == alternate.factor, reference.width == alternate.width, reference.height == alternate.height else {
            throw .invalidParameter(field: "proxy", reason: "reference proxy \(reference.width)x\(reference.height)/\(reference.factor) and alternate \(alternate.width)x\(alternate.height)/\(alternate.factor) differ")
        }
        guard maxShift >= 0 else { throw .invalidParameter(field: "maxShift", reason: "\(maxShift) is negative") }
        var refs = [reference], alts = [alternate]
        while refs.count < 4, min(refs[refs.count - 1].width, refs[refs.count - 1].height) >= 64 {
            refs.append(refs[refs.count - 1].halved())
            alts.append(alts[alts.count - 1].halved())
        }
        let top = refs.count - 1
        let radius = maxShift / refs[top].factor + 1
        var best = (0, 0)
        var bestCost = Double.infinity
        for dy in -radius...radius {
            for dx in -radius...radius {
                let c = globalCost(refs[top], alts[top], dx, dy)
                if c < bestCost {
                    bestCost = c
                    best = (dx, dy)
                }
            }
        }
        var fx = 0.0, fy = 0.0
        for level in stride(from: top - 1, through: 0, by: -1) {
            let cx = 2 * best.0, cy = 2 * best.1
            bestCost = .infinity
            for dy in (cy - 2)...(cy + 2) {
                for dx in (cx - 2)...(cx + 2) {
                    let c = globalCost(refs[level], alts[level], dx, dy)
                    if c < bestCost {
                        bestCost = c
                        best = (dx, dy)
                    }
                }
            }
            if level == 0 {
                let (r, a) = (refs[0], alts[0])
                fx = parabola(globalCost(r, a, best.0 - 1, best.1), bestCost, globalCost(r, a, best.0 + 1, best.1))
                fy = parabola(globalCost(r, a, best.0, best.1 - 1), bestCost, globalCost(r, a, best.0, best.1 + 1))
            }
        }
        let f = Double(reference.factor)
        // Proxy pixel u averages raw [f·u, f·u+f): a proxy displacement d is a raw displacement f·d.
        let rx = (Double(best.0) + fx) * f, ry = (Double(best.1) + fy) * f
        return BurstShift(dx: 2 * Int((rx / 2).rounded()), dy: 2 * Int((ry / 2).rounded()))
    }

    /// ``coarseShift(reference:alternate:maxShift:)`` on whole frames (proxies made with the
    /// default factor).
    public static func coarseShift(reference: RawPlane, alternate: RawPlane, maxShift: Int = 128) throws(BurstError) -> BurstShift {
        try coarseShift(reference: BurstProxy(plane: reference), alternate: BurstProxy(plane: alternate), maxShift: maxShift)
    }

    /// Mean squared difference over the overlap; +∞ when the overlap is under a quarter of the image.
    static func globalCost(_ r: BurstProxy, _ a: BurstProxy, _ dx: Int, _ dy: Int) -> Double {
        let x0 = max(0, -dx), x1 = min(r.width, r.width - dx)
        let y0 = max(0, -dy), y1 = min(r.height, r.height - dy)
        guard x1 > x0, y1 > y0, 4 * (x1 - x0) * (y1 - y0) >= r.width * r.height else { return .infinity }
        var sum = 0.0
        r.pixels.withUnsafeBufferPointer { rp in
            a.pixels.withUnsafeBufferPointer { ap in
                for y in y0..<y1 {
                    let rr = rp.baseAddress! + y * r.width, ar = ap.baseAddress! + (y + dy) * a.width + dx
                    var s: Float = 0
                    for x in x0..<x1 {
                        let d = rr[x] - ar[x]
                        s += d * d
                    }
                    sum += Double(s)
                }
            }
        }
        return sum / Double((x1 - x0) * (y1 - y0))
    }

    /// Vertex offset of the parabola through (−1, a), (0, b), (1, c), clamped to ±0.5.
    @inline(__always) static func parabola<T: BinaryFloatingPoint>(_ a: T, _ b: T, _ c: T) -> T {
        let den = a - 2 * b + c
        guard den > 0, a.isFinite, c.isFinite else { return 0 }
        return max(-0.5, min(0.5, (a - c) / (2 * den)))
    }

    /// Per-merge-tile displacements of each alternate relative to the reference for the output
    /// `core` (raw frame coordinates, even origin and size), coarse-to-fine over the pyramid (see
    /// ``BurstGeometry``). `reference` must cover ``BurstGeometry/referenceRect(core:parameters:)``
    /// and `alternates[z]` must cover ``BurstGeometry/alternateRect(core:coarse:parameters:)`` for
    /// `coarse[z]`. The field of each alternate covers ``BurstGeometry/mergeTiles(core:)``.
    ///
    /// Deterministic: a tile's displacement depends only on frame data at fixed, frame-anchored
    /// places, so it is the same for every core that contains the tile.
    /// Throws ``BurstError`` for bad parameters, mismatched sizes or regions that are too small.
    public static func align(reference: BurstRegion, alternates: [BurstRegion], coarse: [BurstShift], core: PixelRect,
                             parameters: BurstParameters = BurstParameters()) throws(BurstError) -> [BurstDisplacementField] {
        try parameters.validate()
        try checkCore(core)
        guard coarse.count == alternates.count else {
            throw .invalidParameter(field: "coarse", reason: "\(coarse.count) coarse shifts for \(alternates.count) alternates")
        }
        try reference.check("reference")
        let refNeed = BurstGeometry.referenceRect(core: core, parameters: parameters)
        guard reference.rect.contains(refNeed) else { throw .regionTooSmall(role: "reference", needed: refNeed, given: reference.rect) }
        let refPyramid = AlignPyramid(reference)
        var fields: [BurstDisplacementField] = []
        for (z, alt) in alternates.enumerated() {
            try alt.check("alternate \(z + 1)")
            let need = BurstGeometry.alternateRect(core: core, coarse: coarse[z], parameters: parameters)
            guard alt.rect.contains(need) else { throw .regionTooSmall(role: "alternate \(z + 1)", needed: need, given: alt.rect) }
            fields.append(alignTiles(ref: refPyramid, alt: AlignPyramid(alt), coarse: coarse[z], core: core, parameters))
        }
        return fields
    }

    static func checkCore(_ core: PixelRect) throws(BurstError) {
        guard !core.isEmpty, core.x & 1 == 0, core.y & 1 == 0, core.width & 1 == 0, core.height & 1 == 0 else {
            throw .invalidParameter(field: "core", reason: "\(core) must be non-empty with even origin and size")
        }
    }

    /// The coarse-to-fine search over prebuilt pyramids (regions already checked).
    static func alignTiles(ref: AlignPyramid, alt: AlignPyramid, coarse: BurstShift, core: PixelRect, _ p: BurstParameters) -> BurstDisplacementField {
        let merge = BurstGeometry.mergeTiles(core: core)
        let tx = BurstGeometry.levelTiles(merge.x, p), ty = BurstGeometry.levelTiles(merge.y, p)
        let c3x = fdiv(coarse.dx + 8, 16), c3y = fdiv(coarse.dy + 8, 16)
        let top = BurstParameters.levels - 1
        // Displacements of the previous (coarser) level, in its pixels (fractional at levels ≥ 1).
        var prevX: [Float] = [], prevY: [Float] = []
        var prevTiles = (x: 0..<0, y: 0..<0)
        for k in stride(from: top, through: 0, by: -1) {
            let rx = tx[k], ry = ty[k]
            let cols = rx.count
            var curX = [Float](repeating: 0, count: cols * ry.count), curY = curX
            let t = p.tileSize(k), s = t / 2, radius = p.searchRadius[k]
            let useL1 = k == 0
            let refLevel = ref.levels[k], altLevel = alt.levels[k]
            refLevel.data.withUnsafeBufferPointer { rp in
                altLevel.data.withUnsafeBufferPointer { ap in
                    let costAt = { (px: Int, py: Int, dx: Int, dy: Int) -> Float in
                        precondition(altLevel.covers(x: px + dx, y: py + dy, w: t, h: t), "burst alignment read outside the alternate window")
                        var sum: Float = 0
                        for row in 0..<t {
                            let r = rp.baseAddress! + (py + row - refLevel.y0) * refLevel.width + (px - refLevel.x0)
                            let a = ap.baseAddress! + (py + dy + row - altLevel.y0) * altLevel.width + (px + dx - altLevel.x0)
                            var acc: Float = 0
                            if useL1 {
                                for i in 0..<t { acc += abs(r[i] - a[i]) }
                            } else {
                                for i in 0..<t {
                                    let d = r[i] - a[i]
                                    acc += d * d
                                }
                            }
                            sum += acc
                        }
                        return sum
                    }
                    for (jy, ty0) in ry.enumerated() {
                        for (jx, tx0) in rx.enumerated() {
                            let px = s * tx0, py = s * ty0
                            precondition(refLevel.covers(x: px, y: py, w: t, h: t), "burst alignment read outside the reference window")
                            var cx: Int, cy: Int
                            if k == top {
                                cx = c3x
                                cy = c3y
                            } else {
                                // Best of the upsampled displacements of the 2×2 nearest parent tiles.
                                let pa = BurstGeometry.firstParent(tx0, level: k, p), qa = BurstGeometry.firstParent(ty0, level: k, p)
                                cx = 0
                                cy = 0
                                var best = Float.infinity
                                for q in qa...(qa + 1) {
                                    for pp in pa...(pa + 1) {
                                        let i = (q - prevTiles.y.lowerBound) * prevTiles.x.count + (pp - prevTiles.x.lowerBound)
                                        let ux = Int((2 * prevX[i]).rounded()), uy = Int((2 * prevY[i]).rounded())
                                        let c = costAt(px, py, ux, uy)
                                        if c < best {
                                            best = c
                                            cx = ux
                                            cy = uy
                                        }
                                    }
                                }
                            }
                            var best = Float.infinity
                            var bx = cx, by = cy
                            var costs = [Float](repeating: .infinity, count: (2 * radius + 1) * (2 * radius + 1))
                            for oy in -radius...radius {
                                for ox in -radius...radius {
                                    let c = costAt(px, py, cx + ox, cy + oy)
                                    costs[(oy + radius) * (2 * radius + 1) + ox + radius] = c
                                    if c < best {
                                        best = c
                                        bx = cx + ox
                                        by = cy + oy
                                    }
                                }
                            }
                            var fx: Float = 0, fy: Float = 0
                            if k > 0 {
                                let ox = bx - cx, oy = by - cy, n = 2 * radius + 1
                                let at = { (x: Int, y: Int) in costs[(y + radius) * n + x + radius] }
                                if abs(ox) < radius { fx = parabola(at(ox - 1, oy), best, at(ox + 1, oy)) }
                                if abs(oy) < radius { fy = parabola(at(ox, oy - 1), best, at(ox, oy + 1)) }
                            }
                            curX[jy * cols + jx] = Float(bx) + fx
                            curY[jy * cols + jx] = Float(by) + fy
                        }
                    }
                }
            }
            prevX = curX
            prevY = curY
            prevTiles = (rx, ry)
        }
        return BurstDisplacementField(
            firstTileX: merge.x.lowerBound, firstTileY: merge.y.lowerBound, columns: merge.x.count, rows: merge.y.count,
            dx: prevX.map { Int32(2 * Int($0)) }, dy: prevY.map { Int32(2 * Int($0)) })
    }
}
