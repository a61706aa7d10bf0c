import TesseraKernels

/// The kernels of `TesseraKernels` compiled for x86-64-v3 (AVX2: eight Float lanes per
/// instruction), with the same entry points as ``BaselineKernels``. This module is built with
/// `-target-cpu haswell` on x86-64 hosts (Package.swift; LLVM's CPU list has no `x86-64-v3`,
/// Haswell is that level plus a few extensions, all checked at run time), and the kernel bodies
/// are `@_alwaysEmitIntoClient`, so they are compiled here, for AVX2. Swift never contracts
/// `a * b + c` into an FMA, so the bits equal the baseline build's (checked by
/// `objdump -d … | grep vfmadd` and by the tests). Call only when ``isAvailable``.
public enum AVX2Kernels {
    /// This build's ``KernelTarget`` (gives its kernel functions symbols of their own).
    enum AVX2Target: KernelTarget {}

    /// Whether this module was compiled for x86-64-v3 *and* this CPU runs it.
    public static var isAvailable: Bool {
        #if TESSERA_AVX2_KERNELS
        return KernelCPU.supportsHaswell
        #else
        return false
        #endif
    }

    /// ``FusedRCDStrip/run(_:lut:rows:workspace:into:rowStride:eightBit:row:)``, AVX2 build.
    public static func fusedRCD(_ strip: FusedRCDStrip, lut: UnsafePointer<Float>?, rows: Range<Int>, workspace: UnsafeMutablePointer<Float>,
                                into out: UnsafeMutableRawPointer, rowStride: Int, eightBit: Bool,
                                row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        strip.run(AVX2Target.self, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
    }

    /// ``RCDInterleaved/run(_:origin:stride:width:height:colors:outputWidth:into:)``, AVX2 build.
    public static func rcd(origin: UnsafePointer<Float>, stride: Int, width: Int, height: Int, colors: (Int, Int, Int, Int),
                           outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        RCDInterleaved.run(AVX2Target.self, origin: origin, stride: stride, width: width, height: height, colors: colors, outputWidth: outputWidth, into: out)
    }
}

extension AVX2Kernels {
    /// ``XXH3Stripes/accumulate(_:count:secret:copyingTo:)`` (XXH3-64's long-input loop), AVX2
    /// build: four 64-bit lanes per instruction (`vpmuludq`), the same bits as the baseline's.
    public static func xxh3Accumulate(_ p: UnsafeRawPointer, count: Int, secret: UnsafeRawPointer,
                                      copyingTo destination: UnsafeMutableRawPointer?) -> SIMD8<UInt64> {
        XXH3Stripes<AVX2Target>.accumulate(p, count: count, secret: secret, copyingTo: destination)
    }
}
