import Foundation
import TesseraCore
import TesseraKernels
import TesseraKernelsAVX2

/// Which build of the hot develop kernels (RCD, the fused neutral develop) runs: the shared
/// ``KernelBuild`` choice (same bits on every CPU; docs/develop.md, "Kernel dispatch").
public typealias DevelopKernel = KernelBuild

extension CFAPattern {
    /// The colours (0 red, 1 green, 2 blue) of the 2×2 cell at frame position (`x`, `y`), in the
    /// order the kernels take them: row `y` left, right, then row `y + 1` left, right.
    func windowColors(x: Int, y: Int) -> (Int, Int, Int, Int) {
        (Int(color(x: x, y: y).rawValue), Int(color(x: x + 1, y: y).rawValue),
         Int(color(x: x, y: y + 1).rawValue), Int(color(x: x + 1, y: y + 1).rawValue))
    }
}
