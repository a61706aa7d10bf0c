/// The life of a task. Kept here (not in the store) so the coordinator, the store and the CLI agree.
///
/// ```
/// queued ──claim──▶ running ──result──▶ succeeded
///   ▲                 │ ├──failure (attempts left)──▶ queued
///   └──worker lost────┘ └──failure (no attempts left)──▶ failed
/// queued/running ──cancel──▶ cancelled
/// ```
public enum TaskState: String, Sendable, Codable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// Whether the task will never run again.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: true
        case .queued, .running: false
        }
    }

    /// Whether moving from `self` to `next` is a legal transition of the state machine above.
    public func canTransition(to next: TaskState) -> Bool {
        switch (self, next) {
        case (.queued, .running), (.queued, .cancelled): true
        case (.running, .succeeded), (.running, .failed), (.running, .queued), (.running, .cancelled): true
        case (.failed, .queued): true  // an operator's retry
        default: false
        }
    }
}

/// What a task does on a worker.
public enum TaskKind: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Decode one RAW file into its CFA plane and metadata.
    case decode = 1
    /// Develop one tile of a decoded frame into output-referred RGB.
    case developTile = 2
    /// Align and merge one output core of a burst: the reference frame's window plus every
    /// alternate frame's window in, the merged raw CFA core out.
    case mergeTile = 3

    public var description: String {
        switch self {
        case .decode: "decode"
        case .developTile: "develop-tile"
        case .mergeTile: "merge-tile"
        }
    }
}
