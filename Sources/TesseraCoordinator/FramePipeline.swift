import Foundation
import Logging
import Synchronization
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire

/// The coordinator's side of a frame's life, off the socket thread: preparing task messages
/// (reading RAW files, cutting tile windows out of spooled planes), persisting results
/// (persist-before-record: pixels reach the spool before the task is marked done), and
/// assembling and writing finished frames atomically.
///
/// Every method is safe to call from any thread; the store serialises state changes.
public final class FramePipeline: Sendable {
    let store: TesseraStore
    let spool: Spool
    let config: CoordinatorConfig
    let logger: Logger
    let events: EventLog
    /// Develop pipeline per frame, resolved once from the recipe and the decode metadata.
    private let pipelineCache = Mutex<[FrameID: DevelopPipeline]>([:])
    /// Tells the dispatcher that tasks were inserted outside a result it is handling (a burst
    /// planned or merged from a background thread); set once by the coordinator.
    private let onTasksAvailable = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets what ``wakeDispatch()`` calls.
    func setWake(_ wake: @escaping @Sendable () -> Void) { onTasksAvailable.withLock { $0 = wake } }

    /// Nudges the dispatcher: new tasks may be claimable.
    func wakeDispatch() { onTasksAvailable.withLock { $0 }?() }

    init(store: TesseraStore, spool: Spool, config: CoordinatorConfig, logger: Logger) {
        self.store = store
        self.spool = spool
        self.config = config
        self.logger = logger
        self.events = EventLog(store: store, logger: logger)
    }

    /// A task ready to send: the wire header plus payload frames.
    struct PreparedTask: Sendable {
        var message: TaskAssignment
        var payloads: [[UInt8]]
    }

    /// Builds the TASK message for a claimed task. Throws a reason when the task cannot be
    /// prepared (unreadable file, missing spool); the caller records it as a failure.
    func prepare(_ task: ClaimedTask) throws -> PreparedTask {
        switch task.kind {
        case .decode:
            if task.member != nil { return try prepareMemberDecode(task) }
            let bytes = try InputFile.read(task.framePath)
            guard let format = OutputFormat(rawValue: task.format) else {
                throw PipelineError.inconsistent("job \(task.jobID) has unknown format \(task.format)")
            }
            let recipe = try TaskContract.decode(Recipe.self, from: Array(task.recipeDocument.utf8))
            let params = TaskContract.DecodeParameters(
                fileName: (task.framePath as NSString).lastPathComponent, maxPixels: config.maxFramePixels,
                wholeFrame: TaskContract.WholeFrame(tileSize: task.tileSize, recipe: recipe, format: format,
                                                    stages: try DevelopSettings.stages(for: recipe)))
            return PreparedTask(
                message: assignment(task, parameters: TaskContract.encode(params), payloads: [bytes]),
                payloads: [bytes])
        case .mergeTile:
            return try prepareMergeTile(task)
        case .developTile:
            guard let core = task.core, let spoolPath = task.spoolPath
            else { throw PipelineError.inconsistent("tile task \(task.taskID) has no decoded frame") }
            // Tiles are planned in output coordinates (resize and crop change them); the CFA
            // window each needs comes from the pipeline's backward region planning.
            let pipeline = try developPipeline(for: task)
            let cfa = pipeline.frame
            let inputRect = pipeline.cfaWindow(forOutput: core)
            let window = try spool.withPlane(at: spoolPath, count: cfa.width * cfa.height) { plane in
                Developer.window(inputRect, of: plane, width: cfa.width, height: cfa.height)
            }
            let params = TaskContract.DevelopTileParameters(settings: pipeline.settings, inputRect: inputRect, core: core)
            let payload = SampleBytes.bytes(of: window.pixels)
            return PreparedTask(
                message: assignment(task, parameters: TaskContract.encode(params), payloads: [payload]),
                payloads: [payload])
        }
    }

    func assignment(_ task: ClaimedTask, parameters: [UInt8], payloads: [[UInt8]]) -> TaskAssignment {
        TaskAssignment(
            taskID: task.taskID, attempt: UInt32(task.attempt), kind: task.kind,
            jobID: task.jobID, frameID: task.frameID,
            parameters: parameters, payloads: payloads.map { PayloadDescriptor(describing: $0) })
    }

    func developPipeline(for task: ClaimedTask) throws -> DevelopPipeline {
        if let cached = pipelineCache.withLock({ $0[task.frameID] }) { return cached }
        guard let metadata = task.frameMetadata else { throw PipelineError.inconsistent("frame \(task.frameID) has no metadata") }
        let decoded = try TaskContract.decode(TaskContract.DecodeResult.self, from: Array(metadata.utf8))
        let recipe = try TaskContract.decode(Recipe.self, from: Array(task.recipeDocument.utf8))
        let pipeline = try Self.pipeline(recipe: recipe, decoded: decoded)
        pipelineCache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[task.frameID] = pipeline
        }
        return pipeline
    }

    /// The develop pipeline of a decoded frame under a recipe.
    static func pipeline(recipe: Recipe, decoded: TaskContract.DecodeResult) throws -> DevelopPipeline {
        let settings = try DevelopSettings.resolve(recipe: recipe, info: decoded.info, statistics: decoded.statistics)
        return try DevelopPipeline(settings: settings)
    }

    /// Persists a decode result and plans the frame's tiles. Returns true when new tasks exist.
    func acceptDecode(taskID: TaskID, attempt: Int, frameID: FrameID, result: TaskResult, payloads: [[UInt8]]) throws -> Bool {
        let decoded = try TaskContract.decode(TaskContract.DecodeResult.self, from: result.metadata)
        let info = decoded.info
        if let member = decoded.member {
            return try acceptMemberDecode(taskID: taskID, attempt: attempt, frameID: frameID, decoded: decoded, summary: member,
                                          result: result, payloads: payloads)
        }
        if decoded.developed {
            guard payloads.count == 1 else { throw TaskContractError.payloadCount(expected: 1, actual: payloads.count) }
            try acceptDevelopedWhole(taskID: taskID, attempt: attempt, frameID: frameID, info: info, encoded: payloads[0],
                                     computeMicros: Int64(result.computeMicros))
            return false
        }
        guard payloads.count == 1 else { throw TaskContractError.payloadCount(expected: 1, actual: payloads.count) }
        guard payloads[0].count == info.width * info.height * 2, info.width > 0, info.height > 0 else {
            throw TaskContractError.payloadSize(what: "decoded plane", expected: info.width * info.height * 2, actual: payloads[0].count)
        }
        let job = try job(of: frameID)
        // The frame's size in the store is its OUTPUT size (tiles and assembly live there); the
        // CFA plane's size travels in the metadata.
        let recipe = try TaskContract.decode(Recipe.self, from: Array(job.recipeDocument.utf8))
        let output = try Self.pipeline(recipe: recipe, decoded: decoded).outputSize
        let spoolPath = try payloads[0].withUnsafeBytes { try spool.storePlane($0, frame: frameID) }
        let cores = TilePlanner(tileSize: job.tileSize).cores(width: output.width, height: output.height)
        let metadata = String(decoding: TaskContract.encode(decoded), as: UTF8.self)
        let outcome = try store.recordDecoded(
            task: taskID, attempt: attempt, width: output.width, height: output.height, metadata: metadata,
            spoolPath: spoolPath, tiles: cores, computeMicros: Int64(result.computeMicros))
        if case .stale = outcome { return false }
        return true
    }

    /// Writes a frame the worker developed whole (atomically), then records it done.
    private func acceptDevelopedWhole(taskID: TaskID, attempt: Int, frameID: FrameID, info: RawFrameInfo, encoded: [UInt8],
                                      computeMicros: Int64) throws {
        guard let frame = try store.frame(frameID), frame.state == .pending else { return }  // late or duplicate
        let job = try job(of: frameID)
        guard let format = OutputFormat(rawValue: job.format) else {
            throw PipelineError.inconsistent("job \(job.id) has unknown format \(job.format)")
        }
        let recipe = try TaskContract.decode(Recipe.self, from: Array(job.recipeDocument.utf8))
        let outputPath = try outputPath(frame: frame, job: job, recipe: recipe, info: info, format: format)
        try writeOutput(encoded, to: outputPath, overwrite: job.overwrite)
        let metadata = String(decoding: TaskContract.encode(TaskContract.DecodeResult(info: info)), as: UTF8.self)
        guard let jobState = try store.recordDevelopedWhole(
            task: taskID, attempt: attempt, width: info.width, height: info.height, metadata: metadata, outputPath: outputPath,
            byteCount: Int64(encoded.count), checksum: XXH64.hash(encoded), computeMicros: computeMicros)
        else { return }
        events.record(NewEvent(level: .info, kind: "frame.done", message: "\(frame.stem) written to \(outputPath)", job: job.id, frame: frameID))
        if jobState.isFinished {
            events.record(NewEvent(level: .info, kind: "job.finished", message: "job \(job.id.rawValue) \(jobState.rawValue)", job: job.id))
        }
    }

    /// Persists a developed tile; when it completes its frame, assembles and writes the output.
    func acceptTile(taskID: TaskID, attempt: Int, frameID: FrameID, result: TaskResult, payloads: [[UInt8]]) throws {
        guard let frame = try store.frame(frameID), let width = frame.width, let height = frame.height else {
            throw PipelineError.inconsistent("tile result for unknown or undecoded frame \(frameID)")
        }
        guard let tile = try store.tiles(of: frameID).first(where: { $0.taskID == taskID }) else {
            throw PipelineError.inconsistent("task \(taskID) is not a tile of frame \(frameID)")
        }
        guard payloads.count == 1 else { throw TaskContractError.payloadCount(expected: 1, actual: payloads.count) }
        try payloads[0].withUnsafeBytes {
            try spool.storeTile($0, core: tile.core, frame: frameID, frameWidth: width, frameHeight: height)
        }
        let outcome = try store.recordTileDone(task: taskID, attempt: attempt, computeMicros: Int64(result.computeMicros))
        if case .frameComplete(let complete) = outcome { assemble(complete) }
    }

    /// Encodes frame `id` from its assembly file, writes the output atomically and records it.
    /// A failure here fails the frame with the reason (the job goes on).
    func assemble(_ id: FrameID) {
        do {
            guard let frame = try store.frame(id), let width = frame.width, let height = frame.height
            else { throw PipelineError.inconsistent("frame \(id) vanished before assembly") }
            let job = try job(of: id)
            guard let format = OutputFormat(rawValue: job.format) else {
                throw PipelineError.inconsistent("job \(job.id) has unknown format \(job.format)")
            }
            let recipe = try TaskContract.decode(Recipe.self, from: Array(job.recipeDocument.utf8))
            guard let metadata = frame.metadata else { throw PipelineError.inconsistent("frame \(id) has no decode metadata") }
            let info = try TaskContract.decode(TaskContract.DecodeResult.self, from: Array(metadata.utf8)).info
            let image = try spool.readAssembled(frame: id, width: width, height: height)
            let bytes = try OutputFile.encode(image, format: format, recipe: recipe, info: info)
            let outputPath = try outputPath(frame: frame, job: job, recipe: recipe, info: info, format: format)
            try writeOutput(bytes, to: outputPath, overwrite: job.overwrite)
            let jobState = try store.recordFrameOutput(frame: id, outputPath: outputPath, byteCount: Int64(bytes.count), checksum: XXH64.hash(bytes))
            spool.remove(frame: id)
            events.record(NewEvent(level: .info, kind: "frame.done", message: "\(frame.stem) written to \(outputPath)", job: job.id, frame: id))
            if jobState.isFinished {
                events.record(NewEvent(level: .info, kind: "job.finished", message: "job \(job.id.rawValue) \(jobState.rawValue)", job: job.id))
            }
            pipelineCache.withLock { _ = $0.removeValue(forKey: id) }
        } catch {
            events.record(NewEvent(level: .error, kind: "frame.failed", message: "assembly of frame \(id.rawValue) failed: \(error)", frame: id))
            do { try store.recordFrameFailed(frame: id, reason: "assembly: \(error)") } catch {
                logger.critical("cannot record failure of frame \(id): \(error)")
            }
        }
    }

    /// Where a frame's output goes: the job's output directory and the recipe's naming template.
    func outputPath(frame: FrameRecord, job: JobRecord, recipe: Recipe, info: RawFrameInfo, format: OutputFormat) throws -> String {
        let name = try OutputFile.name(stem: frame.stem, sequence: frame.index + 1, recipe: recipe, info: info, format: format)
        return URL(fileURLWithPath: job.outputDir).appendingPathComponent(name).path
    }

    func job(of frame: FrameID) throws -> JobRecord {
        guard let record = try store.frame(frame), let job = try store.job(record.jobID) else {
            throw PipelineError.inconsistent("frame \(frame) has no job")
        }
        return job
    }

    /// Records a task's failure (requeue or fail its frame) and the event operators see.
    func recordFailure(task: TaskID, attempt: Int, code: String, reason: String, retryable: Bool, worker: WorkerID?) {
        do {
            let record = try store.recordFailure(task: task, attempt: attempt, code: code, reason: reason, retryable: retryable,
                                                 policy: config.retryPolicy)
            if let banned = record.bannedWorker {
                events.record(NewEvent(level: .warning, kind: "worker.banned",
                                       message: "\(banned) failed \(config.badWorkerThreshold) tasks of this job; it gets no more of them",
                                       task: task, worker: worker))
            }
            switch record.outcome {
            case .requeued:
                events.record(NewEvent(level: .warning, kind: "task.retry", message: "task \(task.rawValue) attempt \(attempt) failed (\(code)): \(reason); requeued",
                                       task: task, worker: worker))
            case .frameFailed(let frame):
                events.record(NewEvent(level: .error, kind: "frame.failed", message: "frame \(frame.rawValue) failed: \(reason)",
                                       frame: frame, task: task, worker: worker))
            case .memberSkipped(let frame):
                // The member is left out (the skip event is recorded with the plan); the burst
                // goes on once its other members are finished.
                DispatchQueue.global(qos: .utility).async { self.planBurstIfReady(frame) }
            case .stale:
                break
            }
        } catch {
            logger.error("cannot record failure of task \(task): \(error)")
        }
    }

    /// Writes an output atomically. An existing file with exactly these bytes counts as written
    /// (a coordinator that crashed between rename and commit is resuming); any other existing
    /// file is kept unless the job allows overwriting.
    func writeOutput(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            if let existing = FileManager.default.contents(atPath: path), existing.elementsEqual(bytes) { return }
        }
        try ImageWriter.writeAtomically(bytes, to: path, overwrite: overwrite)
    }
}

/// The coordinator could not do its share of a task.
enum PipelineError: Error, CustomStringConvertible {
    case unreadableInput(path: String, reason: String)
    case inconsistent(String)

    var description: String {
        switch self {
        case .unreadableInput(let path, let reason): "cannot read \(path): \(reason)"
        case .inconsistent(let message): "internal inconsistency: \(message)"
        }
    }
}
