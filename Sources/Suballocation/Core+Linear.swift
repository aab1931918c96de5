/// The linear engine's order of allocations, as in VMA's linear algorithm.
///
/// `first` holds allocations in ascending offset order, appended at its end. `second`
/// is either the ring buffer's wrapped part (allocations placed at the start of the
/// block, below `first`'s oldest, ascending) or the upper stack of a double stack
/// (pushed downwards from the end of the block, so descending). Freed allocations in
/// the middle of a vector leave holes (`noRecord`) that are reclaimed once everything
/// between them and an end of the vector is freed; the ends are always live.
struct LinearState {
    enum SecondUse { case none, ring, upperStack }

    var first: [UInt32] = []
    /// Entries of `first` below this index are gone (freed from the front, ring style).
    var firstHead = 0
    var second: [UInt32] = []
    var secondUse = SecondUse.none
}

extension Core {
    var linearMode: VirtualBlock.LinearMode {
        if case .linear(let mode) = algorithm { return mode }
        preconditionFailure("linear operation on a TLSF block")
    }

    /// The highest live allocation of `first`, or `noRecord`.
    @inline(__always)
    var firstTop: UInt32 { linear.first.count > linear.firstHead ? linear.first[linear.first.count - 1] : noRecord }

    /// The oldest live allocation of `first`, or `noRecord`.
    @inline(__always)
    var firstBottom: UInt32 { linear.first.count > linear.firstHead ? linear.first[linear.firstHead] : noRecord }

    @inline(__always)
    var secondTop: UInt32 { linear.second.last ?? noRecord }

    /// Where a request goes: which vector and at what offset, or nil when out of room.
    /// - Complexity: O(1).
    func linearFind(size: UInt64, alignment: UInt64, kind: UInt8, upperAddress: Bool) -> (vector: UInt32, offset: UInt64)? {
        let mode = linearMode
        if upperAddress {
            let top = linear.secondUse == .upperStack ? secondTop : noRecord
            var end = top == noRecord ? blockSize : records[top].offset
            let below = firstTop
            let floor = below == noRecord ? 0 : records[below].end
            let g = granularity
            if g > 1, top != noRecord, SuballocationKind.conflict(records[top].kind, kind) {
                // Ending on the page of the conflicting allocation above is never allowed,
                // so end at that page's start at the latest.
                end = alignDown(end, g)
            }
            guard end >= size else { return nil }
            let o = alignDown(end - size, alignment)
            guard o >= floor else { return nil }
            if g > 1, below != noRecord, SuballocationKind.conflict(records[below].kind, kind),
               alignDown(records[below].end - 1, g) == alignDown(o, g) {
                return nil
            }
            return (1, o)
        }
        if linear.secondUse != .ring {
            let below = firstTop
            let above = linear.secondUse == .upperStack ? secondTop : noRecord
            if let o = placeAscending(start: below == noRecord ? 0 : records[below].end,
                                      end: above == noRecord ? blockSize : records[above].offset,
                                      below: below, above: above, size: size, alignment: alignment, kind: kind) {
                return (0, o)
            }
        }
        let mayWrap = mode == .automatic || mode == .ringBuffer
        if mayWrap, linear.secondUse != .upperStack, firstBottom != noRecord {
            let below = linear.secondUse == .ring ? secondTop : noRecord
            let above = firstBottom
            if let o = placeAscending(start: below == noRecord ? 0 : records[below].end, end: records[above].offset,
                                      below: below, above: above, size: size, alignment: alignment, kind: kind) {
                return (1, o)
            }
        }
        return nil
    }

    mutating func linearCommit(vector: UInt32, offset: UInt64, size: UInt64, alignment: UInt64,
                               kind: UInt8, upperAddress: Bool, userData: UInt64) -> UInt32 {
        let a = takeSlot()
        makeLive(a, offset: offset, size: size, alignment: alignment, kind: kind, userData: userData)
        records[a].nextPhysical = vector
        if vector == 0 {
            records[a].prevPhysical = UInt32(linear.first.count)
            linear.first.append(a)
        } else {
            records[a].prevPhysical = UInt32(linear.second.count)
            linear.second.append(a)
            linear.secondUse = upperAddress ? .upperStack : .ring
        }
        return a
    }

    /// Whether the block's explicit mode lets live allocation `a` be freed now.
    @inline(__always)
    func linearFreeAllowed(_ a: UInt32) -> Bool {
        let inFirst = records[a].nextPhysical == 0
        let position = Int(records[a].prevPhysical)
        switch linearMode {
        case .automatic: return true
        case .freeAtOnce: return false
        case .stack: return inFirst && position == linear.first.count - 1
        case .doubleStack: return position == (inFirst ? linear.first.count : linear.second.count) - 1
        case .ringBuffer: return inFirst && position == linear.firstHead
        }
    }

    /// Frees `a`, trimming holes at the vectors' ends.
    /// - Complexity: O(1) amortised; a vector is compacted or swapped now and then.
    mutating func linearFree(_ a: UInt32) {
        let inFirst = records[a].nextPhysical == 0
        let position = Int(records[a].prevPhysical)
        retire(a)
        releaseSlot(a)
        if inFirst {
            linear.first[position] = noRecord
            while let last = linear.first.last, last == noRecord, linear.first.count > linear.firstHead {
                linear.first.removeLast()
            }
            while linear.firstHead < linear.first.count, linear.first[linear.firstHead] == noRecord {
                linear.firstHead += 1
            }
            if linear.firstHead == linear.first.count {
                linear.first.removeAll(keepingCapacity: true)
                linear.firstHead = 0
                if linear.secondUse == .ring {
                    // The ring's wrapped part becomes the oldest run of allocations.
                    swap(&linear.first, &linear.second)
                    linear.secondUse = .none
                    renumber(from: 0)
                    trimFirstFront()
                }
            } else if linear.firstHead >= 256, linear.firstHead * 2 >= linear.first.count {
                linear.first.removeFirst(linear.firstHead)
                linear.firstHead = 0
                renumber(from: 0)
            }
        } else {
            linear.second[position] = noRecord
            while let last = linear.second.last, last == noRecord { linear.second.removeLast() }
            if linear.second.isEmpty { linear.secondUse = .none }
        }
    }

    private mutating func trimFirstFront() {
        while linear.firstHead < linear.first.count, linear.first[linear.firstHead] == noRecord {
            linear.firstHead += 1
        }
    }

    /// Rewrites the positions stored in `first`'s records after it moved.
    private mutating func renumber(from start: Int) {
        for p in start..<linear.first.count where linear.first[p] != noRecord {
            let i = linear.first[p]
            records[i].nextPhysical = 0
            records[i].prevPhysical = UInt32(p)
        }
    }

    mutating func resetLinear() {
        retireAll()
        linear = LinearState()
    }

    /// Live allocations of a linear block in address order.
    func linearForEachLive<E: Error>(_ body: (UInt32) throws(E) -> Void) throws(E) {
        if linear.secondUse == .ring {
            for i in linear.second where i != noRecord { try body(i) }
        }
        for p in linear.firstHead..<linear.first.count where linear.first[p] != noRecord {
            try body(linear.first[p])
        }
        if linear.secondUse == .upperStack {
            for i in linear.second.reversed() where i != noRecord { try body(i) }
        }
    }
}
