import CVulkan
import Testing
@testable import VulkanMemory

/// Freed ranges an arena keeps for the next slice of their size: the next such slice
/// takes the range, every copy of the freed slice is told apart from it, kept ranges are
/// free to statistics and reports, and they go back to the buffer when a request needs
/// their room or the buffer's last slice goes.
@Suite("Buffer arena: recycled ranges")
struct BufferArenaRecyclingTests {
    static let kibibyte: UInt64 = 1 << 10

    /// An arena of 16 KiB storage buffers in host-visible memory.
    static func arena(_ allocator: Allocator, maxBlocks: Int = .max) throws -> BufferArena {
        try BufferArena(allocator: allocator, options: BufferArenaOptions(
            usage: [.storageBuffer], memoryUsage: .dynamic, blockSize: 16 * kibibyte, maxBlocks: maxBlocks,
            name: "recycling"))
    }

    /// Ranges the arena keeps now, all buffers together.
    static func keptRanges(_ arena: BufferArena) -> Int {
        arena.state.withLock { $0.blocks.reduce(0) { $0 + ($1?.recycled.count ?? 0) } }
    }

    /// The next slice of a freed slice's size takes its range; the freed slice's copies
    /// then get `alreadyFreed` everywhere, and the new slice is live and keeps its bytes.
    @Test func theNextSliceOfASizeTakesTheFreedRange() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator)
            let slices = try (0..<4).map { _ in try arena.allocate(size: 256) }
            try arena.map(slices[1]).write(UInt32(11))
            try arena.free(slices[1])
            #expect(Self.keptRanges(arena) == 1, "the range is kept, not merged")
            let next = try arena.allocate(size: 256)
            #expect(Self.keptRanges(arena) == 0)
            #expect(next.buffer == slices[1].buffer && next.offset == slices[1].offset, "the freed range is reused")
            #expect(next != slices[1], "a reused range's slice differs from the freed one")
            try arena.map(next).write(UInt32(22))

            #expect(!arena.contains(slices[1]) && arena.contains(next))
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(slices[1]) }
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.map(slices[1]) }
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.deviceAddress(of: slices[1]) }
            #expect(try arena.map(next).read(UInt32.self) == 22, "refused misuse left the new slice alone")
            #expect(arena.statistics.sliceCount == 4)
            arena._checkInvariants()

            try arena.free(next)
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(next) }
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(slices[1]) }
            #expect(!arena.contains(next))
            for slice in [slices[0], slices[2], slices[3]] { try arena.free(slice) }
            #expect(arena.statistics.sliceCount == 0)
            #expect(arena.liveSlices().isEmpty)
            arena._checkInvariants()
            #expect(arena.destroy().isEmpty)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// A slice of another size or a stricter alignment does not take a kept range; it is
    /// placed by the buffer's TLSF search, and the kept range waits for its own size.
    @Test func onlyASliceOfTheSameSizeAndAlignmentTakesAKeptRange() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator)
            let slices = try (0..<3).map { _ in try arena.allocate(size: 512) }
            try arena.free(slices[1])
            let other = try arena.allocate(size: 256)
            #expect(other.offset != slices[1].offset || other.buffer != slices[1].buffer)
            let strict = try arena.allocate(size: 512, alignment: 4 * Self.kibibyte)
            #expect(strict.offset % (4 * Self.kibibyte) == 0)
            let same = try arena.allocate(size: 512)
            #expect(same.offset == slices[1].offset)
            arena._checkInvariants()
            for slice in [slices[0], slices[2], other, strict, same] { try arena.free(slice) }
            #expect(arena.statistics.sliceCount == 0)
            arena.destroy()
        }
    }

    /// Kept ranges are free to the arena's figures: slice counts and bytes leave them out,
    /// the largest free range counts them with their free neighbours, reports and the
    /// memory map do not list them, and a named slice's name does not pass to the next
    /// slice in its range.
    @Test func keptRangesAreFreeToStatisticsAndReports() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator)
            let first = try arena.allocate(size: 1024, name: "first")
            let withFirst = arena.statistics
            let named = try arena.allocate(size: 1024, name: "uniforms")
            let last = try arena.allocate(size: 1024)
            try arena.free(last)
            try arena.free(named)
            #expect(arena.statistics == withFirst, "figures as before the two slices: \(arena.statistics) against \(withFirst)")
            #expect(arena.liveSlices().map(\.name) == ["first"])
            let shown = allocator.statistics(showingSlicesOf: [arena]).pages.flatMap(\.ranges).compactMap(\.slices)
            #expect(shown.flatMap { $0 }.map(\.name) == ["first"], "the memory map lists only the live slice: \(shown)")

            let unnamed = try arena.allocate(size: 1024)
            #expect(unnamed.offset == named.offset)
            #expect(arena.liveSlices().map(\.name).sorted { ($0 ?? "") < ($1 ?? "") } == [nil, "first"])
            for slice in [first, unnamed] { try arena.free(slice) }
            arena.destroy()
        }
    }

    /// A request that needs the room of kept ranges gets it in the same buffer (the kept
    /// ranges go back and merge) rather than a new buffer.
    @Test func aRequestThatNeedsKeptRoomGetsItWithoutANewBuffer() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator, maxBlocks: 1)
            let slices = try (0..<64).map { _ in try arena.allocate(size: 256) }
            #expect(arena.statistics.blockCount == 1)
            #expect(throws: BufferArenaError.self) { try arena.allocate(size: 256) }
            // Sixteen neighbours are kept (as many as a buffer keeps), the rest merge.
            let run = slices[8..<40]
            for slice in run { try arena.free(slice) }
            #expect(Self.keptRanges(arena) == RecycledRanges.capacity)
            #expect(arena.statistics.largestFreeRange == 32 * 256)
            let large = try arena.allocate(size: 32 * 256)
            #expect(large.offset == run.first!.offset, "the freed run, kept ranges included, holds it")
            #expect(arena.statistics.blockCount == 1)
            arena._checkInvariants()
            for slice in slices[..<8] + slices[40...] + [large] { try arena.free(slice) }
            #expect(arena.statistics.sliceCount == 0)
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// Kept ranges with alignment padding before them: the largest free range counts
    /// them merged as the buffer would merge them, a request that needs them gets them,
    /// and a request they cannot hold fails with the arena's figures as they were.
    @Test func paddedKeptRangesMergeAsTheBufferWould() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator, maxBlocks: 1)
            // 200 bytes at every 256: 56 bytes of padding before each slice but the first.
            let slices = try (0..<64).map { _ in try arena.allocate(size: 200, alignment: 256) }
            #expect(slices.map(\.offset) == (0..<64).map { UInt64($0) * 256 })
            for index in [10, 11, 20] { try arena.free(slices[index]) }
            #expect(Self.keptRanges(arena) == 3)
            let before = arena.statistics
            #expect(before.largestFreeRange == 512, "slices 10 and 11 with the padding before each")
            #expect(throws: BufferArenaError.arenaFull(size: 600, alignment: arena.sliceAlignment, blocks: 1)) {
                try arena.allocate(size: 600)
            }
            #expect(arena.statistics == before, "a refused request leaves the figures as they were")
            let wider = try arena.allocate(size: 300, alignment: 256)
            #expect(wider.offset == 2560 && arena.statistics.blockCount == 1)
            arena._checkInvariants()
            for (index, slice) in slices.enumerated() where ![10, 11, 20].contains(index) { try arena.free(slice) }
            try arena.free(wider)
            #expect(arena.statistics.sliceCount == 0)
            arena.destroy()
        }
    }

    /// A range whose serial has reached the largest is not kept: it goes back to the
    /// buffer, so its next slice has a new handle and no serial repeats under one handle.
    @Test func aRangeAtTheLastSerialIsNotKept() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator)
            let slices = try (0..<3).map { _ in try arena.allocate(size: 256) }
            let worn = try arena.state.withLock { (state: inout BufferArenaState) throws -> BufferSlice in
                try state.blocks[0]!.ranges.setUserData(UInt64(UInt32.max), for: slices[1].handle)
                return BufferSlice(buffer: slices[1].buffer, offset: slices[1].offset, size: slices[1].size,
                                   owner: slices[1].owner, block: slices[1].block, serial: .max,
                                   tag: slices[1].tag, handle: slices[1].handle)
            }
            #expect(!arena.contains(slices[1]) && arena.contains(worn))
            try arena.free(worn)
            #expect(Self.keptRanges(arena) == 0, "freed into the buffer, not kept")
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(worn) }
            let next = try arena.allocate(size: 256)
            #expect(next.handle != worn.handle && next.serial == 0)
            for slice in [slices[0], slices[2], next] { try arena.free(slice) }
            arena.destroy()
        }
    }

    /// Freeing a buffer's last live slice gives its kept ranges back, so the buffer is
    /// empty: kept for reuse when it is the only empty one, released otherwise.
    @Test func theLastSliceOfABufferEmptiesItDespiteKeptRanges() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator)
            let slices = try (0..<128).map { _ in try arena.allocate(size: 256) }
            #expect(arena.statistics.blockCount == 2)
            for slice in slices[64...] { try arena.free(slice) }
            #expect(arena.statistics.blockCount == 2, "one empty buffer is kept")
            arena._checkInvariants()
            for slice in slices[..<64] { try arena.free(slice) }
            #expect(arena.statistics.blockCount == 1, "the second empty buffer goes")
            #expect(arena.statistics.sliceCount == 0)
            #expect(arena.statistics.largestFreeRange == 16 * Self.kibibyte, "the kept buffer is whole again")
            arena._checkInvariants()
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// Seeded runs of mostly same-sized slices against a model: live slices never
    /// overlap and keep their bytes, and every freed slice's copy stays refused however
    /// its range is reused.
    @Test(arguments: [4, 5, 6] as [UInt64])
    func freedCopiesStayRefusedAcrossReuse(seed: UInt64) throws {
        try withTestDevice { context in
            var random = SplitMix64(seed: seed)
            let allocator = Allocator(device: context.device)
            let arena = try Self.arena(allocator, maxBlocks: 4)
            let sizes: [UInt64] = [64, 256, 256, 256, 1024, 3000]
            var live: [(slice: BufferSlice, pattern: UInt8)] = []
            var freed: [BufferSlice] = []
            for step in 0..<2000 {
                if !live.isEmpty, random.chance(48) {
                    let (slice, pattern) = live.remove(at: Int(random.below(UInt64(live.count))))
                    let bytes = try arena.map(slice).read(UInt8.self, count: Int(slice.size))
                    #expect(bytes.allSatisfy { $0 == pattern }, "slice \(slice) lost its bytes by step \(step)")
                    try arena.free(slice)
                    freed.append(slice)
                    if freed.count > 64 { freed.removeFirst() }
                } else {
                    let size = sizes[Int(random.below(UInt64(sizes.count)))]
                    let slice: BufferSlice
                    do {
                        slice = try arena.allocate(size: size, name: random.chance(5) ? "named" : nil)
                    } catch BufferArenaError.arenaFull {
                        continue
                    }
                    let pattern = UInt8(truncatingIfNeeded: step)
                    try arena.map(slice).write(contentsOf: [UInt8](repeating: pattern, count: Int(size)))
                    live.append((slice, pattern))
                }
                if !freed.isEmpty, random.chance(20) {
                    let stale = freed[Int(random.below(UInt64(freed.count)))]
                    #expect(!arena.contains(stale))
                    #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(stale) }
                    #expect(throws: BufferArenaError.alreadyFreed) { try arena.map(stale) }
                    #expect(throws: BufferArenaError.alreadyFreed) { try arena.deviceAddress(of: stale) }
                }
                if step % 100 == 0 {
                    arena._checkInvariants()
                    #expect(arena.statistics.sliceCount == live.count)
                    let sorted = live.map(\.slice).sorted { ($0.buffer.hashValue, $0.offset) < ($1.buffer.hashValue, $1.offset) }
                    for (a, b) in zip(sorted, sorted.dropFirst()) where a.buffer == b.buffer {
                        #expect(a.offset + a.size <= b.offset, "\(a) overlaps \(b)")
                    }
                }
            }
            for entry in live { try arena.free(entry.slice) }
            #expect(arena.statistics.sliceCount == 0)
            #expect(arena.statistics.blockCount <= 1)
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }
}
