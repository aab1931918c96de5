/// Deferred merging of freed TLSF ranges.
///
/// Once a block has many records, `free` retires the allocation at once but merges its
/// range two frees later, when the records the merge touches are in the cache; a search
/// that fails settles the deferred frees and searches again, and `.lowestOffset` and
/// `allocate(at:)` settle them first. Why (the cache misses of a free with 100,000 live
/// allocations) and what it costs: the DocC article "Virtual blocks"
/// (Suballocation.docc/VirtualBlocks.md), section "Deferred merging".
extension Core {
    /// Blocks defer merges once they have used this many records (512 KiB of table:
    /// about 10,000 live allocations and their free ranges): from
    /// there on the table outgrows the caches nearest the core on common processors.
    /// `recordCount` never shrinks, so a block switches at most once.
    static let defaultDeferralThreshold = 16_384

    /// The deferred ranges, oldest first (none, one or two); for the invariant checker.
    var deferredRanges: [UInt32] { [olderDeferred, newerDeferred].filter { $0 != noRecord } }

    /// Whether any freed range waits for its merge (the newer slot fills first).
    @inline(__always) var hasDeferredFrees: Bool { newerDeferred != noRecord }

    /// Frees live allocation `a`: retired now, merged now or, in a block of many
    /// records, two frees later.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func tlsfFree(_ a: UInt32) {
        retire(a)
        guard recordCount >= deferralThreshold else { return tlsfMerge(a) }
        // Keeps the padding, kind and alignment, which the merge and the neighbours read.
        records[a].prevFree = records[a].prevFree & ~Tag.stateMask | Tag.of(.deferred)
        let due = olderDeferred
        olderDeferred = newerDeferred
        newerDeferred = a
        if olderDeferred != noRecord { warmNeighbours(of: olderDeferred) }
        if due != noRecord { tlsfMerge(due) }
    }

    /// Loads the records of deferred range `i`'s neighbours, which its merge reads
    /// (free neighbours) or writes (live ones), without a branch on what they hold.
    @inline(__always)
    mutating func warmNeighbours(of i: UInt32) {
        let r = records[i]
        // A missing neighbour reads the range itself: selects, not branches.
        let below = r.below == noRecord ? i : r.below
        warmedBytes &+= records[below].size &+ records[r.above].size
    }

    /// `tlsfFind` that sees the deferred ranges: `.lowestOffset` settles them first, to
    /// find the lowest place; the other strategies settle them and search again only
    /// when nothing else fits.
    /// - Complexity: as `tlsfFind`.
    @inline(__always)
    mutating func tlsfPlace(size: UInt64, alignment: UInt64, kind: UInt8,
                            strategy: AllocationStrategy) -> (UInt32, UInt64)? {
        if strategy == .lowestOffset && hasDeferredFrees { settleDeferredFrees() }
        // VMA's "null block" path: with every size class empty (a block being filled),
        // the tail is the only candidate for every strategy, so the class arithmetic
        // and bitmap scans of `tlsfFind`, which would find nothing, are skipped. Deferred
        // ranges are not in the classes, so they wait for a failure as they do there.
        if firstLevelBitmap == 0, let o = fit(in: tail, size: size, alignment: alignment, kind: kind) {
            return (tail, o)
        }
        if let hit = tlsfFind(size: size, alignment: alignment, kind: kind, strategy: strategy) { return hit }
        guard hasDeferredFrees else { return nil }
        settleDeferredFrees()
        return tlsfFind(size: size, alignment: alignment, kind: kind, strategy: strategy)
    }

    /// Merges every deferred range now.
    /// - Complexity: O(1).
    mutating func settleDeferredFrees() {
        let older = olderDeferred
        let newer = newerDeferred
        olderDeferred = noRecord
        newerDeferred = noRecord
        if older != noRecord { tlsfMerge(older) }
        if newer != noRecord { tlsfMerge(newer) }
    }

    /// Forgets the deferred ranges, for `reset`.
    mutating func dropDeferredFrees() {
        olderDeferred = noRecord
        newerDeferred = noRecord
    }

    /// Whether range `i` is free for an observer: a free range, a deferred range or a
    /// tail that is not empty.
    func isUnoccupied(_ i: UInt32) -> Bool {
        switch records[i].state {
        case .free, .deferred: return true
        case .tail: return records[i].size > 0
        case .allocated, .unused: return false
        }
    }

    /// The free ranges as observers see them: free ranges, the tail when not empty,
    /// and the deferred ranges merged with their free neighbours.
    /// - Complexity: O(free ranges in the highest size class).
    func tlsfFreeRangeStatistics() -> (count: Int, largest: UInt64) {
        var count = freeRangeCount + (records[tail].size > 0 ? 1 : 0)
        var largest = tlsfLargestFree()
        // The two slots by hand: an array of them would cost an allocation a call.
        if olderDeferred != noRecord {
            let (addedRanges, runSize) = deferredRun(olderDeferred)
            count += addedRanges
            largest = max(largest, runSize)
        }
        if newerDeferred != noRecord {
            let (addedRanges, runSize) = deferredRun(newerDeferred)
            count += addedRanges
            largest = max(largest, runSize)
        }
        return (count, largest)
    }

    /// What deferred range `d` adds to the free-range count (1, less one for each
    /// unoccupied neighbour it joins, a pair of deferred ranges counted once, from the
    /// lower one) and the size of the run of unoccupied ranges around it, which holds
    /// at most the two deferred ranges and the free range or tail on either side.
    private func deferredRun(_ d: UInt32) -> (addedRanges: Int, runSize: UInt64) {
        var added = 1
        let below = records[d].below
        if below != noRecord, records[below].state == .free { added -= 1 }
        if records[d].above != noRecord, isUnoccupied(records[d].above) { added -= 1 }
        var start = records[d].start
        var i = below
        while i != noRecord, isUnoccupied(i) {
            start = records[i].start
            i = records[i].below
        }
        var end = records[d].end
        i = records[d].above
        while i != noRecord, isUnoccupied(i) {
            end = records[i].end
            i = records[i].above
        }
        return (added, end - start)
    }
}
