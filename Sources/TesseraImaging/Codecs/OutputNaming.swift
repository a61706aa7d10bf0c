/// The per-frame values a naming template can use. A plain value; build it with
/// ``init(stem:sequence:recipe:info:)`` from a decoded frame or memberwise in tests.
public struct NamingFields: Sendable, Hashable {
    /// The input file's name without its extension (made unique per job by the scanner).
    public var stem: String
    /// The frame's 1-based position in its job (input files sorted by name).
    public var sequence: Int
    /// The recipe's name.
    public var recipe: String
    /// The recipe's hash (16 hex digits; `{hash}` uses the first 8).
    public var recipeHash: String
    /// Camera maker, model and lens (empty when unknown).
    public var make: String
    public var model: String
    public var lens: String
    /// ISO speed, 0 when unknown.
    public var iso: Double
    /// Capture time as EXIF `YYYY:MM:DD HH:MM:SS`, nil when unknown.
    public var dateTimeOriginal: String?

    /// Fields with the given values.
    public init(stem: String, sequence: Int = 1, recipe: String = "", recipeHash: String = "", make: String = "",
                model: String = "", lens: String = "", iso: Double = 0, dateTimeOriginal: String? = nil) {
        self.stem = stem
        self.sequence = sequence
        self.recipe = recipe
        self.recipeHash = recipeHash
        self.make = make
        self.model = model
        self.lens = lens
        self.iso = iso
        self.dateTimeOriginal = dateTimeOriginal
    }

    /// Fields of a decoded frame developed with `recipe`.
    public init(stem: String, sequence: Int, recipe: Recipe, info: RawFrameInfo) {
        self.init(stem: stem, sequence: sequence, recipe: recipe.name, recipeHash: recipe.hash, make: info.make,
                  model: info.model, lens: info.lens, iso: info.iso, dateTimeOriginal: info.dateTimeOriginal)
    }
}

/// Output file names from templates such as `{date:yyyyMMdd}_{camera}_{seq:04}`.
///
/// Placeholders (``placeholders``):
/// - `{stem}` the input name without extension; `{seq}` / `{seq:04}` the sequence number,
///   zero-padded to the given width (1…12);
/// - `{camera}` make and model (the model alone when it already starts with the make),
///   `{make}`, `{model}`, `{lens}`, `{iso}` (rounded integer);
/// - `{date}` the capture date as `yyyyMMdd`, or `{date:FORMAT}` with the tokens `yyyy yy MM dd
///   HH mm ss` (other characters are copied; they must be safe in file names);
/// - `{recipe}` the recipe name, `{hash}` the first 8 hex digits of the recipe hash;
/// - `{{` and `}}` are literal braces.
/// Unknown values render as `unknown` (`undated` for dates).
///
/// Safety: the result is a single file-name component. Substituted values have `/`, `\`,
/// control characters, whitespace and the characters `: * ? " < > |` replaced by `_`; a
/// template whose literal text contains `/`, `\` or control characters is refused by
/// ``validate(template:)``; a result starting with `.` (hidden files, `..`) gets a leading `_`;
/// it is cut to ``maxLength`` UTF-8 bytes. So no metadata can make a name escape the output
/// directory. Pure functions; thread-safe.
public enum OutputNaming {
    /// The placeholder names a template may use.
    public static let placeholders = ["camera", "date", "hash", "iso", "lens", "make", "model", "recipe", "seq", "stem"]
    /// Longest rendered name in UTF-8 bytes (the extension is added by the caller).
    public static let maxLength = 200

    enum Piece: Equatable {
        case literal(String)
        case field(name: String, spec: String?)
    }

    /// Checks `template` without rendering it. Throws ``ImagingError/invalidSettings(field:reason:)``
    /// with field `naming` and the reason (unknown placeholder, bad spec, unsafe literal, …).
    public static func validate(template: String) throws(ImagingError) {
        if let problem = problem(in: template) { throw .invalidSettings(field: "naming", reason: problem) }
    }

    /// Renders `template` for one frame into a safe file name (without extension).
    /// Throws as ``validate(template:)`` for a bad template.
    public static func render(template: String, frame: NamingFields) throws(ImagingError) -> String {
        let pieces: [Piece]
        switch parse(template) {
        case .success(let p): pieces = p
        case .failure(let problem): throw .invalidSettings(field: "naming", reason: problem.reason)
        }
        var name = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): name += text
            case .field(let field, let spec): name += sanitize(value(field, spec: spec, frame: frame))
            }
        }
        if name.hasPrefix(".") { name = "_" + name }
        if name.isEmpty { name = "_" }
        if name.utf8.count > maxLength {
            var cut = ""
            for ch in name {
                if cut.utf8.count + String(ch).utf8.count > maxLength { break }
                cut.append(ch)
            }
            name = cut
        }
        return name
    }

    /// `value` made safe as part of a file name (see the type's documentation).
    public static func sanitize(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for s in value.unicodeScalars {
            if unsafeScalar(s) || s.properties.isWhitespace || ":*?\"<>|".unicodeScalars.contains(s) {
                out.append("_")
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    static func unsafeScalar(_ s: Unicode.Scalar) -> Bool {
        s == "/" || s == "\\" || s.value < 0x20 || s.value == 0x7F || s.properties.generalCategory == .control
            || s.properties.generalCategory == .lineSeparator || s.properties.generalCategory == .paragraphSeparator
    }

    struct Problem: Error { var reason: String }

    static func problem(in template: String) -> String? {
        if case .failure(let p) = parse(template) { return p.reason }
        return nil
    }

    static func parse(_ template: String) -> Result<[Piece], Problem> {
        guard !template.isEmpty else { return .failure(Problem(reason: "the template is empty")) }
        guard template.utf8.count <= maxLength else { return .failure(Problem(reason: "the template is longer than \(maxLength) bytes")) }
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(template)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count, chars[i + 1] == "{" { literal.append("{"); i += 2; continue }
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    return .failure(Problem(reason: "unclosed '{' at character \(i + 1)"))
                }
                let body = String(chars[(i + 1)..<close])
                let parts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                let spec = parts.count > 1 ? String(parts[1]) : nil
                if let problem = checkField(name, spec: spec) { return .failure(Problem(reason: problem)) }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.field(name: name, spec: spec))
                i = close + 1
            } else if c == "}" {
                guard i + 1 < chars.count, chars[i + 1] == "}" else {
                    return .failure(Problem(reason: "unmatched '}' at character \(i + 1) (write '}}' for a brace)"))
                }
                literal.append("}")
                i += 2
            } else {
                if c.unicodeScalars.contains(where: unsafeScalar) {
                    return .failure(Problem(reason: "the template may not contain '/', '\\' or control characters (names stay inside the output directory)"))
                }
                literal.append(c)
                i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        guard pieces.contains(where: { if case .field = $0 { true } else { false } }) else {
            return .failure(Problem(reason: "the template has no placeholder, so every frame would get the same name (use {stem} or {seq})"))
        }
        return .success(pieces)
    }

    static func checkField(_ name: String, spec: String?) -> String? {
        guard placeholders.contains(name) else {
            return "unknown placeholder {\(name)} (known: \(placeholders.map { "{\($0)}" }.joined(separator: " ")))"
        }
        guard let spec else { return nil }
        switch name {
        case "seq":
            guard let width = Int(spec), spec.allSatisfy(\.isASCII), (1...12).contains(width) else {
                return "{seq:\(spec)}: the width must be a number 1…12, e.g. {seq:04}"
            }
            return nil
        case "date":
            guard !spec.isEmpty, !spec.unicodeScalars.contains(where: unsafeScalar),
                spec.unicodeScalars.allSatisfy({ !":*?\"<>|".unicodeScalars.contains($0) })
            else { return "{date:\(spec)}: the format must be non-empty and file-name safe (tokens yyyy yy MM dd HH mm ss)" }
            return nil
        default:
            return "{\(name)} takes no format (found ':\(spec)')"
        }
    }

    static func value(_ name: String, spec: String?, frame: NamingFields) -> String {
        func known(_ s: String) -> String { s.isEmpty ? "unknown" : s }
        switch name {
        case "stem": return known(frame.stem)
        case "seq":
            let digits = String(frame.sequence)
            let width = spec.flatMap { Int($0) } ?? 0
            let negative = frame.sequence < 0
            let body = negative ? String(digits.dropFirst()) : digits
            return (negative ? "-" : "") + String(repeating: "0", count: max(0, width - body.count - (negative ? 1 : 0))) + body
        case "camera":
            let make = frame.make.trimmingSpaces, model = frame.model.trimmingSpaces
            if make.isEmpty { return known(model) }
            if model.isEmpty { return make }
            return model.lowercased().hasPrefix(make.lowercased()) ? model : "\(make) \(model)"
        case "make": return known(frame.make.trimmingSpaces)
        case "model": return known(frame.model.trimmingSpaces)
        case "lens": return known(frame.lens.trimmingSpaces)
        case "iso": return frame.iso > 0 && frame.iso.isFinite ? String(Int(frame.iso.rounded())) : "unknown"
        case "recipe": return known(frame.recipe)
        case "hash": return known(String(frame.recipeHash.prefix(8)))
        case "date": return formatDate(frame.dateTimeOriginal, format: spec ?? "yyyyMMdd")
        default: return "unknown"
        }
    }

    /// Formats an EXIF `YYYY:MM:DD HH:MM:SS` string with the tokens `yyyy yy MM dd HH mm ss`.
    static func formatDate(_ exif: String?, format: String) -> String {
        guard let exif, exif.utf8.count >= 19 else { return "undated" }
        let u = Array(exif.utf8)
        func field(_ start: Int, _ count: Int) -> String? {
            let s = u[start..<start + count]
            guard s.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return String(decoding: s, as: UTF8.self)
        }
        guard let year = field(0, 4), let month = field(5, 2), let day = field(8, 2), let hour = field(11, 2),
            let minute = field(14, 2), let second = field(17, 2), year != "0000"
        else { return "undated" }
        let tokens: [(String, String)] = [("yyyy", year), ("yy", String(year.suffix(2))), ("MM", month), ("dd", day),
                                          ("HH", hour), ("mm", minute), ("ss", second)]
        var out = ""
        var rest = Substring(format)
        outer: while !rest.isEmpty {
            for (token, value) in tokens where rest.hasPrefix(token) {
                out += value
                rest = rest.dropFirst(token.count)
                continue outer
            }
            out.append(rest.removeFirst())
        }
        return out
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
