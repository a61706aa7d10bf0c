import TesseraCore

/// Crop: a rectangle of the input frame, or the largest centred rectangle of an aspect ratio.
/// Pure geometry: output pixels are input pixels, copied bit for bit; no halo.
public struct CropStage: RGBStage, Hashable {
    /// How the crop rectangle is chosen.
    public enum Mode: Sendable, Hashable, Codable {
        /// This rectangle, in input-frame coordinates (clamped to the frame; see ``validate(for:)``).
        case rect(PixelRect)
        /// The largest centred rectangle with aspect ratio width:height (e.g. 16:9, 1:1); the
        /// trimmed side is rounded to whole pixels, the offset floor((size − kept)/2).
        case aspect(width: Int, height: Int)
    }

    /// The crop mode.
    public let mode: Mode

    /// Validates the mode: a non-empty rectangle at x, y ≥ 0, or an aspect ratio with both
    /// terms 1…100000.
    public init(_ mode: Mode) throws {
        switch mode {
        case .rect(let r):
            guard !r.isEmpty else {
                throw StageError.invalidParameter(stage: "crop", parameter: "rect", value: "\(r)", reason: "must not be empty")
            }
            guard r.x >= 0, r.y >= 0 else {
                throw StageError.invalidParameter(stage: "crop", parameter: "rect", value: "\(r)", reason: "origin must not be negative")
            }
        case .aspect(let w, let h):
            try StageError.check("crop", "aspect.width", Double(w), in: 1...100_000)
            try StageError.check("crop", "aspect.height", Double(h), in: 1...100_000)
        }
        self.mode = mode
    }

    public var name: String { "crop" }

    /// Checks that a `rect` crop lies inside a frame of `size` (call at planning time; the stage
    /// itself clamps). Throws ``StageError/invalidParameter(stage:parameter:value:reason:)``.
    public func validate(for size: FrameSize) throws {
        if case .rect(let r) = mode, !PixelRect(x: 0, y: 0, width: size.width, height: size.height).contains(r) {
            throw StageError.invalidParameter(stage: "crop", parameter: "rect", value: "\(r)", reason: "lies outside the \(size) frame")
        }
    }

    /// The crop rectangle for an input frame of `size` (always inside the frame; empty only for
    /// an empty frame or a rect wholly outside it).
    public func cropRect(for size: FrameSize) -> PixelRect {
        let frame = PixelRect(x: 0, y: 0, width: size.width, height: size.height)
        if frame.isEmpty { return frame }
        switch mode {
        case .rect(let r):
            return frame.intersection(r)
        case .aspect(let aw, let ah):
            if size.width * ah > size.height * aw {
                let w = max(1, (size.height * aw + ah / 2) / ah)
                return PixelRect(x: (size.width - w) / 2, y: 0, width: w, height: size.height)
            } else {
                let h = max(1, (size.width * ah + aw / 2) / aw)
                return PixelRect(x: 0, y: (size.height - h) / 2, width: size.width, height: h)
            }
        }
    }

    /// The crop rectangle's size.
    public func outputSize(for size: FrameSize) -> FrameSize {
        let r = cropRect(for: size)
        return FrameSize(width: r.width, height: r.height)
    }

    /// `output` moved by the crop origin.
    public func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect {
        let r = cropRect(for: inputSize)
        return PixelRect(x: output.x + r.x, y: output.y + r.y, width: output.width, height: output.height)
    }

    /// Returns `input` (it already holds exactly the output's pixels).
    public func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF {
        precondition(inputRect == inputRegion(for: output, inputSize: inputSize) && input.width == output.width && input.height == output.height,
                     "crop: input \(inputRect) is not the region of \(output)")
        return input
    }
}
