import Foundation

extension Statistics {
    /// The statistics as the JSON document VMA's `vmaBuildStatsString` writes with a
    /// detailed map, so the tools VMA users already have (GpuMemDumpVis and others that
    /// read its schema, `GpuMemDump.schema.json`) read this allocator's memory too.
    ///
    /// - `General`: the API and the device's name, with the heap and type counts.
    /// - `Total`: allocator-wide figures. As in VMA, a block is any `VkDeviceMemory`, so
    ///   dedicated allocations count as blocks; unused ranges are the pages' free ranges.
    /// - `MemoryInfo`: per heap (`Heap N`): flags, size, the budget and usage the driver
    ///   reports, figures, and per memory type of the heap (`MemoryPools`, `Type N`).
    /// - `DefaultPools`: per memory type, the allocator's own pages as `Blocks` (keyed by
    ///   their position among the type's pages) with every allocation and free range in
    ///   address order (`Suballocations`: offset, size, type, usage, name), and the type's
    ///   dedicated allocations.
    /// - `CustomPools`: per memory type, each custom pool (`Allocator.makePool`) with its
    ///   page size and pages.
    ///
    /// A range's `Type` is VMA's: `BUFFER`, `IMAGE_OPTIMAL`, `IMAGE_LINEAR`,
    /// `IMAGE_UNKNOWN`, `UNKNOWN` (memory nothing was bound to through the allocator, or a
    /// `.contiguous` group's shared range) or `FREE`. `Usage` is the resource's usage flags,
    /// 0 without one, as VMA writes for plain memory. Names are written as given; the
    /// encoder escapes them.
    ///
    /// Resources aliasing an allocation (`RangeStatistics.aliases`) are not written: VMA
    /// keeps no record of its aliasing resources and its dump has no place for them (the
    /// schema forbids other keys), so the aliased allocation appears once, as the range it
    /// is, and the totals count it once. `json()`, `yaml()` and the memory map show them.
    ///
    /// Keys are sorted, so two dumps diff line by line; JSON readers do not depend on key
    /// order.
    /// - Throws: `StatisticsError.encodingFailed` if the encoder refuses the value.
    /// - Complexity: O(allocations + pages).
    public func vmaJSON() throws(StatisticsError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(VMADump(self)), as: UTF8.self)
        } catch {
            throw .encodingFailed(format: .vmaJSON, message: String(describing: error))
        }
    }
}

/// VMA's statistics document, field for field, built from one `Statistics`. The property
/// names are VMA's keys, so the synthesized encoding is the document.
private struct VMADump: Encodable {
    let General: GeneralObject
    let Total: StatsObject
    let MemoryInfo: [String: Heap]
    let DefaultPools: [String: DefaultPool]
    let CustomPools: [String: [CustomPool]]

    struct GeneralObject: Encodable {
        let API = "Vulkan"
        let GPU: String
        let memoryHeapCount: Int
        let memoryTypeCount: Int
    }

    /// VMA's detailed statistics: counts and bytes, with the extremes only where there is
    /// more than one allocation or free range to compare, as VMA writes them.
    struct StatsObject: Encodable {
        var BlockCount = 0
        var BlockBytes: UInt64 = 0
        var AllocationCount = 0
        var AllocationBytes: UInt64 = 0
        var UnusedRangeCount = 0
        var AllocationSizeMin: UInt64?
        var AllocationSizeMax: UInt64?
        var UnusedRangeSizeMin: UInt64?
        var UnusedRangeSizeMax: UInt64?
        /// The extremes over every range counted, kept apart so that they are written
        /// only when VMA would write them.
        private var allocationExtremes: (min: UInt64, max: UInt64)?
        private var unusedExtremes: (min: UInt64, max: UInt64)?

        enum CodingKeys: String, CodingKey {
            case BlockCount, BlockBytes, AllocationCount, AllocationBytes, UnusedRangeCount
            case AllocationSizeMin, AllocationSizeMax, UnusedRangeSizeMin, UnusedRangeSizeMax
        }

        mutating func addPage(_ page: PageStatistics) {
            BlockCount += 1
            BlockBytes += page.size
            for range in page.ranges {
                if range.kind == .free { addUnused(range.size) } else { addAllocation(range.size) }
            }
        }

        mutating func addDedicated(_ allocation: DedicatedStatistics) {
            BlockCount += 1
            BlockBytes += allocation.size
            addAllocation(allocation.size)
        }

        private mutating func addAllocation(_ size: UInt64) {
            AllocationCount += 1
            AllocationBytes += size
            allocationExtremes = (Swift.min(allocationExtremes?.min ?? size, size),
                                  Swift.max(allocationExtremes?.max ?? size, size))
            if AllocationCount > 1 {
                AllocationSizeMin = allocationExtremes?.min
                AllocationSizeMax = allocationExtremes?.max
            }
        }

        private mutating func addUnused(_ size: UInt64) {
            UnusedRangeCount += 1
            unusedExtremes = (Swift.min(unusedExtremes?.min ?? size, size), Swift.max(unusedExtremes?.max ?? size, size))
            if UnusedRangeCount > 1 {
                UnusedRangeSizeMin = unusedExtremes?.min
                UnusedRangeSizeMax = unusedExtremes?.max
            }
        }
    }

    struct Heap: Encodable {
        let Flags: [String]
        let Size: UInt64
        let Budget: BudgetObject
        let Stats: StatsObject
        let MemoryPools: [String: TypeInfo]
    }

    struct BudgetObject: Encodable {
        let BudgetBytes: UInt64
        let UsageBytes: UInt64
    }

    struct TypeInfo: Encodable {
        let Flags: [String]
        let Stats: StatsObject
    }

    struct DefaultPool: Encodable {
        let PreferredBlockSize: UInt64
        let Blocks: [String: Block]
        let DedicatedAllocations: [Dedicated]
    }

    struct CustomPool: Encodable {
        let Name: String
        let Flags: [String] = []
        let PreferredBlockSize: UInt64
        let Blocks: [String: Block]
        let DedicatedAllocations: [Dedicated] = []
    }

    struct Block: Encodable {
        let MapRefCount: Int
        let TotalBytes: UInt64
        let UnusedBytes: UInt64
        let Allocations: Int
        let UnusedRanges: Int
        let Suballocations: [Suballocation]

        init(_ page: PageStatistics) {
            // A page is mapped once, whole, and stays so: one reference while it is.
            MapRefCount = page.mapped ? 1 : 0
            TotalBytes = page.size
            UnusedBytes = page.freeBytes
            Allocations = page.allocationCount
            UnusedRanges = page.freeRangeCount
            Suballocations = page.ranges.map(Suballocation.init)
        }
    }

    struct Suballocation: Encodable {
        let Offset: UInt64
        let `Type`: String
        let Size: UInt64
        let Usage: UInt32?
        let Name: String?

        init(_ range: RangeStatistics) {
            Offset = range.offset
            Type = vmaTypeName(range.kind, range.resource)
            Size = range.size
            // VMA writes a usage for every allocation (0 for plain memory), none for free ranges.
            Usage = range.kind == .free ? nil : (range.usage ?? 0)
            Name = range.name
        }
    }

    struct Dedicated: Encodable {
        let `Type`: String
        let Size: UInt64
        let Usage: UInt32
        let Name: String?

        init(_ allocation: DedicatedStatistics) {
            Type = vmaTypeName(allocation.kind, allocation.resource)
            Size = allocation.size
            Usage = allocation.usage ?? 0
            Name = allocation.name
        }
    }

    init(_ statistics: Statistics) {
        General = GeneralObject(GPU: statistics.device, memoryHeapCount: statistics.heaps.count,
                        memoryTypeCount: statistics.types.count)
        let defaultPages = statistics.pages.filter { $0.poolIndex == nil }
        var typeStats = statistics.types.map { _ in StatsObject() }
        for page in statistics.pages where typeStats.indices.contains(page.memoryTypeIndex) {
            typeStats[page.memoryTypeIndex].addPage(page)
        }
        for allocation in statistics.dedicated where typeStats.indices.contains(allocation.memoryTypeIndex) {
            typeStats[allocation.memoryTypeIndex].addDedicated(allocation)
        }
        var total = StatsObject()
        for page in statistics.pages { total.addPage(page) }
        for allocation in statistics.dedicated { total.addDedicated(allocation) }
        Total = total

        var heaps: [String: Heap] = [:]
        for heap in statistics.heaps {
            let types = statistics.types.filter { $0.heapIndex == heap.index }
            var stats = StatsObject()
            for page in statistics.pages where types.contains(where: { $0.index == page.memoryTypeIndex }) {
                stats.addPage(page)
            }
            for allocation in statistics.dedicated where types.contains(where: { $0.index == allocation.memoryTypeIndex }) {
                stats.addDedicated(allocation)
            }
            var memoryPools: [String: TypeInfo] = [:]
            for type in types {
                memoryPools["Type \(type.index)"] = TypeInfo(Flags: type.flags, Stats: typeStats[type.index])
            }
            heaps["Heap \(heap.index)"] = Heap(Flags: heap.flags, Size: heap.size,
                                               Budget: BudgetObject(BudgetBytes: heap.budget, UsageBytes: heap.usage),
                                               Stats: stats, MemoryPools: memoryPools)
        }
        MemoryInfo = heaps

        // Every memory type has default pages, as VMA has a block vector for every type.
        var defaultPools: [String: DefaultPool] = [:]
        for type in statistics.types {
            defaultPools["Type \(type.index)"] = DefaultPool(
                PreferredBlockSize: type.preferredPageSize,
                Blocks: Self.blocks(defaultPages.filter { $0.memoryTypeIndex == type.index }),
                DedicatedAllocations: statistics.dedicated.filter { $0.memoryTypeIndex == type.index }.map(Dedicated.init))
        }
        DefaultPools = defaultPools

        var customPools: [String: [CustomPool]] = [:]
        for (index, pool) in statistics.pools.enumerated() {
            customPools["Type \(pool.memoryTypeIndex)", default: []].append(CustomPool(
                Name: pool.name, PreferredBlockSize: pool.pageSize,
                Blocks: Self.blocks(statistics.pages.filter { $0.poolIndex == index })))
        }
        CustomPools = customPools
    }

    /// Pages as VMA's `Blocks`: keyed by their position, in the order the allocator
    /// searches them.
    private static func blocks(_ pages: [PageStatistics]) -> [String: Block] {
        Dictionary(uniqueKeysWithValues: pages.enumerated().map { ("\($0.offset)", Block($0.element)) })
    }
}

/// VMA's suballocation type name for a range of `kind` with `resource` bound.
private func vmaTypeName(_ kind: RangeStatistics.Kind, _ resource: RangeStatistics.Resource?) -> String {
    switch (kind, resource) {
    case (.free, _): "FREE"
    case (_, .buffer): "BUFFER"
    case (.optimal, _): "IMAGE_OPTIMAL"
    case (.linear, .image): "IMAGE_LINEAR"
    case (.unknown, .image): "IMAGE_UNKNOWN"
    // Memory with nothing bound through the allocator: a linear range may become a
    // buffer or a linear image, so VMA's plain "UNKNOWN" is the truth.
    case (.linear, nil), (.unknown, nil): "UNKNOWN"
    }
}
