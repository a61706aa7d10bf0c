/// Errors of the post-demosaic develop stages (tone, looks, LUTs, sharpening, resize, crop).
///
/// Every case names what is wrong (the stage and parameter, or the `.cube` source and line) so the
/// message can be shown to an operator as is. Pattern-match on the case; `description` is the
/// human message.
public enum StageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stage parameter is out of range or not finite. `stage` is the stage name ("filmic"),
    /// `parameter` the initialiser argument ("whiteEV"), `value` its printed value.
    case invalidParameter(stage: String, parameter: String, value: String, reason: String)
    /// A `.cube` LUT is malformed. `line` is the 1-based line number (0 when the problem is the
    /// file as a whole, e.g. missing `LUT_3D_SIZE`).
    case invalidCube(source: String, line: Int, reason: String)
    /// A `.cube` file could not be read from disk.
    case unreadableCube(path: String, reason: String)

    /// The human-readable message.
    public var description: String {
        switch self {
        case .invalidParameter(let stage, let parameter, let value, let reason):
            "\(stage) stage: parameter '\(parameter)' = \(value): \(reason)"
        case .invalidCube(let source, let line, let reason):
            line > 0 ? "\(source):\(line): invalid .cube LUT: \(reason)" : "\(source): invalid .cube LUT: \(reason)"
        case .unreadableCube(let path, let reason): "\(path): cannot read .cube LUT: \(reason)"
        }
    }

    /// Throws `invalidParameter` unless `value` is finite and inside `range`.
    static func check(_ stage: String, _ parameter: String, _ value: Double, in range: ClosedRange<Double>) throws {
        guard value.isFinite else {
            throw StageError.invalidParameter(stage: stage, parameter: parameter, value: "\(value)", reason: "must be a finite number")
        }
        guard range.contains(value) else {
            throw StageError.invalidParameter(stage: stage, parameter: parameter, value: "\(value)",
                                              reason: "must be in \(range.lowerBound)…\(range.upperBound)")
        }
    }
}
