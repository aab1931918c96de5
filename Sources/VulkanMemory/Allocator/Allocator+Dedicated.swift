/// A dedicated allocation: one `VkDeviceMemory` of its own.
struct DedicatedEntry {
    let memory: DeviceMemory
    /// `record.isBound` changes when a resource is bound to the allocation later,
    /// `record.userData` by `setUserData(_:of:)`.
    var record: AllocationRecord
    /// Changed by `setName(_:of:)`.
    var name: String?
    let pool: Int
    /// The custom pool it was made in, whose `dedicatedCount` it keeps above zero; nil
    /// for the allocator's own.
    let customPool: MemoryTypePool?
    /// Resources aliasing the allocation (`Allocator.createAliasingBuffer`); it is not
    /// freed while any lives.
    var aliases: [AliasRecord] = []
    /// The kind of resource the requirements were for, as a page range keeps it in its
    /// arena: statistics tell a dedicated image from a buffer by it.
    let kind: SuballocationKind
}

extension Allocator {
    /// Gives a request a `VkDeviceMemory` of its own in `pool`'s memory type, mapped when
    /// asked and host-visible (the wish is ignored elsewhere, as on pages).
    func allocateDedicated(_ placement: PlacementRequest, pool: MemoryTypePool,
                           name: String?) throws(AllocationError) -> Allocation {
        // Not rounded to atoms: the memory is the allocation's alone (flushes clamp to its
        // end), and Vulkan requires a dedicated allocation's size to equal the resource's.
        let size = placement.requirements.size
        // In a custom pool, counted before the memory exists: a pool being destroyed
        // either sees it and refuses, or is closed first and this refuses.
        if pool.isCustom { try pool.countDedicated(+1) }
        let memory: DeviceMemory
        do throws(AllocationError) {
            memory = try ledger.allocate(size: size, typeIndex: pool.typeIndex, heapIndex: pool.heapIndex,
                                         isDedicated: true, dedicatedTo: placement.target,
                                         priority: placement.priority ?? pool.pagePriority,
                                         withinBudget: placement.withinBudget,
                                         exportHandleTypes: placement.exportHandleTypes.union(pool.exportHandleTypes),
                                         next: placement.next)
        } catch {
            if pool.isCustom { try? pool.countDedicated(-1) }
            throw error
        }
        var mapped: UnsafeMutableRawPointer?
        if placement.mapped, pool.flags.contains(.hostVisible) {
            do { mapped = try memory.map().baseAddress } catch {
                ledger.release(memory, isDedicated: true)
                if pool.isCustom { try? pool.countDedicated(-1) }
                throw .memory(error)
            }
        }
        if pool.debug.initialize {
            // The new pattern (`AllocatorOptions.initializeAllocations`): through the
            // mapping asked for, or one made now and kept for the allocation's life, as
            // `map(_:)` would.
            var base = mapped
            if base == nil {
                do throws(MemoryError) { base = try memory.persistentView(offset: 0, size: size).baseAddress } catch {
                    ledger.release(memory, isDedicated: true)
                    if pool.isCustom { try? pool.countDedicated(-1) }
                    throw .memory(error)
                }
            }
            base?.initializeMemory(as: UInt8.self, repeating: DebugFill.newPattern, count: Int(size))
        }
        let entry = DedicatedEntry(memory: memory, record: placement.record, name: name,
                                   pool: pool.typeIndex, customPool: pool.isCustom ? pool : nil,
                                   kind: placement.requirements.kind)
        let (slot, generation) = dedicated.withLock { $0.insert(entry) }
        return Allocation(memory: memory.handle, offset: 0, size: size, memoryTypeIndex: pool.typeIndex,
                          mappedPointer: mapped, location: .dedicated(slot: slot, generation: generation))
    }

    func freeDedicated(slot: UInt32, generation: UInt32, allocation: Allocation) throws(AllocationError) {
        let result: Result<DedicatedEntry, AllocationError> = dedicated.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .live(let entry):
                guard entry.memory.handle == allocation.memory else { return .failure(.unknownAllocation) }
                guard entry.aliases.isEmpty else { return .failure(.aliasesLive(count: entry.aliases.count)) }
                table.remove(slot: slot)
                return .success(entry)
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            }
        }
        let entry = try result.get()
        ledger.release(entry.memory, isDedicated: true)
        try? entry.customPool?.countDedicated(-1)
    }
}
