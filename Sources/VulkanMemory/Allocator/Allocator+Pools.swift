import CVulkan

/// What a custom pool (`Allocator.makePool`) is: one memory type, pages of one size, and
/// bounds on how many pages it holds (VMA's `VmaPoolCreateInfo`).
public struct PoolOptions: Sendable, Hashable {
    /// The pool's name, for errors, reports and statistics.
    public var name: String
    /// The memory type: the one this intent ranks first, unless `memoryTypeIndex` is set.
    public var usage: MemoryUsage
    /// An explicit memory type index, overriding `usage`.
    public var memoryTypeIndex: Int?
    /// Every page's size in bytes: a request larger than a page fails.
    public var pageSize: UInt64
    /// Pages made when the pool is made and kept, empty or not, until it is destroyed.
    public var minPages: Int
    /// The most pages the pool holds at once: past that, allocations fail with
    /// `.outOfMemory` naming the pool.
    public var maxPages: Int

    /// Creates pool options.
    public init(name: String, usage: MemoryUsage = .gpuOnly, memoryTypeIndex: Int? = nil, pageSize: UInt64,
                minPages: Int = 0, maxPages: Int = .max) {
        self.name = name
        self.usage = usage
        self.memoryTypeIndex = memoryTypeIndex
        self.pageSize = pageSize
        self.minPages = minPages
        self.maxPages = maxPages
    }
}

/// A custom pool: pages of one memory type and one size, apart from the allocator's own
/// pages, within bounds set when it is made (VMA's `VmaPool`). Allocate in it with
/// `Allocator.allocate(_:in:options:)`, `createBuffer(_:in:options:)` or
/// `createImage(_:in:options:)`; free and destroy as any other allocation.
///
/// Thread safety: any thread, like the allocator; the pool has its own lock.
public final class MemoryPool: Sendable, CustomStringConvertible {
    /// What the pool was made with.
    public let options: PoolOptions
    /// The pool's memory type.
    public let memoryTypeIndex: Int
    let pages: MemoryTypePool
    let index: Int
    /// The `Allocator.id` of the allocator that made the pool, the only one that may use or
    /// destroy it: never reused, unlike the allocator's address, so a pool of a dead
    /// allocator never passes for a new one's.
    let owner: UInt64

    init(options: PoolOptions, memoryTypeIndex: Int, pages: MemoryTypePool, index: Int, owner: UInt64) {
        self.options = options
        self.memoryTypeIndex = memoryTypeIndex
        self.pages = pages
        self.index = index
        self.owner = owner
    }

    /// `pool 'name' (type N, pages of S bytes)`.
    public var description: String {
        "pool '\(options.name)' (memory type \(memoryTypeIndex), pages of \(options.pageSize) bytes)"
    }
}

/// The custom pools of an allocator, by number; a destroyed pool's number is reused.
struct PoolRegistry {
    /// A number's state: nil when free.
    enum Entry {
        /// Taken by a `makePool` still making the pool's first pages.
        case making
        /// A live pool.
        case live(MemoryTypePool)

        var pool: MemoryTypePool? {
            if case let .live(pool) = self { return pool }
            return nil
        }
    }

    var pools: [Entry?] = []
    /// Pools made so far: each pool's page generations start at a multiple of this, so
    /// an allocation of a destroyed pool is never taken for one of the pool that reuses
    /// its number.
    var made: UInt32 = 0

    /// Room for 4,094 pools at once: a pool's number, plus one, fills the 12 bits above
    /// the page slot in `Allocation`'s location.
    static let capacity = Int(UInt32.max >> MemoryTypePool.slotTagShift) - 1
}

extension Allocator {
    /// Makes a custom pool (VMA's `vmaCreatePool`): its `minPages` are allocated now.
    /// - Throws: `.zeroSize` for pages of no bytes; `.noSuitableMemoryType` for a type
    ///   index this device lacks or an intent no type serves; `.outOfMemory` when the
    ///   pages do not fit the heap, when `minPages` exceeds `maxPages`, or when the
    ///   first pages cannot be made (nothing is left behind then); `.tooManyPools`
    ///   past 4,094 pools at once.
    /// - Complexity: one `vkAllocateMemory` per page of `minPages`.
    public func makePool(_ options: PoolOptions) throws(AllocationError) -> MemoryPool {
        guard options.pageSize > 0 else { throw .zeroSize }
        if let reason = PlacementRequest.unacceptable(options.name) { throw .invalidName(options.name, reason: reason) }
        let typeIndex: Int
        if let index = options.memoryTypeIndex {
            guard properties.types.indices.contains(index) else {
                throw .noSuitableMemoryType(required: [], memoryTypeBits: 0, usage: nil)
            }
            typeIndex = index
        } else {
            guard let first = rankedByUsage[options.usage.ordinal].first else {
                throw .noSuitableMemoryType(required: selection.flags(for: .usage(options.usage)).required,
                                            memoryTypeBits: .max, usage: options.usage)
            }
            typeIndex = first
        }
        let type = properties.types[typeIndex]
        // Such a pool could hold nothing: every page would be refused (VMA refuses the pool
        // up front too, with VK_ERROR_FEATURE_NOT_PRESENT).
        if let feature = featureMissing(for: type) {
            throw .memory(.featureNotEnabled(typeIndex: typeIndex, flags: type.flags, feature: feature))
        }
        let heap = properties.heaps[type.heapIndex]
        let granularity = max(properties.limits.bufferImageGranularity, 1)
        guard options.pageSize <= heap.size else {
            throw .outOfMemory(size: options.pageSize, typeIndex: typeIndex, heapIndex: type.heapIndex,
                               available: heap.size, reason: "pool '\(options.name)': pages larger than heap \(type.heapIndex)")
        }
        let pageSize = (options.pageSize + granularity - 1) / granularity * granularity
        guard pageSize <= heap.size, options.minPages >= 0, options.maxPages >= 1, options.minPages <= options.maxPages,
              UInt64(options.minPages) <= heap.size / pageSize else {
            throw .outOfMemory(size: pageSize, typeIndex: typeIndex, heapIndex: type.heapIndex, available: heap.size,
                               reason: "pool '\(options.name)': \(options.minPages) to \(options.maxPages) pages of "
                                   + "\(pageSize) bytes do not fit heap \(type.heapIndex)")
        }
        let (index, serial) = try customPools.withLock {
            (registry: inout PoolRegistry) throws(AllocationError) -> (Int, UInt32) in
            registry.made &+= 1
            if let free = registry.pools.firstIndex(where: { $0 == nil }) {
                registry.pools[free] = .making
                return (free, registry.made)
            }
            guard registry.pools.count < PoolRegistry.capacity else {
                throw .tooManyPools(limit: PoolRegistry.capacity)
            }
            registry.pools.append(.making)
            return (registry.pools.count - 1, registry.made)
        }
        let pages = MemoryTypePool(type: type, heap: heap, limits: properties.limits, options: self.options, ledger: ledger,
                                   custom: (pageSize, options.maxPages,
                                            UInt32(index + 1) << MemoryTypePool.slotTagShift, options.name,
                                            serial << 16))
        if options.minPages > 0 {
            do throws(AllocationError) {
                try pages.reserveWholePages(options.minPages)
            } catch {
                customPools.withLock { $0.pools[index] = nil }
                throw error
            }
        }
        customPools.withLock { $0.pools[index] = .live(pages) }
        return MemoryPool(options: options, memoryTypeIndex: typeIndex, pages: pages, index: index,
                          owner: id)
    }

    /// Destroys an empty custom pool and releases all its pages (VMA's `vmaDestroyPool`).
    /// - Throws: `.poolNotEmpty` while it holds live allocations (nothing changes then);
    ///   `.unknownAllocation` for a pool of another allocator or one destroyed before.
    public func destroyPool(_ pool: MemoryPool) throws(AllocationError) {
        guard pool.owner == id else { throw .unknownAllocation }
        let released = try pool.pages.close()
        // Only this pool's entry: the number is not reused before the entry is cleared.
        customPools.withLock { registry in
            if registry.pools[pool.index]?.pool === pool.pages { registry.pools[pool.index] = nil }
        }
        for memory in released { ledger.release(memory) }
    }

    /// Allocates in a custom pool: a range of one of its pages, a new page when none has
    /// room and the pool may grow. A pool's allocations are never dedicated: the options'
    /// `dedicated` and `dedicatedTarget` do not apply.
    /// - Throws: as `allocate(_:_:options:)`; `.noSuitableMemoryType` when the
    ///   requirements exclude the pool's type; `.outOfMemory` naming the pool when the
    ///   request is larger than its pages or it holds `maxPages` already full ones.
    /// - Complexity: O(1) as for the allocator's own pages.
    public func allocate(_ requirements: MemoryRequirements, in pool: MemoryPool,
                         options allocationOptions: AllocationOptions = AllocationOptions(),
                         fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> Allocation {
        let placement = try PlacementRequest(requirements, allocationOptions, fileID: fileID, line: line)
        let allocation = try place(placement, inPool: try poolPages(pool), name: allocationOptions.name)
        reportAllocated(allocation, requirements, request: nil, options: allocationOptions, pool: pool.options.name,
                        resource: nil, fileID: fileID, line: line)
        return allocation
    }

    /// Places a request in a custom pool's pages: the one memory type the pool has, with
    /// no dedicated memory.
    func place(_ placement: PlacementRequest, inPool pages: MemoryTypePool,
               name: String?) throws(AllocationError) -> Allocation {
        guard placement.requirements.memoryTypeBits & (1 << UInt32(pages.typeIndex)) != 0 else {
            throw .noSuitableMemoryType(required: [], memoryTypeBits: placement.requirements.memoryTypeBits, usage: nil)
        }
        return try place(placement, in: pages, dedicatedAllowed: false, name: name)
    }

    /// Frees an allocation of a custom pool's page. The pool's empty pages stay until the
    /// pool is destroyed, as VMA keeps a pool's blocks. Out of line: the allocator's own
    /// pages are the hot path.
    @inline(never)
    func freeInCustomPool(_ allocation: Allocation, slot: UInt32, generation: UInt32,
                          handle: VirtualAllocationHandle) throws(AllocationError) {
        guard let (pool, local) = pagePool(of: allocation, slot: slot) else { throw .unknownAllocation }
        _ = try pool.free(slot: local, generation: generation, handle: handle, memory: allocation.memory,
                          offset: allocation.offset, keepEmpty: .max)
    }

    /// The pages a page allocation was made in (the allocator's own for its type, or a
    /// custom pool's) and its page slot there; nil when no such pool exists.
    func pagePool(of allocation: Allocation, slot: UInt32) -> (pool: MemoryTypePool, slot: UInt32)? {
        let tag = Int(slot >> MemoryTypePool.slotTagShift)
        guard tag != 0 else {
            return pools.indices.contains(allocation.memoryTypeIndex) ? (pools[allocation.memoryTypeIndex], slot) : nil
        }
        let pool: MemoryTypePool? = customPools.withLock { $0.pools.indices.contains(tag - 1) ? $0.pools[tag - 1]?.pool : nil }
        guard let pool, pool.typeIndex == allocation.memoryTypeIndex else { return nil }
        return (pool, slot & MemoryTypePool.localSlotMask)
    }

    /// The allocator's own pages of every type, then every custom pool's.
    func everyPagePool() -> [MemoryTypePool] {
        pools + customPools.withLock { $0.pools.compactMap { $0?.pool } }
    }
}
