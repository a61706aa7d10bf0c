import Foundation
import TesseraCore

/// What the worker that decodes one burst member reports besides its CFA plane: the numbers the
/// coordinator needs to choose the reference and size the tile windows. The proxy itself travels
/// as binary (``BurstProxy/bytes``), not in this document.
public struct BurstMemberSummary: Codable, Sendable, Hashable {
    /// ``BurstGrouper/sharpness(_:cfa:)`` of the member.
    public var sharpness: Double
    /// ``NoiseEstimator/estimate(_:blackLevels:whiteLevel:)`` of the member.
    public var noise: NoiseModel
    /// Shape of the member's ``BurstProxy`` (its samples are a separate payload).
    public var proxyFactor: Int
    public var proxyWidth: Int
    public var proxyHeight: Int

    /// Memberwise initialiser.
    public init(sharpness: Double, noise: NoiseModel, proxyFactor: Int, proxyWidth: Int, proxyHeight: Int) {
        self.sharpness = sharpness
        self.noise = noise
        self.proxyFactor = proxyFactor
        self.proxyWidth = proxyWidth
        self.proxyHeight = proxyHeight
    }

    /// Measures a decoded member: sharpness, noise and the coarse-alignment proxy. Pure; blocks
    /// the caller (≈ 0.1 s for 12 MP). Throws ``BurstError`` for a frame too small for a proxy.
    public static func measure(_ raw: DecodedRaw) throws(BurstError) -> (summary: BurstMemberSummary, proxy: BurstProxy) {
        let proxy = try BurstProxy(plane: raw.plane)
        let noise = try NoiseEstimator.estimate(raw.plane, blackLevels: raw.info.blackLevels, whiteLevel: raw.info.whiteLevel)
        let summary = BurstMemberSummary(sharpness: BurstGrouper.sharpness(raw.plane, cfa: raw.info.cfa), noise: noise,
                                         proxyFactor: proxy.factor, proxyWidth: proxy.width, proxyHeight: proxy.height)
        return (summary, proxy)
    }
}

extension BurstProxy {
    /// The proxy's samples as little-endian Float32 bytes (row-major), for a payload or a file.
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(pixels.count * 4)
        for v in pixels { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    /// A proxy of `width × height` blocks of `factor` raw pixels from ``bytes``. Throws
    /// ``BurstError/sizeMismatch(role:reason:)`` when the byte count does not match (`role` names it).
    public init(factor: Int, width: Int, height: Int, bytes: UnsafeRawBufferPointer, role: String) throws(BurstError) {
        guard factor >= 2, width >= 8, height >= 8, bytes.count == width * height * 4 else {
            throw .sizeMismatch(role: role, reason: "proxy \(width)x\(height) (factor \(factor)) needs \(width * height * 4) bytes, got \(bytes.count)")
        }
        self.factor = factor
        self.width = width
        self.height = height
        pixels = (0..<(width * height)).map { i in
            Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
    }
}

/// How one burst is merged — the decisions a coordinator makes once per burst, from its members'
/// decode summaries: the reference (sharpest of the first three decoded members), the alternates
/// (members of the reference's size and CFA, in capture order), each alternate's coarse shift
/// (from proxies), the merge settings (the reference's levels and noise) and the members left out
/// with their reasons. Every merge tile of the burst uses the same plan, so the merged raw does
/// not depend on the tiling. A value type; persisted as JSON while the burst merges.
public struct BurstPlan: Codable, Sendable, Hashable {
    /// A member left out of the merge.
    public struct Skipped: Codable, Sendable, Hashable {
        /// Member index (0 = the burst's first file).
        public var member: Int
        /// The member's file name.
        public var name: String
        public var reason: String

        /// Memberwise initialiser.
        public init(member: Int, name: String, reason: String) {
            self.member = member
            self.name = name
            self.reason = reason
        }
    }

    /// A decoded member as the planner sees it.
    public struct Member: Sendable {
        public var index: Int
        public var name: String
        public var info: RawFrameInfo
        public var summary: BurstMemberSummary
        public var proxy: BurstProxy

        /// Memberwise initialiser.
        public init(index: Int, name: String, info: RawFrameInfo, summary: BurstMemberSummary, proxy: BurstProxy) {
            self.index = index
            self.name = name
            self.info = info
            self.summary = summary
            self.proxy = proxy
        }
    }

    /// Member index of the reference frame.
    public var reference: Int
    /// The reference's file name.
    public var referenceName: String
    /// Member indices of the alternates, in merge order (capture order).
    public var alternates: [Int]
    /// Coarse displacement of each alternate (same order), from the proxies.
    public var coarse: [BurstShift]
    /// Members left out (failed decodes, mismatched sizes), in member order.
    public var skipped: [Skipped]
    /// The reference's decode metadata: the merged raw's metadata.
    public var info: RawFrameInfo
    /// Levels, noise and tunables of the alignment and merge.
    public var settings: BurstSettings

    /// Frames merged (reference included).
    public var frameCount: Int { alternates.count + 1 }

    /// Plans a burst from its decoded members (any order; `skipped` are members that did not
    /// decode). Throws ``BurstError/invalidManifest(source:reason:)`` when no member decoded.
    public static func make(members: [Member], skipped: [Skipped], parameters: BurstParameters = BurstParameters(),
                            source: String) throws(BurstError) -> BurstPlan {
        let decoded = members.sorted { $0.index < $1.index }
        var skipped = skipped
        guard !decoded.isEmpty else {
            throw .invalidManifest(source: source, reason: "no frame of the burst decoded: "
                                   + skipped.map { "\($0.name): \($0.reason)" }.joined(separator: "; "))
        }
        let reference = decoded[BurstGrouper.chooseReference(sharpness: decoded.map(\.summary.sharpness), among: 3)]
        var alternates: [Int] = []
        var coarse: [BurstShift] = []
        for member in decoded where member.index != reference.index {
            guard member.info.width == reference.info.width, member.info.height == reference.info.height,
                  member.info.cfa == reference.info.cfa
            else {
                skipped.append(Skipped(member: member.index, name: member.name, reason: "size or CFA differs from the reference \(reference.name)"))
                continue
            }
            alternates.append(member.index)
            coarse.append(try BurstAligner.coarseShift(reference: reference.proxy, alternate: member.proxy))
        }
        let settings = BurstSettings(info: reference.info, noise: reference.summary.noise, parameters: parameters)
        try settings.validate()
        return BurstPlan(reference: reference.index, referenceName: reference.name, alternates: alternates, coarse: coarse,
                         skipped: skipped.sorted { $0.member < $1.member }, info: reference.info, settings: settings)
    }

    /// The merged raw as a DNG (``MergedDNG``): the reference's metadata, NoiseProfile divided by
    /// `effectiveFrames`.
    public func dng(merged: RawPlane, effectiveFrames: Double) throws(BurstError) -> DNGImage {
        try MergedDNG.image(merged: merged, info: info, noise: settings.noise, effectiveFrames: max(1, effectiveFrames))
    }

    /// The output cores of a merge of a `width × height` frame for a job whose tile edge is
    /// `tileSize`: never larger than ``maxMergeTile`` so a burst always spreads over workers.
    public static func mergeCores(width: Int, height: Int, tileSize: Int) -> [PixelRect] {
        TilePlanner(tileSize: min(tileSize, maxMergeTile)).cores(width: width, height: height)
    }

    /// Largest merge-tile edge: at 2048 each task's windows are ≈ 1.5× its core area per frame
    /// (docs/burst.md); a 12 MP burst becomes 4 tasks.
    public static let maxMergeTile = 2048

    /// The whole burst merged in this process, exactly as the farm merges it tile by tile:
    /// `frames` in capture order, each decoded (or the reason it did not decode); the same
    /// summaries, plan and ``BurstMerger/mergeFrames(reference:alternates:coarse:settings:tileSize:threads:)``.
    /// Returns the plan and the merged frame.
    public static func mergeInProcess(_ frames: [(name: String, raw: Result<DecodedRaw, any Error>)], threads: Int? = nil,
                                      source: String) throws(BurstError) -> (plan: BurstPlan, merged: BurstMergeResult) {
        var members: [Member] = []
        var skipped: [Skipped] = []
        var planes: [Int: RawPlane] = [:]
        for (index, frame) in frames.enumerated() {
            switch frame.raw {
            case .success(let raw):
                do throws(BurstError) {
                    let measured = try BurstMemberSummary.measure(raw)
                    members.append(Member(index: index, name: frame.name, info: raw.info, summary: measured.summary, proxy: measured.proxy))
                    planes[index] = raw.plane
                } catch {
                    skipped.append(Skipped(member: index, name: frame.name, reason: "\(error)"))
                }
            case .failure(let error):
                skipped.append(Skipped(member: index, name: frame.name, reason: "\(error)"))
            }
        }
        let plan = try make(members: members, skipped: skipped, source: source)
        let merged = try BurstMerger.mergeFrames(reference: planes[plan.reference]!, alternates: plan.alternates.map { planes[$0]! },
                                                 coarse: plan.coarse, settings: plan.settings, threads: threads)
        return (plan, merged)
    }
}
