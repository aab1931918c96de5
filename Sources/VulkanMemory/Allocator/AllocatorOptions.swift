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
    /// Wholly free pages kept per memory type for reuse; more are returned to the driver.
    public var maxEmptyPagesPerType = 1
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

    /// Creates the default options.
    public init() {}
}
