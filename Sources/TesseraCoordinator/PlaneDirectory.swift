import Foundation
import Synchronization
import TesseraCore
import TesseraImaging
import TesseraStore

/// The coordinator's view of its workers' input caches (the worker side is `PlaneCache`):
/// which decoded planes each worker session holds, in memory only. A session's entry mirrors
/// the worker's LRU conservatively — same capacity (advertised in HELLO as `cache-bytes=N`),
/// same rule (least recently used out), a plane counted from the moment its decode result
/// arrives, and marked used when a task referencing it is sent. It starts empty for every new
/// session and is forgotten when the session ends or the coordinator restarts: inputs are then
/// sent inline, as without a cache. Where the mirror is wrong anyway (the worker evicted
/// earlier), the worker answers with a cache miss and the task is resent inline.
///
/// Also maps each frame's (or burst member's) decoded plane to its content name, so a task can
/// be matched with the sessions that hold its inputs.
///
/// Thread-safe (one lock): the socket thread registers sessions and records misses; the work
/// queue records planes and looks them up while preparing tasks.
final class PlaneDirectory: Sendable {
    /// A plane of a frame: the frame's decoded plane (`member` nil) or a burst member's.
    struct PlaneKey: Hashable, Sendable {
        var frame: FrameID
        var member: Int?
    }

    private struct Content: Hashable {
        var length: Int
        var checksum: UInt64
    }

    private struct Holder {
        var capacity: Int
        var bytes = 0
        var clock: UInt64 = 0
        var planes: [Content: UInt64] = [:]  // content → last use
    }

    private struct State {
        var sessions: [UInt64: Holder] = [:]
        var contents: [PlaneKey: TaskContract.PlaneReference] = [:]
    }

    private let state = Mutex(State())

    /// The cache capacity a worker advertised in its HELLO capabilities (`cache-bytes=N`), or 0.
    static func advertisedCapacity(_ capabilities: [String]) -> Int {
        for tag in capabilities where tag.hasPrefix("cache-bytes=") {
            if let n = Int(tag.dropFirst("cache-bytes=".count)), n > 0 { return n }
        }
        return 0
    }

    /// A new worker session with a cache of `capacity` bytes (0: no cache; the session is not tracked).
    func join(session: UInt64, capacity: Int) {
        guard capacity > 0 else { return }
        state.withLock { $0.sessions[session] = Holder(capacity: capacity) }
    }

    /// The session ended: what its worker held is forgotten.
    func leave(session: UInt64) { _ = state.withLock { $0.sessions.removeValue(forKey: session) } }

    /// Sessions tracked now (for tests and metrics).
    var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// Records that `plane` is the content of `key` (a decode result was accepted).
    func recordContent(_ plane: TaskContract.PlaneReference, of key: PlaneKey) {
        state.withLock { s in
            // Bounded: frames are forgotten when finished; this only guards against leaks.
            if s.contents.count > 65_536 { s.contents.removeAll() }
            s.contents[key] = plane
        }
    }

    /// The frame is finished (or its planes were removed from the spool): forget its planes.
    func forget(frame: FrameID) {
        state.withLock { s in s.contents = s.contents.filter { $0.key.frame != frame } }
    }

    /// Session `session`'s worker now holds the plane of `length` bytes and payload checksum `checksum` (it
    /// returned it as a decode result): counted in, evicting the least recently used planes of
    /// the mirror until it fits — as the worker does.
    func workerHolds(session: UInt64, length: Int, checksum: UInt64) {
        state.withLock { s in
            guard var holder = s.sessions[session], length <= holder.capacity else { return }
            holder.clock += 1
            let content = Content(length: length, checksum: checksum)
            if holder.planes[content] == nil {
                while holder.bytes + length > holder.capacity,
                      let oldest = holder.planes.min(by: { $0.value < $1.value })?.key {
                    holder.planes.removeValue(forKey: oldest)
                    holder.bytes -= oldest.length
                }
                holder.bytes += length
            }
            holder.planes[content] = holder.clock
            s.sessions[session] = holder
        }
    }

    /// For each of `keys`: the plane's reference when session `session` holds it (marked used,
    /// in order, as the worker will when it cuts the window), else nil.
    func lookUp(_ keys: [PlaneKey], session: UInt64) -> [TaskContract.PlaneReference?] {
        state.withLock { s in
            guard var holder = s.sessions[session] else { return keys.map { _ in nil } }
            let found: [TaskContract.PlaneReference?] = keys.map { key in
                guard let plane = s.contents[key] else { return nil }
                let content = Content(length: plane.length, checksum: plane.checksum)
                guard holder.planes[content] != nil else { return nil }
                holder.clock += 1
                holder.planes[content] = holder.clock
                return plane
            }
            s.sessions[session] = holder
            return found
        }
    }

    /// The claim affinity of every tracked session (``ClaimAffinity``), by worker: the frames
    /// each session's worker holds planes of, and how many planes of each. One pass over the
    /// recorded contents and one over each session's planes (not contents × sessions): it runs
    /// every claim round.
    func affinity(workers: [(session: UInt64, worker: WorkerID)]) -> ClaimAffinity {
        guard sessionCount > 0 else { return .none }  // no worker has a cache
        let planes: [WorkerID: [FrameID: Int]] = state.withLock { s in
            var framesOf: [Content: [FrameID]] = [:]
            for (key, plane) in s.contents { framesOf[Content(length: plane.length, checksum: plane.checksum), default: []].append(key.frame) }
            guard !framesOf.isEmpty else { return [:] }
            var planes: [WorkerID: [FrameID: Int]] = [:]
            for (session, worker) in workers {
                guard let holder = s.sessions[session], !holder.planes.isEmpty else { continue }
                var frames: [FrameID: Int] = [:]
                for content in holder.planes.keys {
                    for frame in framesOf[content] ?? [] { frames[frame, default: 0] += 1 }
                }
                if !frames.isEmpty { planes[worker] = frames }
            }
            return planes
        }
        return planes.isEmpty ? .none : ClaimAffinity(planes: planes)
    }

    /// The worker of `session` answered a cache miss for `planes`: it no longer holds them.
    func workerLacks(session: UInt64, planes: [TaskContract.PlaneReference]) {
        state.withLock { s in
            guard var holder = s.sessions[session] else { return }
            for plane in planes {
                let content = Content(length: plane.length, checksum: plane.checksum)
                if holder.planes.removeValue(forKey: content) != nil { holder.bytes -= plane.length }
            }
            s.sessions[session] = holder
        }
    }
}
