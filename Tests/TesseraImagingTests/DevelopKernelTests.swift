import Testing
import TesseraCore
import TesseraImaging

/// The kernel dispatch (docs/develop.md, "Kernel dispatch"): the AVX2 and AVX-512 builds of the
/// RCD and fused-develop kernels give exactly the baseline build's bits — every CFA phase, odd
/// window sizes and origins, rings that wrap, rows around the SIMD width, column-strip
/// boundaries, band edges, tiles — and `TESSERA_SIMD` picks a build.
@Suite struct DevelopKernelTests {
    /// Why the AVX2 half is skipped, when it is.
    static let avx2Skip: Comment = "this CPU (or build) has no AVX2 kernel: only the baseline runs, nothing to compare"
    /// Why the AVX-512 half is skipped, when it is.
    static let avx512Skip: Comment = "this CPU or OS (or build) has no AVX-512 kernel: nothing to compare"

    @Test(.enabled(if: DevelopKernel.avx2.isSupported, avx2Skip), arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func rcdAVX2EqualsBaselineBitForBit(cfa: CFAPattern) {
        Self.expectRCDEqualsBaseline(.avx2, cfa: cfa)
    }

    @Test(.enabled(if: DevelopKernel.avx512.isSupported, avx512Skip), arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func rcdAVX512EqualsBaselineBitForBit(cfa: CFAPattern) {
        Self.expectRCDEqualsBaseline(.avx512, cfa: cfa)
    }

    @Test(.enabled(if: DevelopKernel.avx2.isSupported, avx2Skip), arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func fusedDevelopAVX2EqualsBaseline(cfa: CFAPattern) throws {
        try Self.expectFusedDevelopEqualsBaseline(.avx2, cfa: cfa)
    }

    @Test(.enabled(if: DevelopKernel.avx512.isSupported, avx512Skip), arguments: [CFAPattern.rggb, .bggr, .grbg, .gbrg])
    func fusedDevelopAVX512EqualsBaseline(cfa: CFAPattern) throws {
        try Self.expectFusedDevelopEqualsBaseline(.avx512, cfa: cfa)
    }

    /// The staged path (an RGB stage after the demosaic) also runs the chosen RCD kernel.
    @Test(.enabled(if: DevelopKernel.avx2.isSupported, avx2Skip))
    func stagedDevelopAVX2EqualsBaseline() throws {
        try Self.expectStagedDevelopEqualsBaseline(.avx2)
    }

    /// The staged path, AVX-512 build.
    @Test(.enabled(if: DevelopKernel.avx512.isSupported, avx512Skip))
    func stagedDevelopAVX512EqualsBaseline() throws {
        try Self.expectStagedDevelopEqualsBaseline(.avx512)
    }

    /// The RCD kernel of build `kernel` against the baseline's on random mosaics of phase `cfa`.
    static func expectRCDEqualsBaseline(_ kernel: DevelopKernel, cfa: CFAPattern) {
        #expect(kernel.effective == kernel)
        let h = RCDDemosaic.halo
        let cases: [(PixelRect, PixelRect)] = [
            // Odd origins and sizes: every parity of window and output.
            (PixelRect(x: 3, y: 5, width: 52, height: 33), PixelRect(x: 3 + h + 1, y: 5 + h, width: 29, height: 16)),
            (PixelRect(x: 1, y: 2, width: 2 * h + 1, height: 2 * h + 3), PixelRect(x: 1 + h, y: 2 + h, width: 1, height: 3)),
            // Taller than every ring; several SIMD chunks per parity with a partial last one.
            (PixelRect(x: 7, y: 3, width: 97, height: 83), PixelRect(x: 7 + h + 3, y: 3 + h + 1, width: 75, height: 61)),
            // Widths at and just past the SIMD chunk (8 sites per parity = 16 columns).
            (PixelRect(x: 2, y: 1, width: 2 * h + 16, height: 40), PixelRect(x: 2 + h, y: 1 + h, width: 16, height: 40 - 2 * h)),
            (PixelRect(x: 5, y: 4, width: 2 * h + 17, height: 2 * h + 2), PixelRect(x: 5 + h, y: 4 + h, width: 17, height: 2)),
        ]
        for (n, (rect, output)) in cases.enumerated() {
            let samples = RCDExactTests.randomMosaic(rect, seed: 0xA5 &+ UInt64(n) &* 131 &+ UInt64(cfa.color(x: 1, y: 1).rawValue))
            samples.withUnsafeBufferPointer { s in
                let view = MosaicView(samples: s.baseAddress!, rect: rect, cfa: cfa)
                let baseline = Demosaicer.demosaic(view, output: output, method: .rcd, kernel: .baseline).pixels
                let other = Demosaicer.demosaic(view, output: output, method: .rcd, kernel: kernel).pixels
                #expect(baseline.count == output.area * 3)
                let mismatches = zip(baseline, other).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(baseline.count == other.count && mismatches == 0,
                        "\(kernel) \(cfa) window \(rect) output \(output): \(mismatches) of \(baseline.count) values differ")
                // Not degenerate: interpolated colour everywhere, negatives and overshoots included.
                #expect(Set(baseline.map(\.bitPattern)).count > baseline.count / 2)
            }
        }
    }

    /// The fused neutral develop of build `kernel` against the baseline's: whole frames (one and
    /// two bands) and tiles, one transfer per phase.
    static func expectFusedDevelopEqualsBaseline(_ kernel: DevelopKernel, cfa: CFAPattern) throws {
        #expect(kernel.effective == kernel)
        var rng = SplitMix64(seed: 0xC0FFEE &+ UInt64(cfa.color(x: 0, y: 1).rawValue))
        // Wider than one column strip (1024 output columns) with an odd remainder; odd height.
        let (w, h) = (1024 + 37, 23)
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count {
            let u = rng.nextUnit()
            plane.pixels[i] = u < 0.05 ? UInt16(500 + rng.next() % 30) : u > 0.97 ? 16383 : UInt16(400 + rng.next() % 16_000)
        }
        let frame = FrameSize(width: w, height: h)
        // One transfer per phase (sRGB twice), each with every band, strip and tile case.
        let phase = [CFAPattern.rggb, .bggr, .grbg, .gbrg].firstIndex(of: cfa) ?? 0
        for transfer in [[DevelopSettings.Transfer.srgb, .linear, .adobeRGB, .srgb][phase]] {
            var settings = DevelopFixtures.cameraSettings(cfa, transfer: transfer)
            settings.demosaic = .rcd
            settings.exposureGain = transfer == .linear ? 1.7 : 1
            var baseline = try DevelopPipeline(settings: settings, frame: frame, stages: [])
            baseline.kernel = .baseline
            var other = baseline
            other.kernel = kernel
            let reference = try baseline.developFrame(plane, threads: 1)
            #expect(Set(reference.pixels).count > 1000 && reference.pixels.contains(65535))
            #expect(try other.developFrame(plane, threads: 1) == reference, "\(kernel) \(cfa) \(transfer) whole frame, 1 thread")
            #expect(try other.developFrame(plane, threads: 2) == reference, "\(kernel) \(cfa) \(transfer) whole frame, 2 threads (band edges)")
            // Tiles with odd origins and sizes, across a strip boundary and at the frame's edges.
            for core in [PixelRect(x: 1001, y: 3, width: 41, height: 11), PixelRect(x: 0, y: 0, width: 13, height: 9),
                         PixelRect(x: w - 9, y: h - 5, width: 9, height: 5), PixelRect(x: 5, y: 16, width: 1, height: 7)] {
                let window = other.cfaWindow(forOutput: core)
                let input = Developer.window(window, of: plane)
                let tile = try other.developTile(input, inputRect: window, core: core)
                #expect(tile == (try baseline.developTile(input, inputRect: window, core: core)), "\(kernel) \(cfa) \(transfer) tile \(core)")
            }
        }
    }

    /// The staged path (an RGB stage after the demosaic) of build `kernel` against the baseline's.
    static func expectStagedDevelopEqualsBaseline(_ kernel: DevelopKernel) throws {
        #expect(kernel.effective == kernel)
        var rng = SplitMix64(seed: 77)
        let (w, h) = (53, 41)
        var plane = RawPlane(width: w, height: h)
        for i in 0..<plane.pixels.count { plane.pixels[i] = UInt16(400 + rng.next() % 16_000) }
        var settings = DevelopFixtures.cameraSettings(.grbg)
        settings.demosaic = .rcd
        var baseline = try DevelopPipeline(settings: settings, frame: FrameSize(width: w, height: h), stages: [IdentityStage()])
        baseline.kernel = .baseline
        var other = baseline
        other.kernel = kernel
        #expect(try other.developFrame(plane, threads: 1) == baseline.developFrame(plane, threads: 1), "\(kernel)")
    }

    /// `TESSERA_SIMD=baseline` forces the baseline, `avx2`/`avx512` name a build (or the best
    /// lower one the CPU has); anything else takes the fastest supported kernel; an unsupported
    /// request runs the best lower build.
    @Test func overrideAndFallback() {
        let fastest: DevelopKernel = DevelopKernel.avx512.isSupported ? .avx512 : DevelopKernel.avx2.isSupported ? .avx2 : .baseline
        let avx2OrLower: DevelopKernel = DevelopKernel.avx2.isSupported ? .avx2 : .baseline
        #expect(DevelopKernel.fastest == fastest)
        #expect(DevelopKernel.select(environment: "baseline") == .baseline)
        #expect(DevelopKernel.select(environment: "BASELINE") == .baseline)
        #expect(DevelopKernel.select(environment: nil) == fastest)
        #expect(DevelopKernel.select(environment: "auto") == fastest)
        #expect(DevelopKernel.select(environment: "sse9") == fastest)
        #expect(DevelopKernel.select(environment: "avx2") == avx2OrLower)
        #expect(DevelopKernel.select(environment: "avx512") == fastest)
        #expect(DevelopKernel.baseline.isSupported && DevelopKernel.baseline.effective == .baseline)
        #expect(DevelopKernel.avx2.effective == avx2OrLower)
        #expect(DevelopKernel.avx512.effective == fastest)
        #expect(DevelopKernel.environmentVariable == "TESSERA_SIMD")
    }
}
