extension Allocator {
    /// Exports the `VkDeviceMemory` an allocation lies in as a POSIX file descriptor
    /// (`vkGetMemoryFdKHR` with `VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT`), for another
    /// API or process to import: the whole page for a page allocation (the importer uses
    /// `Allocation.offset` and `size`), the allocation's own memory for a dedicated one.
    ///
    /// The memory must have been made exportable: a page or dedicated allocation of a
    /// custom pool made with `PoolOptions.exportHandleTypes` containing `.opaqueFd`. The
    /// caller owns the descriptor and closes it (or hands it to an importer, which takes
    /// it over). The memory stays valid for the importer after the allocation is freed
    /// only as long as the page does.
    /// - Parameter allocation: A live allocation of this allocator.
    /// - Returns: A new file descriptor.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for an allocation that is not live
    ///   here; `.memory(.notExportable)` when its memory was not made exportable;
    ///   `.memory(.capabilityNotEnabled)` without the `externalMemoryFd` capability.
    /// - Complexity: O(1) and one driver call.
    public func exportFileDescriptor(of allocation: Allocation) throws(AllocationError) -> Int32 {
        let memory: DeviceMemory
        switch allocation.location {
        case let .page(slot, generation, handle):
            guard let (pool, local) = pagePool(of: allocation, slot: slot) else { throw .unknownAllocation }
            memory = try pool.state.withLock { (state: inout MemoryTypePool.State) throws(AllocationError) -> DeviceMemory in
                let offset = try pool.pageOffset(of: handle, slot: local, generation: generation, memory: allocation.memory,
                                                 state: state).get()
                guard offset.offset == allocation.offset, let memory = state.pages[Int(local)].memory else {
                    throw .unknownAllocation
                }
                return memory
            }
        case let .dedicated(slot, generation):
            memory = try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) -> DeviceMemory in
                switch table.lookup(slot: slot, generation: generation) {
                case .live(let entry):
                    guard entry.memory.handle == allocation.memory else { throw .unknownAllocation }
                    return entry.memory
                case .removed: throw .alreadyFreed
                case .unknown: throw .unknownAllocation
                }
            }
        case .member:
            // A contiguous group's member lies in the allocator's own pages, never exportable.
            throw .memory(.notExportable(requested: .opaqueFd, allocatedWith: []))
        }
        do throws(MemoryError) { return try memory.exportFileDescriptor() } catch { throw .memory(error) }
    }
}
