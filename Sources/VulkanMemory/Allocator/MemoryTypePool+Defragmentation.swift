import CVulkan

/// A page that a defragmentation pass empties, with the fences that block its free
/// ranges until the pass ends.
struct EmptiedPage {
    let slot: UInt32
    let generation: UInt32
    let blockers: [VirtualAllocationHandle]
}

extension MemoryTypePool {
    /// Plans moves that empty the least-used pages of this type into the holes of the
    /// others, within the budgets, and reserves their destinations.
    ///
    /// Pages are tried from the least used up (ties by slot); a page gives or receives in a
    /// pass, never both (a page that gave part of its allocations stays blocked until the
    /// plan ends, so a page emptied later does not fill it again), and pages holding a
    /// pinned range (a contiguous group) or reserved ones give none. For each page every allocation is
    /// placed elsewhere (as `algorithm` says); when all find a place and the budgets hold
    /// them all, the page is emptied: its free ranges are blocked so nothing else is
    /// placed there before the pass ends. Otherwise the page gives what fits the budgets
    /// (all algorithms when every allocation found a place, `.full` and `.extensive`
    /// also when some did not), but only to pages ranking above it (more used, or as
    /// used and a higher slot), and the next page is tried.
    ///
    /// Why this converges on a scene that only the passes change: a pass that empties a
    /// page takes one page away; any other pass moves bytes only from a page to one
    /// ranking above it, which raises the sum of the squares of the pages' used bytes
    /// (moving `s` bytes from `a` to `b >= a` adds `2s(b - a) + 2s^2 > 0`). Pages only
    /// decrease and, for a page count, the sum only rises and takes finitely many
    /// values, so passes end with one that moves nothing.
    ///
    /// `shouldStop` is asked before each page and before each move of a page given in
    /// part; once it answers true the plan ends with what it has (VMA's
    /// `pfnBreakCallback`). It runs under this type's lock.
    /// - Complexity: O(ranges of the type) to survey the pages and, per page tried, one
    ///   more walk for its holes; one TLSF search per placement (`.extensive` retries a
    ///   page with O(free ranges) searches); each blocker's placement searches the free
    ///   ranges at least its size.
    /// `canMove` says which sources may move at all (a moving pass moves only the
    /// resources it was given); it runs under this type's lock too. An allocation it
    /// refuses is one nothing can hold: its page is not emptied.
    func planDefragmentation(bytes: inout UInt64, moves: inout Int, algorithm: DefragmentationAlgorithm,
                             canMove: (Allocation) -> Bool = { _ in true }, drain: Bool = false,
                             shouldStop: () -> Bool) -> ([DefragmentationMove], [EmptiedPage]) {
        state.withLock { state in
            if drain { state.movesIncrementally = true }
            var perPage = [[(handle: VirtualAllocationHandle, offset: UInt64, size: UInt64, kind: SuballocationKind)]](
                repeating: [], count: state.pages.count)
            var pinned = Set<Int>()
            forEachPageAllocation(state) { slot, offset, size, kind, handle in
                perPage[slot].append((handle, offset, size, kind))
                // Aliasing resources hold offsets into the allocation: its page stays, as a group's.
                if state.records[Int(handle.index)].isPinned || state.aliases[handle.index] != nil { pinned.insert(slot) }
            }
            let used = perPage.map { $0.reduce(0) { $0 + $1.size } }
            let candidates = state.active.map(Int.init)
                .filter {
                    state.pages[$0].liveCount > 0 && !pinned.contains($0) && !state.pages[$0].isBeingEmptied
                        && !state.pages[$0].isReserved
                }
                .sorted { (a: Int, b: Int) -> Bool in
                    // A page an incremental defragmentation drains is the one the last passes
                    // worked on: it goes first. A sparse page the allocator drains by itself
                    // ranks by its bytes, as any other.
                    let drainingA = state.pages[a].isDraining && !state.pages[a].releasesWhenEmpty
                    let drainingB = state.pages[b].isDraining && !state.pages[b].releasesWhenEmpty
                    if drainingA != drainingB { return drainingA }
                    return used[a] != used[b] ? used[a] < used[b] : a < b
                }
            // The order pages are tried in; bytes only go up it, except when a page is emptied.
            func ranksAbove(_ slot: Int, _ page: Int) -> Bool {
                used[slot] != used[page] ? used[slot] > used[page] : slot > page
            }
            var planned: [DefragmentationMove] = []
            var emptied: [EmptiedPage] = []
            var receivers = Set<Int>()
            // Pages that gave part of their allocations, blocked until the plan ends.
            var partlyGiven: [(page: Int, blockers: [VirtualAllocationHandle])] = []
            for page in candidates where !receivers.contains(page) {
                guard moves > 0, bytes > 0, !shouldStop() else { break }
                var members = perPage[page]
                // `.fast` keeps the order the survey found them in (by offset).
                if algorithm != .fast { members.sort { $0.size > $1.size } }
                let blockers = block(page, state: &state)
                var placed = place(members, of: page, strategy: algorithm == .fast ? .firstFit : .bestFit, canMove: canMove,
                                   state: &state)
                if algorithm == .extensive, placed.contains(where: { $0 == nil }) {
                    for case let move? in placed { release(move.destination, state: &state) }
                    placed = place(members, of: page, strategy: .lowestOffset, canMove: canMove, state: &state)
                }
                let placesAll = !placed.contains { $0 == nil }
                let fitsWhole = placesAll && used[page] <= bytes && members.count <= moves
                var chosen: [DefragmentationMove] = []
                var chosenBytes: UInt64 = 0
                var stopped = false
                if placesAll || algorithm == .full || algorithm == .extensive {
                    for case let move? in placed {
                        let upward = ranksAbove(destinationSlot(move), page)
                        guard fitsWhole || (upward && move.source.size <= bytes - chosenBytes && chosen.count < moves) else {
                            continue
                        }
                        // Between moves of a page given in part; a page emptied whole is one step.
                        if !fitsWhole, shouldStop() {
                            stopped = true
                            break
                        }
                        chosen.append(move)
                        chosenBytes += move.source.size
                    }
                }
                for move in chosen { receivers.insert(destinationSlot(move)) }
                bytes -= chosenBytes
                moves -= chosen.count
                planned += chosen
                if chosen.count == members.count {
                    emptied.append(EmptiedPage(slot: UInt32(page), generation: state.generations[page], blockers: blockers))
                } else {
                    let kept = Set(chosen)
                    for case let move? in placed where !kept.contains(move) { release(move.destination, state: &state) }
                    // The first page a draining plan cannot empty drains until a later one can.
                    if drain, state.pages.indices.count(where: { state.pages[$0].isDraining && $0 != page })
                        < MemoryTypePool.drainingPages {
                        state.pages[page].isDraining = true
                    }
                    if chosen.isEmpty {
                        unblock(page, blockers, state: &state)
                    } else {
                        partlyGiven.append((page, blockers))
                    }
                }
                if stopped { break }
            }
            for (page, blockers) in partlyGiven { unblock(page, blockers, state: &state) }
            return (planned, emptied)
        }
    }

    /// Places a copy of each member of page `page` elsewhere; nil for those nothing holds.
    private func place(
        _ members: [(handle: VirtualAllocationHandle, offset: UInt64, size: UInt64, kind: SuballocationKind)],
        of page: Int, strategy: AllocationStrategy, canMove: (Allocation) -> Bool, state: inout State
    ) -> [DefragmentationMove?] {
        members.map { reserveDestination(for: $0, of: page, strategy: strategy, canMove: canMove, state: &state) }
    }

    /// The local page slot a move's destination lies in.
    private func destinationSlot(_ move: DefragmentationMove) -> Int {
        guard case let .page(slot, _, _) = move.destination.location else { return -1 }
        return Int(slot & MemoryTypePool.localSlotMask)
    }

    /// Blocks every free range of page `slot` with a fence and marks the page.
    private func block(_ slot: Int, state: inout State) -> [VirtualAllocationHandle] {
        let blockers = blockFreeRanges(of: slot, state: &state)
        state.pages[slot].isBeingEmptied = true
        return blockers
    }

    /// Blocks every free range of page `slot` with fences, so nothing is placed there.
    func blockFreeRanges(of slot: Int, state: inout State) -> [VirtualAllocationHandle] {
        var ranges: [(offset: UInt64, size: UInt64)] = []
        forEachPageFreeRange(state) { page, offset, size in
            if page == slot { ranges.append((base(of: slot) + offset, size)) }
        }
        var blockers: [VirtualAllocationHandle] = []
        for range in ranges {
            // The granularity rule applies to blockers too: a blocker of the neighbours'
            // kind covers the range; failing that, one of unknown kind the whole
            // granularity pages inside it, and blockers of a fitting kind the slivers at
            // its ends. A sliver no kind fits shares its page with an allocation of
            // unknown kind, so nothing can be placed there anyway.
            if let whole = blocker(range.offset, range.size, kinds: [.linear, .optimal, .unknown], state: &state) {
                blockers.append(whole)
                continue
            }
            let end = range.offset + range.size
            let interiorStart = (range.offset + granularity - 1) / granularity * granularity
            let interiorEnd = end / granularity * granularity
            if interiorStart < interiorEnd,
               let interior = blocker(interiorStart, interiorEnd - interiorStart, kinds: [.unknown], state: &state) {
                blockers.append(interior)
            }
            let lowerEnd = min(interiorStart, end)
            if range.offset < lowerEnd,
               let lower = blocker(range.offset, lowerEnd - range.offset, kinds: [.linear, .optimal], state: &state) {
                blockers.append(lower)
            }
            let upperStart = max(interiorEnd, lowerEnd)
            if upperStart < end, let upper = blocker(upperStart, end - upperStart, kinds: [.linear, .optimal], state: &state) {
                blockers.append(upper)
            }
        }
        return blockers
    }

    /// A blocker over `size` bytes at `offset`, of the first kind the granularity rule
    /// allows there; nil when none does.
    private func blocker(_ offset: UInt64, _ size: UInt64, kinds: [SuballocationKind],
                         state: inout State) -> VirtualAllocationHandle? {
        for kind in kinds {
            if let placed = try? fence(at: offset, size: size, kind: kind, state: &state) { return placed }
        }
        return nil
    }

    /// Frees a page's blockers and ends its emptying; true when the page is empty now.
    @discardableResult
    private func unblock(_ slot: Int, _ blockers: [VirtualAllocationHandle], state: inout State) -> Bool {
        place { () throws(VirtualBlockError) in
            for blocker in blockers { try state.arena.free(blocker) }
        }
        state.pages[slot].isBeingEmptied = false
        if state.pages[slot].isDraining {
            // A drained page the pass emptied keeps no blockers of its own either; one it
            // did not has the room the pass's blockers held blocked again.
            if state.pages[slot].liveCount == 0 {
                stopDraining(slot, state: &state)
            } else {
                state.drainBlockers[slot, default: []] += blockFreeRanges(of: slot, state: &state)
            }
        }
        guard state.pages[slot].isRemovable else { return false }
        state.emptyPageCount += 1
        return true
    }

    /// Places a copy of one allocation of page `page` elsewhere in the arena, with the
    /// same size, alignment, kind, name and report record; nil when nothing fits.
    private func reserveDestination(
        for member: (handle: VirtualAllocationHandle, offset: UInt64, size: UInt64, kind: SuballocationKind),
        of page: Int, strategy: AllocationStrategy, canMove: (Allocation) -> Bool, state: inout State
    ) -> DefragmentationMove? {
        // The alignment the range was placed with, or more if a resource bound to it later
        // needs more (it met that only where the range happened to lie).
        let placedAlignment = (try? state.arena.alignment(of: member.handle)) ?? 1
        let sourceRecord = state.records[Int(member.handle.index)]
        let alignment = max(placedAlignment, 1 << UInt64(sourceRecord.boundAlignmentLog2))
        // The destination carries the source's report record, but no resource is bound
        // to it yet: the user binds one with `createBuffer(_:boundTo:)`.
        var record = sourceRecord
        record.isBound = false
        record.boundAlignmentLog2 = 0
        record.resource = nil
        // With margins, the allocation inside the range moves, and its front margin grows
        // to the bound resource's alignment where that is more, so it starts aligned.
        let region = userRegion(offset: member.offset, size: member.size, record: sourceRecord)
        let source = Allocation(
            memory: state.pages[page].handle, offset: region.offset, size: region.size, memoryTypeIndex: typeIndex,
            mappedPointer: state.pages[page].mappedBase.map { $0 + Int(region.offset) },
            location: .page(slot: UInt32(page) | slotTag, generation: state.generations[page], handle: member.handle))
        guard canMove(source) else { return nil }
        var size = member.size
        if sourceRecord.frontMarginLog2 != 0 {
            let front = max(sourceRecord.frontMargin, alignment)
            record.frontMarginLog2 = UInt8(front.trailingZeroBitCount)
            size = front + region.size + debug.margin
        }
        guard let placed = try? state.arena.allocateIfRoom(size: size, alignment: alignment, kind: member.kind,
                                                           strategy: strategy) else { return nil }
        let mapped = state.pages[page].mappedBase != nil
        let name = state.names[member.handle.index]
        let destination = debug.isActive ? finishDebug(placed, state: &state, mapped: mapped, name: name, record: record)
            : finish(placed, state: &state, mapped: mapped, name: name, record: record)
        return DefragmentationMove(source: source, destination: destination)
    }

    /// Frees a reserved destination (or a moved source) if it is still live; its size
    /// when it was.
    @discardableResult
    private func release(_ allocation: Allocation, state: inout State) -> UInt64? {
        guard case let .page(taggedSlot, generation, handle) = allocation.location,
              case let slot = taggedSlot & MemoryTypePool.localSlotMask,
              pageError(slot: slot, generation: generation, memory: allocation.memory, state: state) == nil else { return nil }
        if debug.isActive {
            // Checked and filled as any free, the range freed with its margins.
            guard let (size, _) = try? liveRange(handle, slot: slot, generation: generation, memory: allocation.memory,
                                                 offset: allocation.offset, state: state) else { return nil }
            let freed = releaseRange(handle, slot: Int(slot), offset: allocation.offset, size: size, state: &state)
            _ = forgetFreed(handle, size: freed, slot: Int(slot), state: &state)
            return freed
        }
        guard let size = try? state.arena.free(handle, at: base(of: Int(slot)) + allocation.offset) else { return nil }
        _ = forgetFreed(handle, size: size, slot: Int(slot), state: &state)
        return size
    }

    /// Ends a pass by freeing the sources still live (the destinations of ignored moves)
    /// and releasing the emptied pages.
    /// - Returns: the bytes of sources freed here; the sources freed here, each with
    ///   whether a resource was still bound to it (its destroy must not fail for it); and
    ///   the pages' memory to release.
    func commitDefragmentation(_ moves: [DefragmentationMove], _ emptied: [EmptiedPage], ignored: Set<DefragmentationMove>)
        -> (UInt64, [(source: Allocation, wasBound: Bool)], [DeviceMemory]) {
        state.withLock { state in
            var freed: UInt64 = 0
            var freedSources: [(source: Allocation, wasBound: Bool)] = []
            for move in moves {
                if ignored.contains(move) {
                    release(move.destination, state: &state)
                } else if case let .page(_, _, handle) = move.source.location {
                    let wasBound = Int(handle.index) < state.records.count && state.records[Int(handle.index)].isBound
                    if let size = release(move.source, state: &state) {
                        freed += size
                        freedSources.append((move.source, wasBound))
                    }
                }
            }
            var released: [DeviceMemory] = []
            for page in emptied {
                let slot = Int(page.slot)
                guard state.generations[slot] == page.generation, state.pages[slot].memory != nil else { continue }
                if unblock(slot, page.blockers, state: &state) { released.append(removePage(slot: page.slot, state: &state)) }
            }
            return (freed, freedSources, released)
        }
    }

    /// Ends a pass without moving anything: the destinations are freed, the emptied
    /// pages unblocked.
    func cancelDefragmentation(_ moves: [DefragmentationMove], _ emptied: [EmptiedPage]) {
        state.withLock { state in
            for move in moves { release(move.destination, state: &state) }
            for page in emptied where state.generations[Int(page.slot)] == page.generation {
                unblock(Int(page.slot), page.blockers, state: &state)
            }
        }
    }
}
