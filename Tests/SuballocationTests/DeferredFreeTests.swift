import Testing
@testable import Suballocation

/// Deferred merging (Core+DeferredFree.swift): a freed TLSF range is merged two frees
/// later in blocks of many records. Every observer must see it free at once, and no
/// allocation may fail or land elsewhere for the deferral where the contract says
/// otherwise.
@Suite struct DeferredFreeTests {
    let blockEnd: UInt64 = 1 << 20

    /// Four 1 KiB allocations at 0, 1, 2 and 3 KiB, then the tail; frees deferred.
    func fourInARow() throws -> (VirtualBlock, [VirtualAllocation]) {
        var block = try VirtualBlock(size: 1 << 20)
        block.setDeferralThreshold(0)
        let placed = try (0..<4).map { _ in try block.allocate(size: 1024) }
        return (block, placed)
    }

    func freeRanges(_ block: VirtualBlock) -> [UInt64] {
        var ranges: [UInt64] = []
        block.forEachFreeRange { offset, size in ranges += [offset, size] }
        return ranges
    }

    @Test func aDeferredRangeIsFreeForObserversAtOnce() throws {
        var (block, placed) = try fourInARow()
        try block.free(placed[1].handle)
        #expect(block.box.core.records[placed[1].handle.index].state == .deferred)
        block._checkInvariants()
        #expect(Array(freeRanges(block)) == [1024, 1024, 4096, blockEnd - 4096] as [UInt64])
        var stats = block.statistics
        #expect(stats.allocationCount == 3 && stats.allocatedBytes == 3072)
        #expect(stats.freeRangeCount == 2 && stats.largestFreeRange == blockEnd - 4096)
        // A second deferred range beside the first: one run of 2 KiB.
        try block.free(placed[2].handle)
        block._checkInvariants()
        #expect(Array(freeRanges(block)) == [1024, 2048, 4096, blockEnd - 4096] as [UInt64])
        stats = block.statistics
        #expect(stats.freeRangeCount == 2 && stats.freeBytes == (1 << 20) - 2048)
        // The last allocation joins both deferred ranges to the tail: one range from 1 KiB.
        try block.free(placed[3].handle)
        block._checkInvariants()
        #expect(Array(freeRanges(block)) == [1024, blockEnd - 1024] as [UInt64])
        stats = block.statistics
        #expect(stats.freeRangeCount == 1 && stats.largestFreeRange == blockEnd - 1024)
        try block.free(placed[0].handle)
        block._checkInvariants()
        #expect(Array(freeRanges(block)) == [0, blockEnd] as [UInt64])
        #expect(block.statistics.largestFreeRange == blockEnd)
        #expect(block.isEmpty)
    }

    @Test func aDeferredRangeIsNotFreedTwice() throws {
        var (block, placed) = try fourInARow()
        try block.free(placed[1].handle)
        let before = block.statistics
        #expect(throws: VirtualBlockError.staleHandle(placed[1].handle)) { try block.free(placed[1].handle) }
        #expect(throws: VirtualBlockError.staleHandle(placed[1].handle)) { try block.allocation(placed[1].handle) }
        #expect(block.statistics == before)
        block._checkInvariants()
    }

    @Test func mergingHappensTwoFreesLater() throws {
        var block = try VirtualBlock(size: 1 << 20)
        block.setDeferralThreshold(0)
        // Allocations with live ones between them, so that no two freed ranges touch.
        let placed = try (0..<8).map { _ in try block.allocate(size: 1024) }
        for k in [0, 2, 4] { try block.free(placed[k].handle) }
        let core = block.box.core
        #expect(core.records[placed[0].handle.index].state == .free)
        #expect(core.records[placed[2].handle.index].state == .deferred)
        #expect(core.records[placed[4].handle.index].state == .deferred)
        #expect(core.freeRangeCount == 1)
        block._checkInvariants()
    }

    @Test(arguments: [AllocationStrategy.bestFit, .firstFit])
    func anAllocationThatFitsOnlyADeferredRangeTakesIt(strategy: AllocationStrategy) throws {
        // Sixteen 64 KiB allocations fill the block; two freed touching ones leave 128 KiB.
        var block = try VirtualBlock(size: 1 << 20)
        block.setDeferralThreshold(0)
        let placed = try (0..<16).map { _ in try block.allocate(size: 64 << 10) }
        try block.free(placed[6].handle)
        try block.free(placed[7].handle)
        #expect(block.statistics.largestFreeRange == 128 << 10)
        let a = try block.allocate(size: 128 << 10, strategy: strategy)
        #expect(a.offset == 6 * (64 << 10))
        block._checkInvariants()
        #expect(!block.box.core.hasDeferredFrees)
        #expect(try block.allocateIfRoom(size: 1) == nil)
        // No room: the error names the largest free range, 0.
        #expect(throws: VirtualBlockError.outOfRoom(size: 1, alignment: 1, largestFreeRange: 0)) {
            _ = try block.allocate(size: 1)
        }
    }

    @Test func allocateIfRoomSettlesDeferredFreesBeforeSayingNo() throws {
        var block = try VirtualBlock(size: 1 << 20)
        block.setDeferralThreshold(0)
        let placed = try (0..<16).map { _ in try block.allocate(size: 64 << 10) }
        try block.free(placed[3].handle)
        let a = try #require(try block.allocateIfRoom(size: 64 << 10, alignment: 64 << 10))
        #expect(a.offset == 3 * (64 << 10))
        block._checkInvariants()
    }

    @Test func lowestOffsetAndPlacementSeeDeferredRanges() throws {
        var (block, placed) = try fourInARow()
        try block.free(placed[0].handle)
        // Lowest offset: the deferred range at 0, not the tail.
        let low = try block.allocate(size: 512, strategy: .lowestOffset)
        #expect(low.offset == 0)
        try block.free(placed[2].handle)
        // Placement into a range free only by a deferred free.
        let at = try block.allocate(at: 2048 + 256, size: 512)
        #expect(at.offset == 2048 + 256)
        block._checkInvariants()
        #expect(Array(freeRanges(block)) == [512, 512, 2048, 256, 2816, 256, 4096, blockEnd - 4096] as [UInt64])
    }

    @Test func keptPaddingComesBackWithTheDeferredRange() throws {
        var block = try VirtualBlock(size: 1 << 20)
        block.setDeferralThreshold(0)
        let a = try block.allocate(size: 100)
        // Aligned to 128: the 28 bytes of padding stay with b.
        let b = try block.allocate(size: 100, alignment: 128)
        _ = try block.allocate(size: 100)
        #expect(b.offset == 128)
        try block.free(b.handle)
        block._checkInvariants()
        // The run starts where a ends, padding included.
        #expect(Array(freeRanges(block).prefix(2)) == [100, 128] as [UInt64])
        try block.free(a.handle)
        block._checkInvariants()
        #expect(Array(freeRanges(block).prefix(2)) == [0, 228] as [UInt64])
    }

    @Test func copiesAndResetCarryTheDeferredRanges() throws {
        var (block, placed) = try fourInARow()
        try block.free(placed[1].handle)
        try block.free(placed[2].handle)
        var copy = block
        // The copy settles its deferred ranges; the original still has them.
        _ = try copy.allocate(size: 2048, strategy: .lowestOffset)
        copy._checkInvariants()
        block._checkInvariants()
        #expect(block.box.core.hasDeferredFrees && !copy.box.core.hasDeferredFrees)
        #expect(Array(freeRanges(block)) == [1024, 2048, 4096, blockEnd - 4096] as [UInt64])
        #expect(Array(freeRanges(copy)) == [4096, blockEnd - 4096] as [UInt64])
        block.reset()
        block._checkInvariants()
        #expect(!block.box.core.hasDeferredFrees && freeRanges(block) == [0, blockEnd] as [UInt64])
        #expect(throws: VirtualBlockError.staleHandle(placed[0].handle)) { try block.free(placed[0].handle) }
    }

    @Test func aBlockOfManyRecordsDefersOnItsOwn() throws {
        var block = try VirtualBlock(size: 1 << 32)
        let placed = try (0..<Core.defaultDeferralThreshold).map { _ in try block.allocate(size: 4096) }
        #expect(block.box.core.recordCount >= Core.defaultDeferralThreshold)
        try block.free(placed[10].handle)
        #expect(block.box.core.records[placed[10].handle.index].state == .deferred)
        let stats = block.statistics
        #expect(stats.freeRangeCount == 2 && stats.allocationCount == placed.count - 1)
        block._checkInvariants()
        // A small block merges at once.
        var small = try VirtualBlock(size: 1 << 20)
        let a = try small.allocate(size: 64)
        _ = try small.allocate(size: 64)
        try small.free(a.handle)
        #expect(small.box.core.records[a.handle.index].state == .free)
    }
}
