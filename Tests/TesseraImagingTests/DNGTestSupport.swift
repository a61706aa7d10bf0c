import Foundation
import Testing

/// A tiny independent TIFF reader for the tests (both byte orders, classic TIFF): enough to check
/// what ``TIFFContainer`` wrote and to read `dcraw_emu`'s and our own 16-bit outputs. Kept in the
/// tests on purpose: the writer must not be verified by its own code.
struct DNGTestTIFF {
    struct Entry {
        var tag: UInt16
        var type: UInt16
        var count: Int
        /// Offset of the value bytes in the file (inline or out of line).
        var valueOffset: Int
    }

    struct Directory {
        var offset: Int
        var entries: [UInt16: Entry]
        var tagOrder: [UInt16]
        var next: Int
    }

    enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        var description: String {
            switch self {
            case .malformed(let s): "malformed TIFF: \(s)"
            }
        }
    }

    let bytes: [UInt8]
    let littleEndian: Bool
    let firstIFD: Int

    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 8 else { throw Failure.malformed("short header") }
        let le: Bool
        if bytes[0] == 0x49, bytes[1] == 0x49 { le = true } else if bytes[0] == 0x4D, bytes[1] == 0x4D {
            le = false
        } else { throw Failure.malformed("bad byte order mark") }
        let probe = DNGTestTIFF(bytes: bytes, littleEndian: le, firstIFD: 0)
        let magic = try probe.u16(2)
        guard magic == 42 else { throw Failure.malformed("magic \(magic)") }
        self.init(bytes: bytes, littleEndian: le, firstIFD: Int(try probe.u32(4)))
    }

    private init(bytes: [UInt8], littleEndian: Bool, firstIFD: Int) {
        self.bytes = bytes
        self.littleEndian = littleEndian
        self.firstIFD = firstIFD
    }

    func u16(_ o: Int) throws -> UInt16 {
        guard o >= 0, o + 2 <= bytes.count else { throw Failure.malformed("read u16 at \(o) past end") }
        let a = UInt16(bytes[o]), b = UInt16(bytes[o + 1])
        return littleEndian ? a | b << 8 : a << 8 | b
    }

    func u32(_ o: Int) throws -> UInt32 {
        guard o >= 0, o + 4 <= bytes.count else { throw Failure.malformed("read u32 at \(o) past end") }
        var v: UInt32 = 0
        for i in 0..<4 {
            let byte = UInt32(bytes[o + i])
            v |= littleEndian ? byte << (8 * UInt32(i)) : byte << (8 * UInt32(3 - i))
        }
        return v
    }

    func u64(_ o: Int) throws -> UInt64 {
        let a = UInt64(try u32(o)), b = UInt64(try u32(o + 4))
        return littleEndian ? a | b << 32 : a << 32 | b
    }

    static func typeSize(_ t: UInt16) -> Int {
        switch t {
        case 1, 2, 6, 7: 1
        case 3, 8: 2
        case 4, 9, 11: 4
        case 5, 10, 12: 8
        default: 0
        }
    }

    func directory(at offset: Int) throws -> Directory {
        let n = Int(try u16(offset))
        var entries: [UInt16: Entry] = [:]
        var order: [UInt16] = []
        for i in 0..<n {
            let at = offset + 2 + 12 * i
            let tag = try u16(at), type = try u16(at + 2), count = Int(try u32(at + 4))
            let size = Self.typeSize(type) * count
            guard Self.typeSize(type) > 0 else { throw Failure.malformed("tag \(tag) has unknown type \(type)") }
            let valueOffset = size <= 4 ? at + 8 : Int(try u32(at + 8))
            guard valueOffset + size <= bytes.count else { throw Failure.malformed("tag \(tag) value past end") }
            entries[tag] = Entry(tag: tag, type: type, count: count, valueOffset: valueOffset)
            order.append(tag)
        }
        return Directory(offset: offset, entries: entries, tagOrder: order, next: Int(try u32(offset + 2 + 12 * n)))
    }

    func ifd0() throws -> Directory { try directory(at: firstIFD) }

    /// Numeric values of an entry as doubles (rationals divided out).
    func numbers(_ e: Entry) throws -> [Double] {
        var out: [Double] = []
        for i in 0..<e.count {
            let o = e.valueOffset + i * Self.typeSize(e.type)
            switch e.type {
            case 1, 7: out.append(Double(bytes[o]))
            case 6: out.append(Double(Int8(bitPattern: bytes[o])))
            case 3: out.append(Double(try u16(o)))
            case 8: out.append(Double(Int16(bitPattern: try u16(o))))
            case 4: out.append(Double(try u32(o)))
            case 9: out.append(Double(Int32(bitPattern: try u32(o))))
            case 5: out.append(Double(try u32(o)) / Double(try u32(o + 4)))
            case 10: out.append(Double(Int32(bitPattern: try u32(o))) / Double(Int32(bitPattern: try u32(o + 4))))
            case 11: out.append(Double(Float(bitPattern: try u32(o))))
            case 12: out.append(Double(bitPattern: try u64(o)))
            default: throw Failure.malformed("tag \(e.tag) type \(e.type) is not numeric")
            }
        }
        return out
    }

    func numbers(_ d: Directory, _ tag: UInt16) throws -> [Double] {
        guard let e = d.entries[tag] else { throw Failure.malformed("missing tag \(tag)") }
        return try numbers(e)
    }

    func string(_ d: Directory, _ tag: UInt16) throws -> String {
        guard let e = d.entries[tag] else { throw Failure.malformed("missing tag \(tag)") }
        guard e.type == 2 else { throw Failure.malformed("tag \(tag) is not ASCII") }
        let raw = bytes[e.valueOffset..<(e.valueOffset + e.count)]
        guard raw.last == 0 else { throw Failure.malformed("tag \(tag) string not NUL-terminated") }
        return String(decoding: raw.dropLast(), as: UTF8.self)
    }

    /// All 16-bit samples of an uncompressed, chunky, strip-organised image directory.
    func samples16(_ d: Directory) throws -> (width: Int, height: Int, channels: Int, samples: [UInt16]) {
        let width = Int(try numbers(d, 256)[0]), height = Int(try numbers(d, 257)[0])
        let channels = d.entries[277] != nil ? Int(try numbers(d, 277)[0]) : 1
        let bits = try numbers(d, 258)
        guard bits.allSatisfy({ $0 == 16 }) else { throw Failure.malformed("bits per sample \(bits), want 16") }
        if let c = d.entries[259] { guard try numbers(c)[0] == 1 else { throw Failure.malformed("compressed") } }
        let offsets = try numbers(d, 273), counts = try numbers(d, 279)
        guard offsets.count == counts.count else { throw Failure.malformed("strip offsets/counts differ") }
        var samples: [UInt16] = []
        samples.reserveCapacity(width * height * channels)
        for (o, c) in zip(offsets, counts) {
            let start = Int(o), n = Int(c)
            guard start + n <= bytes.count, n % 2 == 0 else { throw Failure.malformed("strip at \(start)+\(n) past end") }
            for i in stride(from: start, to: start + n, by: 2) { samples.append(try u16(i)) }
        }
        guard samples.count == width * height * channels else {
            throw Failure.malformed("\(samples.count) samples for \(width)x\(height)x\(channels)")
        }
        return (width, height, channels, samples)
    }
}

/// Runs the LibRaw command-line tools. A missing tool is a test failure (not a skip) with a
/// message saying how to get it.
enum DNGTestTools {
    static func path(of tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `tool` with `arguments` in `directory`, returns stdout+stderr; records an issue and
    /// returns nil when the tool is missing or fails.
    static func run(_ tool: String, _ arguments: [String], in directory: String,
                    sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        guard let exe = path(of: tool) else {
            Issue.record("\(tool) not found: install the Debian package libraw-bin (apt-get install libraw-bin)",
                         sourceLocation: sourceLocation)
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            Issue.record("cannot run \(exe): \(error)", sourceLocation: sourceLocation)
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            Issue.record("\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)",
                         sourceLocation: sourceLocation)
            return nil
        }
        return text
    }
}

/// A fresh, unique temporary directory (removed by the caller with `remove()`).
struct DNGTestTempDir {
    let path: String

    init(_ label: String) throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/tessera-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
}

func dngTestReadBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}
