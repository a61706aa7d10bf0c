import Foundation
import TesseraCore

/// A frame as burst grouping sees it: its name, capture time and the camera's sequence number.
public struct BurstCandidate: Sendable, Hashable, Codable {
    /// File name or stem (used in manifests and messages, and to break ties in ordering).
    public var name: String
    /// Capture time in seconds on any fixed clock (e.g. EXIF DateTimeOriginal + SubSecTimeOriginal);
    /// nil when the file has none.
    public var captureTime: Double?
    /// The camera's shot sequence number (e.g. the file number or MakerNote counter), if known.
    public var sequence: Int?

    /// Memberwise.
    public init(name: String, captureTime: Double?, sequence: Int? = nil) {
        self.name = name
        self.captureTime = captureTime
        self.sequence = sequence
    }

    /// From a decoded frame: ``RawFrameInfo/timestamp`` (whole seconds, 0 = unknown) plus the
    /// EXIF SubSecTimeOriginal digits (e.g. "347" = 0.347 s), which LibRaw does not report.
    public init(name: String, info: RawFrameInfo, subSecond: String? = nil, sequence: Int? = nil) {
        var time: Double? = info.timestamp > 0 ? Double(info.timestamp) : nil
        if let t = time, let digits = subSecond, !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            time = t + (Double("0." + digits) ?? 0)
        }
        self.init(name: name, captureTime: time, sequence: sequence)
    }
}

/// One burst: indices into the frame list, in capture order, and the reference frame if chosen.
public struct BurstGroup: Sendable, Hashable, Codable {
    /// Indices of the burst's frames in the caller's list, in capture order.
    public var frames: [Int]
    /// Index (into the caller's list) of the reference frame, nil when not fixed yet
    /// (choose one with ``BurstGrouper/chooseReference(sharpness:among:)``).
    public var reference: Int?

    /// Memberwise.
    public init(frames: [Int], reference: Int? = nil) {
        self.frames = frames
        self.reference = reference
    }
}

/// Groups frames into bursts and picks each burst's reference frame. Pure functions; thread-safe.
public enum BurstGrouper {
    /// Bursts from capture times and sequence numbers.
    ///
    /// Frames are ordered by capture time (then sequence number, then name; frames without a time
    /// come last). Two neighbours in that order belong to the same burst when
    /// - both have a capture time and the later one is at most `maxGap` seconds after the earlier,
    ///   or neither has one and both have sequence numbers; and
    /// - when both have sequence numbers, the later one's is the earlier one's plus one;
    /// - and the burst has fewer than `maxBurst` frames.
    ///
    /// Returns the bursts as lists of indices into `frames` (every frame in exactly one list;
    /// single frames are bursts of one), ordered by their first frame.
    public static func group(_ frames: [BurstCandidate], maxGap: Double, maxBurst: Int) -> [[Int]] {
        let order = frames.indices.sorted { a, b in
            let fa = frames[a], fb = frames[b]
            switch (fa.captureTime, fb.captureTime) {
            case (let ta?, let tb?) where ta != tb: return ta < tb
            case (nil, _?): return false
            case (_?, nil): return true
            default: break
            }
            if fa.sequence != fb.sequence { return (fa.sequence ?? .max) < (fb.sequence ?? .max) }
            if fa.name != fb.name { return fa.name < fb.name }
            return a < b
        }
        var bursts: [[Int]] = []
        var current: [Int] = []
        for i in order {
            if let last = current.last, current.count < max(1, maxBurst), joins(frames[last], frames[i], maxGap: maxGap) {
                current.append(i)
            } else {
                if !current.isEmpty { bursts.append(current) }
                current = [i]
            }
        }
        if !current.isEmpty { bursts.append(current) }
        return bursts
    }

    static func joins(_ a: BurstCandidate, _ b: BurstCandidate, maxGap: Double) -> Bool {
        if let sa = a.sequence, let sb = b.sequence, sb != sa + 1 { return false }
        switch (a.captureTime, b.captureTime) {
        case (let ta?, let tb?): return tb - ta >= 0 && tb - ta <= maxGap
        case (nil, nil): return a.sequence != nil && b.sequence != nil
        default: return false
        }
    }

    /// The JSON form of an explicit burst manifest.
    struct Manifest: Decodable {
        struct Entry: Decodable {
            var frames: [String]
            var reference: String?
        }
        var bursts: [Entry]
    }

    /// Bursts given explicitly by a manifest:
    /// `{"bursts": [{"frames": ["IMG_0101.dng", "IMG_0102.dng"], "reference": "IMG_0102.dng"}]}`
    /// (`reference` optional). Frame names are matched exactly against `names` (the job's frame
    /// names); frames the manifest does not mention become bursts of one, after the listed bursts.
    ///
    /// Throws ``BurstError/invalidManifest(source:reason:)`` naming `source` and the offending
    /// burst and frame: malformed JSON, an empty burst, an unknown frame, a frame listed twice,
    /// a reference outside its burst.
    public static func groups(manifest bytes: [UInt8], source: String, names: [String]) throws(BurstError) -> [BurstGroup] {
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes)) } catch {
            throw .invalidManifest(source: source, reason: "not a burst manifest (expected {\"bursts\": [{\"frames\": [...], \"reference\": ...}]}): \(error)")
        }
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
        var used: [Int: Int] = [:]
        var out: [BurstGroup] = []
        for (b, entry) in manifest.bursts.enumerated() {
            guard !entry.frames.isEmpty else { throw .invalidManifest(source: source, reason: "burst \(b + 1) lists no frames") }
            var frames: [Int] = []
            for name in entry.frames {
                guard let i = index[name] else { throw .invalidManifest(source: source, reason: "burst \(b + 1): unknown frame '\(name)'") }
                if let other = used[i] {
                    throw .invalidManifest(source: source, reason: "burst \(b + 1): frame '\(name)' is already in burst \(other + 1)")
                }
                used[i] = b
                frames.append(i)
            }
            var reference: Int? = nil
            if let r = entry.reference {
                guard let i = index[r], frames.contains(i) else {
                    throw .invalidManifest(source: source, reason: "burst \(b + 1): reference '\(r)' is not one of its frames")
                }
                reference = i
            }
            out.append(BurstGroup(frames: frames, reference: reference))
        }
        for i in names.indices where used[i] == nil { out.append(BurstGroup(frames: [i], reference: i)) }
        return out
    }

    /// Sharpness of a frame: the mean squared gradient of its green channel averaged over 4×4
    /// raw blocks (the two greens of four 2×2 cells), which keeps detail at the scale that blur
    /// and shake destroy while averaging noise down. Raw units squared; compare frames of one burst.
    public static func sharpness(_ plane: RawPlane, cfa: CFAPattern) -> Double {
        let w = plane.width / 4, h = plane.height / 4
        guard w >= 2, h >= 2 else { return 0 }
        let greens = (0..<4).filter { cfa.colors[$0] == .green }.map { ($0 & 1, $0 >> 1) }
        var g = [Double](repeating: 0, count: w * h)
        for v in 0..<h {
            for u in 0..<w {
                var s = 0
                for cy in 0..<2 {
                    for cx in 0..<2 {
                        for (gx, gy) in greens { s += Int(plane[4 * u + 2 * cx + gx, 4 * v + 2 * cy + gy]) }
                    }
                }
                g[v * w + u] = Double(s) / 8
            }
        }
        var sum = 0.0
        for v in 0..<(h - 1) {
            for u in 0..<(w - 1) {
                let c = g[v * w + u], dx = g[v * w + u + 1] - c, dy = g[(v + 1) * w + u] - c
                sum += dx * dx + dy * dy
            }
        }
        return sum / Double((w - 1) * (h - 1))
    }

    /// The reference frame of a burst: the sharpest (largest ``sharpness(_:cfa:)``) of its first
    /// `among` frames, the earliest on a tie. Returns a position in `sharpness` (0 for an empty list).
    public static func chooseReference(sharpness: [Double], among: Int = 3) -> Int {
        var best = 0
        for i in 0..<min(max(1, among), sharpness.count) where sharpness[i] > sharpness[best] { best = i }
        return best
    }
}
