import Dispatch
import Foundation
import TesseraCore
import TesseraKernels

/// RGB rows (`Sample`: `UInt8` or `UInt16`) handed to an encoder band by band, top to bottom
/// (``ImageWriter``'s streaming encoders take them): `next()` returns the next band, a pointer
/// to `rows × width × 3` samples that stays valid until the following call, and its row count.
/// The encoder calls `next()` until it has `height` rows, never more.
struct RGBRows<Sample> {
    let width: Int
    let height: Int
    let next: () throws(ImagingError) -> (pixels: UnsafePointer<Sample>, rows: Int)
}

/// 8-bit rows: JPEG and 8-bit PNG.
typealias RGB8Rows = RGBRows<UInt8>
/// 16-bit rows: deflate TIFF.
typealias RGB16Rows = RGBRows<UInt16>

extension DevelopPipeline {
    /// Output rows per band of the streamed fused develop: small enough that the band (about
    /// 1 MB of 8-bit RGB at 6000 columns) stays in cache between the develop and the encoder.
    static let streamBandRows = 48

    /// Develops the whole frame `plane` (size ``frame``) to 8-bit RGB and hands it to `body`
    /// band by band: each sample is `(v · 255 + 32767) / 65535` of the 16-bit value
    /// ``developFrame(_:threads:)`` gives, so an encoder fed these rows writes the same bytes
    /// as one fed the 8-bit copy of the whole 16-bit frame — without either frame existing.
    ///
    /// On the fused RCD path every column strip keeps its RCD stream (ring buffers) from one
    /// band to the next, so bands cost no halo rows; a band's strips run on up to `threads`
    /// threads (default: active cores). Otherwise the frame is cut into the bands
    /// ``developFrame(_:threads:)`` uses, developed in groups of one band per thread into a
    /// reused 16-bit buffer and rounded to 8 bits. Blocks the caller; the bytes never depend on
    /// `threads`. Throws ``ImagingError/invalidTile(reason:)`` for a plane of the wrong size.
    func withRGB8Rows<R>(_ plane: RawPlane, threads: Int?, _ body: (RGB8Rows) throws(ImagingError) -> R) throws(ImagingError) -> R {
        try withRows(plane, threads: threads, body)
    }

    /// ``withRGB8Rows(_:threads:_:)`` with the 16-bit samples themselves: exactly the pixels of
    /// ``developFrame(_:threads:)``, band by band, without the frame existing (the fused kernel
    /// stores 16-bit lanes; the general path hands out its 16-bit buffer as is).
    func withRGB16Rows<R>(_ plane: RawPlane, threads: Int?, _ body: (RGB16Rows) throws(ImagingError) -> R) throws(ImagingError) -> R {
        try withRows(plane, threads: threads, body)
    }

    /// ``withRGB8Rows(_:threads:_:)`` and ``withRGB16Rows(_:threads:_:)``: `Sample` is `UInt8`
    /// (rounded to 8 bits) or `UInt16`.
    private func withRows<Sample, R>(_ plane: RawPlane, threads: Int?, _ body: (RGBRows<Sample>) throws(ImagingError) -> R) throws(ImagingError) -> R {
        guard plane.width == frame.width, plane.height == frame.height else {
            throw .invalidTile(reason: "plane is \(plane.width)x\(plane.height) but the pipeline's frame is \(frame)")
        }
        let workers = Self.workers(threads)
        return try plane.pixels.withUnsafeBufferPointer { (pixels) throws(ImagingError) -> R in
            let cfa = CFAFrame(samples: pixels, width: plane.width, height: plane.height)
            return fusesRCD ? try fusedRows(cfa, workers: workers, body) : try bandedRows(cfa, workers: workers, body)
        }
    }

    /// The fused path of ``withRows(_:threads:_:)``: resumable strips, 8- or 16-bit output
    /// straight from the kernel.
    private func fusedRows<Sample, R>(_ cfa: CFAFrame, workers: Int, _ body: (RGBRows<Sample>) throws(ImagingError) -> R) throws(ImagingError) -> R {
        let eightBit = MemoryLayout<Sample>.size == 1
        let width = outputSize.width, height = outputSize.height
        // Strips of at most fusedStripWidth columns, and at least one per worker.
        let share = (width + workers - 1) / workers
        let stripWidth = min(Self.fusedStripWidth, max(16, share + (share & 1)))
        let strips = fusedStrips(core: PixelRect(x: 0, y: 0, width: width, height: height), stripWidth: stripWidth)
        var offsets: [Int] = []
        var total = 0
        for (_, strip) in strips {
            offsets.append(total)
            total += (strip.workspaceCount + 15) & ~15
        }
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: total)
        defer { workspace.deallocate() }
        workspace.initialize(repeating: 0, count: total)
        let bandRows = min(Self.streamBandRows, height)
        let band = UnsafeMutablePointer<Sample>.allocate(capacity: bandRows * width * 3)
        defer { band.deallocate() }
        // Strips write disjoint columns of the band and their own workspaces, and only read the frame.
        let shared = UncheckedSendable(value: (strips: strips, offsets: offsets, workspace: workspace, band: band, cfa: cfa))
        var y = 0
        let rows = RGBRows<Sample>(width: width, height: height) { () throws(ImagingError) -> (pixels: UnsafePointer<Sample>, rows: Int) in
            let range = y..<min(y + bandRows, height)
            guard !range.isEmpty else { throw .invalidTile(reason: "the encoder asked for rows past the frame's \(height)") }
            let runStrip: @Sendable (Int) -> Void = { i in
                let s = shared.value
                let (x0, strip) = s.strips[i]
                runFusedStrip(strip, rows: range, workspace: s.workspace + s.offsets[i], into: UnsafeMutableRawPointer(s.band + 3 * x0),
                              rowStride: width * 3, eightBit: eightBit, row: s.cfa.row)
            }
            if workers == 1 || strips.count == 1 {
                for i in strips.indices { runStrip(i) }
            } else {
                DispatchQueue.concurrentPerform(iterations: strips.count, execute: runStrip)
            }
            y = range.upperBound
            return (UnsafePointer(band), range.count)
        }
        return try body(rows)
    }

    /// The general path of ``withRows(_:threads:_:)``: ``developFrame(_:threads:)``'s bands,
    /// one group of `workers` bands at a time (rounded to 8 bits when `Sample` is a byte).
    private func bandedRows<Sample, R>(_ cfa: CFAFrame, workers: Int, _ body: (RGBRows<Sample>) throws(ImagingError) -> R) throws(ImagingError) -> R {
        let eightBit = MemoryLayout<Sample>.size == 1
        let width = outputSize.width, height = outputSize.height
        let bandHeight = bandHeight(workers: workers)
        let groupRows = min(bandHeight * workers, height)
        let wide = UnsafeMutablePointer<UInt16>.allocate(capacity: groupRows * width * 3)
        defer { wide.deallocate() }
        let narrow = UnsafeMutablePointer<UInt8>.allocate(capacity: eightBit ? groupRows * width * 3 : 0)
        defer { narrow.deallocate() }
        let shared = UncheckedSendable(value: (wide: wide, cfa: cfa))
        var y = 0
        let rows = RGBRows<Sample>(width: width, height: height) { () throws(ImagingError) -> (pixels: UnsafePointer<Sample>, rows: Int) in
            let group = y..<min(y + groupRows, height)
            guard !group.isEmpty else { throw .invalidTile(reason: "the encoder asked for rows past the frame's \(height)") }
            let bands = (group.count + bandHeight - 1) / bandHeight
            let failure = FirstError()
            let runBand: @Sendable (Int) -> Void = { i in
                let y0 = group.lowerBound + i * bandHeight
                do throws(ImagingError) {
                    try developBand(shared.value.cfa, rows: y0..<min(y0 + bandHeight, group.upperBound),
                                    into: shared.value.wide + i * bandHeight * width * 3)
                } catch {
                    failure.record(error)
                }
            }
            if workers == 1 || bands == 1 {
                for i in 0..<bands { runBand(i) }
            } else {
                DispatchQueue.concurrentPerform(iterations: bands, execute: runBand)
            }
            if let error = failure.error { throw error }
            y = group.upperBound
            guard eightBit else { return (UnsafeRawPointer(wide).assumingMemoryBound(to: Sample.self), group.count) }
            ImageWriter.to8Bit(wide, count: group.count * width * 3, into: narrow)
            return (UnsafeRawPointer(narrow).assumingMemoryBound(to: Sample.self), group.count)
        }
        return try body(rows)
    }
}
