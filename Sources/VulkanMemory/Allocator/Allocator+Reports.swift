extension Allocator {
    /// Every live allocation with its name, size, type and the source location of the
    /// call that made it.
    ///
    /// - Complexity: O(ranges of every type's arena); takes each type's lock in turn.
    public func liveAllocations() -> [AllocationReport] {
        var reports: [AllocationReport] = []
        for pool in everyPagePool() { reports += pool.liveAllocationReports() }
        dedicated.withLock { registry in
            for entry in registry.live {
                reports.append(AllocationReport(
                    name: entry.name, size: entry.memory.size, offset: 0, memoryTypeIndex: entry.pool,
                    isDedicated: true, userData: entry.record.userData,
                    fileID: entry.record.fileID.description, line: Int(entry.record.line),
                    aliasCount: entry.aliases.count))
            }
        }
        return reports
    }

    /// The live allocations, logged as warnings through swift-log, and returned: call it
    /// at any time to look for leaks. The allocator reports them this way at teardown too.
    @discardableResult
    public func leaks() -> [AllocationReport] {
        let reports = liveAllocations()
        for report in reports { logger.warning("live allocation: \(report)") }
        return reports
    }

    /// Totals across the allocator: memory committed to pages and dedicated allocations,
    /// bytes in live allocations, and how often `vkAllocateMemory` was called.
    public var usage: AllocatorUsage {
        var usage = AllocatorUsage()
        for pool in everyPagePool() {
            let totals = pool.totals()
            usage.pageCount += totals.pageCount
            usage.emptyPageCount += totals.emptyPageCount
            usage.committedBytes += totals.committedBytes
            usage.liveBytes += totals.liveBytes
            usage.allocationCount += totals.allocationCount
            usage.reservedBytes += totals.reservedBytes
        }
        dedicated.withLock { registry in
            for entry in registry.live {
                usage.dedicatedCount += 1
                usage.committedBytes += entry.memory.size
                usage.liveBytes += entry.memory.size
                usage.allocationCount += 1
            }
        }
        usage.deviceMemoryAllocations = ledger.callCount
        return usage
    }
}

/// Allocator-wide totals (`Allocator.usage`).
public struct AllocatorUsage: Sendable, Hashable {
    /// Shared pages.
    public var pageCount = 0
    /// Wholly free pages kept for reuse.
    public var emptyPageCount = 0
    /// Dedicated allocations.
    public var dedicatedCount = 0
    /// Live allocations, shared and dedicated.
    public var allocationCount = 0
    /// Bytes of `VkDeviceMemory` held: pages plus dedicated memory.
    public var committedBytes: UInt64 = 0
    /// Bytes in live allocations.
    public var liveBytes: UInt64 = 0
    /// Bytes of pages kept by `Allocator.reserve` (part of `committedBytes`).
    public var reservedBytes: UInt64 = 0
    /// `vkAllocateMemory` calls made since the allocator was created: history, not
    /// state, so the one figure a failed call may leave higher (it may have allocated
    /// memory and given it back).
    public var deviceMemoryAllocations = 0
}
