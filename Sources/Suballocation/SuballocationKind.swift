/// What an allocation will hold, as far as Vulkan's `bufferImageGranularity` cares.
///
/// Vulkan requires that a buffer or linear-tiling image and an optimal-tiling image
/// never share a "granularity page" of the same memory. A ``VirtualBlock`` created
/// with a granularity greater than 1 keeps allocations of conflicting kinds on separate
/// pages of that size.
public enum SuballocationKind: UInt8, Sendable, Hashable, CaseIterable {
    /// The content is not known. It is treated as conflicting with every kind,
    /// itself included, because two unknown allocations may be a buffer and an
    /// optimal image (Vulkan Memory Allocator makes the same choice).
    case unknown = 0
    /// A buffer or a linear-tiling image.
    case linear = 1
    /// An optimal-tiling image.
    case optimal = 2

    /// Whether allocations of these two kinds may not share a granularity page.
    ///
    /// Only two linear or two optimal allocations may share a page; the relation is
    /// then an equivalence among the allocations that share a page, which is what
    /// lets the engines check only the nearest allocated neighbour on each side.
    @inline(__always)
    static func conflict(_ a: UInt8, _ b: UInt8) -> Bool {
        a != b || a == SuballocationKind.unknown.rawValue
    }
}
