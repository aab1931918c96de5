/// Exact best fit in one unbounded range: the yardstick for W3's committed memory.
///
/// Each request takes the smallest free range that holds it (the lowest one among
/// equals), at that range's start; when none holds it, it goes at the top of what is in
/// use. Frees merge with free neighbours, and a free range that reaches the top lowers
/// the top. Nothing is ever moved. The top's peak over a run is the memory that
/// placement needs for that run without pages: page boundaries and growth steps only add
/// to it.
///
/// Free ranges are kept sorted by offset in one array: O(free ranges) per operation,
/// which is plenty for a reference run once per benchmark invocation.
public struct BestFitReference: Sendable {
    /// Free ranges below `top`, sorted by offset, never adjacent to each other.
    public private(set) var freeRanges: [(offset: UInt64, size: UInt64)] = []
    /// One past the highest byte in use.
    public private(set) var top: UInt64 = 0
    /// The highest `top` so far.
    public private(set) var peak: UInt64 = 0

    /// An empty range.
    public init() {}

    /// Places `size` bytes (more than zero) and returns the offset.
    ///
    /// - Complexity: O(free ranges).
    public mutating func allocate(_ size: UInt64) -> UInt64 {
        precondition(size > 0, "BestFitReference places sizes above zero")
        var best = -1
        for index in freeRanges.indices where freeRanges[index].size >= size {
            if best < 0 || freeRanges[index].size < freeRanges[best].size { best = index }
        }
        guard best >= 0 else {
            let offset = top
            top += size
            peak = max(peak, top)
            return offset
        }
        let offset = freeRanges[best].offset
        if freeRanges[best].size == size {
            freeRanges.remove(at: best)
        } else {
            freeRanges[best].offset += size
            freeRanges[best].size -= size
        }
        return offset
    }

    /// Frees `size` bytes at `offset`, as placed by `allocate`.
    ///
    /// - Complexity: O(free ranges).
    public mutating func free(offset: UInt64, size: UInt64) {
        // The first free range above the freed one.
        var low = 0
        var high = freeRanges.count
        while low < high {
            let middle = (low + high) / 2
            if freeRanges[middle].offset < offset { low = middle + 1 } else { high = middle }
        }
        var start = offset
        var end = offset + size
        var removeFrom = low
        var removeTo = low
        if low > 0, freeRanges[low - 1].offset + freeRanges[low - 1].size == offset {
            start = freeRanges[low - 1].offset
            removeFrom = low - 1
        }
        if low < freeRanges.count, freeRanges[low].offset == end {
            end += freeRanges[low].size
            removeTo = low + 1
        }
        if end == top {
            freeRanges.removeSubrange(removeFrom..<removeTo)
            top = start
        } else {
            freeRanges.replaceSubrange(removeFrom..<removeTo, with: [(start, end - start)])
        }
    }

    /// The peak `top` of a W3-shaped run: `initialSizes` placed in order, then for each
    /// step the allocation in slot `victims[step]` freed and `stepSizes[step]` placed in
    /// that slot.
    public static func peakExtent(initialSizes: ArraySlice<UInt64>, stepSizes: ArraySlice<UInt64>,
                                  victims: [Int]) -> UInt64 {
        extents(initialSizes: initialSizes, stepSizes: stepSizes, victims: victims).peak
    }

    /// The peak `top` of a W3-shaped run (as `peakExtent`) and the `top` at its end.
    public static func extents(initialSizes: ArraySlice<UInt64>, stepSizes: ArraySlice<UInt64>,
                               victims: [Int]) -> (peak: UInt64, end: UInt64) {
        precondition(victims.count >= stepSizes.count, "one victim per step")
        var range = BestFitReference()
        var slots = initialSizes.map { (offset: range.allocate($0), size: $0) }
        for (step, size) in stepSizes.enumerated() {
            let victim = victims[step]
            range.free(offset: slots[victim].offset, size: slots[victim].size)
            slots[victim] = (range.allocate(size), size)
        }
        return (range.peak, range.top)
    }
}
