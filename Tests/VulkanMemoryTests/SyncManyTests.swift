import Testing
@testable import VulkanMemory

/// `Allocator.flush(_:)` / `invalidate(_:)` of many ranges (VMA's `vmaFlushAllocations`,
/// `vmaInvalidateAllocations`): one Vulkan call, whole atoms, nothing on coherent memory,
/// and a bad range refused before any call.
@Suite("Flushing and invalidating many allocations")
struct SyncManyTests {
    /// A refused range maps nothing: the dedicated memory before it in the list stays
    /// unmapped, and an allocation a host copy refuses gets no `.mapped` event (observers
    /// and recordings used to see a map of a call that failed).
    @Test func refusedRangesMapNothing() throws {
        try withTestDevice { context in
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            let allocator = Allocator(device: context.device, options: options)
            let a = try allocator.allocate(MemoryRequirements(size: 300), usage: .staging)
            let b = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging,
                                           options: AllocationOptions(dedicated: .always))
            func maps() -> Int { log.all.filter { if case .mapped = $0 { true } else { false } }.count }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 0, size: 4097, limit: b.size))) {
                try allocator.flush([AllocationRange(b, size: 4097)])
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 200, size: 200, limit: a.size))) {
                try allocator.invalidate([AllocationRange(b), AllocationRange(a, offset: 200, size: 200)])
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 4000, size: 200, limit: b.size))) {
                try allocator.copyMemory([UInt8](repeating: 1, count: 200), to: b, at: 4000)
            }
            var bytes = [UInt8](repeating: 0, count: 400)
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 0, size: 400, limit: a.size))) {
                try bytes.withUnsafeMutableBytes { try allocator.copyMemory(from: a, into: $0) }
            }
            #expect(maps() == 0, "\(log.all)")
            func dedicatedIsMapped() -> Bool? { allocator.statistics().dedicated.first?.mapped }
            #expect(dedicatedIsMapped() == false, "a refused flush mapped the dedicated memory")
            try allocator.flush([AllocationRange(b)])
            #expect(dedicatedIsMapped() == true)
            try allocator.free(a)
            try allocator.free(b)
        }
    }

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
