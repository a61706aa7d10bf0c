import Foundation
import TesseraCore

/// Image comparison metrics for tests and quality reports.
public enum ImageMetrics {
    /// Peak signal-to-noise ratio in dB over 16-bit values (peak 65535), all three channels.
    ///
    /// - Parameters:
    ///   - crop: pixels ignored on every border (e.g. demosaic edge effects).
    ///   - excluding: rectangles (image coordinates) left out of the fit and the error, e.g. a
    ///     synthetic scene's deliberately hard region.
    ///   - gainFit: first scale each channel of `a` by the least-squares gain that best fits
    ///     it to `b` (g = Σab / Σa²), so a global exposure difference is not counted as error.
    /// - Returns: +∞ for identical images, NaN when no pixel is left to compare. The images must have the same size.
    public static func psnr(_ a: RGBImage16, _ b: RGBImage16, crop: Int = 0, excluding: [PixelRect] = [], gainFit: Bool = false) -> Double {
        precondition(a.width == b.width && a.height == b.height, "psnr: image sizes differ")
        precondition(crop >= 0 && 2 * crop < a.width && 2 * crop < a.height, "psnr: crop leaves no pixels")
        var gains = [1.0, 1.0, 1.0]
        if gainFit {
            var ab = [0.0, 0.0, 0.0], aa = [0.0, 0.0, 0.0]
            forEach(a, b, crop, excluding) { c, x, y in
                ab[c] += x * y
                aa[c] += x * x
            }
            for c in 0..<3 where aa[c] > 0 { gains[c] = ab[c] / aa[c] }
        }
        var sum = 0.0, n = 0.0
        forEach(a, b, crop, excluding) { c, x, y in
            let d = x * gains[c] - y
            sum += d * d
            n += 1
        }
        guard n > 0 else { return .nan }
        let mse = sum / n
        return mse == 0 ? .infinity : 10 * log10(65535.0 * 65535.0 / mse)
    }

    private static func forEach(_ a: RGBImage16, _ b: RGBImage16, _ crop: Int, _ excluded: [PixelRect], _ body: (Int, Double, Double) -> Void) {
        a.pixels.withUnsafeBufferPointer { pa in
            b.pixels.withUnsafeBufferPointer { pb in
                for y in crop..<(a.height - crop) {
                    for x in crop..<(a.width - crop) {
                        if !excluded.isEmpty, excluded.contains(where: { $0.contains(PixelRect(x: x, y: y, width: 1, height: 1)) }) { continue }
                        let i = (y * a.width + x) * 3
                        for c in 0..<3 { body(c, Double(pa[i + c]), Double(pb[i + c])) }
                    }
                }
            }
        }
    }
}
