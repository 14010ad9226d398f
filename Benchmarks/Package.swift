// swift-tools-version: 6.1
import PackageDescription

/// Benchmarks for kmerl, kept in their own package so that `swift test` does not build them.
/// Each executable prints its figures; the scripts beside this file run them (release) together
/// with the reference tools (wfdb-python, NeuroKit2, PyTorch) on the same data.
let package = Package(
    name: "kmerl-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "kmerl", path: ".."),
    ],
    targets: [
        .executableTarget(name: "bench-formats", dependencies: [.product(name: "ECGFormats", package: "kmerl")]),
        .executableTarget(name: "bench-knowledge", dependencies: [.product(name: "Knowledge", package: "kmerl")]),
        .executableTarget(name: "bench-extraction", dependencies: [.product(name: "Knowledge", package: "kmerl")]),
        .executableTarget(
            name: "bench-signal",
            dependencies: [.product(name: "ECGSignal", package: "kmerl"), .product(name: "ECGFormats", package: "kmerl")]
        ),
        .executableTarget(
            name: "bench-classify-audit",
            dependencies: [.product(name: "Classification", package: "kmerl"), .product(name: "KMERLModel", package: "kmerl")]
        ),
        .executableTarget(
            name: "bench-classify",
            dependencies: [
                .product(name: "Classification", package: "kmerl"), .product(name: "ECGFormats", package: "kmerl"),
                .product(name: "ECGCore", package: "kmerl"),
            ]
        ),
        .executableTarget(
            name: "bench-classify-rate",
            dependencies: [
                .product(name: "ECGSignal", package: "kmerl"), .product(name: "ECGFormats", package: "kmerl"),
                .product(name: "ECGCore", package: "kmerl"),
            ]
        ),
        .executableTarget(
            name: "bench-model",
            dependencies: [.product(name: "KMERLModel", package: "kmerl"), .product(name: "ECGFormats", package: "kmerl")]
        ),
        .executableTarget(
            name: "bench-nightly",
            dependencies: [
                .product(name: "Classification", package: "kmerl"), .product(name: "Knowledge", package: "kmerl"),
                .product(name: "KMERLModel", package: "kmerl"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
