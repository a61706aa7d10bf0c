import TesseraCore
import TesseraWire

/// Seeded random messages of every type for property tests. `scale` sizes strings and lists
/// relative to `limits`: 1.0 stays within them, larger values sometimes exceed them.
struct RandomMessages {
    var rng: SplitMix64
    let limits: WireLimits
    /// Probability of producing an out-of-range id or a zero credit (for validate tests).
    let badValueRate: Double
    let overLimit: Bool

    init(seed: UInt64, limits: WireLimits = .default, overLimit: Bool = false, badValueRate: Double = 0) {
        rng = SplitMix64(seed: seed)
        self.limits = limits
        self.overLimit = overLimit
        self.badValueRate = badValueRate
    }

    private static let alphabets: [[Unicode.Scalar]] = [
        Array("abcdefghijklmnopqrstuvwxyz0123456789-_/. ".unicodeScalars),
        Array("äöüßéèçñøå€“”—…".unicodeScalars),
        Array("日本語写真処理猫".unicodeScalars),
        ["\u{1F4F7}", "\u{1F600}", "\u{1F308}", "\u{10FFFF}"],
        ["\u{301}", "\u{200D}", "\u{FEFF}", "\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{FFFF}", "\u{10000}"],
    ]

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { rng.nextUnit() < p }
    mutating func u16() -> UInt16 { UInt16(truncatingIfNeeded: edgy()) }
    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: edgy()) }
    mutating func u64() -> UInt64 { edgy() }

    /// Mostly random, sometimes 0 / max / small.
    mutating func edgy() -> UInt64 {
        switch int(0...5) {
        case 0: 0
        case 1: .max
        case 2: UInt64(int(0...300))
        default: rng.next()
        }
    }

    mutating func id() -> Int64 {
        if badValueRate > 0, chance(badValueRate) { return -Int64(int(1...5)) }
        switch int(0...3) {
        case 0: return Int64.max
        case 1: return Int64(int(1...1000))
        default: return Int64(bitPattern: rng.next() >> 1)
        }
    }

    /// A string of at most `max` UTF-8 bytes: empty, exactly `max`, or random; mixed scripts.
    /// With `overLimit`, sometimes a few bytes over.
    mutating func string(max: Int) -> String {
        var target: Int
        switch int(0...5) {
        case 0: target = 0
        case 1: target = max
        default: target = int(0...min(max, 40))
        }
        if overLimit, chance(0.05) { target = max + int(1...3) }
        var scalars = String.UnicodeScalarView()
        var used = 0
        let alphabet = Self.alphabets[int(0...(Self.alphabets.count - 1))]
        while used < target {
            var scalar = alphabet[int(0...(alphabet.count - 1))]
            if used + UTF8.width(scalar) > target { scalar = "x" }
            scalars.append(scalar)
            used += UTF8.width(scalar)
        }
        return String(scalars)
    }

    mutating func bytes(max: Int) -> [UInt8] {
        var count = chance(0.1) ? max : int(0...min(max, 64))
        if overLimit, chance(0.05) { count = max + 1 }
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    mutating func count(max: Int, typical: Int) -> Int {
        if overLimit, chance(0.05) { return max + 1 }
        // Full-size lists only where that is cheap; LimitTests covers the large maxima.
        return max <= 100 && chance(0.05) ? max : int(0...min(max, typical))
    }

    mutating func payloads() -> [PayloadDescriptor] {
        (0..<count(max: limits.maxPayloads, typical: 4)).map { _ in
            var length = chance(0.1) ? limits.maxPayloadLength : rng.next() % (limits.maxPayloadLength + 1)
            if overLimit, chance(0.05) { length = limits.maxPayloadLength + 1 }
            return PayloadDescriptor(length: length, checksum: rng.next())
        }
    }

    mutating func message(of type: MessageType) -> WireMessage {
        let s = limits.maxStringLength
        switch type {
        case .hello:
            var kinds = Set<TaskKind>()
            for kind in TaskKind.allCases where chance(0.5) { kinds.insert(kind) }
            return .hello(
                Hello(
                    workerName: string(max: s), hostname: string(max: s), softwareVersion: string(max: s), cores: u16(),
                    memoryBytes: u64(), slots: u16(), taskKinds: kinds,
                    capabilities: (0..<count(max: limits.maxCapabilities, typical: 6)).map { _ in string(max: limits.maxCapabilityLength) }))
        case .welcome:
            return .welcome(Welcome(workerID: WorkerID(id()), heartbeatIntervalMillis: u32(), livenessBeats: u16(), coordinatorVersion: string(max: s)))
        case .refuse:
            return .refuse(Refuse(code: WireStatus.allCases.randomElement(using: &rng)!, reason: string(max: s)))
        case .credit:
            let credits = badValueRate > 0 && chance(badValueRate) ? 0 : UInt16(int(1...65535))
            return .credit(Credit(credits: credits))
        case .heartbeat:
            return .heartbeat
        case .task:
            return .task(
                TaskAssignment(
                    taskID: TaskID(id()), attempt: u32(), kind: TaskKind.allCases.randomElement(using: &rng)!, jobID: JobID(id()),
                    frameID: FrameID(id()), parameters: bytes(max: limits.maxParametersLength), payloads: payloads()))
        case .result:
            return .result(
                TaskResult(taskID: TaskID(id()), attempt: u32(), computeMicros: u64(), metadata: bytes(max: limits.maxMetadataLength), payloads: payloads()))
        case .failure:
            return .failure(
                TaskFailure(
                    taskID: TaskID(id()), attempt: u32(), code: FailureCode.allCases.randomElement(using: &rng)!, retryable: chance(0.5),
                    reason: string(max: s)))
        case .cancel:
            return .cancel(Cancel(taskIDs: (0..<count(max: limits.maxCancelTaskIDs, typical: 20)).map { _ in TaskID(id()) }))
        case .goodbye:
            return .goodbye(Goodbye(reason: string(max: s)))
        case .submit:
            return .submit(
                Submit(
                    requestID: u32(), jobName: string(max: s), captureDir: string(max: s), outputDir: string(max: s),
                    recipe: string(max: limits.maxRecipeLength), tileSize: u32(), format: WireOutputFormat.allCases.randomElement(using: &rng)!,
                    priority: Int32(truncatingIfNeeded: edgy()), overwrite: chance(0.5), mergeBursts: chance(0.5),
                    burstGapMillis: u32()))
        case .submitted:
            return .submitted(Submitted(requestID: u32(), jobID: JobID(id()), frames: u32()))
        case .status:
            return .status(StatusRequest(requestID: u32(), jobID: chance(0.3) ? nil : JobID(id())))
        case .statusReply:
            let jobs = (0..<count(max: limits.maxStatusJobs, typical: 4)).map { _ in
                JobStatus(
                    jobID: JobID(id()), name: string(max: s), state: WireJobState.allCases.randomElement(using: &rng)!, framesTotal: u32(),
                    framesDone: u32(), framesFailed: u32(),
                    tasks: TaskCounts(queued: u64(), running: u64(), succeeded: u64(), failed: u64(), cancelled: u64()),
                    outputDir: string(max: s),
                    failures: (0..<count(max: limits.maxJobFailures, typical: 4)).map { _ in
                        WireFrameFailure(framePath: string(max: s), reason: string(max: s), attempts: u32())
                    })
            }
            return .statusReply(StatusReply(requestID: u32(), workersConnected: u32(), jobs: jobs))
        case .controlError:
            return .controlError(ControlError(requestID: u32(), code: WireStatus.allCases.randomElement(using: &rng)!, message: string(max: s)))
        case .drain, .jobs, .jobsReply, .job, .jobReply, .workers, .workersReply, .events, .eventsReply, .steer, .steered:
            return operatorMessage(of: type)
        }
    }

    /// An id that is `nil` or positive (0 stands for `nil` on the wire), sometimes out of range.
    mutating func optionalID() -> Int64? {
        if chance(0.3) { return nil }
        let value = id()
        return value == 0 ? 1 : value
    }

    mutating func jobRow() -> JobRow {
        let s = limits.maxStringLength
        return JobRow(
            jobID: JobID(id()), name: string(max: s), state: WireJobState.allCases.randomElement(using: &rng)!, paused: chance(0.5),
            priority: Int32(truncatingIfNeeded: edgy()), framesTotal: u32(), framesDone: u32(), framesFailed: u32(),
            tasks: TaskCounts(queued: u64(), running: u64(), succeeded: u64(), failed: u64(), cancelled: u64()),
            pixelsDone: u64(), createdAtMillis: u64(), startedAtMillis: u64(), finishedAtMillis: u64())
    }

    mutating func stateCounts() -> [StateCount] {
        (0..<count(max: limits.maxStateCounts, typical: 5)).map { _ in StateCount(name: string(max: limits.maxStringLength), count: u64()) }
    }

    mutating func operatorMessage(of type: MessageType) -> WireMessage {
        let s = limits.maxStringLength
        switch type {
        case .drain:
            return .drain(Drain(reason: string(max: s)))
        case .jobs:
            return .jobs(JobsRequest(requestID: u32(), limit: u32()))
        case .jobsReply:
            let jobs = (0..<count(max: limits.maxStatusJobs, typical: 4)).map { _ in jobRow() }
            let stuck = (0..<count(max: limits.maxStatusJobs, typical: 3)).map { _ in
                StuckTask(taskID: TaskID(id()), jobID: JobID(id()), workerID: WorkerID(id()), kind: TaskKind.allCases.randomElement(using: &rng)!,
                          runningMillis: u64(), expectedMillis: u64())
            }
            return .jobsReply(JobsReply(requestID: u32(), nowMillis: u64(), workersConnected: u32(), jobsTotal: u32(), jobs: jobs, stuck: stuck))
        case .job:
            return .job(JobDetailRequest(requestID: u32(), jobID: JobID(id()), limit: u32()))
        case .jobReply:
            let failures = (0..<count(max: limits.maxJobFailures, typical: 3)).map { _ in
                JobFailure(frameID: FrameID(id()), path: string(max: s), code: string(max: s), reason: string(max: s), attempts: u32())
            }
            let outputs = (0..<count(max: limits.maxJobFailures, typical: 3)).map { _ in
                JobOutput(frameID: FrameID(id()), path: string(max: s), bytes: u64())
            }
            return .jobReply(JobDetailReply(requestID: u32(), job: jobRow(), frameStates: stateCounts(), taskStates: stateCounts(),
                                            failures: failures, outputs: outputs))
        case .workers:
            return .workers(WorkersRequest(requestID: u32(), includeGone: chance(0.5), limit: u32()))
        case .workersReply:
            let rows = (0..<count(max: limits.maxWorkerRows, typical: 4)).map { _ in
                WorkerRow(workerID: WorkerID(id()), name: string(max: s), host: string(max: s), slots: u16(),
                          state: WireWorkerState.allCases.randomElement(using: &rng)!, runningTasks: u32(), registeredAtMillis: u64(),
                          lastSeenMillis: u64(), tasksSucceeded: u64(), tasksFailed: u64(), computeMicros: u64())
            }
            return .workersReply(WorkersReply(requestID: u32(), nowMillis: u64(), workersTotal: u32(), workers: rows))
        case .events:
            return .events(EventsRequest(requestID: u32(), jobID: optionalID().map { JobID($0) }, afterEventID: id(), limit: u32()))
        case .eventsReply:
            let events = (0..<count(max: limits.maxEvents, typical: 4)).map { _ in
                EventRow(eventID: id(), atMillis: u64(), level: WireEventLevel.allCases.randomElement(using: &rng)!, kind: string(max: s),
                         message: string(max: s), jobID: optionalID().map { JobID($0) }, workerID: optionalID().map { WorkerID($0) })
            }
            return .eventsReply(EventsReply(requestID: u32(), events: events))
        case .steer:
            return .steer(Steer(requestID: u32(), action: SteerAction.allCases.randomElement(using: &rng)!, targetID: id(),
                                value: Int32(truncatingIfNeeded: edgy())))
        case .steered:
            return .steered(Steered(requestID: u32(), action: SteerAction.allCases.randomElement(using: &rng)!, targetID: id(),
                                    state: string(max: s), paused: chance(0.5), priority: Int32(truncatingIfNeeded: edgy()),
                                    tasksAffected: u64(), message: string(max: s)))
        default:
            preconditionFailure("not an operator message: \(type)")
        }
    }

    mutating func message() -> WireMessage {
        message(of: MessageType.allCases.randomElement(using: &rng)!)
    }
}

/// The seed for a property test: `TESSERA_WIRE_SEED` if set, else a fresh one. Always printed.
func propertySeed(_ test: String) -> UInt64 {
    var seed: UInt64
    if let text = ProcessInfoShim.environment("TESSERA_WIRE_SEED"), let value = UInt64(text) {
        seed = value
    } else {
        var system = SystemRandomNumberGenerator()
        seed = system.next()
    }
    print("\(test): seed \(seed) (rerun with TESSERA_WIRE_SEED=\(seed))")
    return seed
}
