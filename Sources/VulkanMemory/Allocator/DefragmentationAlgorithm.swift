/// How a defragmentation pass plans its moves (VMA's
/// `VMA_DEFRAGMENTATION_FLAG_ALGORITHM_FAST_BIT`, `_BALANCED_BIT`, `_FULL_BIT` and
/// `_EXTENSIVE_BIT`). Each does at least what the one before it does, at more planning
/// time or more bytes copied.
///
/// Every algorithm empties pages from the least used up and, under a budget too small
/// for a whole page, moves what fits of it, pass after pass, so passes of one move
/// (VMA's `maxAllocationsPerPass = 1`) still converge.
public enum DefragmentationAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// VMA's `ALGORITHM_FAST`: each destination is the first free range found that
    /// holds it (`AllocationStrategy.firstFit`), members of a page in the order they lie.
    /// The cheapest plan; it may leave holes smaller than best fit would.
    /// - Complexity: O(ranges) per memory type to survey, O(1) usual per placement.
    case fast
    /// VMA's `ALGORITHM_BALANCED`, the default: a page's allocations largest first,
    /// each into the best-fitting hole (`AllocationStrategy.bestFit`); only pages that
    /// can be emptied entirely give up allocations.
    /// - Complexity: as `fast`, plus a sort of each page's allocations.
    case balanced
    /// VMA's `ALGORITHM_FULL`: as `balanced`, and a page that cannot be emptied entirely
    /// still gives what fits to fuller pages, so free space gathers in fewer pages and a
    /// later pass (after frees) empties more. More bytes copied.
    /// - Complexity: as `balanced`.
    case full
    /// VMA's `ALGORITHM_EXTENSIVE`: as `full`, and when the approximate best fit leaves
    /// an allocation unplaced, its page is tried again visiting every free range large
    /// enough (`AllocationStrategy.lowestOffset`), so no hole is missed, such as the
    /// ones the approximate search skips or ones that only an exact search finds between
    /// resources of different kinds under `bufferImageGranularity`.
    /// - Complexity: as `full`, plus O(free ranges) per placement of a retried page.
    case extensive
}
