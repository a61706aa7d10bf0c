import Foundation
import Testing

/// The AVX2 build of the kernels must not share a weak symbol with the baseline build
/// (docs/develop.md, "Kernel dispatch"): the linker keeps one copy of a weak symbol for every
/// module that emits it, so an AVX2 body under a shared name would run on the baseline path
/// and crash a CPU without AVX2. Every weak function the AVX2 object defines must therefore be
/// specialised for its own `KernelTarget` (a name no other module emits). Checks the release
/// build's object file(s) with `nm` and `swift demangle`; skipped where there is none (a debug
/// build compiles no AVX2 kernels).
@Suite struct KernelSymbolTests {
    /// The package root (this file is Tests/TesseraImagingTests/KernelSymbolTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The AVX2 kernels' object files of every release build under the package root.
    static var objects: [String] {
        #if DEBUG
        return []  // a debug test run must not judge a (possibly stale) release build beside it
        #else
        let fm = FileManager.default
        let scratch = (try? fm.contentsOfDirectory(atPath: root))?.filter { $0.hasPrefix(".build") } ?? []
        return scratch.flatMap { dir -> [String] in
            let module = "\(root)/\(dir)/release/TesseraKernelsAVX2.build"
            return ((try? fm.contentsOfDirectory(atPath: module)) ?? []).filter { $0.hasSuffix(".o") }.map { "\(module)/\($0)" }
        }
        #endif
    }

    static let skip: Comment = "runs in release test runs only, on the release build of TesseraKernelsAVX2 (a debug build has no AVX2 kernels)"

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

    @Test("every weak function in the AVX2 kernels' object is specialised for the AVX2 target", .enabled(if: !objects.isEmpty, skip))
    func avx2WeakSymbolsAreItsOwn() throws {
        for object in Self.objects {
            let weak = try Self.run(["nm", "--defined-only", object]).split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count == 3, fields[1] == "W" || fields[1] == "V", fields[2].hasPrefix("$s") else { return nil }
                return String(fields[2])
            }
            let names = try Self.run(["swift", "demangle"], input: weak.joined(separator: "\n")).split(separator: "\n").map(String.init)
            #expect(names.count == weak.count)
            // Module metadata (the module descriptor) is named for the module already.
            let functions = names.filter { !$0.hasPrefix("module descriptor") }
            #expect(!functions.isEmpty, "no weak kernel functions in \(object): has the layout changed?")
            // XXH3's long-input loop (TesseraCore's payload checksum) is one of this object's kernels.
            let defined = try Self.run(["swift", "demangle"], input: try Self.run(["nm", "--defined-only", object]))
            #expect(object.hasSuffix("AVX2Kernels.swift.o") == false || defined.contains("AVX2Kernels.xxh3Accumulate"),
                    "no AVX2 XXH3 loop in \(object): has the layout changed?")
            let shared = functions.filter { !$0.contains("<TesseraKernelsAVX2.AVX2Kernels.AVX2Target>") }
            #expect(shared.isEmpty, "weak symbols the baseline build may also emit:\n\(shared.joined(separator: "\n"))")
        }
    }
}
