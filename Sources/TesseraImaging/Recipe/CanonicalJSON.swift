import Foundation

/// A stable, canonical JSON text for any `Encodable` value: object keys sorted by their UTF-8
/// bytes, no whitespace, integers (and integral doubles up to 2^53) written without a fraction,
/// other numbers in Swift's shortest round-trip form, strings with minimal escaping.
///
/// The text depends only on the encoded values, never on dictionary order or on the encoder's
/// formatting choices, so it is fit for hashing (``Recipe/hash``) and for task parameters
/// (``DevelopSettings/canonicalJSON``). `JSONDecoder` reads it back to the same values.
public enum CanonicalJSON {
    /// Encodes `value` with `JSONEncoder` and rewrites the result canonically.
    /// Throws ``ImagingError/invalidSettings(field:reason:)`` when the value is not encodable
    /// (e.g. a non-finite number).
    public static func encode<T: Encodable>(_ value: T) throws(ImagingError) -> String {
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw .invalidSettings(field: String(describing: T.self), reason: "not encodable as JSON: \(error)")
        }
        var parser = Parser(bytes: Array(data))
        guard let tree = parser.parseDocument() else {
            throw .invalidSettings(field: String(describing: T.self), reason: "JSONEncoder produced unparsable output")
        }
        var out = ""
        render(tree, into: &out)
        return out
    }

    indirect enum Value {
        case null
        case bool(Bool)
        case integer(Int64)
        case number(Double)
        case string(String)
        case array([Value])
        case object([(String, Value)])
    }

    static func render(_ value: Value, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += numberText(d)
        case .string(let s): renderString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                render(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let sorted = members.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            for (i, (key, item)) in sorted.enumerated() {
                if i > 0 { out += "," }
                renderString(key, into: &out)
                out += ":"
                render(item, into: &out)
            }
            out += "}"
        }
    }

    /// A finite double as canonical text: integral values up to 2^53 without a fraction
    /// (`-0` as `0`), others in Swift's shortest round-trip form.
    static func numberText(_ d: Double) -> String {
        if d == d.rounded(), abs(d) <= 9_007_199_254_740_992 { return String(Int64(d)) }
        return d.description
    }

    static func renderString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// A strict RFC 8259 parser for the encoder's own output (no comments, no trailing commas).
    struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func parseDocument() -> Value? {
            guard let v = parseValue() else { return nil }
            skipSpace()
            return i == bytes.count ? v : nil
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return false }
            i += w.count
            return true
        }

        mutating func parseValue() -> Value? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "\""): return parseString().map { .string($0) }
            case UInt8(ascii: "["):
                i += 1
                var items: [Value] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    guard let v = parseValue() else { return nil }
                    items.append(v)
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    return nil
                }
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, Value)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = parseString() else { return nil }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let v = parseValue() else { return nil }
                    members.append((key, v))
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    return nil
                }
            default: return parseNumber()
            }
        }

        mutating func parseNumber() -> Value? {
            let start = i
            var isInteger = true
            while i < bytes.count {
                let b = bytes[i]
                if (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
                    i += 1
                } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                    isInteger = false
                    i += 1
                } else {
                    break
                }
            }
            guard i > start, let text = String(bytes: bytes[start..<i], encoding: .utf8) else { return nil }
            if isInteger, let v = Int64(text) { return .integer(v) }
            guard let d = Double(text), d.isFinite else { return nil }
            return .number(d)
        }

        mutating func parseString() -> String? {
            i += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush(_ raw: inout [UInt8], _ scalars: inout String.UnicodeScalarView) -> Bool {
                guard !raw.isEmpty else { return true }
                guard let s = String(bytes: raw, encoding: .utf8) else { return false }
                scalars.append(contentsOf: s.unicodeScalars)
                raw.removeAll()
                return true
            }
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    guard flush(&raw, &scalars) else { return nil }
                    return String(scalars)
                }
                if b == UInt8(ascii: "\\") {
                    guard flush(&raw, &scalars), i + 1 < bytes.count else { return nil }
                    let e = bytes[i + 1]
                    i += 2
                    switch e {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var unit = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(unit) {
                            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return nil }
                            i += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(unit) else { return nil }
                        scalars.append(scalar)
                    default: return nil
                    }
                    continue
                }
                raw.append(b)
                i += 1
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count, let text = String(bytes: bytes[i..<i + 4], encoding: .ascii),
                let v = UInt32(text, radix: 16)
            else { return nil }
            i += 4
            return v
        }
    }
}

extension CanonicalJSON.Value: Encodable {
    /// Encodes the tree with any `Encoder` (objects keep their member order; `JSONEncoder`
    /// output is canonical again after ``CanonicalJSON/encode(_:)``).
    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .integer(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .number(let d):
            var c = encoder.singleValueContainer()
            if d == d.rounded(), abs(d) <= 9_007_199_254_740_992 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let members):
            var c = encoder.container(keyedBy: MemberKey.self)
            for (key, value) in members { try c.encode(value, forKey: MemberKey(stringValue: key)) }
        }
    }

    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
