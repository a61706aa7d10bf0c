import Foundation

/// Whole-frame colour statistics for automatic white balance, measured once per frame at decode
/// time (tiles never compute global statistics, so every tile of a frame agrees).
///
/// Method: the black-subtracted CFA, normalised to `(raw − black) / (white − black)`, is reduced
/// to blocks of ``blockSize`` × ``blockSize`` pixels (whole 2×2 cells, so each block has mean
/// R, G and B). A block is *excluded* when any of its samples is clipped (≥ 98 % of the range) or
/// when its brightest channel mean is below 1 % of the range (noise-dominated). From the rest:
///
/// * ``greyWorld`` — robust grey world: the median log-chromaticity (ln R/G, ln B/G) of the
///   blocks, then the sum of R, G, B over the blocks within ±0.4 (ln units) of that median, so
///   strongly coloured objects do not pull the estimate (E. Y. Lam, "Combining gray world and
///   retinex theory for automatic white balance in digital photography", ISCE 2005, for the
///   grey-world/white-patch pair; the chromaticity trimming is ours).
/// * ``whitePatch`` — the mean of the brightest 2 % of blocks (by R + G + B).
///
/// Both are camera-space neutrals `[R, G, B]` with G = 1 (the values a grey surface gives),
/// nil when no block qualifies. Plain value, `Codable` (travels with the frame's metadata).
public struct FrameStatistics: Hashable, Sendable, Codable {
    /// Robust grey-world neutral (camera RGB, G = 1), nil when no block qualified.
    public var greyWorld: [Double]?
    /// White-patch neutral (camera RGB, G = 1), nil when no block qualified.
    public var whitePatch: [Double]?
    /// Side of a statistics block in pixels (even).
    public var blockSize: Int
    /// Number of whole blocks in the frame.
    public var blockCount: Int
    /// Blocks neither clipped nor too dark.
    public var usableBlocks: Int
    /// Blocks inside the grey-world chromaticity window.
    public var greyBlocks: Int
    /// Fraction of blocks containing a clipped sample.
    public var clippedFraction: Double

    /// Memberwise (tests, and decoding stored statistics).
    public init(greyWorld: [Double]?, whitePatch: [Double]?, blockSize: Int, blockCount: Int, usableBlocks: Int,
                greyBlocks: Int, clippedFraction: Double) {
        self.greyWorld = greyWorld
        self.whitePatch = whitePatch
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.usableBlocks = usableBlocks
        self.greyBlocks = greyBlocks
        self.clippedFraction = clippedFraction
    }

    /// Normalised level at or above which a sample counts as clipped.
    public static let clipLevel = 0.98
    /// Normalised level below which a block's brightest channel counts as too dark.
    public static let darkLevel = 0.01
    /// Half-width of the grey-world window around the median, in ln(ratio) units.
    public static let chromaWindow = 0.4

    /// Block side for a frame: the smallest even size giving at most ~256 blocks on the long side
    /// (24 px for a 6000-px-wide frame: ~41 000 blocks, each averaging 144 samples per colour).
    public static func blockSize(width: Int, height: Int) -> Int {
        let longSide = max(width, height)
        return 2 * max(1, (longSide + 511) / 512)
    }

    /// Measures `plane` (the active area as ``RawDecoder`` returns it; its size must match `info`).
    /// Pure and deterministic (fixed summation order, no threads); O(pixels), one pass.
    public static func measure(plane: RawPlane, info: RawFrameInfo) -> FrameStatistics {
        precondition(plane.width == info.width && plane.height == info.height, "FrameStatistics: plane and info sizes differ")
        let b = blockSize(width: plane.width, height: plane.height)
        let bw = plane.width / b, bh = plane.height / b
        let white = info.whiteLevel
        // Per 2×2 cell: black, 1 / range, colour index, and the raw clip threshold.
        let blacks = info.blackLevels
        let scales = blacks.map { 1 / (white - $0) }
        let clipRaw = blacks.map { $0 + clipLevel * (white - $0) }
        let colors = (0..<4).map { Int(info.cfa.colors[$0].rawValue) }
        // Samples per colour in a block: R and B a quarter, G half.
        let perColor = (0..<3).map { c in Double(b * b) * Double(colors.filter { $0 == c }.count) / 4 }
        var blocks: [(r: Double, g: Double, b: Double)] = []
        blocks.reserveCapacity(bw * bh)
        var clipped = 0
        var acc = [Double](repeating: 0, count: max(1, bw * 3))
        var clip = [Bool](repeating: false, count: max(1, bw))
        let width = plane.width
        plane.pixels.withUnsafeBufferPointer { px in
            acc.withUnsafeMutableBufferPointer { acc in
                clip.withUnsafeMutableBufferPointer { clip in
                    for by in 0..<bh {
                        for i in 0..<acc.count { acc[i] = 0 }
                        for i in 0..<clip.count { clip[i] = false }
                        for y in by * b..<(by + 1) * b {
                            // The row's two cells (even and odd x): colour, black, scale, clip level.
                            let e = CFAPattern.cell(x: 0, y: y), o = CFAPattern.cell(x: 1, y: y)
                            let ce = colors[e], co = colors[o]
                            let be = blacks[e] * Double(b / 2), bo = blacks[o] * Double(b / 2)
                            let se = scales[e], so = scales[o]
                            let le = clipRaw[e], lo = clipRaw[o]
                            let row = px.baseAddress! + y * width
                            for bx in 0..<bw {
                                var sumE = 0.0, sumO = 0.0
                                var maxE: UInt16 = 0, maxO: UInt16 = 0
                                var x = bx * b
                                let end = x + b
                                while x < end {
                                    let ve = row[x], vo = row[x + 1]
                                    sumE += Double(ve)
                                    sumO += Double(vo)
                                    maxE = max(maxE, ve)
                                    maxO = max(maxO, vo)
                                    x += 2
                                }
                                acc[bx * 3 + ce] += (sumE - be) * se
                                acc[bx * 3 + co] += (sumO - bo) * so
                                if Double(maxE) >= le || Double(maxO) >= lo { clip[bx] = true }
                            }
                        }
                        for bx in 0..<bw {
                            if clip[bx] {
                                clipped += 1
                            } else {
                                blocks.append((acc[bx * 3] / perColor[0], acc[bx * 3 + 1] / perColor[1], acc[bx * 3 + 2] / perColor[2]))
                            }
                        }
                    }
                }
            }
        }
        let usable = blocks.filter { max($0.r, $0.g, $0.b) >= darkLevel && $0.r > 0 && $0.g > 0 && $0.b > 0 }
        func neutral(_ r: Double, _ g: Double, _ b: Double) -> [Double]? {
            guard r > 0, g > 0, b > 0 else { return nil }
            return [r / g, 1, b / g]
        }
        var grey: [Double]? = nil, patch: [Double]? = nil, greyCount = 0
        if !usable.isEmpty {
            let lr = usable.map { log($0.r / $0.g) }.sorted(), lb = usable.map { log($0.b / $0.g) }.sorted()
            let mr = median(lr), mb = median(lb)
            var sr = 0.0, sg = 0.0, sb = 0.0
            for blk in usable where abs(log(blk.r / blk.g) - mr) <= chromaWindow && abs(log(blk.b / blk.g) - mb) <= chromaWindow {
                sr += blk.r
                sg += blk.g
                sb += blk.b
                greyCount += 1
            }
            grey = neutral(sr, sg, sb)
            let bright = usable.sorted { ($0.r + $0.g + $0.b) > ($1.r + $1.g + $1.b) }
            let top = bright.prefix(max(1, bright.count / 50))
            patch = neutral(top.reduce(0) { $0 + $1.r }, top.reduce(0) { $0 + $1.g }, top.reduce(0) { $0 + $1.b })
        }
        let total = bw * bh
        return FrameStatistics(greyWorld: grey, whitePatch: patch, blockSize: b, blockCount: total, usableBlocks: usable.count,
                               greyBlocks: greyCount, clippedFraction: total == 0 ? 0 : Double(clipped) / Double(total))
    }

    private static func median(_ sorted: [Double]) -> Double {
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
