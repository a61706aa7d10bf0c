#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TesseraKernelsAVX2

/// Which build of the SIMD kernels runs: the develop kernels (RCD, the fused neutral develop)
/// and XXH3-64's long-input loop. Every build is the same source (`TesseraKernels`) and gives
/// the same bits on every CPU — a farm of mixed machines writes identical files and checksums —
/// they differ only in speed. See docs/develop.md, "Kernel dispatch".
public enum KernelBuild: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The package's baseline build (x86-64 with SSE2: SIMD8 runs as two 4-wide halves).
    case baseline
    /// The x86-64-v3 build (AVX2: eight Float / four UInt64 lanes per instruction).
    case avx2

    /// Whether this build can run here (baseline always can; AVX2 in a release build on x86-64
    /// with a CPU and OS that support it).
    public var isSupported: Bool {
        switch self {
        case .baseline: true
        case .avx2: AVX2Kernels.isAvailable
        }
    }

    /// The environment variable that overrides the choice: `baseline` forces the baseline
    /// build; `avx2` (or unset, or `auto`) takes AVX2 where the CPU supports it.
    public static let environmentVariable = "TESSERA_SIMD"

    /// The build this process uses by default: the fastest the CPU supports, unless
    /// ``environmentVariable`` says `baseline`. Read once.
    public static let active: KernelBuild = select(environment: getenv(environmentVariable).map { String(cString: $0) })

    /// The choice for an override value `value` (nil: none): `baseline` → baseline; anything
    /// else (`auto`, `avx2`, …) → the fastest supported build.
    public static func select(environment value: String?) -> KernelBuild {
        if value?.lowercased() == "baseline" { return .baseline }
        return KernelBuild.avx2.isSupported ? .avx2 : .baseline
    }

    /// The build that runs when `self` is asked for: `self` if supported, else baseline.
    public var effective: KernelBuild { isSupported ? self : .baseline }

    /// `baseline`, `avx2 (x86-64-v3)`.
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2 (x86-64-v3)"
        }
    }
}
