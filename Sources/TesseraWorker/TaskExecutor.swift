import Foundation
import TesseraCore
import TesseraImaging
import TesseraWire

/// Runs one task's computation: pure work on bytes in, bytes out — no sockets, no files. The
/// worker runtime calls it on an execution thread; it is also what in-process tests drive.
public enum TaskExecutor {
    /// What a task produced.
    public struct Output: Sendable {
        /// The result's metadata document (canonical JSON from ``TaskContract``).
        public var metadata: [UInt8]
        /// The result's payload frames.
        public var payloads: [[UInt8]]
    }

    /// Why a task could not be done, in wire terms.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var code: FailureCode
        /// Whether another attempt (possibly on another worker) might succeed.
        public var retryable: Bool
        public var reason: String
        public var description: String { reason }

        public init(code: FailureCode, retryable: Bool, reason: String) {
            self.code = code
            self.retryable = retryable
            self.reason = reason
        }
    }

    /// Executes a task of `kind`. `payloads` are the task's verified payload frames.
    public static func execute(kind: TaskKind, parameters: [UInt8], payloads: [[UInt8]]) throws(Failure) -> Output {
        switch kind {
        case .decode: return try decode(parameters: parameters, payloads: payloads)
        case .developTile: return try developTile(parameters: parameters, payloads: payloads)
        }
    }

    static func decode(parameters: [UInt8], payloads: [[UInt8]]) throws(Failure) -> Output {
        let params: TaskContract.DecodeParameters
        do {
            params = try TaskContract.decode(TaskContract.DecodeParameters.self, from: parameters)
        } catch {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        }
        guard payloads.count == 1 + params.memberNames.count else {
            throw Failure(code: .invalidParameters, retryable: false,
                          reason: "\(TaskContractError.payloadCount(expected: 1 + params.memberNames.count, actual: payloads.count))")
        }
        if !params.memberNames.isEmpty { return try mergeBurst(params: params, payloads: payloads) }
        let decoded: DecodedRaw
        do {
            decoded = try payloads[0].withUnsafeBytes { bytes in
                try RawDecoder(maxPixels: params.maxPixels).decode(bytes: bytes, name: params.fileName)
            }
        } catch {
            throw Failure(code: .decodeFailed, retryable: false, reason: "\(error)")
        }
        let statistics = params.wholeFrame.flatMap { DevelopSettings.needsStatistics($0.recipe) ? FrameStatistics.measure(plane: decoded.plane, info: decoded.info) : nil }
        if let whole = params.wholeFrame, whole.covers(width: decoded.info.width, height: decoded.info.height) {
            do {
                let settings = try DevelopSettings.resolve(recipe: whole.recipe, info: decoded.info, statistics: statistics,
                                                           stages: whole.stages)
                // One slot, one thread: the worker's slots are its unit of parallelism.
                let image = try Developer.developFrame(decoded, settings: settings, threads: 1)
                let encoded = try OutputFile.encode(image, format: whole.format, recipe: whole.recipe, info: decoded.info)
                let metadata = TaskContract.encode(TaskContract.DecodeResult(info: decoded.info, statistics: statistics, developed: true))
                return Output(metadata: metadata, payloads: [encoded])
            } catch {
                throw Failure(code: .internalError, retryable: false, reason: "developing \(params.fileName): \(error)")
            }
        }
        let metadata = TaskContract.encode(TaskContract.DecodeResult(info: decoded.info, statistics: statistics))
        return Output(metadata: metadata, payloads: [SampleBytes.bytes(of: decoded.plane.pixels)])
    }

    /// A burst: decode every frame (a frame that fails is left out with its reason), choose the
    /// reference by sharpness among the first three, align and merge the others onto it, and
    /// develop the merged raw whole. Payload 0 of the result is the developed output, payload 1
    /// the merged DNG.
    static func mergeBurst(params: TaskContract.DecodeParameters, payloads: [[UInt8]]) throws(Failure) -> Output {
        guard let whole = params.wholeFrame else {
            throw Failure(code: .invalidParameters, retryable: false, reason: "a burst task needs whole-frame develop parameters")
        }
        let names = [params.fileName] + params.memberNames
        let decoder = RawDecoder(maxPixels: params.maxPixels)
        var frames: [(name: String, raw: DecodedRaw)] = []
        var skipped: [String: String] = [:]
        for (name, payload) in zip(names, payloads) {
            do {
                frames.append((name, try payload.withUnsafeBytes { try decoder.decode(bytes: $0, name: name) }))
            } catch {
                skipped[name] = "\(error)"
            }
        }
        guard let first = frames.first else {
            throw Failure(code: .decodeFailed, retryable: false,
                          reason: "every frame of the burst failed to decode: \(skipped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))")
        }
        let sharpness = frames.map { BurstGrouper.sharpness($0.raw.plane, cfa: $0.raw.info.cfa) }
        let reference = frames[BurstGrouper.chooseReference(sharpness: sharpness, among: 3)]
        var alternates: [DecodedRaw] = []
        for frame in frames where frame.name != reference.name {
            guard frame.raw.info.width == reference.raw.info.width, frame.raw.info.height == reference.raw.info.height,
                  frame.raw.info.cfa == reference.raw.info.cfa
            else {
                skipped[frame.name] = "size or CFA differs from the reference \(reference.name)"
                continue
            }
            alternates.append(frame.raw)
        }
        do {
            let info = reference.raw.info
            let noise = try NoiseEstimator.estimate(reference.raw.plane, blackLevels: info.blackLevels, whiteLevel: info.whiteLevel)
            let merged: BurstMergeResult = try BurstMerger.mergeFrames(
                reference: reference.raw.plane, alternates: alternates.map(\.plane), settings: BurstSettings(info: info, noise: noise), threads: 1)
            let dng = try DNGWriter.encode(MergedDNG.image(merged: merged.plane, info: info, noise: noise, effectiveFrames: merged.effectiveFrames))
            let raw = DecodedRaw(info: info, plane: merged.plane)
            let statistics = DevelopSettings.needsStatistics(whole.recipe) ? FrameStatistics.measure(plane: raw.plane, info: info) : nil
            let settings = try DevelopSettings.resolve(recipe: whole.recipe, info: info, statistics: statistics, stages: whole.stages)
            let image = try Developer.developFrame(raw, settings: settings, threads: 1)
            let encoded = try OutputFile.encode(image, format: whole.format, recipe: whole.recipe, info: info)
            let report = TaskContract.BurstReport(merged: alternates.count + 1, reference: reference.name, skipped: skipped,
                                                  effectiveFrames: merged.effectiveFrames)
            let metadata = TaskContract.encode(TaskContract.DecodeResult(info: info, statistics: statistics, developed: true, burst: report))
            return Output(metadata: metadata, payloads: [encoded, dng])
        } catch {
            throw Failure(code: .internalError, retryable: false, reason: "merging the burst of \(first.name): \(error)")
        }
    }

    static func developTile(parameters: [UInt8], payloads: [[UInt8]]) throws(Failure) -> Output {
        let params: TaskContract.DevelopTileParameters
        do {
            params = try TaskContract.decode(TaskContract.DevelopTileParameters.self, from: parameters)
        } catch {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        }
        guard payloads.count == 1 else {
            throw Failure(code: .invalidParameters, retryable: false,
                          reason: "\(TaskContractError.payloadCount(expected: 1, actual: payloads.count))")
        }
        do {
            let samples = try payloads[0].withUnsafeBytes {
                try SampleBytes.samples(from: $0, count: params.inputRect.area, what: "tile input")
            }
            let input = RawPlane(width: params.inputRect.width, height: params.inputRect.height, pixels: samples)
            let output = try Developer.developTile(input, inputRect: params.inputRect, core: params.core, settings: params.settings)
            return Output(metadata: [], payloads: [SampleBytes.bytes(of: output.pixels)])
        } catch let error as TaskContractError {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        } catch let error as ImagingError {
            // Settings or a window the pipeline refuses: another attempt would fail the same way.
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        } catch {
            throw Failure(code: .internalError, retryable: true, reason: "\(error)")
        }
    }
}
