extension Allocator {
    /// Whether the host can map an allocation: its memory type is host-visible (VMA's
    /// `vmaGetAllocationMemoryProperties` and a test of `HOST_VISIBLE`). After
    /// `AllocationOptions.allowTransferInstead`, false means the data goes through a
    /// staging buffer (`TransferQueue`).
    /// - Parameter allocation: an allocation of this allocator.
    /// - Returns: false also for an allocation whose memory type this allocator lacks.
    /// - Complexity: O(1).
    public func isHostVisible(_ allocation: Allocation) -> Bool {
        properties.types.indices.contains(allocation.memoryTypeIndex)
            && properties.types[allocation.memoryTypeIndex].isHostVisible
    }

    /// A bounds-checked view of exactly an allocation's range, for host access.
    ///
    /// Pages are mapped once and stay mapped (Vulkan forbids mapping one `VkDeviceMemory`
    /// twice); the view is valid until the allocation is freed, moved by a defragmentation
    /// pass, or the allocator deinitialized, and then throws ``MemoryError/viewEnded`` on
    /// every access. On non-coherent memory the
    /// view's typed writes flush and reads invalidate, and allocations there own whole
    /// `nonCoherentAtomSize` atoms so this never touches a neighbour.
    /// - Throws: `.memory(.notHostVisible)` for a type that cannot be mapped,
    ///   `.alreadyFreed` / `.unknownAllocation` for a stale allocation.
    public func map(_ allocation: Allocation) throws(AllocationError) -> MappedMemory {
        let mapped = try mapAllocation(allocation)
        if observers.isActive { observers.send(.mapped(allocation)) }
        return mapped
    }

    /// `map(_:)` without recording the call.
    func mapAllocation(_ allocation: Allocation) throws(AllocationError) -> MappedMemory {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { throw .unknownAllocation }
        let pool = pools[allocation.memoryTypeIndex]
        guard pool.flags.contains(.hostVisible) else {
            throw .memory(.notHostVisible(typeIndex: pool.typeIndex, flags: pool.flags))
        }
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { throw .unknownAllocation }
            return try pool.view(of: handle, slot: slot, generation: generation, memory: allocation.memory,
                                 offset: allocation.offset, size: allocation.size)
        case let .member(slot, generation, index):
            let base = try groupBase(of: allocation, slot: slot, generation: generation, index: index)
            let view = try mapAllocation(base)
            let start = allocation.offset - base.offset
            return MappedMemory(memory: view.memory, lifetime: view.lifetime, baseAddress: view.baseAddress + Int(start),
                                offset: allocation.offset, size: allocation.size)
        case let .dedicated(slot, generation):
            // Mapped under the dedicated table's lock, which a bind to the allocation
            // (`createBuffer(_:boundTo:)`) also holds: Vulkan forbids `vkMapMemory` on
            // memory another thread is binding to.
            return try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) -> MappedMemory in
                let lookup = table.lookup(slot: slot, generation: generation)
                guard case .live(let entry) = lookup else { throw lookup.isRemoved ? .alreadyFreed : .unknownAllocation }
                let memory = entry.memory
                guard memory.handle == allocation.memory, allocation.size <= memory.size else { throw .unknownAllocation }
                do throws(MemoryError) {
                    // Kept mapped for the allocation's life; freeing it unmaps and ends the view.
                    return try memory.persistentView(offset: 0, size: allocation.size)
                } catch {
                    throw .memory(error)
                }
            }
        }
    }
}
