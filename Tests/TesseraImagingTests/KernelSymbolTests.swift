import Foundation
import Testing

/// The AVX2 and AVX-512 builds of the kernels must not share a weak symbol with the baseline
/// build or with each other (docs/develop.md, "Kernel dispatch"): the linker keeps one copy of a
/// weak symbol for every module that emits it, so an AVX2 or AVX-512 body under a shared name
/// would run on a lower build's path and crash a CPU without those instructions. Every weak
/// function a build's object defines must therefore be specialised for its own `KernelTarget`
/// (a name no other module emits). And no build may contract `a * b + c` into an FMA (the bits
/// would differ from the baseline's). Checks the release build's object files with `nm`,
/// `swift demangle` and `objdump`; skipped where there is none (a debug build compiles no
/// AVX2/AVX-512 kernels).
@Suite struct KernelSymbolTests {
    /// The package root (this file is Tests/TesseraImagingTests/KernelSymbolTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A build module's object files of every release build under the package root.
    static func objects(module name: String) -> [String] {
        #if DEBUG
        return []  // a debug test run must not judge a (possibly stale) release build beside it
        #else
        let fm = FileManager.default
        let scratch = (try? fm.contentsOfDirectory(atPath: root))?.filter { $0.hasPrefix(".build") } ?? []
        return scratch.flatMap { dir -> [String] in
            let module = "\(root)/\(dir)/release/\(name).build"
            return ((try? fm.contentsOfDirectory(atPath: module)) ?? []).filter { $0.hasSuffix(".o") }.map { "\(module)/\($0)" }
        }
        #endif
    }

    /// The AVX2 kernels' object files.
    static var avx2Objects: [String] { objects(module: "TesseraKernelsAVX2") }
    /// The AVX-512 kernels' object files.
    static var avx512Objects: [String] { objects(module: "TesseraKernelsAVX512") }

    static let skip: Comment = "runs in release test runs only, on the release build of the kernel modules (a debug build has no AVX2/AVX-512 kernels)"

    private static func run(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(arguments.joined(separator: " ")) failed")
        return String(decoding: data, as: UTF8.self)
    }

    @Test("every weak function in the AVX2 kernels' object is specialised for the AVX2 target", .enabled(if: !avx2Objects.isEmpty, skip))
    func avx2WeakSymbolsAreItsOwn() throws {
        try Self.expectOwnWeakSymbols(Self.avx2Objects, entryPoints: "AVX2Kernels", target: "<TesseraKernelsAVX2.AVX2Kernels.AVX2Target>")
    }

    @Test("every weak function in the AVX-512 kernels' object is specialised for the AVX-512 target", .enabled(if: !avx512Objects.isEmpty, skip))
    func avx512WeakSymbolsAreItsOwn() throws {
        try Self.expectOwnWeakSymbols(Self.avx512Objects, entryPoints: "AVX512Kernels",
                                      target: "<TesseraKernelsAVX512.AVX512Kernels.AVX512Target>")
    }

    @Test("no FMA in the AVX2 and AVX-512 kernels (same bits as the baseline); no AVX-512 instruction CTesseraCPU does not check",
          .enabled(if: !avx2Objects.isEmpty || !avx512Objects.isEmpty, skip))
    func noFMAAndOnlyCheckedInstructions() throws {
        // Skylake-AVX512 features CTesseraCPU leaves unchecked (intrinsics only): their
        // instructions must not appear.
        let unchecked = ["rdseed", "rdpkru", "wrpkru", "xsavec", "xsaves", "xrstors"]
        for object in Self.avx2Objects + Self.avx512Objects {
            let mnemonics = try Self.run(["objdump", "-d", "--no-show-raw-insn", object]).split(separator: "\n").compactMap { line -> Substring? in
                let fields = line.split(separator: "\t")
                return fields.count >= 2 ? fields[1].split(separator: " ").first : nil
            }
            #expect(mnemonics.contains { $0.hasPrefix("vpmuludq") || $0.hasPrefix("vaddps") }, "no vector code in \(object): has the layout changed?")
            let fma = Set(mnemonics.filter { $0.hasPrefix("vfmadd") || $0.hasPrefix("vfmsub") || $0.hasPrefix("vfnmadd") || $0.hasPrefix("vfnmsub") })
            #expect(fma.isEmpty, "FMA instructions in \(object): \(fma.sorted())")
            let other = Set(mnemonics.filter { unchecked.contains(String($0)) })
            #expect(other.isEmpty, "instructions of features CTesseraCPU does not check in \(object): \(other.sorted())")
        }
        let usesZMM = try Self.avx512Objects.map { try Self.run(["objdump", "-d", $0]).contains("%zmm") }
        #expect(Self.avx512Objects.isEmpty || usesZMM.contains(true), "the AVX-512 build uses no ZMM register: is it compiled for skylake-avx512?")
    }

    /// Every weak function symbol of `objects` is specialised for `target`, and the object
    /// defines `<entryPoints>.xxh3Accumulate`.
    static func expectOwnWeakSymbols(_ objects: [String], entryPoints: String, target: String) throws {
        for object in objects {
            let weak = try run(["nm", "--defined-only", object]).split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count == 3, fields[1] == "W" || fields[1] == "V", fields[2].hasPrefix("$s") else { return nil }
                return String(fields[2])
            }
            let names = try run(["swift", "demangle"], input: weak.joined(separator: "\n")).split(separator: "\n").map(String.init)
            #expect(names.count == weak.count)
            // Module metadata (the module descriptor) is named for the module already.
            let functions = names.filter { !$0.hasPrefix("module descriptor") }
            #expect(!functions.isEmpty, "no weak kernel functions in \(object): has the layout changed?")
            // XXH3's long-input loop (TesseraCore's payload checksum) is one of this object's kernels.
            let defined = try run(["swift", "demangle"], input: try run(["nm", "--defined-only", object]))
            #expect(object.hasSuffix("\(entryPoints).swift.o") == false || defined.contains("\(entryPoints).xxh3Accumulate"),
                    "no \(entryPoints).xxh3Accumulate in \(object): has the layout changed?")
            let shared = functions.filter { !$0.contains(target) }
            #expect(shared.isEmpty, "weak symbols another build may also emit:\n\(shared.joined(separator: "\n"))")
        }
    }
}
