import CVulkan
extension MemoryTypePool {
    /// Places a range in the first page with room, or in a new page.
    ///
    /// - Complexity: O(pages) TLSF attempts, each O(1); a new page costs one
    ///   `vkAllocateMemory` (made while holding this type's lock only).
    func allocate(size: UInt64, alignment: UInt64, kind: SuballocationKind, options: AllocationOptions,
                  record: AllocationRecord, allocator: Allocator) throws(AllocationError) -> Allocation {
        // On non-coherent memory each allocation owns whole atoms.
        let alignment = max(alignment, atom)
        let size = atom > 1 ? (size + atom - 1) / atom * atom : size
        // A page made for this request alone goes back if the request then fails; it is
        // released after the lock, like every page.
        var released: DeviceMemory?
        defer { if let released { allocator.release(released, heap: heapIndex) } }
        return try state.withLock { (state: inout State) throws(AllocationError) -> Allocation in
            var position = -1
            while position < state.active.count {
                let slot: Int
                if position < 0 {
                    position = 0
                    guard state.hint >= 0 else { continue }
                    slot = state.hint
                } else {
                    slot = Int(state.active[position])
                    position += 1
                    if slot == state.hint { continue }
                }
                if size >= state.pages[slot].refusedSize, alignment >= state.pages[slot].refusedAlignment,
                   kind == state.pages[slot].refusedKind { continue }
                let wasEmpty = state.pages[slot].block.isEmpty
                guard let placed = try? state.pages[slot].block.allocateIfRoom(
                    size: size, alignment: alignment, kind: kind, strategy: options.strategy) else {
                    state.pages[slot].refusedSize = size
                    state.pages[slot].refusedAlignment = alignment
                    state.pages[slot].refusedKind = kind
                    continue
                }
                if wasEmpty { state.emptyPageCount -= 1 }
                return try finish(placed, slot: slot, state: &state, options: options, record: record)
            }
            let slot = Int(try addPage(state: &state, needed: size + alignment - 1, allocator: allocator))
            guard let placed = try? state.pages[slot].block.allocate(
                size: size, alignment: alignment, kind: kind, strategy: options.strategy) else {
                preconditionFailure("a new page of at least size + alignment - 1 bytes must fit the request")
            }
            state.emptyPageCount -= 1
            do throws(AllocationError) {
                var allocation = try finish(placed, slot: slot, state: &state, options: options, record: record)
                allocation.startedPage = true
                return allocation
            } catch {
                released = removePage(slot: UInt32(slot), state: &state)
                throw error
            }
        }
    }

    /// Records a placed range and builds its `Allocation`; undoes the placement when the
    /// page cannot be mapped as asked.
    private func finish(_ placed: VirtualAllocation, slot: Int, state: inout State,
                        options: AllocationOptions, record: AllocationRecord) throws(AllocationError) -> Allocation {
        var mapped: UnsafeMutableRawPointer?
        if options.mapped {
            do {
                mapped = try mapPage(&state.pages[slot]) + Int(placed.offset)
            } catch {
                try? state.pages[slot].block.free(placed.handle)
                if state.pages[slot].block.isEmpty { state.emptyPageCount += 1 }
                throw error
            }
        }
        state.pages[slot].remember(placed.handle, record, name: options.name)
        state.liveBytes += placed.size
        state.liveCount += 1
        return Allocation(memory: state.pages[slot].handle, offset: placed.offset, size: placed.size,
                          memoryTypeIndex: typeIndex, mappedPointer: mapped,
                          location: .page(slot: UInt32(slot), generation: state.generations[slot], handle: placed.handle))
    }

    /// Maps a whole page once, persistently, and returns its base address.
    func mapPage(_ page: inout Page) throws(AllocationError) -> UnsafeMutableRawPointer {
        if let base = page.mappedBase { return base }
        guard let memory = page.memory else { throw .alreadyFreed }
        do {
            let base = try memory.map().baseAddress
            page.mappedBase = base
            return base
        } catch {
            throw .memory(error)
        }
    }

    /// Creates a page big enough for `needed` bytes, retrying at 1/2, 1/4 and 1/8 of the
    /// planned size when the driver refuses, and returns its slot. The page counts as empty.
    private func addPage(state: inout State, needed: UInt64, exactSize: UInt64? = nil,
                         allocator: Allocator) throws(AllocationError) -> UInt32 {
        let heapSize = allocator.properties.heaps[heapIndex].size
        let planned = exactSize ?? min(MemoryTypePool.nextPageSize(committed: state.committedBytes,
                                                                   preferred: preferredPageSize, needed: needed), heapSize)
        guard needed <= planned else {
            throw .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex, available: heapSize,
                               reason: "the request is larger than the heap")
        }
        var size = planned
        var lastError: AllocationError?
        while size >= needed {
            do {
                let memory = try allocator.allocateDeviceMemory(size: size, pool: self, options: DeviceMemory.Options())
                let block: VirtualBlock
                do {
                    block = try VirtualBlock(size: size, algorithm: .tlsf, granularity: granularity)
                } catch {
                    preconditionFailure("a page block with a power-of-two granularity cannot fail: \(error)")
                }
                let page = Page(memory: memory, block: block)
                let slot: UInt32
                if let reused = state.freeSlots.popLast() {
                    slot = reused
                    state.pages[Int(slot)] = page
                } else {
                    slot = UInt32(state.pages.count)
                    state.pages.append(page)
                    state.generations.append(0)
                }
                state.active.append(slot)
                state.emptyPageCount += 1
                state.committedBytes += size
                return slot
            } catch {
                lastError = error
                // Only a driver refusal is worth retrying smaller.
                guard exactSize == nil, case .outOfMemory = error, size / 2 >= needed, size > 1 << 20 else { break }
                size /= 2
                if planned / size > 8 { break }
            }
        }
        throw lastError ?? .outOfMemory(size: needed, typeIndex: typeIndex, heapIndex: heapIndex,
                                         available: 0, reason: "no page could be created")
    }

    /// Frees a range; returns a page's memory to release when the free left more wholly
    /// free pages than `keepEmpty`.
    func free(slot: UInt32, generation: UInt32, handle: VirtualAllocationHandle, memory: VkDeviceMemory,
              size: UInt64, keepEmpty: Int) throws(AllocationError) -> DeviceMemory? {
        try state.withLock { (state: inout State) throws(AllocationError) -> DeviceMemory? in
            let index = Int(slot)
            guard index < state.pages.count, state.generations[index] == generation,
                  state.pages[index].memory != nil else {
                // The page was released: the allocation was freed before, or is not ours.
                throw Int(slot) < state.generations.count && state.generations[Int(slot)] > generation
                    ? .alreadyFreed : .unknownAllocation
            }
            guard state.pages[index].handle == memory else { throw .unknownAllocation }
            // `size` is the one this pool returned in the Allocation (which users cannot
            // construct): the handle's generation check below vouches for it.
            do throws(VirtualBlockError) {
                try state.pages[index].block.free(handle)
            } catch {
                switch error {
                case .staleHandle: throw .alreadyFreed
                default: throw .unknownAllocation
                }
            }
            state.pages[index].forget(handle)
            state.pages[index].refusedSize = .max
            state.hint = index
            state.liveBytes -= size
            state.liveCount -= 1
            guard state.pages[index].block.isEmpty else { return nil }
            state.emptyPageCount += 1
            guard state.emptyPageCount > keepEmpty else { return nil }
            return removePage(slot: slot, state: &state)
        }
    }

    /// Creates a page sized to a group and places each member in it, in order; on any
    /// failure the page is released again and nothing has changed.
    func allocatePrivatePage(members: [MemoryRequirements], pageSize: UInt64, options: AllocationOptions,
                             records: [AllocationRecord], names: [String?],
                             allocator: Allocator) throws(AllocationError) -> [Allocation] {
        let (placed, released) = try state.withLock {
            (state: inout State) throws(AllocationError) -> ([Allocation], DeviceMemory?) in
            let slot = Int(try addPage(state: &state, needed: pageSize, exactSize: pageSize, allocator: allocator))
            state.emptyPageCount -= 1
            var placed: [Allocation] = []
            for (index, member) in members.enumerated() {
                let alignment = max(member.alignment, atom)
                let size = atom > 1 ? (member.size + atom - 1) / atom * atom : member.size
                guard let range = try? state.pages[slot].block.allocate(
                    size: size, alignment: alignment, kind: member.kind, strategy: .lowestOffset) else {
                    for allocation in placed {
                        if case let .page(_, _, handle) = allocation.location {
                            try? state.pages[slot].block.free(handle)
                        }
                    }
                    state.liveBytes -= placed.reduce(0) { $0 + $1.size }
                    state.liveCount -= placed.count
                    state.emptyPageCount += 1
                    return ([], removePage(slot: UInt32(slot), state: &state))
                }
                var memberOptions = options
                memberOptions.name = names[index]
                placed.append(try finish(range, slot: slot, state: &state, options: memberOptions, record: records[index]))
            }
            return (placed, nil)
        }
        if let released {
            allocator.release(released, heap: heapIndex)
            throw .groupTooLarge(size: pageSize, typeIndex: typeIndex, maximum: pageSize)
        }
        return placed
    }

    /// Removes one page if it is still the same page and wholly free.
    func takeEmptyPage(slot: UInt32, generation: UInt32) -> DeviceMemory? {
        state.withLock { state in
            guard Int(slot) < state.pages.count, state.generations[Int(slot)] == generation,
                  state.pages[Int(slot)].memory != nil, state.pages[Int(slot)].block.isEmpty else { return nil }
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
                    && state.pages[Int($0)].block.isEmpty
            }
            return added.map { removePage(slot: $0, state: &state) }
        }
    }

    /// Removes every wholly free page and returns their memory for release.
    func takeEmptyPages() -> [DeviceMemory] {
        state.withLock { state in
            let empty = state.active.filter { state.pages[Int($0)].block.isEmpty }
            return empty.map { removePage(slot: $0, state: &state) }
        }
    }

    private func removePage(slot: UInt32, state: inout State) -> DeviceMemory {
        if state.hint == Int(slot) { state.hint = -1 }
        let memory = state.pages[Int(slot)].memory!
        state.pages[Int(slot)].memory = nil
        state.pages[Int(slot)].mappedBase = nil
        state.pages[Int(slot)].records = []
        state.pages[Int(slot)].names = [:]
        state.generations[Int(slot)] &+= 1
        state.freeSlots.append(slot)
        state.active.removeAll { $0 == slot }
        state.emptyPageCount -= 1
        state.committedBytes -= state.pages[Int(slot)].block.size
        return memory
    }
}
