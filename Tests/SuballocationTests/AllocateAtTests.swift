import Suballocation
import Testing

@Suite struct AllocateAtTests {
    @Test func placesExactlyAndOrdinaryAllocationsGoAround() throws {
        var block = try VirtualBlock(size: 1 << 20)
        let fence = try block.allocate(at: 4096, size: 8192, kind: .unknown, userData: 7)
        #expect(fence.offset == 4096 && fence.size == 8192)
        #expect(try block.userData(of: fence.handle) == 7)
        block._checkInvariants()
        // Requests that do not fit below the fence go above it.
        let a = try block.allocate(size: 4096)
        let b = try block.allocate(size: 6000)
        #expect(a.offset == 0)
        #expect(b.offset >= 4096 + 8192)
        block._checkInvariants()
        // Placing at the block's very end, and in a hole left by a free.
        let end = try block.allocate(at: (1 << 20) - 100, size: 100)
        try block.free(a.handle)
        let inHole = try block.allocate(at: 1000, size: 3096)
        #expect(inHole.offset == 1000 && end.offset == (1 << 20) - 100)
        block._checkInvariants()
        // A freed placement merges back like any allocation.
        for h in [fence.handle, b.handle, end.handle, inHole.handle] { try block.free(h) }
        #expect(block.isEmpty)
        #expect(block.statistics.freeRangeCount == 1 && block.statistics.largestFreeRange == 1 << 20)
        block._checkInvariants()
    }

    @Test func refusalsChangeNothing() throws {
        var block = try VirtualBlock(size: 1 << 20, granularity: 1024)
        _ = try block.allocate(at: 0, size: 100, kind: .linear)
        _ = try block.allocate(at: 8192, size: 4000, kind: .optimal)
        expectRefusal(.zeroSize, &block) { b throws(VirtualBlockError) in _ = try b.allocate(at: 50_000, size: 0) }
        expectRefusal(.sizeOverflow(size: 2, alignment: 1), &block) { b throws(VirtualBlockError) in _ = try b.allocate(at: .max, size: 2) }
        expectRefusal(.rangeNotFree(offset: (1 << 20) - 10, size: 20), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(at: (1 << 20) - 10, size: 20)
        }
        // Overlapping a live allocation, from below, inside and across.
        expectRefusal(.rangeNotFree(offset: 50, size: 10), &block) { b throws(VirtualBlockError) in _ = try b.allocate(at: 50, size: 10) }
        expectRefusal(.rangeNotFree(offset: 8000, size: 300), &block) { b throws(VirtualBlockError) in _ = try b.allocate(at: 8000, size: 300) }
        expectRefusal(.rangeNotFree(offset: 9000, size: 10), &block) { b throws(VirtualBlockError) in _ = try b.allocate(at: 9000, size: 10) }
        // Granularity: an optimal allocation in the linear one's 1 KiB page, and a linear
        // one in the optimal one's page.
        expectRefusal(.rangeNotFree(offset: 512, size: 16), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(at: 512, size: 16, kind: .optimal)
        }
        expectRefusal(.rangeNotFree(offset: 12_200, size: 16), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(at: 12_200, size: 16, kind: .linear)
        }
        // The same kind may share the page.
        _ = try block.allocate(at: 512, size: 16, kind: .linear)
        var linear = try VirtualBlock(size: 1 << 16, algorithm: .linear(.automatic))
        expectRefusal(.placementUnavailable(.linear(.automatic)), &linear) { b throws(VirtualBlockError) in _ = try b.allocate(at: 0, size: 1) }
    }

    /// Random placements, allocations and frees: a placement succeeds exactly when one
    /// free range (as the block lists them) holds it, and the invariants hold throughout.
    @Test(arguments: 0..<40)
    func randomPlacementsAgreeWithTheFreeRanges(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let size: UInt64 = 1 << 22
        var block = try VirtualBlock(size: size)
        var live: [VirtualAllocationHandle] = []
        for _ in 0..<600 {
            switch random.below(3) {
            case 0 where !live.isEmpty:
                let index = Int(random.below(UInt64(live.count)))
                try block.free(live.remove(at: index))
            case 1:
                if let a = try block.allocateIfRoom(size: random.logUniform(max: 1 << 16), alignment: 1 << random.below(9)) {
                    live.append(a.handle)
                }
            default:
                let offset = random.below(size)
                let length = random.logUniform(max: 1 << 15)
                var fits = false
                block.forEachFreeRange { start, count in
                    if start <= offset, offset < start + count, length <= start + count - offset { fits = true }
                }
                let before = Snapshot(block)
                do {
                    let placed = try block.allocate(at: offset, size: length)
                    #expect(fits, "placed \(length) at \(offset) outside every free range")
                    #expect(placed.offset == offset && placed.size == length)
                    live.append(placed.handle)
                } catch {
                    #expect(!fits, "refused \(length) at \(offset) inside a free range: \(error)")
                    #expect(error == .rangeNotFree(offset: offset, size: length) || offset + length > size)
                    #expect(Snapshot(block) == before)
                }
            }
            block._checkInvariants()
        }
    }
}
