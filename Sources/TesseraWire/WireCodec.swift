import TesseraCore

/// Encoder, decoder, validator and payload verifier for Tessera protocol header frames (version `WireCodec.version`)
/// (protos/PROTOCOL.md). Stateless and thread-safe: every function is pure over its arguments.
///
/// A message on the wire is `[header frame][payload frame 0]...[payload frame n-1]`; this type
/// handles the header frame and checks payload frames against their descriptors. Routing-id
/// frames belong to the transport.
public enum WireCodec {
    /// The protocol signature, bytes 0–1 of every header: `"TS"`.
    public static let signature: (UInt8, UInt8) = (0x54, 0x53)
    /// The protocol version this codec speaks (header byte 2).
    public static let version: UInt8 = 3
    /// Bytes before the body: signature (2), version (1), type (1).
    public static let headerPrefixLength = 4
    /// Range of a row id on the wire (u64 restricted to Int64's non-negative range).
    static let idRange = "0...9223372036854775807"

    // MARK: Encoding

    /// The header frame of `message`, exactly `encodedLength(message)` bytes in one allocation.
    ///
    /// Does not check limits (use `validate` or `encodeChecked` for content from untrusted or
    /// unbounded sources). Traps only if a field cannot be expressed at all: a `str` over 65,535
    /// bytes, or a `bytes`/`longstr`/list over 2^32−1. Negative ids are written as their bit
    /// pattern and rejected by the receiver.
    public static func encode(_ message: WireMessage) -> [UInt8] {
        let length = encodedLength(message)
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            var writer = WireWriter(UnsafeMutableRawPointer(buffer.baseAddress!))
            writer.u8(signature.0)
            writer.u8(signature.1)
            writer.u8(version)
            writer.u8(message.typeCode)
            writeBody(message, &writer)
            precondition(writer.offset == length, "TesseraWire: encoded \(writer.offset) bytes, sized \(length)")
            initialized = length
        }
    }

    /// `validate(message, limits:)` then `encode(message)`: bytes a receiver with the same
    /// limits is guaranteed to accept.
    public static func encodeChecked(_ message: WireMessage, limits: WireLimits = .default) throws(WireError) -> [UInt8] {
        try validate(message, limits: limits)
        return encode(message)
    }

    /// The exact size in bytes of `encode(message)`. O(number of strings and list items).
    public static func encodedLength(_ message: WireMessage) -> Int {
        var n = headerPrefixLength
        switch message {
        case let .hello(m):
            n += str(m.workerName) + str(m.hostname) + str(m.softwareVersion) + 2 + 8 + 2 + 1 + 4
            for capability in m.capabilities { n += str(capability) }
        case let .welcome(m):
            n += 8 + 4 + 2 + str(m.coordinatorVersion)
        case let .refuse(m):
            n += 2 + str(m.reason)
        case .credit:
            n += 2
        case .heartbeat:
            break
        case let .task(m):
            n += 8 + 4 + 1 + 8 + 8 + 4 + m.parameters.count + 4 + 16 * m.payloads.count
        case let .result(m):
            n += 8 + 4 + 8 + 4 + m.metadata.count + 4 + 16 * m.payloads.count
        case let .failure(m):
            n += 8 + 4 + 2 + 1 + str(m.reason)
        case let .cancel(m):
            n += 4 + 8 * m.taskIDs.count
        case let .goodbye(m):
            n += str(m.reason)
        case let .submit(m):
            n += 4 + str(m.jobName) + str(m.captureDir) + str(m.outputDir) + 4 + m.recipe.utf8.count + 4 + 1 + 4 + 1 + 1 + 4
        case .submitted:
            n += 4 + 8 + 4
        case .status:
            n += 4 + 8
        case let .statusReply(m):
            n += 4 + 4 + 4
            for job in m.jobs {
                n += 8 + str(job.name) + 1 + 4 * 3 + 8 * 5 + str(job.outputDir) + 4
                for failure in job.failures { n += str(failure.framePath) + str(failure.reason) + 4 }
            }
        case let .controlError(m):
            n += 4 + 2 + str(m.message)
        case .drain, .jobs, .jobsReply, .job, .jobReply, .workers, .workersReply, .events, .eventsReply, .steer, .steered:
            n += operatorBodyLength(message) ?? 0
        }
        return n
    }

    @inline(__always) private static func str(_ text: String) -> Int { 2 + text.utf8.count }

    private static func writeBody(_ message: WireMessage, _ w: inout WireWriter) {
        switch message {
        case let .hello(m):
            w.str(m.workerName, "HELLO.workerName")
            w.str(m.hostname, "HELLO.hostname")
            w.str(m.softwareVersion, "HELLO.softwareVersion")
            w.u16(m.cores)
            w.u64(m.memoryBytes)
            w.u16(m.slots)
            w.u8(taskKindBits(m.taskKinds))
            w.count(m.capabilities.count, "HELLO.capabilities")
            for capability in m.capabilities { w.str(capability, "HELLO.capabilities[]") }
        case let .welcome(m):
            w.id(m.workerID.rawValue)
            w.u32(m.heartbeatIntervalMillis)
            w.u16(m.livenessBeats)
            w.str(m.coordinatorVersion, "WELCOME.coordinatorVersion")
        case let .refuse(m):
            w.u16(m.code.rawValue)
            w.str(m.reason, "REFUSE.reason")
        case let .credit(m):
            w.u16(m.credits)
        case .heartbeat:
            break
        case let .task(m):
            w.id(m.taskID.rawValue)
            w.u32(m.attempt)
            w.u8(m.kind.rawValue)
            w.id(m.jobID.rawValue)
            w.id(m.frameID.rawValue)
            w.bytes(m.parameters, "TASK.parameters")
            writePayloads(m.payloads, &w)
        case let .result(m):
            w.id(m.taskID.rawValue)
            w.u32(m.attempt)
            w.u64(m.computeMicros)
            w.bytes(m.metadata, "RESULT.metadata")
            writePayloads(m.payloads, &w)
        case let .failure(m):
            w.id(m.taskID.rawValue)
            w.u32(m.attempt)
            w.u16(m.code.rawValue)
            w.bool(m.retryable)
            w.str(m.reason, "FAILURE.reason")
        case let .cancel(m):
            w.count(m.taskIDs.count, "CANCEL.taskIDs")
            for id in m.taskIDs { w.id(id.rawValue) }
        case let .goodbye(m):
            w.str(m.reason, "GOODBYE.reason")
        case let .submit(m):
            w.u32(m.requestID)
            w.str(m.jobName, "SUBMIT.jobName")
            w.str(m.captureDir, "SUBMIT.captureDir")
            w.str(m.outputDir, "SUBMIT.outputDir")
            w.longstr(m.recipe, "SUBMIT.recipe")
            w.u32(m.tileSize)
            w.u8(m.format.rawValue)
            w.i32(m.priority)
            w.bool(m.overwrite)
            w.bool(m.mergeBursts)
            w.u32(m.burstGapMillis)
        case let .submitted(m):
            w.u32(m.requestID)
            w.id(m.jobID.rawValue)
            w.u32(m.frames)
        case let .status(m):
            w.u32(m.requestID)
            w.id(m.jobID?.rawValue ?? 0)
        case let .statusReply(m):
            w.u32(m.requestID)
            w.u32(m.workersConnected)
            w.count(m.jobs.count, "STATUS_REPLY.jobs")
            for job in m.jobs {
                w.id(job.jobID.rawValue)
                w.str(job.name, "STATUS_REPLY.jobs[].name")
                w.u8(job.state.rawValue)
                w.u32(job.framesTotal)
                w.u32(job.framesDone)
                w.u32(job.framesFailed)
                w.u64(job.tasks.queued)
                w.u64(job.tasks.running)
                w.u64(job.tasks.succeeded)
                w.u64(job.tasks.failed)
                w.u64(job.tasks.cancelled)
                w.str(job.outputDir, "STATUS_REPLY.jobs[].outputDir")
                w.count(job.failures.count, "STATUS_REPLY.jobs[].failures")
                for failure in job.failures {
                    w.str(failure.framePath, "STATUS_REPLY.jobs[].failures[].framePath")
                    w.str(failure.reason, "STATUS_REPLY.jobs[].failures[].reason")
                    w.u32(failure.attempts)
                }
            }
        case let .controlError(m):
            w.u32(m.requestID)
            w.u16(m.code.rawValue)
            w.str(m.message, "CONTROL_ERROR.message")
        case .drain, .jobs, .jobsReply, .job, .jobReply, .workers, .workersReply, .events, .eventsReply, .steer, .steered:
            _ = writeOperatorBody(message, &w)
        }
    }

    private static func writePayloads(_ payloads: [PayloadDescriptor], _ w: inout WireWriter) {
        w.count(payloads.count, "payloads")
        for payload in payloads {
            w.u64(payload.length)
            w.u64(payload.checksum)
        }
    }

    /// The HELLO.taskKinds bitset: bit `kind.rawValue - 1` per kind.
    static func taskKindBits(_ kinds: Set<TaskKind>) -> UInt8 {
        var bits: UInt8 = 0
        for kind in kinds { bits |= 1 << (kind.rawValue - 1) }
        return bits
    }

    // MARK: Decoding

    /// Decodes one header frame, rejecting anything malformed or over `limits`.
    ///
    /// Never trusts a length: every read is bounds-checked, lengths and counts are checked
    /// against `limits` and against the bytes left before allocating, trailing bytes are an
    /// error, and any proper prefix of a valid header throws `.truncated`. The buffer is only
    /// borrowed for the duration of the call; strings and bytes are copied out.
    public static func decode(_ header: UnsafeRawBufferPointer, limits: WireLimits = .default) throws(WireError) -> WireMessage {
        if header.count > limits.maxHeaderLength {
            throw .headerTooLarge(length: header.count, max: limits.maxHeaderLength)
        }
        var r = WireReader(header)
        if r.remaining < 2 { throw .truncated(field: "header.signature") }
        let first = try r.u8("header.signature")
        let second = try r.u8("header.signature")
        guard first == signature.0, second == signature.1 else {
            throw .badSignature(found: UInt16(first) << 8 | UInt16(second))
        }
        let headerVersion = try r.u8("header.version")
        guard headerVersion == version else { throw .unsupportedVersion(headerVersion) }
        let typeCode = try r.u8("header.type")
        guard let type = MessageType(rawValue: typeCode) else { throw .unknownMessageType(typeCode) }
        let message: WireMessage
        do {
            message = try readBody(type, &r, limits)
        } catch {
            throw error.prefixed(type.name)
        }
        if r.remaining > 0 { throw .trailingBytes(count: r.remaining) }
        return message
    }

    /// Decodes one header frame held in an array; see `decode(_:limits:)` for the UnsafeRawBufferPointer form.
    public static func decode(_ header: [UInt8], limits: WireLimits = .default) throws(WireError) -> WireMessage {
        let result: Result<WireMessage, WireError> = header.withUnsafeBytes { buffer in
            do throws(WireError) {
                return .success(try decode(buffer, limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func readBody(_ type: MessageType, _ r: inout WireReader, _ limits: WireLimits) throws(WireError) -> WireMessage {
        switch type {
        case .hello:
            let workerName = try r.str("workerName", max: limits.maxStringLength)
            let hostname = try r.str("hostname", max: limits.maxStringLength)
            let softwareVersion = try r.str("softwareVersion", max: limits.maxStringLength)
            let cores = try r.u16("cores")
            let memoryBytes = try r.u64("memoryBytes")
            let slots = try r.u16("slots")
            let bits = try r.u8("taskKinds")
            var taskKinds = Set<TaskKind>()
            for kind in TaskKind.allCases where bits & (1 << (kind.rawValue - 1)) != 0 { taskKinds.insert(kind) }
            if bits & ~taskKindBits(Set(TaskKind.allCases)) != 0 {
                throw .invalidEnumValue(field: "taskKinds", value: UInt64(bits))
            }
            let count = try r.count("capabilities", max: limits.maxCapabilities, minItemSize: 2)
            var capabilities: [String] = []
            capabilities.reserveCapacity(count)
            for index in 0..<count {
                do {
                    capabilities.append(try r.str("", max: limits.maxCapabilityLength))
                } catch {
                    throw error.prefixed("capabilities[\(index)]")
                }
            }
            return .hello(
                Hello(
                    workerName: workerName, hostname: hostname, softwareVersion: softwareVersion, cores: cores,
                    memoryBytes: memoryBytes, slots: slots, taskKinds: taskKinds, capabilities: capabilities))
        case .welcome:
            let workerID = try r.id("workerID")
            let interval = try r.u32("heartbeatIntervalMillis")
            let beats = try r.u16("livenessBeats")
            let coordinatorVersion = try r.str("coordinatorVersion", max: limits.maxStringLength)
            return .welcome(
                Welcome(
                    workerID: WorkerID(workerID), heartbeatIntervalMillis: interval, livenessBeats: beats,
                    coordinatorVersion: coordinatorVersion))
        case .refuse:
            let code = try readStatus(&r, "code")
            let reason = try r.str("reason", max: limits.maxStringLength)
            return .refuse(Refuse(code: code, reason: reason))
        case .credit:
            let credits = try r.u16("credits")
            if credits == 0 { throw .valueOutOfRange(field: "credits", value: 0, allowed: "1...65535") }
            return .credit(Credit(credits: credits))
        case .heartbeat:
            return .heartbeat
        case .task:
            let taskID = try r.id("taskID")
            let attempt = try r.u32("attempt")
            let rawKind = try r.u8("kind")
            guard let kind = TaskKind(rawValue: rawKind) else {
                throw .invalidEnumValue(field: "kind", value: UInt64(rawKind))
            }
            let jobID = try r.id("jobID")
            let frameID = try r.id("frameID")
            let parameters = try r.bytes("parameters", max: limits.maxParametersLength)
            let payloads = try readPayloads(&r, limits)
            return .task(
                TaskAssignment(
                    taskID: TaskID(taskID), attempt: attempt, kind: kind, jobID: JobID(jobID), frameID: FrameID(frameID),
                    parameters: parameters, payloads: payloads))
        case .result:
            let taskID = try r.id("taskID")
            let attempt = try r.u32("attempt")
            let micros = try r.u64("computeMicros")
            let metadata = try r.bytes("metadata", max: limits.maxMetadataLength)
            let payloads = try readPayloads(&r, limits)
            return .result(
                TaskResult(taskID: TaskID(taskID), attempt: attempt, computeMicros: micros, metadata: metadata, payloads: payloads))
        case .failure:
            let taskID = try r.id("taskID")
            let attempt = try r.u32("attempt")
            let rawCode = try r.u16("code")
            guard let code = FailureCode(rawValue: rawCode) else {
                throw .invalidEnumValue(field: "code", value: UInt64(rawCode))
            }
            let retryable = try r.bool("retryable")
            let reason = try r.str("reason", max: limits.maxStringLength)
            return .failure(TaskFailure(taskID: TaskID(taskID), attempt: attempt, code: code, retryable: retryable, reason: reason))
        case .cancel:
            let count = try r.count("taskIDs", max: limits.maxCancelTaskIDs, minItemSize: 8)
            var ids: [TaskID] = []
            ids.reserveCapacity(count)
            for index in 0..<count {
                do {
                    ids.append(TaskID(try r.id("")))
                } catch {
                    throw error.prefixed("taskIDs[\(index)]")
                }
            }
            return .cancel(Cancel(taskIDs: ids))
        case .goodbye:
            return .goodbye(Goodbye(reason: try r.str("reason", max: limits.maxStringLength)))
        case .submit:
            let requestID = try r.u32("requestID")
            let jobName = try r.str("jobName", max: limits.maxStringLength)
            let captureDir = try r.str("captureDir", max: limits.maxStringLength)
            let outputDir = try r.str("outputDir", max: limits.maxStringLength)
            let recipe = try r.longstr("recipe", max: limits.maxRecipeLength)
            let tileSize = try r.u32("tileSize")
            let rawFormat = try r.u8("format")
            guard let format = WireOutputFormat(rawValue: rawFormat) else {
                throw .invalidEnumValue(field: "format", value: UInt64(rawFormat))
            }
            let priority = try r.i32("priority")
            let overwrite = try r.bool("overwrite")
            let mergeBursts = try r.bool("mergeBursts")
            let burstGapMillis = try r.u32("burstGapMillis")
            return .submit(
                Submit(
                    requestID: requestID, jobName: jobName, captureDir: captureDir, outputDir: outputDir, recipe: recipe,
                    tileSize: tileSize, format: format, priority: priority, overwrite: overwrite, mergeBursts: mergeBursts,
                    burstGapMillis: burstGapMillis))
        case .submitted:
            let requestID = try r.u32("requestID")
            let jobID = try r.id("jobID")
            let frames = try r.u32("frames")
            return .submitted(Submitted(requestID: requestID, jobID: JobID(jobID), frames: frames))
        case .status:
            let requestID = try r.u32("requestID")
            let jobID = try r.id("jobID")
            return .status(StatusRequest(requestID: requestID, jobID: jobID == 0 ? nil : JobID(jobID)))
        case .statusReply:
            let requestID = try r.u32("requestID")
            let workers = try r.u32("workersConnected")
            let count = try r.count("jobs", max: limits.maxStatusJobs, minItemSize: minJobStatusSize)
            var jobs: [JobStatus] = []
            jobs.reserveCapacity(count)
            for index in 0..<count {
                do {
                    jobs.append(try readJobStatus(&r, limits))
                } catch {
                    throw error.prefixed("jobs[\(index)]")
                }
            }
            return .statusReply(StatusReply(requestID: requestID, workersConnected: workers, jobs: jobs))
        case .controlError:
            let requestID = try r.u32("requestID")
            let code = try readStatus(&r, "code")
            let message = try r.str("message", max: limits.maxStringLength)
            return .controlError(ControlError(requestID: requestID, code: code, message: message))
        case .drain, .jobs, .jobsReply, .job, .jobReply, .workers, .workersReply, .events, .eventsReply, .steer, .steered:
            guard let message = try readOperatorBody(type, &r, limits) else { throw .unknownMessageType(type.rawValue) }
            return message
        }
    }

    /// Smallest encoding of a JobStatus: id, empty name, state, 3 × u32, 5 × u64, empty outputDir, empty failures.
    private static let minJobStatusSize = 8 + 2 + 1 + 12 + 40 + 2 + 4

    private static func readJobStatus(_ r: inout WireReader, _ limits: WireLimits) throws(WireError) -> JobStatus {
        let jobID = try r.id("jobID")
        let name = try r.str("name", max: limits.maxStringLength)
        let rawState = try r.u8("state")
        guard let state = WireJobState(rawValue: rawState) else {
            throw .invalidEnumValue(field: "state", value: UInt64(rawState))
        }
        let total = try r.u32("framesTotal")
        let done = try r.u32("framesDone")
        let failed = try r.u32("framesFailed")
        let tasks = TaskCounts(
            queued: try r.u64("tasksQueued"), running: try r.u64("tasksRunning"), succeeded: try r.u64("tasksSucceeded"),
            failed: try r.u64("tasksFailed"), cancelled: try r.u64("tasksCancelled"))
        let outputDir = try r.str("outputDir", max: limits.maxStringLength)
        let count = try r.count("failures", max: limits.maxJobFailures, minItemSize: 2 + 2 + 4)
        var failures: [WireFrameFailure] = []
        failures.reserveCapacity(count)
        for index in 0..<count {
            do {
                let path = try r.str("framePath", max: limits.maxStringLength)
                let reason = try r.str("reason", max: limits.maxStringLength)
                let attempts = try r.u32("attempts")
                failures.append(WireFrameFailure(framePath: path, reason: reason, attempts: attempts))
            } catch {
                throw error.prefixed("failures[\(index)]")
            }
        }
        return JobStatus(
            jobID: JobID(jobID), name: name, state: state, framesTotal: total, framesDone: done, framesFailed: failed,
            tasks: tasks, outputDir: outputDir, failures: failures)
    }

    private static func readStatus(_ r: inout WireReader, _ field: StaticString) throws(WireError) -> WireStatus {
        let raw = try r.u16(field)
        guard let status = WireStatus(rawValue: raw) else {
            throw .invalidEnumValue(field: field.description, value: UInt64(raw))
        }
        return status
    }

    private static func readPayloads(_ r: inout WireReader, _ limits: WireLimits) throws(WireError) -> [PayloadDescriptor] {
        let count = try r.count("payloads", max: limits.maxPayloads, minItemSize: 16)
        var payloads: [PayloadDescriptor] = []
        payloads.reserveCapacity(count)
        for index in 0..<count {
            do throws(WireError) {
                let length = try r.u64("length")
                if length > limits.maxPayloadLength {
                    throw WireError.payloadTooLarge(field: "length", length: length, max: limits.maxPayloadLength)
                }
                let checksum = try r.u64("checksum")
                payloads.append(PayloadDescriptor(length: length, checksum: checksum))
            } catch {
                throw error.prefixed("payloads[\(index)]")
            }
        }
        return payloads
    }

    // MARK: Payload verification

    /// Checks received payload frames against the descriptors of their TASK/RESULT: the count
    /// first, then for each frame its length, then its XXH3-64 (hashing at memory speed).
    /// The buffers are only read. Throws the first mismatch found.
    public static func verifyPayloads(_ frames: [UnsafeRawBufferPointer], against descriptors: [PayloadDescriptor]) throws(WireError) {
        guard frames.count == descriptors.count else {
            throw .payloadCountMismatch(expected: descriptors.count, actual: frames.count)
        }
        for index in frames.indices {
            try verifyPayload(frames[index], index: index, against: descriptors[index])
        }
    }

    /// `verifyPayloads` for frames held in arrays.
    public static func verifyPayloads(_ frames: [[UInt8]], against descriptors: [PayloadDescriptor]) throws(WireError) {
        guard frames.count == descriptors.count else {
            throw .payloadCountMismatch(expected: descriptors.count, actual: frames.count)
        }
        for index in frames.indices {
            let result: Result<Void, WireError> = frames[index].withUnsafeBytes { frame in
                do throws(WireError) {
                    return .success(try verifyPayload(frame, index: index, against: descriptors[index]))
                } catch {
                    return .failure(error)
                }
            }
            try result.get()
        }
    }

    /// Checks one payload frame (number `index` of its message) against its descriptor, e.g.
    /// while the transport still holds the received frame. Length first, then XXH3-64.
    public static func verifyPayload(_ frame: UnsafeRawBufferPointer, index: Int, against descriptor: PayloadDescriptor) throws(WireError) {
        guard UInt64(frame.count) == descriptor.length else {
            throw .payloadLengthMismatch(index: index, expected: descriptor.length, actual: UInt64(frame.count))
        }
        let checksum = XXH3.hash(frame)
        guard checksum == descriptor.checksum else {
            throw .payloadChecksumMismatch(index: index, expected: descriptor.checksum, actual: checksum)
        }
    }

    /// Copies one received payload frame out of the transport's buffer into an array while
    /// verifying it against its descriptor, reading the bytes once
    /// (``XXH3/hashCopying(_:to:)``): the length first (nothing is allocated for a frame
    /// of the wrong length), then the XXH3-64 of the bytes copied. Throws as ``verifyPayload(_:index:against:)``.
    public static func copyVerifying(_ frame: UnsafeRawBufferPointer, index: Int, against descriptor: PayloadDescriptor) throws(WireError) -> [UInt8] {
        guard UInt64(frame.count) == descriptor.length else {
            throw .payloadLengthMismatch(index: index, expected: descriptor.length, actual: UInt64(frame.count))
        }
        var checksum: UInt64 = 0
        let copy = [UInt8](unsafeUninitializedCapacity: frame.count) { buffer, initialized in
            if let destination = buffer.baseAddress, frame.count > 0 {
                checksum = XXH3.hashCopying(frame, to: UnsafeMutableRawPointer(destination))
            } else {
                checksum = XXH3.hash(frame)
            }
            initialized = frame.count
        }
        guard checksum == descriptor.checksum else {
            throw .payloadChecksumMismatch(index: index, expected: descriptor.checksum, actual: checksum)
        }
        return copy
    }
}
