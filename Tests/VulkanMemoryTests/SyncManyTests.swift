import Testing
@testable import VulkanMemory

/// `Allocator.flush(_:)` / `invalidate(_:)` of many ranges (VMA's `vmaFlushAllocations`,
/// `vmaInvalidateAllocations`): one Vulkan call, whole atoms, nothing on coherent memory,
/// and a bad range refused before any call.
@Suite("Flushing and invalidating many allocations")
struct SyncManyTests {
    @Test func coherentMemoryNeedsNoCallAndBadRangesAreTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let a = try allocator.allocate(MemoryRequirements(size: 300), usage: .staging)
            let b = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging,
                                           options: AllocationOptions(dedicated: .always))
            try allocator.flush([AllocationRange(a), AllocationRange(b, offset: 100, size: 200)])
            try allocator.invalidate([AllocationRange(a, offset: 299), AllocationRange(b)])
            try allocator.flush([])
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 200, size: 200, limit: a.size))) {
                try allocator.flush([AllocationRange(b), AllocationRange(a, offset: 200, size: 200)])
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 301, size: 0, limit: a.size))) {
                try allocator.invalidate([AllocationRange(a, offset: 301)])
            }
            try allocator.free(a)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.flush([AllocationRange(b), AllocationRange(a)]) }
            let other = Allocator(device: context.device)
            #expect(throws: AllocationError.unknownAllocation) { try other.invalidate([AllocationRange(b)]) }
            try allocator.free(b)
        }
    }

    /// Intel's read-back type is cached and not coherent: three allocations (two on pages,
    /// one dedicated) go to the driver in one call each way, in whole atoms (the profiled
    /// device flags any range off the atom grid), and a list with one bad range calls
    /// nothing.
    @Test(needsLavapipe) func nonCoherentMemoryIsSynchronizedInOneCall() throws {
        try withProfiledDevice(try realProfile("Intel(R) HD Graphics 500 (APL 2)")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let request = MemoryRequirements(size: 1000, alignment: 4)
            let first = try allocator.allocate(request, usage: .readback)
            let second = try allocator.allocate(request, usage: .readback)
            let third = try allocator.allocate(request, usage: .readback, options: AllocationOptions(dedicated: .always))
            let type = first.memoryTypeIndex
            #expect(!allocator.properties.types[type].isHostCoherent)
            #expect(second.memoryTypeIndex == type && third.memoryTypeIndex == type)
            let ranges = [AllocationRange(first), AllocationRange(second, offset: 3, size: 70), AllocationRange(third)]

            let (calls, flushes) = (profiled.syncCallCount, profiled.flushCounts[type])
            try allocator.flush(ranges)
            #expect(profiled.syncCallCount == calls + 1)
            #expect(profiled.flushCounts[type] == flushes + 3)

            let invalidates = profiled.invalidateCounts[type]
            try allocator.invalidate(ranges)
            #expect(profiled.syncCallCount == calls + 2)
            #expect(profiled.invalidateCounts[type] == invalidates + 3)

            #expect(throws: AllocationError.self) {
                try allocator.flush(ranges + [AllocationRange(first, offset: 0, size: first.size + 1)])
            }
            #expect(profiled.syncCallCount == calls + 2)
            for allocation in [first, second, third] { try allocator.free(allocation) }
            allocator.freeUnusedPages()
        }
    }
}
