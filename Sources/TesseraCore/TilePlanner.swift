/// Splitting a frame into tiles for distribution.
///
/// A tile's *core* is the part of the output it owns; cores partition the frame exactly. The
/// *input* a stage needs is the core grown by the pipeline's halo; where that reaches past the
/// frame's edge the sampler reflects (``BorderIndex/reflect101(_:count:)``), which is what a
/// whole-frame run sees too — so tiled output is bit-identical to whole-frame output.
public struct TilePlanner: Sendable, Hashable {
    /// Tile edges fall on multiples of this (2 for a Bayer CFA) so every tile keeps the frame's CFA phase.
    public var alignment: Int
    /// Requested tile edge in pixels; rounded down to `alignment`, never below `alignment`.
    public var tileSize: Int

    public init(tileSize: Int, alignment: Int = 2) {
        precondition(alignment > 0, "alignment must be positive")
        precondition(tileSize > 0, "tile size must be positive")
        self.alignment = alignment
        self.tileSize = max(alignment, tileSize - tileSize % alignment)
    }

    /// The tile cores of a `width` × `height` frame in row-major order. A frame no larger than
    /// one tile in both directions is a single tile.
    public func cores(width: Int, height: Int) -> [PixelRect] {
        precondition(width > 0 && height > 0, "frame must not be empty")
        let xs = Self.splits(length: width, step: tileSize)
        let ys = Self.splits(length: height, step: tileSize)
        var rects: [PixelRect] = []
        rects.reserveCapacity(xs.count * ys.count)
        for (y, h) in ys {
            for (x, w) in xs { rects.append(PixelRect(x: x, y: y, width: w, height: h)) }
        }
        return rects
    }

    /// Rounds a stage's halo up to the alignment so a tile's input also keeps the CFA phase.
    public func alignedHalo(_ halo: Int) -> Int {
        precondition(halo >= 0, "halo must not be negative")
        return (halo + alignment - 1) / alignment * alignment
    }

    private static func splits(length: Int, step: Int) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var start = 0
        while start < length {
            let size = min(step, length - start)
            out.append((start, size))
            start += size
        }
        return out
    }
}
