/// A dedicated allocation: one `VkDeviceMemory` of its own.
struct DedicatedEntry {
    let memory: DeviceMemory
    let record: AllocationRecord
    let name: String?
    let pool: Int
}

extension Allocator {
    func allocateDedicated(size: UInt64, pool: MemoryTypePool, options allocationOptions: AllocationOptions,
                           target: DeviceMemory.DedicatedTarget?, record: AllocationRecord) throws(AllocationError) -> Allocation {
        // Not rounded to atoms: the memory is the allocation's alone (flushes clamp to its
        // end), and Vulkan requires a dedicated allocation's size to equal the resource's.
        let memory = try allocateDeviceMemory(
            size: size, pool: pool,
            options: DeviceMemory.Options(dedicated: target,
                                          priority: allocationOptions.priority))
        var mapped: UnsafeMutableRawPointer?
        if allocationOptions.mapped {
            do { mapped = try memory.map().baseAddress } catch {
                release(memory, heap: pool.heapIndex)
                throw .memory(error)
            }
        }
        let entry = DedicatedEntry(memory: memory, record: record, name: allocationOptions.name, pool: pool.typeIndex)
        let (slot, generation) = dedicated.withLock { $0.insert(entry) }
        return Allocation(memory: memory.handle, offset: 0, size: size, memoryTypeIndex: pool.typeIndex,
                          mappedPointer: mapped, location: .dedicated(slot: slot, generation: generation))
    }

    func freeDedicated(slot: UInt32, generation: UInt32, allocation: Allocation) throws(AllocationError) {
        let result: Result<DeviceMemory, AllocationError> = dedicated.withLock { table in
            switch table.lookup(slot: slot, generation: generation) {
            case .live(let entry):
                guard entry.memory.handle == allocation.memory else { return .failure(.unknownAllocation) }
                table.remove(slot: slot)
                return .success(entry.memory)
            case .removed: return .failure(.alreadyFreed)
            case .unknown: return .failure(.unknownAllocation)
            }
        }
        release(try result.get(), heap: pools[allocation.memoryTypeIndex].heapIndex)
    }
}
