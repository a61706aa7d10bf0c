import TesseraCore

/// Errors of burst grouping, alignment, merging and merged-DNG building. Each case names the
/// frame, file, field or region involved so the message can be shown to an operator as is.
public enum BurstError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A burst manifest could not be parsed or names something that does not exist.
    case invalidManifest(source: String, reason: String)
    /// A parameter is out of range (`field` names it).
    case invalidParameter(field: String, reason: String)
    /// A region handed to a kernel does not cover what the kernel needs (`role` is e.g.
    /// "reference" or "alternate 3"): `needed` and `given` are in frame coordinates.
    case regionTooSmall(role: String, needed: PixelRect, given: PixelRect)
    /// A plane's size disagrees with the rectangle it is said to cover.
    case sizeMismatch(role: String, reason: String)

    /// The human-readable message.
    public var description: String {
        switch self {
        case .invalidManifest(let source, let reason): "burst manifest \(source): \(reason)"
        case .invalidParameter(let field, let reason): "burst parameter '\(field)': \(reason)"
        case .regionTooSmall(let role, let needed, let given):
            "burst \(role) region \(given) does not cover the needed \(needed)"
        case .sizeMismatch(let role, let reason): "burst \(role): \(reason)"
        }
    }
}

/// The Poisson–Gaussian noise model of a raw frame, as the DNG `NoiseProfile` states it: for a
/// signal `x` normalised to 0…1 (`(raw − black) / (white − black)`), the noise variance is
/// `scale · x + offset` (normalised units squared). One model for all colour planes.
public struct NoiseModel: Sendable, Hashable, Codable {
    /// S: shot-noise variance per unit of normalised signal.
    public var scale: Double
    /// O: signal-independent variance (read noise, quantisation), normalised units squared.
    public var offset: Double

    /// A model from its two coefficients (both must be finite and non-negative; see ``validate()``).
    public init(scale: Double, offset: Double) {
        self.scale = scale
        self.offset = offset
    }

    /// The model of a DNG NoiseProfile entry.
    public init(_ profile: DNGNoiseProfile) {
        self.init(scale: profile.scale, offset: profile.offset)
    }

    /// The predicted variance at normalised signal `x` (negative `x` counts as 0).
    public func variance(at x: Double) -> Double { scale * max(0, x) + offset }

    /// Throws ``BurstError/invalidParameter(field:reason:)`` unless both coefficients are finite,
    /// non-negative and not both zero.
    public func validate() throws(BurstError) {
        guard scale.isFinite, offset.isFinite, scale >= 0, offset >= 0, scale + offset > 0 else {
            throw .invalidParameter(field: "noise", reason: "need finite non-negative (scale, offset), not both 0; got (\(scale), \(offset))")
        }
    }
}

/// A whole-pixel displacement of an alternate frame relative to the reference, in full-resolution
/// raw pixels: reference pixel (x, y) shows the scene point the alternate shows at
/// (x + dx, y + dy). (A camera shift `s` of ``SynthShift`` is the displacement `−s`.)
public struct BurstShift: Sendable, Hashable, Codable, CustomStringConvertible {
    public var dx: Int
    public var dy: Int

    /// A displacement of (`dx`, `dy`) raw pixels.
    public init(dx: Int, dy: Int) {
        self.dx = dx
        self.dy = dy
    }

    /// No displacement.
    public static let zero = BurstShift(dx: 0, dy: 0)

    public var description: String { "(\(dx), \(dy))" }
}

/// A window of one frame of a burst: `plane` holds the samples of `rect` (frame coordinates of
/// that frame; parts outside the frame are filled by reflect-101, as ``Developer/window(_:of:)``
/// does). `rect.x` and `rect.y` must be even so the window keeps the frame's CFA phase.
public struct BurstRegion: Sendable, Hashable {
    /// Where the window lies in its frame.
    public var rect: PixelRect
    /// `rect.width × rect.height` raw samples (unscaled, black not subtracted).
    public var plane: RawPlane

    /// Pairs a window with its place (sizes are checked by the kernels, which throw
    /// ``BurstError/sizeMismatch(role:reason:)``).
    public init(rect: PixelRect, plane: RawPlane) {
        self.rect = rect
        self.plane = plane
    }

    /// Cuts `rect` out of a whole frame with reflect-101 borders (``Developer/window(_:of:)``).
    public init(cutting rect: PixelRect, from frame: RawPlane) {
        self.init(rect: rect, plane: Developer.window(rect, of: frame))
    }

    func check(_ role: String) throws(BurstError) {
        guard plane.width == rect.width, plane.height == rect.height else {
            throw .sizeMismatch(role: role, reason: "plane is \(plane.width)x\(plane.height) but its rect is \(rect)")
        }
        guard rect.x & 1 == 0, rect.y & 1 == 0 else {
            throw .sizeMismatch(role: role, reason: "rect \(rect) starts on an odd coordinate (CFA phase would change)")
        }
    }
}

/// Tunables of alignment and merge. Defaults follow Hasinoff et al. 2016 where the paper gives a
/// value. A value type; travels in task parameters (Codable). The same parameters must be used
/// for the geometry (``BurstGeometry``), the alignment and the merge of one burst.
public struct BurstParameters: Sendable, Hashable, Codable {
    /// Search radius per pyramid level, finest (level 0) first, in pixels of that level. Four
    /// levels: level 0 is the 2×2-averaged CFA (half resolution), each next level halves it.
    public var searchRadius: [Int] = [1, 4, 4, 4]
    /// Alignment tile size at the coarse levels 1…3, in pixels of that level (stride half of it).
    /// Level 0 always uses 16-pixel tiles, which are the merge tiles.
    public var coarseTileSize: Int = 8
    /// Robust merge: an alternate sample gets full weight while the 3×3 local-mean difference to
    /// the reference is below `lowThreshold` standard deviations of its expected noise, and weight
    /// 0 above `highThreshold`, linearly in between.
    public var lowThreshold: Double = 1.5
    public var highThreshold: Double = 3.5

    /// The defaults.
    public init() {}

    /// Number of pyramid levels (fixed at 4).
    public static let levels = 4
    /// Merge tile size in Bayer-plane (half-resolution) pixels; tiles overlap by half.
    public static let mergeTile = 16

    /// Throws ``BurstError/invalidParameter(field:reason:)`` naming the first bad field.
    public func validate() throws(BurstError) {
        guard searchRadius.count == Self.levels, searchRadius.allSatisfy({ (0...16).contains($0) }) else {
            throw .invalidParameter(field: "searchRadius", reason: "need \(Self.levels) values in 0...16, got \(searchRadius)")
        }
        guard [4, 8, 16].contains(coarseTileSize) else {
            throw .invalidParameter(field: "coarseTileSize", reason: "must be 4, 8 or 16, got \(coarseTileSize)")
        }
        guard lowThreshold.isFinite, highThreshold.isFinite, lowThreshold >= 0, highThreshold > lowThreshold else {
            throw .invalidParameter(field: "lowThreshold/highThreshold", reason: "need 0 ≤ low < high, got \(lowThreshold), \(highThreshold)")
        }
    }

    /// Tile size of level `k` in pixels of that level.
    func tileSize(_ k: Int) -> Int { k == 0 ? Self.mergeTile : coarseTileSize }
}

/// Per-merge-tile displacements of one alternate frame: the result of
/// ``BurstAligner/align(reference:alternate:coarse:core:parameters:)``.
///
/// Merge tile (i, j) covers Bayer-plane pixels `[8i, 8i+16) × [8j, 8j+16)`, i.e. raw pixels
/// `[16i, 16i+32) × [16j, 16j+32)` of the frame (a grid anchored at the frame origin).
/// Displacements are even raw-pixel counts (they keep the CFA phase).
public struct BurstDisplacementField: Sendable, Hashable, Codable {
    /// Index of the first tile column and row.
    public var firstTileX: Int
    public var firstTileY: Int
    /// Number of tile columns and rows.
    public var columns: Int
    public var rows: Int
    /// Displacement per tile, row-major (`rows × columns`), raw pixels.
    public var dx: [Int32]
    public var dy: [Int32]

    /// A field with every displacement given (sizes must match `columns × rows`).
    public init(firstTileX: Int, firstTileY: Int, columns: Int, rows: Int, dx: [Int32], dy: [Int32]) {
        precondition(columns >= 0 && rows >= 0 && dx.count == columns * rows && dy.count == columns * rows, "displacement field size mismatch")
        self.firstTileX = firstTileX
        self.firstTileY = firstTileY
        self.columns = columns
        self.rows = rows
        self.dx = dx
        self.dy = dy
    }

    /// The displacement of tile (`i`, `j`) (frame tile indices), nil outside the field.
    public func shift(tileX i: Int, tileY j: Int) -> BurstShift? {
        let c = i - firstTileX, r = j - firstTileY
        guard c >= 0, c < columns, r >= 0, r < rows else { return nil }
        return BurstShift(dx: Int(dx[r * columns + c]), dy: Int(dy[r * columns + c]))
    }
}
