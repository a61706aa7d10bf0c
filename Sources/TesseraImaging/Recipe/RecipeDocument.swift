import Foundation
import Yams

/// A parsed recipe document: a tree of scalars, mappings and sequences, each node remembering
/// where it was in the source text (1-based line and column), so validation errors can point at
/// the offending key. Built from YAML (which includes JSON) by ``RecipeDocument/parse(_:source:)``
/// or from any `Decoder` (task documents travelling as JSON; no positions there).
struct RecipeNode: Sendable {
    /// A source position, 1-based.
    struct Location: Sendable, Hashable {
        var line: Int
        var column: Int
    }

    /// One key of a mapping, in source order.
    struct Entry: Sendable {
        var key: String
        var keyLocation: Location?
        var node: RecipeNode
    }

    enum Value: Sendable {
        case null
        case bool(Bool)
        case integer(Int64)
        case number(Double)
        /// `raw` is the text as written; for strings it is the string itself.
        case string(String)
        case mapping([Entry])
        case sequence([RecipeNode])
    }

    var value: Value
    /// The scalar's text as written (plain YAML scalars keep it even when they resolve to a
    /// number or boolean, so `aspect: 3:2` or `subsampling: 444` can be read as text).
    var text: String?
    var location: Location?

    /// A short description of the node's type, for "expected X, found Y" messages.
    var typeName: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// The node as written, for messages (scalars only; containers by type).
    var shown: String {
        switch value {
        case .string(let s): "\"\(s)\""
        case .mapping, .sequence: typeName
        default: text ?? typeName
        }
    }
}

extension RecipeNode: Decodable {
    /// Reads any JSON-like value from a `Decoder` (no source positions). Mapping keys are sorted
    /// so that error messages do not depend on the decoder's dictionary order.
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        location = nil
        if c.decodeNil() {
            value = .null
            text = "null"
        } else if let b = try? c.decode(Bool.self) {
            value = .bool(b)
            text = b ? "true" : "false"
        } else if let i = try? c.decode(Int64.self) {
            value = .integer(i)
            text = String(i)
        } else if let d = try? c.decode(Double.self) {
            value = .number(d)
            text = d.description
        } else if let s = try? c.decode(String.self) {
            value = .string(s)
            text = s
        } else if let m = try? c.decode([String: RecipeNode].self) {
            value = .mapping(m.keys.sorted().map { Entry(key: $0, keyLocation: nil, node: m[$0]!) })
            text = nil
        } else {
            value = .sequence(try c.decode([RecipeNode].self))
            text = nil
        }
    }
}

/// Parsing recipe text into ``RecipeNode`` trees with positions.
enum RecipeDocument {
    /// Parses YAML (or JSON, a YAML subset) text. `source` names the text in errors, which read
    /// `source:line:column`. Duplicate keys and non-scalar keys are refused.
    static func parse(_ text: String, source: String) throws(ImagingError) -> RecipeNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw describe(error, source: source)
        } catch {
            throw .invalidRecipe(source: source, key: "", reason: "not valid YAML: \(error)")
        }
        guard let root else { throw .invalidRecipe(source: source, key: "", reason: "the document is empty") }
        return try convert(root, path: "", source: source)
    }

    static func location(_ mark: Mark?) -> RecipeNode.Location? {
        mark.map { RecipeNode.Location(line: $0.line, column: $0.column) }
    }

    /// `source:line:column` when the position is known, else `source`.
    static func place(_ source: String, _ location: RecipeNode.Location?) -> String {
        guard let location else { return source }
        return "\(source):\(location.line):\(location.column)"
    }

    static func convert(_ node: Node, path: String, source: String) throws(ImagingError) -> RecipeNode {
        let loc = location(node.mark)
        switch node {
        case .scalar(let scalar):
            let tag = Resolver.default.resolveTag(of: node).rawValue
            let quoted = scalar.style != .plain && scalar.style != .any
            if quoted || tag == Tag.Name.str.rawValue {
                return RecipeNode(value: .string(scalar.string), text: scalar.string, location: loc)
            }
            switch tag {
            case Tag.Name.null.rawValue:
                return RecipeNode(value: .null, text: scalar.string, location: loc)
            case Tag.Name.bool.rawValue:
                if let b = node.bool { return RecipeNode(value: .bool(b), text: scalar.string, location: loc) }
            case Tag.Name.int.rawValue:
                if let i = node.int { return RecipeNode(value: .integer(Int64(i)), text: scalar.string, location: loc) }
            case Tag.Name.float.rawValue:
                if let d = node.float {
                    guard d.isFinite else {
                        throw .invalidRecipe(source: place(source, loc), key: path, reason: "\(scalar.string) is not a finite number")
                    }
                    return RecipeNode(value: .number(d), text: scalar.string, location: loc)
                }
            default: break
            }
            return RecipeNode(value: .string(scalar.string), text: scalar.string, location: loc)
        case .mapping(let mapping):
            var entries: [RecipeNode.Entry] = []
            var seen: [String: RecipeNode.Location?] = [:]
            for (keyNode, valueNode) in mapping {
                let keyLoc = location(keyNode.mark)
                guard case .scalar(let keyScalar) = keyNode else {
                    throw .invalidRecipe(source: place(source, keyLoc), key: path, reason: "mapping keys must be plain names")
                }
                let key = keyScalar.string
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                if let first = seen[key] {
                    let earlier = first.map { " (first at line \($0.line))" } ?? ""
                    throw .invalidRecipe(source: place(source, keyLoc), key: keyPath, reason: "duplicate key\(earlier)")
                }
                seen[key] = keyLoc
                entries.append(.init(key: key, keyLocation: keyLoc, node: try convert(valueNode, path: keyPath, source: source)))
            }
            return RecipeNode(value: .mapping(entries), text: nil, location: loc)
        case .sequence(let sequence):
            var items: [RecipeNode] = []
            for (i, item) in sequence.enumerated() {
                items.append(try convert(item, path: "\(path)[\(i)]", source: source))
            }
            return RecipeNode(value: .sequence(items), text: nil, location: loc)
        }
    }

    static func describe(_ error: YamlError, source: String) -> ImagingError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text))" } ?? ""
            return .invalidRecipe(source: place(source, location(mark)), key: "", reason: "not valid YAML: \(problem)\(ctx)")
        case .reader(let problem, let offset, _, _):
            return .invalidRecipe(source: source, key: "", reason: "unreadable text: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return .invalidRecipe(source: source, key: "", reason: "not valid YAML: \(error)")
        }
    }
}

/// Reads one mapping of a recipe with key-path aware, position-aware errors. Every accessor
/// records the key as known; ``finish()`` rejects the keys nobody asked for.
struct RecipeReader {
    let source: String
    let path: String
    let node: RecipeNode
    let entries: [RecipeNode.Entry]
    private var known: [String] = []

    /// Reads `node` as a mapping at `path`; any other type is an error naming `path`.
    init(_ node: RecipeNode, path: String, source: String) throws(ImagingError) {
        guard case .mapping(let entries) = node.value else {
            throw .invalidRecipe(source: RecipeDocument.place(source, node.location), key: path.isEmpty ? "(document)" : path,
                                 reason: "expected a mapping, found \(node.typeName)")
        }
        self.source = source
        self.path = path
        self.node = node
        self.entries = entries
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key` (its value's position when present, else the mapping's).
    func error(_ key: String, _ reason: String) -> ImagingError {
        let at = entries.first { $0.key == key }?.node.location ?? node.location
        return .invalidRecipe(source: RecipeDocument.place(source, at), key: keyPath(key), reason: reason)
    }

    /// The raw node under `key` (nil when absent or explicitly null); marks `key` known.
    mutating func node(_ key: String) -> RecipeNode? {
        known.append(key)
        guard let n = entries.first(where: { $0.key == key })?.node else { return nil }
        if case .null = n.value { return nil }
        return n
    }

    /// Whether `key` is present (even as null), without marking it known.
    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The keys present in the mapping, in source order.
    var keys: [String] { entries.map(\.key) }

    /// A sub-mapping reader for `key`, nil when absent.
    mutating func mapping(_ key: String) throws(ImagingError) -> RecipeReader? {
        guard let n = node(key) else { return nil }
        return try RecipeReader(n, path: keyPath(key), source: source)
    }

    mutating func number(_ key: String, default value: Double, range: ClosedRange<Double>) throws(ImagingError) -> Double {
        guard let n = node(key) else { return value }
        let d: Double
        switch n.value {
        case .integer(let i): d = Double(i)
        case .number(let x): d = x
        default: throw error(key, "expected a number, found \(n.shown)")
        }
        guard d.isFinite, range.contains(d) else { throw error(key, "\(n.text ?? d.description) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    mutating func integer(_ key: String, default value: Int?, range: ClosedRange<Int>) throws(ImagingError) -> Int? {
        guard let n = node(key) else { return value }
        let i: Int64
        switch n.value {
        case .integer(let x): i = x
        case .number(let x) where x == x.rounded() && abs(x) < 1e15: i = Int64(x)
        default: throw error(key, "expected an integer, found \(n.shown)")
        }
        guard i >= Int64(range.lowerBound), i <= Int64(range.upperBound) else {
            throw error(key, "\(i) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }

    /// A scalar read as text: strings, and plain YAML scalars as written (so `444` or `3:2`
    /// work unquoted). Booleans and null are not text.
    mutating func text(_ key: String) throws(ImagingError) -> String? {
        guard let n = node(key) else { return nil }
        switch n.value {
        case .string(let s): return s
        case .integer, .number: return n.text
        default: throw error(key, "expected a string, found \(n.shown)")
        }
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, default value: E) throws(ImagingError) -> E where E.RawValue == String {
        guard let raw = try text(key) else { return value }
        guard let v = E(rawValue: raw) else {
            throw error(key, "\"\(raw)\" is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    /// Throws for the first key no accessor asked for, at the key's position.
    func finish() throws(ImagingError) {
        for entry in entries where !known.contains(entry.key) {
            let options = Set(known).sorted().joined(separator: ", ")
            throw .invalidRecipe(source: RecipeDocument.place(source, entry.keyLocation ?? entry.node.location), key: keyPath(entry.key),
                                 reason: "unknown key (known keys here: \(options))")
        }
    }
}
