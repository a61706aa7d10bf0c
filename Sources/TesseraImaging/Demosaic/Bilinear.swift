import TesseraCore

/// Bilinear demosaic: each missing colour is the mean of its nearest 2 or 4 samples of that
/// colour in the 3×3 neighbourhood. The textbook baseline (e.g. Gunturk et al., "Demosaicking:
/// color filter array interpolation", IEEE Signal Processing Magazine 2005); kept as a reference
/// for tests and benchmarks.
enum BilinearDemosaic {
    static func run(_ mosaic: MosaicView, output: PixelRect, into out: UnsafeMutablePointer<Float>) {
        let w = mosaic.rect.width
        for oy in 0..<output.height {
            let y = output.y + oy
            let rowPtr = mosaic.samples + (y - mosaic.rect.y) * w + (output.x - mosaic.rect.x)
            for ox in 0..<output.width {
                let x = output.x + ox
                let p = rowPtr + ox
                let c = p[0]
                let cross = ((p[-w] + p[w]) + (p[-1] + p[1])) * 0.25
                let diag = ((p[-w - 1] + p[-w + 1]) + (p[w - 1] + p[w + 1])) * 0.25
                let horizontal = (p[-1] + p[1]) * 0.5, vertical = (p[-w] + p[w]) * 0.5
                var rgb: (Float, Float, Float)
                switch mosaic.cfa.color(x: x, y: y) {
                case .red: rgb = (c, cross, diag)
                case .blue: rgb = (diag, cross, c)
                case .green:
                    // The row's chroma colour is the horizontal neighbour's.
                    if mosaic.cfa.color(x: x + 1, y: y) == .red { rgb = (horizontal, c, vertical) } else { rgb = (vertical, c, horizontal) }
                }
                let o = out + (oy * output.width + ox) * 3
                o[0] = rgb.0
                o[1] = rgb.1
                o[2] = rgb.2
            }
        }
    }
}
