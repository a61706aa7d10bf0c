import Foundation
import Testing
import TesseraCore
import TesseraImaging

/// A deterministic test plane: distinct, non-zero values well inside 14 bits, varying with x and y.
private func testPlane(width: Int, height: Int) -> RawPlane {
    var plane = RawPlane(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width { plane[x, y] = UInt16(600 + (x * 7 + y * 131) % 15_000) }
    }
    return plane
}

private func testMetadata(cfa: CFAPattern, activeArea: PixelRect?) -> DNGMetadata {
    DNGMetadata(
        make: "Tessera", model: "SynthCam 14", cfa: cfa, activeArea: activeArea,
        blackLevels: [512, 514, 511, 513], whiteLevel: 16383,
        colorMatrix1: Matrix3([0.44, 0.06, -0.08, -0.72, 1.44, 0.23, -0.12, 0.18, 0.62]),
        asShotNeutral: [0.3886, 1, 0.7207],
        noiseProfile: [DNGNoiseProfile(scale: 2.8e-5, offset: 7.3e-9)],
        iso: 800, exposureTime: 1.0 / 250, fNumber: 4, focalLength: 50,
        dateTimeOriginal: "2024:05:18 10:00:02", subSecTimeOriginal: "300")
}

/// The value of a "Key: value" line in raw-identify output.
private func field(_ output: String, _ key: String) -> String? {
    for line in output.split(separator: "\n") where line.hasPrefix(key + ":") {
        return line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

@Suite struct DNGWriterTests {
    @Test func tagsAreSortedAlignedAndComplete() throws {
        let image = DNGImage(plane: testPlane(width: 36, height: 26),
                             metadata: testMetadata(cfa: .gbrg, activeArea: PixelRect(x: 2, y: 4, width: 32, height: 20)))
        let bytes = try DNGWriter.encode(image)
        let tiff = try DNGTestTIFF(bytes)
        #expect(tiff.littleEndian)
        let ifd = try tiff.ifd0()
        #expect(ifd.tagOrder == ifd.tagOrder.sorted(), "IFD0 entries must be sorted by tag")
        #expect(ifd.next == 0)
        for e in ifd.entries.values where DNGTestTIFF.typeSize(e.type) * e.count > 4 {
            #expect(e.valueOffset % 2 == 0, "tag \(e.tag) value at odd offset \(e.valueOffset)")
        }
        #expect(try tiff.numbers(ifd, 254) == [0])
        #expect(try tiff.numbers(ifd, 262) == [32803])
        #expect(try tiff.numbers(ifd, 33421) == [2, 2])
        #expect(try tiff.numbers(ifd, 33422) == [1, 2, 0, 1])  // G B R G
        #expect(try tiff.numbers(ifd, 50706) == [1, 4, 0, 0])
        #expect(try tiff.numbers(ifd, 50829) == [4, 2, 24, 34])  // top, left, bottom, right
        #expect(try tiff.numbers(ifd, 50713) == [2, 2])
        #expect(try tiff.numbers(ifd, 50714) == [512, 514, 511, 513])
        #expect(try tiff.numbers(ifd, 50717) == [16383])
        #expect(ifd.entries[50721]?.type == 10, "ColorMatrix1 is SRATIONAL")
        let cm = try tiff.numbers(ifd, 50721)
        #expect(zip(cm, [0.44, 0.06, -0.08, -0.72, 1.44, 0.23, -0.12, 0.18, 0.62]).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(try tiff.numbers(ifd, 50778) == [21])
        #expect(ifd.entries[51041]?.type == 12, "NoiseProfile is DOUBLE")
        #expect(try tiff.numbers(ifd, 51041) == [2.8e-5, 7.3e-9])
        #expect(try tiff.string(ifd, 271) == "Tessera")
        #expect(try tiff.string(ifd, 272) == "SynthCam 14")
        #expect(try tiff.string(ifd, 50708) == "Tessera SynthCam 14")
        #expect(try tiff.string(ifd, 305) == "tessera synth")
        #expect(try tiff.string(ifd, 306) == "2024:05:18 10:00:02")
        let exif = try tiff.directory(at: Int(try tiff.numbers(ifd, 34665)[0]))
        #expect(exif.tagOrder == exif.tagOrder.sorted())
        #expect(try tiff.string(exif, 36867) == "2024:05:18 10:00:02")
        #expect(try tiff.string(exif, 37521) == "300")
        #expect(try tiff.numbers(exif, 34855) == [800])
        #expect(try tiff.numbers(exif, 33434) == [1.0 / 250])
        #expect(try tiff.numbers(exif, 33437) == [4])
        #expect(try tiff.numbers(exif, 37386) == [50])
        let stored = try tiff.samples16(ifd)
        #expect(stored.width == 36 && stored.height == 26 && stored.channels == 1)
        #expect(stored.samples == image.plane.pixels)
    }

    @Test func encodingIsDeterministic() throws {
        let image = DNGImage(plane: testPlane(width: 20, height: 10), metadata: testMetadata(cfa: .rggb, activeArea: nil))
        let a = try DNGWriter.encode(image)
        #expect(a == (try DNGWriter.encode(image)))
        var changed = image
        changed.metadata.subSecTimeOriginal = "301"
        #expect(a != (try DNGWriter.encode(changed)))
        changed = image
        changed.plane[3, 4] &+= 1
        #expect(a != (try DNGWriter.encode(changed)))
    }

    @Test func invalidInputNamesTheField() {
        var image = DNGImage(plane: testPlane(width: 8, height: 8), metadata: testMetadata(cfa: .rggb, activeArea: nil))
        image.metadata.blackLevels = [512]
        #expect(throws: DNGWriterError.self) { try DNGWriter.encode(image) }
        do { _ = try DNGWriter.encode(image) } catch { #expect(error.description.contains("blackLevels")) }
        image.metadata.blackLevels = [512, 512, 512, 512]
        image.metadata.activeArea = PixelRect(x: 4, y: 4, width: 8, height: 8)
        do { _ = try DNGWriter.encode(image); Issue.record("active area outside the plane was accepted") } catch {
            #expect(error.description.contains("activeArea"))
        }
        image.metadata.activeArea = nil
        image.metadata.dateTimeOriginal = "2024-05-18T10:00:00"
        do { _ = try DNGWriter.encode(image); Issue.record("ISO date was accepted") } catch {
            #expect(error.description.contains("dateTimeOriginal"))
        }
        do { try DNGWriter.write(DNGImage(plane: testPlane(width: 8, height: 8), metadata: testMetadata(cfa: .rggb, activeArea: nil)),
                                 to: "/nonexistent-dir-\(UUID().uuidString)/x.dng")
            Issue.record("write to a missing directory succeeded")
        } catch { #expect(error.description.contains("nonexistent-dir")) }
    }

    /// LibRaw's tools read back what we wrote: camera, sizes, ISO, CFA phase, per-cell blacks,
    /// and — through dcraw_emu with every scaling disabled — every raw value of the active area.
    /// LibRaw moves an odd ActiveArea origin to the next even row/column (dropping one row and
    /// column) and reports the CFA phase from there; the margin 3 case pins that behaviour down.
    @Test(arguments: CFAPattern.all, [0, 2, 3])
    func libRawReadsBackEveryPhaseAndMargin(cfa: CFAPattern, margin: Int) throws {
        let dir = try DNGTestTempDir("dng-libraw")
        defer { dir.remove() }
        let width = 30, height = 24  // LibRaw rejects frames under 22 pixels a side
        let plane = testPlane(width: width + 2 * margin, height: height + 2 * margin)
        let area = margin > 0 ? PixelRect(x: margin, y: margin, width: width, height: height) : nil
        try DNGWriter.write(DNGImage(plane: plane, metadata: testMetadata(cfa: cfa, activeArea: area)), to: dir.file("f.dng"))

        // LibRaw's view of the active area: origin rounded up to even, size shrunk to match.
        let shift = margin % 2
        let visibleOrigin = margin + shift
        let visibleW = width - shift, visibleH = height - shift
        let visibleCFA = cfa.shifted(dx: shift, dy: shift)

        guard let info = DNGTestTools.run("raw-identify", ["-v", "f.dng"], in: dir.path) else { return }
        #expect(field(info, "Camera")?.hasPrefix("Tessera SynthCam 14") == true, "\(info)")
        #expect(field(info, "ISO speed") == "800")
        #expect(field(info, "Full size") == "\(width + 2 * margin) x \(height + 2 * margin)")
        #expect(field(info, "Image size") == "\(visibleW) x \(visibleH)")
        #expect(field(info, "Filter pattern")?.prefix(4) == Substring(visibleCFA.description))
        #expect(field(info, "cblack[6 .. 9]") == "512 514 511 513")
        #expect(field(info, "Shutter") == "1/250.0")

        // Raw values: no black subtraction (-k 0), no scaling (-S 65535, unit multipliers),
        // raw colour space, no interpolation: each pixel carries its CFA sample in one channel.
        let args = ["-disinterp", "-o", "0", "-4", "-T", "-r", "1", "1", "1", "1", "-k", "0", "-S", "65535", "-Z", "raw.tiff", "f.dng"]
        guard DNGTestTools.run("dcraw_emu", args, in: dir.path) != nil else { return }
        let out = try DNGTestTIFF(dngTestReadBytes(dir.file("raw.tiff")))
        let img = try out.samples16(try out.ifd0())
        #expect(img.width == visibleW && img.height == visibleH && img.channels == 3)
        var mismatches = 0
        for y in 0..<visibleH {
            for x in 0..<visibleW {
                let channel = Int(visibleCFA.color(x: x, y: y).rawValue)
                let want = plane[x + visibleOrigin, y + visibleOrigin]
                for c in 0..<3 {
                    let got = img.samples[(y * img.width + x) * 3 + c]
                    if got != (c == channel ? want : 0) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) samples differ from the raw values written (\(cfa), margin \(margin))")
    }

    /// LibRaw applies the per-cell black levels at the right CFA phase and reads the white level:
    /// a frame at black_c + 1000 in every cell comes out flat, at 1000 · 65535 / (white − black).
    @Test(arguments: CFAPattern.all)
    func libRawAppliesPerCellBlackAndWhiteLevel(cfa: CFAPattern) throws {
        let dir = try DNGTestTempDir("dng-levels")
        defer { dir.remove() }
        let margin = 2, width = 28, height = 24
        let blacks: [Double] = [512, 530, 500, 545]
        var plane = RawPlane(width: width + 2 * margin, height: height + 2 * margin)
        for y in 0..<plane.height {
            for x in 0..<plane.width {
                plane[x, y] = UInt16(blacks[CFAPattern.cell(x: x - margin, y: y - margin)] + 1000)
            }
        }
        var md = testMetadata(cfa: cfa, activeArea: PixelRect(x: margin, y: margin, width: width, height: height))
        md.blackLevels = blacks
        try DNGWriter.write(DNGImage(plane: plane, metadata: md), to: dir.file("f.dng"))
        let args = ["-disinterp", "-o", "0", "-4", "-T", "-r", "1", "1", "1", "1", "-Z", "out.tiff", "f.dng"]
        guard DNGTestTools.run("dcraw_emu", args, in: dir.path) != nil else { return }
        let out = try DNGTestTIFF(dngTestReadBytes(dir.file("out.tiff")))
        let img = try out.samples16(try out.ifd0())
        var values = Set<UInt16>()
        for y in 0..<height {
            for x in 0..<width {
                values.insert(img.samples[(y * width + x) * 3 + Int(cfa.color(x: x, y: y).rawValue)])
            }
        }
        #expect(values.count <= 2, "per-cell blacks not removed at the right phase: \(values.sorted())")
        // LibRaw's common black is the smallest cell black; its white scaling uses white − black.
        let expected = 1000.0 * 65535 / (16383 - 500)
        #expect(values.allSatisfy { abs(Double($0) - expected) <= 2 }, "values \(values.sorted()), want ≈ \(expected)")
    }

    @Test func rgb16TIFFRoundTrips() throws {
        var image = RGBImage16(width: 13, height: 7)
        for i in image.pixels.indices { image.pixels[i] = UInt16(truncatingIfNeeded: i &* 2654435761 >> 7) }
        let bytes = try TIFFContainer.writeRGB16TIFF(image: image)
        #expect(bytes == (try TIFFContainer.writeRGB16TIFF(image: image)))
        let tiff = try DNGTestTIFF(bytes)
        let ifd = try tiff.ifd0()
        #expect(ifd.tagOrder == ifd.tagOrder.sorted())
        #expect(try tiff.numbers(ifd, 262) == [2])
        let read = try tiff.samples16(ifd)
        #expect(read.width == 13 && read.height == 7 && read.channels == 3)
        #expect(read.samples == image.pixels)
    }

    @Test func everyFieldTypeEncodes() throws {
        var d = TIFFDirectory()
        d.set(60000, .sbytes([-1, 2]))
        d.set(60001, .sshorts([-300]))
        d.set(60002, .slongs([-70000, 5]))
        d.set(60003, .floats([1.5]))
        d.set(60004, .undefined([1, 2, 3, 4, 5]))
        d.set(60005, .srationals([TIFFSRational(-1, 3)]))
        d.set(60006, .ascii("abc"))
        d.set(256, .longs([1]))
        var sub = TIFFDirectory()
        sub.set(1, .doubles([0.25, -2]))
        d.setSubdirectories(330, [sub, sub])
        let tiff = try DNGTestTIFF(TIFFContainer.encode([d]))
        let ifd = try tiff.ifd0()
        #expect(ifd.tagOrder == [256, 330, 60000, 60001, 60002, 60003, 60004, 60005, 60006])
        #expect(try tiff.numbers(ifd, 60000) == [-1, 2])
        #expect(try tiff.numbers(ifd, 60001) == [-300])
        #expect(try tiff.numbers(ifd, 60002) == [-70000, 5])
        #expect(try tiff.numbers(ifd, 60003) == [1.5])
        #expect(try tiff.numbers(ifd, 60004) == [1, 2, 3, 4, 5])
        #expect(try tiff.numbers(ifd, 60005) == [-1.0 / 3])
        #expect(try tiff.string(ifd, 60006) == "abc")
        let subs = try tiff.numbers(ifd, 330)
        #expect(subs.count == 2)
        for o in subs { #expect(try tiff.numbers(try tiff.directory(at: Int(o)), 1) == [0.25, -2]) }
    }
}
