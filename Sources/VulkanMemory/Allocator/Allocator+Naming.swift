/// The name and user data of one allocation, as they are now.
struct AllocationLabel: Equatable {
    var name: String?
    var userData: UInt64

    /// One change `Allocator.setName` or `setUserData` makes.
    enum Change {
        case name(String?)
        case userData(UInt64)
    }
}

/// Names and user data of live allocations, read back and changed after allocation (VMA's
/// `vmaSetAllocationName`, `vmaSetAllocationUserData` and the `pName` / `pUserData` of
/// `vmaGetAllocationInfo`).
///
/// Each is read and written under the lock that owns the allocation, where leak reports
/// and statistics read it too: its pool's for a range of a page, the dedicated table's for
/// memory of its own, the groups' for a member of a contiguous group. Nothing here is on
/// the allocation or free path.
extension Allocator {
    /// The name of a live allocation: the one it was allocated with
    /// (`AllocationOptions.name`, a batch entry's name), or the last `setName(_:of:)` gave it.
    /// - Throws: `.alreadyFreed` for a freed allocation, `.unknownAllocation` for one this
    ///   allocator did not make.
    /// - Complexity: O(1).
    public func name(of allocation: Allocation) throws(AllocationError) -> String? {
        try label(of: allocation).name
    }

    /// The user data of a live allocation (`AllocationOptions.userData`, or the last
    /// `setUserData(_:of:)`; 0 for a batch's resources); VMA's
    /// `VmaAllocationInfo::pUserData`.
    /// - Throws: as `name(of:)`.
    /// - Complexity: O(1).
    public func userData(of allocation: Allocation) throws(AllocationError) -> UInt64 {
        try label(of: allocation).userData
    }

    /// Names a live allocation, or takes its name away with nil (VMA's
    /// `vmaSetAllocationName`). Leak reports (`liveAllocations()`, `leaks()`) and
    /// `statistics()` show the new name from now on; a member of a contiguous group shows
    /// in its group's range, whose name lists its named members. Observers see a
    /// `.labelChanged` event (a `CallRecorder` writes `vmaSetAllocationUserData`).
    /// - Throws: `.invalidName` for a name that could not come back from a report as it
    ///   went in (one beginning with U+FEFF), as on allocation; `.alreadyFreed` /
    ///   `.unknownAllocation` as `name(of:)`. Nothing changes then.
    /// - Complexity: O(1) (O(members) for a group member, whose range is renamed).
    public func setName(_ name: String?, of allocation: Allocation) throws(AllocationError) {
        if let name, let reason = PlacementRequest.unacceptable(name) { throw .invalidName(name, reason: reason) }
        let label = try relabel(allocation, .name(name))
        reportLabelChanged(allocation, label)
    }

    /// Changes the user data of a live allocation (VMA's `vmaSetAllocationUserData` with a
    /// pointer's worth of your own). Leak reports show it (`AllocationReport.userData`);
    /// observers see a `.labelChanged` event.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` as `name(of:)`; nothing changes then.
    /// - Complexity: O(1).
    public func setUserData(_ userData: UInt64, of allocation: Allocation) throws(AllocationError) {
        let label = try relabel(allocation, .userData(userData))
        reportLabelChanged(allocation, label)
    }

    /// The label of a live allocation, read under the lock that owns it.
    func label(of allocation: Allocation) throws(AllocationError) -> AllocationLabel {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { throw .unknownAllocation }
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { throw .unknownAllocation }
            return try pool.label(of: handle, slot: slot, generation: generation, memory: allocation.memory,
                                  offset: allocation.offset)
        case let .dedicated(slot, generation):
            return try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) in
                let entry = try Self.liveDedicated(table, allocation, slot: slot, generation: generation)
                return AllocationLabel(name: entry.name, userData: entry.record.userData)
            }
        case let .member(slot, generation, index):
            return try groups.withLock { (table: inout SlotTable<GroupEntry>) throws(AllocationError) in
                let entry = try Self.liveGroup(table, allocation, slot: slot, generation: generation, index: index)
                return AllocationLabel(name: entry.names[Int(index)], userData: entry.userData[Int(index)])
            }
        }
    }

    /// Makes one change to a live allocation's label under the lock that owns it.
    /// - Returns: the label after the change.
    private func relabel(_ allocation: Allocation, _ change: AllocationLabel.Change) throws(AllocationError) -> AllocationLabel {
        guard pools.indices.contains(allocation.memoryTypeIndex) else { throw .unknownAllocation }
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { throw .unknownAllocation }
            return try pool.relabel(handle, slot: slot, generation: generation, memory: allocation.memory,
                                    offset: allocation.offset, change)
        case let .dedicated(slot, generation):
            return try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) in
                var entry = try Self.liveDedicated(table, allocation, slot: slot, generation: generation)
                switch change {
                case .name(let name): entry.name = name
                case .userData(let userData): entry.record.userData = userData
                }
                table.update(slot: slot, entry)
                return AllocationLabel(name: entry.name, userData: entry.record.userData)
            }
        case let .member(slot, generation, index):
            return try groups.withLock { (table: inout SlotTable<GroupEntry>) throws(AllocationError) in
                var entry = try Self.liveGroup(table, allocation, slot: slot, generation: generation, index: index)
                let member = Int(index)
                switch change {
                case .name(let name):
                    entry.names[member] = name
                    // Reports read the range's name in its pool. It is written with the
                    // groups' lock held, so renames of two members of one group reach the
                    // pool in the order they were made (no path takes a pool's lock and
                    // then the groups'). The range is live while its group is.
                    guard case let .page(tagged, baseGeneration, handle) = entry.base.location,
                          let (pool, pageSlot) = pagePool(of: entry.base, slot: tagged) else {
                        throw .unknownAllocation
                    }
                    try pool.relabel(handle, slot: pageSlot, generation: baseGeneration, memory: entry.base.memory,
                                     offset: entry.base.offset, .name(GroupEntry.rangeName(entry.names)))
                case .userData(let userData):
                    entry.userData[member] = userData
                }
                table.update(slot: slot, entry)
                return AllocationLabel(name: entry.names[member], userData: entry.userData[member])
            }
        }
    }

    /// The live dedicated entry `allocation` names, or why there is none.
    private static func liveDedicated(_ table: SlotTable<DedicatedEntry>, _ allocation: Allocation, slot: UInt32,
                                      generation: UInt32) throws(AllocationError) -> DedicatedEntry {
        switch table.lookup(slot: slot, generation: generation) {
        case .removed: throw .alreadyFreed
        case .unknown: throw .unknownAllocation
        case let .live(entry):
            guard entry.memory.handle == allocation.memory else { throw .unknownAllocation }
            return entry
        }
    }

    /// The live group whose member `index` `allocation` is, or why there is none.
    private static func liveGroup(_ table: SlotTable<GroupEntry>, _ allocation: Allocation, slot: UInt32,
                                  generation: UInt32, index: UInt32) throws(AllocationError) -> GroupEntry {
        switch table.lookup(slot: slot, generation: generation) {
        case .removed: throw .alreadyFreed
        case .unknown: throw .unknownAllocation
        case let .live(entry):
            guard entry.owns(allocation, index: index) else { throw .unknownAllocation }
            guard entry.live[Int(index)] else { throw .alreadyFreed }
            return entry
        }
    }

    /// Reports a changed label, when anyone observes.
    private func reportLabelChanged(_ allocation: Allocation, _ label: AllocationLabel) {
        guard observers.isActive else { return }
        observers.send(.labelChanged(LabelEvent(allocation: allocation, name: label.name, userData: label.userData)))
    }
}
