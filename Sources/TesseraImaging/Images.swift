/// Image containers shared by the decoder, the develop stages, the codecs and the synthesiser.
/// Plain value types over contiguous arrays; kernels work on them through unsafe buffer pointers.

/// A single-channel 16-bit plane: the CFA mosaic of a RAW frame (or a window of it).
public struct RawPlane: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// Row-major samples, `width * height` of them.
    public var pixels: [UInt16]

    public init(width: Int, height: Int, pixels: [UInt16]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height, "RawPlane size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt16](repeating: 0, count: width * height))
    }

    @inlinable public subscript(x: Int, y: Int) -> UInt16 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// An interleaved RGB image with 16 bits per channel (output-referred or linear, as documented
/// by whoever produces it). Samples are `pixels[(y * width + x) * 3 + c]`.
public struct RGBImage16: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt16]

    public init(width: Int, height: Int, pixels: [UInt16]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage16 size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt16](repeating: 0, count: width * height * 3))
    }
}

/// An interleaved RGB image of 32-bit floats, linear light unless stated otherwise.
public struct RGBImageF: Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImageF size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [Float](repeating: 0, count: width * height * 3))
    }
}
