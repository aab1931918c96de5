extension Allocator {
    /// Applies `EmptyPagePolicy.keepWithinBudget(maxBytes:)`: releases wholly free pages of
    /// the allocator's own, the largest first, until the empty pages of every type together
    /// hold at most `maxBytes` and no heap is over its budget (counting what is being
    /// allocated); returns the bytes released.
    ///
    /// Runs after a free left a page empty, never on a free that did not: one budget query
    /// and one look at each type's pages (each type's lock in turn, none held across the
    /// release). A page reused by another thread meanwhile is left alone
    /// (`takeEmptyPage` checks it is still the same, empty page), so the limits hold again
    /// once the frees racing this one have applied them too.
    /// - Complexity: O(p log p) for p wholly free pages, plus O(types + pages) to find them,
    ///   and one `vkFreeMemory` per page released.
    @inline(never)
    @discardableResult
    func releaseEmptyPages(beyond maxBytes: UInt64) -> UInt64 {
        var candidates: [(pool: MemoryTypePool, page: MemoryTypePool.EmptyPage, order: Int)] = []
        for pool in ownPagePools() {
            for page in pool.emptyPages() { candidates.append((pool, page, candidates.count)) }
        }
        guard !candidates.isEmpty else { return 0 }
        // The largest first: the fewest vkFreeMemory calls to get back within both limits.
        // Ties go to the lower type and, within a type, the older page.
        candidates.sort { ($0.page.size, -$0.order) > ($1.page.size, -$1.order) }
        var kept = candidates.reduce(UInt64(0)) { $0 + $1.page.size }
        var over = ledger.bytesOverBudget()
        var released: UInt64 = 0
        for (pool, page, _) in candidates {
            let heap = pool.heapIndex
            let heapOver = heap < over.count ? over[heap] : 0
            guard kept > maxBytes || heapOver > 0 else { continue }
            guard let memory = pool.takeEmptyPage(slot: page.slot, generation: page.generation) else { continue }
            kept -= min(kept, memory.size)
            if heap < over.count { over[heap] = heapOver - min(heapOver, memory.size) }
            released += memory.size
            ledger.release(memory)
        }
        return released
    }
}
