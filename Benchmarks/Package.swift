// swift-tools-version: 6.1
// package-benchmark suite for the suballocation engine; kept out of the root package so
// that `make test` never builds the benchmark tooling. Run: swift package benchmark
import PackageDescription

let package = Package(
    name: "VulkanMemoryBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that the checkout's folder name does not matter.
        .package(name: "swift-vulkan-memory", path: ".."),
        // Only the malloc interposer: the runtime interposer is not needed for these
        // benchmarks (they count no ARC traffic).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VirtualBlockBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Suballocation", package: "swift-vulkan-memory"),
                .product(name: "VulkanMemoryWorkloads", package: "swift-vulkan-memory"),
            ],
            path: "Benchmarks/VirtualBlockBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ResourceBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VulkanMemory", package: "swift-vulkan-memory"),
                .product(name: "VulkanMemoryWorkloads", package: "swift-vulkan-memory"),
            ],
            path: "Benchmarks/ResourceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ThreadBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VulkanMemory", package: "swift-vulkan-memory"),
                .product(name: "VulkanMemoryWorkloads", package: "swift-vulkan-memory"),
            ],
            path: "Benchmarks/ThreadBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
