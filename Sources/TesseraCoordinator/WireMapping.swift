import TesseraCore
import TesseraImaging
import TesseraStore
import TesseraWire

// The one boundary where store and imaging values become wire values and back.

extension OutputFormat {
    /// The imaging format a SUBMIT's format code names.
    public init(_ wire: WireOutputFormat) {
        switch wire {
        case .jpeg: self = .jpeg
        case .tiff: self = .tiff
        case .png: self = .png
        }
    }

    /// This format's SUBMIT code.
    public var wire: WireOutputFormat {
        switch self {
        case .jpeg: .jpeg
        case .tiff: .tiff
        case .png: .png
        }
    }
}

extension WireJobState {
    /// The wire code of a stored job state.
    public init(_ state: JobState) {
        switch state {
        case .queued: self = .queued
        case .running: self = .running
        case .succeeded: self = .succeeded
        case .completedWithFailures: self = .completedWithFailures
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        }
    }
}

extension JobStatus {
    /// A job's STATUS_REPLY entry, from its stored summary. Reasons and paths are clamped to the
    /// wire's string limit; the failures list to the wire's list limit.
    public init(summary s: JobSummary, limits: WireLimits = .default) {
        let counts = TaskCounts(
            queued: UInt64(s.taskCounts[.queued, default: 0]), running: UInt64(s.taskCounts[.running, default: 0]),
            succeeded: UInt64(s.taskCounts[.succeeded, default: 0]), failed: UInt64(s.taskCounts[.failed, default: 0]),
            cancelled: UInt64(s.taskCounts[.cancelled, default: 0]))
        self.init(
            jobID: s.id, name: WireText.clamped(s.name), state: WireJobState(s.state),
            framesTotal: UInt32(clamping: s.framesTotal), framesDone: UInt32(clamping: s.framesDone),
            framesFailed: UInt32(clamping: s.framesFailed), tasks: counts, outputDir: WireText.clamped(s.outputDir),
            failures: s.failures.prefix(limits.maxJobFailures).map {
                WireFrameFailure(framePath: WireText.clamped($0.path), reason: WireText.clamped($0.reason), attempts: UInt32(clamping: $0.attempts))
            })
    }
}
