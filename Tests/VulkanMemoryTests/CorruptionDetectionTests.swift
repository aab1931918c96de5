import CVulkan
import Testing
@testable import VulkanMemory

/// Margins around allocations in host-visible memory (VMA's `VMA_DEBUG_MARGIN` and
/// `VMA_DEBUG_DETECT_CORRUPTION`) and the fill patterns (`VMA_DEBUG_INITIALIZE_ALLOCATIONS`),
/// on lavapipe, whose one memory type is host-visible and coherent.
@Suite("Corruption detection and fill patterns")
struct CorruptionDetectionTests {
    static func detecting(_ context: VulkanContext, margin: UInt64 = 16, initialize: Bool = false) -> Allocator {
        var options = AllocatorOptions()
        options.debugMargin = margin
        options.detectCorruption = true
        options.initializeAllocations = initialize
        return Allocator(device: context.device, options: options)
    }

    /// One byte written just past an allocation, through its raw pointer: `checkCorruption`
    /// names the allocation (name, call site) and the side; the free completes all the
    /// same, and reports it once through `takeCorruptionReports`.
    @Test func oneBytePastTheEndIsReportedAndTheFreeCompletes() throws {
        try withTestDevice { context in
            let allocator = Self.detecting(context)
            let before = try allocator.allocate(MemoryRequirements(size: 100), usage: .dynamic,
                                                options: AllocationOptions(mapped: true, name: "neighbour"))
            let line = #line + 1
            let victim = try allocator.allocate(MemoryRequirements(size: 256, alignment: 64), usage: .dynamic,
                                                options: AllocationOptions(mapped: true, name: "victim"))
            #expect(try allocator.checkCorruption().isEmpty)
            let pointer = try #require(victim.mappedPointer)
            pointer.storeBytes(of: 0x5A, toByteOffset: Int(victim.size), as: UInt8.self)

            let found = try allocator.checkCorruption()
            #expect(found.count == 1)
            let report = try #require(found.first)
            #expect(report.side == .after && report.distance == 0 && report.extent == 1 && report.detection == .check)
            #expect(report.allocation.name == "victim" && report.allocation.line == line)
            #expect(report.allocation.fileID.hasSuffix("CorruptionDetectionTests.swift"))
            #expect(report.allocation.offset == victim.offset && report.allocation.size == victim.size)
            #expect(report.description.contains("'victim'") && report.description.contains("after"), "\(report)")
            // The check reports; it keeps nothing for takeCorruptionReports.
            #expect(allocator.takeCorruptionReports().isEmpty)

            try allocator.free(victim)
            #expect(!allocator.isLive(victim))
            let onFree = allocator.takeCorruptionReports()
            #expect(onFree.map(\.detection) == [.free] && onFree.first?.allocation.name == "victim")
            #expect(allocator.takeCorruptionReports().isEmpty)
            #expect(try allocator.checkCorruption().isEmpty)
            #expect(allocator.usage.allocationCount == 1)
            allocator._checkInvariants()
            try allocator.free(before)
            #expect(allocator.takeCorruptionReports().isEmpty)
            allocator._checkInvariants()
        }
    }

    /// One byte written just before an allocation lands in its own front margin, not in
    /// its neighbour's back margin: the report names it, on the `before` side.
    @Test func oneByteBeforeTheStartIsReported() throws {
        try withTestDevice { context in
            let allocator = Self.detecting(context)
            let first = try allocator.allocate(MemoryRequirements(size: 48), usage: .dynamic,
                                               options: AllocationOptions(mapped: true, name: "first"))
            let second = try allocator.allocate(MemoryRequirements(size: 48), usage: .dynamic,
                                                options: AllocationOptions(mapped: true, name: "second"))
            let pointer = try #require(second.mappedPointer)
            (pointer - 1).storeBytes(of: 0, as: UInt8.self)
            let found = try allocator.checkCorruption(memoryTypeBits: 1 << UInt32(second.memoryTypeIndex))
            #expect(found.map(\.allocation.name) == ["second"])
            #expect(found.first?.side == .before && found.first?.distance == 0)
            try allocator.free(first)
            #expect(allocator.takeCorruptionReports().isEmpty)
            try allocator.free(second)
            #expect(allocator.takeCorruptionReports().map(\.side) == [.before])
            allocator._checkInvariants()
        }
    }

    /// Several bytes a few bytes past the end: distance and extent say where.
    @Test func distanceAndExtentLocateTheDamage() throws {
        try withTestDevice { context in
            let allocator = Self.detecting(context, margin: 64)
            let allocation = try allocator.allocate(MemoryRequirements(size: 32), usage: .dynamic,
                                                    options: AllocationOptions(mapped: true))
            let end = try #require(allocation.mappedPointer) + Int(allocation.size)
            for index in 3..<7 { end.storeBytes(of: 0x11, toByteOffset: index, as: UInt8.self) }
            let report = try #require(try allocator.checkCorruption().first)
            #expect(report.distance == 3 && report.extent == 4 && report.allocation.name == nil)
            try allocator.free(allocation)
            #expect(allocator.takeCorruptionReports().count == 1)
        }
    }

    /// The margin is part of placement: offsets keep their alignment, ranges (margins
    /// included) never overlap, views cover exactly the allocation, the statistics' ranges
    /// (margins included) stay in order without overlap, and the invariants hold; a margin that is not a power of two
    /// is rounded up.
    @Test(arguments: [UInt64(16), 20, 256])
    func marginsKeepAlignmentAndNeverOverlap(margin: UInt64) throws {
        try withTestDevice { context in
            let allocator = Self.detecting(context, margin: margin)
            let effective = allocator.options.effectiveDebugMargin
            #expect(effective >= margin && effective & (effective - 1) == 0)
            var allocations: [Allocation] = []
            for (index, alignment) in [UInt64(1), 4, 64, 256, 4096, 65536, 8, 1].enumerated() {
                let allocation = try allocator.allocate(
                    MemoryRequirements(size: 1 + UInt64(index) * 37, alignment: alignment), usage: .dynamic,
                    options: AllocationOptions(mapped: true, name: "a\(index)"))
                #expect(allocation.offset % alignment == 0, "offset \(allocation.offset), alignment \(alignment)")
                #expect(allocation.offset >= effective)
                let view = try allocator.map(allocation)
                #expect(view.size == allocation.size && view.offset == allocation.offset)
                try view.write(contentsOf: [UInt8](repeating: 0xA5, count: Int(allocation.size)))
                allocations.append(allocation)
            }
            // No allocation reaches into another's margins.
            let sorted = allocations.sorted { $0.offset < $1.offset }
            for (lower, upper) in zip(sorted, sorted.dropFirst()) where lower.memory == upper.memory {
                #expect(lower.offset + lower.size + effective <= upper.offset - effective)
            }
            #expect(try allocator.checkCorruption().isEmpty)
            for page in allocator.statistics().pages {
                #expect(page.ranges.reduce(0) { $0 + $1.size } <= page.size)
                // In address order, never overlapping (granularity padding between
                // ranges of unknown kind belongs to neither).
                for (a, b) in zip(page.ranges, page.ranges.dropFirst()) { #expect(a.offset + a.size <= b.offset) }
            }
            let reports = allocator.liveAllocations()
            #expect(Set(reports.map(\.offset)) == Set(allocations.map(\.offset)))
            #expect(Set(reports.map(\.size)) == Set(allocations.map(\.size)))
            allocator._checkInvariants()
            for allocation in allocations { try allocator.free(allocation) }
            #expect(allocator.takeCorruptionReports().isEmpty)
            allocator._checkInvariants()
        }
    }

    /// A buffer made by `createBuffer` gets margins too; writing one byte past the
    /// buffer's allocation shows on its destroy, which completes.
    @Test func aBufferOverrunShowsOnDestroy() throws {
        try withTestDevice { context in
            let allocator = Self.detecting(context)
            let bound = try allocator.createBuffer(BufferDescription(size: 1000, usage: .storageBuffer).exclusiveCreateInfo,
                                                   .usage(.dynamic), options: AllocationOptions(mapped: true, name: "ssbo"))
            let pointer = try #require(bound.allocation.mappedPointer)
            pointer.storeBytes(of: 1, toByteOffset: Int(bound.allocation.size), as: UInt8.self)
            try allocator.destroyBuffer(bound)
            #expect(allocator.takeCorruptionReports().map(\.allocation.name) == ["ssbo"])
            #expect(allocator.usage.allocationCount == 0)
            allocator._checkInvariants()
        }
    }

    /// Without detection, or for memory types none of which has margins, the check is a
    /// typed error (VMA's `VK_ERROR_FEATURE_NOT_PRESENT`), not an empty answer.
    @Test func checkingWithoutDetectionIsATypedError() throws {
        try withTestDevice { context in
            let plain = Allocator(device: context.device)
            #expect(throws: AllocationError.corruptionDetectionNotEnabled(memoryTypeBits: .max)) {
                try plain.checkCorruption()
            }
            let detecting = Self.detecting(context)
            let missing = UInt32.max << UInt32(detecting.properties.types.count)
            #expect(throws: AllocationError.corruptionDetectionNotEnabled(memoryTypeBits: missing)) {
                try detecting.checkCorruption(memoryTypeBits: missing)
            }
        }
    }

    /// A defragmentation pass moves an allocation with its margins: the destination's
    /// margins are filled, the source's checked when the commit frees it.
    @Test func defragmentationMovesMargins() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.setPageSize(8 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            options.detectCorruption = true
            options.initializeAllocations = true
            let allocator = Allocator(device: context.device, options: options)
            var allocations: [Allocation] = []
            for index in 0..<48 {
                allocations.append(try allocator.allocate(MemoryRequirements(size: 256 << 10, alignment: 256),
                                                          usage: .dynamic,
                                                          options: AllocationOptions(mapped: true, name: "m\(index)")))
            }
            try keepEveryThird(&allocations) { (allocation) throws(AllocationError) in try allocator.free(allocation) }
            let pass = try allocator.beginDefragmentation()
            let moves = pass.moves
            #expect(!moves.isEmpty)
            for move in moves {
                #expect(move.destination.size == move.source.size && move.destination.offset % 256 == 0)
                let source = try allocator.map(move.source)
                let destination = try allocator.map(move.destination)
                // A new destination carries the new pattern until the copy.
                #expect(try destination.read(UInt32.self) == 0xDCDC_DCDC)
                try destination.write(contentsOf: try source.read(UInt8.self, count: Int(source.size)))
            }
            #expect(try allocator.checkCorruption().isEmpty)
            allocator._checkInvariants()
            _ = pass.commit()
            #expect(allocator.takeCorruptionReports().isEmpty)
            allocator._checkInvariants()
            let moved = Set(moves.map(\.source))
            for allocation in allocations where !moved.contains(allocation) { try allocator.free(allocation) }
            for move in moves { try allocator.free(move.destination) }
            #expect(allocator.takeCorruptionReports().isEmpty)
            allocator._checkInvariants()
        }
    }

    /// New allocations read 0xDCDCDCDC through their views (pages, and dedicated memory,
    /// mapped or not); a freed range reads 0xEFEFEFEF through the page's mapping (its own
    /// view has ended, by design).
    @Test func initializationPatternsShowThroughViews() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.initializeAllocations = true
            let allocator = Allocator(device: context.device, options: options)
            let keeper = try allocator.allocate(MemoryRequirements(size: 64), usage: .dynamic)
            let allocation = try allocator.allocate(MemoryRequirements(size: 1024), usage: .dynamic,
                                                    options: AllocationOptions(mapped: true))
            let view = try allocator.map(allocation)
            #expect(try view.read(UInt32.self, count: 256).allSatisfy { $0 == 0xDCDC_DCDC })
            try view.write(contentsOf: [UInt32](repeating: 7, count: 256))
            let pointer = try #require(allocation.mappedPointer)
            try allocator.free(allocation)
            #expect(throws: MemoryError.viewEnded) { try view.read(UInt32.self) }
            // The page stays (the keeper is live): its mapping shows the freed pattern.
            let freed = UnsafeRawBufferPointer(start: pointer, count: 1024)
            #expect(freed.allSatisfy { $0 == 0xEF })
            // The same range, allocated again, reads the new pattern again.
            let again = try allocator.allocate(MemoryRequirements(size: 1024), usage: .dynamic)
            #expect(try allocator.map(again).read(UInt32.self, count: 256).allSatisfy { $0 == 0xDCDC_DCDC })
            for mapped in [false, true] {
                let dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .dynamic,
                                                       options: AllocationOptions(dedicated: .always, mapped: mapped))
                #expect(dedicated.isDedicated)
                #expect(try allocator.map(dedicated).read(UInt32.self, count: 1024).allSatisfy { $0 == 0xDCDC_DCDC })
                try allocator.free(dedicated)
            }
            try allocator.free(again)
            try allocator.free(keeper)
            allocator._checkInvariants()
        }
    }

    /// Seeded churn with margins and patterns on: every allocation keeps its content and
    /// alignment, no margin is ever found overwritten, the invariants hold throughout,
    /// and the allocator ends empty.
    @Test(arguments: [UInt64(1), 2, 3])
    func churnKeepsMarginsIntact(seed: UInt64) throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.setPageSize(4 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            options.debugMargin = 32
            options.detectCorruption = true
            options.initializeAllocations = true
            let allocator = Allocator(device: context.device, options: options)
            var random = SplitMix64(seed: seed)
            var live: [(Allocation, UInt8)] = []
            for step in 0..<600 {
                if live.isEmpty || random.next() % 3 != 0 {
                    let alignment = UInt64(1) << (random.next() % 13)
                    let size = 1 + random.next() % (64 << 10)
                    let allocation = try allocator.allocate(MemoryRequirements(size: size, alignment: alignment),
                                                            usage: .dynamic, options: AllocationOptions(mapped: true))
                    #expect(allocation.offset % alignment == 0)
                    let byte = UInt8(truncatingIfNeeded: step)
                    try #require(allocation.mappedPointer).initializeMemory(as: UInt8.self, repeating: byte,
                                                                            count: Int(allocation.size))
                    live.append((allocation, byte))
                } else {
                    let (allocation, byte) = live.remove(at: Int(random.next() % UInt64(live.count)))
                    let bytes = UnsafeRawBufferPointer(start: allocation.mappedPointer, count: Int(allocation.size))
                    #expect(bytes.allSatisfy { $0 == byte })
                    try allocator.free(allocation)
                }
                if step % 100 == 99 {
                    #expect(try allocator.checkCorruption().isEmpty)
                    allocator._checkInvariants()
                }
            }
            for (allocation, _) in live { try allocator.free(allocation) }
            #expect(allocator.takeCorruptionReports().isEmpty)
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
            allocator._checkInvariants()
        }
    }

    /// An overrun a free found in a custom pool is still reported after the pool is
    /// destroyed; the reports used to go with the pool.
    @Test func aDestroyedPoolsReportsAreStillTaken() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.detectCorruption = true
            let allocator = Allocator(device: context.device, options: options)
            let pool = try allocator.makePool(PoolOptions(name: "overrun", usage: .dynamic, pageSize: 1 << 20))
            let allocation = try allocator.allocate(MemoryRequirements(size: 100, alignment: 16), in: pool,
                                                    options: AllocationOptions(mapped: true))
            let pointer = try #require(allocation.mappedPointer)
            pointer.storeBytes(of: UInt8(0), toByteOffset: Int(allocation.size), as: UInt8.self)
            try allocator.free(allocation)
            try allocator.destroyPool(pool)
            let reports = allocator.takeCorruptionReports()
            #expect(reports.count == 1, "\(reports)")
            #expect(allocator.takeCorruptionReports().isEmpty, "taken once")
        }
    }
}
