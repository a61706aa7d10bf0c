// Runtime CPU feature detection for the kernel dispatch (Sources/TesseraKernels/KernelCPU.swift).
// CPUID and XGETBV have no Swift spelling; this is the only C in the kernels.
#include "CTesseraCPU.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#define ALL(word, mask) (((word) & (mask)) == (mask))

int tessera_cpu_supports_haswell(void) {
    unsigned int eax, ebx, ecx, edx;
    // Leaf 1 ECX: PCLMUL 1, FMA 12, CX16 13, POPCNT 23, AES 25, XSAVE 26, OSXSAVE 27, AVX 28,
    // F16C 29, RDRND 30, MOVBE 22.
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int leaf1 = (1u << 1) | (1u << 12) | (1u << 13) | (1u << 22) | (1u << 23) | (1u << 25)
        | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29) | (1u << 30);
    if (!ALL(ecx, leaf1)) return 0;
    // The OS must save XMM and YMM state (XCR0 bits 1 and 2).
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (!ALL(xcr0_lo, 6u)) return 0;
    // Leaf 7 EBX: FSGSBASE 0, BMI1 3, AVX2 5, BMI2 8.
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (!ALL(ebx, (1u << 0) | (1u << 3) | (1u << 5) | (1u << 8))) return 0;
    // Leaf 0x80000001 ECX: LAHF/SAHF 0, LZCNT (ABM) 5.
    if (!__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) return 0;
    return ALL(ecx, (1u << 0) | (1u << 5)) ? 1 : 0;
}

int tessera_cpu_supports_avx512(void) {
    if (!tessera_cpu_supports_haswell()) return 0;
    unsigned int eax, ebx, ecx, edx;
    // The OS must also save the opmask and ZMM state: XCR0 bits 5 (k0–k7), 6 (ZMM0–15 upper
    // halves), 7 (ZMM16–31), on top of 1 (XMM) and 2 (YMM).
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if (!ALL(xcr0_lo, (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7))) return 0;
    // Leaf 7 EBX: AVX512F 16, AVX512DQ 17, ADX 19, CLFLUSHOPT 23, CLWB 24, AVX512CD 28,
    // AVX512BW 30, AVX512VL 31.
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int leaf7 = (1u << 16) | (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 28)
        | (1u << 30) | (1u << 31);
    if (!ALL(ebx, leaf7)) return 0;
    // Leaf 0x80000001 ECX: PRFCHW 8.
    if (!__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) return 0;
    return ALL(ecx, 1u << 8) ? 1 : 0;
}
#else
int tessera_cpu_supports_haswell(void) { return 0; }
int tessera_cpu_supports_avx512(void) { return 0; }
#endif
