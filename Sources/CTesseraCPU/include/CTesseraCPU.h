#ifndef CTESSERACPU_H
#define CTESSERACPU_H

/// 1 when this CPU and OS run code compiled with `-target-cpu haswell` (LLVM's Haswell feature
/// set: x86-64-v3 — AVX, AVX2, FMA, BMI1, BMI2, F16C, LZCNT, MOVBE — plus POPCNT, CX16, LAHF,
/// PCLMUL, AES, RDRND, FSGSBASE, XSAVE; and the OS saves the YMM registers: OSXSAVE with XCR0
/// bits 1 and 2). 0 otherwise, and always 0 on other architectures. Reads CPUID and XGETBV;
/// no allocation, thread-safe.
int tessera_cpu_supports_haswell(void);

/// 1 when this CPU and OS run code compiled with `-target-cpu skylake-avx512` (x86-64-v4):
/// everything `tessera_cpu_supports_haswell` checks, plus AVX512F, AVX512DQ, AVX512CD, AVX512BW,
/// AVX512VL, and Skylake's ADX, CLFLUSHOPT, CLWB, PRFCHW; and the OS saves the opmask and ZMM
/// registers (XCR0 bits 1, 2, 5, 6, 7). Not checked: RDSEED, PKU, XSAVEC/XSAVES, also in LLVM's
/// Skylake-AVX512 set but emitted only for intrinsics the kernels never call (hypervisors hide
/// RDSEED and PKU: this machine's does). 0 otherwise, and always 0 on other architectures. Reads
/// CPUID and XGETBV; no allocation, thread-safe.
int tessera_cpu_supports_avx512(void);

#endif
