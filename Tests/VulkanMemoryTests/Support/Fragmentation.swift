@testable import VulkanMemory

/// An allocator whose pages grow towards 8 MiB (1 MiB first) in every memory type (the
/// one of lavapipe; GPU-only, mapped and host types alike on a discrete GPU): a few
/// hundred KiB of allocations spread over many pages.
func smallPageAllocator(_ context: VulkanContext) -> Allocator {
    var options = AllocatorOptions()
    options.setPageSize(8 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
    return Allocator(device: context.device, options: options)
}

/// Removes two of every three elements (keeping indices 0, 3, 6, …), last first, handing
/// each to `release`: the fragmentation the defragmentation tests start from.
func keepEveryThird<T, E: Error>(_ items: inout [T], release: (T) throws(E) -> Void) throws(E) {
    for index in stride(from: items.count - 1, through: 0, by: -1) where index % 3 != 0 {
        try release(items.remove(at: index))
    }
}
