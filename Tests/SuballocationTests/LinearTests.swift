import Suballocation
import Testing

@Suite struct LinearTests {
    @Test func aStackFreesFromTheTop() throws {
        var block = try VirtualBlock(size: 1000, algorithm: .linear(.stack))
        let a = try block.allocate(size: 300)
        let b = try block.allocate(size: 300, alignment: 16)
        #expect(a.offset == 0 && b.offset == 304)
        try block.free(b.handle)
        let c = try block.allocate(size: 600)
        #expect(c.offset == 300)
        #expect(throws: VirtualBlockError.outOfRoom(size: 200, alignment: 1, largestFreeRange: 100)) {
            try block.allocate(size: 200)
        }
        block._checkInvariants()
    }

    @Test func aRingBufferWrapsAndFreesTheOldestFirst() throws {
        var block = try VirtualBlock(size: 1000, algorithm: .linear(.ringBuffer))
        let a = try block.allocate(size: 400)
        let b = try block.allocate(size: 400)
        try block.free(a.handle)
        let c = try block.allocate(size: 300)
        #expect(c.offset == 0, "wrapped to the start")
        #expect(throws: VirtualBlockError.outOfRoom(size: 150, alignment: 1, largestFreeRange: 200)) {
            try block.allocate(size: 150)
        }
        _ = try block.allocate(size: 100)
        try block.free(b.handle)
        block._checkInvariants()
        // c is now the oldest and the room above it is reachable again.
        let d = try block.allocate(size: 500)
        #expect(d.offset == 400)
        try block.free(c.handle)
        block._checkInvariants()
        #expect(block.allocationCount == 2)
    }

    @Test func aDoubleStackGrowsFromBothEnds() throws {
        var block = try VirtualBlock(size: 1000, algorithm: .linear(.doubleStack), granularity: 64)
        let low = try block.allocate(size: 100, kind: .linear)
        let high = try block.allocate(size: 100, kind: .optimal, upperAddress: true)
        #expect(low.offset == 0 && high.offset == 900)
        // An optimal request from above must keep off the linear page at the bottom.
        let high2 = try block.allocate(size: 700, alignment: 4, kind: .optimal, upperAddress: true)
        #expect(high2.offset == 200)
        #expect(throws: VirtualBlockError.outOfRoom(size: 100, alignment: 1, largestFreeRange: 100)) {
            try block.allocate(size: 100, kind: .optimal, upperAddress: true)
        }
        try block.free(high2.handle)
        try block.free(high.handle)
        try block.free(low.handle)
        #expect(block.isEmpty)
        block._checkInvariants()
    }

    @Test func freeAtOnceReleasesEverythingWithReset() throws {
        var block = try VirtualBlock(size: 1 << 16, algorithm: .linear(.freeAtOnce))
        var handles: [VirtualAllocationHandle] = []
        for _ in 0..<10 { handles.append(try block.allocate(size: 1000).handle) }
        block.reset()
        #expect(block.isEmpty && block.statistics.freeRangeCount == 1)
        for h in handles { #expect(throws: VirtualBlockError.staleHandle(h)) { try block.free(h) } }
        #expect(try block.allocate(size: 1000).offset == 0)
    }

    @Test func automaticModeLeavesHolesUntilTheEndsReachThem() throws {
        var block = try VirtualBlock(size: 1000, algorithm: .linear(.automatic))
        let a = try block.allocate(size: 200)
        let b = try block.allocate(size: 200)
        let c = try block.allocate(size: 200)
        try block.free(b.handle)
        #expect(block.statistics.freeRangeCount == 2)
        #expect(try block.allocate(size: 200).offset == 600, "the hole is not reused")
        try block.free(a.handle)
        try block.free(c.handle)
        block._checkInvariants()
        #expect(block.statistics.freeRangeCount == 2, "the front is reclaimed up to the live allocation")
        #expect(block.allocations.map(\.offset) == [600])
    }
}
