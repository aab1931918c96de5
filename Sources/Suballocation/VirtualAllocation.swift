/// Identifies one allocation of a ``VirtualBlock``.
///
/// A handle is an index into the block's record table plus the generation of the
/// allocation. Every allocation of a block gets the next generation of a counter of
/// the block, so a handle kept after its allocation was freed (or the block reset) is
/// reported as stale instead of silently naming a newer allocation in the same record.
/// Generations are 32-bit: a handle kept across 2³² allocations of its block could
/// alias.
/// A handle is only meaningful to the block that issued it. Each block's counter starts
/// at its own point (blocks made one after another start about 2³² / n apart among n
/// blocks), so a handle given to another block is reported as stale there too, unless
/// that block has handed out about as many allocations as the distance between the two.
public struct VirtualAllocationHandle: Hashable, Sendable, CustomStringConvertible {
    /// The index of the allocation's record in its block.
    public let index: UInt32
    /// The allocation's generation.
    public let generation: UInt32

    /// Creates a handle from its parts; blocks hand out handles, users rarely build them.
    public init(index: UInt32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }

    /// `#index.generation`, as used in error messages.
    public var description: String { "#\(index).\(generation)" }
}

/// A placed range: where an allocation lies in its ``VirtualBlock``.
public struct VirtualAllocation: Hashable, Sendable {
    /// Names the allocation for ``VirtualBlock/free(_:)`` and the look-ups.
    public let handle: VirtualAllocationHandle
    /// The first byte of the allocation, from the start of the block; a multiple of
    /// the alignment asked for.
    public let offset: UInt64
    /// The size asked for, in bytes.
    public let size: UInt64

    /// Creates a value; blocks create these, users rarely need to.
    public init(handle: VirtualAllocationHandle, offset: UInt64, size: UInt64) {
        self.handle = handle
        self.offset = offset
        self.size = size
    }
}

/// How a TLSF block chooses among the free ranges that can hold a request.
///
/// Linear blocks ignore the strategy: they have one place to put each allocation.
public enum AllocationStrategy: UInt8, Sendable, Hashable, CaseIterable {
    /// The smallest free range that holds the request, approximately (least
    /// memory): a bounded number of ranges of the smallest classes that may fit, then
    /// the first class where every range fits, and the untouched tail last. In a block
    /// of many records the two most recently freed ranges are left out until a later
    /// free merges them, unless nothing else fits (see ``VirtualBlock/free(_:)``).
    case bestFit
    /// The untouched tail first (least time: no free list to update), then the first
    /// class where every range fits, then a bounded number of smaller ranges. Sees
    /// recently freed ranges as `.bestFit` does.
    case firstFit
    /// The fitting free range with the lowest offset. Visits every free range that
    /// is large enough, so it costs O(free ranges); for packing, not hot paths.
    /// Recently freed ranges whose merge was deferred are merged first, so none is
    /// missed.
    case lowestOffset
}
