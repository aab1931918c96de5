import CVulkan
import Testing
@testable import VulkanMemory

@Suite("Allocator on the device at hand")
struct AllocatorTests {
    static let mebibyte: UInt64 = 1 << 20

    @Test func allocationsAreAlignedAndDisjoint() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var generator = SplitMix(seed: 7)
            var live: [Allocation] = []
            for _ in 0..<500 {
                let size = 1 + generator.next() % (300 * 1024)
                let alignment = UInt64(1) << (generator.next() % 13)
                let allocation = try allocator.allocate(MemoryRequirements(size: size, alignment: alignment), usage: .gpuOnly)
                #expect(allocation.offset % alignment == 0)
                #expect(allocation.size >= size)
                live.append(allocation)
            }
            let byMemory = Dictionary(grouping: live, by: { $0.memory })
            for (_, group) in byMemory {
                let sorted = group.sorted { $0.offset < $1.offset }
                for (a, b) in zip(sorted, sorted.dropFirst()) {
                    #expect(a.offset + a.size <= b.offset, "\(a) overlaps \(b)")
                }
            }
            #expect(allocator.usage.allocationCount == 500)
            for allocation in live { try allocator.free(allocation) }
            #expect(allocator.usage.liveBytes == 0)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func badInputAndDoubleFreeAreTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: AllocationError.zeroSize) {
                _ = try allocator.allocate(MemoryRequirements(size: 0), usage: .gpuOnly)
            }
            #expect(throws: AllocationError.alignmentNotPowerOfTwo(48)) {
                _ = try allocator.allocate(MemoryRequirements(size: 64, alignment: 48), usage: .gpuOnly)
            }
            #expect(throws: AllocationError.sizeOverflow(size: .max - 10, alignment: 256)) {
                _ = try allocator.allocate(MemoryRequirements(size: .max - 10, alignment: 256), usage: .gpuOnly)
            }
            #expect(throws: AllocationError.noSuitableMemoryType(required: [], memoryTypeBits: 0, usage: .gpuOnly)) {
                _ = try allocator.allocate(MemoryRequirements(size: 64, memoryTypeBits: 0), usage: .gpuOnly)
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: 64), MemoryRequest(required: .protected))
            }
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            let keeper = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            try allocator.free(allocation)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(allocation) }
            // A stale handle stays stale after its slot is reused.
            let reuse = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(allocation) }
            try allocator.free(reuse)
            try allocator.free(keeper)
            // An allocation from another allocator is not ours.
            let other = Allocator(device: context.device)
            let foreign = try other.allocate(MemoryRequirements(size: 4096), usage: .staging)
            #expect(throws: AllocationError.self) { try allocator.free(foreign) }
            try other.free(foreign)
            #expect(allocator.usage.liveBytes == 0)
        }
    }

    @Test func heapCapMakesARealOutOfMemoryAndChangesNothing() throws {
        try withTestDevice { context in
            let properties = MemoryProperties(device: context.device)
            // The heap GPU-only memory comes from (lavapipe's only heap, VRAM on a discrete
            // GPU) is capped; requests are kept to its types, so a full heap cannot fall
            // back to another heap's memory.
            let type = Allocator(device: context.device).expectedType(for: .gpuOnly)
            let heap = type.heapIndex
            let bits = properties.typeBits(onHeap: heap)
            var options = AllocatorOptions()
            options.heapSizeLimits = [heap: 40 * Self.mebibyte]
            let allocator = Allocator(device: context.device, options: options)
            let requirements = MemoryRequirements(size: 3 * Self.mebibyte, memoryTypeBits: bits)
            var live: [Allocation] = []
            var failure: AllocationError?
            for _ in 0..<100 {
                do throws(AllocationError) {
                    live.append(try allocator.allocate(requirements, usage: .gpuOnly))
                } catch {
                    failure = error
                    break
                }
            }
            let error = try #require(failure)
            guard case let .outOfMemory(size, typeIndex, heapIndex, _, reason) = error else {
                Issue.record("expected outOfMemory, got \(error)")
                return
            }
            // The error is the best candidate's: the type GPU-only memory goes to first.
            #expect(heapIndex == heap && typeIndex == type.index && size >= 3 * Self.mebibyte)
            #expect(reason.contains("capped"))
            #expect(error.description.contains("heap \(heap)"))
            #expect(live.allSatisfy { properties.types[$0.memoryTypeIndex].heapIndex == heap })
            let before = allocator.usage
            #expect(before.committedBytes <= 40 * Self.mebibyte)
            #expect(allocator.committedByHeap[heap] == before.committedBytes)
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(requirements, usage: .gpuOnly)
            }
            #expect(allocator.usage == before)
            expectHeapUsage(context.device, heap: heap, is: before.committedBytes)
            for allocation in live { try allocator.free(allocation) }
        }
    }

    @Test func budgetIsRespectedWhenAsked() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.respectBudget = true
            let allocator = Allocator(device: context.device, options: options)
            let type = allocator.expectedType(for: .gpuOnly)
            let heap = type.heapIndex
            let heapSize = allocator.properties.heaps[heap].size
            // Only the types of that heap: a refusal must not fall back to another heap.
            let bits = allocator.properties.typeBits(onHeap: heap)
            // A small allocation within the budget goes through, dedicated as asked, and
            // stays: from now on the heap's usage (the driver's, or the library's own count
            // without VK_EXT_memory_budget) includes it.
            let held = try allocator.allocate(MemoryRequirements(size: 4 * Self.mebibyte, memoryTypeBits: bits),
                                              usage: .gpuOnly, options: AllocationOptions(dedicated: .always))
            #expect(held.isDedicated && held.memoryTypeIndex == type.index)
            let before = allocator.usage
            // The whole heap: a budget is never larger than its heap and `held` is in use,
            // so this is over the budget on any device, whatever the tests running beside
            // this one allocate or free. Refused before vkAllocateMemory: nothing is
            // allocated for real, even on a heap of 140 GiB.
            let size = heapSize
            #expect {
                _ = try allocator.allocate(MemoryRequirements(size: size, memoryTypeBits: bits), usage: .gpuOnly)
            } throws: { error in
                guard case let AllocationError.outOfMemory(asked, _, refused, available, reason) = error else { return false }
                return asked == size && refused == heap && available < size && reason.contains("budget")
            }
            #expect(allocator.usage == before)
            // Bytes other threads are allocating count against the budget until the
            // driver's usage shows them: with the whole heap in flight even 1 MiB is over it.
            let small = MemoryRequirements(size: Self.mebibyte, memoryTypeBits: bits)
            allocator.simulateBudgetPressure(heap: heap, bytes: heapSize)
            #expect {
                _ = try allocator.allocate(small, usage: .gpuOnly, options: AllocationOptions(dedicated: .always))
            } throws: { error in
                guard case let AllocationError.outOfMemory(asked, _, refused, available, reason) = error else { return false }
                return asked == Self.mebibyte && refused == heap && available == 0 && reason.contains("budget")
            }
            allocator.simulateBudgetPressure(heap: heap, bytes: 0)
            #expect(allocator.usage == before)
            try allocator.free(held)
            // Without the option the budget is not consulted: the same request, under the
            // same pressure, goes through.
            let relaxed = Allocator(device: context.device)
            relaxed.simulateBudgetPressure(heap: heap, bytes: heapSize)
            let a = try relaxed.allocate(small, usage: .gpuOnly, options: AllocationOptions(dedicated: .always))
            #expect(a.isDedicated)
            try relaxed.free(a)
        }
    }

    @Test func dedicatedBySizeAndByRequest() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            // The page size of the type GPU-only memory goes to (128 MiB on a large heap).
            let pool = allocator.expectedPool(for: .gpuOnly)
            let page = pool.preferredPageSize
            let big = try allocator.allocate(MemoryRequirements(size: page / 2 + 1), usage: .gpuOnly)
            #expect(big.isDedicated && big.offset == 0 && big.memoryTypeIndex == pool.typeIndex)
            let asked = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                               options: AllocationOptions(dedicated: .always))
            #expect(asked.isDedicated)
            let required = try allocator.allocate(MemoryRequirements(size: 4096, requiresDedicated: true), usage: .gpuOnly,
                                                  options: AllocationOptions(dedicated: .never))
            #expect(required.isDedicated)
            let small = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            #expect(!small.isDedicated)
            #expect(allocator.usage.dedicatedCount == 3)
            for allocation in [big, asked, required, small] { try allocator.free(allocation) }
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(big) }
            #expect(allocator.usage.dedicatedCount == 0)
        }
    }

    @Test func leakReportNamesTheAllocation() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let line = #line + 1
            let named = try allocator.allocate(MemoryRequirements(size: 12345), usage: .readback,
                                               options: AllocationOptions(name: "shadow map", userData: 42))
            let dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always, name: "big"))
            let leaks = allocator.leaks()
            #expect(leaks.count == 2)
            let report = try #require(leaks.first { $0.name == "shadow map" })
            #expect(report.size == named.size && report.userData == 42)
            #expect(report.memoryTypeIndex == named.memoryTypeIndex)
            #expect(report.fileID.hasSuffix("AllocatorTests.swift") && report.line == line)
            #expect(report.description.contains("shadow map") && report.description.contains("AllocatorTests.swift"))
            #expect(leaks.contains { $0.name == "big" && $0.isDedicated })
            try allocator.free(named)
            try allocator.free(dedicated)
            #expect(allocator.leaks().isEmpty)
        }
    }

    @Test func pagesGrowGraduallyAndEmptyOnesGoBack() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let heap = allocator.expectedType(for: .gpuOnly).heapIndex
            var live: [Allocation] = []
            for _ in 0..<200 {
                live.append(try allocator.allocate(MemoryRequirements(size: Self.mebibyte), usage: .gpuOnly))
            }
            let full = allocator.usage
            #expect(full.liveBytes == 200 * Self.mebibyte)
            #expect(Double(full.committedBytes) <= Double(full.liveBytes) * 1.25)
            #expect(full.deviceMemoryAllocations == full.pageCount)
            if allocator.expectedPool(for: .gpuOnly).preferredPageSize == 128 << 20 {
                // Pages of 16, 32, 64 and 128 MiB: four memory objects, not a dozen.
                #expect(full.pageCount == 4 && full.committedBytes == 240 * Self.mebibyte)
            }
            for allocation in live { try allocator.free(allocation) }
            let emptied = allocator.usage
            #expect(emptied.pageCount == 1 && emptied.emptyPageCount == 1)
            #expect(allocator.freeUnusedPages() > 0)
            #expect(allocator.usage.committedBytes == 0)
            expectHeapUsage(context.device, heap: heap, is: 0)
        }
    }

    @Test func pageSizeRules() throws {
        let h100 = try #require(realProfiles.first { $0.name.contains("H100") })
        let properties = try h100.memoryProperties()
        let options = AllocatorOptions()
        func size(_ type: Int) -> UInt64 {
            MemoryTypePool.preferredPageSize(type: properties.types[type], heap: properties.heaps[properties.types[type].heapIndex],
                                             options: options)
        }
        #expect(size(1) == 128 << 20)   // device-local
        #expect(size(2) == 8 << 20)     // host-visible system memory
        var custom = options
        custom.pageSizeByType = [1: 64 << 20]
        custom.pageSizeByHeap = [1: 16 << 20]
        #expect(MemoryTypePool.preferredPageSize(type: properties.types[1], heap: properties.heaps[0], options: custom) == 64 << 20)
        #expect(MemoryTypePool.preferredPageSize(type: properties.types[2], heap: properties.heaps[1], options: custom) == 16 << 20)
        // A 256 MiB heap gets pages of heap/8.
        let small = MemoryHeap(index: 0, size: 256 << 20, flags: .deviceLocal)
        #expect(MemoryTypePool.preferredPageSize(type: MemoryType(index: 0, heapIndex: 0, flags: .deviceLocal),
                                                 heap: small, options: options) == 32 << 20)
    }

    /// A program with a few MiB live commits one small page, never a preferred-size one.
    @Test func aSmallProgramCommitsOneSmallPage() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let preferred = allocator.expectedPool(for: .gpuOnly).preferredPageSize
            let live = try (0..<4).map { _ throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: Self.mebibyte), usage: .gpuOnly)
            }
            let usage = allocator.usage
            // The first page is an eighth of the preferred size: 16 MiB at most by default.
            #expect(usage.committedBytes <= 16 * Self.mebibyte && usage.committedBytes < preferred)
            #expect(preferred < 32 * Self.mebibyte || usage.pageCount == 1, "4 MiB fit in the first page")
            #expect(usage.pageCount <= 3)
            for allocation in live { try allocator.free(allocation) }
        }
    }

    /// `nextPageSize` while pages fill: an eighth of the preferred size first, then pages
    /// that double what is committed up to the preferred size (as VMA's 1/8, 1/4, 1/2, 1),
    /// then a third of what is committed, never past the preferred size.
    @Test func pagesDoubleWhileFillingThenAddAThird() {
        let preferred: UInt64 = 128 << 20
        func next(_ committed: UInt64, needed: UInt64 = 4096) -> UInt64 {
            // Full pages: everything committed is live, so nothing is scattered.
            MemoryTypePool.nextPageSize(committed: committed, live: committed, preferred: preferred, needed: needed)
        }
        #expect(next(0) == 16 << 20)
        #expect(next(16 << 20) == 32 << 20)
        #expect(next(48 << 20) == 64 << 20)
        #expect(next(112 << 20) == 128 << 20)
        // Past the preferred size: a third, rounded up to whole MiB (320/3 = 106.7 MiB).
        #expect(next(240 << 20) == 80 << 20)
        #expect(next(320 << 20) == 107 << 20)
        #expect(next(1 << 30) == 128 << 20, "a third of 1 GiB is capped at the preferred size")
        #expect(next(4 << 30) == 128 << 20)
        // Filling 360 MiB of live bytes (W3's 2,000 buffers) takes 6 pages, not ~20.
        var committed: UInt64 = 0
        var pages = 0
        while committed < 360 << 20 {
            committed += next(committed)
            pages += 1
        }
        #expect(pages == 6 && committed == 427 << 20)
        // A request larger than the page gets a page of its own size, in whole MiB.
        #expect(MemoryTypePool.nextPageSize(committed: 0, live: 0, preferred: preferred, needed: 50 << 20) == 50 << 20)
        #expect(next(240 << 20, needed: 200 << 20) == 200 << 20)
        #expect(next(240 << 20, needed: (200 << 20) + 1) == 201 << 20)
        // A preferred size under 1 MiB gives pages of 1 MiB.
        #expect(MemoryTypePool.nextPageSize(committed: 0, live: 0, preferred: 64 << 10, needed: 4096) == 1 << 20)
    }

    /// Heaps of 1 GiB or less prefer an eighth of the heap: the same doubling, scaled, so
    /// a small heap never takes pages sized for a large one.
    @Test func smallHeapsGrowInTheirOwnSteps() {
        let heap = MemoryHeap(index: 0, size: 256 << 20, flags: .deviceLocal)
        let preferred = MemoryTypePool.preferredPageSize(type: MemoryType(index: 0, heapIndex: 0, flags: .deviceLocal),
                                                         heap: heap, options: AllocatorOptions())
        #expect(preferred == 32 << 20)
        func next(_ committed: UInt64) -> UInt64 {
            MemoryTypePool.nextPageSize(committed: committed, live: committed, preferred: preferred, needed: 4096)
        }
        #expect(next(0) == 4 << 20)
        #expect(next(4 << 20) == 8 << 20)
        #expect(next(12 << 20) == 16 << 20)
        #expect(next(28 << 20) == 32 << 20)
        #expect(next(60 << 20) == 20 << 20)
        #expect(next(200 << 20) == 32 << 20)
    }

    /// `nextPageSize` once frees scatter the free bytes (more than four times the request
    /// free, yet it failed): committed memory up to 115% of the live bytes, or a sixteenth
    /// of it where it is above that; at least an eighth of the preferred size, at most the
    /// preferred size.
    @Test func scatteredFreeBytesGetHeadroom() {
        let preferred: UInt64 = 128 << 20
        func next(committed: UInt64, live: UInt64, needed: UInt64 = 1 << 20) -> UInt64 {
            MemoryTypePool.nextPageSize(committed: committed, live: live, preferred: preferred, needed: needed)
        }
        // 115% of 400 MiB is 460 MiB: 20 MiB more.
        #expect(next(committed: 440 << 20, live: 400 << 20) == 20 << 20)
        // Already above 115%: a sixteenth of what is committed, at least an eighth of the
        // preferred size, at most the preferred size.
        #expect(next(committed: 400 << 20, live: 200 << 20) == 25 << 20)
        #expect(next(committed: 200 << 20, live: 100 << 20) == 16 << 20)
        #expect(next(committed: 4 << 30, live: 2 << 30) == 128 << 20)
        // Far below 115%: never past the preferred size.
        #expect(next(committed: 300 << 20, live: 280 << 20) == 22 << 20)
        #expect(next(committed: 1000 << 20, live: 990 << 20) == 128 << 20)
        // Free bytes of at most four times the request are not scattered: the fill rule.
        #expect(next(committed: 440 << 20, live: 436 << 20) == 128 << 20)
        // A request whose quadruple overflows is never taken for scattered room.
        #expect(next(committed: 440 << 20, live: 400 << 20, needed: .max / 2) == 1 << 63)
    }

    @Test func nonCoherentTypesRoundToAtoms() throws {
        let profile = try #require(realProfiles.first { profile in
            (try? profile.memoryProperties())?.types.contains { $0.isHostVisible && !$0.isHostCoherent } == true
        })
        let properties = try profile.memoryProperties()
        for type in properties.types {
            let expected = type.isHostVisible && !type.isHostCoherent ? properties.limits.nonCoherentAtomSize : 1
            #expect(MemoryTypePool.atom(of: type, limits: properties.limits) == expected, "\(profile.name) type \(type.index)")
        }
    }

    @Test func mappedAllocationsAreBoundsCheckedViews() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let first = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                               options: AllocationOptions(mapped: true))
            let second = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                                options: AllocationOptions(mapped: true))
            #expect(first.memory == second.memory)
            let pointer = try #require(first.mappedPointer)
            let view = try allocator.map(first)
            #expect(view.baseAddress == pointer && view.size == 256)
            // Memory is not zeroed by the driver: mark the neighbour before writing this one.
            try allocator.map(second).write(UInt32(0x5A5A_5A5A), at: 0)
            try view.write(contentsOf: [UInt32](repeating: 0xABCD_EF01, count: 64))
            #expect(throws: AllocationError.self) { _ = try allocator.map(Allocation(
                memory: first.memory, offset: 0, size: 1, memoryTypeIndex: 99, mappedPointer: nil, location: first.location)) }
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 256, size: 4, limit: 256)) {
                try view.write(UInt32(1), at: 256)
            }
            #expect(try allocator.map(second).read(UInt32.self, at: 0) == 0x5A5A_5A5A)
            #expect(try view.read(UInt32.self, count: 64) == [UInt32](repeating: 0xABCD_EF01, count: 64))
            try allocator.free(first)
            #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.map(first) }
            try allocator.free(second)
        }
    }

    @Test func buffersAndImagesShareAPageUnderGranularity() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var bufferInfo = VkBufferCreateInfo()
            bufferInfo.size = 10_000
            bufferInfo.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
            bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            let imageInfo = ImageDescription(width: 61, height: 33, usage: [.sampled, .transferDestination])
                .exclusiveCreateInfo
            var buffers: [BoundBuffer] = []
            var images: [BoundImage] = []
            for _ in 0..<20 {
                buffers.append(try allocator.createBuffer(bufferInfo, .usage(.gpuOnly)))
                images.append(try allocator.createImage(imageInfo, .usage(.gpuOnly)))
            }
            let granularity = allocator.properties.limits.bufferImageGranularity
            let ranges = buffers.map { ($0.allocation, false) } + images.map { ($0.allocation, true) }
            for (a, aOptimal) in ranges {
                for (b, bOptimal) in ranges where a.memory == b.memory && aOptimal != bOptimal {
                    let (low, high) = a.offset < b.offset ? (a, b) : (b, a)
                    #expect((low.offset + low.size - 1) / granularity < high.offset / granularity)
                }
            }
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            for image in images { try allocator.destroyImage(image) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func failedCreationDestroysTheResource() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            // Every heap: staging memory is host memory on a heap of its own on a discrete GPU.
            options.capEveryHeap(at: 8 * Self.mebibyte, of: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            var info = VkBufferCreateInfo()
            info.size = 16 * Self.mebibyte
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            #expect(throws: AllocationError.self) { _ = try allocator.createBuffer(info, .usage(.staging)) }
            #expect(allocator.usage == AllocatorUsage())
            // A leaked VkBuffer would be reported by the validation layer at device teardown.
        }
    }
}

/// A small seeded generator for reproducible test inputs.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
