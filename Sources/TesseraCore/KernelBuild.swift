#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TesseraKernelsAVX2
import TesseraKernelsAVX512

/// Which build of the SIMD kernels runs: the develop kernels (RCD, the fused neutral develop)
/// and XXH3-64's long-input loop. Every build is the same source (`TesseraKernels`) and gives
/// the same bits on every CPU — a farm of mixed machines writes identical files and checksums —
/// they differ only in speed. See docs/develop.md, "Kernel dispatch".
public enum KernelBuild: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The package's baseline build (x86-64 with SSE2: SIMD8 runs as two 4-wide halves).
    case baseline
    /// The x86-64-v3 build (AVX2: eight Float / four UInt64 lanes per instruction).
    case avx2
    /// The x86-64-v4 build (AVX-512 F/CD/BW/DQ/VL: eight UInt64 lanes — an XXH3 stripe — per
    /// instruction).
    case avx512

    /// Whether this build can run here (baseline always can; AVX2 and AVX-512 in a release
    /// build on x86-64 with a CPU and OS that support them).
    public var isSupported: Bool {
        switch self {
        case .baseline: true
        case .avx2: AVX2Kernels.isAvailable
        case .avx512: AVX512Kernels.isAvailable
        }
    }

    /// The environment variable that overrides the choice: `baseline`, `avx2` or `avx512` names
    /// a build (one the CPU lacks falls back to the best lower one, ``effective``); unset, `auto`
    /// or any other value takes the fastest build the CPU supports.
    public static let environmentVariable = "TESSERA_SIMD"

    /// The build this process uses by default: the fastest the CPU supports, unless
    /// ``environmentVariable`` names another. Read once.
    public static let active: KernelBuild = select(environment: getenv(environmentVariable).map { String(cString: $0) })

    /// The fastest build this CPU supports (the last supported case).
    public static var fastest: KernelBuild { allCases.last(where: \.isSupported) ?? .baseline }

    /// The choice for an override value `value` (nil: none): a build's name (any case) → that
    /// build's ``effective`` build; anything else (`auto`, …) → ``fastest``.
    public static func select(environment value: String?) -> KernelBuild {
        guard let value, let named = KernelBuild(rawValue: value.lowercased()) else { return fastest }
        return named.effective
    }

    /// The build that runs when `self` is asked for: `self` if supported, else the best
    /// supported build below it (baseline at worst).
    public var effective: KernelBuild {
        switch self {
        case .avx512 where AVX512Kernels.isAvailable: .avx512
        case .avx512, .avx2: AVX2Kernels.isAvailable ? .avx2 : .baseline
        case .baseline: .baseline
        }
    }

    /// `baseline`, `avx2 (x86-64-v3)`, `avx512 (x86-64-v4)`.
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2 (x86-64-v3)"
        case .avx512: "avx512 (x86-64-v4)"
        }
    }
}
