import Testing
@testable import VulkanMemory

/// Linear pools (`PoolAlgorithm.linear`): VMA's TestLinearAllocator and its multi-block
/// variant on a real device, each allocation's bytes written through its mapping and
/// checked before it is freed, so two ranges that overlapped would show.
@Suite("Linear pools")
struct LinearPoolTests {
    /// A live allocation and the byte it was filled with.
    private struct Filled {
        let allocation: Allocation
        let byte: UInt8
    }

    private static func fill(_ allocation: Allocation, seed: Int) -> Filled {
        let byte = UInt8(truncatingIfNeeded: seed &* 37 &+ 11)
        guard let pointer = allocation.mappedPointer else {
            Issue.record("allocation at \(allocation.offset) has no mapping")
            return Filled(allocation: allocation, byte: byte)
        }
        pointer.initializeMemory(as: UInt8.self, repeating: byte, count: Int(allocation.size))
        return Filled(allocation: allocation, byte: byte)
    }

    /// Checks the allocation's bytes, then frees it.
    private static func free(_ filled: Filled, in allocator: Allocator,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let pointer = try #require(filled.allocation.mappedPointer, "allocation at \(filled.allocation.offset) has no mapping",
                                   sourceLocation: sourceLocation)
        let bytes = UnsafeRawBufferPointer(start: pointer, count: Int(filled.allocation.size))
        #expect(bytes.allSatisfy { $0 == filled.byte }, "allocation at \(filled.allocation.offset) was overwritten",
                sourceLocation: sourceLocation)
        try allocator.free(filled.allocation)
    }

    private static func requirements(_ size: UInt64, alignment: UInt64 = 256) -> MemoryRequirements {
        MemoryRequirements(size: size, alignment: alignment, kind: .linear)
    }

    private static let mapped = AllocationOptions(mapped: true)

    /// Allocates until the pool is full: the ranges follow one another in address order.
    private static func fillUp(_ allocator: Allocator, _ pool: MemoryPool, random: inout SplitMix64,
                               options: AllocationOptions = mapped) throws -> [Filled] {
        var live: [Filled] = []
        while true {
            let size = UInt64(random.next() % 4096 + 1) * 16
            do throws(AllocationError) {
                let allocation = try allocator.allocate(requirements(size), in: pool, options: options)
                live.append(fill(allocation, seed: live.count))
            } catch {
                guard case .outOfMemory = error else { throw error }
                return live
            }
        }
    }

    @Test func aStackAllocatesUpwardsAndFreesFromTheTop() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "stack", usage: .dynamic, pageSize: 1 << 20, maxPages: 1, algorithm: .linear))
            var random = SplitMix64(seed: 1)
            let live = try Self.fillUp(allocator, pool, random: &random)
            #expect(live.count > 10)
            // Each range starts after the one before, aligned, all in the one page.
            for (below, above) in zip(live, live.dropFirst()) {
                #expect(above.allocation.offset >= below.allocation.offset + below.allocation.size)
                #expect(above.allocation.offset % 256 == 0 && above.allocation.memory == below.allocation.memory)
            }
            // Full: the failure changed nothing.
            let before = allocator.usage
            #expect(throws: AllocationError.self) { _ = try allocator.allocate(Self.requirements(1 << 20), in: pool) }
            #expect(allocator.usage == before)
            allocator._checkInvariants()
            // Stack order: the newest first; the memory comes back each time.
            let top = live.last!.allocation
            try Self.free(live.last!, in: allocator)
            let again = try allocator.allocate(Self.requirements(top.size), in: pool, options: Self.mapped)
            #expect(again.offset == top.offset)
            try allocator.free(again)
            for filled in live.dropLast().reversed() { try Self.free(filled, in: allocator) }
            #expect(try allocator.allocate(Self.requirements(64), in: pool).offset == 0)
            allocator._checkInvariants()
        }
    }

    @Test func freeAtOnceReusesNothingUntilTheLastFree() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "frame", usage: .dynamic, pageSize: 1 << 20, maxPages: 1, algorithm: .linear))
            var random = SplitMix64(seed: 2)
            var live = try (0..<40).map { index in
                Self.fill(try allocator.allocate(Self.requirements(UInt64(random.next() % 2000 + 1) * 8), in: pool,
                                                     options: Self.mapped), seed: index)
            }
            let top = live.map { $0.allocation.offset + $0.allocation.size }.max()!
            // Freed in random order, all but one that is not the newest: nothing below the top
            // is reused (freed ranges between live ones are holes).
            let keep = live.remove(at: 20)
            live.shuffle(using: &random)
            for filled in live { try Self.free(filled, in: allocator) }
            let next = try allocator.allocate(Self.requirements(64), in: pool, options: Self.mapped)
            #expect(next.offset >= keep.allocation.offset + keep.allocation.size)
            #expect(next.offset < top, "the newest ranges above the one kept came back")
            try allocator.free(next)
            allocator._checkInvariants()
            // The last free gives back the whole page.
            try Self.free(keep, in: allocator)
            #expect(try allocator.allocate(Self.requirements(1 << 20, alignment: 1), in: pool).offset == 0)
            allocator._checkInvariants()
        }
    }

    @Test func aDoubleStackGrowsFromBothEnds() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pageSize: UInt64 = 1 << 20
            let pool = try allocator.makePool(PoolOptions(name: "double", usage: .dynamic, pageSize: pageSize, maxPages: 1, algorithm: .linear))
            var upper = Self.mapped
            upper.upperAddress = true
            var random = SplitMix64(seed: 3)
            var lower: [Filled] = []
            var higher: [Filled] = []
            while true {
                let size = UInt64(random.next() % 1024 + 1) * 32
                let up = random.next() % 2 == 0
                do throws(AllocationError) {
                    let allocation = try allocator.allocate(Self.requirements(size), in: pool, options: up ? upper : Self.mapped)
                    let filled = Self.fill(allocation, seed: lower.count + higher.count)
                    if up { higher.append(filled) } else { lower.append(filled) }
                } catch {
                    guard case .outOfMemory = error else { throw error }
                    break
                }
            }
            #expect(lower.count > 3 && higher.count > 3)
            // The lower stack rises, the upper one falls from the page's end, and they never meet.
            for (a, b) in zip(lower, lower.dropFirst()) { #expect(b.allocation.offset >= a.allocation.offset + a.allocation.size) }
            for (a, b) in zip(higher, higher.dropFirst()) { #expect(b.allocation.offset + b.allocation.size <= a.allocation.offset) }
            #expect(higher[0].allocation.offset + higher[0].allocation.size > pageSize - 256)
            let lowerEnd = lower.last.map { $0.allocation.offset + $0.allocation.size } ?? 0
            #expect(lowerEnd <= higher.last!.allocation.offset)
            allocator._checkInvariants()
            // Each stack frees from its top.
            for filled in higher.reversed() { try Self.free(filled, in: allocator) }
            for filled in lower.reversed() { try Self.free(filled, in: allocator) }
            #expect(try allocator.allocate(Self.requirements(256), in: pool, options: upper).offset == pageSize - 256)
            allocator._checkInvariants()
        }
    }

    @Test func upperAddressIsRefusedWhereThereIsNoUpperStack() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var upper = AllocationOptions()
            upper.upperAddress = true
            let general = try allocator.makePool(PoolOptions(name: "general", usage: .dynamic, pageSize: 1 << 20))
            let multi = try allocator.makePool(PoolOptions(name: "multi", usage: .dynamic, pageSize: 1 << 20, maxPages: 3, algorithm: .linear))
            #expect(throws: AllocationError.upperAddressUnavailable(pool: "general")) {
                _ = try allocator.allocate(Self.requirements(256), in: general, options: upper)
            }
            #expect(throws: AllocationError.upperAddressUnavailable(pool: "multi")) {
                _ = try allocator.allocate(Self.requirements(256), in: multi, options: upper)
            }
            #expect(throws: AllocationError.upperAddressUnavailable(pool: nil)) {
                _ = try allocator.allocate(Self.requirements(256), .usage(.gpuOnly), options: upper)
            }
            #expect(allocator.usage.committedBytes == 0)
            // Linear pools are not defragmented, as in VMA.
            #expect(throws: AllocationError.unsupportedForLinearPool(pool: "multi", operation: "defragmentation")) {
                _ = try allocator.beginDefragmentation(in: multi)
            }
            #expect(AllocationError.upperAddressUnavailable(pool: "multi").description.contains("maxPages: 1"))
        }
    }

    @Test func aRingBufferFreesTheOldestAndWrapsToTheStart() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "ring", usage: .dynamic, pageSize: 256 << 10, maxPages: 1, algorithm: .linear))
            var random = SplitMix64(seed: 4)
            var live: [Filled] = []
            var wraps = 0
            var lastOffset: UInt64 = 0
            for step in 0..<600 {
                let size = UInt64(random.next() % 512 + 1) * 16
                while true {
                    do throws(AllocationError) {
                        let allocation = try allocator.allocate(Self.requirements(size), in: pool, options: Self.mapped)
                        if allocation.offset < lastOffset { wraps += 1 }
                        lastOffset = allocation.offset
                        live.append(Self.fill(allocation, seed: step))
                        break
                    } catch {
                        guard case .outOfMemory = error, !live.isEmpty else { throw error }
                        // Out of room: the oldest frame's data goes.
                        try Self.free(live.removeFirst(), in: allocator)
                    }
                }
                if step % 50 == 0 { allocator._checkInvariants() }
            }
            #expect(wraps >= 3, "the ring wrapped \(wraps) times")
            #expect(allocator.usage.pageCount == 1)
            for filled in live { try Self.free(filled, in: allocator) }
            allocator._checkInvariants()
        }
    }

    /// VMA's TestLinearAllocatorMultiBlock: a linear pool of several pages fills one page
    /// after another and gives the emptied ones back, keeping one.
    @Test func severalPagesFillInTurnAndEmptyOnesGoBack() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pageSize: UInt64 = 256 << 10
            let pool = try allocator.makePool(PoolOptions(name: "multi", usage: .dynamic, pageSize: pageSize, maxPages: 3, algorithm: .linear))
            var random = SplitMix64(seed: 5)
            let live = try Self.fillUp(allocator, pool, random: &random)
            #expect(allocator.usage.pageCount == 3)
            // Pages are used in turn: once a range is on a new page, no later one is on an
            // earlier page; every range lies inside its page.
            var memories: [VkDeviceMemoryHandle] = []
            for filled in live {
                let memory = VkDeviceMemoryHandle(filled.allocation.memory)
                if memories.last != memory {
                    #expect(!memories.contains(memory))
                    memories.append(memory)
                }
                #expect(filled.allocation.offset + filled.allocation.size <= pageSize)
            }
            #expect(memories.count == 3)
            // Full at maxPages: refused naming the pool.
            do throws(AllocationError) {
                _ = try allocator.allocate(Self.requirements(pageSize / 2), in: pool)
                Issue.record("a fourth page was made")
            } catch {
                guard case let .outOfMemory(_, _, _, _, reason) = error else { Issue.record("got \(error)"); return }
                #expect(reason.contains("'multi'"))
            }
            allocator._checkInvariants()
            // Freed newest first: each emptied page beyond one goes back to the driver.
            for filled in live.reversed() { try Self.free(filled, in: allocator) }
            #expect(allocator.usage.pageCount == 1)
            allocator._checkInvariants()
            // Buffers, through the validation layer, in the page kept.
            let buffers = try (0..<4).map { _ in
                try allocator.createBuffer(BufferDescription(size: 64 << 10, usage: [.transferDestination, .storageBuffer])
                    .exclusiveCreateInfo, in: pool)
            }
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            try allocator.destroyPool(pool)
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    /// Seeded random operations in all the patterns at once, against a model of the live
    /// ranges: after every step the allocator's invariants hold, and no two live ranges
    /// of one page overlap; every range keeps its bytes until it is freed.
    @Test(arguments: [(11, 1), (12, 1), (13, 4)])
    func randomOperationsKeepEveryRangeApart(seed: UInt64, maxPages: Int) throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pageSize: UInt64 = 128 << 10
            let pool = try allocator.makePool(PoolOptions(name: "random", usage: .dynamic, pageSize: pageSize, maxPages: maxPages,
                                                          algorithm: .linear))
            var random = SplitMix64(seed: seed)
            var live: [Filled] = []
            var upper = Self.mapped
            upper.upperAddress = true
            for step in 0..<400 {
                let choice = random.next() % 10
                if choice < 6 || live.isEmpty {
                    let size = UInt64(random.next() % 256 + 1) * 16
                    let up = maxPages == 1 && random.next() % 4 == 0
                    do throws(AllocationError) {
                        let allocation = try allocator.allocate(Self.requirements(size, alignment: 16 << (random.next() % 4)),
                                                                in: pool, options: up ? upper : Self.mapped)
                        live.append(Self.fill(allocation, seed: step))
                    } catch {
                        guard case .outOfMemory = error else { throw error }
                    }
                } else {
                    // The oldest, the newest, or any.
                    let index = choice == 6 ? 0 : choice == 7 ? live.count - 1 : Int(random.next() % UInt64(live.count))
                    try Self.free(live.remove(at: index), in: allocator)
                }
                allocator._checkInvariants()
                let ranges = live.map { (VkDeviceMemoryHandle($0.allocation.memory), $0.allocation.offset,
                                         $0.allocation.offset + $0.allocation.size) }
                    .sorted { ($0.0.value, $0.1) < ($1.0.value, $1.1) }
                for (a, b) in zip(ranges, ranges.dropFirst()) where a.0 == b.0 {
                    #expect(a.2 <= b.1, "ranges \(a.1)..<\(a.2) and \(b.1)..<\(b.2) overlap at step \(step)")
                }
                #expect(ranges.allSatisfy { $0.2 <= pageSize })
            }
            for filled in live { try Self.free(filled, in: allocator) }
            #expect(allocator.usage.pageCount <= 1)
        }
    }

    /// A multi-page linear pool with debug margins: a request that moves on to the next
    /// page is placed with the page stride as alignment, which the invariant checker took
    /// for the request's and failed on (a false alarm; the allocation was right).
    @Test func marginsAcrossPagesKeepTheInvariants() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.debugMargin = 64
            let allocator = Allocator(device: context.device, options: options)
            let pool = try allocator.makePool(PoolOptions(name: "margins", usage: .dynamic, pageSize: 64 << 10, maxPages: 3,
                                                          algorithm: .linear))
            var live: [Allocation] = []
            for _ in 0..<7 { live.append(try allocator.allocate(MemoryRequirements(size: 20 << 10, alignment: 256), in: pool)) }
            #expect(Set(live.map { VkDeviceMemoryHandle($0.memory) }).count > 1, "the requests reached a second page")
            allocator._checkInvariants()
            for allocation in live.reversed() { try allocator.free(allocation) }
            allocator._checkInvariants()
            try allocator.destroyPool(pool)
        }
    }
}

/// A `VkDeviceMemory` handle as a comparable value, for telling pages apart in tests.
private struct VkDeviceMemoryHandle: Hashable {
    let value: UInt
    init(_ memory: VkDeviceMemory) { value = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(memory))) }
}
