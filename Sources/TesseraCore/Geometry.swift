/// Integer pixel geometry shared by the planner, the wire format and the imaging kernels.

/// An axis-aligned rectangle of pixels, `x`/`y` of its top-left corner in frame coordinates.
/// Width and height are never negative; an empty rectangle has zero area.
public struct PixelRect: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "PixelRect size must not be negative")
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// One past the last column.
    public var maxX: Int { x + width }
    /// One past the last row.
    public var maxY: Int { y + height }
    /// Number of pixels covered.
    public var area: Int { width * height }
    public var isEmpty: Bool { width == 0 || height == 0 }

    /// The rectangle grown by `margin` pixels on every side (it may extend past a frame's edge).
    public func expanded(by margin: Int) -> PixelRect {
        PixelRect(x: x - margin, y: y - margin, width: width + 2 * margin, height: height + 2 * margin)
    }

    /// The overlap of two rectangles, empty (at `self`'s origin) when they are disjoint.
    public func intersection(_ other: PixelRect) -> PixelRect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        guard x1 > x0, y1 > y0 else { return PixelRect(x: x, y: y, width: 0, height: 0) }
        return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Whether `other` lies entirely inside `self`.
    public func contains(_ other: PixelRect) -> Bool {
        other.x >= x && other.y >= y && other.maxX <= maxX && other.maxY <= maxY
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// Border handling shared by every kernel that looks past a frame's edge.
public enum BorderIndex {
    /// Reflects `index` into `0..<count` without repeating the edge sample ("reflect-101":
    /// -1 → 1, count → count-2). Reflection about a sample keeps the index's parity, so the
    /// CFA phase of a mirrored Bayer sample is the phase of the sample it copies. For `count == 1`
    /// every index maps to 0.
    @inlinable
    public static func reflect101(_ index: Int, count: Int) -> Int {
        precondition(count > 0, "reflect101 needs a non-empty axis")
        if count == 1 { return 0 }
        var i = index
        let period = 2 * (count - 1)
        i %= period
        if i < 0 { i += period }
        return i < count ? i : period - i
    }
}
