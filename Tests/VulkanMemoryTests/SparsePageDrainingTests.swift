import CVulkan
import Testing
@testable import VulkanMemory

/// `AllocatorOptions.drainsSparsePages`: a page left holding a few allocations stops taking
/// new ones and goes back to the driver once they are freed, with nothing moved. Pages of
/// 1 MiB hold 64 allocations of 16 KiB: three full pages, then all but two allocations of
/// the third and every other one of the first two are freed, so the third holds 2 of the
/// type's 66 allocations in a third of its committed memory.
@Suite("Sparse page draining")
struct SparsePageDrainingTests {
    static let mebibyte: UInt64 = 1 << 20
    static let size: UInt64 = 16 << 10
    static let perPage = 64

    static func allocator(_ context: VulkanContext, draining: Bool = true) -> Allocator {
        var options = AllocatorOptions()
        options.setPageSize(mebibyte, forEveryTypeOf: MemoryProperties(device: context.device))
        options.drainsSparsePages = draining
        return Allocator(device: context.device, options: options)
    }

    static func allocate(_ allocator: Allocator, _ strategy: AllocationStrategy = .bestFit) throws -> Allocation {
        try allocator.allocate(MemoryRequirements(size: size), usage: .gpuOnly,
                               options: AllocationOptions(strategy: strategy))
    }

    /// The allocations still live in the full pages, the sparse page's memory and its two
    /// allocations.
    struct Layout {
        var live: [Allocation]
        var sparse: VkDeviceMemory
        var leftInSparse: [Allocation]
    }

    static func makeSparsePage(_ allocator: Allocator) throws -> Layout {
        let all = try (0..<3 * perPage).map { _ in try allocate(allocator) }
        var memories: [VkDeviceMemory] = []
        for allocation in all where !memories.contains(allocation.memory) { memories.append(allocation.memory) }
        #expect(memories.count == 3, "64 allocations of 16 KiB fill a 1 MiB page")
        let sparse = memories[2]
        let inSparse = all.filter { $0.memory == sparse }
        for allocation in inSparse.dropFirst(2) { try allocator.free(allocation) }
        var live: [Allocation] = []
        for (position, allocation) in all.filter({ $0.memory != sparse }).enumerated() {
            if position.isMultiple(of: 2) { try allocator.free(allocation) } else { live.append(allocation) }
        }
        return Layout(live: live, sparse: sparse, leftInSparse: Array(inSparse.prefix(2)))
    }

    /// `count` allocations each freed at once; where each went. First fit takes the sparse
    /// page's one large free range before the 16 KiB holes of the full pages (the first
    /// size class whose every range fits), so where nothing blocks it, the churn goes there.
    static func churn(_ allocator: Allocator, _ count: Int) throws -> [VkDeviceMemory] {
        try (0..<count).map { _ in
            let allocation = try allocate(allocator, .firstFit)
            try allocator.free(allocation)
            return allocation.memory
        }
    }

    @Test("a sparse page takes nothing new and is released once its allocations are freed")
    func sparsePageDrainsAndGoes() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context)
            #expect(AllocatorOptions().drainsSparsePages, "on by default")
            let layout = try Self.makeSparsePage(allocator)
            let calls = allocator.ledger.callCount
            let pages = allocator.statistics().pages
            // The type looks for a sparse page every 1,024 frees; 126 happened above.
            _ = try Self.churn(allocator, Int(AllocatorOptions().sparseCheckInterval))
            allocator._checkInvariants()
            #expect(allocator.statistics().pages == pages, "a draining page's room is still reported free")
            let after = try Self.churn(allocator, 200)
            #expect(!after.contains(layout.sparse), "a draining page takes no new allocation while others have room")
            #expect(allocator.ledger.callCount == calls, "draining makes no new page")
            allocator._checkInvariants()
            #expect(allocator.usage.pageCount == 3)
            try allocator.free(layout.leftInSparse[0])
            #expect(allocator.usage.pageCount == 3, "still holds an allocation")
            try allocator.free(layout.leftInSparse[1])
            // keep(1) would keep an emptied page; a drained one goes back to the driver.
            #expect(allocator.usage.pageCount == 2)
            #expect(allocator.usage.emptyPageCount == 0)
            #expect(allocator.ledger.objectCount == 2)
            #expect(allocator.usage.committedBytes == 2 * Self.mebibyte)
            allocator._checkInvariants()
            for allocation in layout.live { try allocator.free(allocation) }
            allocator._checkInvariants()
        }
    }

    @Test("switched off: the sparse page stays and is kept once empty, as keep(1) says")
    func switchedOff() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context, draining: false)
            let layout = try Self.makeSparsePage(allocator)
            let after = try Self.churn(allocator, Int(AllocatorOptions().sparseCheckInterval) + 200)
            #expect(after.suffix(200).allSatisfy { $0 == layout.sparse }, "nothing keeps the churn out of the sparse page")
            for allocation in layout.leftInSparse { try allocator.free(allocation) }
            #expect(allocator.usage.pageCount == 3)
            #expect(allocator.usage.emptyPageCount == 1)
            allocator._checkInvariants()
            for allocation in layout.live { try allocator.free(allocation) }
        }
    }

    /// Whether the page of `memory` is draining.
    static func isDraining(_ allocator: Allocator, _ memory: VkDeviceMemory) -> Bool {
        allocator.pools.contains { pool in
            pool.state.withLock { state in state.pages.contains { $0.handle == memory && $0.isDraining } }
        }
    }

    /// A call that fails after one of its placements took a draining page's room back
    /// leaves the page draining, as before the call (it used to leave it an ordinary page,
    /// kept once empty), and released once empty as its drain says.
    @Test("a failed call gives a draining page its drain back")
    func failedCallRestartsTheDrain() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context)
            let layout = try Self.makeSparsePage(allocator)
            _ = try Self.churn(allocator, Int(AllocatorOptions().sparseCheckInterval))
            try #require(Self.isDraining(allocator, layout.sparse))
            let filling = try (0..<Self.perPage).map { _ in try Self.allocate(allocator) }
            let calls = allocator.ledger.callCount
            // The first takes the draining page's room; the second fits no memory type.
            let takes = MemoryRequirements(size: Self.size)
            let fitsNoType = MemoryRequirements(size: Self.size, memoryTypeBits: 0)
            #expect {
                _ = try allocator.allocate(many: [takes, fitsNoType], .usage(.gpuOnly))
            } throws: { error in
                guard case .manyFailed(index: 1, count: 2, _) = error as? AllocationError else { return false }
                return true
            }
            #expect(Self.isDraining(allocator, layout.sparse), "the failed call ended the drain")
            #expect(allocator.ledger.callCount == calls)
            allocator._checkInvariants()
            // The drain goes on as it was: the page goes back to the driver with its last
            // allocation, whatever keep(1) says.
            for allocation in layout.leftInSparse { try allocator.free(allocation) }
            #expect(allocator.usage.pageCount == 2 && allocator.usage.emptyPageCount == 0,
                    "\(allocator.usage.pageCount) pages, \(allocator.usage.emptyPageCount) empty")
            for allocation in layout.live + filling { try allocator.free(allocation) }
            allocator._checkInvariants()
        }
    }

    /// The same for a batch whose contiguous group took the draining page's room, and whose
    /// next group then found no memory: the group's range is the placement undone.
    @Test("a failed batch gives a draining page its drain back when a group took its room", needsLavapipe)
    func failedBatchRestartsTheDrainAGroupEnded() throws {
        // Two groups of one member each: device-local memory, then host-visible memory,
        // for which the profiled device refuses every new page.
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            var options = AllocatorOptions()
            options.setPageSize(Self.mebibyte, forEveryTypeOf: MemoryProperties(device: device))
            let allocator = Allocator(device: device, options: options)
            let layout = try Self.makeSparsePage(allocator)
            _ = try Self.churn(allocator, Int(AllocatorOptions().sparseCheckInterval))
            try #require(Self.isDraining(allocator, layout.sparse))
            let filling = try (0..<Self.perPage).map { _ in try Self.allocate(allocator) }
            let pages = allocator.usage.pageCount
            // The draining page is the only one of the type with room for the first group.
            let roomy = allocator.statistics().pages.filter {
                $0.memoryTypeIndex == filling[0].memoryTypeIndex && $0.largestFreeRange >= Self.size
            }
            try #require(roomy.count == 1 && roomy[0].allocationCount == layout.leftInSparse.count,
                         "the first group would go elsewhere: \(roomy)")
            let batch = ResourceBatch()
                .nextBuffer(size: Self.size, usage: .vertexBuffer, memory: .usage(.gpuOnly))
                .nextBuffer(size: Self.size, usage: .transferSource, memory: .usage(.staging))
            profiled.failEveryAllocateMemory(true)
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: .contiguous) }
            profiled.failEveryAllocateMemory(false)
            #expect(Self.isDraining(allocator, layout.sparse), "the failed batch ended the drain")
            #expect(allocator.usage.pageCount == pages)
            allocator._checkInvariants()
            for allocation in layout.leftInSparse { try allocator.free(allocation) }
            #expect(allocator.usage.pageCount == pages - 1 && allocator.usage.emptyPageCount == 0,
                    "\(allocator.usage.pageCount) pages, \(allocator.usage.emptyPageCount) empty")
            for allocation in layout.live + filling { try allocator.free(allocation) }
            allocator.freeUnusedPages()
            allocator._checkInvariants()
        }
    }

    @Test("a request with no room elsewhere takes the draining page's room back, with no new page")
    func roomTakenBack() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context)
            let layout = try Self.makeSparsePage(allocator)
            _ = try Self.churn(allocator, Int(AllocatorOptions().sparseCheckInterval))
            #expect(!(try Self.churn(allocator, 8)).contains(layout.sparse), "draining")
            let calls = allocator.ledger.callCount
            // The 64 holes of the full pages first, then the draining page.
            let filling = try (0..<Self.perPage).map { _ in try Self.allocate(allocator) }
            #expect(!filling.contains { $0.memory == layout.sparse })
            let taken = try Self.allocate(allocator)
            #expect(taken.memory == layout.sparse)
            #expect(allocator.ledger.callCount == calls, "the draining page's room, not a new page")
            #expect(try Self.churn(allocator, 8).allSatisfy { $0 == layout.sparse }, "no longer draining")
            allocator._checkInvariants()
            // An ordinary page again: emptied, it is kept as keep(1) says.
            for allocation in layout.leftInSparse + [taken] { try allocator.free(allocation) }
            #expect(allocator.usage.pageCount == 3)
            #expect(allocator.usage.emptyPageCount == 1)
            allocator._checkInvariants()
            for allocation in layout.live + filling { try allocator.free(allocation) }
            allocator._checkInvariants()
        }
    }
}
