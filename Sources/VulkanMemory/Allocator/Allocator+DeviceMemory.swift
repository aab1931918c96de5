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
            let budget = MemoryBudget(device: device).heaps[heap]
            if size > budget.available {
                heapCommitted.withLock { $0[heap] -= size }
                throw .outOfMemory(size: size, typeIndex: pool.typeIndex, heapIndex: heap,
                                   available: budget.available,
                                   reason: "heap \(heap) would exceed its budget of \(budget.budget) bytes "
                                       + "(\(budget.usage) in use, \(MemoryBudget(device: device).source.rawValue))")
            }
        }
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
