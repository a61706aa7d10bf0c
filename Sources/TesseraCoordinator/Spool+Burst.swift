import Foundation
import TesseraCore
#if canImport(Glibc)
import Glibc
#endif

// A burst's spool files: each decoded member's plane and proxy, and the merged raw's assembly
// file into which merge tiles are written at their place (docs/burst.md).
extension Spool {
    /// Where member `member` of burst frame `id` keeps its decoded CFA plane.
    public func memberPlanePath(_ id: FrameID, member: Int) -> String { "\(directory)/frame-\(id.rawValue)-m\(member).cfa" }
    /// Where member `member` of burst frame `id` keeps its coarse-alignment proxy (Float32 LE).
    public func memberProxyPath(_ id: FrameID, member: Int) -> String { "\(directory)/frame-\(id.rawValue)-m\(member).proxy" }
    /// Where burst frame `id`'s merged raw is assembled from its merge tiles.
    public func mergedPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).merged" }

    /// Where the checksums of burst frame `id`'s merged cores live (one record per merge tile).
    public func mergedChecksumPath(_ id: FrameID) -> String { "\(directory)/frame-\(id.rawValue).msum" }

    /// Writes one merged raw core (`core.area` UInt16 samples, little-endian bytes) into burst
    /// frame `id`'s merged assembly file at its place, and its checksum record at `slot` (the
    /// core's index in ``BurstPlan/mergeCores(width:height:tileSize:)``); both fdatasynced.
    public func storeMergedCore(_ bytes: UnsafeRawBufferPointer, core: PixelRect, slot: Int, frame id: FrameID,
                                frameWidth: Int, frameHeight: Int) throws {
        try storeRegion(bytes, core: core, bytesPerPixel: 2, slot: slot, path: mergedPath(id), checksums: mergedChecksumPath(id),
                        frameWidth: frameWidth, frameHeight: frameHeight)
    }

    /// The merged raw of burst frame `id` (`width × height` samples), every core checked against
    /// its checksum record (`cores` in slot order) — or, once ``commitMerged(frame:samples:)``
    /// ran, its verified plane. A missing, short or corrupt core throws ``SpoolCorruption``.
    public func mergedSamples(frame id: FrameID, width: Int, height: Int, cores: [PixelRect]) throws -> [UInt16] {
        let path = mergedPath(id)
        guard FileManager.default.fileExists(atPath: path) else {
            return try withPlane(at: planePath(id), count: width * height) { Array($0) }
        }
        guard let data = FileManager.default.contents(atPath: path), data.count == width * height * 2 else {
            throw SpoolCorruption(path: path, reason: "missing or not \(width * height * 2) bytes")
        }
        var samples = [UInt16](repeating: 0, count: width * height)
        samples.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        let bad = try samples.withUnsafeBytes {
            try corruptRegions(of: $0, width: width, bytesPerPixel: 2, checksums: mergedChecksumPath(id), regions: cores)
        }
        guard bad.isEmpty else {
            throw SpoolCorruption(path: path, reason: "\(bad.count) of \(cores.count) merged core(s) missing or failing their checksum")
        }
        return samples
    }

    /// Makes burst frame `id`'s verified merged raw its decoded plane (stored with its checksum
    /// trailer at ``planePath(_:)``), deletes the merge assembly files, and returns the plane's path.
    /// Idempotent.
    public func commitMerged(frame id: FrameID, samples: [UInt16]) throws -> String {
        try samples.withUnsafeBytes { try storePlane($0, at: planePath(id)) }
        unlink(mergedPath(id))
        unlink(mergedChecksumPath(id))
        return planePath(id)
    }

    /// Deletes a burst's member planes and proxies (after the merged raw is committed).
    public func removeMembers(frame id: FrameID, count: Int) {
        for member in 0..<count {
            unlink(memberPlanePath(id, member: member))
            unlink(memberProxyPath(id, member: member))
        }
        unlink(mergedPath(id))
        unlink(mergedChecksumPath(id))
    }
}
