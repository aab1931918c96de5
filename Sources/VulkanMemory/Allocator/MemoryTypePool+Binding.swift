import CVulkan

extension MemoryTypePool {
    /// Marks a live allocation of page `slot` as bound to a resource, after checking that
    /// it is this pool's, at `offset`, bound to nothing yet and placed for a resource of
    /// `kind` (or of unknown kind); one check and one mark under the pool's lock, so two
    /// threads binding the same allocation cannot both succeed.
    /// - Throws: `.alreadyFreed`, `.unknownAllocation`, or `.requirementsNotMet` with
    ///   `.alreadyBound` or `.kind`.
    /// - Complexity: O(1).
    func claim(_ handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
               offset: UInt64, kind: SuballocationKind, alignment: UInt64, resource: BoundResource,
               description: String) throws(AllocationError) {
        try state.withLock { (state: inout State) throws(AllocationError) in
            let placed = try pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state).get()
            guard placed.offset == offset else { throw .unknownAllocation }
            let index = Int(handle.index)
            guard !state.records[index].isBound else {
                throw .requirementsNotMet(allocation: description, reason: .alreadyBound)
            }
            let placedKind = (try? state.arena.kind(of: handle)) ?? .unknown
            guard placedKind == kind || placedKind == .unknown else {
                throw .requirementsNotMet(allocation: description, reason: .kind(placed: placedKind, needed: kind))
            }
            state.records[index].isBound = true
            state.records[index].resource = resource
            // The offset meets the resource's alignment (checked by the caller); a move
            // must keep meeting it, even where the range was placed with less.
            state.records[index].boundAlignmentLog2 = UInt8(max(alignment, 1).trailingZeroBitCount)
        }
    }

    /// Undoes `claim` after the bind failed, if the allocation is still the same.
    func unclaim(_ handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory) {
        state.withLock { state in
            guard pageError(slot: slot, generation: generation, memory: memory, state: state) == nil,
                  (try? state.arena.allocation(handle)) != nil else { return }
            state.records[Int(handle.index)].isBound = false
            state.records[Int(handle.index)].boundAlignmentLog2 = 0
            state.records[Int(handle.index)].resource = nil
        }
    }

    /// Whether the live allocation `handle` has a resource bound to it.
    func isBound(_ handle: VirtualAllocationHandle) -> Bool {
        state.withLock { state in
            Int(handle.index) < state.records.count && state.records[Int(handle.index)].isBound
        }
    }
}
