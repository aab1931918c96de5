/// How an `Allocator` sizes pages and guards heaps.
public struct AllocatorOptions: Sendable {
    /// The page size device-local types on heaps over 1 GiB grow towards (nobs-vkmem's
    /// 128 MiB): pages start at an eighth of it and grow with what the type holds.
    public var deviceLocalPageSize: UInt64 = 128 << 20
    /// The page size other types on heaps over 1 GiB grow towards (nobs-vkmem's 8 MiB).
    public var hostPageSize: UInt64 = 8 << 20
    /// The page size to grow towards per memory type index, overriding the rules above.
    public var pageSizeByType: [Int: UInt64] = [:]
    /// The page size to grow towards per heap index, overriding the rules above (but not
    /// `pageSizeByType`).
    public var pageSizeByHeap: [Int: UInt64] = [:]
    /// Which wholly free pages of the allocator's own are kept for reuse rather than
    /// returned to the driver: `.keep(1)` a memory type by default. See `EmptyPagePolicy`.
    /// Custom pools keep theirs until destroyed, and `Allocator.freeUnusedPages()` releases
    /// every kept page on demand.
    public var emptyPages: EmptyPagePolicy = .keep(1)
    /// Lets committed memory follow live memory down without moving anything: when a
    /// memory type's pages hold more than 10% over its live bytes and one page holds at
    /// most a quarter of the allocations its size would hold at the type's average, new
    /// allocations stop going there (its free ranges are blocked), so its allocations'
    /// frees empty it and it is released whatever `emptyPages` says. A request that
    /// would otherwise need a new page takes that page's room back first, so this never
    /// makes memory grow. On by default; the allocator's own pages only (custom pools
    /// keep theirs), and never while an incremental defragmentation drains pages itself.
    ///
    /// Why: a page made when free bytes were scattered in holes too small for a request
    /// ends up holding a handful of long-lived allocations, committed for all of them.
    /// On W3 (`vkmem bench resources`, 16 seeds) the committed memory at the end came
    /// within 10 points of the live peak on 9 seeds instead of 2, with no move and at
    /// most 2 `vkAllocateMemory` during the steps.
    /// - Complexity: the free path counts frees; every 1,024th free of a type looks at its
    ///   pages (O(pages)); starting a drain blocks the page's free ranges and each free in
    ///   a draining page blocks the room it left (O(free ranges of the type) each).
    public var drainsSparsePages = true
    /// Frees of a memory type between two looks for a sparse page to drain. Internal:
    /// tests look far more often, so short seeded runs drain pages too.
    var sparseCheckInterval: UInt32 = 1024
    /// Wholly free pages kept per memory type for reuse; more are returned to the driver.
    /// The count of `emptyPages` when it is `.keep(_:)`, 0 under another policy; setting it
    /// sets `emptyPages` to `.keep(newValue)`.
    @available(*, deprecated, message: "use emptyPages = .keep(count)")
    public var maxEmptyPagesPerType: Int {
        get { if case .keep(let count) = emptyPages { count } else { 0 } }
        set { emptyPages = .keep(newValue) }
    }
    /// Lets memory types with `DEVICE_COHERENT_AMD` / `DEVICE_UNCACHED_AMD` be chosen for a
    /// request that names one of those flags (VMA's
    /// `VMA_ALLOCATOR_CREATE_AMD_DEVICE_COHERENT_MEMORY_BIT`); without it they are never
    /// chosen. The device must have `DeviceCapabilities.deviceCoherentMemory`
    /// (`VK_AMD_device_coherent_memory`'s `deviceCoherentMemory` feature enabled):
    /// `Allocator(validating:device:)` refuses the options otherwise. Such memory is
    /// uncached on the GPU: use it for small buffers the GPU and the host read while the
    /// other writes (markers for crash analysis), never for ordinary resources.
    public var deviceCoherentMemory = false
    /// Refuse allocations that would take a heap over its budget (`MemoryBudget`).
    public var respectBudget = false
    /// Caps on what the allocator commits per heap index, in bytes.
    public var heapSizeLimits: [Int: UInt64] = [:]
    /// Report live allocations through swift-log when the allocator is deinitialized.
    public var reportLeaksAtTeardown = true
    /// Records the allocator's calls in VMA's call-recording format, to replay them later
    /// (`vkmem replay`); nil, the default, records nothing. See `CallRecorder`. The
    /// recorder is one more observer, after `observers`.
    public var recorder: CallRecorder?
    /// Who sees the allocator's events (`AllocationEvent`), in order; none by default,
    /// and then observation costs one branch per call.
    public var observers: [any AllocationObserver] = []

    /// Bytes of margin before and after every allocation in pages of host-visible memory
    /// (VMA's `VMA_DEBUG_MARGIN`): the range placed is the allocation plus both margins,
    /// so an overrun lands in a margin rather than in a neighbour. 0, the default, places
    /// none. Rounded up to a power of two between 4 and 64 KiB, and the front margin to the
    /// allocation's alignment, so the allocation's offset keeps its alignment.
    ///
    /// Only host-visible types get margins: they are there to be checked, and only the host
    /// can check them. Dedicated allocations (a `VkDeviceMemory` of their own) and the
    /// members inside one contiguous group's range get none, as in VMA.
    public var debugMargin: UInt64 = 0
    /// Fills every margin with a magic value and checks it when the allocation is freed and
    /// on `Allocator.checkCorruption(memoryTypeBits:)` (VMA's `VMA_DEBUG_DETECT_CORRUPTION`).
    /// With `debugMargin` 0 the margin is 16 bytes. A margin found overwritten is reported,
    /// never trapped on: see `CorruptionReport` and `Allocator.takeCorruptionReports()`.
    public var detectCorruption = false
    /// Fills new allocations with 0xDCDCDCDC and freed ones with 0xEFEFEFEF in host-visible
    /// memory (VMA's `VMA_DEBUG_INITIALIZE_ALLOCATIONS`), so reading memory never written,
    /// or written after its free, shows. Pages, and dedicated memory on allocation (which
    /// maps it for its life); dedicated memory is given back to the driver when freed.
    public var initializeAllocations = false

    /// The margin in force on a host-visible type: `debugMargin` rounded up to a power of
    /// two in 4...65536, 16 when only `detectCorruption` asks for one, 0 for none.
    var effectiveDebugMargin: UInt64 {
        let asked = debugMargin == 0 ? (detectCorruption ? 16 : 0) : debugMargin
        guard asked > 0 else { return 0 }
        let clamped = min(max(asked, 4), 1 << 16)
        return clamped & (clamped - 1) == 0 ? clamped : 1 << UInt64(64 - clamped.leadingZeroBitCount)
    }

    /// Creates the default options.
    public init() {}
}
