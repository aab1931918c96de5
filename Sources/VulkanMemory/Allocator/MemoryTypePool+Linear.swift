/// A custom pool with the linear algorithm (`PoolAlgorithm.linear`, VMA's
/// `VMA_POOL_CREATE_LINEAR_ALGORITHM_BIT`).
///
/// Its arena is a linear `VirtualBlock` in `.automatic` mode, so one pool serves every
/// pattern VMA's linear algorithm does, as the calls come: free-at-once (memory comes back
/// when the last allocation goes), stack (the newest freed first), double stack (a second
/// stack from the end, `AllocationOptions.upperAddress`) and ring buffer (the oldest freed
/// first, new allocations wrapping to the start). Allocating and freeing are O(1).
///
/// The arena has no fences, since a linear block places ranges only at its ends:
/// - a pool of one page (`maxPages == 1`, required for a double stack or a ring buffer,
///   as in VMA) has an arena of exactly that page, so the ends are the page's;
/// - a larger pool's pages follow one another slot by slot. A request that does not fit
///   what is left of the top page is placed again at the next slot's base (an alignment
///   of one slot), and that slot gets a page: the range between the two is a hole of the
///   linear block that comes back once everything above it is freed, like any hole.
///   Empty pages beyond one go back to the driver as they empty, since the arena moves on
///   to new slots rather than returning to old ones until it empties.
extension MemoryTypePool {
    /// The page region of every page of a linear pool: its page size in whole
    /// granularity pages.
    var linearRegion: UInt64 { (fixedPageSize ?? preferredPageSize) / granularity * granularity }

    /// Places a range in a linear pool; a new page when the top one has no room and the
    /// pool may grow. On any failure the arena is as it was.
    /// - Complexity: O(1): at most two placements at an end of the arena and one
    ///   `vkAllocateMemory`.
    func allocateLinear(size: UInt64, alignment: UInt64, kind: SuballocationKind, upperAddress: Bool,
                        growth: PageGrowth, mapped: Bool, name: String?, record: AllocationRecord,
                        state: inout State) throws(AllocationError) -> Allocation {
        // `size` already holds the margins, if any (`allocate` added them).
        let debugging = debug.isActive
        let placedSize = size
        var placed = try placeLinear(size: placedSize, alignment: alignment, kind: kind, upperAddress: upperAddress,
                                     state: &state)
        if !fitsLinearPage(placed, state: state) {
            // The top page has no room: the next slot, from its base.
            undoLinear(placed, state: &state)
            let stride = UInt64(1) << strideShift
            placed = try placeLinear(size: placedSize, alignment: max(alignment, stride), kind: kind,
                                     upperAddress: upperAddress, state: &state)
            guard fitsLinearPage(placed, state: state) else {
                undoLinear(placed, state: &state)
                throw linearFull(size: placedSize, state: state)
            }
        }
        let slot = self.slot(of: placed.offset)
        var startedPage = false
        if slot >= state.pages.count || state.pages[slot].memory == nil {
            do throws(AllocationError) {
                if !growth.allowed {
                    throw .outOfMemory(size: placedSize, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                                       reason: "pool '\(state.name ?? "")' needs a new page and the allocation may "
                                           + "not make one (neverAllocate)")
                }
                _ = try addPage(state: &state, needed: linearRegion, exactSize: fixedPageSize, requiredSlot: slot,
                                withinBudget: growth.withinBudget)
                startedPage = true
            } catch {
                undoLinear(placed, state: &state)
                throw error
            }
        }
        var allocation = debugging ? finishDebug(placed, state: &state, mapped: mapped, name: name, record: record)
            : finish(placed, state: &state, mapped: mapped, name: name, record: record)
        allocation.startedPage = startedPage
        return allocation
    }

    /// One placement at an end of the linear arena.
    private func placeLinear(size: UInt64, alignment: UInt64, kind: SuballocationKind, upperAddress: Bool,
                             state: inout State) throws(AllocationError) -> VirtualAllocation {
        do throws(VirtualBlockError) {
            return try state.arena.allocate(size: size, alignment: alignment, kind: kind, upperAddress: upperAddress)
        } catch {
            if case .outOfRoom = error { throw linearFull(size: size, state: state) }
            // Sizes and alignments were validated by the request: nothing else can fail.
            throw .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                               reason: "pool '\(state.name ?? "")' refused the placement: \(error)")
        }
    }

    /// Takes back a placement that did not fit: it is the newest range at its end of the
    /// arena, so the block is as before.
    private func undoLinear(_ placed: VirtualAllocation, state: inout State) {
        do throws(VirtualBlockError) { try state.arena.free(placed.handle) } catch {
            preconditionFailure("pool '\(state.name ?? "")': the range just placed must free: \(error)")
        }
    }

    /// Whether a placement lies inside one page's region: the live page of its slot, or
    /// the page that slot would get.
    private func fitsLinearPage(_ placed: VirtualAllocation, state: State) -> Bool {
        let slot = self.slot(of: placed.offset)
        guard slot < slotCount, slot <= state.pages.count else { return false }
        let region = slot < state.pages.count && state.pages[slot].memory != nil ? state.pages[slot].region : linearRegion
        return placed.offset - base(of: slot) + placed.size <= region
    }

    private func linearFull(size: UInt64, state: State) -> AllocationError {
        .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                     reason: "linear pool '\(state.name ?? "")' has no room for \(size) bytes at the ends of its "
                         + (maxPages == 1 ? "page" : "\(maxPages) pages")
                         + "; freed ranges between live ones come back only once those beside them are freed")
    }

    /// Puts a new page at `slot` (the next free one when nil), with no fence to move;
    /// returns its slot.
    func installLinearPage(_ page: Page, at slot: Int?, state: inout State) -> UInt32 {
        let slot = slot ?? (state.freeSlots.min().map(Int.init) ?? state.pages.count)
        if slot < state.pages.count {
            state.freeSlots.removeAll { $0 == UInt32(slot) }
            state.pages[slot] = page
        } else {
            state.pages.append(page)
            state.generations.append(generationBase)
        }
        return UInt32(slot)
    }

    /// The free ranges of a linear pool's pages: the arena's free ranges cut to the
    /// regions of live pages (the rest of the arena has no memory behind it).
    /// - Complexity: O(arena ranges + pages).
    func forEachLinearPageFreeRange(_ state: State, _ body: (_ slot: Int, _ offset: UInt64, _ size: UInt64) -> Void) {
        state.arena.forEachFreeRange { offset, size in
            var start = offset
            let end = offset + size
            while start < end {
                let slot = self.slot(of: start)
                guard slot < state.pages.count else { return }
                let base = base(of: slot)
                let next = base + (UInt64(1) << strideShift)
                if slot < state.pages.count, state.pages[slot].memory != nil {
                    let regionEnd = base + state.pages[slot].region
                    if start < regionEnd { body(slot, start - base, min(end, regionEnd) - start) }
                }
                start = next
            }
        }
    }
}
