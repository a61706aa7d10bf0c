import Foundation

/// Errors of colour resolution; each names the camera and the choice involved.
public enum ColorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Auto white balance was asked for without ``FrameStatistics`` (or with statistics that
    /// found no usable block: the frame is clipped or black everywhere).
    case noStatistics(camera: String, reason: String)
    /// The white-balance choice needs a colour matrix the file does not have.
    case noColorMatrix(camera: String, whiteBalance: String)
    /// A matrix from the file (named) cannot be inverted or is not finite.
    case singularMatrix(camera: String, matrix: String)
    /// The white-balance parameters are out of range or the resulting neutral is unusable.
    case invalidWhiteBalance(camera: String, reason: String)

    public var description: String {
        switch self {
        case .noStatistics(let camera, let reason): "\(camera): auto white balance impossible: \(reason)"
        case .noColorMatrix(let camera, let wb):
            "\(camera): white balance '\(wb)' needs a colour matrix (DNG ColorMatrix or LibRaw cam_xyz) and the file has none"
        case .singularMatrix(let camera, let matrix): "\(camera): colour matrix \(matrix) is singular or not finite"
        case .invalidWhiteBalance(let camera, let reason): "\(camera): invalid white balance: \(reason)"
        }
    }
}

/// Which colour path produced a ``ColorResolution``.
public enum ColorPath: String, Hashable, Sendable, Codable {
    /// DNG ForwardMatrix (interpolated between ForwardMatrix1/2 when both exist).
    case dngForwardMatrix
    /// DNG inverse ColorMatrix path with Bradford adaptation of the scene white to D50.
    case dngColorMatrix
    /// LibRaw's `rgb_cam` (white balance in camera space, matrix for D65), non-DNG files.
    case libRaw
}

/// The numbers a develop needs for colour: white-balance gains, the camera → output matrix and the
/// output transfer. Plain value; `Codable`.
public struct ColorResolution: Hashable, Sendable, Codable {
    /// Multipliers `[R, G, B]`, green = 1, applied to black-subtracted, white-scaled camera samples
    /// before demosaicing (`1 / cameraNeutral`).
    public var wbMultipliers: [Double]
    /// The scene white in camera coordinates `[R, G, B]`, green = 1.
    public var cameraNeutral: [Double]
    /// White-balanced camera RGB → linear output RGB. Maps (1, 1, 1) to (1, 1, 1): a neutral at
    /// the white-balanced clip level comes out as output white.
    public var cameraToOutput: Matrix3
    /// The output space.
    public var colorSpace: OutputColorSpace
    /// The output transfer function (``OutputColorSpace/transfer``).
    public var transfer: OutputTransfer
    /// The scene white's chromaticity, nil when the file has no matrix to compute it.
    public var whiteChromaticity: Chromaticity?
    /// Its correlated colour temperature (K) and tint, nil with ``whiteChromaticity``.
    public var temperature: Double?
    public var tint: Double?
    /// The path taken.
    public var path: ColorPath
}

/// Resolves a frame's colour: white balance and the camera → output matrix. Pure; thread-safe.
///
/// DNG files (a ColorMatrix1 is present) follow the DNG 1.4 specification, chapter 6 ("Mapping
/// Camera Color Space to CIE XYZ Space"):
///
/// 1. `XYZtoCamera(xy) = AB · CC(xy) · CM(xy)` where CM and CC are interpolated between the
///    ColorMatrix1/2 and CameraCalibration1/2 pairs linearly in inverse correlated colour
///    temperature (Robertson) of the white `xy`, clamped outside the two calibration illuminants.
/// 2. A camera neutral `n` gives the white by iteration: `xy ← chromaticity(XYZtoCamera(xy)⁻¹·n)`
///    from D50 until it moves < 1e-7 (averaging the last two after 30 passes, the spec's advice).
///    A white given as Kelvin/tint gives `n = XYZtoCamera(xy) · XYZ(xy)`.
/// 3. Camera → XYZ(D50): with ForwardMatrix, `FM · diag(1/RN) · (AB·CC)⁻¹` where
///    `RN = (AB·CC)⁻¹ · n` and FM is normalised to map (1, 1, 1) to D50; without it,
///    `Bradford(xy → D50) · XYZtoCamera⁻¹`.
/// 4. XYZ(D50) → output: Bradford D50 → D65, then the space's XYZ → RGB.
///
/// Non-DNG files use LibRaw's `rgb_cam` (camera → linear sRGB for white-balanced data), followed by
/// linear sRGB → output; LibRaw's `cam_xyz` (D65 matrix) turns Kelvin/presets into a camera neutral.
public enum ColorResolver {
    /// Resolves white balance and matrix for the frame `info` describes.
    ///
    /// - Parameters:
    ///   - statistics: the frame's ``FrameStatistics`` (required for ``WhiteBalance/auto``).
    /// - Throws: ``ColorError`` naming the camera and the problem.
    public static func resolve(
        info: RawFrameInfo, statistics: FrameStatistics? = nil, whiteBalance: WhiteBalance = .asShot,
        colorSpace: OutputColorSpace = .srgb
    ) throws(ColorError) -> ColorResolution {
        let camera = info.make.isEmpty && info.model.isEmpty ? "camera" : "\(info.make) \(info.model)"
        if let illuminant = whiteBalance.illuminant {
            guard illuminant.temperature.isFinite, WhiteBalance.temperatureRange.contains(illuminant.temperature) else {
                throw .invalidWhiteBalance(camera: camera, reason: "temperature \(illuminant.temperature) K is outside \(WhiteBalance.temperatureRange)")
            }
            guard illuminant.tint.isFinite, WhiteBalance.tintRange.contains(illuminant.tint) else {
                throw .invalidWhiteBalance(camera: camera, reason: "tint \(illuminant.tint) is outside \(WhiteBalance.tintRange)")
            }
        }
        if let profile = try DNGColorProfile(info: info, camera: camera) {
            return try profile.resolve(info: info, statistics: statistics, whiteBalance: whiteBalance,
                                       colorSpace: colorSpace, camera: camera)
        }
        return try resolveLibRaw(info: info, statistics: statistics, whiteBalance: whiteBalance,
                                 colorSpace: colorSpace, camera: camera)
    }

    /// Camera neutral (G = 1) for as-shot and auto, shared by both paths.
    static func measuredNeutral(info: RawFrameInfo, statistics: FrameStatistics?, whiteBalance: WhiteBalance,
                                camera: String) throws(ColorError) -> [Double]? {
        switch whiteBalance {
        case .asShot:
            if let n = info.asShotNeutral { return try normalized(n, camera: camera) }
            return try normalized(info.asShotMultipliers.map { 1 / $0 }, camera: camera)
        case .auto:
            guard let statistics else { throw .noStatistics(camera: camera, reason: "no frame statistics were measured") }
            guard let grey = statistics.greyWorld else {
                throw .noStatistics(camera: camera, reason: "no usable block (\(statistics.blockCount) blocks, \(Int(statistics.clippedFraction * 100)) % clipped)")
            }
            return try normalized(grey, camera: camera)
        case .preset, .kelvin:
            return nil
        }
    }

    static func normalized(_ n: [Double], camera: String) throws(ColorError) -> [Double] {
        guard n.count == 3, n.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidWhiteBalance(camera: camera, reason: "camera neutral \(n) is not three positive numbers")
        }
        return [n[0] / n[1], 1, n[2] / n[1]]
    }

    static func multipliers(_ n: [Double]) -> [Double] { [1 / n[0], 1, 1 / n[2]] }

    /// `m` scaled so that `m · (1, 1, 1)` has the given component equal to 1.
    static func scaled(_ m: Matrix3, row: Int) -> Matrix3 {
        let s = m[row, 0] + m[row, 1] + m[row, 2]
        return Matrix3(m.m.map { $0 / s })
    }

    private static func resolveLibRaw(info: RawFrameInfo, statistics: FrameStatistics?, whiteBalance: WhiteBalance,
                                      colorSpace: OutputColorSpace, camera: String) throws(ColorError) -> ColorResolution {
        let camXYZ = info.cameraFromXYZ
        let xyzToCam = camXYZ.flatMap { $0.inverse != nil ? $0 : nil }
        var neutral: [Double]
        if let n = try measuredNeutral(info: info, statistics: statistics, whiteBalance: whiteBalance, camera: camera) {
            neutral = n
        } else {
            guard let xyzToCam, let illuminant = whiteBalance.illuminant else {
                throw .noColorMatrix(camera: camera, whiteBalance: whiteBalance.description)
            }
            let xy = ColorTemperature.chromaticity(temperature: illuminant.temperature, tint: illuminant.tint)
            let c = xy.xyz().transformed(by: xyzToCam)
            neutral = try normalized([c.x, c.y, c.z], camera: camera)
        }
        var white: Chromaticity? = nil
        if let inv = xyzToCam?.inverse {
            let v = inv.apply((neutral[0], neutral[1], neutral[2]))
            if v.0 + v.1 + v.2 > 0 { white = CIEXYZ(v.0, v.1, v.2).chromaticity }
        }
        let rgbCam = info.cameraToSRGB
        guard rgbCam.m.allSatisfy(\.isFinite), rgbCam.inverse != nil else {
            throw .singularMatrix(camera: camera, matrix: "rgb_cam")
        }
        let matrix = colorSpace == .srgb ? rgbCam : colorSpace.fromLinearSRGB * rgbCam
        let tt = white.map { ColorTemperature.temperatureAndTint(of: $0) }
        return ColorResolution(wbMultipliers: multipliers(neutral), cameraNeutral: neutral, cameraToOutput: matrix,
                               colorSpace: colorSpace, transfer: colorSpace.transfer, whiteChromaticity: white,
                               temperature: tt?.temperature, tint: tt?.tint, path: .libRaw)
    }
}

/// The DNG colour tags of one frame, ready for the chapter-6 computations.
struct DNGColorProfile {
    var cm1: Matrix3, cm2: Matrix3?
    var t1: Double, t2: Double
    var cc1: Matrix3, cc2: Matrix3
    var fm1: Matrix3?, fm2: Matrix3?
    var ab: Matrix3

    /// nil when the frame has no ColorMatrix1 (not a DNG, or a DNG without colour data).
    init?(info: RawFrameInfo, camera: String) throws(ColorError) {
        guard let cm1 = info.colorMatrix1 else { return nil }
        func check(_ m: Matrix3?, _ name: String) throws(ColorError) {
            if let m, !(m.m.allSatisfy(\.isFinite) && m.inverse != nil) { throw .singularMatrix(camera: camera, matrix: name) }
        }
        try check(cm1, "ColorMatrix1")
        try check(info.colorMatrix2, "ColorMatrix2")
        try check(info.cameraCalibration1, "CameraCalibration1")
        try check(info.cameraCalibration2, "CameraCalibration2")
        try check(info.forwardMatrix1, "ForwardMatrix1")
        try check(info.forwardMatrix2, "ForwardMatrix2")
        self.cm1 = cm1
        let temp1 = info.calibrationIlluminant1.flatMap(LightSource.temperature(code:))
        let temp2 = info.calibrationIlluminant2.flatMap(LightSource.temperature(code:))
        // Two-illuminant only when both matrices and both temperatures are known and differ.
        if let cm2 = info.colorMatrix2, let temp1, let temp2, temp1 != temp2 {
            self.cm2 = cm2
            t1 = temp1
            t2 = temp2
        } else {
            cm2 = nil
            t1 = temp1 ?? 6500
            t2 = t1
        }
        cc1 = info.cameraCalibration1 ?? .identity
        cc2 = (cm2 != nil ? info.cameraCalibration2 : nil) ?? cc1
        let pcs = Chromaticity.d50.xyz()
        func normalizedFM(_ m: Matrix3?) -> Matrix3? {
            guard let m else { return nil }
            var r = m.m
            for row in 0..<3 {
                let s = r[row * 3] + r[row * 3 + 1] + r[row * 3 + 2]
                let target = [pcs.x, pcs.y, pcs.z][row]
                if s != 0 { for c in 0..<3 { r[row * 3 + c] *= target / s } }
            }
            return Matrix3(r)
        }
        fm1 = normalizedFM(info.forwardMatrix1)
        fm2 = cm2 != nil ? normalizedFM(info.forwardMatrix2) : nil
        if cm2 != nil, (fm1 == nil) != (fm2 == nil) {
            // A ForwardMatrix for one illuminant only: the spec requires both or neither; use none.
            fm1 = nil
            fm2 = nil
        }
        let a = info.analogBalance ?? [1, 1, 1]
        ab = Matrix3([a[0], 0, 0, 0, a[1], 0, 0, 0, a[2]])
    }

    /// Weight of the illuminant-1 matrices for white `xy` (1 at or beyond illuminant 1's side).
    func weight(_ xy: Chromaticity) -> Double {
        guard cm2 != nil else { return 1 }
        let t = ColorTemperature.cct(xy)
        let lo = min(t1, t2), hi = max(t1, t2)
        let tc = min(max(t, lo), hi)
        let g = (1 / tc - 1 / t2) / (1 / t1 - 1 / t2)
        return min(max(g, 0), 1)
    }

    static func mix(_ a: Matrix3, _ b: Matrix3, _ g: Double) -> Matrix3 {
        Matrix3((0..<9).map { a.m[$0] * g + b.m[$0] * (1 - g) })
    }

    /// `AB · CC(xy)` and `AB · CC(xy) · CM(xy)`.
    func xyzToCamera(_ xy: Chromaticity) -> (abcc: Matrix3, full: Matrix3) {
        let g = weight(xy)
        let cm = cm2.map { Self.mix(cm1, $0, g) } ?? cm1
        let cc = cm2 != nil ? Self.mix(cc1, cc2, g) : cc1
        let abcc = ab * cc
        return (abcc, abcc * cm)
    }

    /// The white chromaticity of camera neutral `n` (DNG 1.4 § 6, "Translating Camera Neutral
    /// Coordinates to White Balance xy Coordinates").
    func white(ofNeutral n: [Double]) -> Chromaticity? {
        var last = Chromaticity.d50
        for pass in 0..<30 {
            guard let inv = xyzToCamera(last).full.inverse else { return nil }
            let v = inv.apply((n[0], n[1], n[2]))
            guard v.0 + v.1 + v.2 > 0 else { return nil }
            var next = CIEXYZ(v.0, v.1, v.2).chromaticity
            if abs(next.x - last.x) + abs(next.y - last.y) < 1e-7 { return next }
            if pass == 29 { next = Chromaticity(x: (last.x + next.x) / 2, y: (last.y + next.y) / 2) }
            last = next
        }
        return last
    }

    func resolve(info: RawFrameInfo, statistics: FrameStatistics?, whiteBalance: WhiteBalance,
                 colorSpace: OutputColorSpace, camera: String) throws(ColorError) -> ColorResolution {
        let neutral: [Double]
        let white: Chromaticity
        if let n = try ColorResolver.measuredNeutral(info: info, statistics: statistics, whiteBalance: whiteBalance, camera: camera) {
            guard let w = self.white(ofNeutral: n) else {
                throw .invalidWhiteBalance(camera: camera, reason: "camera neutral \(n) maps to no chromaticity")
            }
            neutral = n
            white = w
        } else {
            let illuminant = whiteBalance.illuminant!
            white = ColorTemperature.chromaticity(temperature: illuminant.temperature, tint: illuminant.tint)
            let c = white.xyz().transformed(by: xyzToCamera(white).full)
            neutral = try ColorResolver.normalized([c.x, c.y, c.z], camera: camera)
        }
        let (abcc, full) = xyzToCamera(white)
        let diagN = Matrix3([neutral[0], 0, 0, 0, neutral[1], 0, 0, 0, neutral[2]])
        var cameraToPCS: Matrix3
        let path: ColorPath
        if let fm1 {
            let g = weight(white)
            let fm = fm2.map { Self.mix(fm1, $0, g) } ?? fm1
            guard let abccInv = abcc.inverse else { throw .singularMatrix(camera: camera, matrix: "AnalogBalance·CameraCalibration") }
            let rn = abccInv.apply((neutral[0], neutral[1], neutral[2]))
            guard rn.0 > 0, rn.1 > 0, rn.2 > 0 else {
                throw .invalidWhiteBalance(camera: camera, reason: "reference neutral \(rn) is not positive")
            }
            cameraToPCS = fm * Matrix3([1 / rn.0, 0, 0, 0, 1 / rn.1, 0, 0, 0, 1 / rn.2]) * abccInv
            path = .dngForwardMatrix
        } else {
            guard let inv = full.inverse else { throw .singularMatrix(camera: camera, matrix: "ColorMatrix (interpolated)") }
            cameraToPCS = ChromaticAdaptation.bradford(from: white, to: .d50) * inv
            path = .dngColorMatrix
        }
        // White-balanced camera (raw = diag(n) · wb'd) → XYZ D50 with the white at Y = 1.
        cameraToPCS = ColorResolver.scaled(cameraToPCS * diagN, row: 1)
        let matrix = colorSpace.fromXYZD50 * cameraToPCS
        guard matrix.m.allSatisfy(\.isFinite) else { throw .singularMatrix(camera: camera, matrix: "camera → output") }
        let tt = ColorTemperature.temperatureAndTint(of: white)
        return ColorResolution(wbMultipliers: ColorResolver.multipliers(neutral), cameraNeutral: neutral, cameraToOutput: matrix,
                               colorSpace: colorSpace, transfer: colorSpace.transfer, whiteChromaticity: white,
                               temperature: tt.temperature, tint: tt.tint, path: path)
    }
}
