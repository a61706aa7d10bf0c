import Dispatch
import Foundation
import TesseraCore

/// Entry points of the develop pipeline over CFA planes (``DevelopPipeline`` does the work):
/// tile-able and deterministic.
///
/// Every output pixel is computed from its own input neighbourhood only, in a fixed
/// floating-point order, by the same code whether it is part of a small tile or of a whole
/// frame: tiled output is bit-identical to whole-frame output for any tile size, tile position
/// and thread count. All functions are thread-safe (no shared state besides read-only tables).
public enum Developer {
    /// Copies `rect` (frame coordinates, may reach past the frame's edges) out of a frame's CFA
    /// plane. Pixels outside the frame are mirrored with ``BorderIndex/reflect101(_:count:)``,
    /// which keeps the CFA phase (for frames at least 2 pixels wide and high).
    ///
    /// - Parameters:
    ///   - frame: the whole frame, row-major, `width * height` samples (e.g. a memory-mapped
    ///     spool file); only read during the call.
    /// - Returns: a plane of `rect.width × rect.height` samples whose (0, 0) is frame (rect.x, rect.y).
    public static func window(_ rect: PixelRect, of frame: UnsafeBufferPointer<UInt16>, width: Int, height: Int) -> RawPlane {
        precondition(width > 0 && height > 0 && frame.count >= width * height, "window: frame buffer smaller than width × height")
        var pixels = [UInt16](repeating: 0, count: rect.area)
        guard rect.area > 0 else { return RawPlane(width: rect.width, height: rect.height, pixels: pixels) }
        let src = frame.baseAddress!
        // Columns that need mirroring, and the directly copyable interior span.
        let inner0 = min(max(rect.x, 0), rect.maxX), inner1 = max(min(rect.maxX, width), inner0)
        let columnMap = (rect.x..<rect.maxX).map { BorderIndex.reflect101($0, count: width) }
        pixels.withUnsafeMutableBufferPointer { out in
            let dst = out.baseAddress!
            for j in 0..<rect.height {
                let sy = BorderIndex.reflect101(rect.y + j, count: height)
                let srow = src + sy * width
                let drow = dst + j * rect.width
                for x in rect.x..<inner0 { drow[x - rect.x] = srow[columnMap[x - rect.x]] }
                if inner1 > inner0 { (drow + (inner0 - rect.x)).update(from: srow + inner0, count: inner1 - inner0) }
                for x in inner1..<rect.maxX { drow[x - rect.x] = srow[columnMap[x - rect.x]] }
            }
        }
        return RawPlane(width: rect.width, height: rect.height, pixels: pixels)
    }

    /// ``window(_:of:width:height:)`` over a whole-frame plane.
    public static func window(_ rect: PixelRect, of frame: RawPlane) -> RawPlane {
        frame.pixels.withUnsafeBufferPointer { window(rect, of: $0, width: frame.width, height: frame.height) }
    }

    /// Develops output `core` from `input`, a window of the CFA frame whose extent in frame
    /// coordinates is `inputRect` and which covers the pipeline's CFA window for the core
    /// (``DevelopPipeline/cfaWindow(forOutput:)``; `core.expanded(by: settings.halo)` when the
    /// settings have no stages). Returns only the core, `core.width × core.height` interleaved
    /// RGB, 16 bits, output-referred. Builds the ``DevelopPipeline`` the settings describe.
    ///
    /// Throws ``ImagingError/invalidTile(reason:)`` when the input does not cover the window or
    /// its size disagrees with `inputRect`, and ``ImagingError/invalidSettings(field:reason:)``.
    public static func developTile(_ input: RawPlane, inputRect: PixelRect, core: PixelRect, settings: DevelopSettings) throws(ImagingError) -> RGBImage16 {
        // Without stages the frame size plays no role; any positive size will do.
        let frame = settings.frameSize ?? FrameSize(width: max(1, inputRect.maxX), height: max(1, inputRect.maxY))
        return try DevelopPipeline(settings: settings, frame: frame).developTile(input, inputRect: inputRect, core: core)
    }

    /// Develops a whole frame: the output is cut into row bands (tiles of full width), each
    /// band's CFA window is taken with ``window(_:of:width:height:)`` and developed exactly as
    /// ``developTile(_:inputRect:core:settings:)`` does; bands run in parallel. The result is
    /// bit-identical to any tiling. Blocks the caller until done (call it off the cooperative
    /// pool for large frames). `threads: 1` runs all bands serially on the calling thread;
    /// otherwise about 4 bands per `threads` (default: the number of cores) are spread over
    /// Dispatch's worker threads. The output never depends on `threads`.
    public static func developFrame(_ raw: DecodedRaw, settings: DevelopSettings, threads: Int? = nil) throws(ImagingError) -> RGBImage16 {
        try developFrame(raw.plane, settings: settings, threads: threads)
    }

    /// ``developFrame(_:settings:threads:)`` for a bare CFA plane (frame coordinates start at its top-left).
    public static func developFrame(_ plane: RawPlane, settings: DevelopSettings, threads: Int? = nil) throws(ImagingError) -> RGBImage16 {
        try settings.validate()
        guard plane.width > 0, plane.height > 0 else { return RGBImage16(width: plane.width, height: plane.height) }
        let pipeline = try DevelopPipeline(settings: settings, frame: FrameSize(width: plane.width, height: plane.height))
        return try pipeline.developFrame(plane, threads: threads)
    }
}

/// Carries a pointer into a `@Sendable` closure whose callers guarantee disjoint or read-only use.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
}
