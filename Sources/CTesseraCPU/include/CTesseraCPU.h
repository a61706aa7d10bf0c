#ifndef CTESSERACPU_H
#define CTESSERACPU_H

/// 1 when this CPU and OS run code compiled with `-target-cpu haswell` (LLVM's Haswell feature
/// set: x86-64-v3 — AVX, AVX2, FMA, BMI1, BMI2, F16C, LZCNT, MOVBE — plus POPCNT, CX16, LAHF,
/// PCLMUL, AES, RDRND, FSGSBASE, XSAVE; and the OS saves the YMM registers: OSXSAVE with XCR0
/// bits 1 and 2). 0 otherwise, and always 0 on other architectures. Reads CPUID and XGETBV;
/// no allocation, thread-safe.
int tessera_cpu_supports_haswell(void);

#endif
