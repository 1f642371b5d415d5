// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftPEFT",
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Formats", targets: ["Formats"]),
        .executable(name: "peft-bench", targets: ["peft-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The only C in the project: SIMD micro-kernels with runtime CPU dispatch.
        .target(name: "CKernels"),
        .target(name: "TensorCore", dependencies: ["CKernels"]),
        .target(name: "Formats", dependencies: ["TensorCore"]),
        .executableTarget(name: "peft-bench", dependencies: [
            "TensorCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TestSupport"]),
    ]
)
