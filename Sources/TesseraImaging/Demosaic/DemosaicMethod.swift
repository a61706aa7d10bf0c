import TesseraCore

/// Demosaicing algorithms the develop pipeline can run. Encoded in settings by its raw value
/// (`"mhc"`, `"rcd"`, …), the same spelling recipes use.
public enum DemosaicMethod: String, Codable, Sendable, CaseIterable {
    /// Bilinear interpolation of each colour plane (3×3). A reference for tests and benchmarks
    /// only: recipes do not offer it.
    case bilinear
    /// Malvar–He–Cutler (2004) gradient-corrected bilinear, 5×5 kernels: the fast path.
    case mhc
    /// Ratio-corrected, edge-directed demosaic after Sanz Rodríguez's RCD (2017), followed by
    /// a colour-difference median false-colour suppression: the quality path. See ``RCDDemosaic``.
    case rcd

    /// Mosaic pixels needed on every side of an output pixel: the sum of every neighbourhood
    /// reach of the method, rounded up to a multiple of 2 (so a window starting at
    /// `x - halo` keeps the CFA phase).
    public var halo: Int {
        switch self {
        case .bilinear: 2
        case .mhc: 2
        case .rcd: RCDDemosaic.halo
        }
    }
}

/// A normalised CFA mosaic in frame coordinates: `Float` samples (black subtracted, white
/// scaled, white balanced), row-major, covering ``rect``. Borrowed: the pointer is only valid
/// for the duration of the call it is passed to.
public struct MosaicView {
    /// First sample (frame pixel `rect.x, rect.y`).
    public let samples: UnsafePointer<Float>
    /// The extent of the samples in frame coordinates (row stride = `rect.width`).
    public let rect: PixelRect
    /// The frame's Bayer layout from frame coordinate (0, 0).
    public let cfa: CFAPattern

    /// Wraps `samples` (`rect.area` values) without copying.
    public init(samples: UnsafePointer<Float>, rect: PixelRect, cfa: CFAPattern) {
        self.samples = samples
        self.rect = rect
        self.cfa = cfa
    }
}

/// Runs a ``DemosaicMethod`` over a normalised mosaic. Stateless and thread-safe; every output
/// pixel depends only on the mosaic within ``DemosaicMethod/halo`` of it, in a fixed
/// floating-point order, so any tiling gives the same bits.
public enum Demosaicer {
    /// Demosaics `output` (frame coordinates) from `mosaic`, which must contain
    /// `output.expanded(by: method.halo)`. Returns `output.width × output.height` interleaved
    /// linear RGB (same scale as the mosaic). Precondition failure if the mosaic is too small.
    /// `kernel`: which build of the RCD kernel runs (``DevelopKernel``; the bits never depend on it).
    public static func demosaic(_ mosaic: MosaicView, output: PixelRect, method: DemosaicMethod,
                                kernel: DevelopKernel = .active) -> RGBImageF {
        precondition(mosaic.rect.contains(output.expanded(by: method.halo)),
                     "demosaic \(method): mosaic \(mosaic.rect) does not cover \(output) plus halo \(method.halo)")
        var image = RGBImageF(width: output.width, height: output.height)
        guard output.area > 0 else { return image }
        image.pixels.withUnsafeMutableBufferPointer { out in
            switch method {
            case .bilinear: BilinearDemosaic.run(mosaic, output: output, into: out.baseAddress!)
            case .mhc: MHCDemosaic.run(mosaic, output: output, into: out.baseAddress!)
            case .rcd: RCDDemosaic.run(mosaic, output: output, into: out.baseAddress!, kernel: kernel)
            }
        }
        return image
    }
}
