/// A cheap completeness check for TIFF-based RAW files (DNG, NEF, CR2, ARW, …): every strip or
/// tile the IFDs point at must lie inside the file. LibRaw rounds a short final read up to a
/// whole sample and so cannot notice a file cut inside its last row; this catches it.
enum TIFFExtents {
    /// The first image-data extent that runs past the end of `bytes`, as (end offset needed,
    /// tag name), or nil when all extents fit or the data is not a (classic) TIFF. Never traps:
    /// every read is bounds-checked and the walk is limited in depth and IFD count.
    static func firstOverrun(_ bytes: UnsafeRawBufferPointer) -> (needed: Int, tag: String)? {
        guard bytes.count >= 8 else { return nil }
        let little: Bool
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= bytes.count else { return nil }
            return little ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : Int(bytes[o]) << 8 | Int(bytes[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let first = u32(4) else { return nil }

        /// Values of a SHORT/LONG entry at `entry`.
        func values(_ entry: Int) -> [Int]? {
            guard let type = u16(entry + 2), let count = u32(entry + 4), count > 0, count <= 1 << 20 else { return nil }
            let size: Int
            switch type {
            case 3: size = 2
            case 4, 13: size = 4
            default: return nil
            }
            let base = count * size <= 4 ? entry + 8 : (u32(entry + 8) ?? -1)
            guard base >= 0, base + count * size <= bytes.count else { return nil }
            var out: [Int] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                guard let v = size == 2 ? u16(base + 2 * i) : u32(base + 4 * i) else { return nil }
                out.append(v)
            }
            return out
        }

        var visited = Set<Int>()
        var pending: [(offset: Int, depth: Int)] = [(first, 0)]
        while let (offset, depth) = pending.popLast() {
            guard offset >= 8, offset < bytes.count, visited.count < 64, visited.insert(offset).inserted,
                let count = u16(offset), count <= 4096
            else { continue }
            var fields: [Int: [Int]] = [:]
            for i in 0..<count {
                let entry = offset + 2 + 12 * i
                guard let tag = u16(entry) else { break }
                if [273, 279, 324, 325, 330].contains(tag), let v = values(entry) { fields[tag] = v }
            }
            for (offsets, counts, name) in [(273, 279, "StripOffsets"), (324, 325, "TileOffsets")] {
                guard let o = fields[offsets], let c = fields[counts], o.count == c.count else { continue }
                for (start, length) in zip(o, c) where start + length > bytes.count {
                    return (start + length, name)
                }
            }
            if depth < 4 {
                for sub in fields[330] ?? [] { pending.append((sub, depth + 1)) }
                if let next = u32(offset + 2 + 12 * count), next != 0 { pending.append((next, depth)) }
            }
        }
        return nil
    }
}
