import Foundation
import TesseraCore

/// Measuring a demosaic against ground truth in linear light (used by the quality tests and by
/// `tessera bench demosaic`). Pure functions; thread-safe.
public enum DemosaicQuality {
    /// Maps a linear-sRGB truth image into white-balanced camera RGB:
    /// `(M · rgb)_c / neutral_c`, where `M` is the camera's linear-sRGB → camera matrix
    /// (9 row-major values) and `neutral` its response to the white point (a neutral white maps
    /// to 1 in every channel). This is the space the pipeline demosaics in.
    public static func cameraReference(_ truth: RGBImageF, cameraFromLinearSRGB m: [Double], neutral: [Double]) -> RGBImageF {
        precondition(m.count == 9 && neutral.count == 3, "cameraReference: need a 3×3 matrix and 3 neutral values")
        var out = RGBImageF(width: truth.width, height: truth.height)
        for i in 0..<(truth.width * truth.height) {
            let r = Double(truth.pixels[i * 3]), g = Double(truth.pixels[i * 3 + 1]), b = Double(truth.pixels[i * 3 + 2])
            for c in 0..<3 {
                out.pixels[i * 3 + c] = Float((m[c * 3] * r + m[c * 3 + 1] * g + m[c * 3 + 2] * b) / neutral[c])
            }
        }
        return out
    }

    /// PSNR in dB of `image` against `reference` (same size) over the pixels inside any of
    /// `rects` and outside all of `excluding`, with peak `peak` (1.0 = white). With `gainFit`
    /// each channel of `image` is first scaled by the least-squares gain onto the reference
    /// (undoing exposure and white-balance scale differences between methods).
    public static func psnr(_ image: RGBImageF, reference: RGBImageF, rects: [PixelRect], excluding: [PixelRect] = [],
                            gainFit: Bool = true, peak: Double = 1) -> Double {
        precondition(image.width == reference.width && image.height == reference.height, "psnr: sizes differ")
        var mask = [Bool](repeating: false, count: image.width * image.height)
        let frame = PixelRect(x: 0, y: 0, width: image.width, height: image.height)
        for (rectList, value) in [(rects, true), (excluding, false)] {
            for r in rectList {
                let c = r.intersection(frame)
                guard c.area > 0 else { continue }
                for y in c.y..<c.maxY { for x in c.x..<c.maxX { mask[y * image.width + x] = value } }
            }
        }
        var ab = [Double](repeating: 0, count: 3), aa = [Double](repeating: 0, count: 3)
        for i in mask.indices where mask[i] {
            for c in 0..<3 {
                let a = Double(image.pixels[i * 3 + c]), b = Double(reference.pixels[i * 3 + c])
                ab[c] += a * b
                aa[c] += a * a
            }
        }
        let gains = (0..<3).map { c in gainFit && aa[c] > 0 ? ab[c] / aa[c] : 1 }
        var sum = 0.0, n = 0
        for i in mask.indices where mask[i] {
            for c in 0..<3 {
                let d = Double(image.pixels[i * 3 + c]) * gains[c] - Double(reference.pixels[i * 3 + c])
                sum += d * d
            }
            n += 3
        }
        guard n > 0 else { return .nan }
        guard sum > 0 else { return .infinity }
        return 10 * log10(peak * peak / (sum / Double(n)))
    }
}
