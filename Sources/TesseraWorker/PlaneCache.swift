import Foundation
import Synchronization
import TesseraCore
import TesseraImaging

/// The worker's content-addressed input cache: decoded CFA planes this worker produced, kept in
/// memory under their content (``TaskContract/PlaneReference``: byte length + XXH3-64 payload checksum), least
/// recently used first out, bounded in bytes. A tile or merge task whose parameters name
/// ``TaskContract/CachedWindow``s is completed here by cutting those windows from the held
/// planes with ``Developer/window(_:of:width:height:)`` — the function the coordinator cuts
/// inline windows with, so inputs are byte-identical either way.
///
/// The coordinator mirrors this cache per worker session (capacity advertised in HELLO as the
/// capability `cache-bytes=N`, same LRU rule) and only references planes it believes are here;
/// when one is not (evicted, or the worker restarted), ``resolve(parameters:payloads:)`` throws
/// ``Miss`` and the worker answers FAILURE `inputNotCached` (retryable): the coordinator resends
/// the task inline at once, without counting an attempt.
///
/// Thread-safe: inserts come from the socket thread, lookups from execution threads.
public final class PlaneCache: Sendable {
    /// The capability tag prefix a worker with a cache puts in HELLO: `cache-bytes=<capacity>`.
    public static let capabilityPrefix = "cache-bytes="

    /// A referenced plane this cache does not hold (or holds with another size).
    public struct Miss: Error, Sendable, CustomStringConvertible {
        /// The plane the task referenced.
        public var plane: TaskContract.PlaneReference
        /// The payload slot it was to fill.
        public var slot: Int
        public var description: String { "cache miss: input \(slot) references a \(plane) this worker no longer holds" }
    }

    private struct Entry {
        var samples: [UInt16]
        var width: Int
        var height: Int
        var lastUse: UInt64
        var uses = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    private struct Key: Hashable {
        var length: Int
        var checksum: UInt64
    }

    /// The bound on the planes held, in bytes (0: the cache is disabled and holds nothing).
    public let capacityBytes: Int
    private let state = Mutex(State())

    /// Test hook: a plane is forgotten once it served this many windows (the coordinator's
    /// directory then names planes the worker no longer holds: cache misses on purpose).
    public let forgetAfterUses: Int?

    /// A cache holding at most `capacityBytes` of planes (0 disables it). `forgetAfterUses` is a
    /// test hook (see ``forgetAfterUses``).
    public init(capacityBytes: Int, forgetAfterUses: Int? = nil) {
        self.capacityBytes = max(0, capacityBytes)
        self.forgetAfterUses = forgetAfterUses.map { max(1, $0) }
    }

    /// The HELLO capability advertising this cache, or nil when it is disabled.
    public var capability: String? { capacityBytes > 0 ? "\(Self.capabilityPrefix)\(capacityBytes)" : nil }

    /// Planes held now, bytes held now, and windows served and missed so far.
    public var statistics: (planes: Int, bytes: Int, hits: Int, misses: Int) {
        state.withLock { ($0.entries.count, $0.bytes, $0.hits, $0.misses) }
    }

    /// Whether the plane named `length`/`checksum` is held now (does not count as a use).
    public func contains(length: Int, checksum: UInt64) -> Bool {
        state.withLock { $0.entries[Key(length: length, checksum: checksum)] != nil }
    }

    /// Keeps a decoded plane of `width × height` samples whose payload bytes have `length` bytes
    /// and payload checksum `checksum` (XXH3-64), evicting the least recently used planes until it fits. A plane larger
    /// than the whole capacity is not kept. Inserting a plane already held only marks it used.
    public func insert(_ samples: [UInt16], width: Int, height: Int, length: Int, checksum: UInt64) {
        guard capacityBytes > 0, length == samples.count * 2, samples.count == width * height, length <= capacityBytes else { return }
        state.withLock { s in
            s.clock += 1
            let key = Key(length: length, checksum: checksum)
            if s.entries[key] != nil {
                s.entries[key]?.lastUse = s.clock
                return
            }
            while s.bytes + length > capacityBytes, let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                s.bytes -= s.entries.removeValue(forKey: oldest).map { $0.samples.count * 2 } ?? 0
            }
            s.entries[key] = Entry(samples: samples, width: width, height: height, lastUse: s.clock)
            s.bytes += length
        }
    }

    /// Forgets every plane (a new session with the coordinator: its directory of this worker
    /// starts empty, and a plane it does not know of would only crowd out ones it does).
    public func removeAll() {
        state.withLock { s in
            s.entries.removeAll()
            s.bytes = 0
        }
    }

    /// The task's full payload list: `payloads` (the frames that travelled) with the windows its
    /// parameters name as ``TaskContract/CachedWindow``s cut from held planes and put in their
    /// slots. Parameters without cached inputs return `payloads` unchanged. Each referenced
    /// plane counts as used (LRU), in slot order.
    ///
    /// Throws ``Miss`` when a referenced plane is not held, and
    /// ``TaskContractError/malformed(document:underlying:)`` when the references do not fit the
    /// payloads (a slot out of range or repeated).
    public func resolve(parameters: [UInt8], payloads: [[UInt8]]) throws -> [[UInt8]] {
        // Only documents that mention the field are decoded twice; the others are left alone.
        guard parameters.count > 14, Self.mentionsCachedInputs(parameters) else { return payloads }
        let references = try TaskContract.decode(TaskContract.CachedInputs.self, from: parameters).cachedInputs ?? []
        guard !references.isEmpty else { return payloads }
        let total = payloads.count + references.count
        var slots = [[UInt8]?](repeating: nil, count: total)
        for reference in references.sorted(by: { $0.slot < $1.slot }) {
            guard slots.indices.contains(reference.slot), slots[reference.slot] == nil else {
                throw TaskContractError.malformed(document: "CachedInputs",
                                                  underlying: "slot \(reference.slot) is out of range or repeated for \(total) inputs")
            }
            let plane = reference.plane
            let held: Entry? = state.withLock { s in
                let key = Key(length: plane.length, checksum: plane.checksum)
                guard let entry = s.entries[key], entry.width == plane.width, entry.height == plane.height else {
                    s.misses += 1
                    return nil
                }
                s.clock += 1
                s.entries[key]?.lastUse = s.clock
                s.entries[key]?.uses += 1
                s.hits += 1
                if let limit = forgetAfterUses, entry.uses + 1 >= limit {
                    s.entries.removeValue(forKey: key)
                    s.bytes -= entry.samples.count * 2
                }
                return entry  // its samples are shared (copy-on-write), not copied
            }
            guard let held else { throw Miss(plane: plane, slot: reference.slot) }
            // Cut outside the lock: the socket thread inserts planes while windows are cut.
            let window = held.samples.withUnsafeBufferPointer {
                Developer.window(reference.rect, of: $0, width: held.width, height: held.height)
            }
            slots[reference.slot] = SampleBytes.bytes(of: window.pixels)
        }
        var sent = payloads.makeIterator()
        return try slots.enumerated().map { index, slot in
            if let slot { return slot }
            guard let next = sent.next() else {
                throw TaskContractError.malformed(document: "CachedInputs", underlying: "no payload frame left for input \(index)")
            }
            return next
        }
    }

    private static let marker = Array("\"cachedInputs\"".utf8)

    /// Whether the JSON document contains the key `"cachedInputs"` (a cheap scan that spares
    /// decoding the whole parameters document twice for tasks sent inline).
    static func mentionsCachedInputs(_ document: [UInt8]) -> Bool {
        let m = marker
        guard document.count >= m.count else { return false }
        return document.withUnsafeBufferPointer { d in
            var i = 0
            while i + m.count <= d.count {
                if d[i] == m[0] {
                    var j = 1
                    while j < m.count, d[i + j] == m[j] { j += 1 }
                    if j == m.count { return true }
                }
                i += 1
            }
            return false
        }
    }
}
