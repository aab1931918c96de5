/// One memory heap in a `Statistics`: its size and flags, the driver's budget and usage,
/// and what this allocator holds in it.
public struct HeapStatistics: Codable, Sendable, Equatable {
    /// The heap's index.
    public let index: Int
    /// The heap's size in bytes.
    public let size: UInt64
    /// `VkMemoryHeapFlags` names (`DEVICE_LOCAL`…).
    public let flags: [String]
    /// Bytes the process may use (`MemoryBudget`).
    public let budget: UInt64
    /// Bytes in use by the process, as `MemoryBudget` reports it: this allocator's memory
    /// and any other of the process (or only this library's, when estimated).
    public let usage: UInt64
    /// Where `budget` and `usage` come from: `memoryBudgetExtension` or `estimated`.
    public let budgetSource: String
    /// Bytes this allocator holds in the heap: the `committedBytes` of its types.
    public let committedBytes: UInt64
}
