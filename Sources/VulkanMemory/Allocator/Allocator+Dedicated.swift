/// Dedicated allocations: one `VkDeviceMemory` each, in slots with generations so a
/// stale `Allocation` is recognised.
struct DedicatedRegistry {
    struct Entry {
        let memory: DeviceMemory
        let record: AllocationRecord
        let name: String?
        let pool: Int
    }
    var entries: [Entry?] = []
    var generations: [UInt32] = []
    var freeSlots: [UInt32] = []
}

extension Allocator {
    func allocateDedicated(size: UInt64, pool: MemoryTypePool, options allocationOptions: AllocationOptions,
                           record: AllocationRecord) throws(AllocationError) -> Allocation {
        let size = pool.atom > 1 ? (size + pool.atom - 1) / pool.atom * pool.atom : size
        let memory = try allocateDeviceMemory(
            size: size, pool: pool,
            options: DeviceMemory.Options(dedicated: allocationOptions.dedicatedTarget,
                                          priority: allocationOptions.priority))
        var mapped: UnsafeMutableRawPointer?
        if allocationOptions.mapped {
            do { mapped = try memory.map().baseAddress } catch {
                release(memory, heap: pool.heapIndex)
                throw .memory(error)
            }
        }
        let entry = DedicatedRegistry.Entry(memory: memory, record: record, name: allocationOptions.name,
                                            pool: pool.typeIndex)
        let (slot, generation) = dedicated.withLock { registry in
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
        return Allocation(memory: memory.handle, offset: 0, size: size, memoryTypeIndex: pool.typeIndex,
                          mappedPointer: mapped, location: .dedicated(slot: slot, generation: generation))
    }

    func freeDedicated(slot: UInt32, generation: UInt32, allocation: Allocation) throws(AllocationError) {
        let result: Result<DeviceMemory, AllocationError> = dedicated.withLock { registry in
            guard Int(slot) < registry.entries.count else { return .failure(.unknownAllocation) }
            guard registry.generations[Int(slot)] == generation, let entry = registry.entries[Int(slot)] else {
                return .failure(registry.generations[Int(slot)] > generation ? .alreadyFreed : .unknownAllocation)
            }
            guard entry.memory.handle == allocation.memory else { return .failure(.unknownAllocation) }
            registry.entries[Int(slot)] = nil
            registry.generations[Int(slot)] &+= 1
            registry.freeSlots.append(slot)
            return .success(entry.memory)
        }
        release(try result.get(), heap: pools[allocation.memoryTypeIndex].heapIndex)
    }
}
