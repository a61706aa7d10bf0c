import TesseraCore

/// Builds the DNG of a merged burst (e.g. `IMG_0101-merged.dng`): the merged CFA plane with the
/// reference frame's metadata and a NoiseProfile scaled for the merge. Pure; thread-safe.
public enum MergedDNG {
    /// DNG metadata equivalent to a decoded reference frame's ``RawFrameInfo``.
    ///
    /// `ColorMatrix1` is `(sRGB→XYZ · cameraToSRGB)⁻¹` and `AsShotNeutral` is the inverse of the
    /// as-shot multipliers (green 1), so LibRaw reading the file back reports the same
    /// `cameraToSRGB` (up to the 1/10000 rational quantisation) and multipliers, and the develop
    /// path gives the same colours as for the reference frame. The NoiseProfile is `noise`
    /// divided by `effectiveFrames` (``BurstMergeResult/effectiveFrames``, the mean number of
    /// frames merged per pixel), one entry for all planes. Unknown exposure fields (0) take
    /// ``DNGMetadata``'s defaults; the capture time is the reference's (`subSecTimeOriginal` as
    /// EXIF digits).
    public static func metadata(info: RawFrameInfo, noise: NoiseModel, effectiveFrames: Double,
                                subSecTimeOriginal: String = "000", software: String = "tessera burst merge") throws(BurstError) -> DNGMetadata {
        guard let inverse = (Matrix3.srgbToXYZ * info.cameraToSRGB).inverse else {
            throw .invalidParameter(field: "cameraToSRGB", reason: "the reference frame's colour matrix is singular")
        }
        let mul = info.asShotMultipliers
        guard mul.count == 3, mul.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw .invalidParameter(field: "asShotMultipliers", reason: "need 3 positive values, got \(mul)")
        }
        guard effectiveFrames.isFinite, effectiveFrames >= 1 else {
            throw .invalidParameter(field: "effectiveFrames", reason: "\(effectiveFrames) must be at least 1")
        }
        let defaults = DNGMetadata(make: "x", model: "x", cfa: info.cfa, blackLevels: info.blackLevels, whiteLevel: 1)
        let scaled = DNGNoiseProfile(scale: noise.scale / effectiveFrames, offset: noise.offset / effectiveFrames)
        return DNGMetadata(
            make: info.make.isEmpty ? "Unknown" : info.make, model: info.model.isEmpty ? "Unknown" : info.model,
            cfa: info.cfa, activeArea: nil, blackLevels: info.blackLevels, whiteLevel: Int(info.whiteLevel.rounded()),
            colorMatrix1: inverse, calibrationIlluminant1: 21, asShotNeutral: mul.map { mul[1] / $0 },
            noiseProfile: [scaled], orientation: (1...8).contains(info.orientation) ? info.orientation : 1,
            iso: info.iso > 0 ? Int(info.iso.rounded()) : defaults.iso,
            exposureTime: info.exposureTime > 0 ? info.exposureTime : defaults.exposureTime,
            fNumber: info.fNumber > 0 ? info.fNumber : defaults.fNumber,
            focalLength: info.focalLength > 0 ? info.focalLength : defaults.focalLength,
            dateTimeOriginal: info.dateTimeOriginal ?? defaults.dateTimeOriginal, subSecTimeOriginal: subSecTimeOriginal,
            software: software)
    }

    /// The merged frame as a ``DNGImage`` built from the reference's ``RawFrameInfo`` (see
    /// ``metadata(info:noise:effectiveFrames:subSecTimeOriginal:software:)``). `merged` is the
    /// whole merged active area (``BurstMerger/mergeFrames(reference:alternates:coarse:settings:tileSize:threads:)``
    /// or the assembled tile cores); it must have the reference's size.
    public static func image(merged: RawPlane, info: RawFrameInfo, noise: NoiseModel, effectiveFrames: Double,
                             subSecTimeOriginal: String = "000") throws(BurstError) -> DNGImage {
        guard merged.width == info.width, merged.height == info.height else {
            throw .sizeMismatch(role: "merged plane", reason: "\(merged.width)x\(merged.height) but the reference frame is \(info.width)x\(info.height)")
        }
        return DNGImage(plane: merged, metadata: try metadata(info: info, noise: noise, effectiveFrames: effectiveFrames, subSecTimeOriginal: subSecTimeOriginal))
    }

    /// The merged frame with the reference's own DNG metadata (when the reference was a DNG whose
    /// metadata is at hand): everything is kept except the NoiseProfile, divided by
    /// `effectiveFrames`, the active area (the merged plane is the active area only) and Software.
    public static func image(merged: RawPlane, referenceMetadata: DNGMetadata, effectiveFrames: Double) throws(BurstError) -> DNGImage {
        guard effectiveFrames.isFinite, effectiveFrames >= 1 else {
            throw .invalidParameter(field: "effectiveFrames", reason: "\(effectiveFrames) must be at least 1")
        }
        var m = referenceMetadata
        m.activeArea = nil
        m.noiseProfile = m.noiseProfile.map { DNGNoiseProfile(scale: $0.scale / effectiveFrames, offset: $0.offset / effectiveFrames) }
        m.software = "tessera burst merge"
        return DNGImage(plane: merged, metadata: m)
    }
}
