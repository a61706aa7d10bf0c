import TesseraCore

extension WireCodec {
    /// Checks that `message` is within `limits` and every field is in range, throwing exactly
    /// the error a receiver with the same limits would throw decoding `encode(message)` (same
    /// case, same field path). Use before sending content from untrusted or unbounded sources
    /// (error texts, user paths, large status replies). Pure; O(size of the message).
    public static func validate(_ message: WireMessage, limits: WireLimits = .default) throws(WireError) {
        let length = encodedLength(message)
        if length > limits.maxHeaderLength { throw .headerTooLarge(length: length, max: limits.maxHeaderLength) }
        do {
            try validateBody(message, limits)
        } catch {
            throw error.prefixed(message.name)
        }
    }

    private static func validateBody(_ message: WireMessage, _ limits: WireLimits) throws(WireError) {
        let strMax = min(limits.maxStringLength, Int(UInt16.max))
        switch message {
        case let .hello(m):
            try checkString(m.workerName, "workerName", strMax)
            try checkString(m.hostname, "hostname", strMax)
            try checkString(m.softwareVersion, "softwareVersion", strMax)
            try checkCount(m.capabilities.count, "capabilities", limits.maxCapabilities)
            let capabilityMax = min(limits.maxCapabilityLength, Int(UInt16.max))
            for (index, capability) in m.capabilities.enumerated() {
                do {
                    try checkString(capability, "", capabilityMax)
                } catch {
                    throw error.prefixed("capabilities[\(index)]")
                }
            }
        case let .welcome(m):
            try checkID(m.workerID.rawValue, "workerID")
            try checkString(m.coordinatorVersion, "coordinatorVersion", strMax)
        case let .refuse(m):
            try checkString(m.reason, "reason", strMax)
        case let .credit(m):
            if m.credits == 0 { throw .valueOutOfRange(field: "credits", value: 0, allowed: "1...65535") }
        case .heartbeat:
            break
        case let .task(m):
            try checkID(m.taskID.rawValue, "taskID")
            try checkID(m.jobID.rawValue, "jobID")
            try checkID(m.frameID.rawValue, "frameID")
            try checkBytes(m.parameters, "parameters", limits.maxParametersLength)
            try checkPayloads(m.payloads, limits)
        case let .result(m):
            try checkID(m.taskID.rawValue, "taskID")
            try checkBytes(m.metadata, "metadata", limits.maxMetadataLength)
            try checkPayloads(m.payloads, limits)
        case let .failure(m):
            try checkID(m.taskID.rawValue, "taskID")
            try checkString(m.reason, "reason", strMax)
        case let .cancel(m):
            try checkCount(m.taskIDs.count, "taskIDs", limits.maxCancelTaskIDs)
            for (index, id) in m.taskIDs.enumerated() {
                do {
                    try checkID(id.rawValue, "")
                } catch {
                    throw error.prefixed("taskIDs[\(index)]")
                }
            }
        case let .goodbye(m):
            try checkString(m.reason, "reason", strMax)
        case let .submit(m):
            try checkString(m.jobName, "jobName", strMax)
            try checkString(m.captureDir, "captureDir", strMax)
            try checkString(m.outputDir, "outputDir", strMax)
            try checkString(m.recipe, "recipe", min(limits.maxRecipeLength, Int(UInt32.max)))
        case let .submitted(m):
            try checkID(m.jobID.rawValue, "jobID")
        case let .status(m):
            if let id = m.jobID {
                // 0 means "all jobs" on the wire, so JobID(0) cannot be asked for by id.
                if id.rawValue == 0 { throw .valueOutOfRange(field: "jobID", value: 0, allowed: "1...9223372036854775807 or nil") }
                try checkID(id.rawValue, "jobID")
            }
        case let .statusReply(m):
            try checkCount(m.jobs.count, "jobs", limits.maxStatusJobs)
            for (index, job) in m.jobs.enumerated() {
                do {
                    try checkJob(job, limits, strMax)
                } catch {
                    throw error.prefixed("jobs[\(index)]")
                }
            }
        case let .controlError(m):
            try checkString(m.message, "message", strMax)
        case .drain, .jobs, .jobsReply, .job, .jobReply, .workers, .workersReply, .events, .eventsReply, .steer, .steered:
            _ = try validateOperatorBody(message, limits)
        }
    }

    private static func checkJob(_ job: JobStatus, _ limits: WireLimits, _ strMax: Int) throws(WireError) {
        try checkID(job.jobID.rawValue, "jobID")
        try checkString(job.name, "name", strMax)
        try checkString(job.outputDir, "outputDir", strMax)
        try checkCount(job.failures.count, "failures", limits.maxJobFailures)
        for (index, failure) in job.failures.enumerated() {
            do {
                try checkString(failure.framePath, "framePath", strMax)
                try checkString(failure.reason, "reason", strMax)
            } catch {
                throw error.prefixed("failures[\(index)]")
            }
        }
    }

    private static func checkString(_ text: String, _ field: String, _ max: Int) throws(WireError) {
        let length = text.utf8.count
        if length > max { throw .stringTooLong(field: field, length: length, max: max) }
    }

    private static func checkBytes(_ bytes: [UInt8], _ field: String, _ max: Int) throws(WireError) {
        let limit = min(max, Int(UInt32.max))
        if bytes.count > limit { throw .bytesTooLong(field: field, length: bytes.count, max: limit) }
    }

    private static func checkCount(_ count: Int, _ field: String, _ max: Int) throws(WireError) {
        let limit = min(max, Int(UInt32.max))
        if count > limit { throw .listTooLong(field: field, count: count, max: limit) }
    }

    private static func checkID(_ id: Int64, _ field: String) throws(WireError) {
        if id < 0 { throw .valueOutOfRange(field: field, value: UInt64(bitPattern: id), allowed: idRange) }
    }

    private static func checkPayloads(_ payloads: [PayloadDescriptor], _ limits: WireLimits) throws(WireError) {
        try checkCount(payloads.count, "payloads", limits.maxPayloads)
        for (index, payload) in payloads.enumerated() where payload.length > limits.maxPayloadLength {
            throw .payloadTooLarge(field: "payloads[\(index)].length", length: payload.length, max: limits.maxPayloadLength)
        }
    }
}
