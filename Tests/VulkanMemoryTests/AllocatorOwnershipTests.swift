import CVulkan
import Testing
@testable import VulkanMemory

/// Inputs from a review: sizes near the top of UInt64, allocations passed to an allocator
/// that did not make them, names outliving their allocations.
@Suite("Allocator ownership and extreme inputs")
struct AllocatorOwnershipTests {
    @Test func sizesNearTheTopOfUInt64AreRefusedWithoutTrapping() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let keeper = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            for policy in [AllocationOptions.DedicatedPolicy.automatic, .never, .always] {
                #expect {
                    _ = try allocator.allocate(MemoryRequirements(size: .max - 1), usage: .gpuOnly,
                                               options: AllocationOptions(dedicated: policy))
                } throws: { error in
                    guard case AllocationError.outOfMemory(_, _, _, _, let reason) = error else { return false }
                    return reason.contains("larger than heap")
                }
                #expect(throws: AllocationError.self) {
                    _ = try allocator.allocate(MemoryRequirements(size: 16, alignment: 1 << 62), usage: .gpuOnly,
                                               options: AllocationOptions(dedicated: policy))
                }
            }
            #expect(DeviceMemory.atomAlignedRange(offset: .max - 10, size: 100, atom: 64, memorySize: 1 << 20).size <= 1 << 20)
            try allocator.free(keeper)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func allocationsOfAnotherAllocatorAreNotTaken() throws {
        try withTestDevice { context in
            let a = Allocator(device: context.device)
            let b = Allocator(device: context.device)
            let batch = ResourceBatch
                .buffer(size: 4096, usage: .storageBuffer)
                .nextBuffer(size: 8192, usage: .storageBuffer)
            // Both get the same slot numbers for their group, pages and handles.
            let ours = try batch.bind(a, strategy: .contiguous)
            let theirs = try batch.bind(b, strategy: .contiguous)
            #expect(throws: AllocationError.unknownAllocation) { try a.destroy(theirs[0]) }
            #expect(throws: AllocationError.self) { _ = try a.map(theirs[1]) }
            #expect(!a.isLive(theirs[0].allocation))
            #expect(a.isLive(ours[0].allocation) && a.isLive(ours[1].allocation))

            let pageA = try a.allocate(MemoryRequirements(size: 100), usage: .staging)
            let pageB = try b.allocate(MemoryRequirements(size: 100), usage: .staging)
            #expect(throws: AllocationError.unknownAllocation) { _ = try a.map(pageB) }
            #expect(throws: AllocationError.unknownAllocation) { try a.free(pageB) }
            let dedicatedA = try a.allocate(MemoryRequirements(size: 100), usage: .staging,
                                            options: AllocationOptions(dedicated: .always))
            let dedicatedB = try b.allocate(MemoryRequirements(size: 100), usage: .staging,
                                            options: AllocationOptions(dedicated: .always))
            #expect(throws: AllocationError.unknownAllocation) { _ = try a.map(dedicatedB) }
            #expect(throws: AllocationError.unknownAllocation) { try a.free(dedicatedB) }

            try a.destroy(many: ours)
            try b.destroy(many: theirs)
            for allocation in [pageA, dedicatedA] { try a.free(allocation) }
            for allocation in [pageB, dedicatedB] { try b.free(allocation) }
            #expect(a.usage.allocationCount == 0 && b.usage.allocationCount == 0)
        }
    }

    @Test func aGroupNameDoesNotStickToTheNextAllocation() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let group = try ResourceBatch.buffer(size: 4096, usage: .storageBuffer)
                .nextBuffer(size: 4096, usage: .storageBuffer)
                .bind(allocator, strategy: .contiguous)
            #expect(allocator.liveAllocations().map(\.name) == ["contiguous group of 2"])
            try allocator.destroy(many: group)
            let unnamed = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            #expect(allocator.liveAllocations().map(\.name) == [nil])
            try allocator.free(unnamed)
        }
    }

    @Test func imagesWithAZeroExtentAreRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let batch = ResourceBatch.image(width: 0, height: 16, usage: .sampled)
            #expect(throws: AllocationError.zeroSize) { _ = try batch.bind(allocator) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
