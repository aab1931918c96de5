extension MemoryTypePool {
    /// Adds reserved pages (see `Allocator.reserve`) until this type holds at least `bytes`
    /// in reserved pages; returns the bytes added. On failure every page this call added
    /// is released again and the failure thrown.
    func reserve(_ bytes: UInt64) throws(AllocationError) -> UInt64 {
        try addReservedPages { reserved, _ in
            guard reserved < bytes else { return nil }
            // Pages of the preferred size, the last one only as large as still needed.
            // No page under 1 MiB (or the preferred size, if smaller): a small remainder
            // would cost a vkAllocateMemory and a maxMemoryAllocationCount slot for
            // almost nothing. Whole MiB, and whole granularity pages, since a page's
            // arena region is its size rounded down to the granularity.
            let floor = min(preferredPageSize, 1 << 20)
            let wanted = min(preferredPageSize, max(bytes - reserved, floor))
            let mebibytes = wanted >= 1 << 20 ? ((wanted + (1 << 20) - 1) >> 20) << 20 : wanted
            return (mebibytes + granularity - 1) / granularity * granularity
        }
    }

    /// A custom pool's `minPages`: `count` reserved pages of exactly its page size.
    @discardableResult
    func reserveWholePages(_ count: Int) throws(AllocationError) -> UInt64 {
        let size = fixedPageSize ?? preferredPageSize
        return try addReservedPages { _, added in added < count ? size : nil }
    }

    /// Adds reserved pages of the sizes `nextSize` asks for, given the bytes of reserved
    /// pages so far and the pages this call added (nil: enough); returns the bytes added.
    /// On failure every page this call added is released again and the failure thrown.
    private func addReservedPages(nextSize: (_ reserved: UInt64, _ added: Int) -> UInt64?) throws(AllocationError) -> UInt64 {
        var added: [DeviceMemory] = []
        let result: Result<UInt64, AllocationError> = state.withLock { state in
            var reserved = state.pages.reduce(UInt64(0)) { $0 + ($1.isReserved && $1.memory != nil ? $1.region : 0) }
            var addedBytes: UInt64 = 0
            var slots: [UInt32] = []
            while let size = nextSize(reserved, slots.count) {
                do throws(AllocationError) {
                    let slot = try addPage(state: &state, needed: size, exactSize: size)
                    state.pages[Int(slot)].isReserved = true
                    state.emptyPageCount -= 1
                    slots.append(slot)
                    reserved += state.pages[Int(slot)].region
                    addedBytes += state.pages[Int(slot)].memory?.size ?? 0
                } catch {
                    for slot in slots {
                        state.pages[Int(slot)].isReserved = false
                        state.emptyPageCount += 1
                        added.append(removePage(slot: slot, state: &state))
                    }
                    return .failure(error)
                }
            }
            return .success(addedBytes)
        }
        for memory in added { ledger.release(memory) }
        return try result.get()
    }

    /// Ends every reservation of this type: its pages follow the usual rules again (empty
    /// ones beyond `keepEmpty`, the allocator's `emptyPages` count, are released now); returns the
    /// memory to release.
    func releaseReservations(keepEmpty: Int) -> [DeviceMemory] {
        state.withLock { state in
            var released: [DeviceMemory] = []
            for slot in state.active where state.pages[Int(slot)].isReserved {
                state.pages[Int(slot)].isReserved = false
                if state.pages[Int(slot)].isRemovable { state.emptyPageCount += 1 }
            }
            for slot in state.active where state.emptyPageCount > keepEmpty && state.pages[Int(slot)].isRemovable {
                released.append(removePage(slot: slot, state: &state))
            }
            return released
        }
    }
}

extension Allocator {
    /// Commits at least `bytes` of device memory for `usage` up front, in pages of the
    /// memory type that intent ranks first, and keeps them whatever is freed: allocations
    /// of that type then find room without `vkAllocateMemory` (which costs up to
    /// milliseconds on a real GPU) until the reservation is used up. Empty reserved pages
    /// are not released by the empty-page rule, by `freeUnusedPages()` or by
    /// defragmentation, until `releaseReservations()`.
    ///
    /// Calling it again for the same type tops the reservation up to `bytes`.
    ///
    /// Thread safety: any thread, while others allocate and free; it holds the memory
    /// type's lock while it makes pages, as growing a type does.
    /// - Returns: the bytes of device memory this call added.
    /// - Throws: `.zeroSize`; `.noSuitableMemoryType`; `.outOfMemory` (heap cap, budget,
    ///   driver) or `.tooManyAllocations`, with every page this call made released again.
    /// - Complexity: one `vkAllocateMemory` per page added.
    @discardableResult
    public func reserve(_ bytes: UInt64, usage: MemoryUsage) throws(AllocationError) -> UInt64 {
        guard bytes > 0 else { throw .zeroSize }
        guard let type = rankedByUsage[usage.ordinal].first else {
            throw .noSuitableMemoryType(required: selection.flags(for: .usage(usage)).required, memoryTypeBits: .max,
                                        usage: usage)
        }
        let pool = pools[type]
        guard bytes <= pool.heapSize else {
            throw .outOfMemory(size: bytes, typeIndex: type, heapIndex: pool.heapIndex, available: pool.heapSize,
                               reason: "a reservation larger than heap \(pool.heapIndex)")
        }
        return try pool.reserve(bytes)
    }

    /// Ends every reservation: reserved pages follow the usual rules again, and empty ones
    /// are kept or released now as `AllocatorOptions.emptyPages` says.
    /// - Returns: the bytes released.
    @discardableResult
    public func releaseReservations() -> UInt64 {
        var released: UInt64 = 0
        for pool in pools {
            for memory in pool.releaseReservations(keepEmpty: options.emptyPages.pagesKeptPerType) {
                released += memory.size
                ledger.release(memory)
            }
        }
        if case .keepWithinBudget(let maxBytes) = options.emptyPages { released += releaseEmptyPages(beyond: maxBytes) }
        return released
    }
}
