import Foundation
import Synchronization
import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire

// A burst's life on the coordinator (docs/burst.md, "On the farm"):
//   member decodes (one task per file, on any workers) → plan (reference, coarse shifts, merge
//   cores) → one merge-tile task per core (reference window + every alternate's window) →
//   merged raw assembled in the spool → NAME-merged.dng → the merged raw becomes the frame's
//   decoded plane and goes through the develop-tile path → NAME-merged.<ext>.
// Every step is recorded in the store before the next starts, so a restarted coordinator
// resumes where it stopped (``resumeBursts()``) and never recomputes a finished task.
extension FramePipeline {
    /// The decode task of one burst member: the member's file, and a request for its summary
    /// and proxy.
    func prepareMemberDecode(_ task: ClaimedTask) throws -> PreparedTask {
        guard let member = task.member else { throw PipelineError.inconsistent("task \(task.taskID) is not a burst member decode") }
        let paths = [task.framePath] + task.members
        guard paths.indices.contains(member) else {
            throw PipelineError.inconsistent("task \(task.taskID): member \(member) of a burst of \(paths.count)")
        }
        let path = paths[member]
        let bytes = try InputFile.read(path)
        let params = TaskContract.DecodeParameters(fileName: (path as NSString).lastPathComponent, maxPixels: config.maxFramePixels,
                                                   burstMember: true)
        return prepared(task, parameters: TaskContract.encode(params), payloads: [DescribedPayload(bytes)])
    }

    /// Spools a member's plane and proxy, records the member decoded, and plans the burst when
    /// it was the last member outstanding. Returns true when new tasks may exist.
    func acceptMemberDecode(taskID: TaskID, attempt: Int, frameID: FrameID, decoded: TaskContract.DecodeResult,
                            summary: BurstMemberSummary, result: TaskResult, payloads: [[UInt8]], session: UInt64? = nil) throws -> Bool {
        let info = decoded.info
        guard payloads.count == 2 else { throw TaskContractError.payloadCount(expected: 2, actual: payloads.count) }
        guard info.width > 0, info.height > 0, payloads[0].count == info.width * info.height * 2 else {
            throw TaskContractError.payloadSize(what: "member plane", expected: info.width * info.height * 2, actual: payloads[0].count)
        }
        let proxyBytes = summary.proxyWidth * summary.proxyHeight * 4
        guard payloads[1].count == proxyBytes else {
            throw TaskContractError.payloadSize(what: "member proxy", expected: proxyBytes, actual: payloads[1].count)
        }
        guard let member = try store.taskMember(taskID) else { return false }  // unknown task: stale
        // Persist before record: the plane and proxy reach the spool before the task is done.
        try payloads[0].withUnsafeBytes { try spool.storePlane($0, at: spool.memberPlanePath(frameID, member: member)) }
        try payloads[1].withUnsafeBytes { try spool.storePlane($0, at: spool.memberProxyPath(frameID, member: member)) }
        notePlane(result: result, width: info.width, height: info.height, key: .init(frame: frameID, member: member), session: session)
        let document = String(decoding: TaskContract.encode(decoded), as: UTF8.self)
        let outcome = try store.recordMemberDecoded(task: taskID, attempt: attempt, result: document, computeMicros: Int64(result.computeMicros))
        if case .accepted(_, membersFinished: true) = outcome { planBurstIfReady(frameID) }
        return true
    }

    /// Plans burst `frame` when every member decode has finished: chooses the reference, computes
    /// the coarse shifts from the spooled proxies, records the plan and one merge-tile task per
    /// output core; records each member left out (`burst.frame-skipped`). A burst none of whose
    /// members decoded fails with every reason. Safe to call repeatedly and concurrently: only
    /// the first call that finds the burst ready records anything.
    func planBurstIfReady(_ frame: FrameID) {
        guard burstSteps.begin(frame) else { return }  // another thread is on it
        defer { burstSteps.end(frame) }
        do {
            guard let record = try store.frame(frame), record.state == .pending else { return }
            let members = try store.burstMembers(of: frame)
            guard !members.isEmpty, members.allSatisfy({ $0.state.isTerminal }) else { return }
            let job = try job(of: frame)
            var decoded: [BurstPlan.Member] = []
            var skipped: [BurstPlan.Skipped] = []
            for m in members {
                let name = (m.path as NSString).lastPathComponent
                guard m.state == .succeeded, let document = m.result else {
                    skipped.append(BurstPlan.Skipped(member: m.member, name: name, reason: m.failure ?? "decode \(m.state.rawValue)"))
                    continue
                }
                let result = try TaskContract.decode(TaskContract.DecodeResult.self, from: Array(document.utf8))
                guard let summary = result.member else { throw PipelineError.inconsistent("member \(m.member) of \(frame) has no summary") }
                let proxy = try spool.readVerified(spool.memberProxyPath(frame, member: m.member)).withUnsafeBytes {
                    try BurstProxy(factor: summary.proxyFactor, width: summary.proxyWidth, height: summary.proxyHeight, bytes: $0,
                                   role: "\(name) proxy")
                }
                decoded.append(BurstPlan.Member(index: m.member, name: name, info: result.info, summary: summary, proxy: proxy))
            }
            let plan: BurstPlan
            do {
                plan = try BurstPlan.make(members: decoded, skipped: skipped, source: record.stem)
            } catch {
                for s in skipped { recordSkip(s, stem: record.stem, job: job.id, frame: frame) }
                events.record(NewEvent(level: .error, kind: "frame.failed", message: "burst \(record.stem) failed: \(error)", job: job.id, frame: frame))
                try store.recordFrameFailed(frame: frame, reason: "\(error)")
                spool.removeMembers(frame: frame, count: members.count)
                return
            }
            let cores = BurstPlan.mergeCores(width: plan.info.width, height: plan.info.height, tileSize: job.tileSize)
            let outcome = try store.recordBurstPlanned(frame: frame, plan: String(decoding: TaskContract.encode(plan), as: UTF8.self),
                                                       width: plan.info.width, height: plan.info.height, tiles: cores)
            guard case .accepted = outcome else { return }
            for s in plan.skipped { recordSkip(s, stem: record.stem, job: job.id, frame: frame) }
            events.record(NewEvent(level: .info, kind: "burst.planned",
                                   message: "\(record.stem): \(plan.frameCount) frames onto \(plan.referenceName), \(cores.count) merge tile(s)",
                                   job: job.id, frame: frame))
            wakeDispatch()
        } catch let corruption as SpoolCorruption {
            // A member's spooled plane or proxy is lost: decode the burst's members again.
            redoDecode(frame: frame, corruption: corruption)
        } catch {
            events.record(NewEvent(level: .error, kind: "frame.failed", message: "planning burst \(frame.rawValue) failed: \(error)", frame: frame))
            do { try store.recordFrameFailed(frame: frame, reason: "planning the burst: \(error)") } catch {
                logger.critical("cannot record failure of burst \(frame): \(error)")
            }
        }
    }

    private func recordSkip(_ s: BurstPlan.Skipped, stem: String, job: JobID, frame: FrameID) {
        events.record(NewEvent(level: .warning, kind: "burst.frame-skipped", message: "\(s.name) left out of burst \(stem): \(s.reason)",
                               job: job, frame: frame))
    }

    /// A merge tile's burst plan, output core, reference window and alternates' windows
    /// (`BurstGeometry`), from the task row alone: what it sends and what it reserves under the
    /// bytes-in-flight bound.
    func mergeTileWindows(_ task: ClaimedTask) throws -> (plan: BurstPlan, core: PixelRect, reference: PixelRect, alternates: [PixelRect]) {
        guard let core = task.core, let document = task.frameMetadata else {
            throw PipelineError.inconsistent("merge tile \(task.taskID) has no core or plan")
        }
        let plan = try TaskContract.decode(BurstPlan.self, from: Array(document.utf8))
        let p = plan.settings.parameters
        return (plan, core, BurstGeometry.referenceRect(core: core, parameters: p),
                plan.coarse.map { BurstGeometry.alternateRect(core: core, coarse: $0, parameters: p) })
    }

    /// The merge-tile task for a core: the plan's settings and coarse shifts, the reference's
    /// window and every alternate's window cut from the spooled member planes (reflect-101
    /// outside the frame). With `session`, windows of member planes that worker holds (its
    /// input cache) are referenced instead of sent: only what is missing travels.
    func prepareMergeTile(_ task: ClaimedTask, session: UInt64? = nil) throws -> PreparedTask {
        let (plan, core, referenceRect, alternateRects) = try mergeTileWindows(task)
        let width = plan.info.width, height = plan.info.height
        let members = [plan.reference] + plan.alternates
        let held = session.map { planes.lookUp(members.map { .init(frame: task.frameID, member: $0) }, session: $0) }
            ?? members.map { _ in nil }
        var payloads: [DescribedPayload] = []
        var cached: [TaskContract.CachedWindow] = []
        var saved = 0
        for (slot, (member, rect)) in zip(members, [referenceRect] + alternateRects).enumerated() {
            if let plane = held[slot], plane.width == width, plane.height == height {
                cached.append(TaskContract.CachedWindow(slot: slot, plane: plane, rect: rect))
                saved += rect.area * 2
                continue
            }
            let window = try spool.withPlane(at: spool.memberPlanePath(task.frameID, member: member), count: width * height) { plane in
                Developer.window(rect, of: plane, width: width, height: height)
            }
            payloads.append(DescribedPayload(samples: window.pixels))
        }
        let params = TaskContract.MergeTileParameters(settings: plan.settings, core: core, reference: referenceRect,
                                                      alternates: alternateRects, coarse: plan.coarse,
                                                      cachedInputs: cached.isEmpty ? nil : cached)
        return prepared(task, parameters: TaskContract.encode(params), payloads: payloads,
                        referenced: cached.map(\.plane), savedBytes: saved)
    }

    /// Persists a merged core into the burst's merged assembly file, records the tile, and when it
    /// was the last one finishes the merge (``finishMerge(_:)``).
    func acceptMergeTile(taskID: TaskID, attempt: Int, frameID: FrameID, result: TaskResult, payloads: [[UInt8]]) throws {
        guard let frame = try store.frame(frameID), frame.state == .merging else { return }  // late: the burst moved on
        guard let core = try store.taskCore(taskID), let document = frame.metadata else {
            throw PipelineError.inconsistent("merge tile \(taskID) of \(frameID) has no core or plan")
        }
        guard payloads.count == 1 else { throw TaskContractError.payloadCount(expected: 1, actual: payloads.count) }
        let tile = try TaskContract.decode(TaskContract.MergeTileResult.self, from: result.metadata)
        guard tile.pixels == core.area, tile.weightSum.isFinite else {
            throw TaskContractError.malformed(document: "MergeTileResult", underlying: "\(tile.pixels) pixels for core \(core)")
        }
        let plan = try TaskContract.decode(BurstPlan.self, from: Array(document.utf8))
        let cores = BurstPlan.mergeCores(width: plan.info.width, height: plan.info.height, tileSize: try job(of: frameID).tileSize)
        guard let slot = cores.firstIndex(of: core) else {
            throw PipelineError.inconsistent("merge tile \(taskID) core \(core) is not among the burst's \(cores.count) merge cores")
        }
        try payloads[0].withUnsafeBytes {
            try spool.storeMergedCore($0, core: core, slot: slot, frame: frameID, frameWidth: plan.info.width, frameHeight: plan.info.height)
        }
        let outcome = try store.recordMergeTileDone(task: taskID, attempt: attempt, computeMicros: Int64(result.computeMicros),
                                                    result: String(decoding: TaskContract.encode(tile), as: UTF8.self))
        if case .frameComplete(let complete) = outcome { finishMerge(complete) }
    }

    /// A burst whose merge tiles are all done: writes `NAME-merged.dng` from the assembled merged
    /// raw (atomically), then hands the merged raw to the develop path as the frame's decoded
    /// plane (develop tiles planned as for a decoded frame). A failure fails the frame.
    func finishMerge(_ id: FrameID) {
        guard burstSteps.begin(id) else { return }  // another thread is on it
        defer { burstSteps.end(id) }
        do {
            guard let frame = try store.frame(id), frame.state == .merged, let document = frame.metadata else { return }
            let job = try job(of: id)
            guard let format = OutputFormat(rawValue: job.format) else {
                throw PipelineError.inconsistent("job \(job.id) has unknown format \(job.format)")
            }
            let recipe = try TaskContract.decode(Recipe.self, from: Array(job.recipeDocument.utf8))
            let plan = try TaskContract.decode(BurstPlan.self, from: Array(document.utf8))
            let info = plan.info
            let mergeCores = BurstPlan.mergeCores(width: info.width, height: info.height, tileSize: job.tileSize)
            let merged = RawPlane(width: info.width, height: info.height,
                                  pixels: try spool.mergedSamples(frame: id, width: info.width, height: info.height, cores: mergeCores))
            // Weight sums are exact per tile, so their total does not depend on the tiling.
            var weightSum = 0.0
            for tile in try store.mergeTileResults(of: id) {
                guard let text = tile.result else { throw PipelineError.inconsistent("merge tile \(tile.core) of \(id) has no result") }
                weightSum += try TaskContract.decode(TaskContract.MergeTileResult.self, from: Array(text.utf8)).weightSum
            }
            let effectiveFrames = weightSum / Double(info.width * info.height)
            let dng = try DNGWriter.encode(plan.dng(merged: merged, effectiveFrames: effectiveFrames))
            let outputPath = try outputPath(frame: frame, job: job, recipe: recipe, info: info, format: format)
            try writeOutput(dng, to: (outputPath as NSString).deletingPathExtension + ".dng", overwrite: job.overwrite)

            // The merged raw is now this frame's decoded plane: develop it like any decoded frame.
            let statistics = DevelopSettings.needsStatistics(recipe) ? FrameStatistics.measure(plane: merged, info: info) : nil
            let decoded = TaskContract.DecodeResult(info: info, statistics: statistics)
            let output = try Self.pipeline(recipe: recipe, decoded: decoded).outputSize
            let spoolPath = try spool.commitMerged(frame: id, samples: merged.pixels)
            let cores = TilePlanner(tileSize: job.tileSize).cores(width: output.width, height: output.height)
            let outcome = try store.recordMerged(frame: id, width: output.width, height: output.height,
                                                 metadata: String(decoding: TaskContract.encode(decoded), as: UTF8.self),
                                                 spoolPath: spoolPath, tiles: cores)
            guard case .accepted = outcome else { return }
            spool.removeMembers(frame: id, count: try store.burstMembers(of: id).count)
            planes.forget(frame: id)
            events.record(NewEvent(level: .info, kind: "burst.merged",
                                   message: "\(frame.stem): \(plan.frameCount) frames merged onto \(plan.referenceName), \(String(format: "%.2f", effectiveFrames)) per pixel",
                                   job: job.id, frame: id))
            wakeDispatch()
        } catch let corruption as SpoolCorruption {
            // Merged cores lost or damaged in the spool: do the burst again from its members.
            redoDecode(frame: id, corruption: corruption)
        } catch {
            events.record(NewEvent(level: .error, kind: "frame.failed", message: "finishing the merge of frame \(id.rawValue) failed: \(error)", frame: id))
            do { try store.recordFrameFailed(frame: id, reason: "merge: \(error)") } catch {
                logger.critical("cannot record failure of burst \(id): \(error)")
            }
        }
    }

    /// Resumes bursts a previous coordinator left between steps: plans bursts whose members all
    /// finished and finishes merges whose tiles all finished. Also a safety net while running
    /// (a member lost too often fails without a result that would trigger planning).
    func resumeBursts() {
        do {
            for frame in try store.burstsToPlan() { planBurstIfReady(frame) }
            for frame in try store.framesMerged() { finishMerge(frame) }
        } catch {
            logger.error("cannot resume bursts: \(error)")
        }
    }
}

/// A closure run at once and then every `seconds` on its own serial queue until stopped.
/// (`DispatchSourceTimer` is thread-safe but not annotated `Sendable`; this class owns one.)
final class PeriodicWork: @unchecked Sendable {
    private let timer: any DispatchSourceTimer
    private let seconds: Int
    private let lock = NSLock()
    private var started = false

    init(label: String, seconds: Int) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: label, qos: .utility))
        self.seconds = seconds
    }

    /// Starts running `work` (once; later calls are ignored).
    func start(_ work: @escaping @Sendable () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        timer.schedule(deadline: .now(), repeating: .seconds(seconds), leeway: .seconds(1))
        timer.setEventHandler(handler: work)
        timer.resume()
    }

    /// A coordinator that failed to start (or was never started) still releases its timer:
    /// libdispatch traps when a suspended source is released, so stop it here.
    deinit { stop() }

    /// Stops for good.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        if !timer.isCancelled { timer.cancel() }
        if !started {
            // A suspended source must be resumed once to be released after cancel.
            started = true
            timer.resume()
        }
    }
}

/// Bursts a thread is planning or finishing right now: the background resume and a result
/// handler may reach the same step at once; the second one leaves it to the first.
let burstSteps = FrameClaims()

/// A set of frames claimed by threads.
final class FrameClaims: Sendable {
    private let claimed = Mutex<Set<FrameID>>([])

    /// Claims `frame`; false when another thread holds it.
    func begin(_ frame: FrameID) -> Bool { claimed.withLock { $0.insert(frame).inserted } }

    /// Releases `frame`.
    func end(_ frame: FrameID) { _ = claimed.withLock { $0.remove(frame) } }
}
