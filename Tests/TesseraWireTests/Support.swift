import Foundation
import TesseraCore
import TesseraWire

/// Locations and loaders for the golden vectors in protos/vectors (one copy, shared with other languages).
enum Vectors {
    /// `<repo>/protos/vectors`, found from this file's path (Tests/TesseraWireTests/Support.swift).
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("protos/vectors")

    struct Valid: Sendable, CustomStringConvertible {
        let file: String
        let type: String
        let bytes: [UInt8]
        let expected: WireMessage
        let payloadFrames: [[UInt8]]?
        var description: String { file }
    }

    struct Invalid: Sendable, CustomStringConvertible {
        let file: String
        let bytes: [UInt8]
        let expected: WireError
        var description: String { file }
    }

    static func manifest() -> [String: Any] {
        let data = try! Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static let valid: [Valid] = (manifest()["valid"] as! [[String: Any]]).map { entry in
        let file = entry["file"] as! String
        let bytes = loadHex(file)
        precondition(bytes.count == entry["length"] as! Int, "\(file): length differs from the manifest")
        return Valid(
            file: file, type: entry["type"] as! String, bytes: bytes,
            expected: message(type: entry["type"] as! String, entry["fields"] as! [String: Any]),
            payloadFrames: (entry["payloadFrames"] as? [String])?.map(hexBytes))
    }

    static let invalid: [Invalid] = (manifest()["invalid"] as! [[String: Any]]).map { entry in
        let file = entry["file"] as! String
        let bytes = loadHex(file)
        precondition(bytes.count == entry["length"] as! Int, "\(file): length differs from the manifest")
        return Invalid(file: file, bytes: bytes, expected: error(entry["error"] as! [String: Any]))
    }

    /// Hex text: pairs of hex digits separated by any whitespace; `#` comments to end of line.
    static func loadHex(_ relativePath: String) -> [UInt8] {
        let text = try! String(contentsOf: directory.appendingPathComponent(relativePath), encoding: .utf8)
        var digits = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            digits += code.filter { !$0.isWhitespace }
        }
        return hexBytes(digits)
    }

    static func hexBytes(_ digits: String) -> [UInt8] {
        let chars = Array(digits.utf8)
        precondition(chars.count % 2 == 0, "odd number of hex digits")
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: preconditionFailure("not a hex digit: \(c)")
            }
        }
        return stride(from: 0, to: chars.count, by: 2).map { nibble(chars[$0]) << 4 | nibble(chars[$0 + 1]) }
    }

    // MARK: manifest fields → Swift values (conventions in manifest.json)

    private static func int(_ f: [String: Any], _ key: String) -> Int { f[key] as! Int }
    private static func u64(_ f: [String: Any], _ key: String) -> UInt64 { UInt64(f[key] as! String)! }
    private static func id(_ f: [String: Any], _ key: String) -> Int64 { Int64(f[key] as! String)! }
    private static func str(_ f: [String: Any], _ key: String) -> String { f[key] as! String }
    private static func bool(_ f: [String: Any], _ key: String) -> Bool { f[key] as! Bool }

    private static func payloads(_ f: [String: Any]) -> [PayloadDescriptor] {
        (f["payloads"] as! [[String: Any]]).map { PayloadDescriptor(length: u64($0, "length"), checksum: u64($0, "checksum")) }
    }

    static func message(type: String, _ f: [String: Any]) -> WireMessage {
        switch type {
        case "HELLO":
            let bits = int(f, "taskKinds")
            return .hello(
                Hello(
                    workerName: str(f, "workerName"), hostname: str(f, "hostname"), softwareVersion: str(f, "softwareVersion"),
                    cores: UInt16(int(f, "cores")), memoryBytes: u64(f, "memoryBytes"), slots: UInt16(int(f, "slots")),
                    taskKinds: Set(TaskKind.allCases.filter { bits & (1 << Int($0.rawValue - 1)) != 0 }),
                    capabilities: f["capabilities"] as! [String]))
        case "WELCOME":
            return .welcome(
                Welcome(
                    workerID: WorkerID(id(f, "workerID")), heartbeatIntervalMillis: UInt32(int(f, "heartbeatIntervalMillis")),
                    livenessBeats: UInt16(int(f, "livenessBeats")), coordinatorVersion: str(f, "coordinatorVersion")))
        case "REFUSE":
            return .refuse(Refuse(code: WireStatus(rawValue: UInt16(int(f, "code")))!, reason: str(f, "reason")))
        case "CREDIT":
            return .credit(Credit(credits: UInt16(int(f, "credits"))))
        case "HEARTBEAT":
            return .heartbeat
        case "TASK":
            return .task(
                TaskAssignment(
                    taskID: TaskID(id(f, "taskID")), attempt: UInt32(int(f, "attempt")),
                    kind: TaskKind(rawValue: UInt8(int(f, "kind")))!, jobID: JobID(id(f, "jobID")),
                    frameID: FrameID(id(f, "frameID")), parameters: hexBytes(str(f, "parameters")), payloads: payloads(f)))
        case "RESULT":
            return .result(
                TaskResult(
                    taskID: TaskID(id(f, "taskID")), attempt: UInt32(int(f, "attempt")), computeMicros: u64(f, "computeMicros"),
                    metadata: hexBytes(str(f, "metadata")), payloads: payloads(f)))
        case "FAILURE":
            return .failure(
                TaskFailure(
                    taskID: TaskID(id(f, "taskID")), attempt: UInt32(int(f, "attempt")),
                    code: FailureCode(rawValue: UInt16(int(f, "code")))!, retryable: bool(f, "retryable"), reason: str(f, "reason")))
        case "CANCEL":
            return .cancel(Cancel(taskIDs: (f["taskIDs"] as! [String]).map { TaskID(Int64($0)!) }))
        case "GOODBYE":
            return .goodbye(Goodbye(reason: str(f, "reason")))
        case "SUBMIT":
            return .submit(
                Submit(
                    requestID: UInt32(int(f, "requestID")), jobName: str(f, "jobName"), captureDir: str(f, "captureDir"),
                    outputDir: str(f, "outputDir"), recipe: str(f, "recipe"), tileSize: UInt32(int(f, "tileSize")),
                    format: WireOutputFormat(rawValue: UInt8(int(f, "format")))!, priority: Int32(int(f, "priority")),
                    overwrite: bool(f, "overwrite"), mergeBursts: bool(f, "mergeBursts"),
                    burstGapMillis: UInt32(int(f, "burstGapMillis"))))
        case "SUBMITTED":
            return .submitted(Submitted(requestID: UInt32(int(f, "requestID")), jobID: JobID(id(f, "jobID")), frames: UInt32(int(f, "frames"))))
        case "STATUS":
            let job = id(f, "jobID")
            return .status(StatusRequest(requestID: UInt32(int(f, "requestID")), jobID: job == 0 ? nil : JobID(job)))
        case "STATUS_REPLY":
            let jobs = (f["jobs"] as! [[String: Any]]).map { j in
                JobStatus(
                    jobID: JobID(id(j, "jobID")), name: str(j, "name"), state: WireJobState(rawValue: UInt8(int(j, "state")))!,
                    framesTotal: UInt32(int(j, "framesTotal")), framesDone: UInt32(int(j, "framesDone")),
                    framesFailed: UInt32(int(j, "framesFailed")),
                    tasks: TaskCounts(
                        queued: u64(j, "tasksQueued"), running: u64(j, "tasksRunning"), succeeded: u64(j, "tasksSucceeded"),
                        failed: u64(j, "tasksFailed"), cancelled: u64(j, "tasksCancelled")),
                    outputDir: str(j, "outputDir"),
                    failures: (j["failures"] as! [[String: Any]]).map {
                        WireFrameFailure(framePath: str($0, "framePath"), reason: str($0, "reason"), attempts: UInt32(int($0, "attempts")))
                    })
            }
            return .statusReply(StatusReply(requestID: UInt32(int(f, "requestID")), workersConnected: UInt32(int(f, "workersConnected")), jobs: jobs))
        case "CONTROL_ERROR":
            return .controlError(
                ControlError(requestID: UInt32(int(f, "requestID")), code: WireStatus(rawValue: UInt16(int(f, "code")))!, message: str(f, "message")))
        case "DRAIN", "JOBS", "JOBS_REPLY", "JOB", "JOB_REPLY", "WORKERS", "WORKERS_REPLY", "EVENTS", "EVENTS_REPLY", "STEER", "STEERED":
            return operatorMessage(type: type, f)
        default:
            preconditionFailure("manifest: unknown type \(type)")
        }
    }

    private static func jobRow(_ j: [String: Any]) -> JobRow {
        JobRow(
            jobID: JobID(id(j, "jobID")), name: str(j, "name"), state: WireJobState(rawValue: UInt8(int(j, "state")))!,
            paused: bool(j, "paused"), priority: Int32(int(j, "priority")), framesTotal: UInt32(int(j, "framesTotal")),
            framesDone: UInt32(int(j, "framesDone")), framesFailed: UInt32(int(j, "framesFailed")),
            tasks: TaskCounts(
                queued: u64(j, "tasksQueued"), running: u64(j, "tasksRunning"), succeeded: u64(j, "tasksSucceeded"),
                failed: u64(j, "tasksFailed"), cancelled: u64(j, "tasksCancelled")),
            pixelsDone: u64(j, "pixelsDone"), createdAtMillis: u64(j, "createdAtMillis"), startedAtMillis: u64(j, "startedAtMillis"),
            finishedAtMillis: u64(j, "finishedAtMillis"))
    }

    private static func counts(_ f: [String: Any], _ key: String) -> [StateCount] {
        (f[key] as! [[String: Any]]).map { StateCount(name: str($0, "name"), count: u64($0, "count")) }
    }

    private static func optionalID(_ f: [String: Any], _ key: String) -> Int64? {
        let value = id(f, key)
        return value == 0 ? nil : value
    }

    /// The operator messages (PROTOCOL.md §4.2).
    static func operatorMessage(type: String, _ f: [String: Any]) -> WireMessage {
        let requestID = f["requestID"].map { UInt32($0 as! Int) } ?? 0
        switch type {
        case "DRAIN":
            return .drain(Drain(reason: str(f, "reason")))
        case "JOBS":
            return .jobs(JobsRequest(requestID: requestID, limit: UInt32(int(f, "limit"))))
        case "JOBS_REPLY":
            let stuck = (f["stuck"] as! [[String: Any]]).map {
                StuckTask(
                    taskID: TaskID(id($0, "taskID")), jobID: JobID(id($0, "jobID")), workerID: WorkerID(id($0, "workerID")),
                    kind: TaskKind(rawValue: UInt8(int($0, "kind")))!, runningMillis: u64($0, "runningMillis"),
                    expectedMillis: u64($0, "expectedMillis"))
            }
            return .jobsReply(JobsReply(
                requestID: requestID, nowMillis: u64(f, "nowMillis"), workersConnected: UInt32(int(f, "workersConnected")),
                jobsTotal: UInt32(int(f, "jobsTotal")), jobs: (f["jobs"] as! [[String: Any]]).map(jobRow), stuck: stuck))
        case "JOB":
            return .job(JobDetailRequest(requestID: requestID, jobID: JobID(id(f, "jobID")), limit: UInt32(int(f, "limit"))))
        case "JOB_REPLY":
            return .jobReply(JobDetailReply(
                requestID: requestID, job: jobRow(f["job"] as! [String: Any]), frameStates: counts(f, "frameStates"),
                taskStates: counts(f, "taskStates"),
                failures: (f["failures"] as! [[String: Any]]).map {
                    JobFailure(frameID: FrameID(id($0, "frameID")), path: str($0, "path"), code: str($0, "code"),
                               reason: str($0, "reason"), attempts: UInt32(int($0, "attempts")))
                },
                outputs: (f["outputs"] as! [[String: Any]]).map {
                    JobOutput(frameID: FrameID(id($0, "frameID")), path: str($0, "path"), bytes: u64($0, "bytes"))
                }))
        case "WORKERS":
            return .workers(WorkersRequest(requestID: requestID, includeGone: bool(f, "includeGone"), limit: UInt32(int(f, "limit"))))
        case "WORKERS_REPLY":
            let rows = (f["workers"] as! [[String: Any]]).map { w in
                WorkerRow(
                    workerID: WorkerID(id(w, "workerID")), name: str(w, "name"), host: str(w, "host"), slots: UInt16(int(w, "slots")),
                    state: WireWorkerState(rawValue: UInt8(int(w, "state")))!, runningTasks: UInt32(int(w, "runningTasks")),
                    registeredAtMillis: u64(w, "registeredAtMillis"), lastSeenMillis: u64(w, "lastSeenMillis"),
                    tasksSucceeded: u64(w, "tasksSucceeded"), tasksFailed: u64(w, "tasksFailed"), computeMicros: u64(w, "computeMicros"))
            }
            return .workersReply(WorkersReply(requestID: requestID, nowMillis: u64(f, "nowMillis"), workersTotal: UInt32(int(f, "workersTotal")), workers: rows))
        case "EVENTS":
            return .events(EventsRequest(
                requestID: requestID, jobID: optionalID(f, "jobID").map { JobID($0) }, afterEventID: id(f, "afterEventID"),
                limit: UInt32(int(f, "limit"))))
        case "EVENTS_REPLY":
            let events = (f["events"] as! [[String: Any]]).map { e in
                EventRow(
                    eventID: id(e, "eventID"), atMillis: u64(e, "atMillis"), level: WireEventLevel(rawValue: UInt8(int(e, "level")))!,
                    kind: str(e, "kind"), message: str(e, "message"), jobID: optionalID(e, "jobID").map { JobID($0) },
                    workerID: optionalID(e, "workerID").map { WorkerID($0) })
            }
            return .eventsReply(EventsReply(requestID: requestID, events: events))
        case "STEER":
            return .steer(Steer(
                requestID: requestID, action: SteerAction(rawValue: UInt8(int(f, "action")))!, targetID: id(f, "targetID"),
                value: Int32(int(f, "value"))))
        case "STEERED":
            return .steered(Steered(
                requestID: requestID, action: SteerAction(rawValue: UInt8(int(f, "action")))!, targetID: id(f, "targetID"),
                state: str(f, "state"), paused: bool(f, "paused"), priority: Int32(int(f, "priority")),
                tasksAffected: u64(f, "tasksAffected"), message: str(f, "message")))
        default:
            preconditionFailure("manifest: unknown type \(type)")
        }
    }

    static func error(_ e: [String: Any]) -> WireError {
        let field = e["field"] as? String ?? ""
        switch e["case"] as! String {
        case "truncated": return .truncated(field: field)
        case "badSignature": return .badSignature(found: UInt16(int(e, "found")))
        case "unsupportedVersion": return .unsupportedVersion(UInt8(int(e, "version")))
        case "unknownMessageType": return .unknownMessageType(UInt8(int(e, "type")))
        case "stringTooLong": return .stringTooLong(field: field, length: int(e, "length"), max: int(e, "max"))
        case "bytesTooLong": return .bytesTooLong(field: field, length: int(e, "length"), max: int(e, "max"))
        case "invalidUTF8": return .invalidUTF8(field: field)
        case "invalidBool": return .invalidBool(field: field, value: UInt8(int(e, "value")))
        case "listTooLong": return .listTooLong(field: field, count: int(e, "count"), max: int(e, "max"))
        case "invalidEnumValue": return .invalidEnumValue(field: field, value: u64(e, "value"))
        case "valueOutOfRange": return .valueOutOfRange(field: field, value: u64(e, "value"), allowed: str(e, "allowed"))
        case "trailingBytes": return .trailingBytes(count: int(e, "count"))
        case "payloadTooLarge": return .payloadTooLarge(field: field, length: u64(e, "length"), max: u64(e, "max"))
        case let other: preconditionFailure("manifest: unknown error case \(other)")
        }
    }
}

/// Decodes, returning the error instead of throwing (for comparisons).
func decodeResult(_ bytes: [UInt8], limits: WireLimits = .default) -> Result<WireMessage, WireError> {
    do throws(WireError) {
        return .success(try WireCodec.decode(bytes, limits: limits))
    } catch {
        return .failure(error)
    }
}
