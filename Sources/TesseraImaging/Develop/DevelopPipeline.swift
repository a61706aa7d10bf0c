import Dispatch
import Foundation
import TesseraCore
import TesseraKernels
import TesseraKernelsAVX2
import TesseraKernelsAVX512

/// The develop pipeline of one frame, as a list of stages that reads like the process:
///
/// CFA window → ``RawStage`` (black, white, white balance) → demosaic (``DemosaicMethod``) →
/// camera→output matrix → the ``RGBStage``s in order → output encoding (clip, exposure gain,
/// transfer curve, 16-bit rounding).
///
/// **Regions are planned backwards** (libvips/darktable style): for an output core (in the
/// final frame's coordinates) each RGB stage, last to first, names the part of its input it
/// needs; the first stage's input region is what the demosaic must produce, and that grown by
/// the demosaic's halo is the CFA window (``cfaWindow(forOutput:)``). Only the CFA window is
/// ever reflected at the frame's edges (``Developer/window(_:of:width:height:)``); RGB pixels
/// past the edges are really computed from it. Every stage is a pure function of its input
/// neighbourhood in frame coordinates, so a tile is bit-identical to the same pixels of a
/// whole-frame run, for any tile size, position and thread count.
///
/// A value type; immutable after `init`, safe to share across threads.
public struct DevelopPipeline: Sendable {
    /// The resolved settings (validated).
    public let settings: DevelopSettings
    /// The decoded CFA frame's size (input of the pipeline).
    public let frame: FrameSize
    /// The RGB stages, in order.
    public let stages: [any RGBStage]
    /// `sizes[i]` is the frame size entering `stages[i]`; `sizes[stages.count]` is the output size.
    public let sizes: [FrameSize]

    /// Which build of the hot kernels runs (default ``DevelopKernel/active``; an unsupported
    /// choice runs the baseline). The output bits never depend on it.
    public var kernel: DevelopKernel = .active

    let raw: RawStage
    let matrix: [Float]
    let encoding: OutputEncoding

    /// A pipeline for a frame of size `frame` with explicitly given RGB stages (in order);
    /// `settings.stages` is ignored. Throws ``ImagingError/invalidSettings(field:reason:)``.
    public init(settings: DevelopSettings, frame: FrameSize, stages: [any RGBStage]) throws(ImagingError) {
        try settings.validate()
        guard frame.width > 0, frame.height > 0 else {
            throw .invalidSettings(field: "frameSize", reason: "frame \(frame) must be positive")
        }
        if let declared = settings.frameSize, declared != frame {
            throw .invalidSettings(field: "frameSize", reason: "settings say \(declared) but the frame is \(frame)")
        }
        var sizes = [frame]
        for stage in stages {
            let next = stage.outputSize(for: sizes[sizes.count - 1])
            guard next.width > 0, next.height > 0 else {
                throw .invalidSettings(field: "stages", reason: "stage \(stage.name) turns \(sizes[sizes.count - 1]) into \(next)")
            }
            sizes.append(next)
        }
        self.settings = settings
        self.frame = frame
        self.stages = stages
        self.sizes = sizes
        raw = RawStage(settings)
        matrix = settings.cameraToOutput.map { Float($0) }
        encoding = OutputEncoding(settings)
    }

    /// The pipeline the settings describe: stages rebuilt from ``DevelopSettings/stages``, frame
    /// size from ``DevelopSettings/frameSize`` (or `frame` when given).
    public init(settings: DevelopSettings, frame: FrameSize? = nil) throws(ImagingError) {
        guard let size = frame ?? settings.frameSize else {
            throw .invalidSettings(field: "frameSize", reason: "unknown: neither the settings nor the caller give the frame size")
        }
        var stages: [any RGBStage] = []
        for spec in settings.stages {
            do { stages.append(try spec.makeStage()) } catch {
                throw .invalidSettings(field: "stages.\(spec.kind)", reason: "\(error)")
            }
        }
        try self.init(settings: settings, frame: size, stages: stages)
    }

    /// The size of the developed image for this pipeline's frame (what tiles are planned in).
    public var outputSize: FrameSize { sizes[sizes.count - 1] }

    /// The output size for a CFA frame of size `frame` (resize and crop stages change it).
    public func outputSize(for frame: FrameSize) -> FrameSize {
        stages.reduce(frame) { $1.outputSize(for: $0) }
    }

    /// The region the demosaic must produce (CFA-frame coordinates) for output `core`
    /// (output-frame coordinates): each RGB stage's input region, last stage first.
    public func demosaicRegion(forOutput core: PixelRect) -> PixelRect {
        var region = core
        for k in stages.indices.reversed() {
            region = stages[k].inputRegion(for: region, inputSize: sizes[k])
        }
        return region
    }

    /// The CFA window (frame coordinates; may reach past the frame's edges) a tile needs to
    /// produce output `core`: ``demosaicRegion(forOutput:)`` grown by the demosaic's halo.
    /// Cut it with ``Developer/window(_:of:width:height:)``.
    public func cfaWindow(forOutput core: PixelRect) -> PixelRect {
        demosaicRegion(forOutput: core).expanded(by: settings.demosaic.halo)
    }

    /// Develops output `core` (output-frame coordinates) to linear Float RGB after the last RGB
    /// stage, before output encoding. `input` holds the CFA samples of `inputRect`, which must
    /// contain ``cfaWindow(forOutput:)`` (a larger window gives the same result).
    /// Throws ``ImagingError/invalidTile(reason:)``.
    public func developLinear(_ input: RawPlane, inputRect: PixelRect, core: PixelRect) throws(ImagingError) -> RGBImageF {
        guard input.width == inputRect.width, input.height == inputRect.height else {
            throw .invalidTile(reason: "input plane is \(input.width)x\(input.height) but inputRect is \(inputRect)")
        }
        return try input.pixels.withUnsafeBufferPointer { (buffer) throws(ImagingError) -> RGBImageF in
            try linear(input: buffer.baseAddress!, inputRect: inputRect, core: core)
        }
    }

    /// Develops output `core` to 16-bit RGB (`core.width × core.height`, interleaved,
    /// output-referred). Same input rules as ``developLinear(_:inputRect:core:)``.
    public func developTile(_ input: RawPlane, inputRect: PixelRect, core: PixelRect) throws(ImagingError) -> RGBImage16 {
        if fusesRCD {
            guard input.width == inputRect.width, input.height == inputRect.height else {
                throw .invalidTile(reason: "input plane is \(input.width)x\(input.height) but inputRect is \(inputRect)")
            }
            guard !core.isEmpty else { throw .invalidTile(reason: "empty core \(core)") }
            let window = cfaWindow(forOutput: core)
            guard inputRect.contains(window) else {
                throw .invalidTile(reason: "input \(inputRect) does not cover the CFA window \(window) (demosaic \(core) plus halo \(settings.demosaic.halo)) of output core \(core)")
            }
            var out = [UInt16](repeating: 0, count: core.area * 3)
            input.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    let origin = src.baseAddress! + (window.y - inputRect.y) * inputRect.width + (window.x - inputRect.x)
                    developFusedRCD(core: core, into: UnsafeMutableRawPointer(dst.baseAddress!), rowStride: core.width * 3) { y, x, _, _ in
                        origin + (y - window.y) * inputRect.width + (x - window.x)
                    }
                }
            }
            return RGBImage16(width: core.width, height: core.height, pixels: out)
        }
        let rgb = try developLinear(input, inputRect: inputRect, core: core)
        var out = [UInt16](repeating: 0, count: core.area * 3)
        rgb.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in encoding.run(src.baseAddress!, count: src.count, into: dst.baseAddress!) }
        }
        return RGBImage16(width: core.width, height: core.height, pixels: out)
    }

    /// Develops the whole output frame from the whole CFA `plane` (size ``frame``): the output
    /// is cut into full-width row bands, each developed exactly like a tile (its own CFA window
    /// cut with reflection), bands in parallel. `threads: 1` runs serially on the calling
    /// thread; otherwise about 4 bands per thread (default: active cores) on Dispatch's worker
    /// threads. Blocks the caller. The result never depends on `threads`.
    public func developFrame(_ plane: RawPlane, threads: Int? = nil) throws(ImagingError) -> RGBImage16 {
        guard plane.width == frame.width, plane.height == frame.height else {
            throw .invalidTile(reason: "plane is \(plane.width)x\(plane.height) but the pipeline's frame is \(frame)")
        }
        let size = outputSize
        let width = size.width, height = size.height
        let workers = Self.workers(threads)
        let bandHeight = bandHeight(workers: workers)
        let bands = (height + bandHeight - 1) / bandHeight
        // Not zero-filled: the bands write every sample (and on failure `out` is dropped).
        var out = [UInt16](unsafeUninitializedCapacity: width * height * 3) { _, count in count = width * height * 3 }
        let failure = FirstError()
        plane.pixels.withUnsafeBufferPointer { framePixels in
            out.withUnsafeMutableBufferPointer { o in
                // Bands write disjoint rows of `out` and only read the frame.
                let output = UncheckedSendable(value: o.baseAddress!)
                let source = UncheckedSendable(value: CFAFrame(samples: framePixels, width: plane.width, height: plane.height))
                let runBand: @Sendable (Int) -> Void = { band in
                    let y0 = band * bandHeight
                    do throws(ImagingError) {
                        try developBand(source.value, rows: y0..<min(y0 + bandHeight, height), into: output.value + y0 * width * 3)
                    } catch {
                        failure.record(error)
                    }
                }
                if workers == 1 || bands == 1 {
                    for band in 0..<bands { runBand(band) }
                } else {
                    DispatchQueue.concurrentPerform(iterations: bands, execute: runBand)
                }
            }
        }
        if let error = failure.error { throw error }
        return RGBImage16(width: width, height: height, pixels: out)
    }

    /// The worker count `threads` asks for (default: the active cores; at least 1).
    static func workers(_ threads: Int?) -> Int { max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount) }

    /// Rows per band of ``developFrame(_:threads:)`` for `workers` threads: about 4 bands per
    /// worker for load balance, at least 16 rows, even.
    func bandHeight(workers: Int) -> Int {
        let rough = max(16, (outputSize.height + workers * 4 - 1) / (workers * 4))
        return rough + (rough & 1)
    }

    /// Develops output rows `rows` (full width) of the frame into `out` (16-bit RGB, rows packed),
    /// exactly like a tile: on the fused path straight from the frame's rows (reflect-101 past
    /// its edges), otherwise from the band's CFA window cut with reflection.
    func developBand(_ frame: CFAFrame, rows: Range<Int>, into out: UnsafeMutablePointer<UInt16>) throws(ImagingError) {
        let width = outputSize.width
        let core = PixelRect(x: 0, y: rows.lowerBound, width: width, height: rows.count)
        if fusesRCD {
            developFusedRCD(core: core, into: UnsafeMutableRawPointer(out), rowStride: width * 3, row: frame.row)
            return
        }
        let inputRect = cfaWindow(forOutput: core)
        let input = Developer.window(inputRect, of: frame.samples, width: frame.width, height: frame.height)
        let rgb = try input.pixels.withUnsafeBufferPointer { (buffer) throws(ImagingError) -> RGBImageF in
            try linear(input: buffer.baseAddress!, inputRect: inputRect, core: core)
        }
        rgb.pixels.withUnsafeBufferPointer { src in encoding.run(src.baseAddress!, count: src.count, into: out) }
    }

    /// Whether ``developTile(_:inputRect:core:)`` and ``developFrame(_:threads:)`` take the fused
    /// RCD path: the raw stage done as the demosaic loads each row, the matrix and the output
    /// encoding as it finishes each row (no RGB stages in between). The same operations on the
    /// same values as the staged path, so the same bits (tested).
    var fusesRCD: Bool { settings.demosaic == .rcd && stages.isEmpty }

    /// The fused RCD path for output `core` (= demosaic region, no stages):
    /// `row(y, x, count, scratch)` returns `count` CFA samples of frame row `y` from frame column
    /// `x` (within the window `core.expanded(by: halo)`; it may fill and return `scratch`, room
    /// for `count` samples). Writes `core.height` rows of `core.width` RGB 16-bit pixels at `out`,
    /// `rowStride` samples apart. Runs in column strips of at most ``fusedStripWidth`` output
    /// columns, so a strip's ring buffers stay in the core's L2 cache; each output pixel depends
    /// only on its own neighbourhood, so strips do not change a bit.
    func developFusedRCD(core: PixelRect, into out: UnsafeMutableRawPointer, rowStride: Int,
                         row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        for (x0, strip) in fusedStrips(core: core, stripWidth: Self.fusedStripWidth) {
            let workspace = UnsafeMutablePointer<Float>.allocate(capacity: strip.workspaceCount)
            defer { workspace.deallocate() }
            workspace.initialize(repeating: 0, count: strip.workspaceCount)
            runFusedStrip(strip, rows: 0..<core.height, workspace: workspace, into: out + 6 * x0, rowStride: rowStride, eightBit: false, row: row)
        }
    }

    /// Output columns per strip of the fused RCD path (even).
    static let fusedStripWidth = 1024

    /// The fused path's column strips of output `core`: each strip's first output column
    /// (relative to `core.x`) and its kernel parameters (`stripWidth` even).
    func fusedStrips(core: PixelRect, stripWidth: Int) -> [(Int, FusedRCDStrip)] {
        let m = matrix
        var strips: [(Int, FusedRCDStrip)] = []
        var x0 = 0
        while x0 < core.width {
            let strip = PixelRect(x: core.x + x0, y: core.y, width: min(stripWidth, core.width - x0), height: core.height)
            let window = strip.expanded(by: RCDDemosaic.halo)
            strips.append((x0, FusedRCDStrip(
                x: window.x, y: window.y, width: window.width, height: window.height,
                colors: settings.cfa.windowColors(x: window.x, y: window.y),
                black: SIMD4(raw.black), scale: SIMD4(raw.scale),
                matrix: (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]),
                gain: encoding.gain)))
            x0 += strip.width
        }
        return strips
    }

    /// Output rows `rows` of one fused strip (`FusedRCDStrip` in TesseraKernels), in the build
    /// ``kernel`` names; `out` and `rowStride` as the kernel takes them (16-bit samples, or
    /// bytes with `eightBit`).
    func runFusedStrip(_ strip: FusedRCDStrip, rows: Range<Int>, workspace: UnsafeMutablePointer<Float>, into out: UnsafeMutableRawPointer,
                       rowStride: Int, eightBit: Bool, row: (Int, Int, Int, UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16>) {
        let kernel = self.kernel.effective
        encoding.withTable { lut in
            switch kernel {
            case .avx512:
                AVX512Kernels.fusedRCD(strip, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
            case .avx2:
                AVX2Kernels.fusedRCD(strip, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
            case .baseline:
                BaselineKernels.fusedRCD(strip, lut: lut, rows: rows, workspace: workspace, into: out, rowStride: rowStride, eightBit: eightBit, row: row)
            }
        }
    }

    /// Raw stage → demosaic → matrix → RGB stages, for output `core`.
    func linear(input: UnsafePointer<UInt16>, inputRect: PixelRect, core: PixelRect) throws(ImagingError) -> RGBImageF {
        guard !core.isEmpty else { throw .invalidTile(reason: "empty core \(core)") }
        // Plan backwards: regions[k] is the input region of stages[k]; regions[n] = core.
        var regions = [PixelRect](repeating: core, count: stages.count + 1)
        for k in stages.indices.reversed() {
            regions[k] = stages[k].inputRegion(for: regions[k + 1], inputSize: sizes[k])
        }
        let demosaicRect = regions[0]
        let halo = settings.demosaic.halo
        let mosaicRect = demosaicRect.expanded(by: halo)
        guard inputRect.contains(mosaicRect) else {
            throw .invalidTile(reason: "input \(inputRect) does not cover the CFA window \(mosaicRect) (demosaic \(demosaicRect) plus halo \(halo)) of output core \(core)")
        }

        // Raw stage and demosaic.
        let mosaic = UnsafeMutablePointer<Float>.allocate(capacity: mosaicRect.area)
        defer { mosaic.deallocate() }
        raw.run(input: input, inputRect: inputRect, rect: mosaicRect, output: mosaic)
        var image = Demosaicer.demosaic(MosaicView(samples: mosaic, rect: mosaicRect, cfa: settings.cfa),
                                        output: demosaicRect, method: settings.demosaic, kernel: kernel)

        // Camera → output matrix, in place.
        let m0 = matrix[0], m1 = matrix[1], m2 = matrix[2], m3 = matrix[3], m4 = matrix[4]
        let m5 = matrix[5], m6 = matrix[6], m7 = matrix[7], m8 = matrix[8]
        image.pixels.withUnsafeMutableBufferPointer { px in
            let p = px.baseAddress!
            for i in 0..<(px.count / 3) {
                let r = p[i * 3], g = p[i * 3 + 1], b = p[i * 3 + 2]
                p[i * 3] = m0 * r + m1 * g + m2 * b
                p[i * 3 + 1] = m3 * r + m4 * g + m5 * b
                p[i * 3 + 2] = m6 * r + m7 * g + m8 * b
            }
        }

        // RGB stages.
        for (k, stage) in stages.enumerated() {
            let next = stage.apply(image, inputRect: regions[k], output: regions[k + 1], inputSize: sizes[k])
            guard next.width == regions[k + 1].width, next.height == regions[k + 1].height, next.pixels.count == regions[k + 1].area * 3 else {
                throw .invalidTile(reason: "stage \(stage.name) returned \(next.width)x\(next.height) for region \(regions[k + 1])")
            }
            image = next
        }
        return image
    }
}

/// A borrowed whole CFA frame (`width × height` samples, row-major), read by the bands of a
/// frame develop. Valid only while its owner keeps the samples alive.
struct CFAFrame {
    let samples: UnsafeBufferPointer<UInt16>
    let width: Int, height: Int

    /// `count` samples of frame row `y` from frame column `x`, reflect-101 past the frame's
    /// edges: a pointer into the frame when the span is inside it, else `scratch` filled.
    func row(_ y: Int, _ x: Int, _ count: Int, _ scratch: UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16> {
        let row = samples.baseAddress! + BorderIndex.reflect101(y, count: height) * width
        if x >= 0 && x + count <= width { return row + x }
        for i in 0..<count { scratch[i] = row[BorderIndex.reflect101(x + i, count: width)] }
        return UnsafePointer(scratch)
    }
}

/// The first error thrown by any of several concurrent bands.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ImagingError?

    func record(_ error: ImagingError) {
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = error }
    }

    var error: ImagingError? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
