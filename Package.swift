// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftPEFT",
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "PEFT", targets: ["PEFT"]),
        .library(name: "Training", targets: ["Training"]),
        .executable(name: "peft", targets: ["peft"]),
        .executable(name: "peft-bench", targets: ["peft-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The only C in the project: SIMD micro-kernels with runtime CPU dispatch, and the
        // thread pool that runs them.
        .target(name: "CKernels"),
        .target(name: "TensorCore", dependencies: ["CKernels"]),
        .target(name: "NN", dependencies: ["TensorCore"]),
        .target(name: "Formats", dependencies: ["TensorCore"]),
        .target(name: "PEFT", dependencies: ["TensorCore", "NN", "Formats"]),
        .target(name: "Models", dependencies: ["TensorCore", "NN", "Formats"]),
        .target(name: "Training", dependencies: ["TensorCore", "NN", "Formats", "Models", "PEFT"]),
        .executableTarget(name: "peft", dependencies: [
            "TensorCore", "NN", "Formats", "Models", "PEFT", "Training",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "peft-bench", dependencies: [
            "TensorCore", "NN", "Formats", "Models", "PEFT", "Training",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PEFTTests", dependencies: ["PEFT", "Models", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "TestSupport"]),
    ]
)
