import Foundation
import TesseraCore

/// A 3D colour lookup table read from an Adobe `.cube` file (Cube LUT Specification 1.0), with
/// tetrahedral interpolation.
///
/// Accepted syntax: LF, CRLF or CR line ends; `#` comment lines (and trailing `# …` comments), blank lines, any whitespace;
/// keywords before the data: `TITLE "text"`, `LUT_3D_SIZE N` (2…256, required),
/// `DOMAIN_MIN r g b` / `DOMAIN_MAX r g b` (default 0 0 0 / 1 1 1; min < max per channel), and
/// Resolve's `LUT_3D_INPUT_RANGE min max` (same as both domain keywords). Then exactly N³ lines of
/// three numbers, red varying fastest, then green, then blue. 1D LUTs (`LUT_1D_SIZE`,
/// `LUT_1D_INPUT_RANGE`) are refused: a 1D curve is a different operation (per-channel curves),
/// convert it to a 3D LUT in the grading tool. Every error names the source and line.
public struct CubeLUT: Sendable, Hashable {
    /// The `TITLE`, if any.
    public let title: String?
    /// Lattice points per axis (N).
    public let size: Int
    /// Input value mapped to lattice index 0, per channel (r, g, b).
    public let domainMin: [Float]
    /// Input value mapped to lattice index N − 1, per channel.
    public let domainMax: [Float]
    /// N³ output RGB triples, index `((b · N + g) · N + r) · 3 + channel`.
    public let table: [Float]

    /// A LUT from its parts; validates sizes, finiteness and the domain.
    public init(title: String? = nil, size: Int, domainMin: [Float] = [0, 0, 0], domainMax: [Float] = [1, 1, 1], table: [Float]) throws {
        let src = title ?? "LUT"
        guard (2...256).contains(size) else {
            throw StageError.invalidCube(source: src, line: 0, reason: "LUT_3D_SIZE \(size) is outside 2…256")
        }
        guard domainMin.count == 3, domainMax.count == 3 else {
            throw StageError.invalidCube(source: src, line: 0, reason: "DOMAIN_MIN and DOMAIN_MAX need 3 values each")
        }
        for c in 0..<3 where !(domainMin[c].isFinite && domainMax[c].isFinite && domainMin[c] < domainMax[c]) {
            throw StageError.invalidCube(source: src, line: 0,
                                         reason: "DOMAIN_MIN (\(domainMin[c])) must be below DOMAIN_MAX (\(domainMax[c])) for channel \(c)")
        }
        guard table.count == size * size * size * 3 else {
            throw StageError.invalidCube(source: src, line: 0, reason: "expected \(size * size * size) RGB entries, got \(table.count / 3)")
        }
        guard table.allSatisfy(\.isFinite) else {
            throw StageError.invalidCube(source: src, line: 0, reason: "table holds non-finite values")
        }
        self.title = title
        self.size = size
        self.domainMin = domainMin
        self.domainMax = domainMax
        self.table = table
        let last = Float(size - 1)
        scale = (0..<3).map { last / (domainMax[$0] - domainMin[$0]) }
    }

    /// Lattice steps per input unit, per channel: (N − 1) / (max − min).
    private let scale: [Float]

    /// The identity LUT of `size` points per axis over [0, 1].
    public static func identity(size: Int) throws -> CubeLUT {
        var t: [Float] = []
        t.reserveCapacity(size * size * size * 3)
        let d = Float(size - 1)
        for b in 0..<size {
            for g in 0..<size {
                for r in 0..<size { t += [Float(r) / d, Float(g) / d, Float(b) / d] }
            }
        }
        return try CubeLUT(title: "identity", size: size, table: t)
    }

    /// Reads and parses the `.cube` file at `path`; errors name the path and line.
    public init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw StageError.unreadableCube(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw StageError.unreadableCube(path: path, reason: "not UTF-8 text")
        }
        self = try CubeLUT.parse(text, source: path)
    }

    /// Parses `.cube` text; `source` (a path or name) is used in error messages.
    public static func parse(_ text: String, source: String) throws -> CubeLUT {
        var title: String?
        var size: Int?
        var domainMin: [Float]?, domainMax: [Float]?
        var table: [Float] = []
        var dataStarted = false
        var lineNumber = 0
        var lastLine = 0
        func fail(_ reason: String) -> StageError { .invalidCube(source: source, line: lineNumber, reason: reason) }
        func numbers(_ fields: ArraySlice<Substring>, _ what: String) throws -> [Float] {
            try fields.map { field in
                guard let v = Float(field), v.isFinite else { throw fail("\(what): '\(field)' is not a finite number") }
                return v
            }
        }

        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            let trimmed = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            lastLine = lineNumber
            if trimmed.hasPrefix("TITLE") {
                guard !dataStarted else { throw fail("TITLE after the table data") }
                guard title == nil else { throw fail("duplicate TITLE") }
                let rest = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard rest.count >= 2, rest.first == "\"", rest.last == "\"" else {
                    throw fail("TITLE needs a quoted string, e.g. TITLE \"My look\"")
                }
                title = String(rest.dropFirst().dropLast())
                continue
            }
            var content = trimmed
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let head = fields.first else { continue }
            if let first = head.first, first.isLetter {
                guard !dataStarted else { throw fail("keyword \(head) after the table data (keywords must come first)") }
                switch head {
                case "LUT_3D_SIZE":
                    guard size == nil else { throw fail("duplicate LUT_3D_SIZE") }
                    guard fields.count == 2, let n = Int(fields[1]) else { throw fail("LUT_3D_SIZE needs one integer") }
                    guard (2...256).contains(n) else { throw fail("LUT_3D_SIZE \(n) is outside 2…256") }
                    size = n
                case "DOMAIN_MIN", "DOMAIN_MAX":
                    guard fields.count == 4 else { throw fail("\(head) needs 3 numbers, got \(fields.count - 1)") }
                    let v = try numbers(fields.dropFirst(), String(head))
                    if head == "DOMAIN_MIN" {
                        guard domainMin == nil else { throw fail("duplicate DOMAIN_MIN") }
                        domainMin = v
                    } else {
                        guard domainMax == nil else { throw fail("duplicate DOMAIN_MAX") }
                        domainMax = v
                    }
                case "LUT_3D_INPUT_RANGE":
                    guard domainMin == nil, domainMax == nil else { throw fail("LUT_3D_INPUT_RANGE given together with DOMAIN_MIN/MAX") }
                    guard fields.count == 3 else { throw fail("LUT_3D_INPUT_RANGE needs 2 numbers, got \(fields.count - 1)") }
                    let v = try numbers(fields.dropFirst(), "LUT_3D_INPUT_RANGE")
                    domainMin = [v[0], v[0], v[0]]
                    domainMax = [v[1], v[1], v[1]]
                case "LUT_1D_SIZE", "LUT_1D_INPUT_RANGE":
                    throw fail("\(head): 1D LUTs are not supported (only 3D looks); convert it to a 3D LUT")
                default:
                    throw fail("unknown keyword '\(head)'")
                }
                continue
            }
            // A table line.
            guard let n = size else { throw fail("table data before LUT_3D_SIZE") }
            if !dataStarted {
                dataStarted = true
                let lo = domainMin ?? [0, 0, 0], hi = domainMax ?? [1, 1, 1]
                for c in 0..<3 where !(lo[c] < hi[c]) {
                    throw fail("DOMAIN_MIN \(lo[c]) is not below DOMAIN_MAX \(hi[c]) for channel \(c)")
                }
                table.reserveCapacity(n * n * n * 3)
            }
            guard fields.count == 3 else { throw fail("a table line needs 3 numbers, got \(fields.count)") }
            guard table.count < n * n * n * 3 else { throw fail("more than \(n * n * n) table lines (LUT_3D_SIZE \(n))") }
            for field in fields {
                guard let v = Float(field), v.isFinite else { throw fail("'\(field)' is not a finite number") }
                table.append(v)
            }
        }
        guard let n = size else {
            throw StageError.invalidCube(source: source, line: 0, reason: "no LUT_3D_SIZE keyword")
        }
        guard table.count == n * n * n * 3 else {
            throw StageError.invalidCube(source: source, line: lastLine,
                                         reason: "table ends after \(table.count / 3) of \(n * n * n) lines (LUT_3D_SIZE \(n))")
        }
        return try CubeLUT(title: title, size: n, domainMin: domainMin ?? [0, 0, 0], domainMax: domainMax ?? [1, 1, 1], table: table)
    }

    /// Tetrahedral interpolation (Kasson, Nin, Plouffe & Hafner, "Performing color space
    /// conversions with three-dimensional linear interpolation", J. Electronic Imaging 4(3), 1995):
    /// the lattice cube holding the input is split into six tetrahedra along its main diagonal by
    /// the order of the fractional coordinates; the result is exact at lattice points and linear
    /// inside each tetrahedron. Inputs are clamped to [domainMin, domainMax].
    @inline(__always)
    public func lookup(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let lo = (domainMin[0], domainMin[1], domainMin[2]), k = (scale[0], scale[1], scale[2])
        return table.withUnsafeBufferPointer { lookup(r, g, b, table: $0.baseAddress!, lo: lo, k: k) }
    }

    /// The domain origin and lattice scale as scalars, for hoisting out of pixel loops.
    var lattice: (lo: (Float, Float, Float), k: (Float, Float, Float)) {
        ((domainMin[0], domainMin[1], domainMin[2]), (scale[0], scale[1], scale[2]))
    }

    @inline(__always)
    func lookup(_ r: Float, _ g: Float, _ b: Float, table t: UnsafePointer<Float>,
                lo: (Float, Float, Float), k: (Float, Float, Float)) -> (Float, Float, Float) {
        let n = size, last = Float(n - 1)
        @inline(__always) func coord(_ v: Float, _ lo: Float, _ k: Float) -> (Int, Float) {
            let x = (v - lo) * k
            let xc = x.isNaN ? 0 : min(max(x, 0), last)
            let i = min(Int(xc), n - 2)
            return (i, xc - Float(i))
        }
        let (ir, fr) = coord(r, lo.0, k.0)
        let (ig, fg) = coord(g, lo.1, k.1)
        let (ib, fb) = coord(b, lo.2, k.2)
        let sr = 3, sg = 3 * n, sb = 3 * n * n
        let p000 = t + ((ib * n + ig) * n + ir) * 3
        let p111 = p000 + sr + sg + sb
        // The two intermediate vertices and the weights, by the order of fr, fg, fb.
        let p1: UnsafePointer<Float>, p2: UnsafePointer<Float>
        let w0: Float, w1: Float, w2: Float, w3: Float
        if fr > fg {
            if fg > fb { // r > g > b
                p1 = p000 + sr; p2 = p000 + sr + sg
                w0 = 1 - fr; w1 = fr - fg; w2 = fg - fb; w3 = fb
            } else if fr > fb { // r > b ≥ g
                p1 = p000 + sr; p2 = p000 + sr + sb
                w0 = 1 - fr; w1 = fr - fb; w2 = fb - fg; w3 = fg
            } else { // b ≥ r > g
                p1 = p000 + sb; p2 = p000 + sr + sb
                w0 = 1 - fb; w1 = fb - fr; w2 = fr - fg; w3 = fg
            }
        } else {
            if fb > fg { // b > g ≥ r
                p1 = p000 + sb; p2 = p000 + sg + sb
                w0 = 1 - fb; w1 = fb - fg; w2 = fg - fr; w3 = fr
            } else if fb > fr { // g ≥ b > r
                p1 = p000 + sg; p2 = p000 + sg + sb
                w0 = 1 - fg; w1 = fg - fb; w2 = fb - fr; w3 = fr
            } else { // g ≥ r ≥ b
                p1 = p000 + sg; p2 = p000 + sr + sg
                w0 = 1 - fg; w1 = fg - fr; w2 = fr - fb; w3 = fb
            }
        }
        return (w0 * p000[0] + w1 * p1[0] + w2 * p2[0] + w3 * p111[0],
                w0 * p000[1] + w1 * p1[1] + w2 * p2[1] + w3 * p111[1],
                w0 * p000[2] + w1 * p1[2] + w2 * p2[2] + w3 * p111[2])
    }
}

/// Applies a ``CubeLUT`` as a look. Input: **display-referred linear** light (after the tone
/// curve / filmic stage, values nominally in [0, 1]); output: display-referred linear light.
///
/// Placement: `.cube` looks are authored in grading tools on display-encoded values (sRGB/Rec.709
/// code values in [0, 1]), so this stage sits **after the tone curve and before the output
/// encoding**: it encodes with `encoding` (the sRGB transfer curve by default), looks the
/// encoded value up (clamped to the LUT's domain), and decodes the result back to linear so the
/// pipeline's output encoding reproduces the LUT's output code values exactly (up to Float
/// rounding). The transfer curves use 65537-entry tables on [0, 1] (error < 1e-7; exact
/// formulas outside [0, 1]). Use `.linear` for LUTs built on linear values. Pointwise.
public struct LUTStage: PointwiseStage, Hashable {
    /// The transfer curve the LUT's input and output values are expressed in.
    public enum Encoding: String, Sendable, Hashable, Codable {
        /// IEC 61966-2-1 sRGB transfer curve (the usual case for looks).
        case srgb
        /// Values are used as they are.
        case linear
    }

    /// The table.
    public let lut: CubeLUT
    /// The encoding the LUT works in.
    public let encoding: Encoding

    /// Wraps a parsed LUT (already validated by ``CubeLUT``).
    public init(lut: CubeLUT, encoding: Encoding = .srgb) {
        self.lut = lut
        self.encoding = encoding
    }

    public var name: String { "lut" }

    public func transform(_ pixels: UnsafeMutableBufferPointer<Float>) {
        let srgb = encoding == .srgb
        let (lo, k) = lut.lattice
        lut.table.withUnsafeBufferPointer { tb in
            SRGBTransfer.encodeTable.withUnsafeBufferPointer { encBuffer in
                SRGBTransfer.decodeTable.withUnsafeBufferPointer { decBuffer in
                    let t = tb.baseAddress!, enc = encBuffer.baseAddress!, dec = decBuffer.baseAddress!
                    var i = 0
                    while i + 2 < pixels.count {
                        var r = pixels[i], g = pixels[i + 1], b = pixels[i + 2]
                        if srgb {
                            r = SRGBTransfer.viaTable(r, enc, exact: SRGBTransfer.encode)
                            g = SRGBTransfer.viaTable(g, enc, exact: SRGBTransfer.encode)
                            b = SRGBTransfer.viaTable(b, enc, exact: SRGBTransfer.encode)
                        }
                        var o = lut.lookup(r, g, b, table: t, lo: lo, k: k)
                        if srgb {
                            o = (SRGBTransfer.viaTable(o.0, dec, exact: SRGBTransfer.decode),
                                 SRGBTransfer.viaTable(o.1, dec, exact: SRGBTransfer.decode),
                                 SRGBTransfer.viaTable(o.2, dec, exact: SRGBTransfer.decode))
                        }
                        pixels[i] = o.0
                        pixels[i + 1] = o.1
                        pixels[i + 2] = o.2
                        i += 3
                    }
                }
            }
        }
    }
}
