extension Core {
    /// Places a request at the start of the untouched tail while the block is being
    /// filled: every size class empty and no free deferred, so the general search
    /// (`tlsfPlace`) could choose nothing else for any strategy. VMA's "null block" case.
    ///
    /// Does what `tlsfPlace` followed by `tlsfCommit` does for such a request, in one
    /// inlined step without the search's class arithmetic or the commit's other cases:
    /// W2's 100,000 fills take about half the instructions this way.
    /// - Returns: The allocation, or nil (nothing changed) when the general path must
    ///   decide: a linear block, any free range or deferred free, padding of
    ///   `TLSF.keptPadding` bytes or more (which becomes a free range of its own), or
    ///   no room in the tail.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func allocateAtUntouchedTail(size: UInt64, alignment: UInt64, kind: UInt8,
                                          userData: UInt64) -> VirtualAllocation? {
        guard case .tlsf = algorithm, firstLevelBitmap == 0, !hasDeferredFrees else { return nil }
        let t = tail
        let start = records[t].offset
        let end = records[t].end
        let below = records[t].prevPhysical
        guard let o = placeAscending(start: start, end: end, below: below, above: noRecord,
                                     size: size, alignment: alignment, kind: kind),
              o - start < TLSF.keptPadding else { return nil }
        // May move the record table: no record is held across it.
        let a = takeSlot()
        makeLive(a, offset: o, size: size, alignment: alignment, kind: kind, userData: userData, padding: o - start)
        records[a].prevPhysical = below
        records[a].nextPhysical = t
        linkAbove(below, a)
        records[t].prevPhysical = a
        records[t].offset = o + size
        records[t].size = end - (o + size)
        return VirtualAllocation(handle: VirtualAllocationHandle(index: a, generation: records[a].generation),
                                 offset: o, size: size)
    }
}
