/// Ranges shared by the resources of a `.contiguous` group: the range is freed when the
/// last of its resources is.
struct GroupRegistry {
    struct Entry {
        let base: Allocation
        var live: [Bool]
        var remaining: Int
    }
    var entries: [Entry?] = []
    var generations: [UInt32] = []
    var freeSlots: [UInt32] = []
}

extension Allocator {
    /// Registers a group's range and returns its members' allocations.
    func registerGroup(base: Allocation, members: [(offset: UInt64, size: UInt64)]) -> [Allocation] {
        let (slot, generation) = groups.withLock { registry in
            let entry = GroupRegistry.Entry(base: base, live: Array(repeating: true, count: members.count),
                                            remaining: members.count)
            let slot: UInt32
            if let reused = registry.freeSlots.popLast() {
                slot = reused
                registry.entries[Int(slot)] = entry
            } else {
                slot = UInt32(registry.entries.count)
                registry.entries.append(entry)
                registry.generations.append(0)
            }
            return (slot, registry.generations[Int(slot)])
        }
        return members.enumerated().map { index, member in
            Allocation(memory: base.memory, offset: base.offset + member.offset, size: member.size,
                       memoryTypeIndex: base.memoryTypeIndex,
                       mappedPointer: base.mappedPointer.map { $0 + Int(member.offset) },
                       location: .member(slot: slot, generation: generation, index: UInt32(index)))
        }
    }

    /// Frees one member; the group's range goes back with the last one.
    func freeMember(slot: UInt32, generation: UInt32, index: UInt32) throws(AllocationError) {
        let result: Result<Allocation?, AllocationError> = groups.withLock { registry in
            guard Int(slot) < registry.entries.count else { return .failure(.unknownAllocation) }
            guard registry.generations[Int(slot)] == generation, var entry = registry.entries[Int(slot)] else {
                return .failure(registry.generations[Int(slot)] > generation ? .alreadyFreed : .unknownAllocation)
            }
            guard Int(index) < entry.live.count else { return .failure(.unknownAllocation) }
            guard entry.live[Int(index)] else { return .failure(.alreadyFreed) }
            entry.live[Int(index)] = false
            entry.remaining -= 1
            if entry.remaining > 0 {
                registry.entries[Int(slot)] = entry
                return .success(nil)
            }
            registry.entries[Int(slot)] = nil
            registry.generations[Int(slot)] &+= 1
            registry.freeSlots.append(slot)
            return .success(entry.base)
        }
        if let base = try result.get() { try free(base) }
    }

    /// The range of a live member's group.
    func groupBase(slot: UInt32, generation: UInt32, index: UInt32) throws(AllocationError) -> Allocation {
        let base: Allocation? = groups.withLock { registry in
            guard Int(slot) < registry.entries.count, registry.generations[Int(slot)] == generation,
                  let entry = registry.entries[Int(slot)], Int(index) < entry.live.count,
                  entry.live[Int(index)] else { return nil }
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
            return pools[allocation.memoryTypeIndex].state.withLock { state in
                Int(slot) < state.pages.count && state.generations[Int(slot)] == generation
                    && state.pages[Int(slot)].memory != nil && state.pages[Int(slot)].handle == allocation.memory
                    && (try? state.pages[Int(slot)].block.allocation(handle))?.offset == allocation.offset
            }
        case let .dedicated(slot, generation):
            return dedicated.withLock { registry in
                Int(slot) < registry.entries.count && registry.generations[Int(slot)] == generation
                    && registry.entries[Int(slot)]?.memory.handle == allocation.memory
            }
        case let .member(slot, generation, index):
            return (try? groupBase(slot: slot, generation: generation, index: index)) != nil
        }
    }
}
