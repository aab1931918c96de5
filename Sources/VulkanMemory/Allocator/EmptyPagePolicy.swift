/// Which wholly free pages of its own an allocator keeps for reuse rather than giving
/// back to the driver (`AllocatorOptions.emptyPages`).
///
/// A kept page saves the next `vkAllocateMemory` of its type (100 µs to 80 ms on real
/// GPUs) when allocations come and go, at the price of memory no one uses meanwhile. VMA
/// keeps one empty block per memory type, and its users asked for more, bounded by the
/// budget (VMA issues #357 and #470): `.keepWithinBudget(maxBytes:)` is that.
///
/// The policy is applied when a free or `Allocator.releaseReservations()` leaves a page
/// wholly free: the free of an allocation that leaves its page in use does no more work
/// under either policy. `Allocator.freeUnusedPages()` releases every kept page on
/// demand. Custom pools (`MemoryPool`) keep their empty pages until destroyed, whatever
/// the policy; reserved pages (`Allocator.reserve(_:usage:)`) are kept until the
/// reservation ends.
public enum EmptyPagePolicy: Sendable, Hashable {
    /// Keeps at most `count` wholly free pages per memory type: a page that empties
    /// beyond that is released at once. `.keep(0)` releases every page as it empties;
    /// `.keep(1)` is the default.
    case keep(Int)
    /// Keeps wholly free pages while their heap stays within its budget (`MemoryBudget`,
    /// counting what other threads are allocating) and the empty pages of every memory
    /// type together hold at most `maxBytes`. When a page empties and either no longer
    /// holds, empty pages are released, the largest first (the fewest `vkFreeMemory`
    /// calls to get back within both), until both hold again.
    ///
    /// Each time a page empties it costs one budget query (`VK_EXT_memory_budget`, or the
    /// library's estimate) and a look at every memory type's empty pages; frees that empty
    /// no page cost nothing more.
    case keepWithinBudget(maxBytes: UInt64)

    /// Empty pages a memory type keeps on its own, under its lock, before the allocator
    /// looks further: the count of `.keep`, every page under `.keepWithinBudget` (whose
    /// limits span memory types and heaps, so the allocator applies them after the free).
    var pagesKeptPerType: Int {
        switch self {
        case .keep(let count): count
        case .keepWithinBudget: .max
        }
    }
}
