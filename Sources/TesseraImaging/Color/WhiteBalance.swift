/// The named white-balance presets. Temperatures as the issue fixes them; tints follow the usual
/// raw-converter convention (Adobe Camera Raw / Lightroom presets: daylight-like sources sit a
/// little on the green side of the black-body locus, fluorescent tubes more so).
///
/// | preset | K | tint |
/// |---|---|---|
/// | daylight | 5500 | +10 |
/// | cloudy | 6500 | +10 |
/// | shade | 7500 | +10 |
/// | tungsten | 2850 | 0 |
/// | fluorescent | 3800 | +21 |
/// | flash | 5500 | 0 |
public enum WhiteBalancePreset: String, Hashable, Sendable, Codable, CaseIterable {
    case daylight, cloudy, shade, tungsten, fluorescent, flash

    /// Correlated colour temperature of the preset's illuminant, kelvin.
    public var temperature: Double {
        switch self {
        case .daylight, .flash: 5500
        case .cloudy: 6500
        case .shade: 7500
        case .tungsten: 2850
        case .fluorescent: 3800
        }
    }

    /// Tint of the preset's illuminant (see ``ColorTemperature``; positive = greener light).
    public var tint: Double {
        switch self {
        case .daylight, .cloudy, .shade: 10
        case .tungsten, .flash: 0
        case .fluorescent: 21
        }
    }
}

/// How to choose the scene white. Plain value; `Codable` for recipes and task parameters.
public enum WhiteBalance: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The camera's as-shot neutral (DNG AsShotNeutral, LibRaw `cam_mul` otherwise).
    case asShot
    /// Estimated from the frame (``FrameStatistics/greyWorld``, a robust grey-world estimate).
    case auto
    /// A named illuminant (``WhiteBalancePreset``).
    case preset(WhiteBalancePreset)
    /// An illuminant given as correlated colour temperature (kelvin, 2000…50 000) and tint
    /// (−150…150, positive = greener light), mapped to camera space through the file's matrices.
    case kelvin(temperature: Double, tint: Double)

    /// Accepted Kelvin range.
    public static let temperatureRange: ClosedRange<Double> = 2000...50_000
    /// Accepted tint range.
    public static let tintRange: ClosedRange<Double> = -150...150

    public var description: String {
        switch self {
        case .asShot: "asShot"
        case .auto: "auto"
        case .preset(let p): p.rawValue
        case .kelvin(let t, let tint): "\(t) K, tint \(tint)"
        }
    }

    /// The illuminant's (temperature, tint) for presets and Kelvin; nil for as-shot and auto.
    public var illuminant: (temperature: Double, tint: Double)? {
        switch self {
        case .asShot, .auto: nil
        case .preset(let p): (p.temperature, p.tint)
        case .kelvin(let t, let tint): (t, tint)
        }
    }
}

/// EXIF LightSource codes (as used by DNG CalibrationIlluminant1/2) and the temperatures the DNG
/// colour path interpolates with.
public enum LightSource {
    /// The correlated colour temperature (K) of EXIF LightSource `code`, or nil when the code names
    /// no definite illuminant (0 unknown, 255 other, unassigned codes). Standard illuminants use
    /// their CIE temperatures; fluorescent classes use the middle of their EXIF 2.3 ranges.
    public static func temperature(code: Int) -> Double? {
        switch code {
        case 1, 4, 9, 18, 20: 5500  // daylight, flash, fine weather, standard B, D55
        case 2, 14: 4150  // fluorescent, cool white fluorescent (3800–4500 K)
        case 3, 17: 2850  // tungsten, standard A
        case 10, 19, 21: 6500  // cloudy, standard C, D65
        case 11, 22: 7500  // shade, D75
        case 12: 6400  // daylight fluorescent (5700–7100 K)
        case 13: 5050  // day white fluorescent (4600–5500 K)
        case 15: 3525  // white fluorescent (3250–3800 K)
        case 16: 2925  // warm white fluorescent (2600–3250 K)
        case 23: 5000  // D50
        case 24: 3200  // ISO studio tungsten
        default: nil
        }
    }
}
