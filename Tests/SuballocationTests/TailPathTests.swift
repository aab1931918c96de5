@testable import Suballocation
import Testing

/// The path that places an allocation at the tail without a class search (every size
/// class empty), and the record tables behind blocks filled that way: their growth by
/// `realloc` (in place, or moved off 64-byte boundaries), and the user data table left unmade
/// until user data is set.
@Suite struct TailPathTests {
    /// Where the tail path must place a request when every size class is empty: the
    /// first offset of the tail that meets the alignment and, above a range (live, or
    /// freed with its merge deferred) of a conflicting kind, the granularity.
    static func expectedTailOffset(_ block: VirtualBlock, alignment: UInt64, kind: SuballocationKind) -> UInt64 {
        let core = block.box.core
        let tail = core.records[core.tail]
        let g = core.granularity
        var o = (tail.offset + alignment - 1) / alignment * alignment
        if g > 1, tail.below != noRecord {
            let below = core.records[tail.below]
            if ReferenceModel.conflict(SuballocationKind(rawValue: below.kind) ?? .unknown, kind),
               (below.end - 1) / g == o / g {
                o = (o / g + 1) * g
            }
        }
        return o
    }

    @Test("filling from the tail, with frees in between, agrees with the model", arguments: 0..<24)
    func fillWithFrees(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 7)
        let granularity: UInt64 = [1, 64, 4096][Int(seed % 3)]
        let blockSize: UInt64 = 1 << 24
        var block = try VirtualBlock(size: blockSize, granularity: granularity)
        // Odd seeds defer merges, so frees leave deferred ranges while the classes are empty.
        if seed % 2 == 1 { block.setDeferralThreshold(0) }
        var model = ReferenceModel(blockSize: blockSize, granularity: granularity)
        var sequence = 0
        var tailPlacements = 0

        for step in 0..<2_000 {
            if rng.below(60) == 0 {
                // A fresh start: the classes are empty until the next hole.
                block.reset()
                model.removeAll()
            } else if model.count > 0 && rng.chance(seed % 4 == 0 ? 5 : 30) {
                // Freeing the highest allocation gives its range back to the tail, so the
                // classes empty out again and the tail path resumes.
                let victim = rng.chance(50) ? model.byOffset[model.count - 1]
                    : model.byOffset[Int(rng.below(UInt64(model.count)))]
                try block.free(victim.handle)
                _ = model.remove(victim.handle)
            } else {
                let size = 1 + rng.below(rng.chance(90) ? 512 : 8192)
                let alignment: UInt64 = 1 << rng.below(10)
                let kind = SuballocationKind.allCases[Int(rng.below(3))]
                let strategy = AllocationStrategy.allCases[Int(rng.below(3))]
                // Every class empty: whatever the strategy, the allocation goes to the tail
                // (`.lowestOffset` first merges deferred ranges, which may fill a class).
                let core = block.box.core
                let expected = Self.expectedTailOffset(block, alignment: alignment, kind: kind)
                let onlyTail = core.firstLevelBitmap == 0 && !(strategy == .lowestOffset && core.hasDeferredFrees)
                    && expected + size <= blockSize
                let mustFit = model.mustFit(size: size, alignment: alignment, linear: false, upper: false)
                do {
                    let a = try block.allocate(size: size, alignment: alignment, kind: kind, strategy: strategy)
                    if onlyTail {
                        tailPlacements += 1
                        #expect(a.offset == expected, "seed \(seed) step \(step): \(strategy) placed at \(a.offset)")
                    }
                    model.add(.init(offset: a.offset, size: size, kind: kind, handle: a.handle, sequence: sequence,
                                    upper: false), alignment: alignment)
                    sequence += 1
                } catch .outOfRoom {
                    #expect(!mustFit, "seed \(seed) step \(step): \(size) B aligned \(alignment) refused")
                }
            }
            block._checkInvariants()
            #expect(block.allocationCount == model.count)
        }
        #expect(tailPlacements > 50, "seed \(seed): only \(tailPlacements) allocations took the tail path")
        var ranges: [(offset: UInt64, size: UInt64)] = []
        block.forEachFreeRange { offset, size in ranges.append((offset, size)) }
        model.checkFreeRanges(ranges, tlsf: true)
        #expect(block.allocations.map(\.offset) == model.byOffset.map(\.offset))
    }

    @Test("a tail that is too small leaves the tail path for the free ranges")
    func tailTooSmall() throws {
        var block = try VirtualBlock(size: 4096)
        let a = try block.allocate(size: 1024)
        _ = try block.allocate(size: 2048)
        try block.free(a.handle)
        // The tail holds 1024 bytes, the freed range 1024: a 1024-byte request fits
        // either, and best fit keeps the tail whole.
        #expect(try block.allocate(size: 1024).offset == 0)
        #expect(try block.allocate(size: 1024).offset == 3072)
        #expect(throws: VirtualBlockError.self) { try block.allocate(size: 1) }
        block._checkInvariants()
    }

    @Test("record tables keep every record as they grow past the mapped size, and in copies")
    func growthKeepsRecords() throws {
        // 1-byte allocations: one record each, so 140,000 of them take the table past
        // 2^17 records (4 MiB, huge pages) through every growth step.
        let count = 140_000
        var block = try VirtualBlock(size: UInt64(count))
        var handles: [VirtualAllocationHandle] = []
        handles.reserveCapacity(count)
        for i in 0..<count {
            let a = try block.allocate(size: 1, userData: i % 1000 == 0 ? UInt64(i) + 1 : 0)
            #expect(a.offset == UInt64(i))
            handles.append(a.handle)
        }
        #expect(block.box.core.capacity * MemoryLayout<Record>.stride >= RecordTable.hugePageThreshold)
        var copy = block
        try copy.free(handles[7])
        for i in stride(from: 0, to: count, by: 997) {
            #expect(try block.allocation(handles[i]).offset == UInt64(i))
            #expect(try block.userData(of: handles[i]) == (i % 1000 == 0 ? UInt64(i) + 1 : 0))
        }
        #expect(try copy.allocation(handles[1000]).offset == 1000)
        #expect(try copy.userData(of: handles[1000]) == 1001)
        #expect(throws: VirtualBlockError.self) { try copy.allocation(handles[7]) }
        #expect(try block.allocation(handles[7]).offset == 7)
        var rng = SplitMix64(seed: 42)
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.below(UInt64(i + 1)))) }
        for i in order { try block.free(handles[i]) }
        block._checkInvariants()
        copy._checkInvariants()
        #expect(block.isEmpty && block.statistics.largestFreeRange == UInt64(count))
        #expect(copy.allocationCount == count - 1)
    }

    @Test("user data set after the table grew without any survives later growth and copies")
    func userDataAfterGrowth() throws {
        var block = try VirtualBlock(size: 1 << 20)
        var handles: [VirtualAllocationHandle] = []
        for _ in 0..<3_000 { handles.append(try block.allocate(size: 16).handle) }
        #expect(block.box.core.userDataTable == nil)
        try block.setUserData(77, for: handles[5])
        try block.setUserData(0, for: handles[6])
        for i in 0..<20_000 { handles.append(try block.allocate(size: 16, userData: UInt64(i % 3)).handle) }
        let copy = block
        try block.setUserData(78, for: handles[5])
        #expect(try copy.userData(of: handles[5]) == 77)
        #expect(try block.userData(of: handles[5]) == 78)
        #expect(try block.userData(of: handles[6]) == 0)
        #expect(try block.userData(of: handles[4]) == 0)
        for i in 0..<20_000 {
            #expect(try copy.userData(of: handles[3_000 + i]) == UInt64(i % 3))
        }
        block._checkInvariants()
    }
}
