extension Allocator {
    /// Allocates a `VkDeviceMemory` for a page or a dedicated allocation, after checking the
    /// heap's size limit and, when asked, its budget; the heap's committed bytes are
    /// reserved before the call and given back if it fails.
    func allocateDeviceMemory(size: UInt64, pool: MemoryTypePool,
                              options memoryOptions: DeviceMemory.Options) throws(AllocationError) -> DeviceMemory {
        let heap = pool.heapIndex
        if let limit = options.heapSizeLimits[heap] {
            let reserved: UInt64? = heapCommitted.withLock { committed in
                guard committed[heap] <= limit, size <= limit - committed[heap] else { return committed[heap] }
                committed[heap] += size
                return nil
            }
            if let committed = reserved {
                throw .outOfMemory(size: size, typeIndex: pool.typeIndex, heapIndex: heap,
                                   available: committed < limit ? limit - committed : 0,
                                   reason: "heap \(heap) is capped at \(limit) bytes and \(committed) are committed")
            }
        } else {
            heapCommitted.withLock { $0[heap] &+= size }
        }
        if options.respectBudget {
            // Checked and reserved under one lock: two threads allocating pages of
            // different types (different pool locks) on one heap must not both pass
            // against the same budget before either allocation shows in the driver's usage.
            let refusal: (budget: MemoryBudget, inFlight: UInt64)? = budgetInFlight.withLock { inFlight in
                let budget = MemoryBudget(device: device)
                let available = budget.heaps[heap].available
                guard inFlight[heap] <= available, size <= available - inFlight[heap] else {
                    return (budget, inFlight[heap])
                }
                inFlight[heap] += size
                return nil
            }
            if let (budget, inFlight) = refusal {
                heapCommitted.withLock { $0[heap] -= size }
                let heapBudget = budget.heaps[heap]
                throw .outOfMemory(size: size, typeIndex: pool.typeIndex, heapIndex: heap,
                                   available: heapBudget.available > inFlight ? heapBudget.available - inFlight : 0,
                                   reason: "heap \(heap) would exceed its budget of \(heapBudget.budget) bytes "
                                       + "(\(heapBudget.usage) in use, \(inFlight) being allocated by other threads, "
                                       + "\(budget.source.rawValue))")
            }
        }
        // The reservation ends with the call: from then on the driver's usage (or the
        // device's own accounting) holds the memory, or nothing was allocated.
        defer { if options.respectBudget { budgetInFlight.withLock { $0[heap] -= size } } }
        do {
            let memory = try DeviceMemory.allocate(on: device, size: size, memoryTypeIndex: pool.typeIndex,
                                                   options: memoryOptions)
            deviceAllocationCount.add(1, ordering: .relaxed)
            return memory
        } catch {
            heapCommitted.withLock { $0[heap] -= size }
            switch error {
            case .allocationFailed(_, _, _, let result)
                where result == .errorOutOfDeviceMemory || result == .errorOutOfHostMemory:
                throw .outOfMemory(size: size, typeIndex: pool.typeIndex, heapIndex: heap,
                                   available: MemoryBudget(device: device).heaps[heap].available,
                                   reason: "vkAllocateMemory failed with \(result.name)")
            case .allocationFailed(_, _, _, let result):
                // Device lost and the like: not a reason to try another type or size.
                throw .vulkan(.callFailed(function: "vkAllocateMemory", result: result))
            case .tooManyAllocations(let limit):
                throw .tooManyAllocations(limit: limit)
            case .sizeExceedsHeap(_, _, let heapSize):
                throw .outOfMemory(size: size, typeIndex: pool.typeIndex, heapIndex: heap, available: heapSize,
                                   reason: "the request is larger than the heap")
            default:
                throw .memory(error)
            }
        }
    }
}
