extension VirtualBlock {
    /// Calls `body` for each live allocation, in ascending offset order.
    /// - Complexity: O(records).
    public func forEachAllocation<E: Error>(
        _ body: (_ offset: UInt64, _ size: UInt64, _ kind: SuballocationKind,
                 _ handle: VirtualAllocationHandle, _ userData: UInt64) throws(E) -> Void
    ) throws(E) {
        let core = box.core
        try core.forEachLive { (i: UInt32) throws(E) in
            let r = core.records[i]
            try body(r.offset, r.size, SuballocationKind(rawValue: r.kind) ?? .unknown,
                     VirtualAllocationHandle(index: i, generation: r.generation), core.userData(of: i))
        }
    }

    /// Calls `body` for each free range, in ascending offset order: for a linear
    /// block the gaps between allocations (the block's ends included); for a TLSF
    /// block the same except for alignment padding under 256 bytes, which stays with
    /// the allocation above it until that allocation is freed.
    /// - Complexity: O(records).
    public func forEachFreeRange<E: Error>(_ body: (_ offset: UInt64, _ size: UInt64) throws(E) -> Void) throws(E) {
        let core = box.core
        guard case .tlsf = core.algorithm else { return try core.forEachGap(body) }
        // Free ranges never touch each other, but a deferred range (see
        // Core+DeferredFree.swift) may touch free ranges: runs are reported whole.
        var run: (start: UInt64, end: UInt64)?
        var i = core.firstPhysical
        while i != noRecord {
            let r = core.records[i]
            if core.isUnoccupied(i) {
                run = (run?.start ?? r.start, r.end)
            } else if let (start, end) = run {
                try body(start, end - start)
                run = nil
            }
            i = r.above
        }
        if let (start, end) = run { try body(start, end - start) }
    }

    /// The live allocations in ascending offset order.
    /// - Complexity: O(records).
    public var allocations: [VirtualAllocation] {
        var result: [VirtualAllocation] = []
        result.reserveCapacity(allocationCount)
        forEachAllocation { offset, size, _, handle, _ in
            result.append(VirtualAllocation(handle: handle, offset: offset, size: size))
        }
        return result
    }
}

extension Core {
    /// Live allocations in address order, for either engine.
    func forEachLive<E: Error>(_ body: (UInt32) throws(E) -> Void) throws(E) {
        switch algorithm {
        case .tlsf:
            var i = firstPhysical
            while i != noRecord {
                if records[i].state == .allocated { try body(i) }
                i = records[i].above
            }
        case .linear:
            try linearForEachLive(body)
        }
    }

    /// The gaps between live allocations; linear holes are gaps too.
    func forEachGap<E: Error>(_ body: (_ offset: UInt64, _ size: UInt64) throws(E) -> Void) throws(E) {
        var cursor: UInt64 = 0
        try forEachLive { (i: UInt32) throws(E) in
            let r = records[i]
            if r.offset > cursor { try body(cursor, r.offset - cursor) }
            cursor = r.end
        }
        if blockSize > cursor { try body(cursor, blockSize - cursor) }
    }

    /// Count and largest size of the gaps, by a walk over the allocations.
    func gapStatistics() -> (count: Int, largest: UInt64) {
        var count = 0
        var largest: UInt64 = 0
        forEachGap { _, size in
            count += 1
            largest = max(largest, size)
        }
        return (count, largest)
    }
}
