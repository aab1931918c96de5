import Suballocation
import Testing

@Suite struct FreeAtTests {
    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func freesOnlyTheAllocationAtTheOffset(algorithm: VirtualBlock.Algorithm) throws {
        var block = try VirtualBlock(size: 1 << 20, algorithm: algorithm)
        let a = try block.allocate(size: 1000, alignment: 64)
        let b = try block.allocate(size: 3000, alignment: 64)
        // Another offset: nothing is freed.
        let before = Snapshot(block)
        #expect(try block.free(b.handle, at: a.offset) == nil)
        #expect(Snapshot(block) == before)
        // The right offset: freed, and its size returned.
        #expect(try block.free(b.handle, at: b.offset) == 3000)
        #expect(block.allocationCount == 1)
        // A freed handle is stale, whatever the offset.
        expectRefusal(.staleHandle(b.handle), &block) { blk throws(VirtualBlockError) in
            _ = try blk.free(b.handle, at: b.offset)
        }
        #expect(try block.free(a.handle, at: a.offset) == 1000)
        #expect(block.isEmpty)
        block._checkInvariants()
    }
}
