import CVulkan

/// What a pool tells the rest of the allocator about itself: totals, a picture of its
/// pages, its live allocations, whether an allocation of it is live, a view of one for
/// mapping, and its closing. Nobody outside the pool's files reads its `State`.
extension MemoryTypePool {
    /// A pool's figures at one moment.
    struct Totals {
        var pageCount = 0
        var emptyPageCount = 0
        var committedBytes: UInt64 = 0
        var liveBytes: UInt64 = 0
        var allocationCount = 0
        var reservedBytes: UInt64 = 0
    }

    /// One page as a snapshot shows it.
    struct PageSnapshot {
        struct Range {
            let offset: UInt64
            let size: UInt64
            /// nil for a free range.
            let kind: SuballocationKind?
            let name: String?
            /// The allocation's record (call site, bound resource); nil for a free range.
            let record: AllocationRecord?
            /// The resources aliasing the allocation.
            var aliases: [AliasRecord] = []
        }

        let size: UInt64
        /// The page's `VkDeviceMemory`, to find an allocation's range by where it lies.
        let memory: VkDeviceMemory?
        let isMapped: Bool
        let isReserved: Bool
        /// Live allocations of the page, page-relative, in address order.
        let allocations: [Range]
        /// Free ranges of the page, page-relative, in address order.
        let freeRanges: [Range]
    }

    /// The pool's totals, under its lock.
    /// - Complexity: O(pages).
    func totals() -> Totals { state.withLock { totals(of: $0) } }

    private func totals(of state: State) -> Totals {
        var totals = Totals(pageCount: state.active.count, emptyPageCount: state.emptyPageCount,
                            committedBytes: state.committedBytes, liveBytes: state.liveBytes,
                            allocationCount: state.liveCount)
        for slot in state.active where state.pages[Int(slot)].isReserved {
            totals.reservedBytes += state.pages[Int(slot)].memory?.size ?? 0
        }
        return totals
    }

    /// The totals and every live page (oldest first) with its ranges, from one walk of
    /// the arena under the pool's lock: a consistent picture.
    /// - Complexity: O(arena ranges).
    func snapshot() -> (totals: Totals, pages: [PageSnapshot]) {
        state.withLock { state in
            var allocations = [[PageSnapshot.Range]](repeating: [], count: state.pages.count)
            var gaps = [[PageSnapshot.Range]](repeating: [], count: state.pages.count)
            forEachPageAllocation(state) { slot, offset, size, kind, handle in
                allocations[slot].append(PageSnapshot.Range(offset: offset, size: size, kind: kind,
                                                            name: state.names[handle.index],
                                                            record: state.records[Int(handle.index)],
                                                            aliases: state.aliases[handle.index] ?? []))
            }
            forEachPageFreeRange(state) { slot, offset, size in
                gaps[slot].append(PageSnapshot.Range(offset: offset, size: size, kind: nil, name: nil, record: nil))
            }
            // A draining page's room is free memory that only new placements are kept
            // from: reported as the free ranges it would be without the drain, so
            // statistics never tell a page that drains from one that does not.
            for (slot, blockers) in state.drainBlockers {
                let base = base(of: slot)
                var ranges = gaps[slot].map { ($0.offset, $0.size) }
                for blocker in blockers {
                    guard let placed = try? state.arena.allocation(blocker) else { continue }
                    ranges.append((placed.offset - base, placed.size))
                }
                ranges.sort { $0.0 < $1.0 }
                var merged: [PageSnapshot.Range] = []
                for (offset, size) in ranges {
                    if let last = merged.last, last.offset + last.size == offset {
                        merged[merged.count - 1] = PageSnapshot.Range(offset: last.offset, size: last.size + size,
                                                                      kind: nil, name: nil, record: nil)
                    } else {
                        merged.append(PageSnapshot.Range(offset: offset, size: size, kind: nil, name: nil, record: nil))
                    }
                }
                gaps[slot] = merged
            }
            let pages = state.active.map { slot in
                let page = state.pages[Int(slot)]
                return PageSnapshot(size: page.memory?.size ?? 0, memory: page.memory?.handle, isMapped: page.mappedBase != nil,
                                    isReserved: page.isReserved, allocations: allocations[Int(slot)],
                                    freeRanges: gaps[Int(slot)])
            }
            return (totals(of: state), pages)
        }
    }

    /// Every live allocation of the pool, as a report.
    /// - Complexity: O(arena ranges).
    func liveAllocationReports() -> [AllocationReport] {
        state.withLock { state in
            var reports: [AllocationReport] = []
            forEachPageAllocation(state) { _, offset, size, _, handle in
                let record = state.records[Int(handle.index)]
                // The allocation as its owner knows it: without margins.
                let region = userRegion(offset: offset, size: size, record: record)
                reports.append(AllocationReport(
                    name: state.names[handle.index], size: region.size, offset: region.offset, memoryTypeIndex: typeIndex,
                    isDedicated: false, userData: record.userData, fileID: record.fileID.description,
                    line: Int(record.line), aliasCount: state.aliases[handle.index]?.count ?? 0))
            }
            return reports
        }
    }

    /// Nil when `handle` is a live allocation of page `slot` at `offset`; otherwise why
    /// not (`.alreadyFreed`, `.unknownAllocation`).
    /// - Complexity: O(1).
    func liveness(of handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
                  offset: UInt64) -> AllocationError? {
        state.withLock { state -> AllocationError? in
            switch pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state) {
            case let .failure(error): return error
            case let .success(placed): return placed.offset == offset ? nil : .unknownAllocation
            }
        }
    }

    /// A view of exactly a live allocation of page `slot`, through the page's mapping.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for one that is not live here;
    ///   `.memory(.notHostVisible)` on a type that cannot be mapped.
    /// - Complexity: O(1).
    func view(of handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
              offset: UInt64, size: UInt64) throws(AllocationError) -> MappedMemory {
        try state.withLock { (state: inout State) throws(AllocationError) -> MappedMemory in
            let placed = try pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state).get()
            guard placed.offset == offset, placed.size == size, let owner = state.pages[Int(slot)].memory else {
                throw .unknownAllocation
            }
            let base = try mappedBase(of: state.pages[Int(slot)])
            let lifetime = state.viewLifetime(of: handle)
            return MappedMemory(memory: owner, lifetime: lifetime, baseAddress: base + Int(offset), offset: offset,
                                size: size)
        }
    }

    /// Closes a custom pool that holds no live allocation and takes all its pages out,
    /// for release: allocations racing this call either finished before (and then the
    /// pool was not empty) or find the pool closed.
    /// - Returns: the pages, and the corruption reports its frees found and nobody took
    ///   yet (`Allocator.takeCorruptionReports()` still hands them out).
    /// - Throws: `.unknownAllocation` when it was closed before; `.poolNotEmpty`;
    ///   `.defragmentationPassOpen` while a pass is emptying one of its pages (the pass's
    ///   fences are still in the arena).
    func close() throws(AllocationError) -> (pages: [DeviceMemory], corruptions: [CorruptionReport]) {
        try state.withLock { (state: inout State) throws(AllocationError) -> ([DeviceMemory], [CorruptionReport]) in
            guard !state.isClosed else { throw .unknownAllocation }
            guard state.liveCount == 0, state.dedicatedCount == 0 else {
                throw .poolNotEmpty(name: state.name ?? "memory type \(typeIndex)",
                                    allocations: state.liveCount + state.dedicatedCount)
            }
            guard !state.active.contains(where: { state.pages[Int($0)].isBeingEmptied }) else {
                throw .defragmentationPassOpen
            }
            state.isClosed = true
            state.endViews()
            let slots = state.active
            let pages = slots.map { slot in
                if state.pages[Int(slot)].isReserved {
                    state.pages[Int(slot)].isReserved = false
                    state.emptyPageCount += 1
                }
                return removePage(slot: slot, state: &state)
            }
            defer { state.corruptions.removeAll() }
            return (pages, state.corruptions)
        }
    }

    /// Counts a custom pool's dedicated allocation in (`+1`, refused once the pool is
    /// closed) or out (`-1`).
    /// - Throws: `.outOfMemory` naming the pool when it was destroyed.
    func countDedicated(_ change: Int) throws(AllocationError) {
        try state.withLock { (state: inout State) throws(AllocationError) in
            if change > 0, state.isClosed {
                throw .outOfMemory(size: 0, typeIndex: typeIndex, heapIndex: heapIndex, available: 0,
                                   reason: "pool '\(state.name ?? "")' was destroyed")
            }
            state.dedicatedCount += change
        }
    }

    /// Ends every view of the pool's allocations and frees every page's memory now, for
    /// the allocator's deinitialization: a view or a user's reference that outlives the
    /// allocator must neither keep its pages alive nor write into them.
    func tearDown() {
        let memories = state.withLock { state in
            state.endViews()
            return state.pages.compactMap(\.memory)
        }
        for memory in memories { try? memory.free() }
    }
}
