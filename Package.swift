// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "dyserve",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dyserve", targets: ["dyserve"]),
        .library(name: "DyNN", targets: ["DyNN"]),
        .library(name: "DyServe", targets: ["DyServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // The inference core: tensors, ops, model format, engine, traces. Knows nothing of HTTP.
        .target(name: "DyNN", dependencies: ["CDNNL"]),
        // oneDNN (Debian libdnnl-dev, no pkg-config file): the fast backend's convolutions.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // GNU libmicrohttpd (Debian libmicrohttpd-dev).
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
                       providers: [.apt(["libmicrohttpd-dev"])]),
        // The system zlib (Debian zlib1g-dev), for gzip/deflate request and response bodies.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The service: config, registry, codecs, routes, metrics, the HTTP server.
        .target(
            name: "DyServe",
            dependencies: [
                "DyNN",
                "CMicroHTTPD",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "dyserve",
            dependencies: [
                "DyNN",
                "DyServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DyNNTests",
            dependencies: ["DyNN"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "DyServeTests",
            dependencies: ["DyServe", "DyNN"]
        ),
        // The command-line tool's own logic (flag checks), through @testable import of the executable.
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["dyserve", "DyNN"]
        ),
    ]
)

// libFuzzer targets (Tests/Fuzz, docs/fuzzing.md), declared only when DYSERVE_FUZZ is set:
// scripts/fuzz.sh builds them with `--sanitize fuzzer --sanitize address` into .build-fuzz. They
// have no `main` (libFuzzer supplies it), so the ordinary build must not see them; and in that
// build the service's executable, whose `main` would clash with libFuzzer's, is left out (with the
// tests of its command line, which need it), so one `swift build` builds every target.
if Context.environment["DYSERVE_FUZZ"] != nil {
    package.products.removeAll { $0.name == "dyserve" }
    package.targets.removeAll { $0.name == "dyserve" || $0.name == "CommandLineTests" }
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["DyServe"], path: "Tests/Fuzz/FuzzSupport"))
    for name in ["FuzzInferJSON", "FuzzV2Body", "FuzzTensorShape", "FuzzNpy", "FuzzSafeTensors", "FuzzModelJSON",
                 "FuzzContentCoding"] {
        package.targets.append(.executableTarget(
            name: name,
            dependencies: ["FuzzSupport", "DyServe", "DyNN"],
            path: "Tests/Fuzz/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
    }
}
