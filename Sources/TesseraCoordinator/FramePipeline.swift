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
    /// Which decoded planes each worker session holds (the input cache, docs/architecture.md).
    let planes = PlaneDirectory()
    /// Failed output writes per frame still waiting for assembly (drives the retry backoff).
    private let assemblyRetries = Mutex<[FrameID: Int]>([:])

    init(store: TesseraStore, spool: Spool, config: CoordinatorConfig, logger: Logger) {
        self.store = store
        self.spool = spool
        self.config = config
        self.logger = logger
        self.events = EventLog(store: store, logger: logger)
    }

    /// The payload bytes `prepare` will produce for `task`, known before anything is read (file
    /// sizes for a decode, the CFA window for a tile): what the bytes-in-flight bound reserves.
    func payloadBytes(_ task: ClaimedTask) throws -> Int {
        switch task.kind {
        case .decode:
            // A burst member's decode sends that member's file only.
            let paths = [task.framePath] + task.members
            let path = task.member.flatMap { paths.indices.contains($0) ? paths[$0] : nil } ?? task.framePath
            var st = stat()
            return stat(path, &st) == 0 ? Int(st.st_size) : 0
        case .developTile:
            guard let core = task.core else { throw PipelineError.inconsistent("tile task \(task.taskID) has no core") }
            return try developPipeline(for: task).cfaWindow(forOutput: core).area * 2
        case .mergeTile:
            let windows = try mergeTileWindows(task)
            return ([windows.reference] + windows.alternates).reduce(0) { $0 + $1.area * 2 }
        }
    }

    /// A task ready to send: the wire header plus payload frames.
    struct PreparedTask: Sendable {
        var message: TaskAssignment
        var payloads: [[UInt8]]
        /// The claimed task this message was built from.
        var claimed: ClaimedTask? = nil
        /// Planes the message references instead of sending windows cut from them (the input
        /// cache); empty when every input travels inline.
        var referenced: [TaskContract.PlaneReference] = []
        /// Window bytes not sent because of ``referenced`` (what an inline task would carry more).
        var savedBytes = 0
        /// The payloads' total size in bytes.
        var payloadBytes: Int { payloads.reduce(0) { $0 + $1.count } }
    }

    /// Builds the TASK message for a claimed task. Throws a reason when the task cannot be
    /// prepared (unreadable file, missing spool); the caller records it as a failure.
    ///
    /// With `session`, tile and merge inputs whose plane that worker session holds (its input
    /// cache, ``PlaneDirectory``) are referenced instead of sent; without, everything is inline.
    func prepare(_ task: ClaimedTask, session: UInt64? = nil) throws -> PreparedTask {
        var prepared = try prepareMessage(task, session: session)
        prepared.claimed = task
        return prepared
    }

    private func prepareMessage(_ task: ClaimedTask, session: UInt64?) throws -> PreparedTask {
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
            return prepared(task, parameters: TaskContract.encode(params), payloads: [DescribedPayload(bytes)])
        case .mergeTile:
            return try prepareMergeTile(task, session: session)
        case .developTile:
            guard let core = task.core, let spoolPath = task.spoolPath
            else { throw PipelineError.inconsistent("tile task \(task.taskID) has no decoded frame") }
            // Tiles are planned in output coordinates (resize and crop change them); the CFA
            // window each needs comes from the pipeline's backward region planning.
            let pipeline = try developPipeline(for: task)
            let cfa = pipeline.frame
            let inputRect = pipeline.cfaWindow(forOutput: core)
            if let session, let plane = planes.lookUp([.init(frame: task.frameID, member: nil)], session: session)[0],
               plane.width == cfa.width, plane.height == cfa.height {
                // The worker holds the frame's plane: it cuts the window itself (input cache).
                let params = TaskContract.DevelopTileParameters(
                    settings: pipeline.settings, inputRect: inputRect, core: core,
                    cachedInputs: [TaskContract.CachedWindow(slot: 0, plane: plane, rect: inputRect)])
                return prepared(task, parameters: TaskContract.encode(params), payloads: [],
                                referenced: [plane], savedBytes: inputRect.area * 2)
            }
            let window = try spool.withPlane(at: spoolPath, count: cfa.width * cfa.height) { plane in
                Developer.window(inputRect, of: plane, width: cfa.width, height: cfa.height)
            }
            let params = TaskContract.DevelopTileParameters(settings: pipeline.settings, inputRect: inputRect, core: core)
            // The window's samples become wire bytes and are checksummed in one pass.
            return prepared(task, parameters: TaskContract.encode(params), payloads: [DescribedPayload(samples: window.pixels)])
        }
    }

    /// The TASK for `task` with `parameters` and `payloads`, described here on the preparation
    /// queue: the dispatch thread only frames and sends it (zero-copy).
    func prepared(_ task: ClaimedTask, parameters: [UInt8], payloads: [DescribedPayload],
                  referenced: [TaskContract.PlaneReference] = [], savedBytes: Int = 0) -> PreparedTask {
        let message = TaskAssignment(
            taskID: task.taskID, attempt: UInt32(task.attempt), kind: task.kind,
            jobID: task.jobID, frameID: task.frameID,
            parameters: parameters, payloads: payloads.map(\.descriptor))
        return PreparedTask(message: message, payloads: payloads.map(\.bytes), referenced: referenced, savedBytes: savedBytes)
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
    /// `session` is the worker session that sent the result: its input cache now holds the plane.
    func acceptDecode(taskID: TaskID, attempt: Int, frameID: FrameID, result: TaskResult, payloads: [[UInt8]],
                      session: UInt64? = nil) throws -> Bool {
        let decoded = try TaskContract.decode(TaskContract.DecodeResult.self, from: result.metadata)
        let info = decoded.info
        if let member = decoded.member {
            return try acceptMemberDecode(taskID: taskID, attempt: attempt, frameID: frameID, decoded: decoded, summary: member,
                                          result: result, payloads: payloads, session: session)
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
        notePlane(result: result, width: info.width, height: info.height, key: .init(frame: frameID, member: nil), session: session)
        let cores = TilePlanner(tileSize: job.tileSize).cores(width: output.width, height: output.height)
        let metadata = String(decoding: TaskContract.encode(decoded), as: UTF8.self)
        let outcome = try retryingWhileBusy("recording the decode of \(taskID)") {
            try store.recordDecoded(
                task: taskID, attempt: attempt, width: output.width, height: output.height, metadata: metadata,
                spoolPath: spoolPath, tiles: cores, computeMicros: Int64(result.computeMicros))
        }
        if case .stale = outcome { return false }
        return true
    }

    /// Records a decode result's plane (payload 0) as the content of `key`, and as held by the
    /// input cache of the worker `session` — before the tasks that need it are recorded, so the
    /// first of them can already reference it.
    func notePlane(result: TaskResult, width: Int, height: Int, key: PlaneDirectory.PlaneKey, session: UInt64?) {
        guard let descriptor = result.payloads.first else { return }
        let plane = TaskContract.PlaneReference(length: Int(descriptor.length), checksum: descriptor.checksum, width: width, height: height)
        planes.recordContent(plane, of: key)
        if let session { planes.workerHolds(session: session, length: plane.length, checksum: plane.checksum) }
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
        guard let jobState = try retryingWhileBusy("recording the output of task \(taskID)", {
            try store.recordDevelopedWhole(
                task: taskID, attempt: attempt, width: info.width, height: info.height, metadata: metadata, outputPath: outputPath,
                byteCount: Int64(encoded.count), checksum: XXH64.hash(encoded), computeMicros: computeMicros)
        })
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
        // Tiles superseded by a re-decode (cancelled) keep their ids but have no slot.
        let tiles = try store.tiles(of: frameID).filter { $0.state != .cancelled }
        guard let slot = tiles.firstIndex(where: { $0.taskID == taskID }) else {
            // Its frame was taken back to decode (a corrupt plane): the lease is stale.
            logger.debug("result of task \(taskID) ignored: no longer a tile of frame \(frameID)")
            return
        }
        guard payloads.count == 1 else { throw TaskContractError.payloadCount(expected: 1, actual: payloads.count) }
        try payloads[0].withUnsafeBytes {
            try spool.storeTile($0, core: tiles[slot].core, slot: slot, frame: frameID, frameWidth: width, frameHeight: height)
        }
        let outcome = try retryingWhileBusy("recording tile \(taskID)") {
            try store.recordTileDone(task: taskID, attempt: attempt, computeMicros: Int64(result.computeMicros))
        }
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
            // Every tile is checked against the checksum taken when it was spooled; tiles whose
            // pixels were lost (crash, disk trouble, a hand) are developed again, never encoded.
            let tiles = try store.tiles(of: id).filter { $0.state != .cancelled }
            // The assembly file is mapped, verified and encoded in place: no copy of the frame
            // (16-bit or 8-bit) is ever made (docs/architecture.md, step 5).
            let encoded: EncodedBytes?
            let started = ContinuousClock.now
            do {
                encoded = try spool.withAssembled(frame: id, width: width, height: height) { pixels in
                    let corrupt = try spool.corruptTiles(ofAssembled: pixels, width: width, frame: id, tiles: tiles.map(\.core))
                    if !corrupt.isEmpty {
                        redoTiles(frame: frame, tiles: corrupt.map { tiles[$0].taskID }, all: corrupt.count == tiles.count,
                                  reason: "\(corrupt.count) of \(tiles.count) tile(s) in \(spool.assemblyPath(id)) fail their checksum")
                        return nil
                    }
                    // A deflate TIFF's strips are compressed on every core: ~1 s of one core per 24 MP
                    // frame otherwise, and the coordinator must never be the farm's bottleneck.
                    return try OutputFile.encode(pixels, width: width, height: height, format: format, recipe: recipe, info: info,
                                                 threads: ProcessInfo.processInfo.activeProcessorCount)
                }
            } catch let corruption as SpoolCorruption {
                redoTiles(frame: frame, tiles: tiles.map(\.taskID), all: true, reason: corruption.description)
                return
            }
            guard let output = encoded else { return }
            let encodedAt = ContinuousClock.now
            let outputPath = try outputPath(frame: frame, job: job, recipe: recipe, info: info, format: format)
            do {
                // Written and hashed from the encoder's own buffer: no copy of the file.
                try output.withUnsafeBytes { try writeOutput($0, to: outputPath, overwrite: job.overwrite) }
            } catch let error as ImagingError {
                if case .fileExists = error { throw error }
                // Output disk full or unwritable: nothing partial was left (atomic write); the
                // frame keeps its spooled tiles and is assembled again later.
                retryAssemblyLater(frame: frame, jobID: job.id, path: outputPath, error: error)
                return
            }
            assemblyRetries.withLock { _ = $0.removeValue(forKey: id) }
            logger.info("assembled \(frame.stem) (\(width)x\(height), \(tiles.count) tiles): \(output.count) bytes of \(format.rawValue); verify and encode \(encodedAt - started), write \(ContinuousClock.now - encodedAt)")
            let jobState = try retryingWhileBusy("recording the output of frame \(id)") {
                try store.recordFrameOutput(frame: id, outputPath: outputPath, byteCount: Int64(output.count),
                                            checksum: output.withUnsafeBytes { XXH64.hash($0) })
            }
            spool.remove(frame: id)
            planes.forget(frame: id)
            events.record(NewEvent(level: .info, kind: "frame.done", message: "\(frame.stem) written to \(outputPath)", job: job.id, frame: id))
            if jobState.isFinished {
                events.record(NewEvent(level: .info, kind: "job.finished", message: "job \(job.id.rawValue) \(jobState.rawValue)", job: job.id))
            }
            pipelineCache.withLock { _ = $0.removeValue(forKey: id) }
        } catch {
            events.record(NewEvent(level: .error, kind: "frame.failed", message: "assembly of frame \(id.rawValue) failed: \(error)", frame: id))
            do { try retryingWhileBusy("recording the failure of frame \(id)") { try store.recordFrameFailed(frame: id, reason: "assembly: \(error)") } } catch {
                logger.critical("cannot record failure of frame \(id): \(error)")
            }
        }
    }

    /// Tiles of `frame` whose spooled pixels are lost go back to the queue (`all`: the whole
    /// assembly file is discarded first); recorded as a `spool.corrupt` event.
    private func redoTiles(frame: FrameRecord, tiles: [TaskID], all: Bool, reason: String) {
        events.record(NewEvent(level: .warning, kind: "spool.corrupt",
                               message: "\(frame.stem): \(reason); developing \(tiles.count) tile(s) again", job: frame.jobID, frame: frame.id))
        if all { spool.removeAssembly(frame: frame.id) }
        do {
            try retryingWhileBusy("queueing tiles of frame \(frame.id) again") {
                try store.redoTiles(frame: frame.id, tasks: tiles, reason: "spool: \(reason)")
            }
        } catch {
            logger.critical("cannot queue the tiles of frame \(frame.id) again: \(error)")
        }
        wakeDispatch()
    }

    /// Frame `id`'s decoded plane is lost (missing, truncated, failing its checksum): the frame
    /// goes back to its decode (its tiles are planned again), recorded as a `spool.corrupt` event.
    func redoDecode(frame id: FrameID, corruption: SpoolCorruption) {
        do {
            let redone = try retryingWhileBusy("taking frame \(id) back to decode") {
                try store.redoDecode(frame: id, reason: "spool: \(corruption)")
            }
            guard redone else { return }  // another tile of the frame got here first
            pipelineCache.withLock { _ = $0.removeValue(forKey: id) }
            spool.remove(frame: id)
            planes.forget(frame: id)
            // A burst starts again from its members: their planes, proxies and merged cores go too.
            if let members = try? store.burstMembers(of: id), !members.isEmpty { spool.removeMembers(frame: id, count: members.count) }
            let frame = try? store.frame(id)
            events.record(NewEvent(level: .warning, kind: "spool.corrupt",
                                   message: "\(frame?.stem ?? "frame \(id.rawValue)"): \(corruption); decoding the frame again",
                                   job: frame?.jobID, frame: id))
        } catch {
            logger.critical("cannot take frame \(id) back to decode: \(error)")
        }
        wakeDispatch()
    }

    /// The output of an assembled frame could not be written: records `output.write-failed` and
    /// assembles the frame again after a backoff (doubling from the job's retry backoff, at most
    /// 60 s) — for as long as it takes; the frame stays `assembling` meanwhile.
    private func retryAssemblyLater(frame: FrameRecord, jobID: JobID, path: String, error: ImagingError) {
        let failures = assemblyRetries.withLock { retries in
            retries[frame.id, default: 0] += 1
            return retries[frame.id]!
        }
        let base = max(100, config.retryBackoffMillis)
        let delay = min(60_000, base << min(20, failures - 1))
        events.record(NewEvent(level: .error, kind: "output.write-failed",
                               message: "\(frame.stem): cannot write \(path): \(error); retrying in \(delay) ms (failure \(failures))",
                               job: jobID, frame: frame.id))
        let id = frame.id
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(delay)) { [self] in
            assemble(id)
        }
    }

    /// Runs a store operation, retrying while the database is busy (another process holds its
    /// write lock beyond the busy timeout): backoff from 50 ms doubling to 1 s, for as long as it
    /// takes — nothing can be recorded meanwhile anyway. Blocks the calling (work-queue) thread.
    /// Records a `store.busy` event once the operation went through.
    @discardableResult
    func retryingWhileBusy<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        var delay = 0.05
        var retries = 0
        let started = ContinuousClock.now
        while true {
            do {
                let value = try body()
                if retries > 0 {
                    events.record(NewEvent(level: .warning, kind: "store.busy",
                                           message: "database \(store.path) was locked by another process; \(what()) went through after \(retries) retries (\(ContinuousClock.now - started))"))
                }
                return value
            } catch let error as StoreError where error.isBusy {
                if retries == 0 { logger.warning("\(what()): database busy, retrying: \(error)") }
                retries += 1
                Thread.sleep(forTimeInterval: delay)  // backoff while another process holds the lock
                delay = min(1, delay * 2)
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
            let record = try retryingWhileBusy("recording the failure of task \(task)") {
                try store.recordFailure(task: task, attempt: attempt, code: code, reason: reason, retryable: retryable,
                                        policy: config.retryPolicy)
            }
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
        try bytes.withUnsafeBytes { try writeOutput($0, to: path, overwrite: overwrite) }
    }

    /// ``writeOutput(_:to:overwrite:)`` of bytes held elsewhere (an encoder's buffer), written
    /// from where they are.
    func writeOutput(_ bytes: UnsafeRawBufferPointer, to path: String, overwrite: Bool) throws {
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
