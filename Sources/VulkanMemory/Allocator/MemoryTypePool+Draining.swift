import Suballocation

/// Draining: an incremental defragmentation's way to make a page it could not empty in
/// one pass empty itself. Between passes, frames free and place ranges as they like; a
/// page they may place in fills again as fast as passes empty it. A draining page has
/// every free range blocked, and each range freed in it is blocked again at once, so
/// it only empties: the frees of the churn do the work, the next passes move what is
/// left. The planner marks a page draining (`planDefragmentation(…drain: true…)`); its
/// `unblock` then blocks the page's free ranges as the drain's own. Any request that would
/// otherwise need a new page first takes the room of the
/// draining pages back (`placeInDrainingPages(state:_:)`), so draining never makes memory grow.
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
        // An ordinary page again, whether its room was taken back or it emptied (the free
        // that emptied it read the flag first, and releases it: `forgetFreed`).
        state.pages[slot].releasesWhenEmpty = false
        guard let blockers = state.drainBlockers.removeValue(forKey: slot) else { return }
        place { () throws(VirtualBlockError) in
            for blocker in blockers { try state.arena.free(blocker) }
        }
    }

    /// Places a request no open room took in the room of the draining pages, taken back
    /// one page at a time, the one with the most live allocations first (the furthest
    /// from empty, so the least progress lost). A page whose room did not take the
    /// request drains on, with its free ranges blocked again: only the page that places
    /// the request stops draining, and a request that goes on to a new page, or fails,
    /// leaves every drain as it was (the allocator unchanged after an error).
    /// - Complexity: O(draining pages × (their blockers + one search)), plus O(free
    ///   ranges) for each page that drains again.
    /// - Returns: the placed range and whether its page was to be released once empty
    ///   (restored by `restartDrain` when the call that placed it fails); nil when no
    ///   draining page took it.
    func placeInDrainingPages(state: inout State, _ place: (inout State) -> VirtualAllocation?)
        -> (placed: VirtualAllocation, releasedWhenEmpty: Bool)? {
        var stopped: [(slot: Int, releasesWhenEmpty: Bool)] = []
        var placed: VirtualAllocation?
        // A page a defragmentation pass is emptying stays closed until the pass ends.
        while placed == nil, let slot = state.drainBlockers.keys
            .filter({ !state.pages[$0].isBeingEmptied })
            .max(by: { state.pages[$0].liveCount < state.pages[$1].liveCount }) {
            stopped.append((slot, state.pages[slot].releasesWhenEmpty))
            stopDraining(slot, state: &state)
            placed = place(&state)
        }
        let taker = placed.map { self.slot(of: $0.offset) }
        for page in stopped where page.slot != taker {
            drainAgain(page.slot, releasesWhenEmpty: page.releasesWhenEmpty, state: &state)
        }
        guard let placed, let taken = stopped.first(where: { $0.slot == taker }) else { return nil }
        return (placed, taken.releasesWhenEmpty)
    }

    /// Page `slot` drains again: its free ranges blocked, as when the drain began.
    func drainAgain(_ slot: Int, releasesWhenEmpty: Bool, state: inout State) {
        state.pages[slot].isDraining = true
        state.pages[slot].releasesWhenEmpty = releasesWhenEmpty
        state.drainBlockers[slot] = blockFreeRanges(of: slot, state: &state)
    }

    /// Starts again the drain of page `slot` (generation `generation`) that a placement
    /// ended, once the call that placed it failed and freed it: the allocator as before
    /// the call. Nothing when the page is gone, drains already, or holds no allocation any
    /// more (another thread freed the rest meanwhile): a drain ends with the free that
    /// empties its page, so an empty page must not drain; it stays an ordinary empty page
    /// for the empty-page policy.
    func restartDrain(slot: UInt32, generation: UInt32, memory: VkDeviceMemory, releasesWhenEmpty: Bool) {
        state.withLock { state in
            guard pageError(slot: slot, generation: generation, memory: memory, state: state) == nil,
                  !state.pages[Int(slot)].isDraining, state.pages[Int(slot)].liveCount > 0 else { return }
            drainAgain(Int(slot), releasesWhenEmpty: releasesWhenEmpty, state: &state)
        }
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

extension MemoryTypePool {
    /// Starts draining the type's sparsest page when committed memory is more than 10%
    /// over the live bytes and that page holds at most a quarter of the allocations its
    /// region would hold at the type's average density (`AllocatorOptions.drainsSparsePages`).
    /// Nothing moves: the page's free ranges are blocked, so only frees touch it, and the
    /// free that empties it releases it.
    ///
    /// Density counts allocations, not bytes (a page keeps no byte total): on a type whose
    /// sizes do not depend on the page they land in, as with any request stream the
    /// allocator spreads by fit, the two agree.
    /// - Complexity: O(pages), plus O(free ranges) when a drain starts.
    @inline(never)
    func startDrainingSparsestPage(state: inout State) {
        state.freesUntilSparseCheck = drainsSparsePages ? sparseCheckInterval : .max
        guard drainsSparsePages, !isLinear, !state.movesIncrementally, state.drainBlockers.isEmpty, state.active.count > 1,
              state.liveBytes / 10 * 11 < state.committedBytes,
              !state.active.contains(where: { state.pages[Int($0)].isDraining }) else { return }
        var sparsest: Int?
        var sparsestDensity = Double.infinity
        for slot in state.active.map(Int.init) {
            let page = state.pages[slot]
            guard page.liveCount > 0, !page.isReserved, !page.isBeingEmptied else { continue }
            let density = Double(page.liveCount) / Double(page.region)
            if density < sparsestDensity {
                sparsestDensity = density
                sparsest = slot
            }
        }
        let averageDensity = Double(state.liveCount) / Double(state.committedBytes)
        guard let slot = sparsest, sparsestDensity * 4 <= averageDensity else { return }
        state.pages[slot].isDraining = true
        state.pages[slot].releasesWhenEmpty = true
        state.drainBlockers[slot] = blockFreeRanges(of: slot, state: &state)
    }
}
