import Foundation

/// The last develop stage: clip to [0, 1], exposure gain, clip, transfer curve, round to
/// 16 bits. (The clip before the gain keeps the first pipeline's semantics: `exposureGain`
/// brightens the displayable range; tone stages that need headroom run before this.)
struct OutputEncoding: Sendable {
    let gain: Float
    let transfer: DevelopSettings.Transfer

    init(_ s: DevelopSettings) {
        gain = Float(s.exposureGain)
        transfer = s.transfer
    }

    /// Encodes `count` Float values from `input` into `output`.
    func run(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<UInt16>) {
        let gain = self.gain
        switch transfer {
        case .srgb, .adobeRGB:
            (transfer == .srgb ? OutputEncoding.srgbTable : OutputEncoding.adobeRGBTable).withUnsafeBufferPointer { lutBuffer in
                let lut = lutBuffer.baseAddress!
                let lutScale = Float(OutputEncoding.lutSegments)
                let lutLast = OutputEncoding.lutSegments - 1
                for i in 0..<count {
                    let v = min(min(max(input[i], 0), 1) * gain, 1)
                    let t = v * lutScale
                    let k = min(Int(t), lutLast)
                    let f = t - Float(k)
                    let a = lut[k], b = lut[k + 1]
                    output[i] = UInt16(a + f * (b - a) + 0.5)
                }
            }
        case .linear:
            for i in 0..<count {
                let v = min(min(max(input[i], 0), 1) * gain, 1)
                output[i] = UInt16(v * 65535 + 0.5)
            }
        }
    }

    /// Segments of the sRGB lookup table (linear interpolation; < 0.1 code error at 16 bits).
    static let lutSegments = 16384

    /// A transfer curve sampled at i / lutSegments, scaled to 0…65535 (lutSegments + 1 entries).
    static func table(_ transfer: DevelopSettings.Transfer) -> [Float] {
        (0...lutSegments).map { i in Float(transfer.curve.encode(Double(i) / Double(lutSegments)) * 65535) }
    }

    static let srgbTable = table(.srgb)
    static let adobeRGBTable = table(.adobeRGB)
}
