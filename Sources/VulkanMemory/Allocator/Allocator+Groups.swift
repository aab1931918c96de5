/// A range shared by the resources of a `.contiguous` group: it is freed when the last of
/// its resources is.
struct GroupEntry {
    let base: Allocation
    /// Each member's offset from the base: with the base's memory, what tells this
    /// group's members from another allocator's with the same slot numbers.
    let offsets: [UInt64]
    var live: [Bool]
    var remaining: Int

    /// Whether `allocation` is this group's member `index`.
    func owns(_ allocation: Allocation, index: UInt32) -> Bool {
        Int(index) < offsets.count && allocation.memory == base.memory
            && allocation.offset == base.offset + offsets[Int(index)]
    }
}

extension Allocator {
    /// Registers a group's range and returns its members' allocations.
    func registerGroup(base: Allocation, members: [(offset: UInt64, size: UInt64)]) -> [Allocation] {
        let entry = GroupEntry(base: base, offsets: members.map(\.offset),
                               live: Array(repeating: true, count: members.count), remaining: members.count)
        let (slot, generation) = groups.withLock { $0.insert(entry) }
        return members.enumerated().map { index, member in
            Allocation(memory: base.memory, offset: base.offset + member.offset, size: member.size,
                       memoryTypeIndex: base.memoryTypeIndex,
                       mappedPointer: base.mappedPointer.map { $0 + Int(member.offset) },
                       location: .member(slot: slot, generation: generation, index: UInt32(index)))
        }
    }

    /// Frees one member; the group's range goes back with the last one.
    func freeMember(_ allocation: Allocation, slot: UInt32, generation: UInt32, index: UInt32) throws(AllocationError) {
        let result: Result<Allocation?, AllocationError> = groups.withLock { table in
            guard case .live(var entry) = table.lookup(slot: slot, generation: generation) else {
                if case .removed = table.lookup(slot: slot, generation: generation) { return .failure(.alreadyFreed) }
                return .failure(.unknownAllocation)
            }
            guard entry.owns(allocation, index: index) else { return .failure(.unknownAllocation) }
            guard entry.live[Int(index)] else { return .failure(.alreadyFreed) }
            entry.live[Int(index)] = false
            entry.remaining -= 1
            if entry.remaining > 0 {
                table.update(slot: slot, entry)
                return .success(nil)
            }
            table.remove(slot: slot)
            return .success(entry.base)
        }
        if let base = try result.get() { try free(base) }
    }

    /// The range of a live member's group.
    func groupBase(of allocation: Allocation, slot: UInt32, generation: UInt32,
                   index: UInt32) throws(AllocationError) -> Allocation {
        let base: Allocation? = groups.withLock { table in
            guard case .live(let entry) = table.lookup(slot: slot, generation: generation),
                  entry.owns(allocation, index: index), entry.live[Int(index)] else { return nil }
            return entry.base
        }
        guard let base else { throw .alreadyFreed }
        return base
    }

    /// Whether an allocation is live (not freed, and made by this allocator).
    public func isLive(_ allocation: Allocation) -> Bool {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { return false }
        switch allocation.location {
        case let .page(slot, generation, handle):
            let pool = pools[allocation.memoryTypeIndex]
            return pool.state.withLock { state in
                (try? pool.pageOffset(of: handle, slot: slot, generation: generation, memory: allocation.memory,
                                      state: state).get())?.offset == allocation.offset
            }
        case let .dedicated(slot, generation):
            return dedicated.withLock { table in
                guard case .live(let entry) = table.lookup(slot: slot, generation: generation) else { return false }
                return entry.memory.handle == allocation.memory
            }
        case let .member(slot, generation, index):
            return (try? groupBase(of: allocation, slot: slot, generation: generation, index: index)) != nil
        }
    }
}
