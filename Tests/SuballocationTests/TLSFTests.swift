@testable import Suballocation
import Testing

@Suite struct TLSFTests {
    @Test func recordStaysSmall() {
        #expect(MemoryLayout<Record>.stride <= 32)
    }

    @Test func sizeClassesPartitionSizes() {
        var rng = SplitMix64(seed: 7)
        var sizes: [UInt64] = Array(1...300) + [.max, .max - 1, 1 << 63, (1 << 63) - 1]
        for _ in 0..<5000 { sizes.append(rng.logUniform(max: .max)) }
        for s in sizes {
            let c = TLSF.sizeClass(s)
            #expect(c < TLSF.classCount)
            #expect(TLSF.classMinimum(c) <= s)
            if c + 1 < TLSF.classCount { #expect(s < TLSF.classMinimum(c + 1), "size \(s) class \(c)") }
            let sure = TLSF.guaranteedClass(s)
            #expect(sure == TLSF.classCount || TLSF.classMinimum(sure) >= s)
            #expect(sure == c || sure == c + 1)
        }
    }

    @Test func theTailServesSequentialAllocationsInOrder() throws {
        var block = try VirtualBlock(size: 1 << 20)
        var expected: UInt64 = 0
        for size in [100, 28, 4096, 1] as [UInt64] {
            let a = try block.allocate(size: size)
            #expect(a.offset == expected)
            expected += size
        }
        #expect(block.statistics.freeRangeCount == 1)
        block._checkInvariants()
    }

    @Test func freedNeighboursMergeBackIntoOneRange() throws {
        var block = try VirtualBlock(size: 10_000)
        let a = try block.allocate(size: 1000)
        let b = try block.allocate(size: 1000)
        let c = try block.allocate(size: 1000)
        _ = try block.allocate(size: 1000)
        try block.free(b.handle)
        #expect(block.statistics.freeRangeCount == 2)
        try block.free(a.handle)
        try block.free(c.handle)
        block._checkInvariants()
        let stats = block.statistics
        #expect(stats.freeRangeCount == 2 && stats.largestFreeRange == 6000)
        var ranges: [UInt64] = []
        block.forEachFreeRange { offset, size in ranges += [offset, size] }
        #expect(ranges == [0, 3000, 4000, 6000])
    }

    /// Holes of 1 KiB at 0 and 64 KiB at 8 KiB; the tail above.
    func holes() throws -> VirtualBlock {
        var block = try VirtualBlock(size: 1 << 20)
        let small = try block.allocate(size: 1024)
        _ = try block.allocate(size: 7 * 1024)
        let big = try block.allocate(size: 64 * 1024)
        _ = try block.allocate(size: 1024)
        try block.free(small.handle)
        try block.free(big.handle)
        return block
    }

    @Test func strategiesChooseDifferentRanges() throws {
        var block = try holes()
        // Best fit leaves the large hole alone for a small request.
        #expect(try block.allocate(size: 800, strategy: .bestFit).offset == 0)
        block = try holes()
        // First fit takes the tail, above the last allocation.
        #expect(try block.allocate(size: 800, strategy: .firstFit).offset == 8 * 1024 + 64 * 1024 + 1024)
        block = try holes()
        #expect(try block.allocate(size: 2000, strategy: .lowestOffset).offset == 8 * 1024)
        #expect(try block.allocate(size: 1000, strategy: .lowestOffset).offset == 0)
        block._checkInvariants()
    }

    /// Twenty ranges of the request's worst-case class that are one byte too small
    /// once aligned, listed before the one range that fits exactly: more than a bounded
    /// scan tries, so only the exhaustive pass over that class finds it.
    @Test(arguments: [AllocationStrategy.bestFit, .firstFit])
    func aRangeOfTheWorstCaseSizeIsAlwaysFound(strategy: AllocationStrategy) throws {
        var block = try VirtualBlock(size: 1 << 20)
        _ = try block.allocate(size: 1)
        var holes: [VirtualAllocation] = []
        for _ in 0..<20 {
            holes.append(try block.allocate(size: 4354))  // starts at 1 mod 256
            _ = try block.allocate(size: 254)
        }
        let target = try block.allocate(size: 4355)
        #expect(target.offset % 256 == 1)
        _ = try block.allocate(size: 253)
        _ = try block.allocate(size: block.statistics.largestFreeRange)
        try block.free(target.handle)
        for h in holes { try block.free(h.handle) }
        let a = try block.allocate(size: 4100, alignment: 256, strategy: strategy)
        #expect(a.offset == target.offset + 255)
        block._checkInvariants()
    }

    @Test(arguments: [1, 64, 1024, 65536] as [UInt64])
    func conflictingKindsNeverSharePages(granularity: UInt64) throws {
        var block = try VirtualBlock(size: 64 << 20, granularity: granularity)
        let a = try block.allocate(size: 10, kind: .linear)
        let b = try block.allocate(size: 10, kind: .linear)
        let c = try block.allocate(size: 10, kind: .optimal)
        let d = try block.allocate(size: 10, kind: .optimal)
        let e = try block.allocate(size: 10, kind: .unknown)
        #expect(b.offset == a.offset + 10, "like kinds share pages")
        #expect(d.offset == c.offset + 10)
        if granularity > 1 {
            #expect(c.offset == granularity && e.offset == 2 * granularity)
        } else {
            #expect(c.offset == 20 && e.offset == 40)
        }
        // Refilling the hole of a freed linear allocation with an optimal one must keep
        // off the pages of its linear neighbours.
        try block.free(b.handle)
        let f = try block.allocate(size: 5, kind: .optimal, strategy: .lowestOffset)
        // Above the linear neighbours' pages: the gap after d, another optimal one,
        // unless that gap is padding small enough for e to keep; then above e.
        let expected = granularity == 1 ? 10 : granularity - 20 < 256 ? 3 * granularity : granularity + 20
        #expect(f.offset == expected)
        block._checkInvariants()
    }

    @Test func userDataNamesAndKindsFollowTheirAllocation() throws {
        var block = try VirtualBlock(size: 1 << 16)
        let a = try block.allocate(size: 64, kind: .optimal, userData: 42)
        try block.setName("shadow map", for: a.handle)
        try block.setUserData(43, for: a.handle)
        #expect(try block.userData(of: a.handle) == 43)
        #expect(try block.name(of: a.handle) == "shadow map")
        #expect(try block.kind(of: a.handle) == .optimal)
        try block.free(a.handle)
        let b = try block.allocate(size: 64)
        #expect(b.handle.index == a.handle.index && b.handle != a.handle, "the record is recycled, the handle is new")
        #expect(try block.name(of: b.handle) == nil)
        block._checkInvariants()
    }

    /// User data changes only from the value expected and at the offset given; a refusal
    /// changes nothing, and a copy of the block keeps its own value.
    @Test func userDataIsReplacedOnlyWhereItHoldsTheValueExpected() throws {
        var block = try VirtualBlock(size: 1 << 16)
        let a = try block.allocate(size: 100, alignment: 16)
        let copy = block
        #expect(try block.replaceUserData(1, with: 2, for: a.handle, at: a.offset) == nil, "it holds 0, not 1")
        #expect(try block.replaceUserData(0, with: 2, for: a.handle, at: a.offset + 16) == nil, "another offset")
        #expect(try block.userData(of: a.handle) == 0)
        #expect(try block.replaceUserData(0, with: 7, for: a.handle, at: a.offset) == 100, "gives the size")
        #expect(try block.userData(of: a.handle) == 7)
        #expect(try block.replaceUserData(7, with: 0, for: a.handle, at: a.offset) == 100)
        #expect(try block.userData(of: a.handle) == 0)
        #expect(try block.replaceUserData(0, with: 9, for: a.handle, at: a.offset) == 100)
        #expect(try copy.userData(of: a.handle) == 0, "the copy kept its own")
        block._checkInvariants()
    }

    @Test func copiesAreIndependent() throws {
        var original = try VirtualBlock(size: 1 << 16)
        let a = try original.allocate(size: 100)
        var copy = original
        try copy.free(a.handle)
        _ = try copy.allocate(size: 5000)
        #expect(try original.allocation(a.handle) == a)
        #expect(original.statistics.allocatedBytes == 100)
        #expect(copy.statistics.allocatedBytes == 5000)
        original._checkInvariants()
        copy._checkInvariants()
    }

    @Test func aFullyFragmentedBlockRefusesWithTheExactLargestRange() throws {
        // 20,000 holes of 100 bytes: every request larger than that must fail.
        var block = try VirtualBlock(size: 4_000_000)
        var live: [VirtualAllocation] = []
        for _ in 0..<20_000 {
            live.append(try block.allocate(size: 100))
            live.append(try block.allocate(size: 100))
        }
        for (i, a) in live.enumerated() where i % 2 == 0 { try block.free(a.handle) }
        #expect(throws: VirtualBlockError.outOfRoom(size: 101, alignment: 1, largestFreeRange: 100)) {
            try block.allocate(size: 101)
        }
        #expect(try block.allocate(size: 100, strategy: .firstFit).size == 100)
        block._checkInvariants()
    }
}

@Suite struct ExtremeSizeTests {
    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func aBlockAsLargeAsTheAddressSpaceWorksToItsLastByte(algorithm: VirtualBlock.Algorithm) throws {
        let top: UInt64 = 1 << 63
        let page: UInt64 = 1 << 16
        var block = try VirtualBlock(size: .max, algorithm: algorithm, granularity: page)
        let half = try block.allocate(size: top, alignment: top, kind: .linear)
        #expect(half.offset == 0)
        let rest = try block.allocate(size: top - page, alignment: page, kind: .optimal)
        #expect(rest.offset == top)
        let last = try block.allocate(size: page - 1, kind: .optimal)
        #expect(last.offset + last.size == .max)
        #expect(throws: VirtualBlockError.outOfRoom(size: 1, alignment: 1, largestFreeRange: 0)) {
            try block.allocate(size: 1)
        }
        block._checkInvariants()
        try block.free(rest.handle)
        #expect(block.statistics.largestFreeRange == top - page)
        #expect(throws: VirtualBlockError.outOfRoom(size: top, alignment: top,
                                                    largestFreeRange: top - page)) {
            try block.allocate(size: top, alignment: top)
        }
        block._checkInvariants()
    }
}

@Suite struct LargeTableTests {
    /// 100,000 live allocations and their gaps: the record table passes the size where
    /// it moves to huge-page-aligned storage, and a copy must carry it over.
    @Test func aTableOfHundredsOfThousandsOfRecordsGrowsAndCopies() throws {
        var block = try VirtualBlock(size: 1 << 40)
        var handles: [VirtualAllocationHandle] = []
        handles.reserveCapacity(100_000)
        for i in 0..<100_000 {
            handles.append(try block.allocate(size: 100 + UInt64(i % 7), alignment: 64).handle)
        }
        let copy = block
        for h in handles.enumerated() where h.offset % 2 == 0 { try block.free(h.element) }
        block._checkInvariants()
        copy._checkInvariants()
        #expect(copy.allocationCount == 100_000 && block.allocationCount == 50_000)
        #expect(block.statistics.freeRangeCount == 50_001)
    }
}

@Suite struct ResetTests {
    /// Records of allocations that kept alignment padding are recycled as free ranges
    /// after a reset; none may carry the padding over.
    @Test func recordsReusedAfterResetStartClean() throws {
        var block = try VirtualBlock(size: 1 << 24)
        for _ in 0..<50 { _ = try block.allocate(size: 100, alignment: 64) }
        block.reset()
        block._checkInvariants()
        var live: [VirtualAllocation] = []
        for i in 0..<50 { live.append(try block.allocate(size: 1000 + UInt64(i), alignment: 4096)) }
        block._checkInvariants()
        for a in live.reversed() where a.offset % 8192 == 0 { try block.free(a.handle) }
        block._checkInvariants()
        #expect(block.allocationCount == 25)
    }
}
