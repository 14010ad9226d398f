// swift-tools-version: 6.1
import PackageDescription

/// Numeric code (decoders, filters, the encoder) is optimised even in debug builds, so that
/// `swift test` on real data stays fast; release builds are unaffected.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// AVX2 code generation for the second copy of the encoder kernels (x86-64 hosts only; elsewhere
/// that copy is compiled portably and never selected).
#if arch(x86_64)
    let avx2Settings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2"]), .define("KMERL_AVX2")]
#else
    let avx2Settings: [SwiftSetting] = []
#endif

/// kmerl: knowledge-enhanced, lead-aware ECG classification on the command line.
let package = Package(
    name: "kmerl",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kmerl-kb", targets: ["kmerl-kb"]),
        .executable(name: "kmerl-batch", targets: ["kmerl-batch"]),
        .executable(name: "kmerl-train", targets: ["kmerl-train"]),
        .library(name: "ECGCore", targets: ["ECGCore"]),
        .library(name: "ECGFormats", targets: ["ECGFormats"]),
        .library(name: "ECGSignal", targets: ["ECGSignal"]),
        .library(name: "Knowledge", targets: ["Knowledge"]),
        .library(name: "KMERLModel", targets: ["KMERLModel"]),
        .library(name: "Classification", targets: ["Classification"]),
        .library(name: "Reports", targets: ["Reports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .target(name: "ECGCore"),
        .target(name: "ECGFormats", dependencies: ["ECGCore", "CLibXML2"], swiftSettings: optimizedInDebug),
        .target(name: "ECGSignal", dependencies: ["ECGCore"], swiftSettings: optimizedInDebug),
        .target(
            name: "Knowledge",
            dependencies: [
                "ECGCore", "CLibXML2", .product(name: "GRDB", package: "GRDB.swift"),
                // The importer binds its two hot inserts through the SQLite C API (BoundInsert).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The encoder's hot loops, compiled twice from one file (Sources/KMERLKernelsAVX2/Kernels.swift
        // is a link to Sources/KMERLKernels/Kernels.swift): portably, and with AVX2 code generation
        // on x86-64; KMERLModel picks the AVX2 copy at run time only on a CPU that has AVX2.
        .target(name: "KMERLKernels", swiftSettings: optimizedInDebug),
        .target(name: "KMERLKernelsAVX2", swiftSettings: optimizedInDebug + avx2Settings),
        .target(name: "KMERLModel", dependencies: ["ECGCore", "ECGSignal", "KMERLKernels", "KMERLKernelsAVX2"], swiftSettings: optimizedInDebug),
        // Classification drives the whole batch, including writing its reports (the nightly runner
        // in Classification/Nightly needs that too), so it depends on Reports; Reports renders plain
        // view models (Mustache contexts, CSV rows, SVG plots) and knows nothing of classification.
        .target(
            name: "Classification",
            dependencies: ["ECGCore", "ECGFormats", "ECGSignal", "Knowledge", "KMERLModel", "Reports", "KMERLResources"]
        ),
        .target(
            name: "Reports",
            dependencies: ["ECGCore", "KMERLResources", .product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: optimizedInDebug  // SVG plotting of every sample
        ),
        // Ontology/, Templates/ and Models/ are embedded into this target's code at build time,
        // so that an installed binary works outside the checkout.
        .executableTarget(name: "kmerl-embed"),
        .plugin(name: "EmbedResources", capability: .buildTool(), dependencies: ["kmerl-embed"]),
        .target(name: "KMERLResources", plugins: ["EmbedResources"]),
        .executableTarget(
            name: "kmerl-kb",
            dependencies: [
                "Knowledge", "KMERLResources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "kmerl-batch",
            dependencies: [
                "ECGCore", "ECGFormats", "ECGSignal", "Knowledge", "Classification", "Reports",
                "KMERLResources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "kmerl-train",
            dependencies: [
                "ECGCore", "ECGFormats", "Knowledge", "KMERLModel", "KMERLResources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "KMERLTestSupport", dependencies: ["ECGCore"], path: "Tests/KMERLTestSupport"),
        .testTarget(name: "ECGCoreTests", dependencies: ["ECGCore", "KMERLTestSupport"]),
        .testTarget(name: "ECGFormatsTests", dependencies: ["KMERLTestSupport", "ECGFormats"]),
        .testTarget(name: "ECGSignalTests", dependencies: ["KMERLTestSupport", "ECGSignal", "ECGFormats", "Knowledge"]),
        .testTarget(name: "KnowledgeTests", dependencies: ["KMERLTestSupport", "Knowledge", "KMERLResources"]),
        .testTarget(
            name: "KMERLModelTests", dependencies: ["KMERLTestSupport", "KMERLModel", "ECGFormats", "KMERLKernels", "KMERLKernelsAVX2"]),
        .testTarget(
            name: "ClassificationTests",
            dependencies: ["KMERLTestSupport", "Classification", "KMERLResources", "ECGFormats", "KMERLModel"]
        ),
        // Runs the built kmerl-kb executable as a process (built by `swift build` / `swift test`).
        .testTarget(name: "KMERLKBTests", dependencies: ["KMERLTestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["KMERLTestSupport", "Reports", "Classification", "ECGCore", "ECGFormats"]),
    ],
    swiftLanguageModes: [.v6]
)
