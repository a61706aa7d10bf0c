// swift-tools-version:6.0
// Tessera — a distributed photo-processing farm. See docs/architecture.md for the target graph.
import PackageDescription

/// The AVX2 build of the develop kernels (docs/develop.md, "Kernel dispatch"): on x86-64 hosts
/// `TesseraKernelsAVX2` is compiled for x86-64-v3 (`haswell`: LLVM's CPU list has no
/// `x86-64-v3`) and chosen at run time by CPUID; elsewhere it
/// is an ordinary second build that reports itself unavailable.
/// Release builds only: without optimisation the generic kernels are not specialised, and their
/// unspecialised bodies would be emitted under the same weak symbols as the baseline build's
/// (the linker keeps one copy for both); a debug build runs the baseline kernels only.
#if arch(x86_64)
let avx2KernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release)),
    .define("TESSERA_AVX2_KERNELS", .when(configuration: .release)),
]
#else
let avx2KernelSettings: [SwiftSetting] = []
#endif

/// The AVX-512 build of the kernels (docs/develop.md, "Kernel dispatch"): `TesseraKernelsAVX512`
/// is compiled for x86-64-v4 (`skylake-avx512`: AVX-512 F, CD, BW, DQ, VL — LLVM's CPU list has
/// no `x86-64-v4` either) and chosen at run time by CPUID; release builds only, as above.
#if arch(x86_64)
let avx512KernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "skylake-avx512"], .when(configuration: .release)),
    .define("TESSERA_AVX512_KERNELS", .when(configuration: .release)),
]
#else
let avx512KernelSettings: [SwiftSetting] = []
#endif

/// Warnings are errors in CI (`make test` passes `-Xswiftc -warnings-as-errors`); keep targets clean.
let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tessera", targets: ["tessera"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, wrapped once: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .systemLibrary(name: "CLibRaw", path: "Sources/CLibRaw"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CTIFF", path: "Sources/CTIFF"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CLCMS2", path: "Sources/CLCMS2"),

        // Ids, geometry, tiling, task states, checksums, deterministic RNG — no I/O.
        // (XXH3's long-input loop is a kernel of the builds below, chosen at run time.)
        .target(name: "TesseraCore", dependencies: ["TesseraKernels", "TesseraKernelsAVX2", "TesseraKernelsAVX512"]),
        // Wire protocol v1: messages, encoder/decoder, limits — no libzmq.
        .target(name: "TesseraWire", dependencies: ["TesseraCore"]),
        // The only importer of CZeroMQ.
        .target(name: "TesseraZMQ", dependencies: ["CZeroMQ"]),
        // The only owner of SQL.
        .target(name: "TesseraStore", dependencies: ["TesseraCore", .product(name: "GRDB", package: "GRDB.swift")]),
        // CPUID/XGETBV for the kernel dispatch (no Swift spelling).
        .target(name: "CTesseraCPU"),
        // The SIGBUS guard of the coordinator's mapped spool files (async-signal-safe C; only the coordinator uses it).
        .target(name: "CTesseraSpoolGuard"),
        // The hot develop kernels (RCD row stream, fused neutral develop), @inlinable, baseline build.
        .target(name: "TesseraKernels", dependencies: ["CTesseraCPU"]),
        // The same kernels compiled for x86-64-v3 (AVX2), chosen at run time by TesseraImaging.
        .target(name: "TesseraKernelsAVX2", dependencies: ["TesseraKernels"], swiftSettings: avx2KernelSettings),
        // The same kernels compiled for x86-64-v4 (AVX-512), chosen at run time like the AVX2 build.
        .target(name: "TesseraKernelsAVX512", dependencies: ["TesseraKernels"], swiftSettings: avx512KernelSettings),
        // Images, codecs, RAW decode, develop stages, synthetic shoots — no networking.
        .target(name: "TesseraImaging", dependencies: [
            "TesseraCore", "TesseraKernels", "TesseraKernelsAVX2", "TesseraKernelsAVX512", "CLibRaw", "CTurboJPEG", "CTIFF", "CPNG", "CLCMS2",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Planning, scheduling, dispatch, reassembly, control API.
        .target(name: "TesseraCoordinator", dependencies: [
            "TesseraCore", "TesseraWire", "TesseraZMQ", "TesseraStore", "TesseraImaging", "CTesseraSpoolGuard",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Worker runtime: connect, take credit-based tasks, execute, report.
        .target(name: "TesseraWorker", dependencies: [
            "TesseraCore", "TesseraWire", "TesseraZMQ", "TesseraImaging",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The command tree; the only place that bootstraps logging.
        .target(name: "TesseraCLI", dependencies: [
            "TesseraCore", "TesseraWire", "TesseraZMQ", "TesseraStore", "TesseraImaging",
            "TesseraCoordinator", "TesseraWorker",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tessera", dependencies: ["TesseraCLI"]),

        .testTarget(name: "TesseraCoreTests", dependencies: ["TesseraCore"]),
        // Golden vectors are read from protos/vectors via #filePath: one copy, shared with other languages.
        .testTarget(name: "TesseraWireTests", dependencies: ["TesseraWire", "TesseraCore"]),
        .testTarget(name: "TesseraZMQTests", dependencies: ["TesseraZMQ"]),
        .testTarget(name: "TesseraStoreTests", dependencies: ["TesseraStore", "TesseraCore"]),
        .testTarget(name: "TesseraImagingTests", dependencies: ["TesseraImaging", "TesseraCore"]),
        // End-to-end: real `tessera` processes, real sockets, real files.
        .testTarget(name: "TesseraFarmTests", dependencies: [
            "TesseraCLI", "TesseraCoordinator", "TesseraWorker", "TesseraStore", "TesseraImaging",
            "TesseraWire", "TesseraZMQ", "TesseraCore",
            // deploy/ manifests are parsed in a test.
            .product(name: "Yams", package: "Yams"),
            // A second process's write lock on the coordinator's database (DiskTests).
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
