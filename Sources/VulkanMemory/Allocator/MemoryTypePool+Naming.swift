import CVulkan

extension MemoryTypePool {
    /// The name and user data of a live allocation of page `slot` at `offset`, read under
    /// the pool's lock.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for one that is not live here.
    /// - Complexity: O(1).
    func label(of handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
               offset: UInt64) throws(AllocationError) -> AllocationLabel {
        try state.withLock { (state: inout State) throws(AllocationError) -> AllocationLabel in
            let placed = try pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state).get()
            guard placed.offset == offset else { throw .unknownAllocation }
            return AllocationLabel(name: state.names[handle.index], userData: state.records[Int(handle.index)].userData)
        }
    }

    /// Changes the name or user data of a live allocation of page `slot` at `offset`,
    /// under the pool's lock, where every report reads them.
    /// - Returns: the label after the change.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for one that is not live here;
    ///   nothing changes then.
    /// - Complexity: O(1).
    @discardableResult
    func relabel(_ handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
                 offset: UInt64, _ change: AllocationLabel.Change) throws(AllocationError) -> AllocationLabel {
        try state.withLock { (state: inout State) throws(AllocationError) -> AllocationLabel in
            let placed = try pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state).get()
            guard placed.offset == offset else { throw .unknownAllocation }
            let index = Int(handle.index)
            switch change {
            case .name(let name):
                // `isNamed` lets `forget` skip the dictionary for unnamed allocations.
                state.names[handle.index] = name
                state.records[index].isNamed = name != nil
            case .userData(let userData):
                state.records[index].userData = userData
            }
            return AllocationLabel(name: state.names[handle.index], userData: state.records[index].userData)
        }
    }
}
