import CVulkan
import Testing
import VulkanMemory

/// An allocator with margins checked for overruns and fill patterns (README).
func corruptionDetection(_ context: VulkanContext) throws -> Allocator {
    // README: corruption-detection
    var options = AllocatorOptions()
    options.detectCorruption = true
    options.initializeAllocations = true
    let debugAllocator = Allocator(device: context.device, options: options)
    // ... later, e.g. once a frame:
    for report in try debugAllocator.checkCorruption() { print(report) }
    // README: end
    return debugAllocator
}

/// A buffer and an image sharing one allocation (README).
func aliasing(_ allocator: Allocator, scratchInfo: VkBufferCreateInfo, targetInfo: VkImageCreateInfo) throws {
    // README: aliasing
    let transient = try allocator.allocate(MemoryRequirements(size: 1 << 20, alignment: 1 << 16), usage: .gpuOnly,
                                           options: AllocationOptions(name: "transient", canAlias: true))
    let scratch = try allocator.createAliasingBuffer(scratchInfo, aliasing: transient)  // offset 0
    let target = try allocator.createAliasingImage(targetInfo, aliasing: transient)     // the same bytes
    // … barriers between their uses, as Vulkan's aliasing rules ask
    try allocator.destroyAliasingBuffer(scratch)
    try allocator.destroyAliasingImage(target)
    try allocator.free(transient)                                 // .aliasesLive while an alias lives
    // README: end
}

@Suite("README samples: debugging and aliasing")
struct DebuggingSampleTests {
    @Test func corruptionDetectionFindsAnOverrun() throws {
        try withSampleDevice { context in
            let allocator = try corruptionDetection(context)
            let allocation = try allocator.allocate(MemoryRequirements(size: 256), usage: .dynamic,
                                                    options: AllocationOptions(mapped: true, name: "overrun"))
            #expect(try allocator.checkCorruption().isEmpty)
            // One byte past the end, through the raw mapping: the back margin.
            let base = try #require(allocation.mappedPointer)
            (base + 256).storeBytes(of: 0x42, as: UInt8.self)
            let reports = try allocator.checkCorruption()
            #expect(reports.count == 1 && reports.first?.allocation.name == "overrun", "\(reports)")
            try allocator.free(allocation)
            #expect(allocator.takeCorruptionReports().count == 1)
        }
    }

    @Test func aliasesShareOneAllocation() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let scratchInfo = BufferDescription(size: 64 << 10, usage: [.storageBuffer]).exclusiveCreateInfo
            let targetInfo = ImageDescription(width: 64, height: 64, usage: [.sampled]).exclusiveCreateInfo
            try aliasing(allocator, scratchInfo: scratchInfo, targetInfo: targetInfo)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
