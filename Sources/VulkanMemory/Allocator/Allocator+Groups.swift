/// A range shared by the resources of a `.contiguous` group: it is freed when the last of
/// its resources is.
struct GroupEntry {
    let base: Allocation
    /// Each member's offset from the base: with the base's memory, what tells this
    /// group's members from another allocator's with the same slot numbers.
    let offsets: [UInt64]
    /// Each member's resource kind, for the granularity check of a later bind to it.
    let kinds: [SuballocationKind]
    var live: [Bool]
    var remaining: Int
    /// Each member's name (its batch entry's, or `setName(_:of:)`'s): the range's own name
    /// in the pool, which reports show, lists them (`rangeName`).
    var names: [String?]
    /// Each member's user data (`setUserData(_:of:)`; 0 from a batch).
    var userData: [UInt64]

    /// What leak reports and statistics call a group's range: "contiguous group of N",
    /// then the named members, "(member 0 'a', member 2 'c')", since a report shows the
    /// range once, not each member.
    static func rangeName(_ names: [String?]) -> String {
        let named = names.enumerated().compactMap { index, name in name.map { "member \(index) '\($0)'" } }
        return "contiguous group of \(names.count)" + (named.isEmpty ? "" : " (\(named.joined(separator: ", ")))")
    }

    /// Whether `allocation` is this group's member `index`.
    func owns(_ allocation: Allocation, index: UInt32) -> Bool {
        Int(index) < offsets.count && allocation.memory == base.memory
            && allocation.offset == base.offset + offsets[Int(index)]
    }
}

extension Allocator {
    /// Registers a group's range and returns its members' allocations.
    func registerGroup(base: Allocation, members: [(offset: UInt64, size: UInt64, kind: SuballocationKind)],
                       names: [String?]) -> [Allocation] {
        let entry = GroupEntry(base: base, offsets: members.map(\.offset), kinds: members.map(\.kind),
                               live: Array(repeating: true, count: members.count), remaining: members.count,
                               names: names, userData: Array(repeating: 0, count: members.count))
        let (slot, generation) = groups.withLock { $0.insert(entry) }
        return members.enumerated().map { index, member in
            Allocation(memory: base.memory, offset: base.offset + member.offset, size: member.size,
                       memoryTypeIndex: base.memoryTypeIndex,
                       mappedPointer: base.mappedPointer.map { $0 + Int(member.offset) },
                       location: .member(slot: slot, generation: generation, index: UInt32(index)))
        }
    }

    /// Frees one member; the group's range goes back with the last one.
    func freeMember(_ allocation: Allocation, slot: UInt32, generation: UInt32, index: UInt32,
                    keepEmpty: Int? = nil) throws(AllocationError) {
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
        if let base = try result.get() { try free(base, keepEmpty: keepEmpty) }
    }

    /// The range of a live member's group.
    func groupBase(of allocation: Allocation, slot: UInt32, generation: UInt32,
                   index: UInt32) throws(AllocationError) -> Allocation {
        let base: Result<Allocation, AllocationError> = groups.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            case let .live(entry):
                guard entry.owns(allocation, index: index) else { return .failure(.unknownAllocation) }
                return entry.live[Int(index)] ? .success(entry.base) : .failure(.alreadyFreed)
            }
        }
        return try base.get()
    }

    /// The resource kind a live member was laid out for; `.unknown` when it is not one.
    func memberKind(of allocation: Allocation, slot: UInt32, generation: UInt32, index: UInt32) -> SuballocationKind {
        groups.withLock { table in
            guard case .live(let entry) = table.lookup(slot: slot, generation: generation),
                  entry.owns(allocation, index: index) else { return .unknown }
            return entry.kinds[Int(index)]
        }
    }

    /// Nil when `allocation` is a live allocation of this allocator; otherwise why not:
    /// `.alreadyFreed` when it was and is no longer, `.unknownAllocation` when it is not
    /// this allocator's.
    func liveness(_ allocation: Allocation) -> AllocationError? {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { return .unknownAllocation }
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { return .unknownAllocation }
            return pool.liveness(of: handle, slot: slot, generation: generation, memory: allocation.memory,
                                 offset: allocation.offset)
        case let .dedicated(slot, generation):
            return dedicated.withLock { table -> AllocationError? in
                switch table.lookup(slot: slot, generation: generation) {
                case .removed: return .alreadyFreed
                case .unknown: return .unknownAllocation
                case let .live(entry): return entry.memory.handle == allocation.memory ? nil : .unknownAllocation
                }
            }
        case let .member(slot, generation, index):
            do throws(AllocationError) {
                _ = try groupBase(of: allocation, slot: slot, generation: generation, index: index)
                return nil
            } catch {
                return error
            }
        }
    }

    /// Whether an allocation is live (not freed, and made by this allocator).
    public func isLive(_ allocation: Allocation) -> Bool { liveness(allocation) == nil }
}
