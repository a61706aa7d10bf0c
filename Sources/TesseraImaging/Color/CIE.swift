import Foundation

/// A CIE 1931 XYZ tristimulus value (Y = 1 is the reference white's luminance unless stated).
/// Plain value; all functions are pure and thread-safe.
public struct CIEXYZ: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var z: Double

    /// The tristimulus value (X, Y, Z).
    public init(_ x: Double, _ y: Double, _ z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// As a column vector for ``Matrix3/apply(_:)``.
    public var vector: (Double, Double, Double) { (x, y, z) }

    /// `m · self`.
    public func transformed(by m: Matrix3) -> CIEXYZ {
        let v = m.apply(vector)
        return CIEXYZ(v.0, v.1, v.2)
    }

    /// The chromaticity of this colour (D65's for black, which has none).
    public var chromaticity: Chromaticity {
        let s = x + y + z
        guard s > 0 else { return .d65 }
        return Chromaticity(x: x / s, y: y / s)
    }

    /// `self` scaled so that Y = 1.
    public var normalizedToY: CIEXYZ { y == 0 ? self : CIEXYZ(x / y, 1, z / y) }

    public var description: String { "XYZ(\(x), \(y), \(z))" }
}

/// A CIE 1931 xy chromaticity.
public struct Chromaticity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Double
    public var y: Double

    /// The chromaticity (x, y).
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    /// CIE standard illuminant A (incandescent, 2856 K).
    public static let a = Chromaticity(x: 0.44757, y: 0.40745)
    /// CIE D50 as the DNG specification and the ICC PCS use it.
    public static let d50 = Chromaticity(x: 0.3457, y: 0.3585)
    /// CIE D55.
    public static let d55 = Chromaticity(x: 0.33242, y: 0.34743)
    /// CIE D65 as sRGB, Display P3 and Adobe RGB define their white (IEC 61966-2-1).
    public static let d65 = Chromaticity(x: 0.3127, y: 0.3290)
    /// CIE D75.
    public static let d75 = Chromaticity(x: 0.29902, y: 0.31485)

    /// The XYZ value with this chromaticity and luminance `luminance`.
    public func xyz(luminance: Double = 1) -> CIEXYZ {
        guard y > 0 else { return CIEXYZ(0, 0, 0) }
        return CIEXYZ(x * luminance / y, luminance, (1 - x - y) * luminance / y)
    }

    /// CIE 1960 UCS (u, v), the space of Robertson's isotherms.
    public var uv: (u: Double, v: Double) {
        let d = -2 * x + 12 * y + 3
        return (4 * x / d, 6 * y / d)
    }

    /// The chromaticity of CIE 1960 (u, v).
    public init(u: Double, v: Double) {
        let d = 2 * u - 8 * v + 4
        self.init(x: 3 * u / d, y: 2 * v / d)
    }

    public var description: String { "xy(\(x), \(y))" }
}

/// A CIE 1976 L*a*b* colour (relative to a reference white given at conversion).
public struct CIELab: Hashable, Sendable, Codable, CustomStringConvertible {
    public var l: Double
    public var a: Double
    public var b: Double

    /// The colour (L*, a*, b*).
    public init(_ l: Double, _ a: Double, _ b: Double) {
        self.l = l
        self.a = a
        self.b = b
    }

    /// CIE 1976 L*a*b* of `xyz` relative to the reference white `white` (both in the same units).
    public init(_ xyz: CIEXYZ, white: CIEXYZ) {
        func f(_ t: Double) -> Double {
            let e = 216.0 / 24389, k = 24389.0 / 27
            return t > e ? cbrt(t) : (k * t + 16) / 116
        }
        let fx = f(xyz.x / white.x), fy = f(xyz.y / white.y), fz = f(xyz.z / white.z)
        self.init(116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// Back to XYZ relative to `white`.
    public func xyz(white: CIEXYZ) -> CIEXYZ {
        let e = 216.0 / 24389, k = 24389.0 / 27
        let fy = (l + 16) / 116, fx = fy + a / 500, fz = fy - b / 200
        func inv(_ f: Double) -> Double { f * f * f > e ? f * f * f : (116 * f - 16) / k }
        let yr = l > k * e ? fy * fy * fy : l / k
        return CIEXYZ(inv(fx) * white.x, yr * white.y, inv(fz) * white.z)
    }

    public var description: String { "Lab(\(l), \(a), \(b))" }

    /// CIEDE2000 colour difference between `self` and `other` (kL = kC = kH = 1), following the
    /// formulation and implementation notes of G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000
    /// color-difference formula: implementation notes, supplementary test data, and mathematical
    /// observations", Color Research & Application 30(1), 2005 (mean hue and Δh′ rules included).
    public func deltaE2000(_ other: CIELab) -> Double {
        let deg = Double.pi / 180
        let c1 = (a * a + b * b).squareRoot(), c2 = (other.a * other.a + other.b * other.b).squareRoot()
        let cBar = (c1 + c2) / 2
        let pow25_7 = 6_103_515_625.0  // 25^7
        let cBar7 = pow(cBar, 7)
        let g = 0.5 * (1 - (cBar7 / (cBar7 + pow25_7)).squareRoot())
        let a1p = (1 + g) * a, a2p = (1 + g) * other.a
        let c1p = (a1p * a1p + b * b).squareRoot(), c2p = (a2p * a2p + other.b * other.b).squareRoot()
        func hue(_ bb: Double, _ ap: Double) -> Double {
            if bb == 0 && ap == 0 { return 0 }
            let h = atan2(bb, ap) / deg
            return h < 0 ? h + 360 : h
        }
        let h1p = hue(b, a1p), h2p = hue(other.b, a2p)
        let dLp = other.l - l
        let dCp = c2p - c1p
        var dhp = 0.0
        if c1p * c2p != 0 {
            dhp = h2p - h1p
            if dhp > 180 { dhp -= 360 } else if dhp < -180 { dhp += 360 }
        }
        let dHp = 2 * (c1p * c2p).squareRoot() * sin(dhp / 2 * deg)
        let lBarp = (l + other.l) / 2
        let cBarp = (c1p + c2p) / 2
        var hBarp = h1p + h2p
        if c1p * c2p != 0 {
            if abs(h1p - h2p) <= 180 {
                hBarp = (h1p + h2p) / 2
            } else if h1p + h2p < 360 {
                hBarp = (h1p + h2p + 360) / 2
            } else {
                hBarp = (h1p + h2p - 360) / 2
            }
        }
        let t = 1 - 0.17 * cos((hBarp - 30) * deg) + 0.24 * cos(2 * hBarp * deg)
            + 0.32 * cos((3 * hBarp + 6) * deg) - 0.20 * cos((4 * hBarp - 63) * deg)
        let dTheta = 30 * exp(-pow((hBarp - 275) / 25, 2))
        let cBarp7 = pow(cBarp, 7)
        let rc = 2 * (cBarp7 / (cBarp7 + pow25_7)).squareRoot()
        let l50 = (lBarp - 50) * (lBarp - 50)
        let sl = 1 + 0.015 * l50 / (20 + l50).squareRoot()
        let sc = 1 + 0.045 * cBarp
        let sh = 1 + 0.015 * cBarp * t
        let rt = -sin(2 * dTheta * deg) * rc
        let tl = dLp / sl, tc = dCp / sc, th = dHp / sh
        return (tl * tl + tc * tc + th * th + rt * tc * th).squareRoot()
    }
}

/// Correlated colour temperature and tint, and the chromaticities of the Planckian and daylight
/// loci. Pure functions; thread-safe.
///
/// Temperatures are in kelvin. *Tint* uses the convention of common raw converters: the offset of
/// a chromaticity from the Planckian locus along Robertson's isotherm in CIE 1960 (u, v), times
/// −3000, so a positive tint is a greener illuminant than the black body (whose correction looks
/// magenta) and a negative tint a more magenta one. One tint unit is 1/3000 of a (u, v) unit.
public enum ColorTemperature {
    /// Robertson's table: reciprocal megakelvin (mired), (u, v) of the black body, and the slope
    /// of the isotherm through it. A. R. Robertson, "Computation of correlated color temperature
    /// and distribution temperature", JOSA 58(11), 1968 (as tabulated in Wyszecki & Stiles,
    /// with the corrected u = 0.24792 at 325 mired).
    static let robertson: [(mired: Double, u: Double, v: Double, slope: Double)] = [
        (0, 0.18006, 0.26352, -0.24341), (10, 0.18066, 0.26589, -0.25479), (20, 0.18133, 0.26846, -0.26876),
        (30, 0.18208, 0.27119, -0.28539), (40, 0.18293, 0.27407, -0.30470), (50, 0.18388, 0.27709, -0.32675),
        (60, 0.18494, 0.28021, -0.35156), (70, 0.18611, 0.28342, -0.37915), (80, 0.18740, 0.28668, -0.40955),
        (90, 0.18880, 0.28997, -0.44278), (100, 0.19032, 0.29326, -0.47888), (125, 0.19462, 0.30141, -0.58204),
        (150, 0.19962, 0.30921, -0.70471), (175, 0.20525, 0.31647, -0.84901), (200, 0.21142, 0.32312, -1.0182),
        (225, 0.21807, 0.32909, -1.2168), (250, 0.22511, 0.33439, -1.4512), (275, 0.23247, 0.33904, -1.7298),
        (300, 0.24010, 0.34308, -2.0637), (325, 0.24792, 0.34655, -2.4681), (350, 0.25591, 0.34951, -2.9641),
        (375, 0.26400, 0.35200, -3.5814), (400, 0.27218, 0.35407, -4.3633), (425, 0.28039, 0.35577, -5.3762),
        (450, 0.28863, 0.35714, -6.7262), (475, 0.29685, 0.35823, -8.5955), (500, 0.30505, 0.35907, -11.324),
        (525, 0.31320, 0.35968, -15.628), (550, 0.32129, 0.36011, -23.325), (575, 0.32931, 0.36038, -40.770),
        (600, 0.33724, 0.36051, -116.45),
    ]

    /// Tint units per (u, v) unit (negative: positive tint lies on the green side).
    static let tintScale = -3000.0

    /// The temperatures the table covers: 1667 K (600 mired) up; higher values saturate at
    /// 50 000 K, beyond which chromaticity barely changes.
    public static let validRange: ClosedRange<Double> = 1667...50_000

    /// The isotherm's unit direction (du, dv) at table row `i`, pointing to +u.
    private static func direction(_ i: Int) -> (Double, Double) {
        let s = robertson[i].slope
        let len = (1 + s * s).squareRoot()
        return (1 / len, s / len)
    }

    /// The chromaticity of `temperature` (K, clamped to ``validRange``) on the Planckian locus,
    /// moved `tint` units along its isotherm (Robertson's table, linear in mired between rows).
    public static func chromaticity(temperature: Double, tint: Double = 0) -> Chromaticity {
        let r = 1e6 / min(max(temperature, validRange.lowerBound), validRange.upperBound)
        let offset = tint / tintScale
        var i = 0
        while i < robertson.count - 2 && r >= robertson[i + 1].mired { i += 1 }
        let f = (robertson[i + 1].mired - r) / (robertson[i + 1].mired - robertson[i].mired)  // weight of row i
        var u = robertson[i].u * f + robertson[i + 1].u * (1 - f)
        var v = robertson[i].v * f + robertson[i + 1].v * (1 - f)
        let d0 = direction(i), d1 = direction(i + 1)
        var du = d0.0 * f + d1.0 * (1 - f), dv = d0.1 * f + d1.1 * (1 - f)
        let len = (du * du + dv * dv).squareRoot()
        du /= len
        dv /= len
        u += du * offset
        v += dv * offset
        return Chromaticity(u: u, v: v)
    }

    /// Correlated colour temperature (K) and tint of `xy` by Robertson's method: find the two
    /// isotherms the point lies between and interpolate in mired by the distances to them.
    /// Temperatures outside the table clamp to 1667 K / the 0-mired end (returned as 50 000 K).
    public static func temperatureAndTint(of xy: Chromaticity) -> (temperature: Double, tint: Double) {
        let (u, v) = xy.uv
        var lastDistance = 0.0, lastDir = (0.0, 0.0)
        for i in 1..<robertson.count {
            let dir = direction(i)
            // Signed distance of (u, v) from isotherm i (negative once we have passed it).
            let du = u - robertson[i].u, dv = v - robertson[i].v
            var distance = -du * dir.1 + dv * dir.0
            if distance <= 0 || i == robertson.count - 1 {
                if distance > 0 { distance = 0 }
                distance = -distance
                let f = i == 1 ? 0 : distance / (lastDistance + distance)  // weight of row i − 1
                let mired = robertson[i - 1].mired * f + robertson[i].mired * (1 - f)
                let temperature = mired > 0 ? min(1e6 / mired, validRange.upperBound) : validRange.upperBound
                let bu = u - (robertson[i - 1].u * f + robertson[i].u * (1 - f))
                let bv = v - (robertson[i - 1].v * f + robertson[i].v * (1 - f))
                var tu = dir.0 * (1 - f) + lastDir.0 * f, tv = dir.1 * (1 - f) + lastDir.1 * f
                let len = (tu * tu + tv * tv).squareRoot()
                tu /= len
                tv /= len
                return (temperature, (bu * tu + bv * tv) * tintScale)
            }
            lastDistance = distance
            lastDir = dir
        }
        return (validRange.upperBound, 0)
    }

    /// Correlated colour temperature (K) by Robertson's method (see ``temperatureAndTint(of:)``).
    public static func cct(_ xy: Chromaticity) -> Double { temperatureAndTint(of: xy).temperature }

    /// McCamy's cubic approximation of the CCT (C. S. McCamy, "Correlated color temperature as an
    /// explicit function of chromaticity coordinates", Color Res. Appl. 17(2), 1992); within a
    /// few kelvin of Robertson's between 2856 K and 6504 K.
    public static func mcCamyCCT(_ xy: Chromaticity) -> Double {
        let n = (xy.x - 0.3320) / (0.1858 - xy.y)
        return 449 * n * n * n + 3525 * n * n + 6823.3 * n + 5520.33
    }

    /// The CIE daylight locus (CIE 15:2004, eq. 3.3–3.4) for 4000…25 000 K (clamped).
    public static func daylight(temperature: Double) -> Chromaticity {
        let t = min(max(temperature, 4000), 25_000)
        let x: Double
        if t <= 7000 {
            x = -4.6070e9 / (t * t * t) + 2.9678e6 / (t * t) + 0.09911e3 / t + 0.244063
        } else {
            x = -2.0064e9 / (t * t * t) + 1.9018e6 / (t * t) + 0.24748e3 / t + 0.237040
        }
        return Chromaticity(x: x, y: -3 * x * x + 2.870 * x - 0.275)
    }
}

/// Chromatic adaptation transforms. Pure; thread-safe.
public enum ChromaticAdaptation {
    /// The Bradford cone-response matrix (Lam 1985, as used by ICC.1 Annex E and the DNG SDK).
    public static let bradfordCone = Matrix3([
        0.8951, 0.2664, -0.1614,
        -0.7502, 1.7135, 0.0367,
        0.0389, -0.0685, 1.0296,
    ])

    /// The linear Bradford transform taking colours seen under white `source` to the
    /// corresponding colours under white `destination` (XYZ → XYZ). Maps `source` to
    /// `destination` exactly (scaled by their luminance ratio).
    public static func bradford(from source: CIEXYZ, to destination: CIEXYZ) -> Matrix3 {
        let cone = bradfordCone
        let s = source.transformed(by: cone), d = destination.transformed(by: cone)
        let scale = Matrix3([d.x / s.x, 0, 0, 0, d.y / s.y, 0, 0, 0, d.z / s.z])
        return cone.inverse! * scale * cone
    }

    /// Bradford between two chromaticities at equal luminance.
    public static func bradford(from source: Chromaticity, to destination: Chromaticity) -> Matrix3 {
        bradford(from: source.xyz(), to: destination.xyz())
    }
}
