// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "dyserve",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dyserve", targets: ["dyserve"]),
        .library(name: "DyNN", targets: ["DyNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "DyNN"),
        .executableTarget(
            name: "dyserve",
            dependencies: [
                "DyNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DyNNTests",
            dependencies: ["DyNN"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
