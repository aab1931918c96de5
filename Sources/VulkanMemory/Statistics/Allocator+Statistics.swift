extension Allocator {
    /// A snapshot of the allocator: totals, heaps with their budget, memory types, every
    /// page with its allocations and free ranges in address order, and the dedicated
    /// allocations.
    ///
    /// Each memory type's lock and the dedicated registry's lock are taken once, in turn,
    /// as `usage` does: each type's figures are consistent with its pages, but allocations
    /// made on other threads during the call may show in one type and not another.
    /// - Complexity: O(allocations + pages).
    public func statistics() -> Statistics {
        statistics(slices: [:])
    }

    /// ``statistics()`` with the live slices of `arenas` inside their arena buffers'
    /// allocations (``RangeStatistics/slices``), so the memory map (``Statistics/svg()``,
    /// ``Statistics/html()``) draws them inside their buffer. Arena buffers in dedicated
    /// memory are shown without their slices.
    ///
    /// Each arena's lock is taken in turn before the allocator's: the slices and the pages
    /// are each consistent, and agree unless another thread changes the arena meanwhile.
    /// - Complexity: O(allocations + pages + live slices).
    public func statistics(showingSlicesOf arenas: [BufferArena]) -> Statistics {
        var slices: [AllocationPlace: [SliceStatistics]] = [:]
        for arena in arenas where arena.allocator === self {
            slices.merge(arena.slicesByPlace()) { first, _ in first }
        }
        return statistics(slices: slices)
    }

    /// The snapshot, with `slices` attached to the allocations at those places.
    private func statistics(slices: [AllocationPlace: [SliceStatistics]]) -> Statistics {
        // Read before any lock: it may call into the driver.
        let budget = MemoryBudget(device: device)
        var types: [TypeTally] = properties.types.map { _ in TypeTally() }
        var pages: [PageStatistics] = []
        var emptyPageCount = 0
        var customPools: [PoolStatistics] = []
        for pool in everyPagePool() {
            let (totals, snapshots) = pool.snapshot()
            let poolIndex = pool.isCustom ? customPools.count : nil
            pages += snapshots.map { PageStatistics($0, of: pool, poolIndex: poolIndex, slices: slices) }
            if pool.isCustom {
                let (name, dedicatedCount) = pool.state.withLock { ($0.name ?? "", $0.dedicatedCount) }
                customPools.append(PoolStatistics(name: name, memoryTypeIndex: pool.typeIndex,
                                                  pageSize: pool.preferredPageSize, maxPages: pool.maxPages,
                                                  pageCount: totals.pageCount, isLinear: pool.isLinear,
                                                  dedicatedCount: dedicatedCount))
            } else {
                types[pool.typeIndex].preferredPageSize = pool.preferredPageSize
            }
            types[pool.typeIndex].pageCount += totals.pageCount
            types[pool.typeIndex].committedBytes += totals.committedBytes
            types[pool.typeIndex].liveBytes += totals.liveBytes
            types[pool.typeIndex].allocationCount += totals.allocationCount
            emptyPageCount += totals.emptyPageCount
        }
        let dedicatedAllocations: [DedicatedStatistics] = dedicated.withLock { registry in
            registry.live.map { entry in
                types[entry.pool].dedicatedCount += 1
                types[entry.pool].committedBytes += entry.memory.size
                types[entry.pool].liveBytes += entry.memory.size
                types[entry.pool].allocationCount += 1
                // The memory's own lock inside the registry's: nothing takes them the other way round.
                return DedicatedStatistics(memoryTypeIndex: entry.pool, size: entry.memory.size, name: entry.name,
                                           mapped: entry.memory.mappedPointer != nil, kind: RangeStatistics.Kind(entry.kind),
                                           resource: entry.record.resource.map(RangeStatistics.Resource.init),
                                           usage: entry.record.resource?.usage,
                                           fileID: entry.record.fileID.description, line: Int(entry.record.line),
                                           aliases: entry.aliases.isEmpty ? nil : entry.aliases.map(AliasStatistics.init))
            }
        }
        let typeStatistics = properties.types.map { type in
            types[type.index].statistics(of: type)
        }
        let heapStatistics = properties.heaps.map { heap in
            let heapBudget = budget.heaps.indices.contains(heap.index) ? budget.heaps[heap.index] : nil
            return HeapStatistics(
                index: heap.index, size: heap.size, flags: heap.flags.names,
                budget: heapBudget?.budget ?? 0, usage: heapBudget?.usage ?? 0, budgetSource: budget.source.rawValue,
                committedBytes: typeStatistics.lazy.filter { $0.heapIndex == heap.index }
                    .reduce(0) { $0 + $1.committedBytes })
        }
        let totals = TotalStatistics(
            committedBytes: typeStatistics.reduce(0) { $0 + $1.committedBytes },
            liveBytes: typeStatistics.reduce(0) { $0 + $1.liveBytes },
            allocationCount: typeStatistics.reduce(0) { $0 + $1.allocationCount },
            pageCount: pages.count,
            emptyPageCount: emptyPageCount,
            dedicatedCount: dedicatedAllocations.count,
            freeBytesInPages: pages.reduce(0) { $0 + $1.freeBytes },
            deviceMemoryCount: ledger.objectCount)
        return Statistics(device: device.info.name, totals: totals, heaps: heapStatistics, types: typeStatistics,
                          pages: pages, dedicated: dedicatedAllocations, pools: customPools)
    }
}

/// One memory type's figures while `statistics()` gathers them.
private struct TypeTally {
    var pageCount = 0
    var dedicatedCount = 0
    var committedBytes: UInt64 = 0
    var liveBytes: UInt64 = 0
    var allocationCount = 0
    var preferredPageSize: UInt64 = 0

    func statistics(of type: MemoryType) -> TypeStatistics {
        TypeStatistics(index: type.index, heapIndex: type.heapIndex, flags: type.flags.names,
                       pageCount: pageCount, dedicatedCount: dedicatedCount, committedBytes: committedBytes,
                       liveBytes: liveBytes, allocationCount: allocationCount, preferredPageSize: preferredPageSize)
    }
}

extension PageStatistics {
    /// A page's figures and ranges (page-relative, in address order) from a pool's
    /// snapshot.
    ///
    /// Bytes of a page beyond its arena region (the granularity's remainder) count as
    /// free bytes but belong to no free range.
    fileprivate init(_ page: MemoryTypePool.PageSnapshot, of pool: MemoryTypePool, poolIndex: Int?,
                     slices: [AllocationPlace: [SliceStatistics]]) {
        let memory = page.memory.map { UInt(bitPattern: $0) }
        let allocations = page.allocations.map { range in
            // An arena buffer's allocation starts after the range's front margin, if any.
            let sliced = slices.isEmpty ? nil : memory.flatMap { memory in
                slices[AllocationPlace(memory: memory, offset: range.offset + (range.record?.frontMargin ?? 0))]
            }
            // The call site becomes a String here, outside the pool's lock.
            return RangeStatistics(offset: range.offset, size: range.size, kind: RangeStatistics.Kind(range.kind ?? .unknown),
                                   name: range.name, resource: range.record?.resource.map(RangeStatistics.Resource.init),
                                   usage: range.record?.resource?.usage, fileID: range.record?.fileID.description,
                                   line: range.record.map { Int($0.line) },
                                   aliases: range.aliases.isEmpty ? nil : range.aliases.map(AliasStatistics.init),
                                   slices: sliced)
        }
        let gaps = page.freeRanges.map { RangeStatistics(offset: $0.offset, size: $0.size, kind: .free, name: nil) }
        let used = allocations.reduce(0) { $0 + $1.size }
        self.init(memoryTypeIndex: pool.typeIndex, size: page.size, usedBytes: used, freeBytes: page.size - used,
                  allocationCount: allocations.count, freeRangeCount: gaps.count,
                  largestFreeRange: gaps.map(\.size).max() ?? 0, mapped: page.isMapped, reserved: page.isReserved,
                  pool: pool.poolName, poolIndex: poolIndex, ranges: PageStatistics.merged(allocations, gaps))
    }

    private static func merged(_ a: [RangeStatistics], _ b: [RangeStatistics]) -> [RangeStatistics] {
        var result: [RangeStatistics] = []
        result.reserveCapacity(a.count + b.count)
        var i = a.startIndex
        var j = b.startIndex
        while i < a.endIndex, j < b.endIndex {
            if a[i].offset <= b[j].offset {
                result.append(a[i])
                i += 1
            } else {
                result.append(b[j])
                j += 1
            }
        }
        result.append(contentsOf: a[i...])
        result.append(contentsOf: b[j...])
        return result
    }
}

extension RangeStatistics.Resource {
    /// The public name of what an allocation's record says is bound to it.
    init(_ resource: BoundResource) {
        switch resource.kind {
        case .buffer: self = .buffer
        case .image: self = .image
        }
    }
}
