extension Allocator {
    /// Checks the margins of every live allocation in the memory types of
    /// `memoryTypeBits` (all by default) and reports each one overwritten: VMA's
    /// `vmaCheckCorruption`, which answers `VK_ERROR_UNKNOWN` where this returns reports.
    ///
    /// Margins exist with `AllocatorOptions.detectCorruption`, in pages of host-visible
    /// memory (the allocator's own and custom pools'). They detect host writes past an
    /// allocation's end or before its start; a device's writes show on coherent memory
    /// (non-coherent memory is not invalidated here).
    /// - Returns: one report per overwritten margin, naming the allocation (its name and
    ///   the call that made it); empty when every margin is intact.
    /// - Throws: `.corruptionDetectionNotEnabled` when none of the types has margins to
    ///   check (VMA's `VK_ERROR_FEATURE_NOT_PRESENT`).
    /// - Complexity: O(live allocations of those types + their margin bytes); takes each
    ///   type's lock in turn.
    public func checkCorruption(memoryTypeBits: UInt32 = .max) throws(AllocationError) -> [CorruptionReport] {
        let checked = everyPagePool().filter {
            $0.debug.detectCorruption && $0.typeIndex < 32 && memoryTypeBits & (1 << UInt32($0.typeIndex)) != 0
        }
        guard !checked.isEmpty else { throw .corruptionDetectionNotEnabled(memoryTypeBits: memoryTypeBits) }
        return checked.flatMap { $0.checkCorruption() }
    }

    /// The overwritten margins that frees found since the last call, oldest first per
    /// memory type, and forgets them.
    ///
    /// A free whose allocation's margin was overwritten completes (the range is freed, the
    /// allocator as after any free) and reports it here and as a swift-log error, where
    /// VMA asserts: the writer is elsewhere, and stopping the program at the free helps
    /// no more than this report, which names the allocation and where it was made.
    /// - Complexity: O(memory types + reports).
    public func takeCorruptionReports() -> [CorruptionReport] {
        let ofDestroyedPools = orphanedCorruptions.withLock { reports in
            defer { reports.removeAll() }
            return reports
        }
        return ofDestroyedPools + everyPagePool().flatMap { $0.takeCorruptionReports() }
    }
}
