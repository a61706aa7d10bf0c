import TesseraCore

/// A frame's size in pixels.
public struct FrameSize: Hashable, Sendable, Codable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }
}

/// A develop step after demosaicing, on interleaved float RGB (``RGBImageF``), in frame coordinates.
///
/// The pipeline plans regions backwards from the output core (libvips/darktable style): each
/// stage says which part of its input it needs; pixels past the frame's edges are real pixels
/// computed by the earlier stages (only the CFA window is ever reflected), so a tile computes
/// exactly what a whole-frame run computes for the same pixels.
public protocol RGBStage: Sendable {
    /// Short name for logs and benchmarks ("sharpen", "resize", …).
    var name: String { get }
    /// The frame size this stage outputs for an input frame of `size` (resize and crop change it).
    func outputSize(for size: FrameSize) -> FrameSize
    /// The region of this stage's input (input-frame coordinates) needed to compute `output`
    /// (output-frame coordinates). May reach past the frame's edges.
    func inputRegion(for output: PixelRect, inputSize: FrameSize) -> PixelRect
    /// Computes `output` from `input`, which covers exactly `inputRect` (= `inputRegion(for: output)`).
    func apply(_ input: RGBImageF, inputRect: PixelRect, output: PixelRect, inputSize: FrameSize) -> RGBImageF
}
