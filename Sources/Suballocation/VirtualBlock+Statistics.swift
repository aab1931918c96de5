/// Occupancy of a ``VirtualBlock`` at one moment.
public struct VirtualBlockStatistics: Hashable, Sendable, CustomStringConvertible {
    /// Live allocations.
    public var allocationCount: Int
    /// Bytes of live allocations (sizes as asked, alignment padding excluded).
    public var allocatedBytes: UInt64
    /// Bytes not in any live allocation: `size - allocatedBytes` (TLSF alignment
    /// padding kept with allocations included).
    public var freeBytes: UInt64
    /// Free ranges, as ``VirtualBlock/forEachFreeRange(_:)`` lists them.
    public var freeRangeCount: Int
    /// The size of the largest free range, exactly.
    public var largestFreeRange: UInt64

    /// Creates statistics from their values.
    public init(allocationCount: Int, allocatedBytes: UInt64, freeBytes: UInt64,
                freeRangeCount: Int, largestFreeRange: UInt64) {
        self.allocationCount = allocationCount
        self.allocatedBytes = allocatedBytes
        self.freeBytes = freeBytes
        self.freeRangeCount = freeRangeCount
        self.largestFreeRange = largestFreeRange
    }

    /// One line with every figure.
    public var description: String {
        "\(allocationCount) allocations, \(allocatedBytes) B allocated, \(freeBytes) B free in "
            + "\(freeRangeCount) ranges, largest \(largestFreeRange) B"
    }
}

extension VirtualBlock {
    /// Current occupancy.
    ///
    /// Counts and byte totals are maintained as the block changes. The largest free
    /// range is exact: for TLSF it comes from the highest non-empty size class and the
    /// (at most two) freed ranges whose merge is still deferred.
    /// - Complexity: TLSF: O(free ranges in the highest size class). Linear:
    ///   O(allocations), by a walk over the gaps.
    public var statistics: VirtualBlockStatistics {
        let core = box.core
        let count: Int
        let largest: UInt64
        switch core.algorithm {
        case .tlsf:
            (count, largest) = core.tlsfFreeRangeStatistics()
        case .linear:
            (count, largest) = core.gapStatistics()
        }
        return VirtualBlockStatistics(allocationCount: core.allocationCount, allocatedBytes: core.allocatedBytes,
                                      freeBytes: core.blockSize - core.allocatedBytes,
                                      freeRangeCount: count, largestFreeRange: largest)
    }
}
