import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite(".cube LUTs")
struct LUTTests {
    /// A 2³ LUT whose corner (r, g, b) ∈ {0,1}³ holds (r + 2g + 4b, 10·r·g·b, 7 − r − g) / 10.
    static func corners() -> String {
        var lines = ["# a hand-made LUT", "TITLE \"corners\"", "", "LUT_3D_SIZE 2", "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
        for b in 0...1 {
            for g in 0...1 {
                for r in 0...1 {
                    lines.append("\(Double(r + 2 * g + 4 * b) / 10) \(Double(10 * r * g * b) / 10) \(Double(7 - r - g) / 10)")
                }
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func corner(_ r: Double, _ g: Double, _ b: Double) -> (Double, Double, Double) {
        ((r + 2 * g + 4 * b) / 10, r * g * b, (7 - r - g) / 10)
    }

    @Test func identityLUTIsIdentity() throws {
        let rect = PixelRect(x: 0, y: 0, width: 64, height: 16)
        let img = StageFixtures.random(rect, seed: 3)
        let size = FrameSize(width: 64, height: 16)
        for encoding in [LUTStage.Encoding.linear, .srgb] {
            for n in [2, 17, 33] {
                let stage = LUTStage(lut: try CubeLUT.identity(size: n), encoding: encoding)
                let out = stage.apply(img, inputRect: rect, output: rect, inputSize: size)
                let worst = zip(out.pixels, img.pixels).map { abs($0 - $1) }.max()!
                #expect(worst <= 1e-6, "encoding \(encoding), size \(n): worst \(worst)")
            }
        }
    }

    @Test func tetrahedralValuesAtLatticePointsAndBetween() throws {
        let lut = try CubeLUT.parse(LUTTests.corners(), source: "corners.cube")
        #expect(lut.title == "corners" && lut.size == 2)
        for (r, g, b) in [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (1.0, 1.0, 1.0)] {
            let o = lut.lookup(Float(r), Float(g), Float(b)), e = LUTTests.corner(r, g, b)
            #expect(abs(Double(o.0) - e.0) < 1e-7 && abs(Double(o.1) - e.1) < 1e-7 && abs(Double(o.2) - e.2) < 1e-7)
        }
        // (0.5, 0.25, 0.75): b > r > g → tetrahedron c000, c001, c101, c111 with weights
        // 1 − fb = 0.25, fb − fr = 0.25, fr − fg = 0.25, fg = 0.25.
        let o = lut.lookup(0.5, 0.25, 0.75)
        let c000 = LUTTests.corner(0, 0, 0), c001 = LUTTests.corner(0, 0, 1), c101 = LUTTests.corner(1, 0, 1), c111 = LUTTests.corner(1, 1, 1)
        let e0 = 0.25 * (c000.0 + c001.0 + c101.0 + c111.0)
        let e1 = 0.25 * (c000.1 + c001.1 + c101.1 + c111.1)
        let e2 = 0.25 * (c000.2 + c001.2 + c101.2 + c111.2)
        #expect(abs(Double(o.0) - e0) < 1e-6 && abs(Double(o.1) - e1) < 1e-6 && abs(Double(o.2) - e2) < 1e-6)
        #expect(abs(e1 - 0.25) < 1e-12) // only c111 has a non-zero green
        // (0.6, 0.3, 0.1): r > g > b → c000, c100, c110, c111 with 0.4, 0.3, 0.2, 0.1.
        let p = lut.lookup(0.6, 0.3, 0.1)
        let c100 = LUTTests.corner(1, 0, 0), c110 = LUTTests.corner(1, 1, 0)
        let f0 = 0.4 * c000.0 + 0.3 * c100.0 + 0.2 * c110.0 + 0.1 * c111.0
        let f2 = 0.4 * c000.2 + 0.3 * c100.2 + 0.2 * c110.2 + 0.1 * c111.2
        #expect(abs(Double(p.0) - f0) < 1e-6 && abs(Double(p.1) - 0.1) < 1e-6 && abs(Double(p.2) - f2) < 1e-6)
        // Out-of-domain inputs clamp to the cube.
        let q = lut.lookup(-1, 2, 0.5), qe = lut.lookup(0, 1, 0.5)
        #expect(q == qe)
    }

    @Test func domainScalesInputsAndSRGBEncodingWraps() throws {
        // A 3-point LUT over the domain [0, 2] whose output is half the input.
        var text = "LUT_3D_SIZE 3\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 2 2 2\n"
        for b in 0..<3 { for g in 0..<3 { for r in 0..<3 { text += "\(Double(r) / 2) \(Double(g) / 2) \(Double(b) / 2)\n" } } }
        let lut = try CubeLUT.parse(text, source: "half.cube")
        let o = lut.lookup(1.5, 0.2, 1.0)
        #expect(abs(o.0 - 0.75) < 1e-6 && abs(o.1 - 0.1) < 1e-6 && abs(o.2 - 0.5) < 1e-6)
        // Through the stage with sRGB encoding: out = decode(encode(x)/2).
        let stage = LUTStage(lut: lut, encoding: .srgb)
        let x: Float = 0.2
        let enc = 1.055 * pow(0.2, 1 / 2.4) - 0.055
        let dec = pow((enc / 2 + 0.055) / 1.055, 2.4)
        #expect(abs(Double(StageFixtures.apply(stage, (x, x, x)).0) - dec) < 1e-6)
    }

    @Test func fileRoundTripAndLoaderErrors() throws {
        let dir = DevelopFixtures.tempDir("lut")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/corners.cube"
        try LUTTests.corners().write(toFile: path, atomically: true, encoding: .utf8)
        let lut = try CubeLUT(contentsOfFile: path)
        #expect(lut == (try CubeLUT.parse(LUTTests.corners(), source: "x")))
        #expect(throws: StageError.self) { _ = try CubeLUT(contentsOfFile: "\(dir)/missing.cube") }
    }

    /// The error for `text`, or nil if it parsed.
    static func error(_ text: String) -> StageError? {
        do {
            _ = try CubeLUT.parse(text, source: "bad.cube")
            return nil
        } catch let e as StageError {
            return e
        } catch {
            return nil
        }
    }

    @Test func malformedFilesNameTheLine() {
        let rows2 = "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n"
        let cases: [(String, Int, String)] = [
            ("LUT_3D_SIZE 2\n" + rows2 + "1 1\n", 9, "needs 3 numbers"),
            ("# c\nLUT_3D_SIZE 2\n" + "0 0 zero\n", 3, "'zero' is not a finite number"),
            ("LUT_1D_SIZE 4\n0 0 0\n", 1, "1D LUTs are not supported"),
            ("TITLE \"a\"\nLUT_3D_SIZE 2\n" + rows2, 9, "table ends after 7 of 8 lines"),
            ("LUT_3D_SIZE 2\n0 0 0\nDOMAIN_MIN 0 0 0\n", 3, "after the table data"),
            ("LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n", 2, "duplicate LUT_3D_SIZE"),
            ("LUT_3D_SIZE 1\n", 1, "outside 2…256"),
            ("0 0 0\n", 1, "before LUT_3D_SIZE"),
            ("LUT_3D_SIZE 2\nFOO 1\n", 2, "unknown keyword 'FOO'"),
            ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 0 0\nDOMAIN_MAX 1 1 1\n" + rows2 + "1 1 1\n", 4, "not below DOMAIN_MAX"),
            ("LUT_3D_SIZE 2\nTITLE unquoted\n", 2, "quoted string"),
            ("LUT_3D_SIZE 2\n" + rows2 + "1 1 1\n1 1 1\n", 10, "more than 8 table lines"),
            ("LUT_3D_SIZE 2\n0 0 nan\n", 2, "not a finite number"),
        ]
        for (text, line, fragment) in cases {
            guard case .invalidCube(let source, let l, let reason)? = LUTTests.error(text) else {
                Issue.record("accepted or wrong error for: \(text.debugDescription)")
                continue
            }
            #expect(source == "bad.cube" && l == line && reason.contains(fragment), "\(l) \(reason) for \(text.debugDescription)")
        }
        let description = StageError.invalidCube(source: "bad.cube", line: 9, reason: "x").description
        #expect(description.hasPrefix("bad.cube:9:"))
        // No size at all: the error is about the file.
        guard case .invalidCube(_, 0, let reason)? = LUTTests.error("# only a comment\n") else {
            Issue.record("empty LUT accepted")
            return
        }
        #expect(reason.contains("LUT_3D_SIZE"))
    }
}
