import Foundation
import TesseraImaging
import TesseraStore

/// Groups a capture set's frames into bursts at submission: frames whose capture times are at
/// most `maxGap` seconds apart form a burst (LibRaw reads each file's header; a file it cannot
/// read stays a single frame and fails its decode with the reason). A burst becomes ONE frame of
/// the job, named after its first frame with the suffix `-merged`, with one decode task per
/// member; the merge is then planned and split into tiles (`FramePipeline+Burst.swift`).
enum BurstPlanner {
    static func group(_ frames: [NewFrame], maxGap: Double, maxBurst: Int) -> [NewFrame] {
        let candidates = frames.map { frame -> BurstCandidate in
            let info = try? RawDecoder().readInfo(path: frame.path)
            return BurstCandidate(name: frame.path, captureTime: info.flatMap { $0.timestamp > 0 ? Double($0.timestamp) : nil })
        }
        return BurstGrouper.group(candidates, maxGap: maxGap, maxBurst: maxBurst).map { indices in
            let members = indices.map { frames[$0] }
            guard members.count > 1 else { return members[0] }
            return NewFrame(path: members[0].path, stem: members[0].stem + "-merged",
                            byteCount: members.reduce(0) { $0 + $1.byteCount }, members: members.dropFirst().map(\.path))
        }
    }
}
