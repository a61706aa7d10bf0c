import Foundation
import TesseraCore

/// The contract between the coordinator and a worker for each `TaskKind`: what travels in a
/// task's `parameters` / a result's `metadata` (canonical JSON, sorted keys), and how pixel
/// payloads are laid out. Both sides link this file, so they cannot disagree; the wire envelope
/// around it is specified in protos/PROTOCOL.md.
///
/// Payload layouts (little-endian on the wire, as every supported host is):
/// - decode task: payload 0 = the RAW file's bytes, unchanged.
/// - decode result: payload 0 = the active-area CFA plane, `width * height` UInt16 samples, row-major;
///   or, when the task asked for it and the frame fits in one tile, the encoded output file.
///   Developing a small frame whole on the worker spares the coordinator the plane's round trip,
///   the assembly and the encoding — its largest per-frame costs.
/// - develop-tile task: payload 0 = the input window, `inputRect.area` UInt16 CFA samples.
/// - develop-tile result: payload 0 = the developed core, `core.area * 3` UInt16 samples, RGB interleaved.
public enum TaskContract {
    /// Parameters of a `decode` task.
    public struct DecodeParameters: Codable, Sendable, Hashable {
        /// The input file's name (for error messages and format sniffing), not a path to open.
        public var fileName: String
        /// Frames with more pixels than this are refused before unpacking (decompression bombs).
        public var maxPixels: Int
        /// When set, a frame that fits in one tile is developed and encoded right here (and the
        /// statistics pre-pass runs when the recipe needs it).
        public var wholeFrame: WholeFrame?
        /// For a burst: the file names of payloads 1… (payload 0 is `fileName`). The worker
        /// aligns and merges the burst, then develops the merged frame whole (`wholeFrame`).
        public var memberNames: [String]

        public init(fileName: String, maxPixels: Int, wholeFrame: WholeFrame? = nil, memberNames: [String] = []) {
            self.fileName = fileName
            self.maxPixels = maxPixels
            self.wholeFrame = wholeFrame
            self.memberNames = memberNames
        }
    }

    /// How to finish a frame in its decode task when it is no larger than one tile.
    public struct WholeFrame: Codable, Sendable, Hashable {
        /// The job's tile edge: frames with both sides no larger are developed whole.
        public var tileSize: Int
        public var recipe: Recipe
        public var format: OutputFormat
        /// The recipe's stages, resolved by the coordinator (it reads files such as `.cube` LUTs
        /// that the worker may not have).
        public var stages: [StageSpec]

        public init(tileSize: Int, recipe: Recipe, format: OutputFormat, stages: [StageSpec]) {
            self.tileSize = tileSize
            self.recipe = recipe
            self.format = format
            self.stages = stages
        }

        /// Whether a frame of this size is developed whole.
        public func covers(width: Int, height: Int) -> Bool { width <= tileSize && height <= tileSize }
    }

    /// Metadata of a `decode` result; the plane itself is payload 0.
    public struct DecodeResult: Codable, Sendable, Hashable {
        public var info: RawFrameInfo
        /// Whole-frame statistics from the decode-time pre-pass (auto white balance), when the
        /// recipe needs them; tiles of the frame are developed with these so they agree.
        public var statistics: FrameStatistics?
        /// True when payload 0 is the finished, encoded output rather than the CFA plane.
        public var developed: Bool
        /// For a merged burst: what was merged (payload 1 is then the merged DNG).
        public var burst: BurstReport?

        public init(info: RawFrameInfo, statistics: FrameStatistics? = nil, developed: Bool = false, burst: BurstReport? = nil) {
            self.info = info
            self.statistics = statistics
            self.developed = developed
            self.burst = burst
        }
    }

    /// How a burst was merged.
    public struct BurstReport: Codable, Sendable, Hashable {
        /// Frames merged (reference included).
        public var merged: Int
        /// The reference frame's file name (chosen by sharpness among the first three).
        public var reference: String
        /// Frames left out, with the reason (e.g. a corrupt file).
        public var skipped: [String: String]
        /// Mean number of frames merged per pixel (less than `merged` where motion was rejected).
        public var effectiveFrames: Double

        public init(merged: Int, reference: String, skipped: [String: String], effectiveFrames: Double) {
            self.merged = merged
            self.reference = reference
            self.skipped = skipped
            self.effectiveFrames = effectiveFrames
        }
    }

    /// Parameters of a `developTile` task.
    public struct DevelopTileParameters: Codable, Sendable, Hashable {
        /// How to develop every tile of this frame.
        public var settings: DevelopSettings
        /// The window of the frame that payload 0 holds (frame coordinates; may reach past the
        /// frame's edges, where the coordinator filled it by reflection).
        public var inputRect: PixelRect
        /// The part of the frame this task produces; `inputRect` contains it grown by the halo.
        public var core: PixelRect

        public init(settings: DevelopSettings, inputRect: PixelRect, core: PixelRect) {
            self.settings = settings
            self.inputRect = inputRect
            self.core = core
        }
    }

    /// Encodes a contract value as canonical JSON bytes.
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; a failure is a programming error.
        return Array(try! encoder.encode(value))
    }

    /// Decodes a contract value, naming the kind of document in the error.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw TaskContractError.malformed(document: String(describing: T.self), underlying: String(describing: error))
        }
    }
}

/// A task's parameters or a result's metadata could not be understood.
public enum TaskContractError: Error, CustomStringConvertible, Equatable {
    case malformed(document: String, underlying: String)
    case payloadSize(what: String, expected: Int, actual: Int)
    case payloadCount(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .malformed(let document, let underlying): "malformed \(document): \(underlying)"
        case .payloadSize(let what, let expected, let actual): "\(what) payload has \(actual) bytes, expected \(expected)"
        case .payloadCount(let expected, let actual): "expected \(expected) payload frame(s), got \(actual)"
        }
    }
}

/// Little-endian (de)serialisation of 16-bit sample arrays for payload frames.
public enum SampleBytes {
    /// The samples as little-endian bytes (a plain copy on little-endian hosts).
    public static func bytes(of samples: [UInt16]) -> [UInt8] {
        #if _endian(little)
        return samples.withUnsafeBytes { Array($0) }
        #else
        var out = [UInt8](); out.reserveCapacity(samples.count * 2)
        for s in samples { out.append(UInt8(s & 0xFF)); out.append(UInt8(s >> 8)) }
        return out
        #endif
    }

    /// Reads `count` little-endian samples from `bytes`, which must hold exactly `count * 2` bytes.
    public static func samples(from bytes: UnsafeRawBufferPointer, count: Int, what: String) throws -> [UInt16] {
        guard bytes.count == count * 2 else {
            throw TaskContractError.payloadSize(what: what, expected: count * 2, actual: bytes.count)
        }
        return [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
            #else
            for i in 0..<count { buffer[i] = UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8 }
            #endif
            initialized = count
        }
    }
}
