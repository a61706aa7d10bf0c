import Foundation
import Testing

/// A shoot seeded with every kind of hostile file: the good frames come out, each bad one fails
/// with a reason that names what is wrong (docs/security.md).
@Suite struct HostileFileTests {
    /// Sets every ImageWidth/ImageLength (tags 256/257) of a little-endian TIFF/DNG — in IFD0 and
    /// its SubIFDs — to `value`, leaving the data as it is: a decompression bomb's header.
    static func inflateDimensions(_ bytes: inout [UInt8], to value: UInt32) {
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        var ifds = [u32(4)], seen = Set<Int>()
        while let ifd = ifds.popLast() {
            guard ifd > 0, ifd + 2 <= bytes.count, seen.insert(ifd).inserted else { continue }
            for i in 0..<u16(ifd) {
                let entry = ifd + 2 + 12 * i
                let tag = u16(entry), type = u16(entry + 2), count = u32(entry + 4)
                if tag == 256 || tag == 257 {
                    if type == 3 { bytes[entry + 8] = 0xFF; bytes[entry + 9] = 0xFF } else {
                        withUnsafeBytes(of: value.littleEndian) { for k in 0..<4 { bytes[entry + 8 + k] = $0[k] } }
                    }
                }
                if tag == 330 {
                    if count == 1 { ifds.append(u32(entry + 8)) } else { for k in 0..<count { ifds.append(u32(u32(entry + 8) + 4 * k)) } }
                }
            }
            ifds.append(u32(ifd + 2 + 12 * u16(ifd)))
        }
    }

    @Test("truncated, corrupt, zero-byte, enormous-dimension, unreadable and non-image files fail with specific reasons; good frames succeed")
    func hostileShoot() throws {
        let tmp = try TemporaryDirectory("hostile")
        let shoot = tmp.sub("shoot"), out = tmp.sub("out")
        #expect(try TesseraProcess.run(["synth", shoot, "--frames", "2", "--size", "384x256", "--seed", "12"]).status == 0)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: shoot + "/IMG_0001.dng")))
        func plant(_ name: String, _ bytes: [UInt8]) { #expect(FileManager.default.createFile(atPath: shoot + "/" + name, contents: Data(bytes))) }
        plant("BAD_ZERO.dng", [])
        plant("BAD_TRUNCATED.dng", Array(good.prefix(good.count / 3)))
        var corrupt = good
        var rng = UInt64(99)
        for _ in 0..<2000 {  // scramble the header and IFDs
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            corrupt[Int(rng >> 33) % min(corrupt.count, 4096)] = UInt8(truncatingIfNeeded: rng >> 17)
        }
        corrupt[0] = 0x49; corrupt[1] = 0x49
        plant("BAD_CORRUPT.dng", corrupt)
        var bomb = good
        Self.inflateDimensions(&bomb, to: 20_000)  // 400 MP, within LibRaw's own sanity limits
        plant("BAD_BOMB.dng", bomb)
        plant("BAD_PDF.dng", Array("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".utf8))
        plant("BAD_JPEG.nef", [0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8) + [UInt8](repeating: 0, count: 500))
        #expect(mkfifo(shoot + "/BAD_FIFO.dng", 0o600) == 0, "mkfifo")

        let run = try TesseraProcess.run(["run", shoot, "--out", out, "--workers", "2", "--json"], timeout: 240)
        #expect(run.status == 1, "some frames must fail: \(run.status) \(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let job = try #require((report?["jobs"] as? [[String: Any]])?.first, "\(run.stdout)\n\(run.stderr)")
        #expect((job["frames"] as? [String: Int]) == ["total": 9, "done": 2, "failed": 7])
        let failures = try #require(job["failures"] as? [[String: Any]])
        let reasons = Dictionary(uniqueKeysWithValues: failures.map {
            (($0["path"] as? String).map { ($0 as NSString).lastPathComponent } ?? "", $0["reason"] as? String ?? "")
        })
        for (file, reason) in reasons.sorted(by: { $0.key < $1.key }) { print("\(file): \(reason)") }
        #expect(reasons["BAD_ZERO.dng"]?.lowercased().contains("empty") == true)
        #expect(reasons["BAD_TRUNCATED.dng"]?.contains("truncated") == true)
        #expect(reasons["BAD_BOMB.dng"]?.contains("pixels") == true, "\(reasons["BAD_BOMB.dng"] ?? "-")")
        #expect(reasons["BAD_FIFO.dng"]?.contains("not a regular file") == true)
        #expect(reasons["BAD_PDF.dng"]?.contains("not a RAW file") == true)
        #expect(reasons["BAD_JPEG.nef"]?.contains("not a RAW file") == true)
        #expect((reasons["BAD_CORRUPT.dng"]?.count ?? 0) > 10)
        #expect(Set(reasons.keys).count == 7)
        for stem in ["IMG_0001", "IMG_0002"] { #expect(FileManager.default.fileExists(atPath: "\(out)/\(stem).jpg")) }
        // The status command reads the same reasons from the database.
        let status = try TesseraProcess.run(["status", "--db", out + "/.tessera/tessera.db"])
        #expect(status.stdout.contains("BAD_FIFO.dng") && status.stdout.contains("not a regular file"), "\(status.stdout)")
    }
}
