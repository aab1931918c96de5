extension Allocator {
    /// Changes the priority of a dedicated allocation's memory after the fact
    /// (`vkSetDeviceMemoryPriorityEXT`, from `VK_EXT_pageable_device_local_memory`): under
    /// memory pressure the driver keeps higher-priority memory device-local longer.
    ///
    /// Only an allocation with memory of its own (dedicated) can change alone: one in a
    /// page shares its `VkDeviceMemory`, and so its priority, with its neighbours; change
    /// the priority of its pool's pages instead (`setPriority(_:of:)` with a `MemoryPool`).
    ///
    /// Thread safety: any thread; a concurrent free of the allocation waits for the call.
    /// - Parameters:
    ///   - priority: the new priority, in 0…1 (larger stays resident longer; 0.5 is what
    ///     memory allocated without one has).
    ///   - allocation: a live dedicated allocation of this allocator.
    /// - Throws: `.invalidPriority` outside 0…1 or NaN;
    ///   `.memory(.capabilityNotEnabled(.pageableDeviceLocalMemory, …))` when the device was
    ///   not created with `DeviceCapabilities.pageableDeviceLocalMemory`; `.sharedMemory` for
    ///   an allocation in a page; `.alreadyFreed`, `.unknownAllocation`. Nothing changes then.
    /// - Complexity: O(1); one Vulkan call.
    public func setPriority(_ priority: Float, of allocation: Allocation) throws(AllocationError) {
        try checkPriorityChange(priority)
        guard case let .dedicated(slot, generation) = allocation.location else {
            throw .sharedMemory(operation: "changing a memory priority")
        }
        // Under the table's lock: a free removes the entry under it before vkFreeMemory.
        let result: Result<Void, AllocationError> = dedicated.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .live(let entry):
                guard entry.memory.handle == allocation.memory else { return .failure(.unknownAllocation) }
                do throws(MemoryError) { try entry.memory.setPriority(priority) } catch { return .failure(.memory(error)) }
                return .success(())
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            }
        }
        try result.get()
    }

    /// Changes the priority of every page a custom pool holds now
    /// (`vkSetDeviceMemoryPriorityEXT` on each; see `setPriority(_:of:)` for an allocation).
    /// Pages the pool makes later get the priority it was made with.
    ///
    /// Thread safety: any thread, while others allocate from the pool: its lock is held
    /// for the calls, so no page comes or goes meanwhile.
    /// - Parameters:
    ///   - priority: the new priority, in 0…1.
    ///   - pool: a pool this allocator made.
    /// - Returns: the number of pages (`VkDeviceMemory` objects) changed.
    /// - Throws: `.invalidPriority`; `.memory(.capabilityNotEnabled(.pageableDeviceLocalMemory, …))`;
    ///   `.unknownAllocation` for another allocator's pool or one destroyed. Checked before
    ///   any page changes.
    /// - Complexity: O(pages), one Vulkan call a page.
    @discardableResult
    public func setPriority(_ priority: Float, of pool: MemoryPool) throws(AllocationError) -> Int {
        try checkPriorityChange(priority)
        let pages = try poolPages(pool)
        let changed: Int?
        do throws(MemoryError) { changed = try pages.setPriority(priority) } catch { throw .memory(error) }
        // A destroyed pool, refused as `setName(_:of:)` refuses it.
        guard let changed else { throw .unknownAllocation }
        return changed
    }

    /// Changes the priority of every page the allocator holds now of one memory type (its
    /// own pages, its lanes' included, not custom pools' nor dedicated allocations).
    ///
    /// Pages made later get the driver's default (0.5): call it again after growth to
    /// keep them all at one priority.
    /// - Parameters:
    ///   - priority: the new priority, in 0…1.
    ///   - memoryTypeIndex: the memory type whose pages change.
    /// - Returns: the number of pages changed.
    /// - Throws: `.invalidPriority`; `.memory(.capabilityNotEnabled(.pageableDeviceLocalMemory, …))`;
    ///   `.noSuitableMemoryType` for a type index the device lacks.
    /// - Complexity: O(pages of the type), one Vulkan call a page.
    @discardableResult
    public func setPriority(_ priority: Float, ofPagesOfMemoryType memoryTypeIndex: Int) throws(AllocationError) -> Int {
        try checkPriorityChange(priority)
        guard pools.indices.contains(memoryTypeIndex) else {
            throw .noSuitableMemoryType(required: [], memoryTypeBits: 0, usage: nil)
        }
        // The type's lanes (threads that contended for it) are its own pages too.
        var changed = 0
        for pool in ownPagePools() where pool.typeIndex == memoryTypeIndex {
            do throws(MemoryError) { changed += try pool.setPriority(priority) ?? 0 } catch { throw .memory(error) }
        }
        return changed
    }

    /// The checks every priority change makes first, so a refusal changes nothing.
    private func checkPriorityChange(_ priority: Float) throws(AllocationError) {
        do throws(MemoryError) { try DeviceMemory.checkPriorityChange(priority, on: device) } catch {
            if case .invalidPriority(let value) = error { throw .invalidPriority(value) }
            throw .memory(error)
        }
    }
}
