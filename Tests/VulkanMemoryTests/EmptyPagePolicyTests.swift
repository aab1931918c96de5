import Testing
@testable import VulkanMemory

/// `AllocatorOptions.emptyPages`: which wholly free pages stay for reuse. Pages of 1 MiB
/// hold four 256 KiB allocations each, so 16 allocations make 4 pages.
@Suite("Empty page policy")
struct EmptyPagePolicyTests {
    static let mebibyte: UInt64 = 1 << 20
    static let pieces = 16
    static let pieceSize: UInt64 = 256 << 10

    static func allocator(_ context: VulkanContext, _ policy: EmptyPagePolicy) -> Allocator {
        var options = AllocatorOptions()
        options.setPageSize(mebibyte, forEveryTypeOf: MemoryProperties(device: context.device))
        options.emptyPages = policy
        return Allocator(device: context.device, options: options)
    }

    static func fill(_ allocator: Allocator) throws -> [Allocation] {
        try (0..<pieces).map { _ in try allocator.allocate(MemoryRequirements(size: pieceSize), usage: .gpuOnly) }
    }

    static func free(_ allocations: [Allocation], _ allocator: Allocator) throws {
        for allocation in allocations { try allocator.free(allocation) }
    }

    @Test("keepWithinBudget: a churn of frees and reallocations makes no new vkAllocateMemory")
    func churnReusesPages() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context, .keepWithinBudget(maxBytes: 64 * Self.mebibyte))
            var live = try Self.fill(allocator)
            let pages = allocator.usage.pageCount
            let calls = allocator.ledger.callCount
            #expect(pages == 4)
            for _ in 0..<5 {
                try Self.free(live, allocator)
                #expect(allocator.usage.emptyPageCount == pages, "every emptied page stays")
                live = try Self.fill(allocator)
            }
            #expect(allocator.ledger.callCount == calls, "no vkAllocateMemory after the first fill")
            try Self.free(live, allocator)
            // Released on demand.
            #expect(allocator.freeUnusedPages() == UInt64(pages) * Self.mebibyte)
            #expect(allocator.ledger.objectCount == 0)
        }
    }

    @Test("keep(1), the default, releases all but one emptied page and allocates again")
    func keepOneReallocates() throws {
        try withTestDevice { context in
            #expect(AllocatorOptions().emptyPages == .keep(1))
            let allocator = Self.allocator(context, .keep(1))
            let live = try Self.fill(allocator)
            let calls = allocator.ledger.callCount
            try Self.free(live, allocator)
            #expect(allocator.usage.pageCount == 1)
            try Self.free(try Self.fill(allocator), allocator)
            #expect(allocator.ledger.callCount == calls + 3)
            allocator.freeUnusedPages()
        }
    }

    @Test("keepWithinBudget: empty pages past the byte limit are released")
    func byteLimit() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context, .keepWithinBudget(maxBytes: 2 * Self.mebibyte))
            let live = try Self.fill(allocator)
            let calls = allocator.ledger.callCount
            try Self.free(live, allocator)
            #expect(allocator.usage.emptyPageCount == 2, "2 MiB of empty pages kept, no more")
            #expect(allocator.ledger.objectCount == 2)
            try Self.free(try Self.fill(allocator), allocator)
            #expect(allocator.ledger.callCount == calls + 2, "only the released pages are made again")
            allocator.freeUnusedPages()
            #expect(allocator.ledger.objectCount == 0)
        }
    }

    @Test("keepWithinBudget: once the heap is over budget, the next emptied page releases its heap's empty pages")
    func overBudget() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context, .keepWithinBudget(maxBytes: 64 * Self.mebibyte))
            try Self.free(try Self.fill(allocator), allocator)
            #expect(allocator.usage.emptyPageCount == 4)
            let one = try allocator.allocate(MemoryRequirements(size: Self.pieceSize), usage: .gpuOnly)
            let heap = allocator.properties.types[one.memoryTypeIndex].heapIndex
            // Other threads are allocating the whole heap: usage is past the budget.
            allocator.ledger.setBudgetInFlight(heap: heap, bytes: allocator.properties.heaps[heap].size)
            defer { allocator.ledger.setBudgetInFlight(heap: heap, bytes: 0) }
            try allocator.free(one)
            #expect(allocator.usage.pageCount == 0, "every empty page of the heap was released")
            #expect(allocator.ledger.objectCount == 0)
        }
    }

    @Test("releaseReservations applies the budget policy to the pages it frees")
    func reservationsFollowPolicy() throws {
        try withTestDevice { context in
            let allocator = Self.allocator(context, .keepWithinBudget(maxBytes: Self.mebibyte))
            try allocator.reserve(4 * Self.mebibyte, usage: .gpuOnly)
            let reservedPages = allocator.usage.pageCount
            #expect(reservedPages >= 2)
            let released = allocator.releaseReservations()
            #expect(allocator.usage.emptyPageCount == 1)
            #expect(released > 0)
            allocator.freeUnusedPages()
        }
    }

    @available(*, deprecated)
    @Test("the deprecated maxEmptyPagesPerType still reads and sets the keep count")
    func deprecatedCount() {
        var options = AllocatorOptions()
        #expect(options.maxEmptyPagesPerType == 1)
        options.maxEmptyPagesPerType = 3
        #expect(options.emptyPages == .keep(3))
        options.emptyPages = .keepWithinBudget(maxBytes: 1)
        #expect(options.maxEmptyPagesPerType == 0)
    }
}
