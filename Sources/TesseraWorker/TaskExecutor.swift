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
        /// The result's payload frames, each described (XXH3-64) on the execution thread that
        /// made it — in the copy that turns samples into wire bytes — so the worker's socket
        /// thread only frames and sends them.
        public var payloads: [DescribedPayload]
        /// A decoded plane among the payloads that the worker's ``PlaneCache`` may keep: its
        /// payload index and samples (kept under that payload's descriptor).
        public var cacheable: CacheablePlane? = nil
    }

    /// A decoded CFA plane a result carries as payload `payload`, kept as samples for the cache.
    public struct CacheablePlane: Sendable {
        /// Index of the plane's payload frame in the result.
        public var payload: Int
        /// The plane's samples, row-major.
        public var samples: [UInt16]
        /// Width in samples.
        public var width: Int
        /// Height in samples.
        public var height: Int
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
        case .mergeTile: return try mergeTile(parameters: parameters, payloads: payloads)
        }
    }

    static func decode(parameters: [UInt8], payloads: [[UInt8]]) throws(Failure) -> Output {
        let params: TaskContract.DecodeParameters
        do {
            params = try TaskContract.decode(TaskContract.DecodeParameters.self, from: parameters)
        } catch {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        }
        guard payloads.count == 1 else {
            throw Failure(code: .invalidParameters, retryable: false,
                          reason: "\(TaskContractError.payloadCount(expected: 1, actual: payloads.count))")
        }
        let decoded: DecodedRaw
        do {
            decoded = try payloads[0].withUnsafeBytes { bytes in
                try RawDecoder(maxPixels: params.maxPixels).decode(bytes: bytes, name: params.fileName)
            }
        } catch {
            throw Failure(code: .decodeFailed, retryable: false, reason: "\(error)")
        }
        if params.burstMember == true {
            // A burst member: the plane plus what the coordinator needs to plan the merge. A
            // frame too small to measure is left out of its burst like a corrupt one.
            let measured: (summary: BurstMemberSummary, proxy: BurstProxy)
            do { measured = try BurstMemberSummary.measure(decoded) } catch {
                throw Failure(code: .decodeFailed, retryable: false, reason: "\(params.fileName): \(error)")
            }
            let metadata = TaskContract.encode(TaskContract.DecodeResult(info: decoded.info, member: measured.summary))
            return Output(metadata: metadata, payloads: [DescribedPayload(samples: decoded.plane.pixels), DescribedPayload(measured.proxy.bytes)],
                          cacheable: CacheablePlane(payload: 0, samples: decoded.plane.pixels, width: decoded.plane.width,
                                                    height: decoded.plane.height))
        }
        let statistics = params.wholeFrame.flatMap { DevelopSettings.needsStatistics($0.recipe) ? FrameStatistics.measure(plane: decoded.plane, info: decoded.info) : nil }
        if let whole = params.wholeFrame, whole.covers(width: decoded.info.width, height: decoded.info.height) {
            do {
                let settings = try DevelopSettings.resolve(recipe: whole.recipe, info: decoded.info, statistics: statistics,
                                                           stages: whole.stages)
                // One slot, one thread: the worker's slots are its unit of parallelism.
                let encoded = try OutputFile.developEncoded(decoded, settings: settings, format: whole.format, recipe: whole.recipe, threads: 1)
                let metadata = TaskContract.encode(TaskContract.DecodeResult(info: decoded.info, statistics: statistics, developed: true))
                // The file goes out from the encoder's own buffer: no copy of a 100 MB TIFF into an array.
                return Output(metadata: metadata, payloads: [DescribedPayload(borrowing: BorrowedBytes(owner: encoded, buffer: encoded.stableBytes))])
            } catch {
                throw Failure(code: .internalError, retryable: false, reason: "developing \(params.fileName): \(error)")
            }
        }
        let metadata = TaskContract.encode(TaskContract.DecodeResult(info: decoded.info, statistics: statistics))
        return Output(metadata: metadata, payloads: [DescribedPayload(samples: decoded.plane.pixels)],
                      cacheable: CacheablePlane(payload: 0, samples: decoded.plane.pixels, width: decoded.plane.width,
                                                height: decoded.plane.height))
    }

    /// One output core of a burst: align every alternate window onto the reference window and
    /// merge (``BurstMerger/alignAndMerge(reference:alternates:coarse:core:settings:)``). The
    /// result is the merged raw core and its weight sum.
    static func mergeTile(parameters: [UInt8], payloads: [[UInt8]]) throws(Failure) -> Output {
        let params: TaskContract.MergeTileParameters
        do {
            params = try TaskContract.decode(TaskContract.MergeTileParameters.self, from: parameters)
        } catch {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        }
        guard payloads.count == 1 + params.alternates.count, params.coarse.count == params.alternates.count else {
            throw Failure(code: .invalidParameters, retryable: false,
                          reason: "\(TaskContractError.payloadCount(expected: 1 + params.alternates.count, actual: payloads.count))")
        }
        do {
            let rects = [params.reference] + params.alternates
            var regions: [BurstRegion] = []
            for (z, (rect, payload)) in zip(rects, payloads).enumerated() {
                let samples = try payload.withUnsafeBytes {
                    try SampleBytes.samples(from: $0, count: rect.area, what: z == 0 ? "reference window" : "alternate \(z) window")
                }
                regions.append(BurstRegion(rect: rect, plane: RawPlane(width: rect.width, height: rect.height, pixels: samples)))
            }
            let merged = try BurstMerger.alignAndMerge(reference: regions[0], alternates: Array(regions.dropFirst()),
                                                       coarse: params.coarse, core: params.core, settings: params.settings)
            let metadata = TaskContract.encode(TaskContract.MergeTileResult(weightSum: merged.weightSum, pixels: merged.pixels))
            return Output(metadata: metadata, payloads: [DescribedPayload(samples: merged.plane.pixels)])
        } catch let error as TaskContractError {
            throw Failure(code: .invalidParameters, retryable: false, reason: "\(error)")
        } catch let error as BurstError {
            // Windows or settings the kernels refuse: another attempt would fail the same way.
            throw Failure(code: .invalidParameters, retryable: false, reason: "merge tile \(params.core): \(error)")
        } catch {
            throw Failure(code: .internalError, retryable: true, reason: "merge tile \(params.core): \(error)")
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
            return Output(metadata: [], payloads: [DescribedPayload(samples: output.pixels)])
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
