import CVulkan

extension MemoryTypePool {
    /// What `Allocator._checkInvariants()` needs of a pool once the pool has checked itself:
    /// the figures it compares across pools, with the ledger and with the allocator's own
    /// tables. Empty in release builds, where nothing is checked.
    struct InvariantSummary {
        /// Live pages: slots that hold memory.
        var pageCount = 0
        /// The sum of the live pages' memory sizes (equal to `committedBytes`: checked).
        var committedBytes: UInt64 = 0
        /// The live pages' `VkDeviceMemory` handles, in slot order.
        var pageMemories: [VkDeviceMemory] = []
        /// Live allocations whose record is pinned: the ranges of contiguous groups.
        var pinnedCount = 0
        /// Pages a defragmentation pass is emptying.
        var pagesBeingEmptied = 0
    }

    /// Checks every invariant of this pool under its lock and stops the program with a
    /// message naming the memory type (and custom pool), the slot and the offsets involved
    /// on the first one that fails. For tests; does nothing in release builds.
    ///
    /// The invariants, each checked below where it is named:
    /// 1. The arena passes its own `VirtualBlock._checkInvariants()`.
    /// 2. Shape: `pages`, `generations` and `fences` have one entry per slot opened so far,
    ///    at most `slotCount`; the rest fence exists exactly while a slot is left.
    /// 3. Fences tile the gaps between pages: a slot with a page has exactly one fence,
    ///    from the end of its region to the end of the slot; a released slot one fence
    ///    over the whole slot; the rest fence covers everything from slot `pages.count`
    ///    to the end of the arena. Each is marked `fenceMark`.
    /// 4. Every other marked arena allocation is a blocker of a defragmentation pass: it
    ///    lies in the region of a live page that `isBeingEmptied`. No arena allocation
    ///    carries a mark other than 0 (a user's) or `fenceMark`.
    /// 5. Every user allocation lies inside the region of a live page, has a record, and
    ///    on non-coherent memory starts and ends on a `nonCoherentAtomSize` boundary.
    /// 6. A live page: its handle is its memory's, the memory is not freed, is of this
    ///    type and heap, its region is its size rounded down to the granularity (at most
    ///    a slot); a custom pool's page has exactly the pool's page size. It is mapped
    ///    (`mappedBase` equal to the memory's mapping) exactly when the type is
    ///    host-visible. A page that is to be released once empty
    ///    (`releasesWhenEmpty`, a drained sparse page) is draining, holds allocations, and
    ///    belongs to a type's own pages.
    /// 7. A released slot holds no allocation, no mapping, and is neither reserved nor
    ///    being emptied.
    /// 8. Counters equal a recount: `liveCount`, `liveBytes`, each page's `liveCount`,
    ///    `emptyPageCount` (live pages that are `isRemovable`), `committedBytes` (the live
    ///    pages' memory sizes).
    /// 9. `active` is exactly the slots with memory and `freeSlots` exactly those without,
    ///    each slot once; a custom pool holds at most `maxPages`; a closed pool holds none.
    /// 10. Records of live allocations: a name is kept (`names`) exactly for the live
    ///    allocations whose record `isNamed`; a pinned record (a contiguous group's range)
    ///    is bound (its members are, by the batch that made the group); a resource
    ///    alignment is remembered only for a bound allocation, whose offset meets it.
    /// 11. Margins (`AllocatorOptions.debugMargin`): a range with a front margin is in a
    ///    pool that has margins; the front margin is a power of two, at least the pool's
    ///    margin, and keeps the range's placed alignment, so the allocation after it
    ///    starts aligned; the range holds both margins and at least one byte. A pool
    ///    without margins holds no range with one.
    /// 12. Aliases (`Allocator.createAliasingBuffer`): each list is non-empty and belongs
    ///    to a live user allocation; each alias lies inside that allocation; `aliasedCount`
    ///    counts the lists.
    ///
    /// A pool that never had a page is checked directly (its rest fence alone over the
    /// whole arena, every counter zero) rather than by the arena's full check.
    /// - Complexity: O(arena ranges + slots + the arena's size classes).
    func _checkInvariants() -> InvariantSummary {
        #if DEBUG
        return state.withLock { check($0) }
        #else
        return InvariantSummary()
        #endif
    }

    /// The record of a live user allocation of this pool (`slot` is its local page slot),
    /// or nil when it is not one. For the allocator's checker.
    func _liveRecord(of allocation: Allocation, slot: UInt32) -> AllocationRecord? {
        guard case let .page(_, generation, handle) = allocation.location else { return nil }
        return state.withLock { state -> AllocationRecord? in
            guard case let .success(placed) = pageOffset(of: handle, slot: slot, generation: generation,
                                                         memory: allocation.memory, state: state),
                  placed.offset == allocation.offset, placed.size == allocation.size,
                  Int(handle.index) < state.records.count else { return nil }
            return state.records[Int(handle.index)]
        }
    }

    #if DEBUG
    private var invariantContext: String {
        // Not the pool's name: that is read under the lock this check already holds.
        "memory type \(typeIndex)" + (isCustom ? " (custom pool \(slotTag >> MemoryTypePool.slotTagShift))" : "")
    }

    private func fail(_ message: String) -> Never {
        preconditionFailure("Allocator invariant broken: \(invariantContext): \(message)")
    }

    private func check(_ state: State) -> InvariantSummary {
        let arena = state.arena
        let stride = UInt64(1) << strideShift
        let slots = state.pages.count

        // A pool that never had a page (most memory types of a device) holds its rest fence
        // alone, over the whole arena, and nothing else: nothing but its creation has
        // touched the arena, so its full check (a fixed cost per size class) is skipped.
        if slots == 0 {
            if isLinear {
                guard arena.allocationCount == 0, state.restFence == nil, state.active.isEmpty, state.freeSlots.isEmpty,
                      state.liveCount == 0, state.liveBytes == 0, state.committedBytes == 0, state.emptyPageCount == 0,
                      state.names.isEmpty, state.aliases.isEmpty else {
                    fail("a linear pool without pages holds allocations")
                }
                return InvariantSummary()
            }
            guard let rest = state.restFence, arena.allocationCount == 1,
                  let range = try? arena.allocation(rest), range.offset == 0, range.size == arena.size,
                  state.active.isEmpty, state.freeSlots.isEmpty, state.liveCount == 0, state.liveBytes == 0,
                  state.committedBytes == 0, state.emptyPageCount == 0, state.names.isEmpty, state.aliases.isEmpty else {
                fail("a pool without pages holds more than its rest fence")
            }
            return InvariantSummary()
        }

        // 1. The arena itself.
        arena._checkInvariants()

        // 2. Shape. A linear pool has no fences, and its arena is its one page or its slots.
        guard state.generations.count == slots, state.fences.count == (isLinear ? 0 : slots) else {
            fail("\(slots) page slots, \(state.generations.count) generations, \(state.fences.count) fences")
        }
        guard slots <= slotCount else { fail("\(slots) page slots, the arena has \(slotCount)") }
        let expectedArena = isLinear && maxPages == 1 ? linearRegion : UInt64(slotCount) << strideShift
        guard arena.size == expectedArena else {
            fail("arena of \(arena.size) bytes for \(slotCount) slots of \(stride)")
        }
        guard (state.restFence == nil) == (isLinear || slots == slotCount) else {
            fail("rest fence \(state.restFence.map { "\($0)" } ?? "missing") with \(slots) of \(slotCount) slots open")
        }

        // 3. Each slot's fence, looked up directly, and the rest fence.
        func placed(_ handle: VirtualAllocationHandle, _ what: String) -> VirtualAllocation {
            do throws(VirtualBlockError) {
                let range = try arena.allocation(handle)
                guard try arena.userData(of: handle) == MemoryTypePool.fenceMark else {
                    fail("\(what) \(handle) at \(range.offset) is not marked as a fence")
                }
                return range
            } catch {
                fail("\(what) \(handle) is not in the arena: \(error)")
            }
        }
        var summary = InvariantSummary()
        var fenceHandles = Set<VirtualAllocationHandle>()
        for slot in 0..<slots {
            let base = base(of: slot)
            let page = state.pages[slot]
            let fence: VirtualAllocation? = isLinear ? nil : placed(state.fences[slot], "the fence of slot \(slot)")
            if !isLinear { fenceHandles.insert(state.fences[slot]) }
            if let memory = page.memory {
                // 6. A live page.
                guard page.handle == memory.handle else { fail("slot \(slot): page handle \(page.handle) is not its memory's") }
                guard !memory.isFreed else { fail("slot \(slot): the page's memory \(page.handle) was freed") }
                guard memory.memoryTypeIndex == typeIndex, memory.heapIndex == heapIndex else {
                    fail("slot \(slot): page memory of type \(memory.memoryTypeIndex), heap \(memory.heapIndex)")
                }
                guard page.region == memory.size / granularity * granularity, page.region > 0, page.region <= stride else {
                    fail("slot \(slot): region \(page.region) for a page of \(memory.size) bytes "
                         + "(granularity \(granularity), slot \(stride))")
                }
                if let fixedPageSize, memory.size != fixedPageSize {
                    fail("slot \(slot): a page of \(memory.size) bytes in a pool of pages of \(fixedPageSize)")
                }
                if flags.contains(.hostVisible) {
                    guard let mapped = page.mappedBase, mapped == memory.mappedPointer else {
                        fail("slot \(slot): host-visible page mapped at \(String(describing: page.mappedBase)), "
                             + "its memory at \(String(describing: memory.mappedPointer))")
                    }
                } else if page.mappedBase != nil {
                    fail("slot \(slot): a page of a type that is not host-visible is mapped")
                }
                guard fence.map({ $0.offset == base + page.region && $0.size == stride - page.region }) ?? true else {
                    fail("slot \(slot): fence at \(fence!.offset)+\(fence!.size), expected \(base + page.region)+"
                         + "\(stride - page.region) (region \(page.region))")
                }
                if page.releasesWhenEmpty, !(page.isDraining && page.liveCount > 0 && drainsSparsePages) {
                    fail("slot \(slot): to be released once empty, but draining \(page.isDraining) with "
                         + "\(page.liveCount) live (sparse draining \(drainsSparsePages ? "on" : "off"))")
                }
                summary.pageCount += 1
                summary.committedBytes += memory.size
                summary.pageMemories.append(page.handle)
                if page.isBeingEmptied { summary.pagesBeingEmptied += 1 }
            } else {
                // 7. A released slot.
                guard page.liveCount == 0, page.mappedBase == nil, !page.isReserved, !page.isBeingEmptied else {
                    fail("released slot \(slot): \(page.liveCount) live, mapped \(page.mappedBase != nil), "
                         + "reserved \(page.isReserved), being emptied \(page.isBeingEmptied)")
                }
                guard fence.map({ $0.offset == base && $0.size == stride }) ?? true else {
                    fail("released slot \(slot): fence at \(fence!.offset)+\(fence!.size), expected \(base)+\(stride)")
                }
            }
        }
        guard fenceHandles.count == (isLinear ? 0 : slots) else { fail("two slots share a fence") }
        if let rest = state.restFence {
            let range = placed(rest, "the rest fence")
            let start = UInt64(slots) << strideShift
            guard range.offset == start, range.size == arena.size - start else {
                fail("rest fence at \(range.offset)+\(range.size), expected \(start)+\(arena.size - start)")
            }
            fenceHandles.insert(rest)
        }

        // 4, 5, 10. One walk of the arena's allocations, recounting.
        var pageLive = [Int](repeating: 0, count: slots)
        var liveBytes: UInt64 = 0
        var liveCount = 0
        var named = 0
        var aliased = 0
        arena.forEachAllocation { offset, size, _, handle, mark in
            let slot = self.slot(of: offset)
            let local = offset - base(of: slot)
            switch mark {
            case MemoryTypePool.fenceMark:
                if fenceHandles.contains(handle) { return }
                guard slot < slots, state.pages[slot].memory != nil,
                      state.pages[slot].isBeingEmptied || state.pages[slot].isDraining,
                      local + size <= state.pages[slot].region else {
                    fail("arena allocation \(handle) at \(offset)+\(size) (slot \(slot), offset \(local)) is marked "
                         + "as a fence but is neither a slot's fence nor a blocker of a page being emptied or drained")
                }
            case 0:
                guard slot < slots, state.pages[slot].memory != nil, local + size <= state.pages[slot].region else {
                    fail("allocation \(handle) at slot \(slot), offset \(local), size \(size) lies outside a live "
                         + "page's region")
                }
                guard atom == 1 || (local % atom == 0 && size % atom == 0) else {
                    fail("allocation \(handle) at slot \(slot), offset \(local), size \(size) does not own whole atoms "
                         + "of \(atom)")
                }
                let index = Int(handle.index)
                guard index < state.records.count else { fail("allocation \(handle) at slot \(slot), offset \(local) has no record") }
                let record = state.records[index]
                guard record.isNamed == (state.names[handle.index] != nil) else {
                    fail("allocation \(handle) at slot \(slot), offset \(local): isNamed \(record.isNamed) but name "
                         + "\(String(describing: state.names[handle.index]))")
                }
                if record.isNamed { named += 1 }
                // 11. Margins.
                let front = record.frontMargin
                if front != 0 {
                    // A linear pool places a request that moves on to its next page with
                    // the page stride as alignment, which says nothing of the request's.
                    let placedAlignment = (try? arena.alignment(of: handle)) ?? 1
                    let alignment = isLinear && placedAlignment == UInt64(1) << strideShift ? 1 : placedAlignment
                    guard debug.margin != 0, front & (front - 1) == 0, front >= debug.margin, front % alignment == 0,
                          size > front + debug.margin else {
                        fail("allocation \(handle) at slot \(slot), offset \(local), size \(size): front margin \(front), "
                             + "pool margin \(debug.margin), placed alignment \(alignment)")
                    }
                }
                let user = userRegion(offset: local, size: size, record: record)
                // 12. Aliases.
                if let aliases = state.aliases[handle.index] {
                    guard !aliases.isEmpty, aliases.allSatisfy({ $0.offset <= user.size && $0.size <= user.size - $0.offset })
                    else {
                        fail("allocation \(handle) at slot \(slot), offset \(user.offset), size \(user.size): aliases "
                             + "\(aliases) do not lie inside it")
                    }
                    aliased += 1
                }
                let boundAlignment = UInt64(1) << UInt64(record.boundAlignmentLog2)
                guard record.boundAlignmentLog2 == 0 || (record.isBound && user.offset % boundAlignment == 0) else {
                    fail("allocation \(handle) at slot \(slot), offset \(local): bound \(record.isBound) with a "
                         + "resource alignment of \(boundAlignment)")
                }
                if record.isPinned {
                    guard record.isBound else { fail("pinned allocation \(handle) at slot \(slot), offset \(local) is not bound") }
                    summary.pinnedCount += 1
                }
                pageLive[slot] += 1
                liveBytes += size
                liveCount += 1
            default:
                fail("arena allocation \(handle) at \(offset) carries mark \(mark)")
            }
        }
        guard aliased == state.aliases.count, state.aliasedCount == aliased else {
            fail("\(state.aliases.count) alias lists (aliasedCount \(state.aliasedCount)) kept for \(aliased) live "
                 + "aliased allocations")
        }
        guard named == state.names.count else {
            fail("\(state.names.count) names kept for \(named) live named allocations")
        }

        // 8. Counters.
        guard liveCount == state.liveCount, liveBytes == state.liveBytes else {
            fail("\(liveCount) allocations of \(liveBytes) bytes by recount, \(state.liveCount) of \(state.liveBytes) kept")
        }
        var empty = 0
        for slot in 0..<slots where state.pages[slot].memory != nil {
            guard pageLive[slot] == state.pages[slot].liveCount else {
                fail("slot \(slot): \(pageLive[slot]) allocations by recount, liveCount \(state.pages[slot].liveCount)")
            }
            if state.pages[slot].isRemovable { empty += 1 }
        }
        guard empty == state.emptyPageCount else { fail("\(empty) removable pages, emptyPageCount \(state.emptyPageCount)") }
        guard summary.committedBytes == state.committedBytes else {
            fail("pages of \(summary.committedBytes) bytes, committedBytes \(state.committedBytes)")
        }

        // 9. Active and free slots.
        var seen = [Bool](repeating: false, count: slots)
        for slot in state.active {
            guard Int(slot) < slots, !seen[Int(slot)], state.pages[Int(slot)].memory != nil else {
                fail("active lists slot \(slot), which is out of range, listed twice or without a page")
            }
            seen[Int(slot)] = true
        }
        guard state.active.count == summary.pageCount else {
            fail("\(state.active.count) active slots, \(summary.pageCount) pages")
        }
        for slot in state.freeSlots {
            guard Int(slot) < slots, !seen[Int(slot)], state.pages[Int(slot)].memory == nil else {
                fail("freeSlots lists slot \(slot), which is out of range, listed twice or holds a page")
            }
            seen[Int(slot)] = true
        }
        guard state.active.count + state.freeSlots.count == slots else {
            fail("\(state.active.count) active and \(state.freeSlots.count) free slots of \(slots)")
        }
        guard state.active.count <= maxPages else { fail("\(state.active.count) pages, at most \(maxPages) allowed") }
        guard !state.isClosed || state.active.isEmpty else { fail("a closed pool holds \(state.active.count) pages") }

        return summary
    }
    #endif
}
