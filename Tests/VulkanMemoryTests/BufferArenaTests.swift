import Foundation
import CVulkan
import Testing
@testable import VulkanMemory

/// Slices of shared buffers: alignment for their use, growth and release of buffers,
/// typed errors on misuse, views that end with their slice, leak reports, and a seeded
/// random run against a reference model.
@Suite("Buffer arena")
struct BufferArenaTests {
    static let kibibyte: UInt64 = 1 << 10

    /// Offsets are multiples of every descriptor offset limit that applies and of the
    /// alignment asked for; the arena's buffers are the allocator's own allocations.
    @Test func slicesAreAlignedForTheirUsage() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let limits = context.device.rawLimits
            let usage: BufferUsage = [.uniformBuffer, .storageBuffer, .uniformTexelBuffer]
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: usage, memoryUsage: .dynamic, blockSize: 64 * Self.kibibyte))
            let expected = max(limits.minUniformBufferOffsetAlignment, limits.minStorageBufferOffsetAlignment,
                               limits.minTexelBufferOffsetAlignment)
            #expect(arena.sliceAlignment == expected)
            var slices: [BufferSlice] = []
            for (index, size) in [1, 3, 64, 100, 255, 256, 1000].enumerated() {
                let asked: UInt64 = index.isMultiple(of: 2) ? 1 : 512
                let slice = try arena.allocate(size: UInt64(size), alignment: asked)
                #expect(slice.offset % max(expected, asked) == 0, "\(slice) misaligned")
                #expect(slice.size == UInt64(size))
                slices.append(slice)
            }
            let statistics = arena.statistics
            #expect(statistics.sliceCount == slices.count && statistics.blockCount == 1)
            #expect(allocator.liveAllocations().count == 1, "one arena buffer, one allocation")
            for slice in slices { try arena.free(slice) }
            #expect(arena.statistics.sliceCount == 0)
            #expect(arena.destroy().isEmpty)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// Bad input and misuse get typed errors and leave the arena as it was.
    @Test func misuseGetsTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let options = BufferArenaOptions(usage: [.storageBuffer], memoryUsage: .dynamic, blockSize: 16 * Self.kibibyte)
            #expect(throws: BufferArenaError.invalidOptions("blockSize must be greater than 0")) {
                var bad = options
                bad.blockSize = 0
                _ = try BufferArena(allocator: allocator, options: bad)
            }
            #expect(throws: BufferArenaError.self) {
                var bad = options
                bad.minAlignment = 48
                _ = try BufferArena(allocator: allocator, options: bad)
            }
            let arena = try BufferArena(allocator: allocator, options: options)
            let other = try BufferArena(allocator: allocator, options: options)
            #expect(throws: BufferArenaError.zeroSize) { try arena.allocate(size: 0) }
            #expect(throws: BufferArenaError.alignmentNotPowerOfTwo(3)) { try arena.allocate(size: 16, alignment: 3) }
            #expect(throws: BufferArenaError.self) { try arena.allocate(size: .max - 2, alignment: 1 << 20) }
            #expect(arena.statistics.blockCount == 0, "no buffer made for refused requests")

            let slice = try arena.allocate(size: 128, name: "kept")
            let foreign = try other.allocate(size: 128)
            #expect(throws: BufferArenaError.foreignSlice) { try arena.free(foreign) }
            #expect(throws: BufferArenaError.foreignSlice) { try arena.map(foreign) }
            let before = arena.statistics
            let freed = try arena.allocate(size: 64)
            try arena.free(freed)
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(freed) }
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.map(freed) }
            #expect(!arena.contains(freed) && arena.contains(slice))
            #expect(arena.statistics == before)

            // Memory that cannot be mapped says so (lavapipe maps everything; an H200's
            // .gpuOnly memory is not host-visible).
            let gpu = try BufferArena(allocator: allocator, options: BufferArenaOptions(usage: [.storageBuffer]))
            let gpuSlice = try gpu.allocate(size: 64)
            if !allocator.isHostVisible(gpu.buffers[0].allocation) {
                #expect(throws: BufferArenaError.notHostVisible(memoryTypeIndex: gpu.buffers[0].allocation.memoryTypeIndex)) {
                    try gpu.map(gpuSlice)
                }
            } else {
                try gpu.map(gpuSlice).write(UInt32(1))
            }
            try gpu.free(gpuSlice)

            try other.free(foreign)
            #expect(arena.destroy().map(\.name) == ["kept"])
            #expect(throws: BufferArenaError.destroyed) { try arena.free(slice) }
            #expect(throws: BufferArenaError.destroyed) { try arena.allocate(size: 16) }
            #expect(throws: BufferArenaError.destroyed) { try arena.map(slice) }
            #expect(arena.destroy().isEmpty, "a second destroy does nothing")
        }
    }

    /// Full buffers make new ones up to maxBlocks; emptied buffers are released but one;
    /// a slice larger than a block gets its own buffer, released with it.
    @Test func arenaGrowsAndReleasesEmptiedBuffers() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let block = 16 * Self.kibibyte
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.vertexBuffer, .transferDestination], memoryUsage: .staging, blockSize: block, maxBlocks: 3,
                name: "vertices"))
            var slices: [BufferSlice] = []
            for _ in 0..<12 { slices.append(try arena.allocate(size: 4 * Self.kibibyte)) }
            #expect(arena.statistics.blockCount == 3)
            #expect(Set(slices.map(\.buffer)).count == 3)
            #expect(allocator.liveAllocations().filter { $0.name == "vertices buffer" }.count == 3)
            let full = arena.statistics
            #expect(throws: BufferArenaError.arenaFull(size: 100, alignment: arena.sliceAlignment, blocks: 3)) {
                try arena.allocate(size: 100)
            }
            #expect(arena.statistics == full)
            for slice in slices { try arena.free(slice) }
            #expect(arena.statistics.blockCount == 1, "one empty buffer kept for reuse")
            #expect(allocator.liveAllocations().count == 1)

            let large = try arena.allocate(size: 3 * block, name: "large")
            #expect(arena.statistics.blockCount == 2)
            #expect(arena.buffers.contains { $0.buffer == large.buffer && $0.size == 3 * block })
            try arena.free(large)
            #expect(arena.statistics.blockCount == 1, "the large slice's buffer goes with it")
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// An arena of 16 KiB storage buffers holding `count` slices of 4 KiB, four a buffer.
    static func quarterSlices(_ allocator: Allocator, count: Int,
                              maxBlocks: Int = .max) throws -> (BufferArena, [BufferSlice]) {
        let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
            usage: [.storageBuffer], memoryUsage: .dynamic, blockSize: 16 * kibibyte, maxBlocks: maxBlocks))
        let slices = try (0..<count).map { _ in try arena.allocate(size: 4 * kibibyte) }
        return (arena, slices)
    }

    /// Freed room in a lower buffer is used before a higher one's, so higher buffers can
    /// empty and go; frees refused by the short path (a second free while the buffer holds
    /// other slices, a slice whose offset does not match its range) still get their errors
    /// and change nothing.
    @Test func lowerBuffersFillFirstAndRefusedFreesChangeNothing() throws {
        try withTestDevice { context in
            var (arena, slices) = try Self.quarterSlices(Allocator(device: context.device), count: 12, maxBlocks: 3)
            let order = arena.buffers.map(\.buffer)
            #expect(order.count == 3)
            // Free one slice in the last buffer, then one in the first: the next slice goes
            // to the first, the one after to the last.
            let inLast = try #require(slices.firstIndex { $0.buffer == order[2] })
            let inFirst = try #require(slices.firstIndex { $0.buffer == order[0] })
            try arena.free(slices[inLast])
            try arena.free(slices[inFirst])
            let refill = try arena.allocate(size: 4 * Self.kibibyte)
            #expect(refill.buffer == order[0], "the lowest buffer with room takes the slice")
            let next = try arena.allocate(size: 4 * Self.kibibyte)
            #expect(next.buffer == order[2])
            slices[inFirst] = refill
            slices[inLast] = next

            let before = arena.statistics
            let victim = slices.removeLast()
            try arena.free(victim)
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.free(victim) }
            let moved = BufferSlice(buffer: slices[0].buffer, offset: slices[0].offset + 16, size: slices[0].size,
                                    owner: slices[0].owner, block: slices[0].block, serial: slices[0].serial, tag: slices[0].tag,
                                    handle: slices[0].handle)
            #expect(throws: BufferArenaError.self) { try arena.free(moved) }
            #expect(arena.contains(slices[0]))
            var after = arena.statistics
            after.sliceCount += 1
            after.sliceBytes += victim.size
            #expect(after.sliceCount == before.sliceCount && after.sliceBytes == before.sliceBytes)
            for slice in slices { try arena.free(slice) }
            #expect(arena.statistics.sliceCount == 0 && arena.statistics.blockCount == 1)
            #expect(arena.destroy().isEmpty)
        }
    }

    /// A slice too large for a lower buffer's hole goes higher, but the next slice that
    /// fits the hole still goes there: the lower buffer stays the one tried first.
    @Test func aSliceTooLargeForALowerHoleLeavesItToTheNext() throws {
        try withTestDevice { context in
            var (arena, slices) = try Self.quarterSlices(Allocator(device: context.device), count: 5)
            let order = arena.buffers.map(\.buffer)
            #expect(order.count == 2 && slices[4].buffer == order[1])
            // A 4 KiB hole between two live slices of the first buffer.
            let hole = try #require(slices.firstIndex { $0.buffer == order[0] && $0.offset == 4 * Self.kibibyte })
            try arena.free(slices.remove(at: hole))
            let large = try arena.allocate(size: 8 * Self.kibibyte)
            #expect(large.buffer == order[1], "8 KiB does not fit the first buffer's 4 KiB hole")
            let small = try arena.allocate(size: 4 * Self.kibibyte)
            #expect(small.buffer == order[0] && small.offset == 4 * Self.kibibyte, "the hole takes the next 4 KiB")
            for slice in slices + [large, small] { try arena.free(slice) }
            arena._checkInvariants()
            #expect(arena.destroy().isEmpty)
        }
    }

    /// A freed slice's view throws instead of writing into the slice that takes its place;
    /// a live neighbour's bytes are untouched.
    @Test func viewOfAFreedSliceEnds() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.uniformBuffer], memoryUsage: .dynamic, blockSize: 4 * Self.kibibyte))
            let first = try arena.allocate(size: 256)
            let neighbour = try arena.allocate(size: 256)
            let view = try arena.map(first)
            let neighbourView = try arena.map(neighbour)
            try view.write(UInt32(0xAAAA_AAAA), at: 0)
            try neighbourView.write(contentsOf: [UInt32](repeating: 0x5555_5555, count: 64))
            #expect(throws: MemoryError.self) { try view.write(UInt64(1), at: 252) }
            try arena.free(first)
            #expect(!view.isValid)
            #expect(throws: MemoryError.viewEnded) { try view.write(UInt32(1), at: 0) }
            #expect(throws: MemoryError.viewEnded) { try view.read(UInt32.self) }
            let successor = try arena.allocate(size: 256)
            try arena.map(successor).write(UInt32(7))
            #expect(try neighbourView.read(UInt32.self, count: 64).allSatisfy { $0 == 0x5555_5555 })
            try arena.free(successor)
            try arena.free(neighbour)
            arena.destroy()
        }
    }

    /// Slices of an arena with `.shaderDeviceAddress` usage have their buffer's address
    /// plus their offset.
    @Test func slicesHaveDeviceAddresses() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            guard context.device.capabilities.contains(.bufferDeviceAddress) else {
                let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(usage: [.storageBuffer]))
                let slice = try arena.allocate(size: 64)
                #expect(throws: BufferArenaError.self) { try arena.deviceAddress(of: slice) }
                try arena.free(slice)
                return
            }
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.storageBuffer, .shaderDeviceAddress], blockSize: 64 * Self.kibibyte))
            let a = try arena.allocate(size: 100)
            let b = try arena.allocate(size: 100)
            let base = try allocator.deviceAddress(of: arena.buffers[0])
            #expect(base != 0)
            #expect(try arena.deviceAddress(of: a) == base + a.offset)
            #expect(try arena.deviceAddress(of: b) == base + b.offset)
            try arena.free(a)
            #expect(throws: BufferArenaError.alreadyFreed) { try arena.deviceAddress(of: a) }
            try arena.free(b)
            let plain = try BufferArena(allocator: allocator, options: BufferArenaOptions(usage: [.storageBuffer]))
            let slice = try plain.allocate(size: 64)
            #expect(throws: BufferArenaError.allocation(.bufferUsageMissing(.shaderDeviceAddress,
                                                                            operation: "vkGetBufferDeviceAddress"))) {
                try plain.deviceAddress(of: slice)
            }
            try plain.free(slice)
        }
    }

    /// On host-visible memory that is not coherent (a Mali-T760's cached type, atom 64)
    /// slices start on atoms and take whole ones, so each view's flush and invalidate
    /// (checked against the atom by the profiled device) never touch a neighbour; a ring
    /// there covers whole atoms only.
    @Test(needsLavapipe) func nonCoherentSlicesTakeWholeAtoms() throws {
        try withProfiledDevice(try realProfile("Mali-T760")) { device in
            let allocator = Allocator(device: device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.storageBuffer, .transferDestination], memoryUsage: .readback, blockSize: 64 * Self.kibibyte))
            let first = try arena.allocate(size: 1)
            let type = allocator.properties.types[arena.buffers[0].allocation.memoryTypeIndex]
            try #require(type.isHostVisible && !type.flags.contains(.hostCoherent), "readback takes the cached type")
            let atom = device.rawLimits.nonCoherentAtomSize
            #expect(atom == 64)
            var slices = [first]
            for size in [3, 64, 65, 100, 200] as [UInt64] { slices.append(try arena.allocate(size: size)) }
            let sorted = slices.sorted { $0.offset < $1.offset }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                #expect(b.offset >= a.offset + ((a.size + atom - 1) / atom) * atom, "\(a) and \(b) share an atom")
            }
            #expect(slices.allSatisfy { $0.offset % atom == 0 })
            for (index, slice) in slices.enumerated() {
                try arena.map(slice).write(contentsOf: [UInt8](repeating: UInt8(index + 1), count: Int(slice.size)))
            }
            for (index, slice) in slices.enumerated() {
                #expect(try arena.map(slice).read(UInt8.self, count: Int(slice.size)).allSatisfy { $0 == UInt8(index + 1) })
                try arena.free(slice)
            }
            // A large slice gets a buffer of whole atoms.
            let large = try arena.allocate(size: 64 * Self.kibibyte + 1)
            #expect(arena.buffers.contains { $0.buffer == large.buffer && $0.size == 64 * Self.kibibyte + atom })
            try arena.map(large).write(UInt8(9), at: large.size - 1)
            try arena.free(large)
            arena.destroy()

            let ring = try FrameRing(allocator: allocator, size: 10 * atom + 5, usage: [.storageBuffer],
                                     memoryUsage: .readback)
            #expect(ring.capacity == 10 * atom && ring.sliceAlignment >= atom)
            let slice = try ring.allocate(size: 5)
            try ring.map(slice).write(UInt32(5))
            ring.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// A ring too small for one whole atom of non-coherent memory is refused, and the
    /// page its buffer made goes with it (it used to stay, as the empty-page policy keeps
    /// one), as does the mapping.
    @Test(needsLavapipe) func aRingThatHoldsNoAtomLeavesNoPage() throws {
        try withProfiledDevice(try realProfile("Mali-T760")) { device in
            let allocator = Allocator(device: device)
            #expect {
                _ = try FrameRing(allocator: allocator, size: 16, usage: [.storageBuffer], memoryUsage: .readback)
            } throws: { error in
                guard case .invalidOptions(let reason) = error as? BufferArenaError else { return false }
                return reason.contains("holds no whole nonCoherentAtomSize atom")
            }
            #expect(allocator.liveAllocations().isEmpty)
            #expect(allocator.usage.committedBytes == 0 && allocator.usage.pageCount == 0,
                    "\(allocator.usage.pageCount) page(s) of \(allocator.usage.committedBytes) bytes left")
        }
    }

    /// Seeded random allocations and frees against a model: no two live slices overlap,
    /// every slice lies in its buffer with its alignment, and the bytes written to each
    /// slice survive until it is freed.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomSlicesMatchTheModel(seed: UInt64) throws {
        try withTestDevice { context in
            var random = SplitMix64(seed: seed)
            let allocator = Allocator(device: context.device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.uniformBuffer, .storageBuffer], memoryUsage: .dynamic, blockSize: 32 * Self.kibibyte,
                maxBlocks: 6, name: "random"))
            var live: [(slice: BufferSlice, alignment: UInt64, pattern: UInt8)] = []
            for step in 0..<1500 {
                if !live.isEmpty, random.chance(45) {
                    let index = Int(random.below(UInt64(live.count)))
                    let (slice, _, pattern) = live.remove(at: index)
                    let bytes = try arena.map(slice).read(UInt8.self, count: Int(slice.size))
                    #expect(bytes.allSatisfy { $0 == pattern }, "slice \(slice) lost its bytes by step \(step)")
                    try arena.free(slice)
                } else {
                    let size = random.chance(5) ? 40 * Self.kibibyte : max(1, random.logUniform(max: 4 * Self.kibibyte))
                    let alignment: UInt64 = 1 << random.below(9)
                    let slice: BufferSlice
                    do {
                        slice = try arena.allocate(size: size, alignment: alignment)
                    } catch BufferArenaError.arenaFull {
                        continue
                    }
                    let pattern = UInt8(truncatingIfNeeded: step)
                    try arena.map(slice).write(contentsOf: [UInt8](repeating: pattern, count: Int(size)))
                    live.append((slice, alignment, pattern))
                }
                if step % 100 == 0 { try Self.check(arena, live.map { ($0.slice, $0.alignment) }) }
            }
            try Self.check(arena, live.map { ($0.slice, $0.alignment) })
            #expect(arena.statistics.sliceCount == live.count)
            for entry in live { try arena.free(entry.slice) }
            #expect(arena.statistics.blockCount <= 1)
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// The model's invariants over the live slices.
    static func check(_ arena: BufferArena, _ live: [(slice: BufferSlice, alignment: UInt64)],
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        arena._checkInvariants()
        let sizes = Dictionary(uniqueKeysWithValues: arena.buffers.map { ($0.buffer, $0.size) })
        for (buffer, group) in Dictionary(grouping: live, by: { $0.slice.buffer }) {
            let size = try #require(sizes[buffer], "a slice's buffer is not one of the arena's", sourceLocation: sourceLocation)
            let sorted = group.map(\.slice).sorted { $0.offset < $1.offset }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                #expect(a.offset + a.size <= b.offset, "\(a) overlaps \(b)", sourceLocation: sourceLocation)
            }
            #expect(sorted.last!.offset + sorted.last!.size <= size, "past its buffer's end", sourceLocation: sourceLocation)
        }
        for (slice, alignment) in live {
            #expect(slice.offset % max(alignment, arena.sliceAlignment) == 0, "\(slice) misaligned",
                    sourceLocation: sourceLocation)
            #expect(arena.contains(slice), sourceLocation: sourceLocation)
        }
    }

    /// Several threads allocate, write, check and free slices of one arena at once; every
    /// slice keeps its own bytes and the arena ends empty.
    /// With `sameSizes`, slices of four sizes only, so most take a range another
    /// thread's free kept (`RecycledRanges`).
    @Test(arguments: [false, true])
    func slicesFromSeveralThreads(sameSizes: Bool) throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.storageBuffer], memoryUsage: .dynamic, blockSize: 16 * Self.kibibyte))
            let failures = Failures()
            runOnThreads(4) { thread in
                var random = SplitMix64(seed: UInt64(thread) + 100)
                var mine: [(BufferSlice, UInt32)] = []
                do {
                    for step in 0..<400 {
                        if !mine.isEmpty, random.chance(50) {
                            let (slice, value) = mine.remove(at: Int(random.below(UInt64(mine.count))))
                            let words = try arena.map(slice).read(UInt32.self, count: Int(slice.size / 4))
                            if !words.allSatisfy({ $0 == value }) { failures.append("thread \(thread): \(slice) overwritten") }
                            try arena.free(slice)
                        } else {
                            let size = sameSizes ? [64, 256, 256, 1024][Int(random.below(4))] : 4 * (1 + random.below(256))
                            let slice = try arena.allocate(size: size)
                            let value = UInt32(thread << 16 | step)
                            try arena.map(slice).write(contentsOf: [UInt32](repeating: value, count: Int(slice.size / 4)))
                            mine.append((slice, value))
                        }
                    }
                    for (slice, _) in mine { try arena.free(slice) }
                } catch {
                    failures.append("thread \(thread): \(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            #expect(arena.statistics.sliceCount == 0)
            arena._checkInvariants()
            arena.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// An arena dropped with live slices reports them with their names and gives its
    /// buffers back to the allocator.
    @Test func droppedArenaReportsLiveSlices() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var arena: BufferArena? = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.uniformBuffer], memoryUsage: .dynamic, blockSize: 4 * Self.kibibyte))
            let slice = try arena!.allocate(size: 256, name: "camera")
            let view = try arena!.map(slice)
            #expect(arena!.liveSlices().map(\.name) == ["camera"])
            #expect(allocator.liveAllocations().count == 1)
            arena = nil
            #expect(allocator.liveAllocations().isEmpty)
            #expect(throws: MemoryError.viewEnded) { try view.write(UInt32(1)) }
        }
    }

    /// Statistics made with the arena show its live slices inside their buffer's range,
    /// and the memory map draws each one, named, within its buffer's box.
    @Test func memoryMapShowsSlicesInTheirBuffer() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.uniformBuffer], memoryUsage: .dynamic, blockSize: 64 * Self.kibibyte, name: "per-draw"))
            var slices: [BufferSlice] = []
            for draw in 0..<5 { slices.append(try arena.allocate(size: 256, name: "draw <\(draw)>")) }
            try arena.free(slices.remove(at: 2))

            #expect(allocator.statistics().pages.flatMap(\.ranges).allSatisfy { $0.slices == nil })
            let statistics = allocator.statistics(showingSlicesOf: [arena])
            let ranges = statistics.pages.flatMap(\.ranges).filter { $0.slices != nil }
            try #require(ranges.count == 1, "one arena buffer, one range with slices")
            let shown = try #require(ranges[0].slices)
            #expect(ranges[0].name == "per-draw buffer")
            #expect(shown.map(\.name) == ["draw <0>", "draw <1>", "draw <3>", "draw <4>"])
            #expect(shown.map(\.offset) == slices.map(\.offset))
            #expect(shown.allSatisfy { $0.offset + $0.size <= ranges[0].size })

            let svg = statistics.svg()
            #expect(svg.components(separatedBy: "class=\"slice\"").count - 1 == 4)
            #expect(svg.contains("arena slice (lower half, inside its buffer)"))
            #expect(svg.contains("data-name=\"draw &lt;3&gt;\""), "names are escaped")
            #expect(statistics.html().contains("wire(slices)"))
            // The JSON form carries the slices and reads back equal.
            let decoded = try JSONDecoder().decode(Statistics.self, from: Data(try statistics.json().utf8))
            #expect(decoded == statistics)
            for slice in slices { try arena.free(slice) }
            arena.destroy()
        }
    }
}
