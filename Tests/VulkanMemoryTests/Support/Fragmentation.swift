@testable import VulkanMemory

/// An allocator whose pages grow towards 8 MiB (1 MiB first) on lavapipe's one memory
/// type: a few hundred KiB of allocations spread over many pages.
func smallPageAllocator(_ context: VulkanContext) -> Allocator {
    var options = AllocatorOptions()
    options.pageSizeByType[0] = 8 << 20
    return Allocator(device: context.device, options: options)
}

/// Removes two of every three elements (keeping indices 0, 3, 6, …), last first, handing
/// each to `release`: the fragmentation the defragmentation tests start from.
func keepEveryThird<T, E: Error>(_ items: inout [T], release: (T) throws(E) -> Void) throws(E) {
    for index in stride(from: items.count - 1, through: 0, by: -1) where index % 3 != 0 {
        try release(items.remove(at: index))
    }
}
