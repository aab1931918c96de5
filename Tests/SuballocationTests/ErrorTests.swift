import Suballocation
import Testing

/// Everything a caller can observe, to show that a refused call changed nothing.
struct Snapshot: Equatable {
    var statistics: VirtualBlockStatistics
    var allocations: [VirtualAllocation]
    var freeRanges: [UInt64]
    var userData: [UInt64]

    init(_ block: VirtualBlock) {
        block._checkInvariants()
        statistics = block.statistics
        allocations = block.allocations
        var ranges: [UInt64] = []
        block.forEachFreeRange { offset, size in ranges += [offset, size] }
        freeRanges = ranges
        var data: [UInt64] = []
        block.forEachAllocation { _, _, _, _, userData in data.append(userData) }
        userData = data
    }
}

/// Runs `body`, expects `error`, and checks the block is as before.
func expectRefusal(_ expected: VirtualBlockError, _ block: inout VirtualBlock,
                   sourceLocation: SourceLocation = #_sourceLocation,
                   _ body: (inout VirtualBlock) throws(VirtualBlockError) -> Void) {
    let before = Snapshot(block)
    do {
        try body(&block)
        Issue.record("expected \(expected)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
    }
    #expect(Snapshot(block) == before, "a refused call changed the block", sourceLocation: sourceLocation)
}

@Suite struct ErrorTests {
    /// A TLSF block with a few allocations and holes, so refusals have state to keep.
    func populated(_ algorithm: VirtualBlock.Algorithm = .tlsf) throws -> (VirtualBlock, [VirtualAllocation]) {
        var block = try VirtualBlock(size: 1 << 20, algorithm: algorithm, granularity: 256)
        var made: [VirtualAllocation] = []
        for i in 0..<6 {
            made.append(try block.allocate(size: 1000 + UInt64(i) * 100, alignment: 64,
                                           kind: i % 2 == 0 ? .linear : .optimal, userData: UInt64(i)))
        }
        if algorithm == .tlsf { try block.free(made[2].handle) }
        return (block, made)
    }

    @Test func blockCreationIsValidated() {
        #expect(throws: VirtualBlockError.zeroBlockSize) { try VirtualBlock(size: 0) }
        #expect(throws: VirtualBlockError.granularityNotPowerOfTwo(3)) { try VirtualBlock(size: 64, granularity: 3) }
        #expect(throws: VirtualBlockError.granularityNotPowerOfTwo(0)) { try VirtualBlock(size: 64, granularity: 0) }
        #expect(throws: Never.self) { try VirtualBlock(size: 1, granularity: 65536) }
    }

    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func badRequestsChangeNothing(algorithm: VirtualBlock.Algorithm) throws {
        var (block, _) = try populated(algorithm)
        expectRefusal(.zeroSize, &block) { b throws(VirtualBlockError) in _ = try b.allocate(size: 0) }
        expectRefusal(.alignmentNotPowerOfTwo(48), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: 8, alignment: 48)
        }
        expectRefusal(.sizeOverflow(size: .max, alignment: 2), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: .max, alignment: 2)
        }
        let largest = block.statistics.largestFreeRange
        expectRefusal(.outOfRoom(size: 1 << 21, alignment: 1, largestFreeRange: largest), &block) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: 1 << 21)
        }
        expectRefusal(.outOfRoom(size: largest, alignment: 1 << 19, largestFreeRange: largest), &block) {
            b throws(VirtualBlockError) in _ = try b.allocate(size: largest, alignment: 1 << 19)
        }
    }

    @Test func outOfRoomSaysWhatIsLeft() throws {
        var block = try VirtualBlock(size: 4096)
        let a = try block.allocate(size: 1024)
        _ = try block.allocate(size: 1024)
        try block.free(a.handle)
        // Free: [0, 1024) and [2048, 4096); the exact largest is 2048.
        do {
            _ = try block.allocate(size: 3000)
            Issue.record("3000 bytes cannot fit")
        } catch {
            #expect(error == .outOfRoom(size: 3000, alignment: 1, largestFreeRange: 2048))
            #expect(error.description.contains("3000") && error.description.contains("2048"))
        }
    }

    /// A handle of another block often names a slot that is in use here too: its
    /// generation, from that block's own start, tells it apart (as `.staleHandle`), on
    /// both engines, and nothing of this block changes.
    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func anotherBlocksHandlesAreRefused(_ algorithm: VirtualBlock.Algorithm) throws {
        var first = try VirtualBlock(size: 1 << 20, algorithm: algorithm)
        var second = try VirtualBlock(size: 1 << 20, algorithm: algorithm)
        let mine = try (0..<8).map { _ in try first.allocate(size: 256) }
        let theirs = try (0..<8).map { _ in try second.allocate(size: 256) }
        #expect(Set(mine.map(\.handle.index)) == Set(theirs.map(\.handle.index)))
        for handle in theirs.map(\.handle) {
            expectRefusal(.staleHandle(handle), &first) { b throws(VirtualBlockError) in try b.free(handle) }
        }
        #expect(first.allocationCount == 8)
        for allocation in mine.reversed() { try first.free(allocation.handle) }
        for allocation in theirs.reversed() { try second.free(allocation.handle) }
        #expect(first.allocationCount == 0 && second.allocationCount == 0)
    }

    @Test func badHandlesChangeNothing() throws {
        var (block, made) = try populated()
        let freed = made[2].handle
        let foreign = VirtualAllocationHandle(index: 10_000, generation: 0)
        expectRefusal(.staleHandle(freed), &block) { b throws(VirtualBlockError) in try b.free(freed) }
        expectRefusal(.unknownHandle(foreign), &block) { b throws(VirtualBlockError) in try b.free(foreign) }
        expectRefusal(.staleHandle(freed), &block) { b throws(VirtualBlockError) in try b.setUserData(1, for: freed) }
        expectRefusal(.staleHandle(freed), &block) { b throws(VirtualBlockError) in try b.setName("x", for: freed) }
        expectRefusal(.staleHandle(freed), &block) { b throws(VirtualBlockError) in
            _ = try b.replaceUserData(0, with: 1, for: freed, at: 0)
        }
        expectRefusal(.unknownHandle(foreign), &block) { b throws(VirtualBlockError) in
            _ = try b.replaceUserData(0, with: 1, for: foreign, at: 0)
        }
        #expect(throws: VirtualBlockError.staleHandle(freed)) { try block.allocation(freed) }
        #expect(throws: VirtualBlockError.staleHandle(freed)) { try block.userData(of: freed) }
        #expect(throws: VirtualBlockError.staleHandle(freed)) { try block.name(of: freed) }
        #expect(throws: VirtualBlockError.unknownHandle(foreign)) { try block.kind(of: foreign) }
        // The record of a freed allocation is reused with a new generation.
        let again = try block.allocate(size: 1200, alignment: 64)
        #expect(throws: VirtualBlockError.staleHandle(freed)) { try block.free(freed) }
        try block.free(again.handle)
        block.reset()
        #expect(throws: VirtualBlockError.staleHandle(made[0].handle)) { try block.free(made[0].handle) }
    }

    @Test func upperAddressOutsideADoubleStackIsRefused() throws {
        var (tlsf, _) = try populated()
        expectRefusal(.upperAddressUnavailable(.tlsf), &tlsf) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: 64, upperAddress: true)
        }
        var (stack, _) = try populated(.linear(.stack))
        expectRefusal(.upperAddressUnavailable(.linear(.stack)), &stack) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: 64, upperAddress: true)
        }
        // An automatic block wrapped as a ring cannot also grow a stack from the top.
        var ring = try VirtualBlock(size: 1000, algorithm: .linear(.automatic))
        let first = try ring.allocate(size: 400)
        _ = try ring.allocate(size: 400)
        try ring.free(first.handle)
        _ = try ring.allocate(size: 300)  // wraps to offset 0
        expectRefusal(.upperAddressUnavailable(.linear(.automatic)), &ring) { b throws(VirtualBlockError) in
            _ = try b.allocate(size: 64, upperAddress: true)
        }
    }

    @Test func explicitLinearModesRefuseOtherFreeOrders() throws {
        var (stack, made) = try populated(.linear(.stack))
        expectRefusal(.wrongFreeOrder(made[0].handle, mode: .stack), &stack) { b throws(VirtualBlockError) in
            try b.free(made[0].handle)
        }
        var (ring, ringMade) = try populated(.linear(.ringBuffer))
        expectRefusal(.wrongFreeOrder(ringMade[5].handle, mode: .ringBuffer), &ring) { b throws(VirtualBlockError) in
            try b.free(ringMade[5].handle)
        }
        var (once, onceMade) = try populated(.linear(.freeAtOnce))
        expectRefusal(.wrongFreeOrder(onceMade[5].handle, mode: .freeAtOnce), &once) { b throws(VirtualBlockError) in
            try b.free(onceMade[5].handle)
        }
        var double = try VirtualBlock(size: 1 << 16, algorithm: .linear(.doubleStack))
        let low = try double.allocate(size: 100)
        _ = try double.allocate(size: 100)
        let high = try double.allocate(size: 100, upperAddress: true)
        _ = try double.allocate(size: 100, upperAddress: true)
        for h in [low.handle, high.handle] {
            expectRefusal(.wrongFreeOrder(h, mode: .doubleStack), &double) { b throws(VirtualBlockError) in try b.free(h) }
        }
    }
}
