import CLCMS2
import Foundation

/// An output transfer function (encoding of linear light 0…1 into signal 0…1). Pure; thread-safe.
public enum OutputTransfer: Hashable, Sendable, Codable, CustomStringConvertible {
    /// IEC 61966-2-1 sRGB piecewise curve (linear segment 12.92·x below 0.0031308, then
    /// 1.055·x^(1/2.4) − 0.055). Also Display P3's curve.
    case srgb
    /// A pure power law `x^(1/gamma)`; Adobe RGB (1998) uses gamma = 563/256 = 2.19921875.
    case gamma(Double)
    /// No curve (linear light).
    case linear

    /// Encodes linear light `x` (values outside 0…1 are clamped first).
    public func encode(_ x: Double) -> Double {
        let v = min(max(x, 0), 1)
        switch self {
        case .srgb: return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
        case .gamma(let g): return pow(v, 1 / g)
        case .linear: return v
        }
    }

    /// Decodes a signal `e` (clamped to 0…1) back to linear light.
    public func decode(_ e: Double) -> Double {
        let v = min(max(e, 0), 1)
        switch self {
        case .srgb: return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        case .gamma(let g): return pow(v, g)
        case .linear: return v
        }
    }

    public var description: String {
        switch self {
        case .srgb: "sRGB curve"
        case .gamma(let g): "gamma \(g)"
        case .linear: "linear"
        }
    }
}

/// An RGB output colour space: primaries, white point, transfer function, the XYZ matrices and
/// a matching ICC profile. All D65-white spaces; matrices are derived from the primaries
/// (SMPTE RP 177 method), so `toXYZ · (1, 1, 1)` is the white with Y = 1.
public enum OutputColorSpace: String, Hashable, Sendable, Codable, CaseIterable {
    /// sRGB (IEC 61966-2-1): Rec. 709 primaries, D65, the sRGB curve.
    case srgb
    /// Display P3 (Apple): DCI-P3 primaries, D65, the sRGB curve.
    case displayP3
    /// Adobe RGB (1998): its primaries, D65, gamma 563/256.
    case adobeRGB

    /// Red, green and blue primaries.
    public var primaries: (red: Chromaticity, green: Chromaticity, blue: Chromaticity) {
        switch self {
        case .srgb: (Chromaticity(x: 0.64, y: 0.33), Chromaticity(x: 0.30, y: 0.60), Chromaticity(x: 0.15, y: 0.06))
        case .displayP3: (Chromaticity(x: 0.680, y: 0.320), Chromaticity(x: 0.265, y: 0.690), Chromaticity(x: 0.150, y: 0.060))
        case .adobeRGB: (Chromaticity(x: 0.64, y: 0.33), Chromaticity(x: 0.21, y: 0.71), Chromaticity(x: 0.15, y: 0.06))
        }
    }

    /// The white point (D65 for all three).
    public var white: Chromaticity { .d65 }

    /// The transfer function the encoded output uses.
    public var transfer: OutputTransfer {
        switch self {
        case .srgb, .displayP3: .srgb
        case .adobeRGB: .gamma(563.0 / 256.0)
        }
    }

    /// Human name, also the ICC profile description.
    public var profileDescription: String {
        switch self {
        case .srgb: "Tessera sRGB (IEC 61966-2-1)"
        case .displayP3: "Tessera Display P3"
        case .adobeRGB: "Tessera Adobe RGB (1998) compatible"
        }
    }

    /// Linear RGB → CIE XYZ (white-relative, D65, Y of white = 1).
    public var toXYZ: Matrix3 { Self.matrices[self]!.toXYZ }
    /// CIE XYZ (D65) → linear RGB.
    public var fromXYZ: Matrix3 { Self.matrices[self]!.fromXYZ }

    /// Linear sRGB → linear RGB of this space (exactly the identity for ``srgb``).
    public var fromLinearSRGB: Matrix3 {
        self == .srgb ? .identity : fromXYZ * OutputColorSpace.srgb.toXYZ
    }

    /// CIE XYZ relative to the ICC PCS white (D50) → linear RGB, through Bradford adaptation
    /// D50 → D65 (what a colour-managed reader of our ICC profile undoes).
    public var fromXYZD50: Matrix3 {
        fromXYZ * ChromaticAdaptation.bradford(from: Chromaticity.d50.xyz(), to: white.xyz())
    }

    /// The RGB → XYZ matrix from primaries and white (SMPTE RP 177-1993, § 3.3).
    public static func rgbToXYZ(red: Chromaticity, green: Chromaticity, blue: Chromaticity, white: Chromaticity) -> Matrix3 {
        let r = red.xyz(), g = green.xyz(), b = blue.xyz()
        let p = Matrix3([r.x, g.x, b.x, r.y, g.y, b.y, r.z, g.z, b.z])
        let w = white.xyz()
        let s = p.inverse!.apply(w.vector)
        return p * Matrix3([s.0, 0, 0, 0, s.1, 0, 0, 0, s.2])
    }

    private static let matrices: [OutputColorSpace: (toXYZ: Matrix3, fromXYZ: Matrix3)] = {
        var result: [OutputColorSpace: (toXYZ: Matrix3, fromXYZ: Matrix3)] = [:]
        for space in OutputColorSpace.allCases {
            let p = space.primaries
            let m = rgbToXYZ(red: p.red, green: p.green, blue: p.blue, white: space.white)
            result[space] = (m, m.inverse!)
        }
        return result
    }()

    // MARK: ICC

    /// The profile's fixed creation date (the ICC header needs one; a constant keeps the bytes
    /// identical across runs): 2024-01-01 00:00:00.
    static let profileDate: [UInt16] = [2024, 1, 1, 0, 0, 0]

    /// An ICC v2.1 RGB display profile for this space (colorants from ``primaries`` adapted to D50
    /// with Bradford, a `chad` tag, TRCs matching ``transfer``), made with lcms2
    /// (`cmsCreateRGBProfile` + `cmsSaveProfileToMem`). Description ``profileDescription``,
    /// copyright "No copyright, use freely", creation date fixed to 2024-01-01: equal bytes on
    /// every call and every run. Built on each call (tens of microseconds; the caller owns the
    /// array); thread-safe (a private lcms2 context per call).
    public func iccProfile() -> [UInt8] {
        let ctx = cmsCreateContext(nil, nil)
        defer { cmsDeleteContext(ctx) }
        var white = cmsCIExyY(x: self.white.x, y: self.white.y, Y: 1)
        let p = primaries
        var prims = cmsCIExyYTRIPLE(
            Red: cmsCIExyY(x: p.red.x, y: p.red.y, Y: 1),
            Green: cmsCIExyY(x: p.green.x, y: p.green.y, Y: 1),
            Blue: cmsCIExyY(x: p.blue.x, y: p.blue.y, Y: 1))
        let curve: OpaquePointer?
        switch transfer {
        case .srgb:
            // IEC 61966-2-1 as lcms2 parametric type 4: Y = (aX + b)^g for X ≥ d, Y = cX below.
            var params: [Double] = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
            curve = cmsBuildParametricToneCurve(ctx, 4, &params)
        case .gamma(let g):
            curve = cmsBuildGamma(ctx, g)
        case .linear:
            curve = cmsBuildGamma(ctx, 1)
        }
        guard let curve else { preconditionFailure("lcms2 could not build the \(transfer) tone curve") }
        defer { cmsFreeToneCurve(curve) }
        var curves: [OpaquePointer?] = [curve, curve, curve]
        guard let profile = cmsCreateRGBProfileTHR(ctx, &white, &prims, &curves) else {
            preconditionFailure("lcms2 could not create the \(self) profile")
        }
        defer { cmsCloseProfile(profile) }
        cmsSetProfileVersion(profile, 2.1)
        cmsSetDeviceClass(profile, cmsSigDisplayClass)
        setText(profile, ctx, tag: cmsSigProfileDescriptionTag, profileDescription)
        setText(profile, ctx, tag: cmsSigCopyrightTag, "No copyright, use freely")
        var size: cmsUInt32Number = 0
        guard cmsSaveProfileToMem(profile, nil, &size) != 0, size > 128 else {
            preconditionFailure("lcms2 could not size the \(self) profile")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard bytes.withUnsafeMutableBytes({ cmsSaveProfileToMem(profile, $0.baseAddress, &size) }) != 0 else {
            preconditionFailure("lcms2 could not write the \(self) profile")
        }
        // ICC header bytes 24…35: creation dateTimeNumber (six big-endian uInt16). lcms2 stamps
        // the current time; replace it with the fixed date. The profile ID (84…99) stays zero
        // ("not computed"), so nothing else depends on the date.
        for (i, v) in Self.profileDate.enumerated() {
            bytes[24 + 2 * i] = UInt8(v >> 8)
            bytes[25 + 2 * i] = UInt8(v & 0xff)
        }
        return bytes
    }

    private func setText(_ profile: cmsHPROFILE, _ ctx: cmsContext?, tag: cmsTagSignature, _ text: String) {
        guard let mlu = cmsMLUalloc(ctx, 1) else { preconditionFailure("lcms2: out of memory") }
        defer { cmsMLUfree(mlu) }
        _ = cmsMLUsetASCII(mlu, "en", "US", text)
        _ = cmsWriteTag(profile, tag, UnsafeRawPointer(mlu))
    }
}
