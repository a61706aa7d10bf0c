/// Everything that can go wrong decoding, validating or verifying a Tessera wire message.
///
/// `field` values are dotted paths naming the message and field, e.g. `"HELLO.workerName"`,
/// `"STATUS_REPLY.jobs[3].failures[17].reason"`, `"header.version"`; they match the field
/// names of protos/PROTOCOL.md. Map these to `WireStatus` at one boundary (`wireStatus`).
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header frame is longer than `WireLimits.maxHeaderLength`.
    case headerTooLarge(length: Int, max: Int)
    /// The header ended before `field` was complete (or before a list's minimum size).
    case truncated(field: String)
    /// The first two bytes are not `"TS"` (0x54 0x53); `found` is them as a big-endian u16.
    case badSignature(found: UInt16)
    /// The version byte is not 1. The peer should be refused with `WireStatus.unsupportedVersion`.
    case unsupportedVersion(UInt8)
    /// The type byte is not a message type of this protocol version.
    case unknownMessageType(UInt8)
    /// A string's byte length exceeds its limit.
    case stringTooLong(field: String, length: Int, max: Int)
    /// A `bytes` field's length exceeds its limit.
    case bytesTooLong(field: String, length: Int, max: Int)
    /// A string is not well-formed UTF-8 (overlong forms and surrogates included).
    case invalidUTF8(field: String)
    /// A bool byte is neither 0 nor 1.
    case invalidBool(field: String, value: UInt8)
    /// A list's count exceeds its limit.
    case listTooLong(field: String, count: Int, max: Int)
    /// An enumerated field (kind, code, state, format, bitset) holds a value this protocol version does not define.
    case invalidEnumValue(field: String, value: UInt64)
    /// A numeric field is outside its documented range (`allowed` says which).
    case valueOutOfRange(field: String, value: UInt64, allowed: String)
    /// Bytes remain after a complete message body.
    case trailingBytes(count: Int)
    /// A payload descriptor declares a length over `WireLimits.maxPayloadLength`.
    case payloadTooLarge(field: String, length: UInt64, max: UInt64)
    /// The number of payload frames differs from the number of descriptors.
    case payloadCountMismatch(expected: Int, actual: Int)
    /// Payload frame `index` has a different length than its descriptor declares.
    case payloadLengthMismatch(index: Int, expected: UInt64, actual: UInt64)
    /// Payload frame `index` has a different XXH3-64 checksum than its descriptor declares.
    case payloadChecksumMismatch(index: Int, expected: UInt64, actual: UInt64)

    /// A one-line human message naming the field, the value and the limit involved.
    public var description: String {
        switch self {
        case let .headerTooLarge(length, max):
            "header frame is \(length) bytes, over the limit of \(max)"
        case let .truncated(field):
            "message truncated while reading '\(field)'"
        case let .badSignature(found):
            "bad signature 0x\(hex(UInt64(found), width: 4)) (expected 0x5453, \"TS\"): not a Tessera message"
        case let .unsupportedVersion(version):
            "unsupported protocol version \(version) (this peer speaks version \(WireCodec.version))"
        case let .unknownMessageType(type):
            "unknown message type 0x\(hex(UInt64(type), width: 2))"
        case let .stringTooLong(field, length, max):
            "string '\(field)' is \(length) bytes, over the limit of \(max)"
        case let .bytesTooLong(field, length, max):
            "bytes '\(field)' is \(length) bytes, over the limit of \(max)"
        case let .invalidUTF8(field):
            "string '\(field)' is not valid UTF-8"
        case let .invalidBool(field, value):
            "bool '\(field)' has value \(value) (only 0 and 1 are valid)"
        case let .listTooLong(field, count, max):
            "list '\(field)' has \(count) items, over the limit of \(max)"
        case let .invalidEnumValue(field, value):
            "field '\(field)' has undefined value \(value)"
        case let .valueOutOfRange(field, value, allowed):
            "field '\(field)' has value \(value), outside \(allowed)"
        case let .trailingBytes(count):
            "\(count) trailing byte(s) after a complete message body"
        case let .payloadTooLarge(field, length, max):
            "payload descriptor '\(field)' declares \(length) bytes, over the limit of \(max)"
        case let .payloadCountMismatch(expected, actual):
            "expected \(expected) payload frame(s), received \(actual)"
        case let .payloadLengthMismatch(index, expected, actual):
            "payload frame \(index) is \(actual) bytes, descriptor says \(expected)"
        case let .payloadChecksumMismatch(index, expected, actual):
            "payload frame \(index) has XXH3-64 0x\(hex(actual, width: 16)), descriptor says 0x\(hex(expected, width: 16))"
        }
    }

    /// The status a receiver should send back (REFUSE / CONTROL_ERROR) for this error:
    /// `unsupportedVersion` for a version mismatch, `malformed` for everything else.
    public var wireStatus: WireStatus {
        if case .unsupportedVersion = self { return .unsupportedVersion }
        return .malformed
    }

    /// The same error with `prefix` prepended to its field path (`"jobs[3]"` + `"name"` →
    /// `"jobs[3].name"`). Used by the decoder while unwinding out of nested structures.
    func prefixed(_ prefix: String) -> WireError {
        switch self {
        case let .truncated(field): .truncated(field: join(prefix, field))
        case let .stringTooLong(field, length, max): .stringTooLong(field: join(prefix, field), length: length, max: max)
        case let .bytesTooLong(field, length, max): .bytesTooLong(field: join(prefix, field), length: length, max: max)
        case let .invalidUTF8(field): .invalidUTF8(field: join(prefix, field))
        case let .invalidBool(field, value): .invalidBool(field: join(prefix, field), value: value)
        case let .listTooLong(field, count, max): .listTooLong(field: join(prefix, field), count: count, max: max)
        case let .invalidEnumValue(field, value): .invalidEnumValue(field: join(prefix, field), value: value)
        case let .valueOutOfRange(field, value, allowed):
            .valueOutOfRange(field: join(prefix, field), value: value, allowed: allowed)
        case let .payloadTooLarge(field, length, max): .payloadTooLarge(field: join(prefix, field), length: length, max: max)
        case .headerTooLarge, .badSignature, .unsupportedVersion, .unknownMessageType, .trailingBytes,
            .payloadCountMismatch, .payloadLengthMismatch, .payloadChecksumMismatch:
            self
        }
    }
}

/// `prefix.field`, or just `prefix` for an unnamed field (a list item).
private func join(_ prefix: String, _ field: String) -> String {
    field.isEmpty ? prefix : prefix + "." + field
}

/// Lower-case hexadecimal, zero-padded to `width` digits.
func hex(_ value: UInt64, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
