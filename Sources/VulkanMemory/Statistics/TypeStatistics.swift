/// One memory type in a `Statistics`: what this allocator holds in it, pages and
/// dedicated allocations together.
public struct TypeStatistics: Codable, Sendable, Equatable {
    /// The type's index.
    public let index: Int
    /// The heap the type draws from.
    public let heapIndex: Int
    /// `VkMemoryPropertyFlags` names (`DEVICE_LOCAL`, `HOST_VISIBLE`…).
    public let flags: [String]
    /// Shared pages of this type, empty ones included.
    public let pageCount: Int
    /// Dedicated allocations of this type.
    public let dedicatedCount: Int
    /// Bytes of `VkDeviceMemory` held: pages plus dedicated memory.
    public let committedBytes: UInt64
    /// Bytes in live allocations, shared and dedicated.
    public let liveBytes: UInt64
    /// Live allocations, shared and dedicated.
    public let allocationCount: Int
    /// The size the allocator gives a new page of this type when the allocation fits
    /// (`AllocatorOptions.pageSizeByType` or the heap-based default): VMA's
    /// "preferred block size".
    public let preferredPageSize: UInt64
}
