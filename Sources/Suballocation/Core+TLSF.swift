/// Size classes of the two-level segregated fit.
///
/// The first level is the power of two of a size, the second splits each power of two
/// into 32 classes, so a class spans at most 1/32 of its sizes. Sizes below 64 get one
/// class each. Class numbers grow with size, which lets one bitmap scan find the first
/// non-empty class at or above any class.
enum TLSF {
    static let secondLevelBits = 5
    static let secondLevelCount = 1 << secondLevelBits
    /// Class 0 holds the sizes below 32; classes 1...59 the powers of two 2⁵...2⁶³.
    static let firstLevelCount = 60
    static let classCount = firstLevelCount * secondLevelCount
    /// Free-list heads, then one second-level bitmap per first-level class.
    static let indexWords = classCount + firstLevelCount
    /// How many free ranges a bounded scan may try before moving on; keeps a search
    /// O(1) in a badly fragmented or nearly full block.
    /// 2 is where W1 measured fastest with almost the fewest W4 failures (8: +30% time,
    /// -0.7% failures).
    static let searchBudget = 2
    /// Alignment padding below this many bytes stays with the allocation above it
    /// (its record's `padding`) rather than becoming a free range: such a range could
    /// only hold a few tiny requests, yet cost a record, a free-list insertion and a
    /// merge when its neighbour is freed, on most aligned allocations.
    static let keptPadding: UInt64 = 256

    /// The class of ranges of this size (size ≥ 1).
    @inline(__always)
    static func sizeClass(_ size: UInt64) -> Int {
        if size < UInt64(secondLevelCount) { return Int(size) }
        let msb = 63 - size.leadingZeroBitCount
        let second = Int(truncatingIfNeeded: size &>> UInt64(msb - secondLevelBits)) & (secondLevelCount - 1)
        return (msb - secondLevelBits + 1) << secondLevelBits | second
    }

    /// The smallest size in class `c`.
    @inline(__always)
    static func classMinimum(_ c: Int) -> UInt64 {
        let first = c >> secondLevelBits
        let second = UInt64(c & (secondLevelCount - 1))
        if first == 0 { return second }
        let msb = UInt64(first + secondLevelBits - 1)
        return 1 &<< msb | second &<< (msb - UInt64(secondLevelBits))
    }

    /// The first class whose every range is at least `n` bytes; `classCount` when none.
    @inline(__always)
    static func guaranteedClass(_ n: UInt64) -> Int {
        let c = sizeClass(n)
        return classMinimum(c) < n ? c + 1 : c
    }
}

extension Core {
    @inline(__always) var secondLevel: UnsafeMutablePointer<UInt32> { tlsfIndex + TLSF.classCount }

    /// Makes the whole block one untouched tail.
    mutating func initTLSF() {
        let t = takeSlot()
        records[t].offset = 0
        records[t].size = blockSize
        records[t].prevFree = Tag.of(.tail)
        records[t].prevPhysical = noRecord
        records[t].nextPhysical = noRecord
        tail = t
        firstPhysical = t
    }

    mutating func resetTLSF() {
        retireAll()
        dropDeferredFrees()
        tlsfIndex.update(repeating: noRecord, count: TLSF.classCount)
        secondLevel.update(repeating: 0, count: TLSF.firstLevelCount)
        firstLevelBitmap = 0
        freeRangeCount = 0
        initTLSF()
    }

    // MARK: Free lists

    @inline(__always)
    mutating func insertFree(_ i: UInt32) {
        let c = TLSF.sizeClass(records[i].size)
        let head = tlsfIndex[c]
        // A free-list link in `prevFree` is what makes the record free (see `Tag`).
        records[i].prevFree = noRecord
        records[i].nextFree = head
        if head != noRecord { records[head].prevFree = i }
        tlsfIndex[c] = i
        let first = c >> TLSF.secondLevelBits
        secondLevel[first] |= 1 &<< UInt32(c & (TLSF.secondLevelCount - 1))
        firstLevelBitmap |= 1 &<< UInt64(first)
        freeRangeCount += 1
    }

    @inline(__always)
    mutating func removeFree(_ i: UInt32) {
        let prev = records[i].prevFree
        let next = records[i].nextFree
        if prev != noRecord {
            records[prev].nextFree = next
        } else {
            let c = TLSF.sizeClass(records[i].size)
            tlsfIndex[c] = next
            if next == noRecord {
                let first = c >> TLSF.secondLevelBits
                secondLevel[first] &= ~(1 &<< UInt32(c & (TLSF.secondLevelCount - 1)))
                if secondLevel[first] == 0 { firstLevelBitmap &= ~(1 &<< UInt64(first)) }
            }
        }
        if next != noRecord { records[next].prevFree = prev }
        freeRangeCount -= 1
    }

    /// The first class at or above `c` with a free range; `TLSF.classCount` when none.
    @inline(__always)
    func firstNonEmptyClass(from c: Int) -> Int {
        if c >= TLSF.classCount { return TLSF.classCount }
        var first = c >> TLSF.secondLevelBits
        var map = secondLevel[first] & (UInt32.max &<< UInt32(c & (TLSF.secondLevelCount - 1)))
        if map == 0 {
            // first + 1 ≤ 60, so the shift stays inside 64 bits.
            let above = firstLevelBitmap & ~((1 &<< UInt64(first + 1)) &- 1)
            if above == 0 { return TLSF.classCount }
            first = above.trailingZeroBitCount
            map = secondLevel[first]
        }
        return first << TLSF.secondLevelBits | map.trailingZeroBitCount
    }

    /// Makes live allocation, deferred range or tail `i` the range above `below`.
    @inline(__always)
    mutating func linkAbove(_ below: UInt32, _ i: UInt32) {
        if below == noRecord { firstPhysical = i } else { records[below].nextPhysical = i }
    }

    /// Makes free range `i` the range above `below`, which is live or deferred (free
    /// ranges merge).
    @inline(__always)
    mutating func linkFreeAbove(_ below: UInt32, _ i: UInt32) {
        if below == noRecord { firstPhysical = i } else { records[below].nextPhysical = i | Record.freeNeighbourFlag }
    }

    // MARK: Search (pure: nothing changes until `tlsfCommit`)

    /// Where the request fits in free range (or tail) `i`, or nil.
    @inline(__always)
    func fit(in i: UInt32, size: UInt64, alignment: UInt64, kind: UInt8) -> UInt64? {
        let r = records[i]
        // Coalescing keeps free ranges between live allocations (or the block's ends).
        return placeAscending(start: r.offset, end: r.end, below: r.prevPhysical,
                              above: i == tail ? noRecord : r.nextPhysical,
                              size: size, alignment: alignment, kind: kind)
    }

    /// Tries at most `budget` ranges of the non-empty classes in `[low, high)`, smallest
    /// class first. `mutating` to pass `self` by reference (see `tlsfFind`).
    @inline(__always)
    mutating func scanClasses(from low: Int, below high: Int, budget: inout Int,
                     size: UInt64, alignment: UInt64, kind: UInt8) -> (UInt32, UInt64)? {
        var c = firstNonEmptyClass(from: low)
        while c < high && budget > 0 {
            var i = tlsfIndex[c]
            repeat {
                if let o = fit(in: i, size: size, alignment: alignment, kind: kind) { return (i, o) }
                budget -= 1
                i = records[i].nextFree
            } while i != noRecord && budget > 0
            c = firstNonEmptyClass(from: c + 1)
        }
        return nil
    }

    /// Finds a place for the request without changing anything.
    ///
    /// `need` is the size of a free range that holds the request wherever alignment and
    /// granularity put it; every range of a class whose minimum is `need` or more fits,
    /// so the first such non-empty class (one bitmap scan) settles most requests in
    /// O(1). Smaller classes are only tried a bounded number of times, except the class
    /// of `need` itself, which is searched fully before reporting "out of room" so that
    /// a request never fails while a range of `need` bytes is free.
    ///
    /// - Complexity: O(1) for `.bestFit` and `.firstFit` while the block has room;
    ///   O(free ranges in one class) before failing; O(free ranges) for `.lowestOffset`.
    ///
    /// `mutating` only so that `self` is passed by reference: called from a mutating
    /// method, a non-mutating call made the compiler copy the whole core each time.
    mutating func tlsfFind(size: UInt64, alignment: UInt64, kind: UInt8,
                  strategy: AllocationStrategy) -> (UInt32, UInt64)? {
        let g = granularity
        let (need, overflow) = size.addingReportingOverflow(max(alignment, g) - 1 + (g - 1))
        let needClass = overflow ? TLSF.classCount : TLSF.sizeClass(need)
        let sureClass = overflow ? TLSF.classCount : TLSF.guaranteedClass(need)
        let sizeClass = TLSF.sizeClass(size)
        var budget = TLSF.searchBudget
        var unlimited = Int.max

        switch strategy {
        case .bestFit:
            // Holes before the tail: the tail is kept whole for large requests.
            if let hit = scanClasses(from: sizeClass, below: sureClass, budget: &budget,
                                     size: size, alignment: alignment, kind: kind) { return hit }
            if let hit = scanClasses(from: sureClass, below: TLSF.classCount, budget: &unlimited,
                                     size: size, alignment: alignment, kind: kind) { return hit }
            if let o = fit(in: tail, size: size, alignment: alignment, kind: kind) { return (tail, o) }
        case .firstFit:
            // The tail needs no list update: the cheapest place there is.
            if let o = fit(in: tail, size: size, alignment: alignment, kind: kind) { return (tail, o) }
            if let hit = scanClasses(from: sureClass, below: TLSF.classCount, budget: &unlimited,
                                     size: size, alignment: alignment, kind: kind) { return hit }
            if let hit = scanClasses(from: sizeClass, below: sureClass, budget: &budget,
                                     size: size, alignment: alignment, kind: kind) { return hit }
        case .lowestOffset:
            var best: (UInt32, UInt64)?
            var c = firstNonEmptyClass(from: sizeClass)
            while c < TLSF.classCount {
                var i = tlsfIndex[c]
                while i != noRecord {
                    if records[i].offset < best?.1 ?? .max,
                       let o = fit(in: i, size: size, alignment: alignment, kind: kind) {
                        best = (i, o)
                    }
                    i = records[i].nextFree
                }
                c = firstNonEmptyClass(from: c + 1)
            }
            if let best { return best }
            // The tail is the highest range, so it only serves when nothing else fits.
            if let o = fit(in: tail, size: size, alignment: alignment, kind: kind) { return (tail, o) }
            return nil
        }
        // The guarantee: ranges of `need` bytes or more that the bounded scans skipped
        // can only be in need's own class.
        if needClass < sureClass, tlsfIndex[needClass] != noRecord {
            return scanClasses(from: needClass, below: needClass + 1, budget: &unlimited,
                               size: size, alignment: alignment, kind: kind)
        }
        return nil
    }

    // MARK: Mutation

    /// Carves the allocation out of range `i` at offset `o` found by `tlsfFind`.
    /// - Complexity: O(1).
    /// `keepPadding: false` makes any bytes below `o` a free range of their own.
    mutating func tlsfCommit(range i: UInt32, at o: UInt64, size: UInt64, alignment: UInt64,
                             kind: UInt8, userData: UInt64, keepPadding: Bool = true) -> UInt32 {
        let r = records[i]
        let end = o + size
        let pad = o - r.offset
        let keep = pad == 0 || keepPadding && pad < TLSF.keptPadding
        if i == tail {
            var below = r.prevPhysical
            if !keep {
                let p = newRange(offset: r.offset, size: pad, below: below)
                insertFree(p)
                below = p
            }
            let a = takeSlot()
            makeLive(a, offset: o, size: size, alignment: alignment, kind: kind, userData: userData,
                     padding: keep ? pad : 0)
            records[a].prevPhysical = keep ? below : below | Record.freeNeighbourFlag
            records[a].nextPhysical = tail
            linkAbove(below, a)
            records[tail].prevPhysical = a
            records[tail].offset = end
            records[tail].size = r.end - end
            return a
        }
        removeFree(i)
        if !keep {
            let p = newRange(offset: r.offset, size: pad, below: r.prevPhysical)
            records[p].nextPhysical = i
            records[i].prevPhysical = p | Record.freeNeighbourFlag
            insertFree(p)
        } else {
            // The allocation below no longer has a free range above.
            linkAbove(r.prevPhysical, i)
        }
        // After `removeFree`, which reads the free-list links that the tag replaces.
        makeLive(i, offset: o, size: size, alignment: alignment, kind: kind, userData: userData,
                 padding: keep ? pad : 0)
        // Free ranges never touch the tail (they merge into it), so the range above is
        // live or deferred: either keeps its free-neighbour flags.
        let above = r.nextPhysical
        let remainder = r.end - end
        if remainder > 0 {
            let q = newRange(offset: end, size: remainder, below: i)
            records[q].nextPhysical = above
            records[above].prevPhysical = q | Record.freeNeighbourFlag
            insertFree(q)
        } else {
            records[above].prevPhysical = i
        }
        return i
    }

    /// A new range record linked above `below`; the caller links the range above it
    /// and makes it free (`insertFree`).
    @inline(__always)
    mutating func newRange(offset: UInt64, size: UInt64, below: UInt32) -> UInt32 {
        let p = takeSlot()
        records[p].offset = offset
        records[p].size = size
        records[p].prevPhysical = below
        linkFreeAbove(below, p)
        return p
    }

    /// Returns retired allocation `a` (just freed, or deferred: see
    /// Core+DeferredFree.swift) to the free ranges, merging it with free neighbours.
    /// - Complexity: O(1).
    mutating func tlsfMerge(_ a: UInt32) {
        let r = records[a]
        var offset = r.start
        var size = r.end - offset
        var below = r.below
        var above = r.above
        let belowFree = r.belowIsFree
        let aboveFree = r.aboveIsFree
        if belowFree {
            let p = below
            removeFree(p)
            offset = records[p].offset
            size += records[p].size
            below = records[p].prevPhysical
            releaseSlot(p)
        }
        if above == tail {
            records[tail].offset = offset
            records[tail].size += size
            records[tail].prevPhysical = below
            linkAbove(below, tail)
            releaseSlot(a)
            return
        }
        if aboveFree {
            let n = above
            removeFree(n)
            size += records[n].size
            above = records[n].nextPhysical
            releaseSlot(n)
        }
        records[a].offset = offset
        records[a].size = size
        records[a].prevPhysical = below
        // Sets the live range below's `aboveIsFree`.
        linkFreeAbove(below, a)
        records[a].nextPhysical = above
        // Not the tail and not free (merged above), so live or deferred.
        records[above].prevPhysical = a | Record.freeNeighbourFlag
        // Replaces the record's tag (padding, kind) with free-list links.
        insertFree(a)
    }

    /// The largest free range, exactly: the tail or the largest range of the highest
    /// non-empty class.
    /// - Complexity: O(free ranges in the highest non-empty class).
    func tlsfLargestFree() -> UInt64 {
        var best = records[tail].size
        if firstLevelBitmap != 0 {
            let first = 63 - firstLevelBitmap.leadingZeroBitCount
            let second = 31 - secondLevel[first].leadingZeroBitCount
            var i = tlsfIndex[first << TLSF.secondLevelBits | second]
            while i != noRecord {
                best = max(best, records[i].size)
                i = records[i].nextFree
            }
        }
        return best
    }
}
