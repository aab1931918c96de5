import CVulkan

extension MemoryTypePool {
    /// Places a range in the best-fitting free range of any page, or in a new page.
    ///
    /// - Complexity: O(1): one TLSF search of the arena covers every page; a new page
    ///   costs one `vkAllocateMemory` (made while holding this type's lock only) and
    ///   a search of the few free ranges of fence size to move its fences.
    /// Takes the few plain fields of `AllocationOptions` it needs rather than the options
    /// themselves: copying those (a name, a dedicated target) into the locked closure
    /// cost reference counting on every allocation.
    /// `growth` says whether a new page may be made for the request, and under which budget.
    func allocate(size: UInt64, alignment: UInt64, kind: SuballocationKind, strategy: AllocationStrategy,
                  mapped: Bool, name: String?, record: AllocationRecord,
                  upperAddress: Bool = false, growth: PageGrowth = PageGrowth()) throws(AllocationError) -> Allocation {
        // On non-coherent memory each allocation owns whole atoms; a custom pool may ask
        // for more (`PoolOptions.minAlignment`).
        let alignment = max(alignment, alignmentFloor)
        var size = atom > 1 ? (size + atom - 1) / atom * atom : size
        // The debugging options' one branch: with margins, the range placed is the
        // allocation and both margins (`placedSize`), and `finishDebug` fills them.
        let debugging = debug.isActive
        var record = record
        if debugging { size = placedSize(size, alignment: alignment, record: &record) }
        return try state.withLock { (state: inout State) throws(AllocationError) -> Allocation in
            if isCustom, state.isClosed { throw destroyedPoolError(size: size, state: state) }
            if isLinear {
                return try allocateLinear(size: size, alignment: alignment, kind: kind, upperAddress: upperAddress,
                                          growth: growth, mapped: mapped, name: name, record: record,
                                          state: &state)
            }
            if let placed = try? state.arena.allocateIfRoom(size: size, alignment: alignment, kind: kind,
                                                            strategy: strategy) {
                return debugging ? finishDebug(placed, state: &state, mapped: mapped, name: name, record: record)
                    : finish(placed, state: &state, mapped: mapped, name: name, record: record)
            }
            // The most a request can need in a fresh region: its alignment's and the
            // granularity's worst cases, as the arena's own search counts them.
            let needed = size + max(alignment, granularity) - 1 + (granularity - 1)
            // Draining pages give their room back before a new page is made for it, or a
            // request that may make none is refused.
            if !state.drainBlockers.isEmpty, let (placed, released) = placeInDrainingPages(state: &state, { state in
                try? state.arena.allocateIfRoom(size: size, alignment: alignment, kind: kind, strategy: strategy)
            }) {
                var allocation = debugging ? finishDebug(placed, state: &state, mapped: mapped, name: name, record: record)
                    : finish(placed, state: &state, mapped: mapped, name: name, record: record)
                allocation.endedDrain = released ? .releasedWhenEmpty : .keptWhenEmpty
                return allocation
            }
            guard growth.allowed else { throw noGrowthError(size: size, state: state) }
            let slot = Int(try addPage(state: &state, needed: needed, withinBudget: growth.withinBudget))
            guard let placed = try? state.arena.allocateIfRoom(size: size, alignment: alignment, kind: kind,
                                                               strategy: strategy),
                  self.slot(of: placed.offset) == slot else {
                preconditionFailure("a new page of at least \(needed) bytes must take a request of \(size) bytes")
            }
            var allocation = debugging ? finishDebug(placed, state: &state, mapped: mapped, name: name, record: record)
                : finish(placed, state: &state, mapped: mapped, name: name, record: record)
            allocation.startedPage = true
            return allocation
        }
    }

    /// The refusal of an allocation from a custom pool that was destroyed; built out of
    /// line so that `allocate` carries no message text.
    @inline(never)
    func destroyedPoolError(size: UInt64, state: State) -> AllocationError {
        .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                     reason: "pool '\(state.name ?? "")' was destroyed")
    }

    /// The refusal of a `neverAllocate` request that no existing page has room for.
    @inline(never)
    func noGrowthError(size: UInt64, state: State) -> AllocationError {
        .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                     reason: "neverAllocate: no existing page of "
                         + (state.name.map { "pool '\($0)'" } ?? "memory type \(typeIndex)")
                         + " has room, and no new page may be made")
    }

    /// Records a placed range and builds its `Allocation`, with its host address when
    /// `wantsMapping` and the page is host-visible (every such page is mapped when made);
    /// on a type that is not host-visible the wish is ignored, as VMA ignores
    /// `VMA_ALLOCATION_CREATE_MAPPED_BIT` there.
    func finish(_ placed: VirtualAllocation, state: inout State, mapped wantsMapping: Bool, name: String?,
                record: AllocationRecord) -> Allocation {
        let slot = self.slot(of: placed.offset)
        let offset = placed.offset - base(of: slot)
        let mapped = wantsMapping ? state.pages[slot].mappedBase.map { $0 + Int(offset) } : nil
        if state.pages[slot].isRemovable { state.emptyPageCount -= 1 }
        state.pages[slot].liveCount += 1
        state.remember(placed.handle, record, name: name)
        state.liveBytes += placed.size
        state.liveCount += 1
        return Allocation(memory: state.pages[slot].handle, offset: offset, size: placed.size,
                          memoryTypeIndex: typeIndex, mappedPointer: mapped,
                          location: .page(slot: UInt32(slot) | slotTag, generation: state.generations[slot],
                                          handle: placed.handle))
    }

    /// A host-visible page's base address: mapped once, when the page was made, and kept
    /// mapped until it is released.
    ///
    /// Mapping when the page is made, under the pool's lock and before any allocation of
    /// it exists, is what makes mapping thread-safe: Vulkan requires `vkMapMemory` on a
    /// `VkDeviceMemory` to be externally synchronized with every other use of it, such as
    /// a `vkBindBufferMemory` another thread makes to the same page without this lock
    /// (the validation layer's `UNASSIGNED-Threading-MultipleThreads`).
    func mappedBase(of page: Page) throws(AllocationError) -> UnsafeMutableRawPointer {
        guard page.memory != nil else { throw .alreadyFreed }
        guard let base = page.mappedBase else { throw .memory(.notHostVisible(typeIndex: typeIndex, flags: flags)) }
        return base
    }

    /// Why page `slot` (generation `generation`, memory `memory`) is not a live page of
    /// this pool; nil when it is.
    @inline(__always)
    func pageError(slot: UInt32, generation: UInt32, memory: VkDeviceMemory, state: State) -> AllocationError? {
        let index = Int(slot)
        guard index < state.pages.count, state.generations[index] == generation, state.pages[index].memory != nil else {
            // The page was released: the allocation was freed before, or is not ours.
            return index < state.generations.count && state.generations[index] > generation
                ? .alreadyFreed : .unknownAllocation
        }
        // The same slot numbers in another allocator must not reach this page.
        return state.pages[index].handle == memory ? nil : .unknownAllocation
    }

    /// The page-relative offset of a live allocation of page `slot` (generation
    /// `generation`, memory `memory`), or the reason it is not one.
    func pageOffset(of handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
                    state: State) -> Result<(offset: UInt64, size: UInt64), AllocationError> {
        if let error = pageError(slot: slot, generation: generation, memory: memory, state: state) {
            return .failure(error)
        }
        let index = Int(slot)
        let placed: VirtualAllocation
        do throws(VirtualBlockError) {
            placed = try state.arena.allocation(handle)
        } catch {
            if case .staleHandle = error { return .failure(.alreadyFreed) }
            return .failure(.unknownAllocation)
        }
        // A handle of another page, or a fence, is not this page's allocation.
        let base = base(of: index)
        guard self.slot(of: placed.offset) == index, placed.offset - base < state.pages[index].region else {
            return .failure(.unknownAllocation)
        }
        // With margins, the allocation is the range less them.
        if debug.margin != 0, state.records[Int(handle.index)].frontMarginLog2 != 0 {
            return .success(userRegion(offset: placed.offset - base, size: placed.size,
                                       record: state.records[Int(handle.index)]))
        }
        return .success((placed.offset - base, placed.size))
    }

    /// Creates a page big enough for `needed` bytes, retrying at 1/2, 1/4 and 1/8 of the
    /// planned size when the driver refuses, moves the arena's fences to open its
    /// region, and returns its slot. The page counts as empty.
    /// - Parameters:
    ///   - requiredSlot: the slot the page must take (a linear pool's next page goes where
    ///     its arena placed the request); any free slot when nil.
    ///   - withinBudget: checks the heap's budget for the page even where the allocator
    ///     does not respect budgets (`AllocationOptions.withinBudget`).
    func addPage(state: inout State, needed: UInt64, exactSize: UInt64? = nil,
                 requiredSlot: Int? = nil, withinBudget: Bool = false) throws(AllocationError) -> UInt32 {
        guard !state.freeSlots.isEmpty || state.pages.count < slotCount else {
            throw .tooManyAllocations(limit: UInt32(slotCount))
        }
        if isCustom, state.active.count >= maxPages {
            throw .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                               reason: "pool '\(state.name ?? "")' holds its maximum of \(maxPages) pages")
        }
        let fixed = exactSize ?? fixedPageSize
        let grown = state.movesIncrementally
            ? MemoryTypePool.drainedPageSize(preferred: preferredPageSize, needed: needed)
            : MemoryTypePool.nextPageSize(committed: state.committedBytes, live: state.liveBytes,
                                          preferred: preferredPageSize, needed: needed)
        let planned = fixed ?? min(grown, heapSize)
        // The arena region is the size rounded down to the granularity: it must hold `needed`.
        func regionHolds(_ size: UInt64) -> Bool { size / granularity * granularity >= needed }
        guard regionHolds(planned) else {
            if isCustom, exactSize == nil {
                throw .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex, available: planned,
                                   reason: "pool '\(state.name ?? "")' has pages of \(planned) bytes")
            }
            throw .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex, available: heapSize,
                               reason: "the request is larger than the heap")
        }
        var size = planned
        var lastError: AllocationError?
        while regionHolds(size) {
            do throws(AllocationError) {
                let memory = try ledger.allocate(size: size, typeIndex: typeIndex, heapIndex: heapIndex,
                                                 priority: pagePriority, withinBudget: withinBudget,
                                                 exportHandleTypes: exportHandleTypes)
                var page = Page(memory: memory, region: size / granularity * granularity)
                if flags.contains(.hostVisible) {
                    do { page.mappedBase = try memory.map().baseAddress } catch {
                        ledger.release(memory)
                        throw .memory(error)
                    }
                }
                let slot: UInt32
                if isLinear {
                    slot = installLinearPage(page, at: requiredSlot, state: &state)
                } else if let reused = state.freeSlots.popLast() {
                    slot = reused
                    state.pages[Int(slot)] = page
                    openSlot(Int(slot), region: page.region, state: &state)
                } else {
                    slot = UInt32(state.pages.count)
                    state.pages.append(page)
                    state.generations.append(generationBase)
                    openNewSlot(Int(slot), region: page.region, state: &state)
                }
                state.active.append(slot)
                state.emptyPageCount += 1
                state.committedBytes += size
                return slot
            } catch {
                lastError = error
                // Only a driver refusal is worth retrying smaller.
                guard fixed == nil, case .outOfMemory = error, regionHolds(size / 2), size > 1 << 20 else { break }
                size /= 2
                if planned / size > 8 { break }
            }
        }
        throw lastError ?? .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex,
                                         available: 0, reason: "no page could be created")
    }

    /// Opens slot `pages.count - 1`, which the rest fence covered: the fence moves above
    /// the slot and a new fence covers the slot beyond the page's region.
    private func openNewSlot(_ slot: Int, region: UInt64, state: inout State) {
        let base = base(of: slot)
        let arenaSize = state.arena.size
        place { () throws(VirtualBlockError) in
            if let rest = state.restFence { try state.arena.free(rest) }
            state.restFence = nil
            let next = base + (UInt64(1) << strideShift)
            if next < arenaSize { state.restFence = try fence(at: next, size: arenaSize - next, state: &state) }
            state.fences.append(try fence(at: base + region, size: next - base - region, state: &state))
        }
    }

    /// Opens a released slot, whose fence covered all of it, for a page's region.
    private func openSlot(_ slot: Int, region: UInt64, state: inout State) {
        let base = base(of: slot)
        place { () throws(VirtualBlockError) in
            try state.arena.free(state.fences[slot])
            let next = base + (UInt64(1) << strideShift)
            state.fences[slot] = try fence(at: base + region, size: next - base - region, state: &state)
        }
    }

    /// Closes an empty page's slot: one fence covers all of it again.
    private func closeSlot(_ slot: Int, state: inout State) {
        let base = base(of: slot)
        place { () throws(VirtualBlockError) in
            try state.arena.free(state.fences[slot])
            state.fences[slot] = try fence(at: base, size: UInt64(1) << strideShift, state: &state)
        }
    }

    /// A fence: an arena allocation that is no user's, marked so.
    func fence(at offset: UInt64, size: UInt64, kind: SuballocationKind = .unknown,
               state: inout State) throws(VirtualBlockError) -> VirtualAllocationHandle {
        try state.arena.allocate(at: offset, size: size, kind: kind, userData: MemoryTypePool.fenceMark).handle
    }

    /// Runs fence moves, which cannot fail while the arena keeps its layout: every page
    /// region and slot is where the fences say, so a failure here is a bug.
    func place(_ moves: () throws(VirtualBlockError) -> Void) {
        do { try moves() } catch {
            preconditionFailure("memory type \(typeIndex): the arena's fences are out of place: \(error)")
        }
    }

    /// Frees a range; returns a page's memory to release when the free left more wholly
    /// free pages than `keepEmpty`, and whether it left a page wholly free that stays
    /// (for `EmptyPagePolicy.keepWithinBudget`, which the allocator applies then).
    ///
    /// Inlined into `Allocator.free`, as before the debugging options and aliases existed;
    /// their work is out of line (`freeDebug`, `refuseIfAliased`).
    @inline(__always)
    func free(slot: UInt32, generation: UInt32, handle: VirtualAllocationHandle, memory: VkDeviceMemory,
              offset: UInt64, keepEmpty: Int) throws(AllocationError) -> FreeOutcome {
        // The debugging options' one branch on the free path.
        if debug.isActive {
            return try freeDebug(slot: slot, generation: generation, handle: handle, memory: memory, offset: offset,
                                 keepEmpty: keepEmpty)
        }
        return try state.withLock { (state: inout State) throws(AllocationError) -> FreeOutcome in
            if let error = pageError(slot: slot, generation: generation, memory: memory, state: state) { throw error }
            // Aliasing resources outlive no allocation: refused, the allocation stays live.
            if state.aliasedCount != 0 {
                try refuseIfAliased(handle, slot: slot, generation: generation, memory: memory, offset: offset,
                                    state: state)
            }
            let index = Int(slot)
            // The handle must still mean the allocation at this offset of this page (not
            // a fence, nor an allocation of another page).
            let freed: UInt64?
            do throws(VirtualBlockError) {
                freed = try state.arena.free(handle, at: base(of: index) + offset)
            } catch {
                if case .staleHandle = error { throw .alreadyFreed }
                throw .unknownAllocation
            }
            guard let freed else { throw .unknownAllocation }
            return settleFreed(handle, size: freed, slot: index, keepEmpty: keepEmpty, state: &state)
        }
    }

    /// What a free left behind: the memory of a page to release now, or whether the
    /// page it emptied stays.
    typealias FreeOutcome = (released: DeviceMemory?, keptEmptyPage: Bool)

    /// `forgetFreed`, then the page's removal when it emptied beyond `keepEmpty`.
    ///
    /// `keepEmpty` of `Int.max` keeps every page: the frees that undo a failed call (and a
    /// custom pool's, whose pages never drain). Those count towards no look for a sparse
    /// page: one started there could pick a page the failed call had just placed in, a
    /// page kept empty before the call, and the undoing free would release it, so the
    /// call would fail with a page fewer than it found.
    @inline(__always)
    func settleFreed(_ handle: VirtualAllocationHandle, size: UInt64, slot: Int, keepEmpty: Int,
                     state: inout State) -> FreeOutcome {
        let page = forgetFreed(handle, size: size, slot: slot, state: &state)
        guard page != .stillInUse else {
            if keepEmpty != .max {
                state.freesUntilSparseCheck &-= 1
                if state.freesUntilSparseCheck == 0 { startDrainingSparsestPage(state: &state) }
            }
            return (nil, false)
        }
        return settleEmptied(slot: slot, page, keepEmpty: keepEmpty, state: &state)
    }

    /// `settleFreed` for a free that emptied its page: the page goes when it drained or
    /// the policy keeps no more. Out of line, so the common free stays small enough to be
    /// inlined into `Allocator.free` (callgrind: 39 instructions a free otherwise).
    @inline(never)
    func settleEmptied(slot: Int, _ page: PageAfterFree, keepEmpty: Int, state: inout State) -> FreeOutcome {
        guard page == .drained || state.emptyPageCount > keepEmpty else { return (nil, true) }
        return (removePage(slot: UInt32(slot), state: &state), false)
    }

    /// What a free left of its page.
    enum PageAfterFree {
        /// Allocations remain.
        case stillInUse
        /// Empty (and counted so): kept or released as the empty-page policy says.
        case emptied
        /// Empty, and a drained sparse page: released whatever the policy says.
        case drained
    }

    /// The bookkeeping after the arena freed `handle` (`size` bytes) of page `slot`.
    @inline(__always)
    func forgetFreed(_ handle: VirtualAllocationHandle, size: UInt64, slot: Int,
                     state: inout State) -> PageAfterFree {
        state.forget(handle)
        state.liveBytes -= size
        state.liveCount -= 1
        state.pages[slot].liveCount -= 1
        // Only a draining page can be a drained sparse page; the free that empties it ends
        // the drain, which clears the flag, so it is read first.
        var drainedSparse = false
        if state.pages[slot].isDraining {
            drainedSparse = state.pages[slot].releasesWhenEmpty
            drainFreed(slot: slot, state: &state)
        }
        guard state.pages[slot].isRemovable else { return .stillInUse }
        return countEmptied(drainedSparse: drainedSparse, state: &state)
    }

    /// `forgetFreed` for a page the free left empty, counted.
    @inline(never)
    func countEmptied(drainedSparse: Bool, state: inout State) -> PageAfterFree {
        state.emptyPageCount += 1
        return drainedSparse ? .drained : .emptied
    }

    /// Creates a page sized to a group and places each member at its layout offset, with
    /// its own alignment kept for later moves; on any failure the page is released again,
    /// nothing has changed and the failure is thrown.
    func allocatePrivatePage(layout: GroupLayout, members: [MemoryRequirements], options: AllocationOptions,
                             records: [AllocationRecord], names: [String?]) throws(AllocationError) -> [Allocation] {
        // Whole granularity pages, so the fence above the region is never a neighbour
        // in the granularity sense.
        let pageSize = (layout.size + granularity - 1) / granularity * granularity
        let (outcome, released) = try state.withLock {
            (state: inout State) throws(AllocationError) -> (Result<[Allocation], AllocationError>, DeviceMemory?) in
            let slot = Int(try addPage(state: &state, needed: pageSize, exactSize: pageSize))
            let base = base(of: slot)
            var placed: [Allocation] = []
            for index in layout.offsets.indices {
                do throws(AllocationError) {
                    let range: VirtualAllocation
                    do throws(VirtualBlockError) {
                        range = try state.arena.allocate(at: base + layout.offsets[index], size: layout.sizes[index],
                                                         alignment: max(members[index].alignment, atom, 1),
                                                         kind: members[index].kind)
                    } catch {
                        throw AllocationError.groupTooLarge(size: layout.size, typeIndex: typeIndex, maximum: pageSize)
                    }
                    let member = finish(range, state: &state, mapped: options.mapped, name: names[index],
                                        record: records[index])
                    // Members of a private page get no margins (as a group's members), but the
                    // new pattern when asked.
                    placed.append(debug.isActive ? prepare(member, record: records[index], state: state) : member)
                } catch {
                    for allocation in placed {
                        if case let .page(_, _, handle) = allocation.location,
                           let size = try? state.arena.free(handle, at: base + allocation.offset) {
                            _ = forgetFreed(handle, size: size, slot: slot, state: &state)
                        }
                    }
                    return (.failure(error), removePage(slot: UInt32(slot), state: &state))
                }
            }
            return (.success(placed), nil)
        }
        if let released { ledger.release(released) }
        return try outcome.get()
    }

    /// Removes one page if it is still the same page and wholly free.
    func takeEmptyPage(slot: UInt32, generation: UInt32) -> DeviceMemory? {
        state.withLock { state in
            guard Int(slot) < state.pages.count, state.generations[Int(slot)] == generation,
                  state.pages[Int(slot)].memory != nil, state.pages[Int(slot)].isRemovable else { return nil }
            return removePage(slot: slot, state: &state)
        }
    }

    /// The pages alive now, as slot and generation (a slot alone may be reused by another
    /// thread meanwhile), to tell later which pages a call added.
    func activePages() -> Set<UInt64> {
        state.withLock { state in Set(state.active.map { UInt64($0) << 32 | UInt64(state.generations[Int($0)]) }) }
    }

    /// Removes the wholly free pages that are not in `kept` (pages a failed call added)
    /// and returns their memory for release.
    func takeEmptyPages(notIn kept: Set<UInt64>) -> [DeviceMemory] {
        state.withLock { state in
            let added = state.active.filter {
                !kept.contains(UInt64($0) << 32 | UInt64(state.generations[Int($0)]))
                    && state.pages[Int($0)].isRemovable
            }
            return added.map { removePage(slot: $0, state: &state) }
        }
    }

    /// Removes every wholly free page and returns their memory for release.
    func takeEmptyPages() -> [DeviceMemory] { takeEmptyPages(notIn: []) }

    /// Closes an empty page's slot and returns its memory for release.
    func removePage(slot: UInt32, state: inout State) -> DeviceMemory {
        let index = Int(slot)
        let memory = state.pages[index].memory!
        // A linear arena has no fences: its empty page's range is simply free.
        if !isLinear { closeSlot(index, state: &state) }
        state.pages[index].memory = nil
        state.pages[index].mappedBase = nil
        state.generations[index] &+= 1
        state.freeSlots.append(slot)
        state.active.removeAll { $0 == slot }
        state.emptyPageCount -= 1
        state.committedBytes -= memory.size
        return memory
    }
}
