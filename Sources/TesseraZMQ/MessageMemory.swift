#if canImport(Glibc)
import Glibc
#endif

/// The process's heap settings for moving large messages.
///
/// libzmq allocates every received frame on its I/O thread (`malloc`) and the receiving thread
/// frees it; a payload copied out of its frame is allocated and freed again per message. With
/// glibc's defaults (trim threshold 128 KiB, adjusted upwards only after a freed *mmapped*
/// chunk), each free that leaves more than the threshold at the top of an arena hands the pages
/// back to the kernel, and the next message's buffer faults them in again: measured with `tessera
/// bench transport` at 64 KiB, ≈ 1.1 page faults per message raw and ≈ 1.8 with the protocol's
/// header frame in between (the small header chunk keeps the arena's top from settling), ≈ 30 %
/// of the transfer's CPU. ``configure()`` sets what glibc's own dynamic scheme converges to for a
/// process that frees 32 MiB buffers — mmap threshold 32 MiB, trim threshold 64 MiB — from the
/// start: freed buffers are reused without faults, and an arena keeps at most 64 MiB of free
/// memory at its top.
public enum MessageMemory {
    /// ``configure()``'s `M_MMAP_THRESHOLD` in bytes: smaller allocations come from the heap.
    public static let mmapThreshold = 32 << 20
    /// ``configure()``'s `M_TRIM_THRESHOLD` in bytes: free memory an arena keeps at its top.
    public static let trimThreshold = 64 << 20

    private static let applied: Bool = {
        #if canImport(Glibc)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        // mallopt is not in Swift's Glibc module; look it up (RTLD_DEFAULT).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let mmap = mallopt(-3 /* M_MMAP_THRESHOLD */, Int32(mmapThreshold))
        let trim = mallopt(-1 /* M_TRIM_THRESHOLD */, Int32(trimThreshold))
        return mmap == 1 && trim == 1
        #else
        return false
        #endif
    }()

    /// Applies the settings to this process's allocator, once (later calls do nothing); returns
    /// whether they are in effect (false where the C library has no `mallopt`). Process-wide:
    /// the worker and the coordinator call it when they start, and `tessera bench transport`
    /// before it measures, for raw libzmq and the protocol alike. Thread-safe.
    @discardableResult
    public static func configure() -> Bool { applied }
}
