import CVulkan
import Testing
@testable import VulkanMemory

@Suite("Defragmentation on the device at hand")
struct DefragmentationTests {
    static let kibibyte: UInt64 = 1 << 10

    /// An allocator with small pages, `count` 64 KiB allocations, mapped ones each holding
    /// its index, and two of every three freed: many pages, each partly used.
    ///
    /// Mapped, they are `.dynamic` (the type `expectedType(for: .dynamic)`: host-visible
    /// VRAM on the H200); unmapped, GPU-only (VRAM alone there; the same one type on
    /// lavapipe). `mapped` never moves an intent to another type.
    static func fragmented(_ context: VulkanContext, count: Int = 120,
                           mapped: Bool = true) throws -> (Allocator, [Int: Allocation]) {
        let allocator = smallPageAllocator(context)
        var live: [Int: Allocation] = [:]
        for index in 0..<count {
            let allocation = try allocator.allocate(MemoryRequirements(size: 64 * kibibyte, alignment: 256, kind: .linear),
                                                    usage: mapped ? .dynamic : .gpuOnly, options: AllocationOptions(mapped: mapped))
            if mapped { try allocator.map(allocation).write(contentsOf: [UInt64](repeating: UInt64(index), count: 8)) }
            live[index] = allocation
        }
        #expect(live.values.allSatisfy { $0.memoryTypeIndex == allocator.expectedType(for: mapped ? .dynamic : .gpuOnly).index })
        for index in 0..<count where index % 3 != 0 {
            try allocator.free(live.removeValue(forKey: index)!)
        }
        return (allocator, live)
    }

    /// Copies each move's bytes through the mappings and returns `live` with the
    /// destinations in place of the sources.
    static func copy(_ pass: borrowing DefragmentationPass, _ allocator: Allocator,
                     _ live: [Int: Allocation]) throws -> [Int: Allocation] {
        var live = live
        for move in pass.moves {
            let source = try allocator.map(move.source)
            let destination = try allocator.map(move.destination)
            #expect(source.size == destination.size)
            try destination.write(contentsOf: try source.read(UInt8.self, count: Int(source.size)))
            let key = live.first { $0.value == move.source }?.key
            #expect(key != nil, "a move's source is not one of the live allocations")
            if let key { live[key] = move.destination }
        }
        return live
    }

    static func checkContents(_ allocator: Allocator, _ live: [Int: Allocation],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (index, allocation) in live {
            #expect(try allocator.map(allocation).read(UInt64.self, count: 8) == [UInt64](repeating: UInt64(index), count: 8),
                    sourceLocation: sourceLocation)
        }
        checkArenas(allocator)
    }

    /// The arena invariants of every memory type (the moves stay in their type).
    static func checkArenas(_ allocator: Allocator) {
        for pool in allocator.pools { pool.state.withLock { $0.arena._checkInvariants() } }
    }

    @Test func aPassEmptiesTheLeastUsedPagesAndTheirMemoryGoesBack() throws {
        try withTestDevice { context in
            let (allocator, before) = try Self.fragmented(context)
            let usage = allocator.usage
            #expect(usage.pageCount > 3)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty && pass.pagesToRelease > 0)
            #expect(pass.bytesToMove == pass.moves.reduce(0) { $0 + $1.source.size })
            for move in pass.moves {
                #expect(move.source.memory != move.destination.memory)
                #expect(move.source.size == move.destination.size && move.destination.offset % 256 == 0)
            }
            let live = try Self.copy(pass, allocator, before)
            let (moves, plannedPages, plannedBytes) = (pass.moves, pass.pagesToRelease, pass.bytesToMove)
            let result = pass.commit()
            #expect(result.releasedPages == plannedPages)
            #expect(result.freedBytes == plannedBytes)
            #expect(allocator.usage.committedBytes == usage.committedBytes - result.releasedBytes)
            #expect(allocator.usage.pageCount == usage.pageCount - result.releasedPages)
            #expect(allocator.usage.liveBytes == usage.liveBytes && allocator.usage.allocationCount == usage.allocationCount)
            try Self.checkContents(allocator, live)
            // The pass ended (the compiler refuses a second commit or cancel); its sources are gone.
            for move in moves { #expect(!allocator.isLive(move.source)) }
            // Another pass finds less or nothing to do; everything frees cleanly.
            let again = try allocator.beginDefragmentation()
            #expect(again.bytesToMove <= plannedBytes)
            again.cancel()
            for allocation in live.values { try allocator.free(allocation) }
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    /// Odd sizes of both kinds put free ranges inside granularity pages shared with
    /// allocations: blocking them must keep the granularity rule.
    @Test func oddSizesOfBothKindsKeepTheGranularityRule() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            var random = SplitMix(seed: 21)
            var live: [Int: Allocation] = [:]
            for index in 0..<300 {
                let kind: SuballocationKind = index % 5 == 0 ? .optimal : .linear
                let size = 1_000 + random.next() % (40 * Self.kibibyte)
                let allocation = try allocator.allocate(MemoryRequirements(size: size, alignment: 16, kind: kind),
                                                        usage: .dynamic, options: AllocationOptions(mapped: true))
                try allocator.map(allocation).write(contentsOf: [UInt64](repeating: UInt64(index), count: 8))
                live[index] = allocation
            }
            for index in 0..<300 where random.next() % 3 != 0 { try allocator.free(live.removeValue(forKey: index)!) }
            let committed = allocator.usage.committedBytes
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            Self.checkArenas(allocator)
            // Small allocations made while the pass is open stay out of the pages it empties,
            // even out of the slivers that granularity pages leave at the ends of holes.
            let emptied = Set(pass.moves.map { UInt64(UInt(bitPattern: $0.source.memory)) })
            var small: [Allocation] = []
            // Mapped like the others, so they are placed in the same memory type.
            for index in 0..<400 {
                small.append(try allocator.allocate(MemoryRequirements(size: 8 + UInt64(index % 5) * 8, alignment: 8,
                                                                       kind: index % 2 == 0 ? .linear : .optimal),
                                                    usage: .dynamic, options: AllocationOptions(mapped: true)))
            }
            #expect(small.allSatisfy { $0.memoryTypeIndex == allocator.expectedType(for: .dynamic).index })
            #expect(small.allSatisfy { !emptied.contains(UInt64(UInt(bitPattern: $0.memory))) })
            for allocation in small { try allocator.free(allocation) }
            live = try Self.copy(pass, allocator, live)
            let plannedPages = pass.pagesToRelease
            let result = pass.commit()
            #expect(result.releasedPages == plannedPages && result.releasedPages > 0)
            #expect(allocator.usage.committedBytes == committed - result.releasedBytes)
            try Self.checkContents(allocator, live)
            for allocation in live.values { try allocator.free(allocation) }
        }
    }

    @Test func cancellingLeavesEverythingAsItWas() throws {
        try withTestDevice { context in
            let (allocator, live) = try Self.fragmented(context)
            let usage = allocator.usage
            let reports = Set(allocator.liveAllocations().map(\.description))
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            // While the pass is open both ends are live.
            #expect(allocator.usage.allocationCount == usage.allocationCount + pass.moves.count)
            pass.cancel()
            #expect(allocator.usage == usage)
            #expect(Set(allocator.liveAllocations().map(\.description)) == reports)
            try Self.checkContents(allocator, live)
            // The pages that were to be emptied take allocations again (mapped, so in the
            // same memory type as the others).
            var more: [Allocation] = []
            for _ in 0..<40 {
                more.append(try allocator.allocate(MemoryRequirements(size: 64 * Self.kibibyte), usage: .dynamic,
                                                   options: AllocationOptions(mapped: true)))
            }
            #expect(allocator.usage.pageCount == usage.pageCount)
            for allocation in more + Array(live.values) { try allocator.free(allocation) }
        }
    }

    @Test func budgetsBoundThePass() throws {
        try withTestDevice { context in
            let (allocator, _) = try Self.fragmented(context)
            let none = try allocator.beginDefragmentation(maxBytesToMove: 0)
            #expect(none.moves.isEmpty && none.pagesToRelease == 0)
            none.commit()
            let few = try allocator.beginDefragmentation(maxMoves: 3)
            #expect(few.moves.count <= 3)
            let limited = few.moves.count
            few.cancel()
            let bytes = try allocator.beginDefragmentation(maxBytesToMove: 200 * Self.kibibyte)
            #expect(bytes.bytesToMove <= 200 * Self.kibibyte)
            bytes.cancel()
            #expect(limited > 0, "a page holding at most 3 allocations should have been emptied")
        }
    }

    @Test func groupsAndDedicatedMemoryStay() throws {
        try withTestDevice { context in
            // Unmapped: in the type the group and the dedicated allocation go to.
            let (allocator, _) = try Self.fragmented(context, count: 60, mapped: false)
            let group = try ResourceBatch.buffer(size: 4096, usage: .vertexBuffer)
                .nextBuffer(size: 4096, usage: .vertexBuffer).bind(allocator, strategy: .contiguous)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always))
            #expect(group[0].allocation.memoryTypeIndex == allocator.expectedType(for: .gpuOnly).index)
            #expect(dedicated.memoryTypeIndex == allocator.expectedType(for: .gpuOnly).index)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            for move in pass.moves {
                #expect(move.source.memory != group[0].allocation.memory)
                #expect(move.source.memory != dedicated.memory)
            }
            pass.cancel()
            try allocator.destroy(many: group)
            try allocator.free(dedicated)
        }
    }

    @Test func buffersMoveByBeingCreatedOnTheDestination() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            info.size = 100 * Self.kibibyte
            var buffers = try (0..<90).map { _ throws(AllocationError) in try allocator.createBuffer(info, .usage(.gpuOnly)) }
            try keepEveryThird(&buffers, release: allocator.destroyBuffer)
            let committed = allocator.usage.committedBytes
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            for move in pass.moves {
                guard let index = buffers.firstIndex(where: { $0.allocation == move.source }) else {
                    Issue.record("a move's source is no buffer's memory")
                    continue
                }
                let moved = try allocator.createBuffer(info, boundTo: move.destination)
                // Destroying the old buffer frees its memory: the commit then skips it.
                try allocator.destroyBuffer(buffers[index])
                buffers[index] = moved
            }
            let plannedPages = pass.pagesToRelease
            let result = pass.commit()
            #expect(result.releasedPages == plannedPages && result.freedBytes == 0)
            #expect(allocator.usage.committedBytes < committed)
            // A buffer that needs more than the allocation holds is refused, and nothing leaks.
            info.size = 200 * Self.kibibyte
            #expect(throws: AllocationError.self) { try allocator.createBuffer(info, boundTo: buffers[0].allocation) }
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func reportsAndCountsStayTrueWhileAPassIsOpen() throws {
        try withTestDevice { context in
            let (allocator, live) = try Self.fragmented(context)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            // Blockers and fences are no user's allocations.
            let usage = allocator.usage
            #expect(allocator.liveAllocations().count == usage.allocationCount)
            let statistics = allocator.statistics()
            #expect(statistics.pages.reduce(0) { $0 + $1.allocationCount } == usage.allocationCount)
            #expect(statistics.pages.reduce(0) { $0 + $1.usedBytes } == usage.liveBytes)
            // One pass at a time.
            #expect(throws: AllocationError.defragmentationPassOpen) { try allocator.beginDefragmentation() }
            // The sources of the emptied pages freed early, and new allocations made meanwhile
            // (mapped, so in the same memory type): the empty-page count stays exact.
            for move in pass.moves { try allocator.free(move.source) }
            var more: [Allocation] = []
            for _ in 0..<30 {
                more.append(try allocator.allocate(MemoryRequirements(size: 64 * Self.kibibyte), usage: .dynamic,
                                                   options: AllocationOptions(mapped: true)))
            }
            let moves = pass.moves
            pass.commit()
            let after = allocator.statistics()
            #expect(after.totals.emptyPageCount == after.pages.filter { $0.allocationCount == 0 }.count)
            // The pass ended: another may begin.
            try allocator.beginDefragmentation().cancel()
            for allocation in more + moves.map(\.destination) + live.values.filter({ a in !moves.contains { $0.source == a } }) {
                try allocator.free(allocation)
            }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func anIgnoredMoveLeavesItsSourceAndItsPage() throws {
        try withTestDevice { context in
            let (allocator, _) = try Self.fragmented(context)
            let pass = try allocator.beginDefragmentation()
            let kept = try #require(pass.moves.first)
            pass.ignore(kept)
            let pagesOfIgnored = Set(pass.moves.filter { $0.source.memory == kept.source.memory }.map(\.source.memory)).count
            let plannedPages = pass.pagesToRelease
            let result = pass.commit()
            #expect(allocator.isLive(kept.source) && !allocator.isLive(kept.destination))
            #expect(result.releasedPages == plannedPages - pagesOfIgnored)
        }
    }

    @Test func privatePageMembersKeepTheirAlignmentWhenTheyMove() throws {
        try withTestDevice { context in
            // Unmapped: in the type the group's page is made in.
            let (allocator, _) = try Self.fragmented(context, mapped: false)
            let group = try ResourceBatch.image(width: 16, height: 16, usage: [.sampled], name: "small image")
                .nextBuffer(size: 100, usage: .uniformBuffer).bind(allocator, strategy: .privatePage)
            let alignments = group.map { resource -> UInt64 in
                switch resource {
                case .buffer(let buffer): allocator.requirements(of: buffer.buffer).alignment
                case .image(let image): allocator.requirements(of: image.image, tiling: VK_IMAGE_TILING_OPTIMAL).alignment
                }
            }
            let pass = try allocator.beginDefragmentation()
            var movedMembers = 0
            for move in pass.moves {
                guard let index = group.firstIndex(where: { $0.allocation == move.source }) else { continue }
                movedMembers += 1
                #expect(move.destination.offset % alignments[index] == 0)
            }
            #expect(movedMembers == 2, "the private page is the least used: both members should move")
            pass.cancel()
            try allocator.destroy(many: group)
        }
    }

    @Test func aPrivatePageSmallerThanTheKeptPaddingWorks() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let tiny = try ResourceBatch.buffer(size: 64, usage: .uniformBuffer).bind(allocator, strategy: .privatePage)
            #expect(allocator.usage.pageCount == 1 && allocator.usage.committedBytes < 4096)
            try allocator.destroy(many: tiny)
        }
    }

    @Test func imagesMoveByBeingCreatedOnTheDestination() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            let info = ImageDescription(width: 128, height: 128, usage: .sampled).exclusiveCreateInfo
            var images = try (0..<60).map { _ throws(AllocationError) in try allocator.createImage(info, .usage(.gpuOnly)) }
            try keepEveryThird(&images, release: allocator.destroyImage)
            // An optimal image is refused a range placed for a buffer, and nothing leaks.
            let linear = try allocator.allocate(MemoryRequirements(size: 1 << 20, alignment: 4096, kind: .linear),
                                                usage: .gpuOnly)
            #expect(throws: AllocationError.self) { try allocator.createImage(info, boundTo: linear) }
            try allocator.free(linear)
            let committed = allocator.usage.committedBytes
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            for move in pass.moves {
                guard let index = images.firstIndex(where: { $0.allocation == move.source }) else {
                    pass.ignore(move)
                    continue
                }
                let moved = try allocator.createImage(info, boundTo: move.destination)
                try allocator.destroyImage(images[index])
                images[index] = moved
            }
            let plannedPages = pass.pagesToRelease
            let result = pass.commit()
            #expect(result.releasedPages == plannedPages && result.releasedPages > 0)
            #expect(allocator.usage.committedBytes < committed)
            for image in images { try allocator.destroyImage(image) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// Found by a seeded random run (seed 2058, 6,000 steps): a page that gave part of its
    /// allocations was unblocked at once, so a page emptied later in the same pass could
    /// move an allocation into it, a page the pass was taking allocations out of. A page
    /// now gives or receives in a pass, never both.
    ///
    /// Three full 1 MiB pages, then a hole in each: A (least used) holds 520 KiB that fits
    /// in no other page's hole, so A gives only its 4 KiB allocation; B's 300 KiB fits
    /// only in A's 500 KiB hole, its 250 KiB in C's 270 KiB hole.
    @Test func aPageThatGivesPartOfItsAllocationsReceivesNoneInTheSamePass() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.setPageSize(1 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            let shared = AllocationOptions(dedicated: .never)
            func allocate(_ kibibytes: UInt64) throws -> Allocation {
                try allocator.allocate(MemoryRequirements(size: kibibytes * Self.kibibyte, alignment: 256, kind: .linear),
                                       usage: .gpuOnly, options: shared)
            }
            let (x, a, holeA) = (try allocate(520), try allocate(4), try allocate(500))
            let (b1, b2, holeB) = (try allocate(300), try allocate(250), try allocate(474))
            let (c, holeC) = (try allocate(754), try allocate(270))
            let pageA = x.memory, pageB = b1.memory, pageC = c.memory
            #expect(Set([a.memory, holeA.memory]) == [pageA] && Set([b2.memory, holeB.memory]) == [pageB]
                        && holeC.memory == pageC && Set([pageA, pageB, pageC]).count == 3)
            for hole in [holeA, holeB, holeC] { try allocator.free(hole) }

            let pass = try allocator.beginDefragmentation(algorithm: .full)
            let sources = Set(pass.moves.map(\.source.memory))
            for move in pass.moves {
                #expect(!sources.contains(move.destination.memory),
                        "\(move.source.size) bytes move into a page the pass takes allocations out of")
            }
            // A gives its 4 KiB and B its 250 KiB, both to C; B's 300 KiB stays, as A's 520 KiB.
            #expect(Set(pass.moves.map(\.source)) == [a, b2])
            #expect(pass.moves.allSatisfy { $0.destination.memory == pageC } && pass.pagesToRelease == 0)
            pass.cancel()
            DefragmentationTests.checkArenas(allocator)
            for allocation in [x, a, b1, b2, c] { try allocator.free(allocation) }
        }
    }
}
