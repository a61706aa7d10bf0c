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
/// - decode result of a burst member (`burstMember`): payload 0 = the plane, payload 1 = the
///   member's ``BurstProxy`` (``BurstProxy/bytes``); the metadata's `member` has the rest.
/// - develop-tile task: payload 0 = the input window, `inputRect.area` UInt16 CFA samples.
/// - develop-tile result: payload 0 = the developed core, `core.area * 3` UInt16 samples, RGB interleaved.
/// - merge-tile task: payload 0 = the reference window (`reference.area` UInt16 CFA samples),
///   payload k = alternate k's window (`alternates[k-1].area` samples).
/// - merge-tile result: payload 0 = the merged raw core, `core.area` UInt16 CFA samples.
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
        /// A burst member: besides the plane, return its ``BurstMemberSummary`` (sharpness,
        /// noise) and its ``BurstProxy``; never developed here.
        public var burstMember: Bool?

        public init(fileName: String, maxPixels: Int, wholeFrame: WholeFrame? = nil, burstMember: Bool = false) {
            self.fileName = fileName
            self.maxPixels = maxPixels
            self.wholeFrame = wholeFrame
            self.burstMember = burstMember ? true : nil
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
        /// For a burst member: its summary (payload 1 is then its proxy).
        public var member: BurstMemberSummary?

        public init(info: RawFrameInfo, statistics: FrameStatistics? = nil, developed: Bool = false, member: BurstMemberSummary? = nil) {
            self.info = info
            self.statistics = statistics
            self.developed = developed
            self.member = member
        }
    }

    /// Parameters of a `mergeTile` task: align and merge one output core of a burst
    /// (``BurstMerger/alignAndMerge(reference:alternates:coarse:core:settings:)``).
    public struct MergeTileParameters: Codable, Sendable, Hashable {
        /// Levels, noise and tunables shared by every tile of the burst.
        public var settings: BurstSettings
        /// The raw core this task produces (frame coordinates, even origin and size).
        public var core: PixelRect
        /// The reference window in payload 0 (``BurstGeometry/referenceRect(core:parameters:)``).
        public var reference: PixelRect
        /// Each alternate's window, payloads 1… (``BurstGeometry/alternateRect(core:coarse:parameters:)``).
        public var alternates: [PixelRect]
        /// Each alternate's coarse displacement (the plan's), same order.
        public var coarse: [BurstShift]
        /// Windows the worker cuts from planes it holds instead of receiving them
        /// (``CachedWindow``); absent when every window travels as a payload.
        public var cachedInputs: [CachedWindow]?

        public init(settings: BurstSettings, core: PixelRect, reference: PixelRect, alternates: [PixelRect], coarse: [BurstShift],
                    cachedInputs: [CachedWindow]? = nil) {
            self.settings = settings
            self.core = core
            self.reference = reference
            self.alternates = alternates
            self.coarse = coarse
            self.cachedInputs = cachedInputs
        }
    }

    /// Metadata of a `mergeTile` result; the merged core is payload 0.
    public struct MergeTileResult: Codable, Sendable, Hashable {
        /// ``BurstMergeResult/weightSum`` of the core.
        public var weightSum: Double
        /// Pixels in the core.
        public var pixels: Int

        public init(weightSum: Double, pixels: Int) {
            self.weightSum = weightSum
            self.pixels = pixels
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
        /// When set, payload 0 does not travel: the worker cuts `inputRect` from the plane it
        /// holds (``CachedWindow``).
        public var cachedInputs: [CachedWindow]?

        public init(settings: DevelopSettings, inputRect: PixelRect, core: PixelRect, cachedInputs: [CachedWindow]? = nil) {
            self.settings = settings
            self.inputRect = inputRect
            self.core = core
            self.cachedInputs = cachedInputs
        }
    }

    /// A decoded plane named by its content: the byte length and XXH3-64 checksum of its payload
    /// frame — exactly the `PayloadDescriptor` of the decode result that carried it — and its
    /// size in samples. Workers keep recently decoded planes under this name
    /// (docs/architecture.md, "Input cache").
    public struct PlaneReference: Codable, Sendable, Hashable, CustomStringConvertible {
        /// The plane's size in bytes (`width * height * 2`).
        public var length: Int
        /// XXH3-64 (seed 0) of the plane's little-endian bytes: the payload descriptor's checksum.
        public var checksum: UInt64
        /// Width of the plane in samples.
        public var width: Int
        /// Height of the plane in samples.
        public var height: Int

        public init(length: Int, checksum: UInt64, width: Int, height: Int) {
            self.length = length
            self.checksum = checksum
            self.width = width
            self.height = height
        }

        /// `"<width>x<height> plane (<length> B xxh3=<hex>)"`, for messages.
        public var description: String {
            let hex = String(checksum, radix: 16)
            return "\(width)x\(height) plane (\(length) B xxh3=\(String(repeating: "0", count: max(0, 16 - hex.count)) + hex))"
        }
    }

    /// One task input the worker cuts from a plane it holds instead of receiving it: payload
    /// `slot` of the task's full payload list (as if everything were sent) is
    /// ``Developer/window(_:of:width:height:)`` of `rect` over `plane` — byte-identical to the
    /// window the coordinator would have cut from its spooled copy of the same plane. The
    /// payload frames that do travel fill the remaining slots, in order.
    public struct CachedWindow: Codable, Sendable, Hashable {
        /// Index of this input in the task's full payload list.
        public var slot: Int
        /// The plane to cut from.
        public var plane: PlaneReference
        /// The window, in the plane's coordinates (may reach past its edges: reflect-101).
        public var rect: PixelRect

        public init(slot: Int, plane: PlaneReference, rect: PixelRect) {
            self.slot = slot
            self.plane = plane
            self.rect = rect
        }
    }

    /// The part of any task's parameters that names cached inputs (every kind that has them
    /// spells the field `cachedInputs`); decoded on its own by the worker before the task runs.
    public struct CachedInputs: Codable, Sendable, Hashable {
        /// The task's cached windows, if any.
        public var cachedInputs: [CachedWindow]?

        public init(cachedInputs: [CachedWindow]?) { self.cachedInputs = cachedInputs }
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
