import Testing
import TesseraCore
import TesseraWire

@Suite struct PropertyTests {
    @Test func randomMessagesRoundTrip() throws {
        let seed = propertySeed("randomMessagesRoundTrip")
        var random = RandomMessages(seed: seed)
        var seen = Set<UInt8>()
        for index in 0..<2_000 {
            let message = random.message()
            seen.insert(message.typeCode)
            let bytes = WireCodec.encode(message)
            #expect(bytes.count == WireCodec.encodedLength(message))
            switch decodeResult(bytes) {
            case .success(let decoded):
                guard decoded == message else {
                    Issue.record("seed \(seed) #\(index): \(message.name) did not round-trip")
                    return
                }
                #expect(WireCodec.encode(decoded) == bytes)
            case .failure(let error):
                Issue.record("seed \(seed) #\(index): \(message.name) failed to decode: \(error)")
                return
            }
        }
        #expect(seen.count == MessageType.allCases.count)
    }

    /// A message within the limits validates; one outside them makes `validate` throw exactly
    /// what the receiver's decoder throws. Small limits keep over-limit values cheap.
    @Test func validateAgreesWithTheDecoder() {
        let seed = propertySeed("validateAgreesWithTheDecoder")
        let limits = WireLimits(
            maxHeaderLength: 900, maxStringLength: 24, maxCapabilityLength: 6, maxCapabilities: 3, maxRecipeLength: 40,
            maxParametersLength: 16, maxMetadataLength: 16, maxPayloads: 3, maxPayloadLength: 1_000, maxCancelTaskIDs: 5,
            maxStatusJobs: 3, maxJobFailures: 3)
        var random = RandomMessages(seed: seed, limits: limits, overLimit: true, badValueRate: 0.03)
        var rejected = 0
        for index in 0..<3_000 {
            let message = random.message()
            let validation: Result<Void, WireError> = Result { () throws(WireError) in try WireCodec.validate(message, limits: limits) }
            let decoded = decodeResult(WireCodec.encode(message), limits: limits)
            switch (validation, decoded) {
            case (.success, .success(let back)):
                #expect(back == message, "seed \(seed) #\(index)")
            case (.failure(let expected), .failure(let actual)):
                rejected += 1
                #expect(expected == actual, "seed \(seed) #\(index): validate \(expected), decode \(actual)")
            case (let v, let d):
                Issue.record("seed \(seed) #\(index) \(message.name): validate \(v), decode \(d)")
            }
        }
        #expect(rejected > 100, "the generator exercises the limits")
    }

    /// Random mutations of valid vectors never crash the decoder; whatever still decodes
    /// re-encodes to exactly the mutated bytes (the encoding is canonical).
    @Test func mutatedVectorsNeverCrash() {
        let seed = propertySeed("mutatedVectorsNeverCrash")
        var rng = SplitMix64(seed: seed)
        var decodedCount = 0
        var failedCount = 0
        for vector in Vectors.valid {
            for _ in 0..<300 {
                var bytes = vector.bytes
                for _ in 0..<Int(rng.next() % 4 + 1) {
                    let position = Int(rng.next() % UInt64(bytes.count + 1))
                    switch rng.next() % 6 {
                    case 0 where position < bytes.count: bytes[position] ^= 1 << UInt8(rng.next() % 8)
                    case 1 where position < bytes.count: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
                    case 2 where position < bytes.count: bytes[position] = [0x00, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
                    case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
                    case 4 where position < bytes.count: bytes.remove(at: position)
                    default: bytes = Array(bytes[..<position])
                    }
                }
                switch decodeResult(bytes) {
                case .success(let message):
                    decodedCount += 1
                    #expect(WireCodec.encode(message) == bytes, "seed \(seed): \(vector.file) mutation re-encodes differently")
                case .failure:
                    failedCount += 1
                }
            }
        }
        #expect(decodedCount > 0 && failedCount > 0)
    }
}

@Suite struct LimitTests {
    @Test func hugeClaimedCountsAreRejectedBeforeAllocating() {
        // Even with the count limit lifted, 2^32-1 claimed ids with no data is cut off by the
        // bytes-left check, not by an attempt to reserve 32 GiB.
        let limits = WireLimits(maxCancelTaskIDs: Int(UInt32.max))
        let header: [UInt8] = [0x54, 0x53, WireCodec.version, MessageType.cancel.rawValue, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(decodeResult(header, limits: limits) == .failure(.truncated(field: "CANCEL.taskIDs")))
        #expect(decodeResult(header) == .failure(.listTooLong(field: "CANCEL.taskIDs", count: Int(UInt32.max), max: 65_536)))
    }

    @Test func customLimitsApplyToEveryField() {
        let tight = WireLimits(maxStringLength: 3)
        let goodbye = WireMessage.goodbye(Goodbye(reason: "four"))
        let bytes = WireCodec.encode(goodbye)
        #expect(decodeResult(bytes) == .success(goodbye))
        #expect(decodeResult(bytes, limits: tight) == .failure(.stringTooLong(field: "GOODBYE.reason", length: 4, max: 3)))
        #expect(throws: WireError.stringTooLong(field: "GOODBYE.reason", length: 4, max: 3)) {
            try WireCodec.encodeChecked(goodbye, limits: tight)
        }
        let small = WireLimits(maxHeaderLength: bytes.count - 1)
        #expect(decodeResult(bytes, limits: small) == .failure(.headerTooLarge(length: bytes.count, max: bytes.count - 1)))
    }

    @Test func maximumSizedFieldsAreAccepted() throws {
        let limits = WireLimits.default
        let task = WireMessage.task(
            TaskAssignment(
                taskID: TaskID(1), attempt: 1, kind: .decode, jobID: JobID(1), frameID: FrameID(1),
                parameters: [UInt8](repeating: 0x7B, count: limits.maxParametersLength),
                payloads: Array(repeating: PayloadDescriptor(length: limits.maxPayloadLength, checksum: 1), count: limits.maxPayloads)))
        #expect(try WireCodec.decode(WireCodec.encodeChecked(task)) == task)
        let submit = WireMessage.submit(
            Submit(
                requestID: 1, jobName: String(repeating: "é", count: limits.maxStringLength / 2), captureDir: "/c", outputDir: "/o",
                recipe: String(repeating: "r", count: limits.maxRecipeLength), tileSize: 256, format: .png, priority: 0, overwrite: false))
        #expect(try WireCodec.decode(WireCodec.encodeChecked(submit)) == submit)
        let cancel = WireMessage.cancel(Cancel(taskIDs: (0..<Int64(limits.maxCancelTaskIDs)).map { TaskID($0) }))
        #expect(try WireCodec.decode(WireCodec.encodeChecked(cancel)) == cancel)
    }

    @Test func statusRequestForJobZeroIsRejectedBySender() {
        #expect(throws: WireError.self) {
            try WireCodec.validate(.status(StatusRequest(requestID: 1, jobID: JobID(0))))
        }
        #expect(decodeResult(WireCodec.encode(.status(StatusRequest(requestID: 1, jobID: nil)))) == .success(.status(StatusRequest(requestID: 1, jobID: nil))))
    }

    @Test func clampedTextFitsTheLimitAtAScalarBoundary() {
        let text = String(repeating: "ü📷", count: 2_000)  // 6 bytes per pair, 12,000 bytes
        let clamped = WireText.clamped(text)
        #expect(clamped.utf8.count <= WireLimits.default.maxStringLength)
        #expect(clamped.utf8.count > WireLimits.default.maxStringLength - 8)
        #expect(clamped.hasSuffix("…"))
        #expect(WireText.clamped("short") == "short")
        let failure = WireMessage.failure(TaskFailure(taskID: TaskID(1), attempt: 1, code: .internalError, retryable: true, reason: clamped))
        #expect(throws: Never.self) { try WireCodec.validate(failure) }
    }
}

@Suite struct PayloadVerificationTests {
    let frames: [[UInt8]] = [
        (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) },
        [],
        Array("tile".utf8),
    ]

    @Test func matchingFramesVerify() throws {
        let descriptors = frames.map { PayloadDescriptor(describing: $0) }
        try WireCodec.verifyPayloads(frames, against: descriptors)
        // The UnsafeRawBufferPointer form, over memory that outlives the call (as a zmq_msg_t's does).
        let owned = frames.map { frame -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count, alignment: 1)
            buffer.copyBytes(from: frame)
            return buffer
        }
        defer { owned.forEach { $0.deallocate() } }
        try WireCodec.verifyPayloads(owned.map { UnsafeRawBufferPointer($0) }, against: descriptors)
    }

    @Test func aFlippedBitIsCaught() {
        let descriptors = frames.map { PayloadDescriptor(describing: $0) }
        var corrupted = frames
        corrupted[0][4_321] ^= 0x04
        #expect(
            throws: WireError.payloadChecksumMismatch(
                index: 0, expected: descriptors[0].checksum, actual: XXH3.hash(corrupted[0]))
        ) { try WireCodec.verifyPayloads(corrupted, against: descriptors) }
    }

    @Test func wrongCountAndLengthAreCaught() {
        let descriptors = frames.map { PayloadDescriptor(describing: $0) }
        #expect(throws: WireError.payloadCountMismatch(expected: 3, actual: 2)) {
            try WireCodec.verifyPayloads(Array(frames.prefix(2)), against: descriptors)
        }
        var short = frames
        short[2].removeLast()
        #expect(throws: WireError.payloadLengthMismatch(index: 2, expected: 4, actual: 3)) {
            try WireCodec.verifyPayloads(short, against: descriptors)
        }
    }
}
