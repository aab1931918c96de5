import CVulkan

extension Allocator {
    /// Binds a just-created resource to an allocation the caller holds, after checking the
    /// resource's requirements against it and claiming it for the resource; or destroys
    /// the resource and throws, leaving the allocation as it was.
    ///
    /// The claim and the requirement checks that read the allocator's state happen under
    /// the lock that owns the allocation (its pool's, or the dedicated table's), so two
    /// threads binding one allocation cannot both succeed. A dedicated allocation's bind is
    /// made under that lock too, since its memory may be mapped on demand
    /// (`map(_:)`), and Vulkan forbids `vkMapMemory` on a `VkDeviceMemory` while another
    /// thread binds to it. Pages need no such care: they are mapped when made.
    func bind(_ object: ResourceObject, toExisting allocation: Allocation) throws(AllocationError) {
        do throws(AllocationError) {
            try claimAndBind(object, to: allocation, localOffset: 0)
        } catch {
            object.destroy(on: device)
            throw error
        }
    }

    /// The checks, claim and bind of `bind(_:toExisting:)`, leaving the resource alone on
    /// failure: for a resource the caller created (`bind(_:to:offset:)`), which is theirs
    /// to destroy. The resource is bound `localOffset` bytes into the allocation
    /// (`vmaBindBufferMemory2`'s `allocationLocalOffset`).
    func claimAndBind(_ object: ResourceObject, to allocation: Allocation,
                      localOffset: UInt64) throws(AllocationError) {
        let needs = object.requirements(on: device)
        if let reason = unmetRequirement(needs, allocation, localOffset: localOffset) {
            throw .requirementsNotMet(allocation: allocation.description, reason: reason)
        }
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { throw .unknownAllocation }
            try pool.claim(handle, slot: slot, generation: generation, memory: allocation.memory,
                           offset: allocation.offset, kind: needs.kind, alignment: needs.alignment,
                           resource: object.bound, description: allocation.description)
            do throws(AllocationError) {
                try object.bind(to: allocation, localOffset: localOffset, on: device)
            } catch {
                pool.unclaim(handle, slot: slot, generation: generation, memory: allocation.memory)
                throw error
            }
        case let .dedicated(slot, generation):
            try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) in
                guard case .live(var entry) = table.lookup(slot: slot, generation: generation) else {
                    throw table.lookup(slot: slot, generation: generation).isRemoved ? .alreadyFreed : .unknownAllocation
                }
                guard entry.memory.handle == allocation.memory else { throw .unknownAllocation }
                // Memory made for this very resource (`allocateMemory(for:)`) takes it;
                // memory made for another does not (VUID-vkBindBufferMemory-memory-01508),
                // and a resource whose driver requires memory of its own needs memory
                // made for it.
                if let target = entry.memory.options.dedicated {
                    guard target == object.dedicatedTarget else {
                        throw .requirementsNotMet(allocation: allocation.description,
                                                  reason: .dedicatedToAnotherResource)
                    }
                    // VUID-vkBindBufferMemory-memory-01508: at its start only.
                    guard localOffset == 0 else {
                        throw .requirementsNotMet(allocation: allocation.description,
                                                  reason: .offsetInDedicatedMemory(localOffset))
                    }
                } else if needs.requiresDedicated {
                    throw .requirementsNotMet(allocation: allocation.description, reason: .requiresDedicatedMemory)
                }
                guard !entry.record.isBound else {
                    throw .requirementsNotMet(allocation: allocation.description, reason: .alreadyBound)
                }
                try object.bind(to: allocation, localOffset: localOffset, on: device)
                entry.record.isBound = true
                entry.record.resource = object.bound
                table.update(slot: slot, entry)
            }
        case .member:
            // A group's members are made bound, by the batch that made the group.
            throw .requirementsNotMet(allocation: allocation.description, reason: .alreadyBound)
        }
    }

    /// Which requirement of a resource with requirements `needs`, bound `localOffset` bytes
    /// into `allocation`, the allocation cannot meet whatever the allocator's state: size,
    /// alignment, memory type, memory of its own. Whether dedicated memory was made for this resource is
    /// checked under the dedicated table's lock, by the caller.
    private func unmetRequirement(_ needs: MemoryRequirements, _ allocation: Allocation,
                                  localOffset: UInt64) -> UnmetRequirement? {
        let (end, overflow) = localOffset.addingReportingOverflow(needs.size)
        if overflow || end > allocation.size {
            return .size(needed: overflow ? .max : end, available: allocation.size)
        }
        // The allocation's offset is far below 2^64 - its size, so this cannot overflow.
        let offset = allocation.offset + localOffset
        if offset % max(needs.alignment, 1) != 0 { return .alignment(needed: needs.alignment, offset: offset) }
        if needs.memoryTypeBits & (1 << UInt32(allocation.memoryTypeIndex)) == 0 {
            return .memoryType(index: allocation.memoryTypeIndex, allowed: needs.memoryTypeBits)
        }
        if needs.requiresDedicated, !allocation.isDedicated { return .requiresDedicatedMemory }
        return nil
    }
}
