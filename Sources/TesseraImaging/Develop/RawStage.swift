import TesseraCore

/// The first develop stage: raw samples → normalised, white-balanced Float mosaic,
/// `(raw − black[cell]) · wb[colour] / (white − black[cell])` per frame cell
/// (``CFAPattern/cell(x:y:)``), so 1.0 is the white level of a white-balanced neutral.
/// Constants are converted to `Float` once, here, so every tile of a frame uses the same bits.
struct RawStage: Sendable {
    /// Per frame cell: black level and scale (white balance included).
    let black: [Float]
    let scale: [Float]

    init(_ s: DevelopSettings) {
        var b: [Float] = [], k: [Float] = []
        for cell in 0..<4 {
            let color = s.cfa.colors[cell]
            b.append(Float(s.blackLevels[cell]))
            k.append(Float(s.wbMultipliers[Int(color.rawValue)] / (s.whiteLevel - s.blackLevels[cell])))
        }
        black = b
        scale = k
    }

    /// Normalises `rect` (frame coordinates) of `input`, whose samples cover `inputRect`
    /// (which must contain `rect`), into `output` (`rect.area` Floats, row stride `rect.width`).
    func run(input: UnsafePointer<UInt16>, inputRect: PixelRect, rect: PixelRect, output: UnsafeMutablePointer<Float>) {
        let nw = rect.width
        let fx0 = rect.x
        for r in 0..<rect.height {
            let fy = rect.y + r
            let src = input + (fy - inputRect.y) * inputRect.width + (fx0 - inputRect.x)
            let dst = output + r * nw
            let rowCell = (fy & 1) << 1
            let b0 = black[rowCell | (fx0 & 1)], k0 = scale[rowCell | (fx0 & 1)]
            let b1 = black[rowCell | ((fx0 + 1) & 1)], k1 = scale[rowCell | ((fx0 + 1) & 1)]
            var c = 0
            while c + 1 < nw {
                dst[c] = (Float(src[c]) - b0) * k0
                dst[c + 1] = (Float(src[c + 1]) - b1) * k1
                c += 2
            }
            if c < nw { dst[c] = (Float(src[c]) - b0) * k0 }
        }
    }
}
