import Foundation
import TesseraKernels
import TesseraKernelsAVX2

/// Which build of the hot develop kernels (RCD, the fused neutral develop) runs. Both builds
/// are the same source (`TesseraKernels`) and give the same bits on every CPU — a farm of mixed
/// machines writes identical files, and a tile equals the same pixels of a whole frame — they
/// differ only in speed. See docs/develop.md, "Kernel dispatch".
public enum DevelopKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The package's baseline build (x86-64 with SSE2: SIMD8 runs as two 4-wide halves).
    case baseline
    /// The x86-64-v3 build (AVX2: eight Float lanes per instruction).
    case avx2

    /// Whether this kernel can run on this CPU (baseline always can).
    public var isSupported: Bool {
        switch self {
        case .baseline: true
        case .avx2: AVX2Kernels.isAvailable
        }
    }

    /// The environment variable that overrides the choice: `baseline` forces the baseline
    /// build; `avx2` (or unset, or `auto`) takes AVX2 where the CPU supports it.
    public static let environmentVariable = "TESSERA_SIMD"

    /// The kernel this process uses by default: the fastest the CPU supports, unless
    /// ``environmentVariable`` says `baseline`. Read once.
    public static let active: DevelopKernel = select(environment: ProcessInfo.processInfo.environment[environmentVariable])

    /// The choice for an override value `value` (nil: none): `baseline` → baseline; anything
    /// else (`auto`, `avx2`, …) → the fastest supported kernel.
    public static func select(environment value: String?) -> DevelopKernel {
        if value?.lowercased() == "baseline" { return .baseline }
        return DevelopKernel.avx2.isSupported ? .avx2 : .baseline
    }

    /// The kernel that runs when `self` is asked for: `self` if supported, else baseline.
    public var effective: DevelopKernel { isSupported ? self : .baseline }

    /// `baseline (x86-64)`, `avx2 (x86-64-v3)`.
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2 (x86-64-v3)"
        }
    }
}

extension CFAPattern {
    /// The colours (0 red, 1 green, 2 blue) of the 2×2 cell at frame position (`x`, `y`), in the
    /// order the kernels take them: row `y` left, right, then row `y + 1` left, right.
    func windowColors(x: Int, y: Int) -> (Int, Int, Int, Int) {
        (Int(color(x: x, y: y).rawValue), Int(color(x: x + 1, y: y).rawValue),
         Int(color(x: x, y: y + 1).rawValue), Int(color(x: x + 1, y: y + 1).rawValue))
    }
}
