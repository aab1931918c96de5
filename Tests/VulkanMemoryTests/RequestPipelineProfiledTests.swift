import CVulkan
import Testing
@testable import VulkanMemory

/// The request-pipeline regressions that need more than lavapipe's one memory type, on
/// real GPUs' memory layouts presented over lavapipe (`withProfiledDevice`), under the
/// validation layer.
@Suite("One request pipeline on real layouts", needsLavapipe)
struct RequestPipelineProfiledTests {
    static let discrete = "NVIDIA H100 80GB HBM3"

    /// The first device-local type's heap filled (capped): `.contiguous` and `.privatePage`
    /// fall back to the next type every member accepts, as `.scatter` and `allocate` do.
    @Test(arguments: BindStrategy.allCases)
    func everyStrategyFallsBackWhenTheFirstHeapIsFull(_ strategy: BindStrategy) throws {
        try withProfiledDevice(try realProfile(Self.discrete)) { device in
            let probe = Allocator(device: device)
            let first = try #require(probe.rankedTypes(for: .usage(.gpuOnly)).first)
            let firstHeap = probe.properties.types[first].heapIndex
            var options = AllocatorOptions()
            options.heapSizeLimits[firstHeap] = 1 << 20
            let allocator = Allocator(device: device, options: options)
            let batch = ResourceBatch.buffer(size: 2 << 20, usage: .storageBuffer)
                .nextBuffer(size: 3 << 20, usage: .storageBuffer)
            let bound = try batch.bind(allocator, strategy: strategy)
            for resource in bound {
                #expect(allocator.properties.types[resource.allocation.memoryTypeIndex].heapIndex != firstHeap,
                        "\(strategy) placed a resource in the full heap")
            }
            try allocator.destroy(many: bound)
        }
    }

    /// `.gpuOnly` with `mapped: true` on a discrete GPU stays in video memory, unmapped
    /// (VMA's rule), rather than landing in system RAM because that can be mapped; on a
    /// type that can be mapped, the pointer comes.
    @Test func mappedIsIgnoredWhereTheTypeCannotBeMapped() throws {
        try withProfiledDevice(try realProfile(Self.discrete)) { device in
            let allocator = Allocator(device: device)
            let requirements = MemoryRequirements(size: 64 << 10, alignment: 256, kind: .linear)
            for dedicated in [AllocationOptions.DedicatedPolicy.never, .always] {
                let gpu = try allocator.allocate(requirements, usage: .gpuOnly,
                                                 options: AllocationOptions(dedicated: dedicated, mapped: true))
                let type = allocator.properties.types[gpu.memoryTypeIndex]
                #expect(type.isDeviceLocal && !type.isHostVisible)
                #expect(gpu.mappedPointer == nil)
                #expect(throws: AllocationError.memory(.notHostVisible(typeIndex: type.index, flags: type.flags))) {
                    _ = try allocator.map(gpu)
                }
                let staging = try allocator.allocate(requirements, usage: .staging,
                                                     options: AllocationOptions(dedicated: dedicated, mapped: true))
                #expect(staging.mappedPointer != nil)
                try allocator.free(gpu)
                try allocator.free(staging)
            }
        }
    }

    /// A `.dedicated` batch whose third resource passes a heap cap (every heap capped at
    /// 8 MiB, as on the H200 where this once left the statistics changed): the error leaves
    /// the allocator exactly as before.
    @Test(arguments: BindStrategy.allCases)
    func aBatchPastEveryHeapCapChangesNothing(_ strategy: BindStrategy) throws {
        try withProfiledDevice(try realProfile(Self.discrete)) { device in
            var options = AllocatorOptions()
            let heaps = MemoryProperties(device: device).heaps.indices
            for heap in heaps { options.heapSizeLimits[heap] = 8 << 20 }
            let allocator = Allocator(device: device, options: options)
            let warm = try allocator.allocate(MemoryRequirements(size: 1 << 20, kind: .linear), usage: .gpuOnly)
            let before = allocator.statistics()
            var usage = allocator.usage
            var batch = ResourceBatch()
            for _ in 0..<(heaps.count * 2 + 1) { batch = batch.nextBuffer(size: 3 << 20, usage: .storageBuffer) }
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: strategy) }
            #expect(allocator.statistics().sameAllocatorState(as: before))
            usage.deviceMemoryAllocations = allocator.usage.deviceMemoryAllocations
            #expect(allocator.usage == usage)
            try allocator.free(warm)
        }
    }
}
