import Testing
@testable import VulkanMemory

/// The pages of a memory type share one arena: one search finds the best fit among all
/// pages, fences keep every range inside one page.
@Suite("Pages in one arena")
struct ArenaTests {
    static let kibibyte: UInt64 = 1 << 10

    /// Every live allocation lies inside its page's memory, allocations of one page are
    /// disjoint, and the arena's own invariants hold, in every memory type.
    static func checkPlacement(_ allocator: Allocator, _ live: [Allocation],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        var sizes: [UInt64: UInt64] = [:]
        for pool in allocator.pools {
            pool.state.withLock { state in
                state.arena._checkInvariants()
                for page in state.pages { if let memory = page.memory { sizes[UInt64(UInt(bitPattern: page.handle))] = memory.size } }
            }
        }
        for (memory, group) in Dictionary(grouping: live, by: { UInt64(UInt(bitPattern: $0.memory)) }) {
            guard let size = sizes[memory] else {
                Issue.record("an allocation's memory is no live page", sourceLocation: sourceLocation)
                continue
            }
            let sorted = group.sorted { $0.offset < $1.offset }
            #expect(sorted.last!.offset + sorted.last!.size <= size, "past the page's end", sourceLocation: sourceLocation)
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                #expect(a.offset + a.size <= b.offset, "\(a) overlaps \(b)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func churnWithPagesMadeAndReleasedKeepsEveryRangeInOnePage() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.setPageSize(4 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            options.emptyPages = .keep(0)
            let allocator = Allocator(device: context.device, options: options)
            var random = SplitMix(seed: 11)
            var live: [Allocation] = []
            var pagesSeen = Set<UInt64>()
            for step in 0..<3_000 {
                if !live.isEmpty, random.next() % 100 < (live.count > 60 ? 60 : 35) {
                    try allocator.free(live.remove(at: Int(random.next() % UInt64(live.count))))
                } else {
                    let size = 1 + random.next() % (1 << (8 + random.next() % 13))
                    let alignment = UInt64(1) << (random.next() % 12)
                    let kind: SuballocationKind = random.next() % 2 == 0 ? .linear : .optimal
                    live.append(try allocator.allocate(MemoryRequirements(size: size, alignment: alignment, kind: kind),
                                                       usage: .gpuOnly))
                    #expect(live.last!.offset % alignment == 0)
                    pagesSeen.insert(UInt64(UInt(bitPattern: live.last!.memory)))
                }
                if step % 100 == 0 { Self.checkPlacement(allocator, live) }
            }
            Self.checkPlacement(allocator, live)
            #expect(pagesSeen.count > 3, "the churn should have needed several pages")
            for allocation in live { try allocator.free(allocation) }
            #expect(allocator.usage.pageCount == 0 && allocator.usage.committedBytes == 0)
            for pool in allocator.pools {
                pool.state.withLock { state in
                    state.arena._checkInvariants()
                    // Only fences are left in the arena.
                    #expect(state.arena.allocationCount == state.fences.count + (state.restFence == nil ? 0 : 1))
                }
            }
        }
    }

    @Test func theBestFitIsFoundInAnyPage() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            // Pages of 1 MiB first, in whichever type GPU-only memory goes to.
            options.setPageSize(2 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            func allocate(_ size: UInt64) throws -> Allocation {
                try allocator.allocate(MemoryRequirements(size: size, alignment: 256, kind: .linear), usage: .gpuOnly)
            }
            let a0 = try allocate(512 * Self.kibibyte)
            let a1 = try allocate(512 * Self.kibibyte)
            let b0 = try allocate(256 * Self.kibibyte)
            let b1 = try allocate(512 * Self.kibibyte)
            let b2 = try allocate(256 * Self.kibibyte)
            #expect(a0.memory == a1.memory && b0.memory == b1.memory && b1.memory == b2.memory)
            #expect(a0.memory != b0.memory)
            // A 512 KiB hole in the first page, a 256 KiB one in the second: 256 KiB goes
            // to the second, whichever page was freed last.
            try allocator.free(b0)
            try allocator.free(a0)
            let fitted = try allocate(256 * Self.kibibyte)
            #expect(fitted.memory == b0.memory && fitted.offset == b0.offset)
            #expect(allocator.usage.pageCount == 2)
            for allocation in [a1, b1, b2, fitted] { try allocator.free(allocation) }
        }
    }

    @Test func aReleasedPagesSlotIsReusedAndItsOldAllocationsStayFreed() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.emptyPages = .keep(0)
            let allocator = Allocator(device: context.device, options: options)
            let first = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            try allocator.free(first)
            #expect(allocator.usage.pageCount == 0)
            let second = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            guard case let .page(slot1, generation1, _) = first.location,
                  case let .page(slot2, generation2, _) = second.location else {
                Issue.record("page allocations expected")
                return
            }
            #expect(slot1 == slot2 && generation2 == generation1 + 1)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(first) }
            #expect(!allocator.isLive(first) && allocator.isLive(second))
            try allocator.free(second)
            allocator.pools[second.memoryTypeIndex].state.withLock { $0.arena._checkInvariants() }
        }
    }
}
