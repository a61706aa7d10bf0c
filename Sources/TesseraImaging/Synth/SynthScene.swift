import TesseraCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The procedural test scene, in continuous scene coordinates (pixels of a `width × height`
/// frame at zero shift). Linear sRGB reflectances under D65, every value in [0, 1].
///
/// Rendering integrates the scene over each pixel's unit box ("box filter"): exactly, in closed
/// form, for soft-edged axis-aligned rectangles, block grids, bilinear gradients and the
/// sum-of-sinusoids texture; by `supersampling²` point samples for curved and slanted shapes.
/// Edges are soft ramps `edge` = 2 pixels wide (lens and optical low-pass filter): a 2-pixel ramp
/// has no energy at Nyquist, so edges stay demosaicable; gratings are sinusoidal at ≤ 0.29
/// cycles/pixel. Only the small "hard" region (hard-edged lines near 0.45 cycles/pixel) is meant
/// to defeat demosaicing.
struct SynthScene: Sendable {
    typealias RGB = SIMD3<Double>

    /// An axis-aligned rectangle in scene coordinates.
    struct Rect: Sendable {
        var x0, y0, x1, y1: Double
    }

    enum Shape: Sendable {
        /// Convex polygon: inside where `n · p ≤ c` for every edge; soft by `edge` pixels.
        case polygon(edges: [SIMD3<Double>], color: RGB)
        /// Parallel lines of `lineWidth` every `period` pixels along unit normal (nx, ny), inside
        /// `rect`, with ramps `soft` pixels wide.
        case grating(rect: Rect, normal: SIMD2<Double>, period: Double, lineWidth: Double, soft: Double, ink: RGB, paper: RGB)
        case disc(center: SIMD2<Double>, radius: Double, color: RGB)
        /// A disc with stripes (the moving object).
        case stripedDisc(center: SIMD2<Double>, radius: Double, light: RGB, dark: RGB, normal: SIMD2<Double>, period: Double)
    }

    enum Kind: Sendable {
        /// Flat colour, rectangle coverage integrated exactly.
        case flat(RGB)
        /// Bilinear colour across the rectangle (corners TL, TR, BL, BR); exact at pixel centres.
        case gradient(RGB, RGB, RGB, RGB)
        /// The sum-of-sinusoids texture (see ``Texture``), integrated exactly.
        case texture
        /// Sinusoidal grating: paper + (ink − paper)·(½ + ½·cos(2π n·p / period)), integrated exactly.
        case sineGrating(normal: SIMD2<Double>, period: Double, ink: RGB, paper: RGB)
        /// Text-like glyph blocks: cells of `cell` pixels, on/off from `seed`, drawn in `ink`.
        case blocks(cell: Double, ink: RGB, seed: UInt64)
        /// Point-sampled shape, `supersampling²` samples per pixel.
        case sampled(Shape)
    }

    struct Layer: Sendable {
        /// Coverage rectangle (analytic kinds) or bounding box (sampled shapes).
        var rect: Rect
        var kind: Kind
    }

    /// Spectral-synthesis texture: Σ_k a_k · cos(ω_k · p + φ_k) around `base`; its box integral
    /// over a pixel is the same sum with each term scaled by sinc(ωx/2)·sinc(ωy/2).
    struct Texture: Sendable {
        var base: RGB
        var omegaX: [Double]
        var omegaY: [Double]
        var phase: [Double]
        var amplitude: [RGB]
        var count: Int { omegaX.count }
    }

    let width: Int
    let height: Int
    /// Soft-edge width in pixels.
    let edge: Double
    let layers: [Layer]
    let texture: Texture
    let regions: [SynthRegion]
    let checker: [RGB]

    /// Background: a gentle linear gradient over the whole (infinite) plane.
    @inline(__always) func background(_ x: Double, _ y: Double) -> RGB {
        let u = x / Double(width), v = y / Double(height)
        return RGB(0.30 + 0.10 * u - 0.05 * v, 0.28 + 0.05 * v + 0.02 * u, 0.22 - 0.06 * u + 0.10 * v)
    }

    /// The sRGB (8-bit, D65) values of the classic 24-patch colour checker, row-major.
    static let checkerSRGB8: [[Double]] = [
        [115, 82, 68], [194, 150, 130], [98, 122, 157], [87, 108, 67], [133, 128, 177], [103, 189, 170],
        [214, 126, 44], [80, 91, 166], [193, 90, 99], [94, 60, 108], [157, 188, 64], [224, 163, 46],
        [56, 61, 150], [70, 148, 73], [175, 54, 60], [231, 199, 31], [187, 86, 149], [8, 133, 161],
        [243, 243, 242], [200, 200, 200], [160, 160, 160], [122, 122, 121], [85, 85, 85], [52, 52, 52],
    ]

    /// sRGB transfer function inverse (encoded 0…1 → linear).
    static func linearFromSRGB(_ v: Double) -> Double {
        v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
    }

    init(width: Int, height: Int, seed: UInt64) {
        self.width = width
        self.height = height
        edge = 3.0
        let W = Double(width), H = Double(height)
        func rect(_ u0: Double, _ v0: Double, _ u1: Double, _ v1: Double) -> Rect {
            Rect(x0: (u0 * W).rounded(), y0: (v0 * H).rounded(), x1: (u1 * W).rounded(), y1: (v1 * H).rounded())
        }
        var layers: [Layer] = []
        var regions: [SynthRegion] = []
        func region(_ name: String, _ r: Rect, _ note: String) {
            regions.append(SynthRegion(name: name, x: r.x0, y: r.y0, width: r.x1 - r.x0, height: r.y1 - r.y0, note: note))
        }
        var rng = SplitMix64(seed: seed ^ 0x5343_454E_4521, stream: 1)  // "SCENE!"

        // 1. Colour checker: 6 × 4 patches on a dark card.
        let card = rect(0.03, 0.05, 0.41, 0.46)
        layers.append(Layer(rect: card, kind: .flat(RGB(0.02, 0.02, 0.02))))
        let checker = Self.checkerSRGB8.map { c in RGB(c.map { Self.linearFromSRGB($0 / 255) }) }
        let cellW = (card.x1 - card.x0) / 6, cellH = (card.y1 - card.y0) / 4
        for row in 0..<4 {
            for col in 0..<6 {
                let inset = 0.12
                let r = Rect(x0: card.x0 + (Double(col) + inset) * cellW, y0: card.y0 + (Double(row) + inset) * cellH,
                             x1: card.x0 + (Double(col) + 1 - inset) * cellW, y1: card.y0 + (Double(row) + 1 - inset) * cellH)
                layers.append(Layer(rect: r, kind: .flat(checker[row * 6 + col])))
            }
        }
        region("checker", card, "24 flat patches (linear sRGB in checkerPatchesLinearSRGB), 6 columns x 4 rows, 12% inset per cell; use patch interiors for colour and noise")

        // 2. Slanted edge: a dark square rotated 5 degrees on a light panel.
        let edgePanel = rect(0.44, 0.05, 0.57, 0.46)
        layers.append(Layer(rect: edgePanel, kind: .flat(RGB(0.72, 0.72, 0.72))))
        do {
            let cx = (edgePanel.x0 + edgePanel.x1) / 2, cy = (edgePanel.y0 + edgePanel.y1) / 2
            let half = 0.32 * min(edgePanel.x1 - edgePanel.x0, edgePanel.y1 - edgePanel.y0)
            let a = 5.0 * Double.pi / 180
            var edges: [SIMD3<Double>] = []
            for k in 0..<4 {
                let t = a + Double(k) * Double.pi / 2
                let n = SIMD2(cos(t), sin(t))
                edges.append(SIMD3(n.x, n.y, n.x * cx + n.y * cy + half))
            }
            let bound = half * 1.5 + 2
            layers.append(Layer(rect: Rect(x0: cx - bound, y0: cy - bound, x1: cx + bound, y1: cy + bound),
                                kind: .sampled(.polygon(edges: edges, color: RGB(0.05, 0.05, 0.05)))))
        }
        region("slanted-edge", edgePanel, "dark square rotated 5 degrees on light grey: slanted edges for MTF/sharpness")

        // 3. Sinusoidal gratings at several angles (periods 4.5-8 px, <= 0.22 cycles/pixel).
        let gratePanel = rect(0.59, 0.05, 0.71, 0.46)
        let grates: [(angle: Double, period: Double)] = [(10, 8), (35, 6), (60, 5), (100, 4.5)]
        let gh = (gratePanel.y1 - gratePanel.y0) / Double(grates.count)
        for (i, g) in grates.enumerated() {
            let r = Rect(x0: gratePanel.x0, y0: (gratePanel.y0 + Double(i) * gh).rounded(), x1: gratePanel.x1,
                         y1: (gratePanel.y0 + Double(i + 1) * gh).rounded())
            let t = g.angle * Double.pi / 180
            layers.append(Layer(rect: r, kind: .sineGrating(normal: SIMD2(cos(t), sin(t)), period: g.period,
                                                            ink: RGB(0.12, 0.13, 0.14), paper: RGB(0.62, 0.60, 0.57))))
        }
        region("gratings", gratePanel, "four sinusoidal gratings stacked top to bottom: 10 deg/8 px, 35 deg/6 px, 60 deg/5 px, 100 deg/4.5 px periods")

        // 4. Saturated colour discs on a mid-grey panel.
        let discPanel = rect(0.74, 0.05, 0.97, 0.46)
        layers.append(Layer(rect: discPanel, kind: .flat(RGB(0.18, 0.18, 0.18))))
        let discColors: [RGB] = [RGB(0.80, 0.03, 0.03), RGB(0.04, 0.60, 0.05), RGB(0.04, 0.05, 0.80),
                                 RGB(0.04, 0.60, 0.70), RGB(0.70, 0.04, 0.60), RGB(0.85, 0.72, 0.03)]
        let dw = (discPanel.x1 - discPanel.x0) / 3, dh = (discPanel.y1 - discPanel.y0) / 2
        for (i, c) in discColors.enumerated() {
            let center = SIMD2(discPanel.x0 + (Double(i % 3) + 0.5) * dw, discPanel.y0 + (Double(i / 3) + 0.5) * dh)
            let radius = 0.36 * min(dw, dh)
            layers.append(Layer(rect: Rect(x0: center.x - radius - 2, y0: center.y - radius - 2, x1: center.x + radius + 2, y1: center.y + radius + 2),
                                kind: .sampled(.disc(center: center, radius: radius, color: c))))
        }
        region("discs", discPanel, "six saturated discs (red, green, blue, cyan, magenta, yellow) on 18% grey")

        // 5. Natural-image-like texture: 48 oriented sinusoids, 1/f^0.45 amplitudes, 1/128..1/3.5 cycles/pixel.
        let texRect = rect(0.03, 0.50, 0.55, 0.95)
        layers.append(Layer(rect: texRect, kind: .texture))
        var ox: [Double] = [], oy: [Double] = [], ph: [Double] = [], amp: [RGB] = []
        let count = 48
        for k in 0..<count {
            let f = (1.0 / 128) * pow(128.0 / 3.5, Double(k) / Double(count - 1))
            let theta = rng.nextUnit() * Double.pi
            ox.append(2 * Double.pi * f * cos(theta))
            oy.append(2 * Double.pi * f * sin(theta))
            ph.append(rng.nextUnit() * 2 * Double.pi)
            let tint = RGB(1 + 0.9 * (rng.nextUnit() - 0.5), 1 + 0.9 * (rng.nextUnit() - 0.5), 1 + 0.9 * (rng.nextUnit() - 0.5))
            amp.append(tint * pow(f, -0.45))
        }
        var sum = RGB(repeating: 0)
        for a in amp { sum += a }
        let scale = 0.24 / max(sum.x, sum.y, sum.z)
        texture = Texture(base: RGB(0.33, 0.30, 0.24), omegaX: ox, omegaY: oy, phase: ph, amplitude: amp.map { $0 * scale })
        region("texture", texRect, "band-limited colour texture (sum of 48 sinusoids, 1/128 to 1/3.5 cycles/pixel): natural-image statistics")

        // 6. Text-like blocks: 2-px cells forming 4x6-cell glyphs on paper.
        let paper = rect(0.58, 0.50, 0.80, 0.95)
        layers.append(Layer(rect: paper, kind: .flat(RGB(0.78, 0.76, 0.70))))
        let inset = Rect(x0: paper.x0 + 6, y0: paper.y0 + 6, x1: paper.x1 - 6, y1: paper.y1 - 6)
        layers.append(Layer(rect: inset, kind: .blocks(cell: 4, ink: RGB(0.06, 0.06, 0.07), seed: rng.next())))
        region("text", paper, "text-like glyphs of 4-pixel blocks (4x6-cell glyphs on a 5-cell pitch, lines every 10 cells) on paper")

        // 7. Hard region: hard-edged lines near 0.45 cycles/pixel (demosaic stress test), kept small.
        let hard = rect(0.86, 0.50, 0.94, 0.62)
        let hm = ((hard.y0 + hard.y1) / 2).rounded()
        let hardTop = Rect(x0: hard.x0, y0: hard.y0, x1: hard.x1, y1: hm), hardBottom = Rect(x0: hard.x0, y0: hm, x1: hard.x1, y1: hard.y1)
        let hardInk = RGB(0.30, 0.30, 0.30), hardPaper = RGB(0.50, 0.50, 0.50)
        layers.append(Layer(rect: hardTop, kind: .sampled(.grating(rect: hardTop, normal: SIMD2(1, 0), period: 2.2, lineWidth: 1.0, soft: 0.3,
                                                                     ink: hardInk, paper: hardPaper))))
        let d = 1 / 2.0.squareRoot()
        layers.append(Layer(rect: hardBottom, kind: .sampled(.grating(rect: hardBottom, normal: SIMD2(d, d), period: 2.4, lineWidth: 1.1, soft: 0.3,
                                                                        ink: hardInk, paper: hardPaper))))
        region("hard", hard, "hard-edged lines near Nyquist (vertical 2.2 px period top, diagonal 2.4 px bottom): expect demosaic artefacts; exclude from PSNR thresholds")

        // 8. Smooth colour gradient (bilinear: red, blue, green, white corners).
        let grad = rect(0.83, 0.78, 0.97, 0.95)
        layers.append(Layer(rect: grad, kind: .gradient(RGB(0.85, 0.08, 0.06), RGB(0.06, 0.10, 0.85), RGB(0.08, 0.75, 0.10), RGB(0.85, 0.85, 0.85))))
        region("gradient", grad, "bilinear colour gradient (red, blue / green, white corners)")
        region("background", Rect(x0: 0, y0: 0, x1: W, y1: H), "linear colour gradient everywhere else (continues outside the frame)")

        self.layers = layers
        self.regions = regions
        self.checker = checker
    }

    /// The moving-object layer for a frame (scene coordinates).
    static func objectLayer(center: SIMD2<Double>, radius: Double, color: RGB, angle: Double) -> Layer {
        Layer(rect: Rect(x0: center.x - radius - 2, y0: center.y - radius - 2, x1: center.x + radius + 2, y1: center.y + radius + 2),
              kind: .sampled(.stripedDisc(center: center, radius: radius, light: color, dark: color * 0.25,
                                          normal: SIMD2(cos(angle), sin(angle)), period: 7)))
    }

    // MARK: - Analytic box integrals

    /// ∫_{−∞}^{t} of a unit step softened into a linear ramp of width `r` centred on 0.
    @inline(__always) static func rampIntegral(_ t: Double, _ r: Double) -> Double {
        let h = 0.5 * r
        if t <= -h { return 0 }
        if t >= h { return t }
        let s = t + h
        return s * s / (2 * r)
    }

    /// Mean over [a, a + 1] of the soft indicator of [lo, hi] (edges are ramps of width `r`).
    @inline(__always) static func coverage(_ lo: Double, _ hi: Double, _ a: Double, _ r: Double) -> Double {
        let b = a + 1
        return (rampIntegral(b - lo, r) - rampIntegral(a - lo, r)) - (rampIntegral(b - hi, r) - rampIntegral(a - hi, r))
    }

    /// Whether glyph cell (i, j) of a block layer is inked: glyphs of 4×6 cells on a 5×8 pitch,
    /// lines every 10 cells, about one glyph in six a space.
    @inline(__always) static func blockOn(_ i: Int, _ j: Int, seed: UInt64) -> Bool {
        let gi = i >= 0 ? i / 5 : (i - 4) / 5, gj = j >= 0 ? j / 10 : (j - 9) / 10
        let ci = i - gi * 5, cj = j - gj * 10
        guard ci < 4, cj < 6 else { return false }
        let glyph = mix(seed ^ UInt64(bitPattern: Int64(gi)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(gj)) &* 0xC2B2_AE3D_27D4_EB4F)
        if glyph % 6 == 0 { return false }
        let cell = mix(glyph ^ UInt64(ci) &* 0x1656_67B1_9E37_79F9 ^ UInt64(cj) &* 0x85EB_CA77_C2B2_AE63)
        return cell % 100 < 48
    }

    /// SplitMix64's finaliser: a cheap, well-mixed hash of 64 bits.
    @inline(__always) static func mix(_ v: UInt64) -> UInt64 {
        var z = v &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    // MARK: - Point samples

    /// Coverage α and colour of a sampled shape at scene point p.
    @inline(__always) func sample(_ shape: Shape, _ p: SIMD2<Double>) -> (Double, RGB) {
        switch shape {
        case .polygon(let edges, let color):
            var a = 1.0
            for e in edges {
                let dist = e.x * p.x + e.y * p.y - e.z
                a = min(a, max(0, min(1, 0.5 - dist / edge)))
            }
            return (a, color)
        case .grating(let r, let n, let period, let lineWidth, let soft, let ink, let paper):
            guard p.x >= r.x0, p.x < r.x1, p.y >= r.y0, p.y < r.y1 else { return (0, paper) }
            let t = (n.x * p.x + n.y * p.y) / period
            let d = abs(t - t.rounded(.down) - 0.5) * period
            let inkAmount = max(0, min(1, (0.5 * lineWidth - d) / soft + 0.5))
            return (1, paper + (ink - paper) * inkAmount)
        case .disc(let c, let radius, let color):
            let dist = ((p - c) * (p - c)).sum().squareRoot() - radius
            return (max(0, min(1, 0.5 - dist / edge)), color)
        case .stripedDisc(let c, let radius, let light, let dark, let n, let period):
            let q = p - c
            let dist = (q * q).sum().squareRoot() - radius
            let a = max(0, min(1, 0.5 - dist / edge))
            if a == 0 { return (0, dark) }
            let stripe = 0.5 + 0.5 * cos(2 * Double.pi * (n.x * q.x + n.y * q.y) / period)
            return (a, dark + (light - dark) * stripe)
        }
    }
}

/// Renders one frame's truth row by row (thread-safe: immutable after init, rows independent).
struct SynthFrameRenderer: Sendable {
    let scene: SynthScene
    let layers: [SynthScene.Layer]
    let dx: Double
    let dy: Double
    let width: Int
    let supersampling: Int
    /// Per texture component k and column x: sinc-scaled cos/sin of ωx·(x + dx + ½) + φ, [k * width + x].
    let texCos: [Float]
    let texSin: [Float]

    init(scene: SynthScene, shift: SynthShift, object: SynthScene.Layer?, supersampling: Int) {
        self.scene = scene
        layers = scene.layers + (object.map { [$0] } ?? [])
        dx = shift.dx
        dy = shift.dy
        width = scene.width
        self.supersampling = supersampling
        let t = scene.texture
        var c = [Float](repeating: 0, count: t.count * width), s = c
        func sincHalf(_ w: Double) -> Double { abs(w) < 1e-9 ? 1 : sin(w / 2) / (w / 2) }
        for k in 0..<t.count {
            let factor = sincHalf(t.omegaX[k]) * sincHalf(t.omegaY[k])
            for x in 0..<width {
                let a = t.omegaX[k] * (Double(x) + dx + 0.5) + t.phase[k]
                c[k * width + x] = Float(cos(a) * factor)
                s[k * width + x] = Float(sin(a) * factor)
            }
        }
        texCos = c
        texSin = s
    }

    /// Writes row `y` (interleaved RGB floats, `width * 3`) to `out`. `scratch` must hold
    /// `width * 3` doubles.
    func render(row y: Int, into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Double>) {
        let sy0 = Double(y) + dy
        let scx = Double(width)
        // Background (linear: the centre value is the box mean).
        for x in 0..<width {
            let c = scene.background(Double(x) + dx + 0.5, sy0 + 0.5)
            scratch[3 * x] = c.x
            scratch[3 * x + 1] = c.y
            scratch[3 * x + 2] = c.z
        }
        let e = scene.edge
        for layer in layers {
            let r = layer.rect
            // Row and column span this layer can touch (soft edges reach e/2 outside).
            guard sy0 + 1 > r.y0 - e, sy0 < r.y1 + e else { continue }
            let xStart = max(0, Int((r.x0 - e - dx).rounded(.down)))
            let xEnd = min(width, Int((r.x1 + e - dx).rounded(.up)) + 1)
            guard xStart < xEnd, Double(xStart) < scx else { continue }
            switch layer.kind {
            case .flat(let color):
                let cy = SynthScene.coverage(r.y0, r.y1, sy0, e)
                for x in xStart..<xEnd {
                    let a = cy * SynthScene.coverage(r.x0, r.x1, Double(x) + dx, e)
                    blend(scratch, x, a, color)
                }
            case .gradient(let tl, let tr, let bl, let br):
                let cy = SynthScene.coverage(r.y0, r.y1, sy0, e)
                let v = max(0, min(1, (sy0 + 0.5 - r.y0) / (r.y1 - r.y0)))
                let left = tl + (bl - tl) * v, right = tr + (br - tr) * v
                for x in xStart..<xEnd {
                    let a = cy * SynthScene.coverage(r.x0, r.x1, Double(x) + dx, e)
                    let u = max(0, min(1, (Double(x) + dx + 0.5 - r.x0) / (r.x1 - r.x0)))
                    blend(scratch, x, a, left + (right - left) * u)
                }
            case .sineGrating(let n, let period, let ink, let paper):
                // Box mean of cos(k·p): cos(k·centre)·sinc(kx/2)·sinc(ky/2).
                let kx = 2 * Double.pi * n.x / period, ky = 2 * Double.pi * n.y / period
                func sincHalf(_ w: Double) -> Double { abs(w) < 1e-9 ? 1 : sin(w / 2) / (w / 2) }
                let damping = sincHalf(kx) * sincHalf(ky)
                let cy = SynthScene.coverage(r.y0, r.y1, sy0, e)
                for x in xStart..<xEnd {
                    let a = cy * SynthScene.coverage(r.x0, r.x1, Double(x) + dx, e)
                    guard a > 0 else { continue }
                    let wave = 0.5 + 0.5 * cos(kx * (Double(x) + dx + 0.5) + ky * (sy0 + 0.5)) * damping
                    blend(scratch, x, a, paper + (ink - paper) * wave)
                }
            case .texture:
                renderTexture(rowY: sy0, rect: r, xStart: xStart, xEnd: xEnd, scratch: scratch)
            case .blocks(let cell, let ink, let seed):
                let yLo = Int(((sy0 - e - r.y0) / cell).rounded(.down)), yHi = Int(((sy0 + 1 + e - r.y0) / cell).rounded(.down))
                for x in xStart..<xEnd {
                    let sx0 = Double(x) + dx
                    let xLo = Int(((sx0 - e - r.x0) / cell).rounded(.down)), xHi = Int(((sx0 + 1 + e - r.x0) / cell).rounded(.down))
                    var a = 0.0
                    for j in yLo...yHi {
                        let cy0 = r.y0 + Double(j) * cell
                        guard cy0 >= r.y0, cy0 + cell <= r.y1 else { continue }
                        let cy = SynthScene.coverage(cy0, cy0 + cell, sy0, e)
                        if cy == 0 { continue }
                        for i in xLo...xHi {
                            let cx0 = r.x0 + Double(i) * cell
                            guard cx0 >= r.x0, cx0 + cell <= r.x1, SynthScene.blockOn(i, j, seed: seed) else { continue }
                            a += cy * SynthScene.coverage(cx0, cx0 + cell, sx0, e)
                        }
                    }
                    if a > 0 { blend(scratch, x, min(1, a), ink) }
                }
            case .sampled(let shape):
                renderSampled(shape, rowY: sy0, xStart: xStart, xEnd: xEnd, scratch: scratch)
            }
        }
        for i in 0..<(3 * width) { out[i] = Float(scratch[i]) }
    }

    /// Box-filters a point-sampled shape over a span: pixels whose box is certainly inside or
    /// outside a disc or polygon are settled from the centre distance; the rest get
    /// `supersampling²` samples.
    private func renderSampled(_ shape: SynthScene.Shape, rowY sy0: Double, xStart: Int, xEnd: Int, scratch: UnsafeMutablePointer<Double>) {
        // Half the pixel diagonal plus half the soft edge: beyond this the box sees no edge.
        let reach = 0.5 * 2.0.squareRoot() + 0.5 * scene.edge + 1e-9
        let cy = sy0 + 0.5
        switch shape {
        case .polygon(let edges, let color):
            edges.withUnsafeBufferPointer { eb in
                for x in xStart..<xEnd {
                    let cx = Double(x) + dx + 0.5
                    var far = -Double.infinity
                    for e in eb { far = max(far, e.x * cx + e.y * cy - e.z) }
                    if far > reach { continue }
                    if far < -reach {
                        blend(scratch, x, 1, color)
                        continue
                    }
                    supersample(x, sy0, scratch) { p in
                        var a = 1.0
                        for e in eb { a = min(a, max(0, min(1, 0.5 - (e.x * p.x + e.y * p.y - e.z) / scene.edge))) }
                        return (a, color)
                    }
                }
            }
        case .disc(let c, let radius, let color):
            for x in xStart..<xEnd {
                let q = SIMD2(Double(x) + dx + 0.5, cy) - c
                let d = (q * q).sum().squareRoot() - radius
                if d > reach { continue }
                if d < -reach {
                    blend(scratch, x, 1, color)
                    continue
                }
                supersample(x, sy0, scratch) { p in scene.sample(shape, p) }
            }
        case .stripedDisc(let c, let radius, _, _, _, _):
            for x in xStart..<xEnd {
                let q = SIMD2(Double(x) + dx + 0.5, cy) - c
                if (q * q).sum().squareRoot() - radius > reach { continue }
                supersample(x, sy0, scratch) { p in scene.sample(shape, p) }
            }
        case .grating:
            for x in xStart..<xEnd { supersample(x, sy0, scratch) { p in scene.sample(shape, p) } }
        }
    }

    /// Mean of `supersampling²` point samples over pixel `x`'s box, composited over `scratch`.
    @inline(__always) private func supersample(_ x: Int, _ sy0: Double, _ scratch: UnsafeMutablePointer<Double>,
                                               _ at: (SIMD2<Double>) -> (Double, SIMD3<Double>)) {
        let n = supersampling
        let inv = 1 / Double(n), weight = 1 / Double(n * n)
        var acc = SIMD3<Double>(repeating: 0)
        var alpha = 0.0
        for j in 0..<n {
            let py = sy0 + (Double(j) + 0.5) * inv
            for i in 0..<n {
                let (a, c) = at(SIMD2(Double(x) + dx + (Double(i) + 0.5) * inv, py))
                alpha += a
                acc += c * a
            }
        }
        guard alpha > 0 else { return }
        let a = alpha * weight
        for c in 0..<3 { scratch[3 * x + c] = scratch[3 * x + c] * (1 - a) + acc[c] * weight }
    }

    @inline(__always) private func blend(_ p: UnsafeMutablePointer<Double>, _ x: Int, _ a: Double, _ c: SIMD3<Double>) {
        guard a > 0 else { return }
        p[3 * x] += a * (c.x - p[3 * x])
        p[3 * x + 1] += a * (c.y - p[3 * x + 1])
        p[3 * x + 2] += a * (c.z - p[3 * x + 2])
    }

    private func renderTexture(rowY sy0: Double, rect r: SynthScene.Rect, xStart: Int, xEnd: Int, scratch: UnsafeMutablePointer<Double>) {
        let t = scene.texture
        let e = scene.edge
        let cy = SynthScene.coverage(r.y0, r.y1, sy0, e)
        guard cy > 0 else { return }
        let n = xEnd - xStart
        // Accumulate the texture's box means for the span in single precision, term by term.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * n) { acc in
            acc.initialize(repeating: 0)
            let accR = acc.baseAddress!, accG = accR + n, accB = accG + n
            texCos.withUnsafeBufferPointer { tc in
                texSin.withUnsafeBufferPointer { ts in
                    for k in 0..<t.count {
                        let ay = t.omegaY[k] * (sy0 + 0.5)
                        let cyk = Float(cos(ay)), syk = Float(sin(ay))
                        let amp = t.amplitude[k]
                        let ar = Float(amp.x), ag = Float(amp.y), ab = Float(amp.z)
                        let cosRow = tc.baseAddress! + k * width + xStart, sinRow = ts.baseAddress! + k * width + xStart
                        for i in 0..<n {
                            let v = cosRow[i] * cyk - sinRow[i] * syk
                            accR[i] += ar * v
                            accG[i] += ag * v
                            accB[i] += ab * v
                        }
                    }
                }
            }
            for i in 0..<n {
                let x = xStart + i
                let a = cy * SynthScene.coverage(r.x0, r.x1, Double(x) + dx, e)
                let c = t.base + SIMD3(Double(accR[i]), Double(accG[i]), Double(accB[i]))
                blend(scratch, x, a, c)
            }
        }
    }
}
