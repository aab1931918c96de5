extension Core {
    /// Stops the program with a description of the first broken invariant.
    func checkInvariants() {
        checkRecordTable()
        checkLiveAllocations()
        switch algorithm {
        case .tlsf:
            checkTLSFRanges()
            checkTLSFFreeLists()
        case .linear:
            checkLinearVectors()
        }
    }

    private func fail(_ message: String) -> Never {
        preconditionFailure("VirtualBlock invariant broken: \(message)")
    }

    /// Every slot is in exactly one state and the recycled chain holds exactly the unused ones.
    private func checkRecordTable() {
        var unused = 0
        var live = 0
        var deferred = 0
        for i in 0..<recordCount {
            switch records[UInt32(i)].state {
            case .unused: unused += 1
            case .allocated: live += 1
            case .deferred: deferred += 1
            case .free, .tail: break
            }
        }
        let queued = deferredRanges
        guard newerDeferred != noRecord || olderDeferred == noRecord else { fail("older deferred slot filled first") }
        guard queued.count == deferred, Set(queued).count == queued.count,
              queued.allSatisfy({ Int($0) < recordCount && records[$0].state == .deferred }) else {
            fail("\(deferred) deferred records but \(queued) queued")
        }
        var chained = 0
        var i = recycled
        while i != noRecord {
            guard Int(i) < recordCount, records[i].state == .unused else { fail("recycled chain reaches slot \(i) in use") }
            chained += 1
            guard chained <= unused else { fail("recycled chain loops") }
            i = records[i].nextFree
        }
        guard chained == unused else { fail("\(unused) unused slots but \(chained) recycled") }
        guard live == allocationCount else { fail("\(live) live records but allocationCount \(allocationCount)") }
        for key in names.keys where Int(key) >= recordCount || records[key].state != .allocated {
            fail("a name is kept for slot \(key), which is not live")
        }
    }

    /// In address order: inside the block, no overlap, aligned, granularity kept, and
    /// the totals agree with a recount.
    private func checkLiveAllocations() {
        var cursor: UInt64 = 0
        var previous = noRecord
        var count = 0
        var bytes: UInt64 = 0
        forEachLive { i in
            let r = records[i]
            guard r.state == .allocated, r.size > 0 else { fail("slot \(i) listed as live is not") }
            guard r.offset >= cursor else { fail("allocation \(i) at \(r.offset) overlaps the one ending at \(cursor)") }
            guard r.offset <= blockSize, blockSize - r.offset >= r.size else { fail("allocation \(i) leaves the block") }
            guard r.offset & ((1 << UInt64(r.alignmentLog2)) - 1) == 0 else { fail("allocation \(i) misaligned") }
            if granularity > 1, previous != noRecord {
                let p = records[previous]
                if SuballocationKind.conflict(p.kind, r.kind),
                   alignDown(p.end - 1, granularity) == alignDown(r.offset, granularity) {
                    fail("allocations \(previous) and \(i) of conflicting kinds share a granularity page")
                }
            }
            cursor = r.end
            previous = i
            count += 1
            bytes += r.size
        }
        guard count == allocationCount else { fail("\(count) allocations reachable, allocationCount \(allocationCount)") }
        guard bytes == allocatedBytes else { fail("\(bytes) bytes allocated by recount, \(allocatedBytes) kept") }
    }

    /// The physical list tiles the block from 0 to the end, ends with the tail, no
    /// free range touches another free range or the tail, and live and deferred
    /// ranges know which neighbours are free ranges.
    private func checkTLSFRanges() {
        var cursor: UInt64 = 0
        var previous = noRecord
        var free = 0
        var i = firstPhysical
        var steps = 0
        while i != noRecord {
            let r = records[i]
            steps += 1
            guard steps <= recordCount else { fail("physical list loops") }
            guard r.below == previous else { fail("range \(i) links back to \(r.below), not \(previous)") }
            guard r.start == cursor else { fail("range \(i) starts at \(r.start), expected \(cursor)") }
            guard UInt64(r.padding) < TLSF.keptPadding, r.padding == 0 || r.state == .allocated || r.state == .deferred else {
                fail("range \(i) keeps \(r.padding) bytes of padding")
            }
            switch r.state {
            case .unused: fail("released slot \(i) is on the physical list")
            case .free:
                guard r.size > 0 else { fail("free range \(i) is empty") }
                free += 1
                if previous != noRecord, records[previous].state == .free { fail("free ranges \(previous) and \(i) not merged") }
            case .tail:
                guard i == tail, r.nextPhysical == noRecord else { fail("tail \(i) is not the last range") }
                if r.size > 0, previous != noRecord, records[previous].state == .free {
                    fail("free range \(previous) not merged into the tail")
                }
            case .allocated, .deferred:
                // A deferred range's neighbours keep its flags as a live allocation's.
                guard r.size > 0 else { fail("range \(i) in state \(r.state) is empty") }
                let freeBelow = previous != noRecord && records[previous].state == .free
                guard r.belowIsFree == freeBelow else { fail("allocation \(i) believes the range below free: \(!freeBelow)") }
                let freeAbove = r.above != tail && records[r.above].state == .free
                guard r.aboveIsFree == freeAbove else { fail("allocation \(i) believes the range above free: \(!freeAbove)") }
            }
            cursor = r.end
            previous = i
            i = r.above
        }
        guard previous == tail, cursor == blockSize else { fail("ranges end at \(cursor), block size \(blockSize)") }
        guard free == freeRangeCount else { fail("\(free) free ranges, freeRangeCount \(freeRangeCount)") }
    }

    /// Each free range is on the list of its class, once, and the bitmaps mark
    /// exactly the non-empty classes.
    private func checkTLSFFreeLists() {
        var listed = 0
        for c in 0..<TLSF.classCount {
            let first = c >> TLSF.secondLevelBits
            let bit = secondLevel[first] & (1 << UInt32(c & (TLSF.secondLevelCount - 1))) != 0
            guard bit == (tlsfIndex[c] != noRecord) else { fail("class \(c): bitmap \(bit) disagrees with its list") }
            var previous = noRecord
            var i = tlsfIndex[c]
            while i != noRecord {
                let r = records[i]
                listed += 1
                guard listed <= freeRangeCount else { fail("free lists hold more than \(freeRangeCount) ranges") }
                guard r.state == .free else { fail("slot \(i) on free list \(c) is not free") }
                guard TLSF.sizeClass(r.size) == c else { fail("range \(i) of \(r.size) B on list \(c)") }
                guard r.prevFree == previous else { fail("free list \(c) back link broken at \(i)") }
                previous = i
                i = r.nextFree
            }
        }
        for first in 0..<TLSF.firstLevelCount {
            let bit = firstLevelBitmap & (1 << UInt64(first)) != 0
            guard bit == (secondLevel[first] != 0) else { fail("first-level bit \(first) disagrees with its classes") }
        }
        guard listed == freeRangeCount else { fail("\(listed) listed free ranges, \(freeRangeCount) kept") }
    }

    /// Vector ends are live, stored positions are right, and the wrapped or upper part
    /// stays on its side of the first vector.
    private func checkLinearVectors() {
        let l = linear
        guard l.firstHead <= l.first.count else { fail("first vector head past its end") }
        if l.firstHead < l.first.count {
            guard l.first[l.firstHead] != noRecord, l.first[l.first.count - 1] != noRecord else {
                fail("first vector ends in a hole")
            }
        } else {
            guard l.first.isEmpty, l.firstHead == 0 else { fail("empty first vector not cleared") }
            guard l.secondUse != .ring else { fail("ring wrapped part with no first run") }
        }
        guard l.second.isEmpty == (l.secondUse == .none) else { fail("second vector use \(l.secondUse) disagrees with its contents") }
        guard l.second.last ?? 0 != noRecord else { fail("second vector ends in a hole") }
        var held = 0
        for (vector, items) in [(UInt32(0), l.first), (UInt32(1), l.second)] {
            for (p, i) in items.enumerated() where i != noRecord {
                if vector == 0 && p < l.firstHead { fail("entry before the first vector's head") }
                guard records[i].state == .allocated, records[i].nextPhysical == vector,
                      records[i].prevPhysical == UInt32(p) else { fail("record \(i) has a wrong vector position") }
                held += 1
            }
        }
        guard held == allocationCount else { fail("vectors hold \(held) allocations, allocationCount \(allocationCount)") }
        // Address order within each vector and across them is checked by
        // checkLiveAllocations, which walks them in the order they claim.
    }
}
