import Synchronization

/// The one place device memory is committed and released for an allocator: heap caps,
/// the budget, bytes committed per heap, and the `vkAllocateMemory`/`vkFreeMemory` calls
/// (VMA keeps this apart from its block lists too, as `VmaCurrentBudgetData`).
///
/// It sits below the page pools and dedicated memory: they ask it for memory and give
/// memory back to it, and it never calls up into them or into the `Allocator`.
///
/// Every allocation it makes carries `VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT` when the
/// device has the `bufferDeviceAddress` feature enabled, except memory dedicated to an
/// image (no buffer can ever be bound there): a page, a private page or a pool's page may
/// receive a buffer made with `.shaderDeviceAddress` usage at any time, and binding one to
/// memory allocated without the flag is invalid (`VUID-vkBindBufferMemory-bufferDeviceAddress-03339`).
///
/// Thread safety: any thread. The caps and committed bytes share one lock, the budget's
/// in-flight bytes another; neither is held across `vkAllocateMemory`.
final class MemoryLedger: Sendable {
    let device: VulkanDevice
    /// `AllocatorOptions.heapSizeLimits`, by heap index.
    let heapSizeLimits: [Int: UInt64]
    /// `AllocatorOptions.respectBudget`.
    let respectBudget: Bool
    /// Whether memory that may receive a buffer is allocated with the device-address flag.
    let deviceAddress: Bool
    /// Bytes committed per heap (pages and dedicated memory), including bytes reserved for
    /// a `vkAllocateMemory` in progress.
    private let committed: Locked<[UInt64]>
    /// Per heap, bytes that passed the budget check and are being allocated: the driver's
    /// usage does not count them yet, so the next check must.
    private let budgetInFlight: Locked<[UInt64]>
    /// `vkAllocateMemory` calls that succeeded so far: history, not state (a failed call
    /// that allocated and gave back leaves it higher).
    private let calls = Atomic<Int>(0)
    /// `VkDeviceMemory` objects alive now.
    private let liveObjects = Atomic<Int>(0)
    /// The allocator's observers: every `vkAllocateMemory`, `vkFreeMemory` and refusal is
    /// reported from here, the one place they happen.
    let observers: Observers

    /// Each heap's size: the driver can never give more, so a request past it is refused
    /// here rather than asked of the driver again and again once a heap is full.
    let heapSizes: [UInt64]

    init(device: VulkanDevice, heapSizes: [UInt64], options: AllocatorOptions, observers: Observers) {
        self.device = device
        self.observers = observers
        self.heapSizes = heapSizes
        let heapCount = heapSizes.count
        heapSizeLimits = options.heapSizeLimits
        respectBudget = options.respectBudget
        deviceAddress = device.capabilities.contains(.bufferDeviceAddress)
        committed = Locked([UInt64](repeating: 0, count: heapCount))
        budgetInFlight = Locked([UInt64](repeating: 0, count: heapCount))
    }

    /// `vkAllocateMemory` calls made so far.
    var callCount: Int { calls.load(ordering: .relaxed) }

    /// `VkDeviceMemory` objects this ledger holds now.
    var objectCount: Int { liveObjects.load(ordering: .relaxed) }

    /// Bytes committed on each heap now.
    var committedBytes: [UInt64] { committed.withLock { $0 } }

    /// Allocates `size` bytes of memory type `typeIndex` (on heap `heapIndex`), after
    /// checking the heap's cap and, when asked, its budget.
    ///
    /// The heap's bytes are reserved before the call and given back if it fails, so two
    /// threads growing different types of one heap never both pass one cap or budget.
    /// - Parameters:
    ///   - isDedicated: one allocation's memory alone, rather than a page.
    ///   - dedicatedTo: the resource the memory is dedicated to (`VkMemoryDedicatedAllocateInfo`).
    ///   - priority: `VK_EXT_memory_priority`'s priority, already validated to be in 0…1.
    ///   - withinBudget: check the budget for this allocation even where the allocator
    ///     does not respect budgets (`AllocationOptions.withinBudget`).
    ///   - exportHandleTypes: `VkExportMemoryAllocateInfo::handleTypes` (dedicated memory).
    ///   - next: the caller's own chain (dedicated memory).
    /// - Throws: `.outOfMemory` naming the cap, the budget or the driver's refusal (the
    ///   next memory type may do); `.tooManyAllocations`; `.vulkan` for any other failure.
    func allocate(size: UInt64, typeIndex: Int, heapIndex heap: Int, isDedicated: Bool = false,
                  dedicatedTo target: DeviceMemory.DedicatedTarget? = nil,
                  priority: Float? = nil, withinBudget: Bool = false,
                  exportHandleTypes: ExternalMemoryHandleTypes = [],
                  next: DeviceMemory.NextChain? = nil) throws(AllocationError) -> DeviceMemory {
        let respectBudget = respectBudget || withinBudget
        do throws(AllocationError) {
            // The budget first: where it is asked for, it is the more telling refusal.
            if respectBudget { try reserveBudget(size, typeIndex: typeIndex, heap: heap) }
            do throws(AllocationError) {
                try reserveCommitted(size, typeIndex: typeIndex, heap: heap)
            } catch {
                if respectBudget { budgetInFlight.withLock { $0[heap] -= size } }
                throw error
            }
        } catch {
            if observers.isActive, case let .outOfMemory(_, _, _, _, reason) = error {
                observers.send(.refused(RefusalEvent(size: size, memoryTypeIndex: typeIndex, heapIndex: heap,
                                                     reason: reason)))
            }
            throw error
        }
        // The budget reservation ends with the call: from then on the driver's usage (or
        // the device's own accounting) holds the memory, or nothing was allocated.
        defer { if respectBudget { budgetInFlight.withLock { $0[heap] -= size } } }
        var addressable = deviceAddress
        if case .image = target { addressable = false }
        let options = DeviceMemory.Options(dedicated: target, priority: priority, deviceAddress: addressable,
                                           exportHandleTypes: exportHandleTypes, next: next)
        do {
            let memory = try DeviceMemory.allocate(on: device, size: size, memoryTypeIndex: typeIndex, options: options)
            calls.add(1, ordering: .relaxed)
            liveObjects.add(1, ordering: .relaxed)
            if observers.isActive { observers.send(.deviceMemoryAllocated(event(memory, isDedicated: isDedicated))) }
            return memory
        } catch {
            committed.withLock { $0[heap] -= size }
            throw translate(error, size: size, typeIndex: typeIndex, heap: heap)
        }
    }

    /// Frees memory this ledger allocated (`vkFreeMemory`, which also unmaps it) and takes
    /// its bytes off its heap.
    func release(_ memory: DeviceMemory, isDedicated: Bool = false) {
        if observers.isActive { observers.send(.deviceMemoryFreed(event(memory, isDedicated: isDedicated))) }
        try? memory.free()
        liveObjects.subtract(1, ordering: .relaxed)
        committed.withLock { $0[memory.heapIndex] -= memory.size }
    }

    /// Sets the bytes counted as being allocated on `heap` by other threads: for tests, to
    /// put a heap under budget pressure without allocating (a budget of 140 GiB, say).
    func setBudgetInFlight(heap: Int, bytes: UInt64) {
        budgetInFlight.withLock { $0[heap] = bytes }
    }

    /// Per heap, the bytes by which usage (the budget's, plus what is being allocated)
    /// exceeds the budget now; 0 for a heap within it. One budget query.
    func bytesOverBudget() -> [UInt64] {
        let budget = MemoryBudget(device: device)
        let inFlight = budgetInFlight.withLock { $0 }
        return budget.heaps.map { heap in
            let used = heap.usage + (heap.heapIndex < inFlight.count ? inFlight[heap.heapIndex] : 0)
            return used > heap.budget ? used - heap.budget : 0
        }
    }

    /// Releases each of `memories`.
    func release(_ memories: some Sequence<DeviceMemory>) {
        for memory in memories { release(memory) }
    }

    private func event(_ memory: DeviceMemory, isDedicated: Bool) -> DeviceMemoryEvent {
        DeviceMemoryEvent(memory: memory.handle, size: memory.size, memoryTypeIndex: memory.memoryTypeIndex,
                          heapIndex: memory.heapIndex, isDedicated: isDedicated)
    }

    /// Reserves `size` bytes of `heap` against its cap, or its size where it has none.
    private func reserveCommitted(_ size: UInt64, typeIndex: Int, heap: Int) throws(AllocationError) {
        let cap = heapSizeLimits[heap]
        let limit = min(cap ?? heapSizes[heap], heapSizes[heap])
        let refused: UInt64? = committed.withLock { committed in
            guard committed[heap] <= limit, size <= limit - committed[heap] else { return committed[heap] }
            committed[heap] += size
            return nil
        }
        if let current = refused {
            let why = cap.map { "heap \(heap) is capped at \($0) bytes" } ?? "heap \(heap) holds \(limit) bytes"
            throw .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heap,
                               available: current < limit ? limit - current : 0,
                               reason: "\(why) and \(current) are committed by this allocator")
        }
    }

    /// Checks and reserves under one lock: two threads allocating pages of different types
    /// (different pool locks) on one heap must not both pass against the same budget before
    /// either allocation shows in the driver's usage.
    private func reserveBudget(_ size: UInt64, typeIndex: Int, heap: Int) throws(AllocationError) {
        let refusal: (budget: MemoryBudget, inFlight: UInt64)? = budgetInFlight.withLock { inFlight in
            let budget = MemoryBudget(device: device)
            let available = budget.heaps[heap].available
            guard inFlight[heap] <= available, size <= available - inFlight[heap] else {
                return (budget, inFlight[heap])
            }
            inFlight[heap] += size
            return nil
        }
        guard let (budget, inFlight) = refusal else { return }
        let heapBudget = budget.heaps[heap]
        throw .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heap,
                           available: heapBudget.available > inFlight ? heapBudget.available - inFlight : 0,
                           reason: "heap \(heap) would exceed its budget of \(heapBudget.budget) bytes "
                               + "(\(heapBudget.usage) in use, \(inFlight) being allocated by other threads, "
                               + "\(budget.source.rawValue))")
    }

    /// The allocator's error for a failed `vkAllocateMemory`: a full heap is
    /// `.outOfMemory` (worth trying another type or a smaller page), anything else is not.
    private func translate(_ error: MemoryError, size: UInt64, typeIndex: Int, heap: Int) -> AllocationError {
        switch error {
        case .allocationFailed(_, _, _, let result)
            where result == .errorOutOfDeviceMemory || result == .errorOutOfHostMemory:
            return .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heap,
                                available: MemoryBudget(device: device).heaps[heap].available,
                                reason: "vkAllocateMemory failed with \(result.name)")
        case .allocationFailed(_, _, _, let result):
            // Device lost and the like: not a reason to try another type or size.
            return .vulkan(.callFailed(function: "vkAllocateMemory", result: result))
        case .tooManyAllocations(let limit):
            return .tooManyAllocations(limit: limit)
        case .sizeExceedsHeap(_, _, let heapSize):
            return .outOfMemory(size: size, typeIndex: typeIndex, heapIndex: heap, available: heapSize,
                                reason: "the request is larger than the heap")
        default:
            return .memory(error)
        }
    }
}
