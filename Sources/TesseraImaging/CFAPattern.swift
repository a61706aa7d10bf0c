import TesseraCore

/// A colour channel of a Bayer colour filter array.
public enum CFAColor: UInt8, Sendable, Codable, Hashable, CaseIterable {
    case red = 0
    case green = 1
    case blue = 2
}

/// The 2×2 Bayer layout of a sensor, as seen from the top-left pixel of the *active area*.
///
/// `colors` is row-major: `[top-left, top-right, bottom-left, bottom-right]`. Tiles always start
/// on even coordinates (``TilePlanner``), so a tile has its frame's pattern.
public struct CFAPattern: Hashable, Sendable, Codable, CustomStringConvertible {
    public var colors: [CFAColor]

    public init(_ colors: [CFAColor]) {
        precondition(colors.count == 4, "a Bayer pattern has four cells")
        precondition(Set(colors) == Set(CFAColor.allCases), "a Bayer pattern has red, green and blue")
        self.colors = colors
    }

    public static let rggb = CFAPattern([.red, .green, .green, .blue])
    public static let bggr = CFAPattern([.blue, .green, .green, .red])
    public static let grbg = CFAPattern([.green, .red, .blue, .green])
    public static let gbrg = CFAPattern([.green, .blue, .red, .green])

    /// All four Bayer phases.
    public static let all: [CFAPattern] = [.rggb, .bggr, .grbg, .gbrg]

    /// The colour at frame coordinate (`x`, `y`); negative coordinates follow the same period.
    @inlinable
    public func color(x: Int, y: Int) -> CFAColor {
        colors[(y & 1) << 1 | (x & 1)]
    }

    /// The index 0...3 of the 2×2 cell that (`x`, `y`) falls on (used for per-cell black levels).
    @inlinable
    public static func cell(x: Int, y: Int) -> Int { (y & 1) << 1 | (x & 1) }

    /// The pattern seen from a window whose top-left pixel is at (`dx`, `dy`).
    public func shifted(dx: Int, dy: Int) -> CFAPattern {
        CFAPattern([color(x: dx, y: dy), color(x: dx + 1, y: dy), color(x: dx, y: dy + 1), color(x: dx + 1, y: dy + 1)])
    }

    /// The four-letter name, e.g. "RGGB".
    public var description: String {
        String(colors.map { c -> Character in
            switch c {
            case .red: "R"
            case .green: "G"
            case .blue: "B"
            }
        })
    }

    /// Parses "RGGB", "BGGR", "GRBG" or "GBRG" (case-insensitive).
    public init?(name: String) {
        guard let p = Self.all.first(where: { $0.description == name.uppercased() }) else { return nil }
        self = p
    }
}
