/// One page (a `VkDeviceMemory` shared by many allocations) in a `Statistics`.
///
/// `ranges` tiles the page: offsets run from 0 to `size` with no gap or overlap, the
/// allocations' sizes add up to `usedBytes` and the free ranges' to `freeBytes`. With
/// `AllocatorOptions.debugMargin`, an allocation's range includes its margins.
public struct PageStatistics: Codable, Sendable, Equatable {
    /// The page's memory type.
    public let memoryTypeIndex: Int
    /// The page's size in bytes.
    public let size: UInt64
    /// Bytes in live allocations.
    public let usedBytes: UInt64
    /// Bytes in no allocation, alignment padding included: `size - usedBytes`.
    public let freeBytes: UInt64
    /// Live allocations in the page.
    public let allocationCount: Int
    /// Maximal free ranges, the page's ends included.
    public let freeRangeCount: Int
    /// The size of the largest free range: the largest allocation the page could still
    /// take with alignment 1.
    public let largestFreeRange: UInt64
    /// Whether the page is mapped into the host's address space. A page is mapped whole
    /// the first time one of its allocations is, and stays mapped while it lives.
    public let mapped: Bool
    /// Whether `Allocator.reserve` (or a pool's `minPages`) keeps the page, empty or not.
    public let reserved: Bool
    /// The custom pool (`Allocator.makePool`) the page belongs to; nil for the
    /// allocator's own pages.
    public let pool: String?
    /// The page's pool's position in `Statistics.pools`; nil for the allocator's own
    /// pages. Pool names need not be unique, so this, not `pool`, tells pools apart.
    public let poolIndex: Int?
    /// Every allocation and free range of the page, in address order.
    public let ranges: [RangeStatistics]
}

/// One range of a page: an allocation or a maximal free range.
public struct RangeStatistics: Codable, Sendable, Equatable {
    /// What a range holds.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// No allocation: a gap between allocations or at a page's end.
        case free
        /// A buffer or a linear-tiling image.
        case linear
        /// An optimal-tiling image.
        case optimal
        /// An allocation whose content the allocator was not told.
        case unknown

        /// The kind of an allocation placed as `kind`.
        init(_ kind: SuballocationKind) {
            switch kind {
            case .linear: self = .linear
            case .optimal: self = .optimal
            case .unknown: self = .unknown
            }
        }
    }

    /// What the allocator bound to an allocation.
    public enum Resource: String, Codable, Sendable, CaseIterable {
        /// A `VkBuffer`.
        case buffer
        /// A `VkImage`; the range's `kind` says its tiling.
        case image
    }

    /// Where the range starts, in bytes from the start of the page.
    public let offset: UInt64
    /// The range's length in bytes.
    public let size: UInt64
    /// An allocation's kind, or `free`.
    public let kind: Kind
    /// The allocation's name (`AllocationOptions.name`); absent for free ranges and
    /// unnamed allocations.
    public let name: String?
    /// The buffer or image the allocator bound to the allocation (`createBuffer`,
    /// `createImage`, a batch, or a bind to the allocation); absent for free ranges, memory
    /// nothing was bound to through the allocator, and a `.contiguous` group's range,
    /// which several resources share.
    public let resource: Resource?
    /// The resource's usage flags as created (`VkBufferUsageFlags` or `VkImageUsageFlags`,
    /// by `resource`); absent where `resource` is.
    public let usage: UInt32?
    /// `#fileID` of the call that allocated; absent for free ranges.
    public let fileID: String?
    /// The line of that call; absent for free ranges.
    public let line: Int?
    /// The resources aliasing the allocation (`Allocator.createAliasingBuffer`,
    /// `createAliasingImage`), with their offsets from the allocation's start (not the
    /// range's, which includes a front margin with `AllocatorOptions.debugMargin`); absent
    /// when none does.
    public let aliases: [AliasStatistics]?
    /// The live slices of a ``BufferArena`` buffer bound to the allocation, in a snapshot
    /// made by ``Allocator/statistics(showingSlicesOf:)``; absent otherwise.
    public let slices: [SliceStatistics]?

    /// A range; `resource`, `usage`, the call site, `aliases` and `slices` default to
    /// absent, as for a free range.
    public init(offset: UInt64, size: UInt64, kind: Kind, name: String?, resource: Resource? = nil,
                usage: UInt32? = nil, fileID: String? = nil, line: Int? = nil, aliases: [AliasStatistics]? = nil,
                slices: [SliceStatistics]? = nil) {
        self.offset = offset
        self.size = size
        self.kind = kind
        self.name = name
        self.resource = resource
        self.usage = usage
        self.fileID = fileID
        self.line = line
        self.aliases = aliases
        self.slices = slices
    }
}
