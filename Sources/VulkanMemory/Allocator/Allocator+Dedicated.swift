/// A dedicated allocation: one `VkDeviceMemory` of its own.
struct DedicatedEntry {
    let memory: DeviceMemory
    /// `record.isBound` changes when a resource is bound to the allocation later,
    /// `record.userData` by `setUserData(_:of:)`.
    var record: AllocationRecord
    /// Changed by `setName(_:of:)`.
    var name: String?
    let pool: Int
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
        let memory = try ledger.allocate(size: size, typeIndex: pool.typeIndex, heapIndex: pool.heapIndex,
                                         isDedicated: true, dedicatedTo: placement.target, priority: placement.priority,
                                         withinBudget: placement.withinBudget,
                                         exportHandleTypes: placement.exportHandleTypes, next: placement.next)
        var mapped: UnsafeMutableRawPointer?
        if placement.mapped, pool.flags.contains(.hostVisible) {
            do { mapped = try memory.map().baseAddress } catch {
                ledger.release(memory, isDedicated: true)
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
                    throw .memory(error)
                }
            }
            base?.initializeMemory(as: UInt8.self, repeating: DebugFill.newPattern, count: Int(size))
        }
        let entry = DedicatedEntry(memory: memory, record: placement.record, name: name,
                                   pool: pool.typeIndex, kind: placement.requirements.kind)
        let (slot, generation) = dedicated.withLock { $0.insert(entry) }
        return Allocation(memory: memory.handle, offset: 0, size: size, memoryTypeIndex: pool.typeIndex,
                          mappedPointer: mapped, location: .dedicated(slot: slot, generation: generation))
    }

    /// Exports an allocation's dedicated memory as an opaque POSIX file descriptor
    /// (`vkGetMemoryFdKHR`), as `DeviceMemory.exportFileDescriptor()` does: the memory must
    /// have been allocated with `AllocationOptions.exportHandleTypes` containing `.opaqueFd`.
    ///
    /// Each call returns a new descriptor, which the caller owns and closes.
    /// - Parameter allocation: a live allocation of this allocator.
    /// - Returns: the new file descriptor.
    /// - Throws: `.memory(.notExportable)` for a range of a shared page (pages are not
    ///   exported per allocation) or memory allocated without `.opaqueFd`; `.alreadyFreed`,
    ///   `.unknownAllocation`; `.memory` for what `exportFileDescriptor()` throws.
    /// - Complexity: O(1).
    public func exportFileDescriptor(of allocation: Allocation) throws(AllocationError) -> Int32 {
        guard case let .dedicated(slot, generation) = allocation.location else {
            if let error = liveness(allocation) { throw error }
            throw .memory(.notExportable(requested: .opaqueFd, allocatedWith: []))
        }
        let memory: Result<DeviceMemory, AllocationError> = dedicated.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .live(let entry):
                return entry.memory.handle == allocation.memory ? .success(entry.memory) : .failure(.unknownAllocation)
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            }
        }
        let exported = try memory.get()
        do throws(MemoryError) { return try exported.exportFileDescriptor() } catch { throw .memory(error) }
    }

    func freeDedicated(slot: UInt32, generation: UInt32, allocation: Allocation) throws(AllocationError) {
        let result: Result<DeviceMemory, AllocationError> = dedicated.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .live(let entry):
                guard entry.memory.handle == allocation.memory else { return .failure(.unknownAllocation) }
                guard entry.aliases.isEmpty else { return .failure(.aliasesLive(count: entry.aliases.count)) }
                table.remove(slot: slot)
                return .success(entry.memory)
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            }
        }
        ledger.release(try result.get(), isDedicated: true)
    }
}
