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
    /// The resources aliasing the allocation; absent when none does.
    public internal(set) var aliases: [AliasStatistics]? = nil
}
