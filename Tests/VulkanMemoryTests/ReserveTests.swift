import Testing
@testable import VulkanMemory

/// `Allocator.reserve`: memory committed up front and kept until released.
@Suite("Reservations")
struct ReserveTests {
    @Test func reservedPagesServeAllocationsAndStayWhenEmpty() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            let added = try allocator.reserve(20 << 20, usage: .gpuOnly)
            let reserved = allocator.usage
            #expect(added >= 20 << 20 && reserved.reservedBytes == added && reserved.committedBytes == added)
            // 8 MiB pages: 20 MiB take three, the last sized to what was still needed.
            #expect(reserved.pageCount == 3)
            #expect(reserved.emptyPageCount == 0, "reserved pages are not counted as releasable")
            let pages = try allocator.statistics().pages
            #expect(pages.count == 3 && pages.allSatisfy(\.reserved))
            let calls = reserved.deviceMemoryAllocations
            var live = try (0..<40).map { _ throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: 256 << 10, alignment: 256), usage: .gpuOnly)
            }
            #expect(allocator.usage.deviceMemoryAllocations == calls, "10 MiB fit in the reservation")
            for allocation in live { try allocator.free(allocation) }
            live = []
            #expect(allocator.freeUnusedPages() == 0)
            #expect(allocator.usage.committedBytes == added)
            // Topping up to what is already reserved adds nothing.
            #expect(try allocator.reserve(20 << 20, usage: .gpuOnly) == 0)
            // Released, the empty pages go (all but the one kept empty by default).
            let released = allocator.releaseReservations()
            #expect(released > 0 && allocator.usage.reservedBytes == 0)
            #expect(allocator.usage.pageCount == allocator.options.emptyPages.pagesKeptPerType)
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    /// A remainder is not worth a page of its own below 1 MiB.
    @Test func noReservedPageIsTiny() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            try allocator.reserve((8 << 20) + 1, usage: .gpuOnly)
            #expect(try allocator.statistics().pages.map(\.size) == [8 << 20, 1 << 20])
            allocator.releaseReservations()
        }
    }

    @Test func aReservationPastTheHeapCapLeavesNothingBehind() throws {
        try withTestDevice { context in
            let properties = MemoryProperties(device: context.device)
            // The heap reservations for GPU-only memory come from is capped; the allocations
            // below are kept to its types, so that they cannot go to another heap instead.
            let heap = Allocator(device: context.device).expectedType(for: .gpuOnly).heapIndex
            let bits = properties.typeBits(onHeap: heap)
            var options = AllocatorOptions()
            options.setPageSize(8 << 20, forEveryTypeOf: properties)
            options.heapSizeLimits[heap] = 12 << 20
            let allocator = Allocator(device: context.device, options: options)
            #expect(throws: AllocationError.self) { try allocator.reserve(20 << 20, usage: .gpuOnly) }
            let usage = allocator.usage
            #expect(usage.committedBytes == 0 && usage.pageCount == 0 && usage.reservedBytes == 0)
            #expect(throws: AllocationError.zeroSize) { try allocator.reserve(0, usage: .gpuOnly) }
            // Within the cap it works, and allocations still respect the cap around it.
            try allocator.reserve(8 << 20, usage: .gpuOnly)
            #expect(allocator.usage.reservedBytes == 8 << 20)
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: 6 << 20, memoryTypeBits: bits), usage: .gpuOnly,
                                           options: AllocationOptions(dedicated: .never))
                _ = try allocator.allocate(MemoryRequirements(size: 6 << 20, memoryTypeBits: bits), usage: .gpuOnly,
                                           options: AllocationOptions(dedicated: .never))
            }
        }
    }

    /// Defragmentation never empties a reserved page (without the reservation, the same
    /// scattered pages are worth emptying).
    @Test(arguments: [false, true])
    func defragmentationLeavesReservedPagesAlone(reserved: Bool) throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            if reserved { try allocator.reserve(16 << 20, usage: .gpuOnly) }
            var live = try (0..<60).map { _ throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: 200 << 10, alignment: 256, kind: .linear), usage: .gpuOnly)
            }
            try keepEveryThird(&live, release: allocator.free)
            let pass = try allocator.beginDefragmentation()
            if reserved {
                #expect(pass.moves.isEmpty && pass.pagesToRelease == 0)
            } else {
                #expect(pass.pagesToRelease > 0)
            }
            for move in pass.moves { pass.ignore(move) }
            _ = pass.commit()
            #expect(allocator.usage.reservedBytes == (reserved ? 16 << 20 : 0))
            for allocation in live { try allocator.free(allocation) }
            allocator.releaseReservations()
        }
    }
}
