import CLCMS2
import Foundation
import Testing
import TesseraImaging

/// CIE tools, output spaces and ICC profiles against published data and lcms2.
@Suite struct ColorScienceTests {
    /// All 34 pairs of Sharma, Wu & Dalal (2005), Table 1: L1 a1 b1, L2 a2 b2, ΔE00.
    static let sharma: [(CIELab, CIELab, Double)] = [
        (CIELab(50.0000, 2.6772, -79.7751), CIELab(50.0000, 0.0000, -82.7485), 2.0425),
        (CIELab(50.0000, 3.1571, -77.2803), CIELab(50.0000, 0.0000, -82.7485), 2.8615),
        (CIELab(50.0000, 2.8361, -74.0200), CIELab(50.0000, 0.0000, -82.7485), 3.4412),
        (CIELab(50.0000, -1.3802, -84.2814), CIELab(50.0000, 0.0000, -82.7485), 1.0000),
        (CIELab(50.0000, -1.1848, -84.8006), CIELab(50.0000, 0.0000, -82.7485), 1.0000),
        (CIELab(50.0000, -0.9009, -85.5211), CIELab(50.0000, 0.0000, -82.7485), 1.0000),
        (CIELab(50.0000, 0.0000, 0.0000), CIELab(50.0000, -1.0000, 2.0000), 2.3669),
        (CIELab(50.0000, -1.0000, 2.0000), CIELab(50.0000, 0.0000, 0.0000), 2.3669),
        (CIELab(50.0000, 2.4900, -0.0010), CIELab(50.0000, -2.4900, 0.0009), 7.1792),
        (CIELab(50.0000, 2.4900, -0.0010), CIELab(50.0000, -2.4900, 0.0010), 7.1792),
        (CIELab(50.0000, 2.4900, -0.0010), CIELab(50.0000, -2.4900, 0.0011), 7.2195),
        (CIELab(50.0000, 2.4900, -0.0010), CIELab(50.0000, -2.4900, 0.0012), 7.2195),
        (CIELab(50.0000, -0.0010, 2.4900), CIELab(50.0000, 0.0009, -2.4900), 4.8045),
        (CIELab(50.0000, -0.0010, 2.4900), CIELab(50.0000, 0.0010, -2.4900), 4.8045),
        (CIELab(50.0000, -0.0010, 2.4900), CIELab(50.0000, 0.0011, -2.4900), 4.7461),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(50.0000, 0.0000, -2.5000), 4.3065),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(73.0000, 25.0000, -18.0000), 27.1492),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(61.0000, -5.0000, 29.0000), 22.8977),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(56.0000, -27.0000, -3.0000), 31.9030),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(58.0000, 24.0000, 15.0000), 19.4535),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(50.0000, 3.1736, 0.5854), 1.0000),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(50.0000, 3.2972, 0.0000), 1.0000),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(50.0000, 1.8634, 0.5757), 1.0000),
        (CIELab(50.0000, 2.5000, 0.0000), CIELab(50.0000, 3.2592, 0.3350), 1.0000),
        (CIELab(60.2574, -34.0099, 36.2677), CIELab(60.4626, -34.1751, 39.4387), 1.2644),
        (CIELab(63.0109, -31.0961, -5.8663), CIELab(62.8187, -29.7946, -4.0864), 1.2630),
        (CIELab(61.2901, 3.7196, -5.3901), CIELab(61.4292, 2.2480, -4.9620), 1.8731),
        (CIELab(35.0831, -44.1164, 3.7933), CIELab(35.0232, -40.0716, 1.5901), 1.8645),
        (CIELab(22.7233, 20.0904, -46.6940), CIELab(23.0331, 14.9730, -42.5619), 2.0373),
        (CIELab(36.4612, 47.8580, 18.3852), CIELab(36.2715, 50.5065, 21.2231), 1.4146),
        (CIELab(90.8027, -2.0831, 1.4410), CIELab(91.1528, -1.6435, 0.0447), 1.4441),
        (CIELab(90.9257, -0.5406, -0.9208), CIELab(88.6381, -0.8985, -0.7239), 1.5381),
        (CIELab(6.7747, -0.2908, -2.4247), CIELab(5.8714, -0.0985, -2.2286), 0.6377),
        (CIELab(2.0776, 0.0795, -1.1350), CIELab(0.9033, -0.0636, -0.5514), 0.9082),
    ]

    @Test func deltaE2000MatchesSharmaTestData() {
        for (i, (a, b, want)) in Self.sharma.enumerated() {
            let got = a.deltaE2000(b)
            #expect(abs(got - want) < 5e-5, "pair \(i + 1): got \(got), want \(want)")
            #expect(abs(b.deltaE2000(a) - got) < 1e-12, "pair \(i + 1) is not symmetric")
        }
        #expect(CIELab(50, 10, -20).deltaE2000(CIELab(50, 10, -20)) == 0)
    }

    @Test func labRoundTripsAndKnowsWhite() {
        let white = Chromaticity.d65.xyz()
        let lab = CIELab(white, white: white)
        #expect(abs(lab.l - 100) < 1e-9 && abs(lab.a) < 1e-9 && abs(lab.b) < 1e-9)
        for xyz in [CIEXYZ(0.2, 0.3, 0.1), CIEXYZ(0.001, 0.002, 0.003), CIEXYZ(0.9, 0.8, 1.05)] {
            let back = CIELab(xyz, white: white).xyz(white: white)
            #expect(abs(back.x - xyz.x) < 1e-12 && abs(back.y - xyz.y) < 1e-12 && abs(back.z - xyz.z) < 1e-12, "\(xyz) → \(back)")
        }
        // 18 % grey is L* ≈ 49.5.
        #expect(abs(CIELab(CIEXYZ(0.18 * white.x, 0.18, 0.18 * white.z), white: white).l - 49.496) < 0.01)
    }

    @Test func correlatedColourTemperatureOfStandardIlluminants() {
        // Published CCTs: A 2856 K, D50 5003 K, D65 6504 K, D75 7504 K.
        for (xy, want, tolerance) in [(Chromaticity.a, 2856.0, 3.0), (.d50, 5003, 5), (.d65, 6504, 6), (.d75, 7504, 8)] {
            let (t, tint) = ColorTemperature.temperatureAndTint(of: xy)
            #expect(abs(t - want) <= tolerance, "\(xy): \(t) K, want \(want)")
            #expect(abs(ColorTemperature.mcCamyCCT(xy) - want) <= 8, "McCamy \(xy)")
            // The D illuminants lie on the green side of the black-body locus, A on it.
            if xy == .a { #expect(abs(tint) < 2, "tint of A \(tint)") } else { #expect(tint > 2 && tint < 15, "tint of \(xy) \(tint)") }
        }
        let d = ColorTemperature.daylight(temperature: 6504)
        #expect(abs(d.x - 0.3127) < 4e-4 && abs(d.y - 0.3290) < 4e-4, "daylight locus at 6504 K: \(d)")
    }

    @Test func temperatureAndTintRoundTrip() {
        for t in stride(from: 2000.0, through: 20_000, by: 350) {
            for tint in [-60.0, -10, 0, 12, 45] {
                let xy = ColorTemperature.chromaticity(temperature: t, tint: tint)
                let back = ColorTemperature.temperatureAndTint(of: xy)
                #expect(abs(back.temperature - t) / t < 2e-4, "\(t) K \(tint): \(back)")
                #expect(abs(back.tint - tint) < 0.05, "\(t) K \(tint): \(back)")
            }
        }
    }

    @Test func bradfordMapsWhiteToWhiteAndComposesToIdentity() {
        let m = ChromaticAdaptation.bradford(from: .d65, to: .d50)
        let w = Chromaticity.d65.xyz().transformed(by: m), d50 = Chromaticity.d50.xyz()
        #expect(abs(w.x - d50.x) < 1e-12 && abs(w.y - d50.y) < 1e-12 && abs(w.z - d50.z) < 1e-12)
        // The ICC / Lindbloom D65 → D50 Bradford matrix.
        let published = [1.0478112, 0.0228866, -0.0501270, 0.0295424, 0.9904844, -0.0170491, -0.0092345, 0.0150436, 0.7521316]
        for i in 0..<9 { #expect(abs(m.m[i] - published[i]) < 3e-4, "element \(i): \(m.m[i])") }
        let round = ChromaticAdaptation.bradford(from: .d50, to: .d65) * m
        for i in 0..<9 { #expect(abs(round.m[i] - Matrix3.identity.m[i]) < 1e-12) }
    }

    @Test func outputSpaceMatricesMatchTheirStandards() {
        // sRGB from primaries agrees with IEC 61966-2-1's matrix (Matrix3.srgbToXYZ uses Lindbloom's
        // D65 XYZ, 0.95047/1.08883, we use xy 0.3127/0.3290: up to 2.3e-4 apart in the Z row).
        let s = OutputColorSpace.srgb.toXYZ
        for i in 0..<9 { #expect(abs(s.m[i] - Matrix3.srgbToXYZ.m[i]) < 3e-4, "sRGB element \(i)") }
        // Adobe RGB (1998) and Display P3 (DCI-P3 primaries, D65) as Lindbloom tabulates them (his
        // D65 is 0.95047, 1, 1.08883; ours comes from xy 0.3127, 0.3290, hence the tolerance).
        let adobe = [0.5767309, 0.1855540, 0.1881852, 0.2973769, 0.6273491, 0.0752741, 0.0270343, 0.0706872, 0.9911085]
        let p3 = [0.4865709, 0.2656677, 0.1982173, 0.2289746, 0.6917385, 0.0792869, 0.0, 0.0451134, 1.0439444]
        for i in 0..<9 {
            #expect(abs(OutputColorSpace.adobeRGB.toXYZ.m[i] - adobe[i]) < 3e-4, "Adobe RGB element \(i)")
            #expect(abs(OutputColorSpace.displayP3.toXYZ.m[i] - p3[i]) < 3e-4, "Display P3 element \(i)")
        }
        #expect(OutputColorSpace.srgb.fromLinearSRGB == .identity)
        for space in OutputColorSpace.allCases {
            let w = space.fromXYZD50.apply(Chromaticity.d50.xyz().vector)
            #expect(abs(w.0 - 1) < 1e-9 && abs(w.1 - 1) < 1e-9 && abs(w.2 - 1) < 1e-9, "\(space) D50 white → \(w)")
        }
    }

    @Test func transferFunctionsRoundTripAndHitKnownPoints() {
        #expect(abs(OutputTransfer.srgb.encode(0.18) - 0.46135) < 1e-4)
        #expect(abs(OutputTransfer.srgb.encode(0.002) - 0.02584) < 1e-6)
        #expect(abs(OutputColorSpace.adobeRGB.transfer.encode(0.18) - pow(0.18, 256.0 / 563)) < 1e-15)
        for transfer in [OutputTransfer.srgb, .gamma(563.0 / 256), .linear] {
            for v in stride(from: 0.0, through: 1, by: 0.01) {
                #expect(abs(transfer.decode(transfer.encode(v)) - v) < 1e-12, "\(transfer) at \(v)")
            }
        }
    }

    // MARK: ICC

    @Test(arguments: OutputColorSpace.allCases)
    func iccProfileParsesAndAgreesWithTheMatrices(space: OutputColorSpace) throws {
        let bytes = space.iccProfile()
        #expect(bytes == space.iccProfile(), "profile bytes differ between calls")
        // Header: size, 'acsp', RGB data, XYZ PCS, display class, version 2.1, fixed date.
        #expect(Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count)
        #expect(Array(bytes[36..<40]) == Array("acsp".utf8))
        #expect(Array(bytes[16..<20]) == Array("RGB ".utf8) && Array(bytes[20..<24]) == Array("XYZ ".utf8))
        #expect(Array(bytes[12..<16]) == Array("mntr".utf8))
        #expect(bytes[8] == 2 && bytes[9] == 0x10)
        #expect(Array(bytes[24..<36]) == [0x07, 0xE8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])

        let profile = try #require(bytes.withUnsafeBytes { cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) })
        defer { cmsCloseProfile(profile) }
        #expect(cmsGetColorSpace(profile) == cmsSigRgbData)
        var text = [CChar](repeating: 0, count: 256)
        _ = cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", &text, 256)
        #expect(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == space.profileDescription)

        let xyzProfile = try #require(cmsCreateXYZProfile())
        defer { cmsCloseProfile(xyzProfile) }
        let transform = try #require(cmsCreateTransform(profile, tessera_lcms_type_rgb_dbl(), xyzProfile, tessera_lcms_type_xyz_dbl(),
                                                        UInt32(INTENT_RELATIVE_COLORIMETRIC), UInt32(cmsFLAGS_NOOPTIMIZE)))
        defer { cmsDeleteTransform(transform) }
        let toD50 = ChromaticAdaptation.bradford(from: space.white, to: .d50) * space.toXYZ
        var worst = 0.0
        for rgb in [[1.0, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.8, 0.3, 0.1], [0.05, 0.6, 0.9], [0.02, 0.01, 0.03]] {
            var input = rgb, output = [0.0, 0, 0]
            cmsDoTransform(transform, &input, &output, 1)
            let lin = rgb.map { space.transfer.decode($0) }
            let want = toD50.apply((lin[0], lin[1], lin[2]))
            worst = max(worst, abs(output[0] - want.0), abs(output[1] - want.1), abs(output[2] - want.2))
        }
        print("ICC \(space): \(bytes.count) bytes, lcms2 vs matrices max |ΔXYZ| \(worst)")
        #expect(worst < 1e-3, "\(space): lcms2 XYZ differs from our matrices by \(worst)")
    }
}
