/// One dedicated allocation (a `VkDeviceMemory` of its own) in a `Statistics`.
public struct DedicatedStatistics: Codable, Sendable, Equatable {
    /// The memory type.
    public let memoryTypeIndex: Int
    /// The allocation's size in bytes, which is its memory's size.
    public let size: UInt64
    /// The allocation's name (`AllocationOptions.name`), if given.
    public let name: String?
    /// Whether the memory is mapped into the host's address space.
    public let mapped: Bool
    /// The kind of resource the memory was asked for (never `free`).
    public let kind: RangeStatistics.Kind
    /// The buffer or image the allocator bound to the memory; absent when nothing was
    /// bound through the allocator.
    public let resource: RangeStatistics.Resource?
    /// The resource's usage flags as created; absent where `resource` is.
    public let usage: UInt32?
    /// `#fileID` of the call that allocated.
    public let fileID: String
    /// The line of that call.
    public let line: Int
    /// The resources aliasing the allocation; absent when none does.
    public internal(set) var aliases: [AliasStatistics]? = nil
}
