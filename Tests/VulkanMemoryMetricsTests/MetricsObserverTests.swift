import CVulkan
import MetricsTestKit
import Testing
import VulkanMemory
import VulkanMemoryMetrics

/// The observer's figures against the allocator's own (`usage`, `statistics()`), through
/// MetricsTestKit's recording backend. The backend is given to the observer rather than
/// bootstrapped globally: `MetricsSystem.bootstrap` may run once a process, and tests run
/// in parallel.
/// A device on lavapipe (or `VKMEM_DEVICE`) with the validation layer as `VKMEM_VALIDATION`
/// says, failing the test on any message the body caused.
private func withMetricsDevice(_ body: (VulkanDevice) throws -> Void) throws {
    var options = VulkanContext.Options()
    options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
    options.capabilities = [.memoryBudget]
    options.applicationName = "VulkanMemoryMetricsTests"
    let context = try VulkanContext(options: options)
    try body(context.device)
    let messages = context.validationLog?.drain() ?? []
    #expect(messages.isEmpty, "validation messages: \(messages)")
}

@Suite("MetricsObserver: swift-metrics gauges and counters")
struct MetricsObserverTests {
    private static func gauge(_ metrics: TestMetrics, _ name: String, heap: Int) throws -> Int64? {
        try metrics.expectGauge("vkmem_heap_\(name)_bytes", [("heap", "\(heap)")]).lastValue.map { Int64($0) }
    }

    @Test func gaugesAndCountersAgreeWithTheAllocator() throws {
        try withMetricsDevice { device in
            let metrics = TestMetrics()
            let observer = MetricsObserver(factory: metrics)
            var options = AllocatorOptions()
            options.observers = [observer]
            // Small caps, so one request is refused before the driver sees it.
            let properties = MemoryProperties(device: device)
            for heap in properties.heaps { options.heapSizeLimits[heap.index] = 16 << 20 }
            let allocator = Allocator(device: device, options: options)
            let requirements = MemoryRequirements(size: 1 << 20, alignment: 256, kind: .linear)
            var live: [Allocation] = []
            for index in 0..<8 {
                live.append(try allocator.allocate(requirements, usage: index % 2 == 0 ? .gpuOnly : .staging))
            }
            try allocator.free(live.removeLast())
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: 64 << 20, alignment: 256, kind: .linear),
                                           usage: .gpuOnly)
            }

            // The driver's usage and budget are the whole process's: tests running beside
            // this one move them up and down between any two reads (on the H200 they do),
            // so the gauges must hold a read of their own, within the heap.
            observer.refreshBudget()
            let statistics = allocator.statistics()
            for heap in statistics.heaps {
                #expect(try Self.gauge(metrics, "committed", heap: heap.index) == Int64(heap.committedBytes))
                for name in ["usage", "budget"] {
                    let gauge = try #require(try Self.gauge(metrics, name, heap: heap.index))
                    #expect(gauge >= 0 && gauge <= Int64(heap.size), "\(name) of heap \(heap.index)")
                }
            }
            let usage = allocator.usage
            let liveSum = try (0..<properties.heaps.count).map { try Self.gauge(metrics, "live", heap: $0) ?? 0 }.reduce(0, +)
            #expect(liveSum == Int64(usage.liveBytes))
            let committedSum = try (0..<properties.heaps.count)
                .map { try Self.gauge(metrics, "committed", heap: $0) ?? 0 }.reduce(0, +)
            #expect(committedSum == Int64(usage.committedBytes))
            #expect(try metrics.expectCounter("vkmem_allocations").totalValue == 8)
            #expect(try metrics.expectCounter("vkmem_device_memory_allocations").totalValue
                    == Int64(usage.deviceMemoryAllocations))
            // One refusal per candidate type the request was tried in: one on lavapipe, up to
            // one per GPU-only candidate on a GPU with several (the H200 has three).
            let candidates = MemoryTypeSelection(properties: properties, isDiscrete: device.info.type == .discreteGPU)
                .rankedTypes(for: .usage(.gpuOnly)).count
            let refusals = try metrics.expectCounter("vkmem_allocation_failures", [("reason", "heap_limit")]).totalValue
            #expect(refusals >= 1 && refusals <= Int64(candidates))
            for allocation in live { try allocator.free(allocation) }
            #expect(try (0..<properties.heaps.count).allSatisfy { try Self.gauge(metrics, "live", heap: $0) == 0 })
        }
    }

    @Test func defragmentationMovesAreCounted() throws {
        try withMetricsDevice { device in
            let metrics = TestMetrics()
            var options = AllocatorOptions()
            options.observers = [MetricsObserver(factory: metrics)]
            // `vkmem check`'s layout: 150 buffers of 20 to 170 KB over 8 MiB pages.
            options.hostPageSize = 8 << 20
            options.deviceLocalPageSize = 8 << 20
            let allocator = Allocator(device: device, options: options)
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            var buffers: [BoundBuffer] = []
            for index in 0..<150 as Range<UInt64> {
                info.size = 20_000 + index * 997
                buffers.append(try allocator.createBuffer(info, .usage(.staging)))
            }
            // Destroy two of every three, leaving holes a pass can close.
            for index in stride(from: buffers.count - 1, through: 0, by: -1) where index % 3 != 0 {
                try allocator.destroyBuffer(buffers.remove(at: index))
            }
            let pass = try allocator.beginDefragmentation()
            let moved = pass.moves.reduce(0) { $0 + Int64($1.destination.size) }
            for move in pass.moves {
                let position = try #require(buffers.firstIndex { $0.allocation == move.source })
                info.size = buffers[position].size
                let recreated = try allocator.createBuffer(info, boundTo: move.destination)
                try allocator.destroyBuffer(buffers[position])
                buffers[position] = recreated
            }
            let result = pass.commit()
            #expect(moved > 0)
            #expect(try metrics.expectCounter("vkmem_defragmentation_moved_bytes").totalValue == moved)
            #expect(result.releasedPages > 0)
            let usage = allocator.usage
            let live = try (0..<MemoryProperties(device: device).heaps.count)
                .map { try Self.gauge(metrics, "live", heap: $0) ?? 0 }.reduce(0, +)
            #expect(live == Int64(usage.liveBytes))
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
