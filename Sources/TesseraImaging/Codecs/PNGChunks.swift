/// Minimal PNG chunk surgery: the simplified libpng writer tags 16-bit images as linear
/// (gAMA 1.0 + cHRM), but our 16-bit output is sRGB-encoded, so we replace those chunks by an
/// sRGB chunk; the reader strips colour-space chunks so libpng returns stored values unchanged.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    struct Chunk {
        var type: [UInt8]
        var data: ArraySlice<UInt8>
    }

    /// Splits a PNG into chunks; nil when the structure is malformed.
    static func parse(_ bytes: [UInt8]) -> [Chunk]? {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { return nil }
        var chunks: [Chunk] = []
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length <= bytes.count - i - 12 else { return nil }
            let type = Array(bytes[i + 4..<i + 8])
            chunks.append(Chunk(type: type, data: bytes[i + 8..<i + 8 + length]))
            i += 12 + length
            if type == Array("IEND".utf8) { return chunks }
        }
        return nil
    }

    static func serialize(_ chunks: [Chunk]) -> [UInt8] {
        var out = signature
        for chunk in chunks {
            let n = UInt32(chunk.data.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            let body = chunk.type + chunk.data
            out += body
            let crc = crc32(body)
            out += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        }
        return out
    }

    static let colorSpaceChunks: Set<[UInt8]> = [Array("gAMA".utf8), Array("cHRM".utf8), Array("sRGB".utf8), Array("iCCP".utf8)]

    /// Drops colour-space chunks and, when `tagSRGB`, inserts `sRGB` (perceptual) after IHDR.
    static func rewriteColorSpace(_ bytes: [UInt8], tagSRGB: Bool) -> [UInt8]? {
        guard var chunks = parse(bytes), chunks.first?.type == Array("IHDR".utf8) else { return nil }
        chunks.removeAll { colorSpaceChunks.contains($0.type) }
        if tagSRGB { chunks.insert(Chunk(type: Array("sRGB".utf8), data: [0][...]), at: 1) }
        return serialize(chunks)
    }

    /// Bit depth from IHDR, nil if not a PNG.
    static func bitDepth(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 33, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        return Int(bytes[24])
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
