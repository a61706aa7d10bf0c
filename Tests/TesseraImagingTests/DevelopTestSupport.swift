import Foundation
import TesseraCore
import TesseraImaging

/// Shared helpers for the decode/develop/codec/recipe tests.
enum DevelopFixtures {
    /// Mosaics a white-balanced camera-space linear image (values ~0…1) into raw samples using
    /// the settings' CFA, black, white and white balance: raw = black + (white − black) · v / wb.
    static func mosaic(_ truth: RGBImageF, settings s: DevelopSettings) -> RawPlane {
        var plane = RawPlane(width: truth.width, height: truth.height)
        for y in 0..<truth.height {
            for x in 0..<truth.width {
                let cell = CFAPattern.cell(x: x, y: y)
                let c = Int(s.cfa.color(x: x, y: y).rawValue)
                let v = Double(truth.pixels[(y * truth.width + x) * 3 + c]) / s.wbMultipliers[c]
                let raw = s.blackLevels[cell] + (s.whiteLevel - s.blackLevels[cell]) * v
                plane[x, y] = UInt16(max(0, min(65535, raw.rounded())))
            }
        }
        return plane
    }

    /// An image whose every pixel is `rgb`.
    static func flat(width: Int, height: Int, _ rgb: (Float, Float, Float)) -> RGBImageF {
        var img = RGBImageF(width: width, height: height)
        for i in 0..<(width * height) {
            img.pixels[i * 3] = rgb.0
            img.pixels[i * 3 + 1] = rgb.1
            img.pixels[i * 3 + 2] = rgb.2
        }
        return img
    }

    /// Settings with exactly representable normalisation (black 0, white 4096, unit WB,
    /// identity matrix, linear output) — MHC arithmetic is then exact.
    static func exactSettings(_ cfa: CFAPattern, transfer: DevelopSettings.Transfer = .linear) -> DevelopSettings {
        DevelopSettings(cfa: cfa, blackLevels: [0, 0, 0, 0], whiteLevel: 4096, wbMultipliers: [1, 1, 1],
                        cameraToOutput: Matrix3.identity.m, exposureGain: 1, transfer: transfer)
    }

    /// A realistic camera: 14-bit, per-cell black, daylight-ish WB, a camera→sRGB matrix with
    /// rows summing to 1 (as LibRaw's rgb_cam).
    static func cameraSettings(_ cfa: CFAPattern, transfer: DevelopSettings.Transfer = .srgb) -> DevelopSettings {
        DevelopSettings(cfa: cfa, blackLevels: [512, 514, 511, 513], whiteLevel: 16383, wbMultipliers: [2.05, 1, 1.42],
                        cameraToOutput: [1.72, -0.58, -0.14, -0.21, 1.49, -0.28, 0.04, -0.47, 1.43], exposureGain: 1, transfer: transfer)
    }

    /// A fresh directory under the system temp dir (unique per call).
    static func tempDir(_ tag: String) -> String {
        var template = Array("\(NSTemporaryDirectory())/tessera-\(tag)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// A test plane with values that vary with position (well inside 14 bits).
    static func rampPlane(width: Int, height: Int) -> RawPlane {
        var plane = RawPlane(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width { plane[x, y] = UInt16(600 + (x * 7 + y * 131) % 15_000) }
        }
        return plane
    }

    /// A DNG from the synthesiser's writer: `plane` is the full sensor, `margin` masked pixels on every side.
    static func dng(plane: RawPlane, cfa: CFAPattern, margin: Int, blackLevels: [Double] = [512, 514, 511, 513],
                    neutral: [Double] = [0.5, 1, 0.7]) throws -> (bytes: [UInt8], metadata: DNGMetadata) {
        let area = margin > 0 ? PixelRect(x: margin, y: margin, width: plane.width - 2 * margin, height: plane.height - 2 * margin) : nil
        let metadata = DNGMetadata(
            make: "Tessera", model: "DevelopCam", cfa: cfa, activeArea: area, blackLevels: blackLevels, whiteLevel: 16383,
            colorMatrix1: Matrix3([0.6722, -0.0635, -0.0963, -0.4287, 1.2460, 0.2028, -0.0908, 0.2162, 0.5668]),
            asShotNeutral: neutral, iso: 400, exposureTime: 1.0 / 250, fNumber: 4, focalLength: 50,
            dateTimeOriginal: "2024:05:18 10:00:02", subSecTimeOriginal: "300")
        return (try DNGWriter.encode(DNGImage(plane: plane, metadata: metadata)), metadata)
    }
}

extension DevelopFixtures {
    /// Rewrites the value of a SHORT/LONG tag of IFD0 in a little-endian TIFF (tests only).
    static func patchTag(_ bytes: [UInt8], tag: UInt16, value: UInt32) throws -> [UInt8] {
        struct Missing: Error {}
        var b = bytes
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        let ifd = u32(4)
        for i in 0..<u16(ifd) {
            let e = ifd + 2 + i * 12
            guard u16(e) == Int(tag) else { continue }
            if u16(e + 2) == 3 {
                b[e + 8] = UInt8(value & 0xFF)
                b[e + 9] = UInt8(value >> 8 & 0xFF)
            } else {
                for k in 0..<4 { b[e + 8 + k] = UInt8(value >> (8 * UInt32(k)) & 0xFF) }
            }
            return b
        }
        throw Missing()
    }

    static func patchedSize(_ bytes: [UInt8], width: UInt32, height: UInt32) throws -> [UInt8] {
        try patchTag(patchTag(bytes, tag: 256, value: width), tag: 257, value: height)
    }

    static func patchedPhotometric(_ bytes: [UInt8], to value: UInt32) throws -> [UInt8] {
        try patchTag(bytes, tag: 262, value: value)
    }
}
