import Logging
import Synchronization

/// Memory for buffers and images, suballocated from pages of `VkDeviceMemory`.
///
/// Give it a resource's requirements and an intent; it chooses the memory type
/// (`MemoryTypeSelection`), places the range in the best-fitting hole among all pages of
/// that type (the pages of a type share one TLSF arena, fenced so no range straddles two
/// pages; `bufferImageGranularity` is kept), grows pages gradually, falls back to the next
/// type when a heap is full, and uses dedicated memory where the driver wants it or the
/// resource is large.
///
/// Thread safety: every method may be called from any thread. Each memory type has its
/// own lock; allocations of different types never wait for each other, and no global lock
/// is taken on the allocation or free path. Once threads contend for one type's lock, each
/// thread gets a lane of that type: pages, arena and lock of its own (see the Thread
/// safety article).
public final class Allocator: Sendable {
    /// The device memory comes from.
    public let device: VulkanDevice
    /// The device's heaps, types and limits.
    public let properties: MemoryProperties
    /// The type choice in use.
    public let selection: MemoryTypeSelection
    /// The options given at creation.
    public let options: AllocatorOptions

    let pools: [MemoryTypePool]
    /// More page sets of each type for threads that contend for its lock (`LaneTable`).
    let lanes: LaneTable
    /// The same pools, unretained, for `withPool`.
    let unmanagedPools: [Unmanaged<MemoryTypePool>]
    /// The ranking of each `MemoryUsage` (in `allCases` order) for any type bits, computed
    /// once so the allocation path only filters it.
    let rankedByUsage: [[Int]]
    let dedicated: Locked<SlotTable<DedicatedEntry>>
    let groups: Locked<SlotTable<GroupEntry>>
    /// Caps, budget, committed bytes and every `vkAllocateMemory`/`vkFreeMemory`: below
    /// the pools, which ask it for memory.
    let ledger: MemoryLedger
    /// A number no other allocator of this process has had or will have: what observers
    /// and custom pools tell allocators apart by (an object's address may be reused).
    public let id: UInt64
    /// `options.observers`, then `options.recorder`.
    let observers: Observers
    /// Custom pools (`makePool`), by number.
    let customPools = Locked(PoolRegistry())
    /// Each custom pool number's pool, for lookups on the free path without `customPools`'s lock.
    let poolSlots = PublishedTable<PoolSlot>(count: PoolRegistry.capacity)
    /// The sources a committed defragmentation pass freed while a resource was still bound
    /// to them: `destroyBuffer`/`destroyImage` of that resource destroys it without
    /// freeing again, once.
    let movedSources = Locked(Set<Allocation>())
    /// Corruption reports of custom pools destroyed before anyone took them, for
    /// `takeCorruptionReports()`.
    let orphanedCorruptions = Locked([CorruptionReport]())
    /// Whether a defragmentation pass is open.
    let defragmentationOpen = Atomic<Bool>(false)
    /// A finished moving pass whose copies the GPU may still be running: what it frees
    /// once its completion is reached (`releaseCompletedMoves()`).
    let movesInFlight = Locked<MovesInFlight?>(nil)
    let logger = Logger(label: "VulkanMemory.Allocator")

    /// Creates an allocator for a device.
    ///
    /// Options the device cannot honour are not refused here: `deviceCoherentMemory`
    /// without `DeviceCapabilities.deviceCoherentMemory` is treated as off.
    /// `init(validating:device:)` refuses them instead.
    /// - Parameters:
    ///   - device: the device memory comes from.
    ///   - options: page sizes, limits, empty-page policy, debugging and observers.
    public init(device: VulkanDevice, options: AllocatorOptions = AllocatorOptions()) {
        self.device = device
        self.options = options
        let properties = MemoryProperties(device: device)
        self.properties = properties
        let selection = MemoryTypeSelection(properties: properties,
                                            isDiscrete: device.info.type == .discreteGPU,
                                            allowsDeviceCoherentMemory: Allocator.allowsDeviceCoherentMemory(options, on: device))
        self.selection = selection
        let id = allocatorSerial.wrappingAdd(1, ordering: .relaxed).newValue
        self.id = id
        dedicated = Locked(SlotTable(generationBase: SlotTable<DedicatedEntry>.generationBase(forAllocator: id)))
        groups = Locked(SlotTable(generationBase: SlotTable<GroupEntry>.generationBase(forAllocator: id)))
        let observers = Observers(options.observers + (options.recorder.map { [$0] } ?? []), allocator: id)
        self.observers = observers
        let ledger = MemoryLedger(device: device, heapSizes: properties.heaps.map(\.size), options: options,
                                  observers: observers)
        self.ledger = ledger
        pools = properties.types.map {
            MemoryTypePool(type: $0, heap: properties.heaps[$0.heapIndex], limits: properties.limits,
                           options: options, ledger: ledger)
        }
        unmanagedPools = pools.map { Unmanaged.passUnretained($0) }
        lanes = LaneTable(typeCount: properties.types.count) { type, tag in
            MemoryTypePool(type: properties.types[type], heap: properties.heaps[properties.types[type].heapIndex],
                           limits: properties.limits, options: options, ledger: ledger, laneTag: tag)
        }
        rankedByUsage = MemoryUsage.allCases.map { selection.rankedTypes(for: .usage($0)) }
        if observers.isActive { observers.send(.began(device: device, properties: properties)) }
    }

    /// Allocates memory for a resource with the given requirements and intent.
    ///
    /// Tries the best memory type first and the next candidates when a heap is full.
    /// - Parameters:
    ///   - requirements: what the resource needs (`vkGet…MemoryRequirements`, or
    ///     ``requirements(of:)``).
    ///   - request: the intent and/or flags the memory type is chosen by.
    ///   - allocationOptions: dedicated policy, mapping, name, priority and search strategy.
    ///   - fileID: where the call is, for leak reports; leave it to its default.
    ///   - line: the call's line, for leak reports; leave it to its default.
    /// - Throws: `AllocationError`; the allocator is then unchanged.
    /// - Complexity: O(1) to find room: one TLSF search covers every page of a type;
    ///   creating a page adds one `vkAllocateMemory` and a search of the few free ranges
    ///   of fence size (fences sit between pages).
    public func allocate(
        _ requirements: MemoryRequirements, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> Allocation {
        let placement = try PlacementRequest(requirements, allocationOptions, fileID: fileID, line: line)
        let allocation = try place(placement, request, name: allocationOptions.name)
        reportAllocated(allocation, requirements, request: request, options: allocationOptions, pool: nil,
                        resource: nil, fileID: fileID, line: line)
        return allocation
    }

    /// The candidate types of a request, best first, before filtering by type bits; the
    /// cached ranking for a plain intent.
    func rankedTypes(for request: MemoryRequest) -> [Int] {
        if request.required.isEmpty, request.preferred.isEmpty, request.notPreferred.isEmpty,
           let usage = request.usage {
            return rankedByUsage[usage.ordinal]
        }
        return selection.rankedTypes(for: request)
    }

    /// Allocates memory of one intent (`MemoryRequest.usage(_:)`).
    public func allocate(
        _ requirements: MemoryRequirements, usage: MemoryUsage,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> Allocation {
        try allocate(requirements, .usage(usage), options: allocationOptions, fileID: fileID, line: line)
    }

    /// Runs `body` with pool `index` borrowed, without the retain and release that
    /// reading it from `pools` costs (`pools` keeps every pool alive as long as the
    /// allocator): two atomic operations less on a cache line that every thread
    /// allocating from the type shares.
    @inline(__always)
    func withPool<R>(_ index: Int, _ body: (MemoryTypePool) throws(AllocationError) -> R) throws(AllocationError) -> R {
        do {
            return try unmanagedPools[index]._withUnsafeGuaranteedRef(body)
        } catch {
            // `body` throws nothing but AllocationError; the standard library's
            // signature only forgets the type.
            guard let error = error as? AllocationError else { preconditionFailure("unexpected error \(error)") }
            throw error
        }
    }

    /// Frees an allocation.
    ///
    /// A page the free leaves wholly free is kept or released as `AllocatorOptions.emptyPages`
    /// says; `freeUnusedPages()` releases the kept ones.
    /// - Throws: `.alreadyFreed` for a second free of the same allocation,
    ///   `.unknownAllocation` for one this allocator did not make.
    /// - Complexity: O(1) (TLSF free and merge); releasing a page adds `vkFreeMemory` and
    ///   a search of the few free ranges of fence size.
    public func free(_ allocation: Allocation) throws(AllocationError) {
        try free(allocation, keepEmpty: nil)
        reportFreed(allocation, .free)
    }

    /// `free` keeping up to `keepEmpty` wholly free pages per type, or, for nil, as
    /// `options.emptyPages` says.
    func free(_ allocation: Allocation, keepEmpty: Int?) throws(AllocationError) {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { throw .unknownAllocation }
        switch allocation.location {
        case let .page(slot, generation, handle):
            let tag = Int(slot >> MemoryTypePool.slotTagShift)
            let outcome: MemoryTypePool.FreeOutcome
            if tag == 0 {
                outcome = try withPool(allocation.memoryTypeIndex) { (pool) throws(AllocationError) in
                    try pool.free(slot: slot, generation: generation, handle: handle, memory: allocation.memory,
                                  offset: allocation.offset, keepEmpty: keepEmpty ?? options.emptyPages.pagesKeptPerType)
                }
            } else if tag >= LaneTable.firstTag {
                let kept = keepEmpty ?? options.emptyPages.pagesKeptPerType
                guard let freed = try lanes.withExistingLane(ofType: allocation.memoryTypeIndex, tag: tag, {
                    (lane) throws(AllocationError) in
                    try lane.free(slot: slot & MemoryTypePool.localSlotMask, generation: generation, handle: handle,
                                  memory: allocation.memory, offset: allocation.offset, keepEmpty: kept)
                }) else {
                    throw .unknownAllocation
                }
                outcome = freed
            } else {
                return try freeInCustomPool(allocation, slot: slot, generation: generation, handle: handle)
            }
            if let released = outcome.released {
                ledger.release(released)
            } else if outcome.keptEmptyPage, keepEmpty == nil, case .keepWithinBudget(let maxBytes) = options.emptyPages {
                releaseEmptyPages(beyond: maxBytes)
            }
        case let .dedicated(slot, generation):
            try freeDedicated(slot: slot, generation: generation, allocation: allocation)
        case let .member(slot, generation, index):
            try freeMember(allocation, slot: slot, generation: generation, index: index, keepEmpty: keepEmpty)
        }
    }

    /// Returns every wholly free page to the driver (nobs-vkmem's `free_unused`): the
    /// allocator's own and every custom pool's, except pages a reservation or a pool's
    /// `minPages` keep.
    ///
    /// - Returns: the number of bytes released.
    @discardableResult
    public func freeUnusedPages() -> UInt64 {
        var released: UInt64 = 0
        for pool in everyPagePool() {
            for memory in pool.takeEmptyPages() {
                released += memory.size
                ledger.release(memory)
            }
        }
        return released
    }

    /// The pages alive now in every memory type, lanes included, by pool.
    func pageSnapshot() -> [ObjectIdentifier: Set<UInt64>] {
        Dictionary(uniqueKeysWithValues: ownPagePools().map { (ObjectIdentifier($0), $0.activePages()) })
    }

    /// Releases the wholly free pages added since `snapshot` (in a lane made since, all of
    /// its empty pages): after a failed call has given its ranges back, this makes the
    /// allocator exactly what it was before the call.
    func releasePagesAdded(since snapshot: [ObjectIdentifier: Set<UInt64>]) {
        for pool in ownPagePools() {
            for memory in pool.takeEmptyPages(notIn: snapshot[ObjectIdentifier(pool)] ?? []) { ledger.release(memory) }
        }
    }

    /// After a failed call freed `allocation`, undoes what placing it did to its page:
    /// releases the page it created, if wholly free, or starts again the drain its
    /// placement ended by taking the page's room back. The failure leaves the pages as
    /// they were.
    func undoPlacement(of allocation: Allocation) {
        guard allocation.startedPage || allocation.endedDrain != nil, case let .page(slot, generation, _) = allocation.location,
              let (pool, local) = pagePool(of: allocation, slot: slot) else { return }
        if allocation.startedPage {
            if let memory = pool.takeEmptyPage(slot: local, generation: generation) { ledger.release(memory) }
        } else if let ended = allocation.endedDrain {
            pool.restartDrain(slot: local, generation: generation, memory: allocation.memory,
                              releasesWhenEmpty: ended == .releasedWhenEmpty)
        }
    }

    /// The placement `undoPlacement(of:)` undoes for `allocation`: its group's range for a
    /// member of a contiguous group (nil once the group is gone, so read it before the
    /// members are freed), the allocation itself otherwise.
    func placementToUndo(of allocation: Allocation) -> Allocation? {
        guard case let .member(slot, generation, index) = allocation.location else { return allocation }
        return try? groupBase(of: allocation, slot: slot, generation: generation, index: index)
    }

    deinit {
        if observers.isActive { observers.send(.ended) }
        if options.reportLeaksAtTeardown {
            let leaks = liveAllocations()
            if !leaks.isEmpty {
                logger.warning("Allocator deinitialized with \(leaks.count) live allocation(s); their memory is freed now")
                for leak in leaks { logger.warning("leak: \(leak)") }
            }
        }
        for pool in everyPagePool() { pool.tearDown() }
        for memory in dedicated.withLock({ $0.live.map(\.memory) }) { try? memory.free() }
    }
}

extension MemoryUsage {
    /// The position in `allCases`.
    var ordinal: Int {
        switch self {
        case .gpuOnly: 0
        case .staging: 1
        case .dynamic: 2
        case .readback: 3
        case .transientAttachment: 4
        }
    }
}
