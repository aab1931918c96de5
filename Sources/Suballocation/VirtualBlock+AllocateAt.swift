extension VirtualBlock {
    /// Places an allocation at exactly `offset`, inside one free range.
    ///
    /// For callers that decide the layout themselves: reserving a range that nothing
    /// else may use (an allocator's fences between its pages), or rebuilding a recorded
    /// layout. The granularity rule holds as for `allocate`: a range that would share a
    /// granularity page with an allocation of a conflicting kind is refused.
    /// - Parameters:
    ///   - offset: Where the allocation starts; a multiple of `alignment`.
    ///   - size: Bytes to place; at least 1.
    ///   - alignment: A power of two, kept with the allocation (``alignment(of:)``).
    ///   - kind: What the allocation holds, for the granularity rule.
    ///   - userData: A value kept with the allocation for the caller.
    /// - Throws: ``VirtualBlockError/zeroSize``,
    ///   ``VirtualBlockError/alignmentNotPowerOfTwo(_:)``,
    ///   ``VirtualBlockError/offsetNotAligned(offset:alignment:)``,
    ///   ``VirtualBlockError/sizeOverflow(size:alignment:)`` (the range passes the end of
    ///   the address space), ``VirtualBlockError/placementUnavailable(_:)`` for a linear
    ///   block, or ``VirtualBlockError/rangeNotFree(offset:size:)``; the block is then
    ///   unchanged.
    /// - Complexity: O(free ranges of `size` bytes or more): the free lists from
    ///   `size`'s class up are searched for the range holding `offset`.
    public mutating func allocate(at offset: UInt64, size: UInt64, alignment: UInt64 = 1,
                                  kind: SuballocationKind = .unknown,
                                  userData: UInt64 = 0) throws(VirtualBlockError) -> VirtualAllocation {
        guard size > 0 else { throw .zeroSize }
        let alignment = max(alignment, 1)
        guard isPowerOfTwo(alignment) else { throw .alignmentNotPowerOfTwo(alignment) }
        guard offset % alignment == 0 else { throw .offsetNotAligned(offset: offset, alignment: alignment) }
        guard offset <= UInt64.max - size else { throw .sizeOverflow(size: size, alignment: alignment) }
        guard case .tlsf = algorithm else { throw .placementUnavailable(algorithm) }
        guard offset + size <= self.size else { throw .rangeNotFree(offset: offset, size: size) }
        makeUnique()
        guard let placed = box.core.tlsfAllocate(at: offset, size: size, alignment: alignment, kind: kind.rawValue,
                                                 userData: userData) else {
            throw .rangeNotFree(offset: offset, size: size)
        }
        return placed
    }
}

extension Core {
    /// The TLSF placement of `VirtualBlock.allocate(at:size:kind:userData:)`; nil when the
    /// range is not free.
    ///
    /// A free range that holds `size` bytes from `offset` is at least `size` bytes long,
    /// so only the tail and the free lists of `size`'s class and above are searched,
    /// smallest class first: a range placed over a whole free range (a blocker) is
    /// found in its own class, a large one (a fence) among the few large free ranges.
    /// - Complexity: O(free ranges of `size` bytes or more).
    ///
    /// The bytes below `offset` in its free range always stay a free range of their own
    /// (no padding is kept with a placed allocation): a caller that lays ranges out
    /// itself may place the next one right there.
    mutating func tlsfAllocate(at offset: UInt64, size: UInt64, alignment: UInt64, kind: UInt8,
                               userData: UInt64) -> VirtualAllocation? {
        // The range asked for may be free only through a deferred free: merge those first.
        if hasDeferredFrees { settleDeferredFrees() }
        guard let i = freeRange(holding: offset, size: size) else { return nil }
        let r = records[i]
        guard let o = placeAscending(start: offset, end: r.end, below: r.prevPhysical,
                                     above: i == tail ? noRecord : r.nextPhysical,
                                     size: size, alignment: 1, kind: kind),
              o == offset else { return nil }
        reserveSlots(2)
        let a = tlsfCommit(range: i, at: offset, size: size, alignment: alignment, kind: kind,
                           userData: userData, keepPadding: false)
        return VirtualAllocation(handle: VirtualAllocationHandle(index: a, generation: records[a].generation),
                                 offset: offset, size: size)
    }

    /// The free range (or the tail) that holds `size` bytes from `offset`, if any.
    func freeRange(holding offset: UInt64, size: UInt64) -> UInt32? {
        func holds(_ i: UInt32) -> Bool {
            let r = records[i]
            return r.offset <= offset && offset < r.end && size <= r.end - offset
        }
        if holds(tail) { return tail }
        var c = firstNonEmptyClass(from: TLSF.sizeClass(size))
        while c < TLSF.classCount {
            var i = tlsfIndex[c]
            while i != noRecord {
                if holds(i) { return i }
                i = records[i].nextFree
            }
            c = firstNonEmptyClass(from: c + 1)
        }
        return nil
    }
}
