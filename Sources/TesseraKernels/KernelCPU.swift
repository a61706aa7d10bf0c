import CTesseraCPU

/// What the CPU this process runs on can execute, read once (CPUID/XGETBV; see `CTesseraCPU`).
public enum KernelCPU {
    /// Whether the CPU and OS run code built with `-target-cpu haswell` (x86-64-v3: AVX2, FMA,
    /// BMI1/2, F16C, LZCNT, MOVBE; plus POPCNT, AES, PCLMUL, RDRND, FSGSBASE; YMM state saved by
    /// the OS). Always false on other architectures.
    public static let supportsHaswell: Bool = tessera_cpu_supports_haswell() != 0

    /// Whether the CPU and OS run code built with `-target-cpu skylake-avx512` (x86-64-v4:
    /// the Haswell set plus AVX-512 F, CD, BW, DQ, VL; opmask and ZMM state saved by the OS).
    /// Always false on other architectures.
    public static let supportsAVX512: Bool = tessera_cpu_supports_avx512() != 0
}
