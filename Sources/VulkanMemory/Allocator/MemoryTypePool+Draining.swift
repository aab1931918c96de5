import Suballocation

/// Draining: an incremental defragmentation's way to make a page it could not empty in
/// one pass empty itself. Between passes, frames free and place ranges as they like; a
/// page they may place in fills again as fast as passes empty it. A draining page has
/// every free range blocked, and each range freed in it is blocked again at once, so
/// it only empties: the frees of the churn do the work, the next passes move what is
/// left. The planner marks a page draining (`planDefragmentation(…drain: true…)`); its
/// `unblock` then blocks the page's free ranges as the drain's own. Any request that would
/// otherwise need a new page first takes the room of the
/// draining pages back (`stopDrainingFullest(state:)`), so draining never makes memory grow.
extension MemoryTypePool {
    /// Pages of a type that drain at once. One: on W3 (8 MiB per pass every 1,000
    /// steps) two or four drained no better, and each blocks free room the churn needs.
    static let drainingPages = 1

    /// After a free in draining page `slot`: blocks the room it left, or ends the draining
    /// when the page is empty, so it can go. Out of line: the free path only tests a flag.
    /// - Complexity: O(arena ranges).
    @inline(never)
    func drainFreed(slot: Int, state: inout State) {
        if state.pages[slot].liveCount == 0 {
            stopDraining(slot, state: &state)
            return
        }
        guard !state.pages[slot].isBeingEmptied else { return }
        state.drainBlockers[slot, default: []] += blockFreeRanges(of: slot, state: &state)
    }

    /// Ends the draining of page `slot`: its blockers are freed.
    func stopDraining(_ slot: Int, state: inout State) {
        state.pages[slot].isDraining = false
        guard let blockers = state.drainBlockers.removeValue(forKey: slot) else { return }
        place { () throws(VirtualBlockError) in
            for blocker in blockers { try state.arena.free(blocker) }
        }
    }

    /// Ends the draining of the draining page with the most live allocations (the
    /// furthest from empty, so the least progress lost); false when none drains.
    /// - Complexity: O(draining pages + its blockers).
    func stopDrainingFullest(state: inout State) -> Bool {
        guard let slot = state.drainBlockers.keys.max(by: { state.pages[$0].liveCount < state.pages[$1].liveCount })
        else { return false }
        stopDraining(slot, state: &state)
        return true
    }

    /// The size of a new page of a type an incremental defragmentation works on: an
    /// eighth of the preferred size (at least 1 MiB) or `needed`, whole MiB.
    ///
    /// Why not `nextPageSize`: once frees scatter the free bytes, that grows to 115% of
    /// the live bytes in one page, room for churn that never moves anything. With passes
    /// emptying the least-used pages, that page is committed memory they must empty
    /// again; small pages let committed memory follow live memory up and down in steps
    /// of a few percent (on W3, 16 MiB pages against 350–390 MiB live).
    static func drainedPageSize(preferred: UInt64, needed: UInt64) -> UInt64 {
        let step: UInt64 = 1 << 20
        let size = max(preferred / 8, min(preferred, step), needed)
        return size % step == 0 ? size : (size / step + 1) * step
    }
}
