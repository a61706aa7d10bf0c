import TesseraCore

/// A serialisable description of one ``RGBStage``, as listed in ``DevelopSettings/stages``:
/// a worker rebuilds the stages of a frame from these. JSON form: `{"kind": "<name>", …}`.
///
/// Only ``identity`` exists so far: the tone, look, sharpen, resize and crop stages add their
/// cases (a `kind` string, their parameters, and their branch in ``makeStage()``) when they are
/// merged. Decoding an unknown kind is an error naming the kind.
public enum StageSpec: Codable, Sendable, Hashable {
    /// A pass-through stage (``IdentityStage``): no effect on the output; used to check and
    /// measure the pipeline's stage plumbing.
    case identity

    /// Builds the stage this spec describes.
    public func makeStage() -> any RGBStage {
        switch self {
        case .identity: IdentityStage()
        }
    }

    /// The `kind` string of this spec in JSON.
    public var kind: String {
        switch self {
        case .identity: "identity"
        }
    }

    private enum CodingKeys: String, CodingKey { case kind }

    /// Reads `{"kind": …}`; throws `DecodingError.dataCorrupted` naming an unknown kind.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "identity": self = .identity
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown develop stage kind \"\(kind)\"")
        }
    }

    /// Writes `{"kind": …}` (plus the kind's parameters, once kinds have any).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
    }
}

/// A pointwise stage that returns its input unchanged (``StageSpec/identity``).
public struct IdentityStage: RGBStage {
    /// Creates the stage.
    public init() {}
    /// "identity".
    public var name: String { "identity" }
    /// The same size.
    public func outputSize(for size: FrameSize) -> FrameSize { size }
    /// The output region itself (pointwise).
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect { output }
    /// `input` (which covers exactly `output`).
    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF { input }
}
