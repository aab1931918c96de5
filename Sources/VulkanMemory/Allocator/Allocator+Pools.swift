import CVulkan

/// How a custom pool places its allocations in its pages (VMA's pool algorithm flags).
public enum PoolAlgorithm: Sendable, Hashable {
    /// Best fit over every page (TLSF, O(1)): any allocation and free order, as the
    /// allocator's own pages.
    case general
    /// The linear algorithm (VMA's `VMA_POOL_CREATE_LINEAR_ALGORITHM_BIT`): ranges are
    /// placed one after another, O(1) with no search and no per-range overhead, for the
    /// patterns the calls make:
    /// - free-at-once: memory comes back when the last allocation is freed;
    /// - stack: the newest allocation is freed first;
    /// - double stack: a second stack grows down from the end of the page
    ///   (`AllocationOptions.upperAddress`), in a pool of one page (`maxPages: 1`);
    /// - ring buffer: the oldest is freed first and new allocations wrap to the start of
    ///   the page, in a pool of one page.
    ///
    /// Any free order is allowed; a range freed between live ones is reused only once
    /// everything between it and the newest (or oldest) allocation is freed too. A pool of
    /// several pages fills one page after another. Linear pools are not defragmented.
    case linear
}

/// What a custom pool (`Allocator.makePool`) is: one memory type, pages of one size, and
/// bounds on how many pages it holds (VMA's `VmaPoolCreateInfo`).
public struct PoolOptions: Sendable, Hashable {
    /// The pool's name, for errors, reports and statistics; `Allocator.setName(_:of:)`
    /// changes it later (VMA's `vmaSetPoolName`).
    public var name: String
    /// The memory type: the one this intent ranks first, unless `memoryTypeIndex` is set.
    public var usage: MemoryUsage
    /// An explicit memory type index, overriding `usage`.
    public var memoryTypeIndex: Int?
    /// Every page's size in bytes: a request larger than a page fails (or gets dedicated
    /// memory when it asks for it). nil takes the page size the allocator grows its own
    /// pages of that type towards (`AllocatorOptions.deviceLocalPageSize` and the rest),
    /// as VMA's `blockSize` 0 does.
    public var pageSize: UInt64?
    /// Pages made when the pool is made and kept, empty or not, until it is destroyed.
    public var minPages: Int
    /// The most pages the pool holds at once: past that, allocations fail with
    /// `.outOfMemory` naming the pool. A linear pool used as a double stack or a ring
    /// buffer has one page.
    public var maxPages: Int
    /// How allocations are placed in the pages: `.general` (best fit) or `.linear`.
    public var algorithm: PoolAlgorithm
    /// `VK_EXT_memory_priority` priority of every page of the pool and of its dedicated
    /// allocations, 0…1 (`VkMemoryPriorityAllocateInfoEXT`, VMA's `VmaPoolCreateInfo::priority`):
    /// a hint to keep it in device memory under pressure. nil leaves the driver's default
    /// (0.5); ignored where the device lacks the `memoryPriority` capability.
    public var priority: Float?
    /// The least alignment of every allocation in the pool, a power of two (VMA's
    /// `minAllocationAlignment`): for memory shared with an API that needs more than
    /// Vulkan reports. 1, the default, adds nothing.
    public var minAlignment: UInt64
    /// Handle types every page (and dedicated allocation) of the pool can be exported as
    /// (`VkExportMemoryAllocateInfo` in each `vkAllocateMemory`'s chain, as VMA's
    /// `pMemoryAllocateNext`): needs the device's `externalMemoryFd` capability.
    /// `Allocator.exportFileDescriptor(of:)` then exports an allocation's memory.
    public var exportHandleTypes: ExternalMemoryHandleTypes

    /// Creates pool options.
    /// - Parameters:
    ///   - name: The pool's name.
    ///   - usage: The intent whose best memory type the pool takes.
    ///   - memoryTypeIndex: An explicit memory type, overriding `usage`.
    ///   - pageSize: Every page's size; nil for the allocator's page size of the type.
    ///   - minPages: Pages made now and kept.
    ///   - maxPages: The most pages at once.
    ///   - algorithm: `.general` or `.linear`.
    ///   - priority: The pages' memory priority, 0…1.
    ///   - minAlignment: The least alignment of every allocation, a power of two.
    ///   - exportHandleTypes: Handle types the pages can be exported as.
    public init(name: String, usage: MemoryUsage = .gpuOnly, memoryTypeIndex: Int? = nil, pageSize: UInt64? = nil,
                minPages: Int = 0, maxPages: Int = .max, algorithm: PoolAlgorithm = .general, priority: Float? = nil,
                minAlignment: UInt64 = 1, exportHandleTypes: ExternalMemoryHandleTypes = []) {
        self.name = name
        self.usage = usage
        self.memoryTypeIndex = memoryTypeIndex
        self.pageSize = pageSize
        self.minPages = minPages
        self.maxPages = maxPages
        self.algorithm = algorithm
        self.priority = priority
        self.minAlignment = minAlignment
        self.exportHandleTypes = exportHandleTypes
    }
}

/// A custom pool: pages of one memory type and one size, apart from the allocator's own
/// pages, within bounds set when it is made (VMA's `VmaPool`). Allocate in it with
/// `Allocator.allocate(_:in:options:)`, `createBuffer(_:in:options:)` or
/// `createImage(_:in:options:)`; free and destroy as any other allocation.
///
/// Thread safety: any thread, like the allocator; the pool has its own lock.
public final class MemoryPool: Sendable, CustomStringConvertible {
    /// What the pool was made with (`name` is the name it was given then).
    public let options: PoolOptions
    /// The pool's memory type.
    public let memoryTypeIndex: Int
    /// Every page's size in bytes: `options.pageSize`, or the allocator's page size for
    /// the type when that was nil, rounded up to whole `bufferImageGranularity` pages.
    public let pageSize: UInt64
    let pages: MemoryTypePool
    let index: Int
    /// The `Allocator.id` of the allocator that made the pool, the only one that may use or
    /// destroy it: never reused, unlike the allocator's address, so a pool of a dead
    /// allocator never passes for a new one's.
    let owner: UInt64

    init(options: PoolOptions, memoryTypeIndex: Int, pageSize: UInt64, pages: MemoryTypePool, index: Int,
         owner: UInt64) {
        self.options = options
        self.memoryTypeIndex = memoryTypeIndex
        self.pageSize = pageSize
        self.pages = pages
        self.index = index
        self.owner = owner
    }

    /// The pool's name now: as made, or as `Allocator.setName(_:of:)` last set it.
    /// - Complexity: O(1); takes the pool's lock.
    public var name: String { pages.poolName ?? options.name }

    /// `pool 'name' (type N, pages of S bytes)`, the name with control characters escaped.
    public var description: String {
        "pool '\(name.escapingControlCharacters)' (memory type \(memoryTypeIndex), "
            + (options.algorithm == .linear ? "linear, " : "") + "pages of \(pageSize) bytes)"
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

    /// Room for 4,087 pools at once: a pool's number, plus one, fills the 12 bits above
    /// the page slot in `Allocation`'s location; the top values of those bits name a
    /// memory type's lanes (`LaneTable.firstTag`).
    static let capacity = LaneTable.firstTag - 1
}

/// Where the free path finds a custom pool by its number: the pool while it lives, nil
/// after it is destroyed. One per number ever used, kept for the allocator's life
/// (`PublishedTable`), so a lookup takes only this slot's lock.
final class PoolSlot: Sendable {
    let pool = Locked<MemoryTypePool?>(nil)
}

extension Allocator {
    /// Makes a custom pool (VMA's `vmaCreatePool`): its `minPages` are allocated now.
    /// - Throws: `.zeroSize` for pages of no bytes; `.noSuitableMemoryType` for a type
    ///   index this device lacks or an intent no type serves; `.outOfMemory` when the
    ///   pages do not fit the heap, when `minPages` exceeds `maxPages`, or when the
    ///   first pages cannot be made (nothing is left behind then); `.tooManyPools`
    ///   past 4,087 pools at once.
    /// - Complexity: one `vkAllocateMemory` per page of `minPages`.
    public func makePool(_ options: PoolOptions) throws(AllocationError) -> MemoryPool {
        if options.pageSize == 0 { throw .zeroSize }
        if let reason = PlacementRequest.unacceptable(options.name) { throw .invalidName(options.name, reason: reason) }
        if let priority = options.priority, !(priority >= 0 && priority <= 1) { throw .invalidPriority(priority) }
        guard options.minAlignment > 0, options.minAlignment & (options.minAlignment - 1) == 0 else {
            throw .alignmentNotPowerOfTwo(options.minAlignment)
        }
        if !options.exportHandleTypes.isEmpty, !device.capabilities.contains(.externalMemoryFd) {
            throw .memory(.capabilityNotEnabled(.externalMemoryFd, operation: "exporting the pages of pool '\(options.name)'"))
        }
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
        let asked = options.pageSize ?? min(MemoryTypePool.preferredPageSize(type: type, heap: heap, options: self.options),
                                            heap.size)
        guard asked <= heap.size else {
            throw .outOfMemory(size: asked, typeIndex: typeIndex, heapIndex: type.heapIndex,
                               available: heap.size, reason: "pool '\(options.name)': pages larger than heap \(type.heapIndex)")
        }
        let pageSize = (asked + granularity - 1) / granularity * granularity
        guard pageSize <= heap.size, options.minPages >= 0, options.maxPages >= 1, options.minPages <= options.maxPages,
              UInt64(options.minPages) <= heap.size / pageSize else {
            throw .outOfMemory(size: pageSize, typeIndex: typeIndex, heapIndex: type.heapIndex, available: heap.size,
                               reason: "pool '\(options.name)': \(options.minPages) to \(options.maxPages) pages of "
                                   + "\(pageSize) bytes do not fit heap \(type.heapIndex)")
        }
        guard options.minAlignment <= pageSize else {
            throw .outOfMemory(size: options.minAlignment, typeIndex: typeIndex, heapIndex: type.heapIndex,
                               available: pageSize, reason: "pool '\(options.name)': a minimum alignment of "
                                   + "\(options.minAlignment) bytes is more than its pages of \(pageSize) bytes")
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
        let settings = MemoryTypePool.CustomSettings(
            pageSize: pageSize, maxPages: options.maxPages, tag: UInt32(index + 1) << MemoryTypePool.slotTagShift,
            name: options.name, generationBase: serial << 16, isLinear: options.algorithm == .linear,
            priority: options.priority, exportHandleTypes: options.exportHandleTypes, minAlignment: options.minAlignment)
        let pages = MemoryTypePool(type: type, heap: heap, limits: properties.limits, options: self.options, ledger: ledger,
                                   custom: settings)
        if options.minPages > 0 {
            do throws(AllocationError) {
                try pages.reserveWholePages(options.minPages)
            } catch {
                customPools.withLock { $0.pools[index] = nil }
                throw error
            }
        }
        customPools.withLock { registry in
            registry.pools[index] = .live(pages)
            poolSlots.object(at: index) { PoolSlot() }.pool.withLock { $0 = pages }
        }
        return MemoryPool(options: options, memoryTypeIndex: typeIndex, pageSize: pageSize, pages: pages, index: index,
                          owner: id)
    }

    /// Renames a custom pool (VMA's `vmaSetPoolName`): errors, reports, statistics and
    /// `MemoryPool.name` use the new name from now on.
    /// - Parameters:
    ///   - name: The new name; kept as given, escaped where it goes into a line of text.
    ///   - pool: A live pool of this allocator.
    /// - Throws: `.invalidName` for a name that begins with U+FEFF; `.unknownAllocation`
    ///   for a pool of another allocator or one destroyed before.
    /// - Complexity: O(1).
    public func setName(_ name: String, of pool: MemoryPool) throws(AllocationError) {
        if let reason = PlacementRequest.unacceptable(name) { throw .invalidName(name, reason: reason) }
        let pages = try poolPages(pool)
        try pages.state.withLock { (state: inout MemoryTypePool.State) throws(AllocationError) in
            guard !state.isClosed else { throw .unknownAllocation }
            state.name = name
        }
    }

    /// Destroys an empty custom pool and releases all its pages (VMA's `vmaDestroyPool`).
    /// Corruption reports its frees found and nobody took yet stay for
    /// ``takeCorruptionReports()``.
    /// - Throws: `.poolNotEmpty` while it holds live allocations, `.defragmentationPassOpen`
    ///   while a pass is emptying one of its pages (nothing changes then);
    ///   `.unknownAllocation` for a pool of another allocator or one destroyed before.
    public func destroyPool(_ pool: MemoryPool) throws(AllocationError) {
        guard pool.owner == id else { throw .unknownAllocation }
        let (released, corruptions) = try pool.pages.close()
        if !corruptions.isEmpty { orphanedCorruptions.withLock { $0 += corruptions } }
        // Only this pool's entry: the number is not reused before the entry is cleared.
        customPools.withLock { registry in
            if registry.pools[pool.index]?.pool === pool.pages {
                registry.pools[pool.index] = nil
                poolSlots.existing(at: pool.index)?.pool.withLock { $0 = nil }
            }
        }
        for memory in released { ledger.release(memory) }
    }

    /// Allocates in a custom pool: a range of one of its pages, a new page when none has
    /// room and the pool may grow; dedicated memory of the pool's type (with its priority
    /// and export handle types) when the driver requires it or the options say `.always`
    /// (never automatically: the pool's page size is the user's choice, as in VMA). A
    /// pool with live dedicated allocations is not empty.
    /// - Throws: as `allocate(_:_:options:)`; `.noSuitableMemoryType` when the
    ///   requirements exclude the pool's type; `.outOfMemory` naming the pool when the
    ///   request is larger than its pages or it holds `maxPages` already full ones.
    /// - Complexity: O(1) as for the allocator's own pages.
    public func allocate(_ requirements: MemoryRequirements, in pool: MemoryPool,
                         options allocationOptions: AllocationOptions = AllocationOptions(),
                         fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> Allocation {
        let placement = try PlacementRequest(requirements, allocationOptions, fileID: fileID, line: line)
        let allocation = try place(placement, inPool: try poolPages(pool), name: allocationOptions.name)
        reportAllocated(allocation, requirements, request: nil, options: allocationOptions, pool: pool.name,
                        resource: nil, fileID: fileID, line: line)
        return allocation
    }

    /// Places a request in a custom pool: the one memory type the pool has.
    func place(_ placement: PlacementRequest, inPool pages: MemoryTypePool,
               name: String?) throws(AllocationError) -> Allocation {
        guard placement.requirements.memoryTypeBits & (1 << UInt32(pages.typeIndex)) != 0 else {
            throw .noSuitableMemoryType(required: [], memoryTypeBits: placement.requirements.memoryTypeBits, usage: nil)
        }
        return try place(placement, in: pages, name: name)
    }

    /// Frees an allocation of a custom pool's page. The pool's empty pages stay until the
    /// pool is destroyed, as VMA keeps a pool's blocks. Out of line: the allocator's own
    /// pages are the hot path.
    @inline(never)
    func freeInCustomPool(_ allocation: Allocation, slot: UInt32, generation: UInt32,
                          handle: VirtualAllocationHandle) throws(AllocationError) {
        guard let (pool, local) = pagePool(of: allocation, slot: slot) else { throw .unknownAllocation }
        // A linear pool moves on to new slots rather than back to emptied ones: it keeps one
        // empty page, as VMA keeps one empty block, and releases the rest.
        if let emptied = try pool.free(slot: local, generation: generation, handle: handle, memory: allocation.memory,
                                       offset: allocation.offset, keepEmpty: pool.isLinear ? 1 : .max).released {
            ledger.release(emptied)
        }
    }

    /// The pages a page allocation was made in (the allocator's own for its type, or a
    /// custom pool's) and its page slot there; nil when no such pool exists.
    func pagePool(of allocation: Allocation, slot: UInt32) -> (pool: MemoryTypePool, slot: UInt32)? {
        let tag = Int(slot >> MemoryTypePool.slotTagShift)
        guard tag != 0 else {
            return pools.indices.contains(allocation.memoryTypeIndex) ? (pools[allocation.memoryTypeIndex], slot) : nil
        }
        if tag >= LaneTable.firstTag {
            guard let lane = lanes.existingLane(ofType: allocation.memoryTypeIndex, tag: tag) else { return nil }
            return (lane, slot & MemoryTypePool.localSlotMask)
        }
        // The pool's own slot, not the registry's lock: frees in different pools never meet.
        let pool: MemoryTypePool? = poolSlots.existing(at: tag - 1)?.pool.withLock { $0 }
        guard let pool, pool.typeIndex == allocation.memoryTypeIndex else { return nil }
        return (pool, slot & MemoryTypePool.localSlotMask)
    }

    /// The allocator's own pages of every type (with their lanes), then every custom pool's.
    func everyPagePool() -> [MemoryTypePool] {
        ownPagePools() + customPools.withLock { $0.pools.compactMap { $0?.pool } }
    }

    /// The allocator's own pages of every type: each type's first pool, then the lanes made so far.
    func ownPagePools() -> [MemoryTypePool] {
        pools + lanes.existingLanes()
    }
}
