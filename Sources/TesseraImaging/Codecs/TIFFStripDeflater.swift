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
/// bound per strip of a window (about 2 MiB per thread at 256 KiB strips). The bytes never
/// depend on the thread count.
enum TIFFStripDeflater {
    /// The libdeflate level: libtiff's ZIPQUALITY we set (1: on noisy 16-bit photographs a
    /// higher level buys little size for much time; docs/performance.md).
    static let level: Int32 = 1

    /// Strips per thread in one window.
    static let stripsPerThread = 8

    /// Compresses and writes the strips of the `width` × `height` interleaved RGB samples at
    /// `pixels` (rows of `width * 3` samples), `rowsPerStrip` rows per strip (the last may be
    /// shorter), strip 0 first, on up to `threads` threads (the caller's among them).
    /// `failure` makes the error of a failed libtiff call (with libtiff's message).
    static func write(_ tif: OpaquePointer, pixels: UnsafePointer<UInt16>, width: Int, height: Int, rowsPerStrip: Int,
                      threads: Int, failure: (String) -> ImagingError) throws(ImagingError) {
        let rowSamples = width * 3
        let stripSamples = rowsPerStrip * rowSamples
        let strips = (height + rowsPerStrip - 1) / rowsPerStrip
        let workers = max(1, min(threads, strips))
        let window = workers == 1 ? 1 : min(strips, workers * stripsPerThread)
        var compressors: [OpaquePointer] = []
        defer { for compressor in compressors { libdeflate_free_compressor(compressor) } }
        for _ in 0..<workers {
            guard let compressor = libdeflate_alloc_compressor(level) else {
                throw .encodeFailed(format: "tiff", reason: "out of memory for a deflate compressor (libdeflate_alloc_compressor)")
            }
            compressors.append(compressor)
        }
        let capacity = libdeflate_zlib_compress_bound(compressors[0], stripSamples * 2)
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: workers * stripSamples)
        defer { scratch.deallocate() }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: window * capacity)
        defer { out.deallocate() }
        let sizes = UnsafeMutablePointer<Int>.allocate(capacity: window)
        defer { sizes.deallocate() }
        // Each strip writes only its own output slot and size, each worker only its own scratch;
        // the pixels are only read.
        let shared = UncheckedSendable(value: (compressors: compressors, pixels: pixels, scratch: scratch, out: out, sizes: sizes))
        var first = 0
        while first < strips {
            let count = min(window, strips - first)
            let start = first
            let compress: @Sendable (Int, Int) -> Void = { worker, slot in
                let s = shared.value
                let y = (start + slot) * rowsPerStrip
                let rows = min(rowsPerStrip, height - y)
                s.sizes[slot] = tessera_tiff_deflate_strip16(s.compressors[worker], s.pixels + y * rowSamples, rows, rowSamples, 3,
                                                             s.scratch + worker * stripSamples, s.out + slot * capacity, capacity)
            }
            if workers == 1 {
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
                let strip = start + slot
                guard sizes[slot] > 0 else {
                    throw .encodeFailed(format: "tiff", reason: "deflate of strip \(strip) did not fit its \(capacity)-byte bound")
                }
                guard TIFFWriteRawStrip(tif, UInt32(strip), out + slot * capacity, tmsize_t(sizes[slot])) == sizes[slot] else {
                    throw failure("TIFFWriteRawStrip of strip \(strip) (\(sizes[slot]) bytes) failed")
                }
            }
            first += count
        }
    }
}
