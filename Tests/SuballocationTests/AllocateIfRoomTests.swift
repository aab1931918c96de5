import Testing
@testable import Suballocation

/// `allocateIfRoom`: the allocator's way to try a page without paying for an error.
@Suite struct AllocateIfRoomTests {
    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func answersNoRoomWithNilAndLeavesTheBlockAsItWas(_ algorithm: VirtualBlock.Algorithm) throws {
        var block = try VirtualBlock(size: 1 << 20, algorithm: algorithm, granularity: 64)
        var placed: [VirtualAllocation] = []
        while let allocation = try block.allocateIfRoom(size: 100_000, alignment: 256, kind: .linear) {
            #expect(allocation.offset % 256 == 0 && allocation.size == 100_000)
            placed.append(allocation)
            block._checkInvariants()
        }
        #expect(placed.count >= 9)
        let before = block.statistics
        #expect(try block.allocateIfRoom(size: 200_000) == nil)
        #expect(block.statistics == before)
        // The same request through `allocate` is an error naming the largest free range.
        #expect(throws: VirtualBlockError.self) { _ = try block.allocate(size: 200_000) }
        // Input errors are still errors.
        #expect(throws: VirtualBlockError.zeroSize) { _ = try block.allocateIfRoom(size: 0) }
        #expect(throws: VirtualBlockError.alignmentNotPowerOfTwo(3)) { _ = try block.allocateIfRoom(size: 8, alignment: 3) }
        for allocation in placed { try block.free(allocation.handle) }
        block._checkInvariants()
        #expect(block.isEmpty)
    }
}
