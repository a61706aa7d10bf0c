import TesseraKernels

/// The kernels of `TesseraKernels` compiled for x86-64-v4 (`-target-cpu skylake-avx512`:
/// AVX-512 F, CD, BW, DQ, VL), with the same entry points as ``BaselineKernels``. A
/// `SIMD8<UInt64>` — XXH3's eight accumulators, one 64-byte stripe — is one ZMM register here
/// (two YMM halves in the AVX2 build, four XMM quarters in the baseline). The kernel bodies are
/// `@_alwaysEmitIntoClient`, compiled in this module with its flags and instantiated for
/// ``AVX512Target``; no FMA contraction, so the bits equal the other builds' (checked by
/// `KernelSymbolTests` and the comparison tests). Call only when ``isAvailable``.
public enum AVX512Kernels {
    /// This build's ``KernelTarget`` (gives its kernel functions symbols of their own).
    enum AVX512Target: KernelTarget {}

    /// Whether this module was compiled for x86-64-v4 *and* this CPU and OS run it.
    public static var isAvailable: Bool {
        #if TESSERA_AVX512_KERNELS
        return KernelCPU.supportsAVX512
        #else
        return false
        #endif
    }

    /// ``XXH3Stripes/accumulate(_:count:secret:copyingTo:)`` (XXH3-64's long-input loop),
    /// AVX-512 build: one stripe per instruction (`vpmuludq zmm`).
    public static func xxh3Accumulate(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer,
                                      copyingTo destination: UnsafeMutableRawPointer?) -> SIMD8<UInt64> {
        XXH3Stripes<AVX512Target>.accumulate(p, count: count, secret: secret, copyingTo: destination)
    }

    /// ``FusedRCDStrip/run(_:lut:rows:workspace:into:rowStride:eightBit:row:)``, AVX-512 build.
    public static func fusedRCD(_ strip: FusedRCDStrip, lut: UnsafePointer<Float>?, rows: Range<Int>, workspace: UnsafeMutablePointer<Float>,
                                into out: UnsafeMutableRawPointer, rowStride: Int, eightBit: Bool,
                                row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        strip.run(AVX512Target.self, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
    }

    /// ``RCDInterleaved/run(_:origin:stride:width:height:colors:outputWidth:into:)``, AVX-512 build.
    public static func rcd(origin: UnsafePointer<Float>, stride: Int, width: Int, height: Int, colors: (Int, Int, Int, Int),
                           outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        RCDInterleaved.run(AVX512Target.self, origin: origin, stride: stride, width: width, height: height, colors: colors,
                           outputWidth: outputWidth, into: out)
    }
}
