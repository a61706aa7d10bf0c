/// One finished output row of ``RCDStream``: linear R, G and B of a window row in split layout
/// (each row stores its even window columns, then at `parityStride` its odd ones). Borrowed:
/// valid only during the `emit` call.
public struct RCDRow<Target: KernelTarget> {
    /// Split rows (window columns; output column `ox` is window column `ox + halo`).
    public let r: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>
    /// Offset of the odd columns from the even ones.
    public let parityStride: Int
    /// The window column of output column 0 (even: ``KernelConstants/rcdHalo``).
    public let firstColumn: Int

    /// A row over split rows `r`, `g`, `b`.
    @_alwaysEmitIntoClient init(r: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, parityStride: Int, firstColumn: Int) {
        self.r = r
        self.g = g
        self.b = b
        self.parityStride = parityStride
        self.firstColumn = firstColumn
    }

    /// Writes `count` output pixels as interleaved RGB floats.
    @_alwaysEmitIntoClient @inline(__always) public func interleave(count: Int, into o: UnsafeMutablePointer<Float>) {
        let e = firstColumn >> 1
        let rE = r + e, gE = g + e, bE = b + e
        let rO = rE + parityStride, gO = gE + parityStride, bO = bE + parityStride
        for k in 0..<(count / 2) {
            let q = o + 6 &* k
            q[0] = rE[k]; q[1] = gE[k]; q[2] = bE[k]
            q[3] = rO[k]; q[4] = gO[k]; q[5] = bO[k]
        }
        if count & 1 == 1 {
            let k = count / 2, q = o + 6 &* k
            q[0] = rE[k]; q[1] = gE[k]; q[2] = bE[k]
        }
    }
}

/// The RCD of `RCDDemosaic` (TesseraImaging) as a row stream: each window row of the mosaic is loaded once and
/// every step runs on a row as soon as the rows it reads exist (step lags 1…8 rows behind the
/// newest mosaic row), on ring buffers of a few rows instead of nine full planes; finished rows
/// are handed to a sink (`emit`) as soon as the second median pass has produced them.
///
/// **Layout.** Every ring row is *split by column parity*: the even window columns, then (at
/// `hs`) the odd ones. A site formula for one CFA parity then reads its neighbours at constant
/// offsets of contiguous arrays, so each step is a SIMD8 loop over one parity: chroma-site
/// arithmetic (steps 3 and 4) runs only at chroma sites and step 5 only at green sites, instead
/// of computing both and selecting.
///
/// **Bits.** Every stored value is the same Float expression, in the same evaluation order, as
/// the per-site definition in `RCDDemosaic` (no FMA: Swift does not contract `a * b + c`;
/// no reassociation; `abs` clears the sign bit; selects use the same comparison). Two exact
/// rewrites: `|a − b|` is computed once where the definition evaluates it as `|a − b|` and
/// `|b − a|` (IEEE subtraction rounds symmetrically, so both are the same bits), and the first
/// nine exchanges of Paeth's median network (which sort the three rows of the 3×3 window
/// independently) are computed once per row and shared by the three output rows that use
/// them — the same operations on the same operands. SIMD lanes are independent, so lanes past
/// a row's end (computed on padding) never affect stored results. `RCDExactTests` checks all of
/// it against the original scalar code, bit for bit.
///
/// Column and row ranges of each step are exactly those of the definition (margins 1…8), so
/// every value read was written by the step that produces it.
public struct RCDStream<Target: KernelTarget> {
    /// A ring row pointer.
    public typealias P = UnsafeMutablePointer<Float>
    /// The vector every step runs on (eight sites of one CFA parity).
    public typealias V = SIMD8<Float>

    /// Window size and its CFA colours by (row parity, column parity).
    @usableFromInline let w: Int, rows: Int
    @usableFromInline let c00: Int, c01: Int, c10: Int, c11: Int
    /// Offset of the odd half of a split row; split row stride; even-half length.
    @usableFromInline let hs: Int, rs: Int, half: Int

    @usableFromInline let storage: P
    @usableFromInline let c: P, gv: P, gh: P, lpf: P, vh: P, g: P
    /// Red and blue after steps 4–5 (in place), after median pass 1, and pass 2's output row.
    @usableFromInline let r4: P, b4: P, r6: P, b6: P, r7: P, b7: P
    /// Row-sorted triples (lo, mid, hi) of the colour differences for median passes 1 and 2:
    /// six consecutive rings of 4 rows each (red lo, mid, hi, then blue), see ``triple(_:_:)``.
    @usableFromInline let t1: P, t2: P

    /// Guards every division and gradient against zero.
    @_alwaysEmitIntoClient static var eps: Float { 1e-5 }
    /// `eps²`, the guard of the squared-gradient sums.
    @_alwaysEmitIntoClient static var epsSquared: Float { 1e-10 }

    /// Allocates the ring buffers (zero-filled) for a mosaic window of `width × height` whose
    /// top-left 2×2 cell has CFA colours `colors` (0 red, 1 green, 2 blue; row 0 left, right,
    /// then row 1). Call ``deallocate()`` when done.
    @_alwaysEmitIntoClient public init(width: Int, height: Int, colors: (Int, Int, Int, Int)) {
        let total = Self.storageCount(width: width)
        let storage = P.allocate(capacity: total)
        storage.initialize(repeating: 0, count: total)
        self.init(width: width, height: height, colors: colors, storage: storage)
    }

    /// A stream over caller-owned ring buffers: `storage` holds ``storageCount(width:)``
    /// initialised Floats (zero-filled before the first row; afterwards they carry the stream's
    /// state from one ``run(leads:load:emit:)`` call to the next). Do not call ``deallocate()``.
    @_alwaysEmitIntoClient public init(width: Int, height: Int, colors: (Int, Int, Int, Int), storage: P) {
        w = width
        rows = height
        (c00, c01, c10, c11) = colors
        half = (w + 1) / 2
        hs = Self.halfStride(width: width)
        rs = 2 * hs
        self.storage = storage
        let base = storage, stride = rs
        var used = 0
        func take(_ n: Int) -> P {
            defer { used += n * stride }
            return base + used
        }
        c = take(16); gv = take(4); gh = take(4); lpf = take(8); vh = take(8); g = take(8)
        r4 = take(8); b4 = take(8); r6 = take(4); b6 = take(4)
        t1 = take(6 * 4)
        t2 = take(6 * 4)
        r7 = take(1)
        b7 = take(1)
    }

    /// Offset of a split row's odd half for a window `width` columns wide (padded for SIMD8).
    @_alwaysEmitIntoClient static func halfStride(width: Int) -> Int { ((width + 1) / 2 + 16 + 7) & ~7 }

    /// Floats of ring buffers a window `width` columns wide needs. Ring depths (rows): c 16,
    /// gv/gh 4, lpf/vh/g 8, r4/b4 8, r6/b6 4, 12 triple rings of 4, two single output rows.
    @_alwaysEmitIntoClient public static func storageCount(width: Int) -> Int {
        let ringRows = 16 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 12 * 4 + 2
        return ringRows * 2 * halfStride(width: width) + 64
    }

    /// Frees the buffers.
    @_alwaysEmitIntoClient public func deallocate() { storage.deallocate() }

    // MARK: Helpers

    /// Ring `i` (0…5) of the triple rings starting at `t`.
    @_alwaysEmitIntoClient @inline(__always) func triple(_ t: P, _ i: Int) -> P { t + i &* 4 &* rs }
    /// Ring row `j` of a ring of `depth` (a power of two) rows.
    @_alwaysEmitIntoClient @inline(__always) func row(_ base: P, _ j: Int, _ depth: Int) -> P { base + (j & (depth &- 1)) &* rs }
    /// Pointer whose element `k` is split row `r` at window column `2k + p + d`.
    @_alwaysEmitIntoClient @inline(__always) func at(_ r: P, _ p: Int, _ d: Int) -> P {
        let t: Int = p &+ d
        let offset: Int = (t & 1) &* hs &+ (t >> 1)
        return r + offset
    }
    /// Parity of the green columns in window row `j`, and the colour (0 R, 2 B) of its other sites.
    @_alwaysEmitIntoClient @inline(__always) func layout(_ j: Int) -> (greenParity: Int, chroma: Int) {
        let (even, odd) = j & 1 == 0 ? (c00, c01) : (c10, c11)
        return even == 1 ? (0, odd) : (1, even)
    }
    /// `k` range of parity `p` for window columns `m..<(w - m)`.
    @_alwaysEmitIntoClient @inline(__always) func span(_ m: Int, _ p: Int) -> (Int, Int) {
        ((m - p + 1) >> 1, max((m - p + 1) >> 1, (w - m - p + 1) >> 1))
    }

    @_alwaysEmitIntoClient @inline(__always) static func ld(_ p: P) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @_alwaysEmitIntoClient @inline(__always) static func st(_ v: V, _ p: P) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
    /// `abs` as Swift's scalar `abs(Float)`: the sign bit cleared.
    @_alwaysEmitIntoClient @inline(__always) static func vabs(_ v: V) -> V {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: V.self)
    }
    /// Swift's `min(a, b)` per lane: `b < a ? b : a` (minps).
    @_alwaysEmitIntoClient @inline(__always) static func vmin(_ a: V, _ b: V) -> V {
        var r = V()
        for i in 0..<8 { r[i] = b[i] < a[i] ? b[i] : a[i] }
        return r
    }
    /// `a > b ? a : b` per lane (Swift's `max(a, b)` for every non-NaN pair; maxps).
    @_alwaysEmitIntoClient @inline(__always) static func vmax(_ a: V, _ b: V) -> V {
        var r = V()
        for i in 0..<8 { r[i] = a[i] > b[i] ? a[i] : b[i] }
        return r
    }
    /// Swift's `max(0, v)` per lane: `v >= 0 ? v : 0`.
    @_alwaysEmitIntoClient @inline(__always) static func clampLow(_ v: V) -> V {
        var r = V()
        for i in 0..<8 { r[i] = v[i] >= 0 ? v[i] : 0 }
        return r
    }
    /// The more decided of `central` and `neighbours`: `|½ − c| < |½ − n| ? n : c` per lane.
    @_alwaysEmitIntoClient @inline(__always) static func decided(_ central: V, _ neighbours: V) -> V {
        let a = vabs(0.5 - central), b = vabs(0.5 - neighbours)
        var r = V()
        for i in 0..<8 { r[i] = a[i] < b[i] ? neighbours[i] : central[i] }
        return r
    }

    // MARK: The stream

    /// Runs the demosaic. `load(j, even, odd)` must write window row `j`'s normalised samples:
    /// its even columns to `even[0..<(w+1)/2]` and its odd columns to `odd[0..<w/2]`.
    /// `emit(oy, row)` receives output rows `0..<(rows − 2·halo)` in order.
    @_alwaysEmitIntoClient @inline(__always) public func run(load: (Int, P, P) -> Void, emit: (Int, RCDRow<Target>) -> Void) {
        run(leads: 0..<rows, load: load, emit: emit)
    }

    /// Runs the demosaic for the window rows `leads` only (each loaded row advances every step
    /// by one row; output row `oy` is emitted when window row `oy + 2·halo` is loaded). Calls
    /// over consecutive ranges that together cover `0..<rows`, in order, on the same ring
    /// buffers, give exactly ``run(load:emit:)``'s results: the stream's whole state is in
    /// the rings.
    @_alwaysEmitIntoClient @inline(__always) public func run(leads: Range<Int>, load: (Int, P, P) -> Void, emit: (Int, RCDRow<Target>) -> Void) {
        let h = KernelConstants.rcdHalo
        for lead in leads {
            let cr = row(c, lead, 16)
            load(lead, cr, cr + hs)
            var j = lead - 1
            if j >= 1 && j < rows - 1 { lowPass(j) }
            j = lead - 2
            if j >= 2 && j < rows - 2 { gradients(j) }
            j = lead - 3
            if j >= 3 && j < rows - 3 { direction(j) }
            j = lead - 4
            if j >= 4 && j < rows - 4 { green(j) }
            j = lead - 5
            if j >= 5 && j < rows - 5 { diagonalChroma(j) }
            j = lead - 6
            if j >= 6 && j < rows - 6 {
                chromaAtGreen(j)
                sortTriples(j, margin: 7, r: r4, b: b4, depth: 8, into: t1)
            }
            j = lead - 7
            if j >= 7 && j < rows - 7 {
                median(j, margin: 7, r: r4, b: b4, depth: 8, triples: t1, rOut: row(r6, j, 4), bOut: row(b6, j, 4))
                sortTriples(j, margin: 8, r: r6, b: b6, depth: 4, into: t2)
            }
            j = lead - 8
            if j >= h && j < rows - h {
                median(j, margin: 8, r: r6, b: b6, depth: 4, triples: t2, rOut: r7, bOut: b7)
                emit(j - h, RCDRow<Target>(r: r7, g: row(g, j, 8), b: b7, parityStride: hs, firstColumn: h))
            }
        }
    }

    /// Step 2, row `j`: the clamped 3×3 binomial low-pass (margin 1).
    @_alwaysEmitIntoClient @inline(__always) func lowPass(_ j: Int) {
        let up = row(c, j - 1, 16), mid = row(c, j, 16), dn = row(c, j + 1, 16), out = row(lpf, j, 8)
        for p in 0..<2 {
            let q = at(mid, p, 0), qn = at(up, p, 0), qs = at(dn, p, 0), qw = at(mid, p, -1), qe = at(mid, p, 1)
            let nw = at(up, p, -1), ne = at(up, p, 1), sw = at(dn, p, -1), se = at(dn, p, 1), o = at(out, p, 0)
            let (k0, k1) = span(1, p)
            var k = k0
            while k < k1 {
                let cross = (Self.ld(qn + k) + Self.ld(qs + k)) + (Self.ld(qw + k) + Self.ld(qe + k))
                let diag = (Self.ld(nw + k) + Self.ld(ne + k)) + (Self.ld(sw + k) + Self.ld(se + k))
                Self.st(Self.clampLow(0.25 * Self.ld(q + k) + 0.125 * cross + 0.0625 * diag), o + k)
                k += 8
            }
        }
    }

    /// Step 1a, row `j`: vertical and horizontal Hamilton–Adams gradients (margin 2).
    @_alwaysEmitIntoClient @inline(__always) func gradients(_ j: Int) {
        let n2 = row(c, j - 2, 16), n1 = row(c, j - 1, 16), mid = row(c, j, 16), s1 = row(c, j + 1, 16), s2 = row(c, j + 2, 16)
        let ov = row(gv, j, 4), oh = row(gh, j, 4)
        for p in 0..<2 {
            let q = at(mid, p, 0), qn1 = at(n1, p, 0), qs1 = at(s1, p, 0), qn2 = at(n2, p, 0), qs2 = at(s2, p, 0)
            let qw1 = at(mid, p, -1), qe1 = at(mid, p, 1), qw2 = at(mid, p, -2), qe2 = at(mid, p, 2)
            let v = at(ov, p, 0), hz = at(oh, p, 0)
            let (k0, k1) = span(2, p)
            var k = k0
            while k < k1 {
                let two = 2 * Self.ld(q + k)
                Self.st(Self.vabs(Self.ld(qn1 + k) - Self.ld(qs1 + k)) + Self.vabs(two - Self.ld(qn2 + k) - Self.ld(qs2 + k)), v + k)
                Self.st(Self.vabs(Self.ld(qw1 + k) - Self.ld(qe1 + k)) + Self.vabs(two - Self.ld(qw2 + k) - Self.ld(qe2 + k)), hz + k)
                k += 8
            }
        }
    }

    /// Step 1b, row `j`: `VH = V / (V + H)` (margin 3).
    @_alwaysEmitIntoClient @inline(__always) func direction(_ j: Int) {
        let vn = row(gv, j - 1, 4), vm = row(gv, j, 4), vs = row(gv, j + 1, 4), hm = row(gh, j, 4), out = row(vh, j, 8)
        let eps2 = Self.epsSquared
        for p in 0..<2 {
            let a = at(vn, p, 0), b = at(vm, p, 0), cc = at(vs, p, 0)
            let hw = at(hm, p, -1), h0 = at(hm, p, 0), he = at(hm, p, 1), o = at(out, p, 0)
            let (k0, k1) = span(3, p)
            var k = k0
            while k < k1 {
                let va = Self.ld(a + k), vb = Self.ld(b + k), vc = Self.ld(cc + k)
                let ha = Self.ld(hw + k), hb = Self.ld(h0 + k), hc = Self.ld(he + k)
                let v = eps2 + (va * va + vb * vb) + vc * vc
                let hz = eps2 + (ha * ha + hb * hb) + hc * hc
                Self.st(v / (v + hz), o + k)
                k += 8
            }
        }
    }

    /// The direction used at a site: its own `VH` or its diagonal neighbours' mean, whichever
    /// is more decided (pointers at the site's parity: own row, and the rows above and below
    /// at column offsets −1 and +1).
    @_alwaysEmitIntoClient @inline(__always) static func mixedDirection(_ d: P, _ nw: P, _ ne: P, _ sw: P, _ se: P, _ k: Int) -> V {
        let neighbours = ((ld(nw + k) + ld(ne + k)) + (ld(sw + k) + ld(se + k))) * 0.25
        return decided(ld(d + k), neighbours)
    }

    /// Step 3, row `j`: green — measured at green sites, the ratio-corrected directional
    /// estimate at chroma sites (margin 4).
    @_alwaysEmitIntoClient @inline(__always) func green(_ j: Int) {
        let (gp, _) = layout(j)
        let p = 1 - gp
        let eps = Self.eps
        let mid = row(c, j, 16), out = row(g, j, 8)
        // Green sites: the measured sample.
        let (g0, g1) = span(4, gp)
        if g1 > g0 { (at(out, gp, 0) + g0).update(from: at(mid, gp, 0) + g0, count: g1 - g0) }
        // Chroma sites.
        let q0 = at(mid, p, 0)
        let n1 = at(row(c, j - 1, 16), p, 0), n2 = at(row(c, j - 2, 16), p, 0), n3 = at(row(c, j - 3, 16), p, 0), n4 = at(row(c, j - 4, 16), p, 0)
        let s1 = at(row(c, j + 1, 16), p, 0), s2 = at(row(c, j + 2, 16), p, 0), s3 = at(row(c, j + 3, 16), p, 0), s4 = at(row(c, j + 4, 16), p, 0)
        let w1 = at(mid, p, -1), w2 = at(mid, p, -2), w3 = at(mid, p, -3), w4 = at(mid, p, -4)
        let e1 = at(mid, p, 1), e2 = at(mid, p, 2), e3 = at(mid, p, 3), e4 = at(mid, p, 4)
        let lm = row(lpf, j, 8)
        let l0 = at(lm, p, 0), lN = at(row(lpf, j - 2, 8), p, 0), lS = at(row(lpf, j + 2, 8), p, 0), lW = at(lm, p, -2), lE = at(lm, p, 2)
        let dN = row(vh, j - 1, 8), dS = row(vh, j + 1, 8)
        let d0 = at(row(vh, j, 8), p, 0), dNW = at(dN, p, -1), dNE = at(dN, p, 1), dSW = at(dS, p, -1), dSE = at(dS, p, 1)
        let o = at(out, p, 0)
        let (k0, k1) = span(4, p)
        var k = k0
        while k < k1 {
            let q = Self.ld(q0 + k)
            let qn1 = Self.ld(n1 + k), qn2 = Self.ld(n2 + k), qs1 = Self.ld(s1 + k), qs2 = Self.ld(s2 + k)
            let qw1 = Self.ld(w1 + k), qw2 = Self.ld(w2 + k), qe1 = Self.ld(e1 + k), qe2 = Self.ld(e2 + k)
            let vertical = Self.vabs(qn1 - qs1), horizontal = Self.vabs(qw1 - qe1)
            let nGrad = eps + vertical + Self.vabs(q - qn2) + Self.vabs(qn1 - Self.ld(n3 + k)) + Self.vabs(qn2 - Self.ld(n4 + k))
            let sGrad = eps + vertical + Self.vabs(q - qs2) + Self.vabs(qs1 - Self.ld(s3 + k)) + Self.vabs(qs2 - Self.ld(s4 + k))
            let wGrad = eps + horizontal + Self.vabs(q - qw2) + Self.vabs(qw1 - Self.ld(w3 + k)) + Self.vabs(qw2 - Self.ld(w4 + k))
            let eGrad = eps + horizontal + Self.vabs(q - qe2) + Self.vabs(qe1 - Self.ld(e3 + k)) + Self.vabs(qe2 - Self.ld(e4 + k))
            let lc = Self.ld(l0 + k), ln = Self.ld(lN + k), ls = Self.ld(lS + k), lw = Self.ld(lW + k), le = Self.ld(lE + k)
            let nEst = qn1 * (1 + (lc - ln) / (eps + lc + ln))
            let sEst = qs1 * (1 + (lc - ls) / (eps + lc + ls))
            let wEst = qw1 * (1 + (lc - lw) / (eps + lc + lw))
            let eEst = qe1 * (1 + (lc - le) / (eps + lc + le))
            let vEst = (sGrad * nEst + nGrad * sEst) / (nGrad + sGrad)
            let hEst = (eGrad * wEst + wGrad * eEst) / (eGrad + wGrad)
            let dir = Self.mixedDirection(d0, dNW, dNE, dSW, dSE, k)
            Self.st(vEst * (1 - dir) + hEst * dir, o + k)
            k += 8
        }
    }

    /// Step 4, row `j`: at chroma sites, the measured colour, and the other chroma from the four
    /// diagonal colour differences weighted by inverse gradients (margin 5). Green sites are
    /// left to step 5.
    @_alwaysEmitIntoClient @inline(__always) func diagonalChroma(_ j: Int) {
        let (gp, chroma) = layout(j)
        let p = 1 - gp
        let eps = Self.eps
        let measured = row(chroma == 0 ? r4 : b4, j, 8), interpolated = row(chroma == 0 ? b4 : r4, j, 8)
        let mid = row(c, j, 16)
        let (k0, k1) = span(5, p)
        if k1 > k0 { (at(measured, p, 0) + k0).update(from: at(mid, p, 0) + k0, count: k1 - k0) }
        let n1 = row(c, j - 1, 16), n2 = row(c, j - 2, 16), n3 = row(c, j - 3, 16)
        let s1 = row(c, j + 1, 16), s2 = row(c, j + 2, 16), s3 = row(c, j + 3, 16)
        let q0 = at(mid, p, 0)
        let nw = at(n1, p, -1), ne = at(n1, p, 1), sw = at(s1, p, -1), se = at(s1, p, 1)
        let nw2 = at(n2, p, -2), ne2 = at(n2, p, 2), sw2 = at(s2, p, -2), se2 = at(s2, p, 2)
        let nw3 = at(n3, p, -3), ne3 = at(n3, p, 3), sw3 = at(s3, p, -3), se3 = at(s3, p, 3)
        let gn = row(g, j - 1, 8), gs = row(g, j + 1, 8)
        let g0 = at(row(g, j, 8), p, 0), gnw = at(gn, p, -1), gne = at(gn, p, 1), gsw = at(gs, p, -1), gse = at(gs, p, 1)
        let o = at(interpolated, p, 0)
        var k = k0
        while k < k1 {
            let q = Self.ld(q0 + k)
            let qnw = Self.ld(nw + k), qne = Self.ld(ne + k), qsw = Self.ld(sw + k), qse = Self.ld(se + k)
            let main = Self.vabs(qnw - qse), anti = Self.vabs(qne - qsw)
            let gNW = eps + main + Self.vabs(q - Self.ld(nw2 + k)) + Self.vabs(qnw - Self.ld(nw3 + k))
            let gNE = eps + anti + Self.vabs(q - Self.ld(ne2 + k)) + Self.vabs(qne - Self.ld(ne3 + k))
            let gSW = eps + anti + Self.vabs(q - Self.ld(sw2 + k)) + Self.vabs(qsw - Self.ld(sw3 + k))
            let gSE = eps + main + Self.vabs(q - Self.ld(se2 + k)) + Self.vabs(qse - Self.ld(se3 + k))
            let wNW = 1 / gNW, wNE = 1 / gNE, wSW = 1 / gSW, wSE = 1 / gSE
            let diff = ((wNW * (qnw - Self.ld(gnw + k)) + wNE * (qne - Self.ld(gne + k)))
                + (wSW * (qsw - Self.ld(gsw + k)) + wSE * (qse - Self.ld(gse + k))))
                / ((wNW + wNE) + (wSW + wSE))
            Self.st(Self.ld(g0 + k) + diff, o + k)
            k += 8
        }
    }

    /// Step 5, row `j`: red and blue at green sites from the vertical and horizontal colour
    /// differences, mixed by direction (margin 6). In place: reads only chroma sites.
    @_alwaysEmitIntoClient @inline(__always) func chromaAtGreen(_ j: Int) {
        let (p, _) = layout(j)
        let eps = Self.eps
        let mid = row(c, j, 16)
        let q0 = at(mid, p, 0)
        let n1 = at(row(c, j - 1, 16), p, 0), n2 = at(row(c, j - 2, 16), p, 0), n3 = at(row(c, j - 3, 16), p, 0)
        let s1 = at(row(c, j + 1, 16), p, 0), s2 = at(row(c, j + 2, 16), p, 0), s3 = at(row(c, j + 3, 16), p, 0)
        let w1 = at(mid, p, -1), w2 = at(mid, p, -2), w3 = at(mid, p, -3)
        let e1 = at(mid, p, 1), e2 = at(mid, p, 2), e3 = at(mid, p, 3)
        let dN = row(vh, j - 1, 8), dS = row(vh, j + 1, 8)
        let d0 = at(row(vh, j, 8), p, 0), dNW = at(dN, p, -1), dNE = at(dN, p, 1), dSW = at(dS, p, -1), dSE = at(dS, p, 1)
        let gm = row(g, j, 8)
        let g0 = at(gm, p, 0), gN = at(row(g, j - 1, 8), p, 0), gS = at(row(g, j + 1, 8), p, 0), gW = at(gm, p, -1), gE = at(gm, p, 1)
        let rm = row(r4, j, 8), bm = row(b4, j, 8)
        let rN = at(row(r4, j - 1, 8), p, 0), rS = at(row(r4, j + 1, 8), p, 0), rW = at(rm, p, -1), rE = at(rm, p, 1), rO = at(rm, p, 0)
        let bN = at(row(b4, j - 1, 8), p, 0), bS = at(row(b4, j + 1, 8), p, 0), bW = at(bm, p, -1), bE = at(bm, p, 1), bO = at(bm, p, 0)
        let (k0, k1) = span(6, p)
        var k = k0
        while k < k1 {
            let q = Self.ld(q0 + k)
            let qn1 = Self.ld(n1 + k), qs1 = Self.ld(s1 + k), qw1 = Self.ld(w1 + k), qe1 = Self.ld(e1 + k)
            let vertical = Self.vabs(qn1 - qs1), horizontal = Self.vabs(qw1 - qe1)
            let nGrad = eps + vertical + Self.vabs(q - Self.ld(n2 + k)) + Self.vabs(qn1 - Self.ld(n3 + k))
            let sGrad = eps + vertical + Self.vabs(q - Self.ld(s2 + k)) + Self.vabs(qs1 - Self.ld(s3 + k))
            let wGrad = eps + horizontal + Self.vabs(q - Self.ld(w2 + k)) + Self.vabs(qw1 - Self.ld(w3 + k))
            let eGrad = eps + horizontal + Self.vabs(q - Self.ld(e2 + k)) + Self.vabs(qe1 - Self.ld(e3 + k))
            let dir = Self.mixedDirection(d0, dNW, dNE, dSW, dSE, k)
            let gn = Self.ld(gN + k), gs = Self.ld(gS + k), gw = Self.ld(gW + k), ge = Self.ld(gE + k), gc = Self.ld(g0 + k)
            let vSum = nGrad + sGrad, hSum = eGrad + wGrad
            let rV = (sGrad * (Self.ld(rN + k) - gn) + nGrad * (Self.ld(rS + k) - gs)) / vSum
            let rH = (eGrad * (Self.ld(rW + k) - gw) + wGrad * (Self.ld(rE + k) - ge)) / hSum
            let bV = (sGrad * (Self.ld(bN + k) - gn) + nGrad * (Self.ld(bS + k) - gs)) / vSum
            let bH = (eGrad * (Self.ld(bW + k) - gw) + wGrad * (Self.ld(bE + k) - ge)) / hSum
            Self.st(gc + (rV * (1 - dir) + rH * dir), rO + k)
            Self.st(gc + (bV * (1 - dir) + bH * dir), bO + k)
            k += 8
        }
    }

    /// The first nine exchanges of Paeth's network for row `j` of the colour differences
    /// `x − g` (`x` = red, then blue): each horizontal triple sorted, stored as (lo, mid, hi)
    /// in `into[0...2]` (red) and `into[3...5]` (blue), for window columns `margin..<(w − margin)`.
    @_alwaysEmitIntoClient @inline(__always) func sortTriples(_ j: Int, margin: Int, r: P, b: P, depth: Int, into t: P) {
        let gm = row(g, j, 8)
        for plane in 0..<2 {
            let xm = row(plane == 0 ? r : b, j, depth)
            let lo = row(triple(t, plane * 3), j, 4), mi = row(triple(t, plane * 3 + 1), j, 4), hi = row(triple(t, plane * 3 + 2), j, 4)
            for p in 0..<2 {
                let xw = at(xm, p, -1), x0 = at(xm, p, 0), xe = at(xm, p, 1)
                let gw = at(gm, p, -1), g0 = at(gm, p, 0), ge = at(gm, p, 1)
                let oLo = at(lo, p, 0), oMi = at(mi, p, 0), oHi = at(hi, p, 0)
                let (k0, k1) = span(margin, p)
                var k = k0
                while k < k1 {
                    var a = Self.ld(xw + k) - Self.ld(gw + k)
                    var m = Self.ld(x0 + k) - Self.ld(g0 + k)
                    var z = Self.ld(xe + k) - Self.ld(ge + k)
                    // sort(p1, p2); sort(p0, p1); sort(p1, p2)
                    (m, z) = (Self.vmin(m, z), Self.vmax(m, z))
                    (a, m) = (Self.vmin(a, m), Self.vmax(a, m))
                    (m, z) = (Self.vmin(m, z), Self.vmax(m, z))
                    Self.st(a, oLo + k); Self.st(m, oMi + k); Self.st(z, oHi + k)
                    k += 8
                }
            }
        }
    }

    /// A median pass at row `j` (window columns `margin..<(w − margin)`): interpolated red and
    /// blue become `g + median₃ₓ₃(x − g)` (the remaining ten exchanges of Paeth's network on
    /// the row-sorted triples of rows `j − 1`, `j`, `j + 1`); measured samples are copied.
    @_alwaysEmitIntoClient @inline(__always) func median(_ j: Int, margin: Int, r: P, b: P, depth: Int, triples t: P, rOut: P, bOut: P) {
        let (gp, chroma) = layout(j)
        let gm = row(g, j, 8)
        for plane in 0..<2 {
            let xm = row(plane == 0 ? r : b, j, depth)
            let out = plane == 0 ? rOut : bOut
            // This row's measured sites of the plane's colour (their parity), if any.
            let measuredParity = chroma == plane * 2 ? 1 - gp : -1
            let lo = triple(t, plane * 3), mi = triple(t, plane * 3 + 1), hi = triple(t, plane * 3 + 2)
            for p in 0..<2 {
                let (k0, k1) = span(margin, p)
                if p == measuredParity {
                    if k1 > k0 { (at(out, p, 0) + k0).update(from: at(xm, p, 0) + k0, count: k1 - k0) }
                    continue
                }
                let aLo = at(row(lo, j - 1, 4), p, 0), aMi = at(row(mi, j - 1, 4), p, 0), aHi = at(row(hi, j - 1, 4), p, 0)
                let bLo = at(row(lo, j, 4), p, 0), bMi = at(row(mi, j, 4), p, 0), bHi = at(row(hi, j, 4), p, 0)
                let cLo = at(row(lo, j + 1, 4), p, 0), cMi = at(row(mi, j + 1, 4), p, 0), cHi = at(row(hi, j + 1, 4), p, 0)
                let g0 = at(gm, p, 0), o = at(out, p, 0)
                var k = k0
                while k < k1 {
                    let p0 = Self.ld(aLo + k), p1 = Self.ld(aMi + k), p2 = Self.ld(aHi + k)
                    let p3 = Self.ld(bLo + k), p4 = Self.ld(bMi + k), p5 = Self.ld(bHi + k)
                    let p6 = Self.ld(cLo + k), p7 = Self.ld(cMi + k), p8 = Self.ld(cHi + k)
                    let q3 = Self.vmax(p0, p3)             // sort(p0, p3)
                    let q5 = Self.vmin(p5, p8)             // sort(p5, p8)
                    var q4 = Self.vmin(p4, p7)             // sort(p4, p7)
                    let q7 = Self.vmax(p4, p7)
                    let q6 = Self.vmax(q3, p6)             // sort(p3, p6)
                    q4 = Self.vmax(p1, q4)                 // sort(p1, p4)
                    var q2 = Self.vmin(p2, q5)             // sort(p2, p5)
                    q4 = Self.vmin(q4, q7)                 // sort(p4, p7)
                    (q4, q2) = (Self.vmin(q4, q2), Self.vmax(q4, q2))  // sort(p4, p2)
                    q4 = Self.vmax(q6, q4)                 // sort(p6, p4)
                    q4 = Self.vmin(q4, q2)                 // sort(p4, p2)
                    Self.st(Self.ld(g0 + k) + q4, o + k)
                    k += 8
                }
            }
        }
    }
}
