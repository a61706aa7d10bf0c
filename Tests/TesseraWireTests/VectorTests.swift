import Testing
import TesseraCore
import TesseraWire

@Suite struct GoldenVectorTests {
    @Test func manifestCoversEveryMessageTypeAndRule() {
        let types = Set(Vectors.valid.map(\.type))
        #expect(types == Set(MessageType.allCases.map(\.name)), "a valid vector for every message type")
        let cases = Set(Vectors.invalid.compactMap { Mirror(reflecting: $0.expected).children.first?.label })
        let decoderErrors: Set<String> = [
            "truncated", "badSignature", "unsupportedVersion", "unknownMessageType", "stringTooLong", "bytesTooLong",
            "invalidUTF8", "invalidBool", "listTooLong", "invalidEnumValue", "valueOutOfRange", "trailingBytes",
            "payloadTooLarge",
        ]
        #expect(cases == decoderErrors, "an invalid vector for every decoder rejection rule")
    }

    @Test(arguments: Vectors.valid)
    func validVectorDecodesAndReencodesExactly(_ vector: Vectors.Valid) throws {
        let decoded = try WireCodec.decode(vector.bytes)
        #expect(decoded == vector.expected)
        #expect(decoded.name == vector.type)
        #expect(WireCodec.encode(vector.expected) == vector.bytes)
        #expect(WireCodec.encodedLength(vector.expected) == vector.bytes.count)
        #expect(try WireCodec.encodeChecked(vector.expected) == vector.bytes)
        // The UnsafeRawBufferPointer entry point agrees with the array one.
        let viaPointer = try vector.bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) in try WireCodec.decode(buffer) }
        }.get()
        #expect(viaPointer == decoded)
    }

    @Test(arguments: Vectors.valid)
    func everyProperPrefixIsTruncated(_ vector: Vectors.Valid) {
        for length in 0..<vector.bytes.count {
            switch decodeResult(Array(vector.bytes[..<length])) {
            case .failure(.truncated):
                continue
            case let other:
                Issue.record("\(vector.file) cut to \(length) bytes gave \(other), expected truncated")
                return
            }
        }
    }

    @Test(arguments: Vectors.valid)
    func vectorPayloadFramesVerify(_ vector: Vectors.Valid) throws {
        let descriptors = vector.expected.payloads
        guard let frames = vector.payloadFrames else {
            #expect(descriptors.isEmpty || vector.file.contains("extremes"), "payload-carrying vectors ship their frames")
            return
        }
        try WireCodec.verifyPayloads(frames, against: descriptors)
        #expect(frames.map { PayloadDescriptor(describing: $0) } == descriptors)
    }

    @Test(arguments: Vectors.invalid)
    func invalidVectorThrowsTheDocumentedError(_ vector: Vectors.Invalid) {
        switch decodeResult(vector.bytes) {
        case .success(let message):
            Issue.record("\(vector.file) decoded to \(message)")
        case .failure(let error):
            #expect(error == vector.expected, "\(vector.file): \(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func errorMessagesNameTheField() {
        let error = WireError.stringTooLong(field: "HELLO.workerName", length: 4097, max: 4096)
        #expect(error.description == "string 'HELLO.workerName' is 4097 bytes, over the limit of 4096")
        #expect(WireError.badSignature(found: 0x5458).description.contains("0x5458"))
        #expect(WireError.unsupportedVersion(2).wireStatus == .unsupportedVersion)
        #expect(WireError.trailingBytes(count: 1).wireStatus == .malformed)
    }
}
