// swift-tools-version: 6.1
// swift-vulkan-memory: GPU memory management for Vulkan, in Swift.
import PackageDescription

let package = Package(
    name: "swift-vulkan-memory",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VulkanMemory", targets: ["VulkanMemory"]),
        .library(name: "Suballocation", targets: ["Suballocation"]),
        .library(name: "VulkanMemoryWorkloads", targets: ["Workloads"]),
        // The swift-metrics observer, a product of its own so VulkanMemory depends on no
        // metrics package: only those who add it pay for it.
        .library(name: "VulkanMemoryMetrics", targets: ["VulkanMemoryMetrics"]),
        .executable(name: "vkmem", targets: ["vkmem"]),
        .executable(name: "vkmem-example", targets: ["ComputeRoundTrip"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // VulkanMemoryMetrics alone (and its tests, through MetricsTestKit).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // `make docs`: the DocC catalogs of VulkanMemory and Suballocation (a command plugin;
        // nothing of it is linked into the libraries).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The Vulkan headers with VK_NO_PROTOTYPES: every entry point is loaded at run time.
        .target(name: "CVulkan"),
        // Range suballocation (TLSF, linear); knows nothing of Vulkan.
        .target(name: "Suballocation"),
        .target(
            name: "VulkanMemory",
            dependencies: [
                "CVulkan", "Suballocation",
                .product(name: "Logging", package: "swift-log"),
                // Statistics.yaml(): YAML that parses, unlike the seed library's hand-printed one.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // An AllocationObserver reporting through swift-metrics: gauges per heap, counters of calls.
        .target(
            name: "VulkanMemoryMetrics",
            dependencies: ["VulkanMemory", .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // Benchmark workloads shared by `vkmem bench` and the Benchmarks package.
        .target(name: "Workloads", dependencies: ["Suballocation", "VulkanMemory"]),
        .executableTarget(
            name: "vkmem",
            dependencies: [
                "VulkanMemory", "Workloads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The example program: a mesh, a texture and a compute shader's data through the
        // transfer helper. The shader's GLSL and SPIR-V sit in Shaders/ (`make shaders`);
        // the SPIR-V is embedded as Swift words so the binary needs no file beside it.
        .executableTarget(
            name: "ComputeRoundTrip",
            dependencies: ["VulkanMemory", "CVulkan"],
            path: "Examples/ComputeRoundTrip",
            exclude: ["Shaders"]
        ),
        .testTarget(name: "SuballocationTests", dependencies: ["Suballocation"]),
        // zlib (Debian's zlib1g-dev), for the tests alone: the memory map's browser test
        // inflates Chromium's PNG screenshot to read its pixels.
        .systemLibrary(name: "CZlib", path: "Tests/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Depends on VulkanMemory alone: proves `import VulkanMemory` is all a dependent needs.
        .testTarget(name: "VulkanMemoryConsumerTests", dependencies: ["VulkanMemory"]),
        // The README's and the DocC articles' code samples, each a function run on lavapipe,
        // so the documented code is known to compile and to work.
        .testTarget(
            name: "DocumentationSampleTests",
            dependencies: ["VulkanMemory", "Suballocation"]
        ),
        .testTarget(
            name: "VulkanMemoryMetricsTests",
            dependencies: [
                "VulkanMemoryMetrics", "VulkanMemory",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "WorkloadsTests", dependencies: ["Workloads", "VulkanMemory", "CVulkan"]),
        .testTarget(
            name: "VulkanMemoryTests",
            dependencies: [
                "VulkanMemory", "CVulkan", "CZlib",
                .product(name: "Yams", package: "Yams"),
            ],
            // The buffer arena's compute test shader (GLSL and SPIR-V, `make shaders`); its
            // words are compiled in from SlicesShader+SPIRV.swift.
            exclude: ["Shaders"],
            // The 46 real devices' memory tables (Fixtures/README.md says where they come from).
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
