import CTIFF
import Foundation
import Synchronization

/// Which code compresses the strips of a deflate TIFF (``ImageWriter/encodeTIFF(_:compression:metadata:threads:deflateEncoder:)``).
/// Both write the same bytes (the tests compare them); only the speed differs.
public enum TIFFDeflateEncoder: String, Sendable, CaseIterable {
    /// Ours (``TIFFStripDeflater``): the horizontal predictor and libdeflate per strip, strips
    /// compressed concurrently on up to `threads` threads, written in order with `TIFFWriteRawStrip`.
    case strips
    /// libtiff's ADOBE_DEFLATE codec through `TIFFWriteEncodedStrip`, one strip after another on
    /// the calling thread: the reference the strip encoder is tested against.
    case libtiff
}

/// Compresses the strips of a 16-bit RGB deflate TIFF independently and concurrently, as
/// libtiff's ADOBE_DEFLATE codec with the horizontal predictor would (libtiff 4.5 hands a whole
/// strip to libdeflate in one call at the ZIPQUALITY level; so do we: the bytes are identical),
/// and writes them in strip order through `TIFFWriteRawStrip`, so the directory libtiff writes
/// is the one it writes for its own codec.
///
/// Strips are compressed in windows of up to 8 per thread: the threads claim strips of a window
/// one at a time (a slow or busy core takes fewer), then the calling thread writes the window's
/// strips in order. Memory: one strip of predictor scratch per thread and one compressed-size
/// bound per strip of a window (about 2 MiB per thread at 256 KiB strips), plus, for rows that
/// arrive band by band (``append(_:rows:)``), one window of staged rows. The bytes never depend
/// on the thread count or on how the rows arrive.
///
/// Not thread-safe: one caller feeds it, top to bottom.
final class TIFFStripDeflater {
    /// The libdeflate level: libtiff's ZIPQUALITY we set (1: on noisy 16-bit photographs a
    /// higher level buys little size for much time; docs/performance.md).
    static let level: Int32 = 1

    /// Strips per thread in one window.
    static let stripsPerThread = 8

    private let tif: OpaquePointer
    private let height: Int
    private let rowsPerStrip: Int
    private let rowSamples: Int
    private let stripSamples: Int
    private let strips: Int
    private let workers: Int
    /// Strips per window.
    private let window: Int
    /// Bytes of output room per strip (libdeflate's bound for a whole strip).
    private let capacity: Int
    private let failure: (String) -> ImagingError
    private var compressors: [OpaquePointer] = []
    private let scratch: UnsafeMutablePointer<UInt16>
    private let out: UnsafeMutablePointer<UInt8>
    private let sizes: UnsafeMutablePointer<Int>
    /// One window of rows for ``append(_:rows:)`` (allocated on first use), and how many it holds.
    private var staging: UnsafeMutablePointer<UInt16>?
    private var staged = 0
    /// The next strip to write.
    private var nextStrip = 0

    /// A deflater for the `width` × `height` image `tif` describes (its tags set), strips of
    /// `rowsPerStrip` rows (the last may be shorter), compressed on up to `threads` threads (the
    /// caller's among them). `failure` makes the error of a failed libtiff call (with libtiff's
    /// message).
    init(_ tif: OpaquePointer, width: Int, height: Int, rowsPerStrip: Int, threads: Int,
         failure: @escaping (String) -> ImagingError) throws(ImagingError) {
        self.tif = tif
        self.height = height
        self.rowsPerStrip = rowsPerStrip
        self.failure = failure
        rowSamples = width * 3
        stripSamples = rowsPerStrip * rowSamples
        strips = (height + rowsPerStrip - 1) / rowsPerStrip
        workers = max(1, min(threads, strips))
        window = workers == 1 ? 1 : min(strips, workers * Self.stripsPerThread)
        scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: workers * stripSamples)
        sizes = UnsafeMutablePointer<Int>.allocate(capacity: window)
        var bound = 0
        for _ in 0..<workers {
            guard let compressor = libdeflate_alloc_compressor(Self.level) else { break }
            compressors.append(compressor)
            bound = libdeflate_zlib_compress_bound(compressor, stripSamples * 2)
        }
        capacity = bound
        out = UnsafeMutablePointer<UInt8>.allocate(capacity: window * bound)
        guard compressors.count == workers else {
            throw .encodeFailed(format: "tiff", reason: "out of memory for \(workers) deflate compressor(s) (libdeflate_alloc_compressor)")
        }
    }

    deinit {
        for compressor in compressors { libdeflate_free_compressor(compressor) }
        scratch.deallocate()
        out.deallocate()
        sizes.deallocate()
        staging?.deallocate()
    }

    /// Compresses and writes whole strips from `rows` rows at `pixels` (interleaved RGB, rows of
    /// `width * 3` samples), which start at the next strip's first row: a multiple of
    /// `rowsPerStrip` rows, or all the rows left.
    func write(_ pixels: UnsafePointer<UInt16>, rows: Int) throws(ImagingError) {
        let rowsPerStrip = rowsPerStrip, rowSamples = rowSamples, stripSamples = stripSamples, capacity = capacity
        let first = nextStrip * rowsPerStrip
        guard rows > 0, first + rows <= height, rows % rowsPerStrip == 0 || first + rows == height else {
            throw .encodeFailed(format: "tiff", reason: "\(rows) row(s) at row \(first) are not whole strips of \(rowsPerStrip) rows in \(height)")
        }
        let end = first + rows
        // Each strip writes only its own output slot and size, each worker only its own scratch;
        // the pixels are only read.
        let shared = UncheckedSendable(value: (compressors: compressors, pixels: pixels, scratch: scratch, out: out, sizes: sizes))
        var y = first
        while y < end {
            let count = min(window, (end - y + rowsPerStrip - 1) / rowsPerStrip)
            let top = y
            let compress: @Sendable (Int, Int) -> Void = { worker, slot in
                let s = shared.value
                let y0 = top + slot * rowsPerStrip
                let n = min(rowsPerStrip, end - y0)
                s.sizes[slot] = tessera_tiff_deflate_strip16(s.compressors[worker], s.pixels + (y0 - first) * rowSamples, n, rowSamples, 3,
                                                             s.scratch + worker * stripSamples, s.out + slot * capacity, capacity)
            }
            if workers == 1 || count == 1 {
                for slot in 0..<count { compress(0, slot) }
            } else {
                let next = Atomic<Int>(0)
                DispatchQueue.concurrentPerform(iterations: min(workers, count)) { worker in
                    while true {
                        let slot = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard slot < count else { return }
                        compress(worker, slot)
                    }
                }
            }
            for slot in 0..<count {
                let strip = nextStrip
                guard sizes[slot] > 0 else {
                    throw .encodeFailed(format: "tiff", reason: "deflate of strip \(strip) did not fit its \(capacity)-byte bound")
                }
                guard TIFFWriteRawStrip(tif, UInt32(strip), out + slot * capacity, tmsize_t(sizes[slot])) == sizes[slot] else {
                    throw failure("TIFFWriteRawStrip of strip \(strip) (\(sizes[slot]) bytes) failed")
                }
                nextStrip += 1
            }
            y = min(end, y + count * rowsPerStrip)
        }
    }

    /// Takes the next `rows` rows at `pixels` (any count; top to bottom): whole windows are
    /// compressed straight from `pixels`, the rest is staged until a window (or the image) is
    /// complete. Call ``finish()`` after the last rows.
    func append(_ pixels: UnsafePointer<UInt16>, rows: Int) throws(ImagingError) {
        let windowRows = window * rowsPerStrip
        var source = pixels
        var left = rows
        while left > 0 {
            let top = nextStrip * rowsPerStrip + staged
            guard top + left <= height else {
                throw .encodeFailed(format: "tiff", reason: "\(left) row(s) at row \(top) run past the image's \(height)")
            }
            if staged == 0, left >= windowRows || top + left == height {
                let n = top + left == height ? left : left - left % windowRows
                try write(source, rows: n)
                source += n * rowSamples
                left -= n
                continue
            }
            let buffer = staging ?? UnsafeMutablePointer<UInt16>.allocate(capacity: windowRows * rowSamples)
            staging = buffer
            let n = min(left, windowRows - staged)
            (buffer + staged * rowSamples).update(from: source, count: n * rowSamples)
            staged += n
            source += n * rowSamples
            left -= n
            if staged == windowRows || top + n == height {
                let rows = staged
                staged = 0
                try write(buffer, rows: rows)
            }
        }
    }

    /// Checks that every strip was written (the row source delivered the whole image).
    func finish() throws(ImagingError) {
        guard nextStrip == strips, staged == 0 else {
            throw .encodeFailed(format: "tiff", reason: "the rows ended at row \(nextStrip * rowsPerStrip + staged) of \(height)")
        }
    }
}
