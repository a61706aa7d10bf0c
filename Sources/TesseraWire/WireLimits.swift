/// Every limit the decoder enforces. A receiver rejects a message exceeding any of them before
/// allocating anything of the claimed size, so a hostile or buggy peer cannot make the
/// coordinator allocate more than `maxHeaderLength` plus the decoded values' own size.
///
/// Values are byte counts (UTF-8 bytes for strings) or item counts. `.default` is the protocol's
/// contract documented in protos/PROTOCOL.md §5; both ends of a deployment must agree on any
/// change (a sender's `WireCodec.validate` uses the same struct). Immutable value; `Sendable`.
public struct WireLimits: Sendable, Equatable {
    /// Largest accepted header frame, in bytes (checked first, before any parsing).
    public var maxHeaderLength: Int
    /// Default maximum for `str` fields, in UTF-8 bytes (names, paths, reasons, messages).
    public var maxStringLength: Int
    /// Maximum UTF-8 length of one HELLO capability string.
    public var maxCapabilityLength: Int
    /// Maximum number of HELLO capabilities.
    public var maxCapabilities: Int
    /// Maximum UTF-8 length of SUBMIT.recipe (a `longstr`). 16 MiB by default: a recipe carries
    /// its `.cube` LUT's text (a 65³ LUT is about 7.5 MB).
    public var maxRecipeLength: Int
    /// Maximum length of TASK.parameters, in bytes. 16 MiB by default: develop parameters carry
    /// the recipe's `.cube` LUT text.
    public var maxParametersLength: Int
    /// Maximum length of RESULT.metadata, in bytes.
    public var maxMetadataLength: Int
    /// Maximum number of payload descriptors (and so payload frames) in TASK and RESULT.
    public var maxPayloads: Int
    /// Maximum declared length of one payload frame, in bytes.
    public var maxPayloadLength: UInt64
    /// Maximum number of task ids in one CANCEL.
    public var maxCancelTaskIDs: Int
    /// Maximum number of jobs in one STATUS_REPLY.
    public var maxStatusJobs: Int
    /// Maximum number of frame failures listed for one job in STATUS_REPLY.
    public var maxJobFailures: Int
    /// Maximum number of workers in one WORKERS_REPLY.
    public var maxWorkerRows: Int = 10_000
    /// Maximum number of events in one EVENTS_REPLY.
    public var maxEvents: Int = 10_000
    /// Maximum number of state counts in one list of JOB_REPLY.
    public var maxStateCounts: Int = 256

    /// Creates limits; every argument defaults to the protocol's contract value.
    public init(
        maxHeaderLength: Int = 64 << 20,
        maxStringLength: Int = 4096,
        maxCapabilityLength: Int = 64,
        maxCapabilities: Int = 64,
        maxRecipeLength: Int = 16 << 20,
        maxParametersLength: Int = 16 << 20,
        maxMetadataLength: Int = 1 << 20,
        maxPayloads: Int = 16,
        maxPayloadLength: UInt64 = 1 << 30,
        maxCancelTaskIDs: Int = 65_536,
        maxStatusJobs: Int = 10_000,
        maxJobFailures: Int = 100_000
    ) {
        self.maxHeaderLength = maxHeaderLength
        self.maxStringLength = maxStringLength
        self.maxCapabilityLength = maxCapabilityLength
        self.maxCapabilities = maxCapabilities
        self.maxRecipeLength = maxRecipeLength
        self.maxParametersLength = maxParametersLength
        self.maxMetadataLength = maxMetadataLength
        self.maxPayloads = maxPayloads
        self.maxPayloadLength = maxPayloadLength
        self.maxCancelTaskIDs = maxCancelTaskIDs
        self.maxStatusJobs = maxStatusJobs
        self.maxJobFailures = maxJobFailures
    }

    /// The protocol's limits (protos/PROTOCOL.md §5).
    public static let `default` = WireLimits()
}
