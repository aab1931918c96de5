/// Why heaps and types given to `MemoryProperties.init(heaps:types:limits:)` do not
/// describe a Vulkan device.
public enum MemoryPropertiesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No heap, or more than `VK_MAX_MEMORY_HEAPS` (16).
    case heapCount(Int)
    /// No memory type, or more than `VK_MAX_MEMORY_TYPES` (32).
    case typeCount(Int)
    /// The heap at `position` says it is heap `index`: heaps must be in index order.
    case heapOutOfOrder(position: Int, index: Int)
    /// The type at `position` says it is type `index`: types must be in index order.
    case typeOutOfOrder(position: Int, index: Int)
    /// Type `typeIndex` draws from heap `heapIndex`, which is not among the `heapCount` heaps.
    case missingHeap(typeIndex: Int, heapIndex: Int, heapCount: Int)

    /// What is wrong, in words.
    public var description: String {
        switch self {
        case let .heapCount(count):
            "\(count) memory heaps; a Vulkan device has 1 to \(MemoryProperties.maxMemoryHeaps) (VK_MAX_MEMORY_HEAPS)"
        case let .typeCount(count):
            "\(count) memory types; a Vulkan device has 1 to \(MemoryProperties.maxMemoryTypes) (VK_MAX_MEMORY_TYPES)"
        case let .heapOutOfOrder(position, index):
            "the heap at position \(position) has index \(index); give heaps in index order, from 0"
        case let .typeOutOfOrder(position, index):
            "the memory type at position \(position) has index \(index); give types in index order, from 0"
        case let .missingHeap(typeIndex, heapIndex, heapCount):
            "memory type \(typeIndex) draws from heap \(heapIndex), but there are only \(heapCount) heap(s)"
        }
    }
}
