import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// The colour metadata ``RawDecoder`` adds to ``RawFrameInfo`` (DNG tags through LibRaw).
@Suite struct ColorDecodeTests {
    static let cm = Matrix3([1.1, 0.2, -0.3, -0.4, 1.5, 0.25, -0.1, 0.2, 0.7])

    static func image() -> DNGImage {
        let w = 32, h = 32  // LibRaw refuses images under 22 pixels a side
        let plane = RawPlane(width: w, height: h, pixels: [UInt16](repeating: 1000, count: w * h))
        let meta = DNGMetadata(make: "Tessera", model: "ColorCam", cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 4095,
                               colorMatrix1: cm, calibrationIlluminant1: 21, asShotNeutral: [0.5, 1, 0.8])
        return DNGImage(plane: plane, metadata: meta)
    }

    @Test func singleMatrixDNGReportsOnlyWhatItHas() throws {
        let bytes = try DNGWriter.encode(Self.image())
        let info = try bytes.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "single.dng") }.info
        #expect(info.colorMatrix1 == Self.cm, "\(String(describing: info.colorMatrix1))")
        #expect(info.calibrationIlluminant1 == 21)
        #expect(info.colorMatrix2 == nil && info.calibrationIlluminant2 == nil)
        #expect(info.forwardMatrix1 == nil && info.forwardMatrix2 == nil)
        #expect(info.cameraCalibration1 == nil && info.cameraCalibration2 == nil)
        #expect(info.analogBalance == nil && info.baselineExposure == nil)
        #expect(info.asShotNeutral == [0.5, 1, 0.8])
        #expect(info.cameraMultipliers == [2, 1, 1.25])
        #expect(info.daylightMultipliers != nil)
        // Existing fields keep their meaning.
        #expect(info.asShotMultipliers == [2, 1, 1.25])
    }

    @Test func secondIlluminantAndBaselineExposureAreRead() throws {
        var d = try DNGWriter.directory(for: Self.image())
        let cm2 = [0.9, 0.1, -0.2, -0.3, 1.4, 0.2, -0.05, 0.15, 0.8]
        d.set(TIFFTag.calibrationIlluminant1, .shorts([17]))
        d.set(50722, .srationals(cm2.map { TIFFSRational($0, denominator: 10_000) }))  // ColorMatrix2
        d.set(50779, .shorts([21]))  // CalibrationIlluminant2
        d.set(50730, .srationals([TIFFSRational(-0.35, denominator: 100)]))  // BaselineExposure
        let bytes = try TIFFContainer.encode([d])
        let info = try bytes.withUnsafeBytes { try RawDecoder.decode(bytes: $0, name: "two.dng") }.info
        #expect(info.colorMatrix1 == Self.cm && info.colorMatrix2 == Matrix3(cm2))
        #expect(info.calibrationIlluminant1 == 17 && info.calibrationIlluminant2 == 21)
        #expect(info.baselineExposure == -0.35)
        // RawFrameInfo with the new fields survives its JSON task contract.
        let json = try JSONEncoder().encode(info)
        #expect(try JSONDecoder().decode(RawFrameInfo.self, from: json) == info)
    }
}
