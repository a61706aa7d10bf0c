/// What a RAW file says about its frame: geometry of the active area, CFA layout, levels,
/// white balance, colour matrix and shooting metadata. Produced by ``RawDecoder``; plain value.
public struct RawFrameInfo: Codable, Sendable, Hashable {
    /// Active-area width in pixels (the masked border, if any, is already cropped).
    public var width: Int
    /// Active-area height in pixels.
    public var height: Int
    /// The Bayer layout as seen from the active area's top-left pixel.
    public var cfa: CFAPattern
    /// Black level per 2×2 cell of the active area, in raw units, indexed by
    /// ``CFAPattern/cell(x:y:)`` (`[top-left, top-right, bottom-left, bottom-right]`).
    /// Includes LibRaw's common black, its per-channel `cblack[0...3]` and its repeat pattern.
    public var blackLevels: [Double]
    /// Saturation level in raw units (LibRaw's `color.maximum`).
    public var whiteLevel: Double
    /// As-shot white-balance multipliers `[R, G, B]` with green = 1 (from `cam_mul`, i.e. the
    /// inverse of a DNG's AsShotNeutral; LibRaw's daylight `pre_mul` when the file has none).
    public var asShotMultipliers: [Double]
    /// White-balanced camera RGB → linear sRGB (LibRaw's `rgb_cam`); rows sum to 1.
    public var cameraToSRGB: Matrix3
    /// Camera maker as LibRaw reports it (LibRaw may normalise it, e.g. "NIKON CORPORATION" → "Nikon").
    public var make: String
    /// Camera model.
    public var model: String
    /// Lens name, empty when the file does not say.
    public var lens: String
    /// ISO speed (0 when unknown).
    public var iso: Double
    /// Exposure time in seconds (0 when unknown).
    public var exposureTime: Double
    /// Aperture as an f-number (0 when unknown).
    public var fNumber: Double
    /// Focal length in millimetres (0 when unknown).
    public var focalLength: Double
    /// LibRaw's capture time: seconds since 1970 obtained by LibRaw's `mktime` of the EXIF
    /// DateTimeOriginal, i.e. interpreted in this process's time zone (0 when absent).
    public var timestamp: Int64
    /// The capture time formatted back as EXIF "YYYY:MM:DD HH:MM:SS" in the same time zone
    /// (so it equals the file's DateTimeOriginal), nil when the file has none.
    public var dateTimeOriginal: String?
    /// EXIF orientation 1…8 (1 = as stored).
    public var orientation: Int
    /// LibRaw's name for the decoder it used, e.g. "adobe_dng_load_raw_nc" (empty if not unpacked).
    public var rawFormat: String
    /// "1.4.0.0" for DNG files, nil otherwise.
    public var dngVersion: String?

    // MARK: Colour metadata (see docs/color.md). All optional: nil when the file has no such tag.

    /// DNG ColorMatrix1: CIE XYZ → reference camera RGB under ``calibrationIlluminant1``, as in the file.
    public var colorMatrix1: Matrix3?
    /// DNG ColorMatrix2: CIE XYZ → reference camera RGB under ``calibrationIlluminant2``.
    public var colorMatrix2: Matrix3?
    /// DNG CalibrationIlluminant1 (EXIF LightSource code, e.g. 17 = Standard light A, 21 = D65).
    public var calibrationIlluminant1: Int?
    /// DNG CalibrationIlluminant2 (EXIF LightSource code).
    public var calibrationIlluminant2: Int?
    /// DNG ForwardMatrix1: white-balanced reference camera RGB → CIE XYZ (D50), as in the file.
    public var forwardMatrix1: Matrix3?
    /// DNG ForwardMatrix2.
    public var forwardMatrix2: Matrix3?
    /// DNG CameraCalibration1: reference camera → this camera (individual unit calibration).
    public var cameraCalibration1: Matrix3?
    /// DNG CameraCalibration2.
    public var cameraCalibration2: Matrix3?
    /// DNG AnalogBalance `[R, G, B]` (gains applied in the analogue domain before digitising).
    public var analogBalance: [Double]?
    /// DNG AsShotNeutral `[R, G, B]`: the scene neutral in camera coordinates, raw as in the file.
    public var asShotNeutral: [Double]?
    /// DNG BaselineExposure in EV (the camera's suggested exposure offset), nil when absent or 0.
    public var baselineExposure: Double?
    /// LibRaw's `cam_xyz`: CIE XYZ (D65) → camera RGB, the matrix behind ``cameraToSRGB``
    /// (LibRaw's built-in table for non-DNG files, the file's matrix for DNGs).
    public var cameraFromXYZ: Matrix3?
    /// LibRaw's `pre_mul` `[R, G, B]` (daylight multipliers), unnormalised, nil when unknown.
    public var daylightMultipliers: [Double]?
    /// LibRaw's `cam_mul` `[R, G, B]` (as-shot multipliers), unnormalised, nil when unknown.
    public var cameraMultipliers: [Double]?

    /// Memberwise initialiser (tests and synthetic inputs; normally built by ``RawDecoder``).
    public init(
        width: Int, height: Int, cfa: CFAPattern, blackLevels: [Double], whiteLevel: Double,
        asShotMultipliers: [Double], cameraToSRGB: Matrix3, make: String = "", model: String = "",
        lens: String = "", iso: Double = 0, exposureTime: Double = 0, fNumber: Double = 0,
        focalLength: Double = 0, timestamp: Int64 = 0, dateTimeOriginal: String? = nil,
        orientation: Int = 1, rawFormat: String = "", dngVersion: String? = nil,
        colorMatrix1: Matrix3? = nil, colorMatrix2: Matrix3? = nil,
        calibrationIlluminant1: Int? = nil, calibrationIlluminant2: Int? = nil,
        forwardMatrix1: Matrix3? = nil, forwardMatrix2: Matrix3? = nil,
        cameraCalibration1: Matrix3? = nil, cameraCalibration2: Matrix3? = nil,
        analogBalance: [Double]? = nil, asShotNeutral: [Double]? = nil, baselineExposure: Double? = nil,
        cameraFromXYZ: Matrix3? = nil, daylightMultipliers: [Double]? = nil, cameraMultipliers: [Double]? = nil
    ) {
        self.width = width
        self.height = height
        self.cfa = cfa
        self.blackLevels = blackLevels
        self.whiteLevel = whiteLevel
        self.asShotMultipliers = asShotMultipliers
        self.cameraToSRGB = cameraToSRGB
        self.make = make
        self.model = model
        self.lens = lens
        self.iso = iso
        self.exposureTime = exposureTime
        self.fNumber = fNumber
        self.focalLength = focalLength
        self.timestamp = timestamp
        self.dateTimeOriginal = dateTimeOriginal
        self.orientation = orientation
        self.rawFormat = rawFormat
        self.dngVersion = dngVersion
        self.colorMatrix1 = colorMatrix1
        self.colorMatrix2 = colorMatrix2
        self.calibrationIlluminant1 = calibrationIlluminant1
        self.calibrationIlluminant2 = calibrationIlluminant2
        self.forwardMatrix1 = forwardMatrix1
        self.forwardMatrix2 = forwardMatrix2
        self.cameraCalibration1 = cameraCalibration1
        self.cameraCalibration2 = cameraCalibration2
        self.analogBalance = analogBalance
        self.asShotNeutral = asShotNeutral
        self.baselineExposure = baselineExposure
        self.cameraFromXYZ = cameraFromXYZ
        self.daylightMultipliers = daylightMultipliers
        self.cameraMultipliers = cameraMultipliers
    }
}

/// A decoded RAW frame: its metadata and the active area's CFA samples (raw values, unscaled,
/// black not subtracted). `plane.width == info.width`, `plane.height == info.height`.
public struct DecodedRaw: Sendable, Hashable {
    /// The frame's metadata.
    public var info: RawFrameInfo
    /// The active area's CFA samples, row-major.
    public var plane: RawPlane

    /// Pairs a plane with its metadata (sizes must agree; traps otherwise).
    public init(info: RawFrameInfo, plane: RawPlane) {
        precondition(plane.width == info.width && plane.height == info.height, "DecodedRaw: plane and info sizes differ")
        self.info = info
        self.plane = plane
    }
}
