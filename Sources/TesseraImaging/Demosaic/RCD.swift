import TesseraCore
import TesseraKernels
import TesseraKernelsAVX2
import TesseraKernelsAVX512

/// The quality demosaic: ratio-corrected, edge-directed interpolation after L. Sanz Rodríguez,
/// "RCD: Ratio Corrected Demosaicing" (2017), written from the algorithm's description, then
/// false-colour suppression by median filtering the colour differences R−G and B−G
/// (W. T. Freeman, "Median filter for reconstructing missing color samples", US 4 724 395, 1988;
/// see also Gunturk et al., IEEE Signal Processing Magazine 22(1), 2005, §"post-processing").
///
/// Steps, all on the white-balanced mosaic `c`:
/// 1. Direction: `VH = V/(V+H)` where `V` (`H`) sums, over three positions along the column
///    (row), the squared Hamilton–Adams gradient `|c₋₁ − c₊₁| + |2c₀ − c₋₂ − c₊₂|` (reach 3).
/// 2. A 3×3 binomial low-pass `L` of the mosaic (a luminance-like signal; reach 1).
/// 3. Green at red/blue: four one-sided estimates, each the adjacent green scaled by the ratio
///    of low-passes, `G_N = c₋w · 2L₀ / (L₀ + L₋₂w)`; opposite pairs are blended with inverse
///    one-sided gradients (reach 4); the vertical and horizontal results are mixed by `VH`,
///    taking the pixel's own `VH` or its diagonal neighbours' mean, whichever is more decided.
/// 4. Blue at red (red at blue): G plus the inverse-gradient weighted mean of the four diagonal
///    colour differences `c − G` (reach 5).
/// 5. Red and blue at green: G plus the colour differences of the vertical and horizontal
///    neighbours, each pair blended by inverse gradients, mixed by `VH` as in 3 (reach 6).
/// 6. ``medianPasses`` passes of a 3×3 median on R−G and B−G, replacing only interpolated
///    values (measured samples and green stay; reach 1 each).
///
/// Reaches add up to 6 + ``medianPasses`` = 8 = ``halo``. Every step is a fixed-order Float
/// computation over the pixel's neighbourhood, so the result is tiling-independent.
public enum RCDDemosaic {
    /// Passes of the colour-difference median (each widens the reach by 1).
    public static let medianPasses = 2
    /// Mosaic pixels needed around an output pixel (6 + ``medianPasses``, rounded up to even).
    public static let halo = (6 + medianPasses + 1) / 2 * 2

    /// Demosaics `output` from `mosaic` into `out` (`output.area × 3` floats, interleaved RGB)
    /// with the `kernel` build (same bits for every kernel).
    ///
    /// Runs `RCDStream` (TesseraKernels: rows streamed through small ring buffers, SIMD over
    /// one CFA parity at a time); see there for why the bits equal the per-site definition above.
    static func run(_ mosaic: MosaicView, output: PixelRect, into out: UnsafeMutablePointer<Float>, kernel: DevelopKernel = .active) {
        precondition(halo == KernelConstants.rcdHalo, "the RCD kernel's halo \(KernelConstants.rcdHalo) differs from RCDDemosaic's \(halo)")
        let win = output.expanded(by: halo)
        let stride = mosaic.rect.width
        let origin = mosaic.samples + (win.y - mosaic.rect.y) * stride + (win.x - mosaic.rect.x)
        let colors = mosaic.cfa.windowColors(x: win.x, y: win.y)
        switch kernel.effective {
        case .avx512:
            AVX512Kernels.rcd(origin: origin, stride: stride, width: win.width, height: win.height, colors: colors,
                              outputWidth: output.width, into: out)
        case .avx2:
            AVX2Kernels.rcd(origin: origin, stride: stride, width: win.width, height: win.height, colors: colors,
                            outputWidth: output.width, into: out)
        case .baseline:
            BaselineKernels.rcd(origin: origin, stride: stride, width: win.width, height: win.height, colors: colors,
                                outputWidth: output.width, into: out)
        }
    }

    /// Median of nine values with Paeth's 19-exchange sorting network (Graphics Gems, 1990).
    @inline(__always)
    static func median9(
        _ p0: inout Float, _ p1: inout Float, _ p2: inout Float, _ p3: inout Float, _ p4: inout Float,
        _ p5: inout Float, _ p6: inout Float, _ p7: inout Float, _ p8: inout Float
    ) -> Float {
        @inline(__always) func sort(_ a: inout Float, _ b: inout Float) {
            // `min` as Swift defines it (`b < a ? b : a`) and `max` as `a > b ? a : b` (the same
            // value for every non-NaN pair, ±0 included; compiles to minps/maxps).
            let lo = min(a, b), hi = a > b ? a : b
            a = lo
            b = hi
        }
        sort(&p1, &p2); sort(&p4, &p5); sort(&p7, &p8)
        sort(&p0, &p1); sort(&p3, &p4); sort(&p6, &p7)
        sort(&p1, &p2); sort(&p4, &p5); sort(&p7, &p8)
        sort(&p0, &p3); sort(&p5, &p8); sort(&p4, &p7)
        sort(&p3, &p6); sort(&p1, &p4); sort(&p2, &p5)
        sort(&p4, &p7); sort(&p4, &p2); sort(&p6, &p4)
        sort(&p4, &p2)
        return p4
    }
}
