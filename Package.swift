// swift-tools-version: 6.0
// t2ialign — aligning text-to-image diffusion models with human preferences, on a CPU.
// Layers (an arrow means "imports"):
//   t2ialign (CLI) → Preference → Scoring → Diffusion → NN → Autograd → Kernels → OpenBLAS
//                    Datasets, ShapesWorld → ImageIO → libpng / libjpeg
import PackageDescription

/// Numeric targets are always optimised (debug SIMD code is ~500× slower) and use the build machine's
/// vector units (the package is built from source where it runs).
let numeric: [SwiftSetting] = [
    .unsafeFlags(["-O", "-target-cpu", "native", "-enforce-exclusivity=unchecked", "-Xcc", "-fno-math-errno"]),
]

let package = Package(
    name: "t2ialign",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "t2ialign", targets: ["t2ialign"]),
        .library(name: "T2IAlign", targets: ["Files", "Kernels", "Autograd", "NN", "ImageIO", "Datasets",
                                             "ShapesWorld", "Diffusion", "Preference", "Scoring"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libpng-dev, libjpeg-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        // libpng long-jumps and libjpeg exit()s on errors: this C shim catches both with setjmp.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // Atomic writes and JSON-lines helpers used by every layer that writes files.
        .target(name: "Files"),
        .target(name: "Kernels", dependencies: ["CBLAS"], swiftSettings: numeric),
        .target(name: "Autograd", dependencies: ["Kernels"], swiftSettings: numeric),
        .target(name: "NN", dependencies: ["Autograd", "Kernels", "Files"], swiftSettings: numeric),
        .target(name: "ImageIO", dependencies: ["CImageCodecs", "Files"], swiftSettings: numeric),
        .target(name: "Datasets", dependencies: ["ImageIO", "Kernels", "Files"], swiftSettings: numeric),
        .target(name: "ShapesWorld", dependencies: ["Datasets", "ImageIO", "Kernels", "Files"], swiftSettings: numeric),
        .target(name: "Diffusion", dependencies: ["NN", "Autograd", "Kernels", "ImageIO", "Datasets", "Files"], swiftSettings: numeric),
        // Personalization's user model builds on the frozen preference scorer (its shared, prompt-aware part).
        .target(name: "Preference", dependencies: ["Diffusion", "Scoring", "NN", "Autograd", "Datasets", "ShapesWorld", "ImageIO", "Files"],
                swiftSettings: numeric),
        .target(name: "Scoring", dependencies: ["NN", "Autograd", "Diffusion", "Datasets", "ShapesWorld", "ImageIO", "Files", "Kernels"],
                swiftSettings: numeric),
        .executableTarget(
            name: "t2ialign",
            dependencies: ["Files", "Kernels", "Autograd", "NN", "ImageIO", "Datasets", "ShapesWorld", "Diffusion",
                           "Preference", "Scoring",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // -enable-testing: Tests/CLITests use `@testable import t2ialign`, and release builds (how the
            // tests run) do not enable it by default. The CLI holds no numeric hot loops.
            swiftSettings: numeric + [.unsafeFlags(["-enable-testing"])]),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "Kernels"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Autograd", "Kernels", "Files"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ImageIO"], exclude: ["Fixtures"]),
        .testTarget(name: "ShapesWorldTests", dependencies: ["ShapesWorld", "Datasets", "ImageIO"]),
        .testTarget(name: "PreferenceTests", dependencies: ["Preference", "Scoring", "Diffusion", "Datasets", "NN", "Autograd", "Kernels", "Files", "ImageIO"]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "Datasets", "ShapesWorld", "Diffusion", "NN", "Autograd",
                                                        "Kernels", "ImageIO", "Files"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["t2ialign", "Diffusion", "Preference", "Scoring", "Datasets", "ImageIO", "NN", "Autograd", "Kernels"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "NN", "Autograd", "Kernels"], resources: [.copy("Fixtures")]),
    ]
)
