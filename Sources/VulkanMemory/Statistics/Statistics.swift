/// A snapshot of everything an `Allocator` holds: totals, each heap and memory type, every
/// page with each of its allocations and free ranges in address order, and every
/// dedicated allocation (`Allocator.statistics()`).
///
/// A plain value: encode it with `json()` or `yaml()`, or decode one back with any
/// `Decoder` (both forms round-trip to an equal value).
public struct Statistics: Codable, Sendable, Equatable {
    /// The device's name, as the driver reports it.
    public let device: String
    /// Allocator-wide figures; they agree with `Allocator.usage` taken at the same moment.
    public let totals: TotalStatistics
    /// One entry per heap, in heap order.
    public let heaps: [HeapStatistics]
    /// One entry per memory type, in type order.
    public let types: [TypeStatistics]
    /// The live pages, by memory type, each type's in the order the allocator searches them
    /// (oldest first). Wholly free pages kept for reuse are included.
    public let pages: [PageStatistics]
    /// The dedicated allocations, in slot order.
    public let dedicated: [DedicatedStatistics]
    /// The custom pools (`Allocator.makePool`) alive, in the order they were made, pages
    /// or not; a page names its pool in `PageStatistics.pool`.
    public let pools: [PoolStatistics]
}

/// Allocator-wide figures of a `Statistics`.
public struct TotalStatistics: Codable, Sendable, Equatable {
    /// Bytes of `VkDeviceMemory` held: pages plus dedicated memory.
    public let committedBytes: UInt64
    /// Bytes in live allocations, shared and dedicated.
    public let liveBytes: UInt64
    /// Live allocations, shared and dedicated.
    public let allocationCount: Int
    /// Shared pages, empty ones included.
    public let pageCount: Int
    /// Wholly free pages kept for reuse.
    public let emptyPageCount: Int
    /// Dedicated allocations.
    public let dedicatedCount: Int
    /// Bytes of pages not in any allocation (alignment padding included): what page
    /// suballocation costs on top of `liveBytes`.
    public let freeBytesInPages: UInt64
    /// `VkDeviceMemory` objects the allocator holds now: pages plus dedicated memory.
    ///
    /// A snapshot holds state, not history, so that a call that fails leaves an equal
    /// snapshot behind; the number of `vkAllocateMemory` calls made so far is
    /// `AllocatorUsage.deviceMemoryAllocations`.
    public let deviceMemoryCount: Int
}
