import CVulkan

extension Allocator {
    /// Checks every invariant of the allocator and stops the program with a message naming
    /// what is wrong (memory type, slot, offsets, handles) on the first one that fails. For
    /// tests, with no other thread using the allocator; compiled only in debug builds (in
    /// release it does nothing).
    ///
    /// Each pool checks itself (`MemoryTypePool._checkInvariants()`: arena, fences, page
    /// records, counters, mappings) and reports what the checks across pools need; then:
    /// 1. The allocator's own pools are one per memory type, in type order, untagged;
    ///    each live custom pool is tagged with its registry number and no registry entry
    ///    is still being made.
    /// 2. Dedicated memory: each entry's memory is live, of the entry's type and on that
    ///    type's heap, and (with every page's memory) no `VkDeviceMemory` handle is owned
    ///    twice.
    /// 3. The ledger agrees with the pools: per heap, committed bytes equal the pages of
    ///    every pool (own and custom) on that heap plus the dedicated memory on it, and
    ///    stay within the heap's size and cap; its live objects are the pages plus the
    ///    dedicated allocations.
    /// 4. Contiguous groups: each group's range is a live allocation of one of the
    ///    allocator's own pages, pinned and bound, used by no other group; its members
    ///    lie inside it in layout order, and `remaining` counts the live ones (a group
    ///    with none left is gone). The pinned ranges in the pools are exactly the groups'.
    /// 5. Only an open defragmentation pass empties pages (of the allocator's own pools or
    ///    of the custom pool it was begun for).
    /// 6. A source that a committed pass freed while a resource was bound to it
    ///    (`movedSources`) is no longer live.
    /// - Complexity: O(ranges of every arena + pages + dedicated allocations + groups).
    func _checkInvariants() {
        #if DEBUG
        func fail(_ message: String) -> Never { preconditionFailure("Allocator invariant broken: \(message)") }

        // 1. Pools.
        for (index, pool) in pools.enumerated() where pool.typeIndex != index || pool.slotTag != 0 || pool.fixedPageSize != nil {
            fail("the allocator's pool \(index) is of type \(pool.typeIndex), tag \(pool.slotTag)")
        }
        let registry: [PoolRegistry.Entry?] = customPools.withLock { $0.pools }
        var custom: [MemoryTypePool] = []
        for (number, entry) in registry.enumerated() {
            switch entry {
            case .none: continue
            case .making: fail("custom pool number \(number) is still being made")
            case let .live(pool):
                guard pool.slotTag == UInt32(number + 1) << MemoryTypePool.slotTagShift,
                      properties.types.indices.contains(pool.typeIndex), pool.fixedPageSize != nil else {
                    fail("custom pool \(number) ('\(pool.poolName ?? "")') has tag \(pool.slotTag), type \(pool.typeIndex)")
                }
                custom.append(pool)
            }
        }

        // Each pool checks itself.
        var pageBytes = [UInt64](repeating: 0, count: properties.heaps.count)
        var pageCount = 0
        var memories: [VkDeviceMemory: String] = [:]
        var pinned = 0
        var beingEmptied = 0
        for pool in ownPagePools() + custom {
            let summary = pool._checkInvariants()
            pageBytes[pool.heapIndex] += summary.committedBytes
            pageCount += summary.pageCount
            beingEmptied += summary.pagesBeingEmptied
            if pool.slotTag == 0 { pinned += summary.pinnedCount } else if summary.pinnedCount > 0 {
                fail("pool '\(pool.poolName ?? "")' holds \(summary.pinnedCount) pinned ranges")
            }
            for memory in summary.pageMemories {
                let owner = "a page of memory type \(pool.typeIndex)" + (pool.poolName.map { " in pool '\($0)'" } ?? "")
                if let other = memories.updateValue(owner, forKey: memory) {
                    fail("memory \(memory) is \(owner) and \(other)")
                }
            }
        }

        // 2. Dedicated memory.
        let dedicatedEntries = dedicated.withLock { $0.live }
        var dedicatedBytes = [UInt64](repeating: 0, count: properties.heaps.count)
        for entry in dedicatedEntries {
            let memory = entry.memory
            guard properties.types.indices.contains(entry.pool), memory.memoryTypeIndex == entry.pool,
                  memory.heapIndex == properties.types[entry.pool].heapIndex else {
                fail("dedicated memory \(memory.handle) of type \(memory.memoryTypeIndex), heap \(memory.heapIndex) "
                     + "is filed under type \(entry.pool)")
            }
            guard !memory.isFreed else { fail("dedicated memory \(memory.handle) of type \(entry.pool) was freed") }
            let owner = "dedicated memory of type \(entry.pool)"
            if let other = memories.updateValue(owner, forKey: memory.handle) {
                fail("memory \(memory.handle) is \(owner) and \(other)")
            }
            dedicatedBytes[memory.heapIndex] += memory.size
        }

        // 3. The ledger.
        let committed = ledger.committedBytes
        for heap in properties.heaps.indices {
            guard committed[heap] == pageBytes[heap] + dedicatedBytes[heap] else {
                fail("heap \(heap): the ledger holds \(committed[heap]) bytes committed; pages hold \(pageBytes[heap]), "
                     + "dedicated memory \(dedicatedBytes[heap])")
            }
            guard committed[heap] <= properties.heaps[heap].size else {
                fail("heap \(heap): \(committed[heap]) bytes committed, more than its \(properties.heaps[heap].size)")
            }
            if let cap = options.heapSizeLimits[heap], committed[heap] > cap {
                fail("heap \(heap): \(committed[heap]) bytes committed over its cap of \(cap)")
            }
        }
        guard ledger.objectCount == pageCount + dedicatedEntries.count else {
            fail("the ledger holds \(ledger.objectCount) VkDeviceMemory objects; \(pageCount) pages and "
                 + "\(dedicatedEntries.count) dedicated allocations exist")
        }

        // 4. Contiguous groups.
        let groupEntries = groups.withLock { $0.live }
        var bases = Set<Allocation>()
        for entry in groupEntries {
            let base = entry.base
            let name = "group of \(entry.offsets.count) at memory \(base.memory), offset \(base.offset), size \(base.size)"
            guard case let .page(slot, _, _) = base.location, slot >> MemoryTypePool.slotTagShift == 0,
                  pools.indices.contains(base.memoryTypeIndex) else {
                fail("\(name): its range is not an allocation of the allocator's own pages")
            }
            guard let record = pools[base.memoryTypeIndex]._liveRecord(of: base, slot: slot) else {
                fail("\(name): its range is not live")
            }
            guard record.isPinned, record.isBound else {
                fail("\(name): its range is pinned \(record.isPinned), bound \(record.isBound)")
            }
            guard bases.insert(base).inserted else { fail("\(name): its range is another group's too") }
            let count = entry.offsets.count
            guard count > 0, entry.kinds.count == count, entry.live.count == count else {
                fail("\(name): \(entry.kinds.count) kinds and \(entry.live.count) live flags")
            }
            for index in 0..<count {
                guard entry.offsets[index] < base.size, index == 0 || entry.offsets[index] > entry.offsets[index - 1] else {
                    fail("\(name): member \(index) at \(entry.offsets[index]) is out of order or outside the range")
                }
            }
            let live = entry.live.filter { $0 }.count
            guard live == entry.remaining, live > 0 else {
                fail("\(name): \(live) live members, remaining \(entry.remaining)")
            }
        }
        guard pinned == groupEntries.count else {
            fail("\(pinned) pinned ranges in the pages, \(groupEntries.count) contiguous groups")
        }

        // 5. Defragmentation.
        if beingEmptied > 0, !defragmentationOpen.load(ordering: .acquiring) {
            fail("\(beingEmptied) pages are being emptied with no defragmentation pass open")
        }

        // 6. Moved sources.
        for source in movedSources.withLock({ $0 }) where liveness(source) == nil {
            fail("moved source \(source) is still live")
        }
        #endif
    }
}
