import CVulkan

/// A buffer bound into an allocation it shares with other resources
/// (`vmaCreateAliasingBuffer2`): `Allocator.createAliasingBuffer(_:aliasing:at:)`.
///
/// It does not own the allocation: `Allocator.destroyAliasingBuffer(_:)` destroys the
/// buffer alone, and the allocation cannot be freed while it lives.
public struct AliasingBuffer: Hashable, @unchecked Sendable {
    /// The `VkBuffer`.
    public let buffer: VkBuffer
    /// The allocation it aliases.
    public let allocation: Allocation
    /// Where the buffer starts, in bytes from the allocation's start (`allocationLocalOffset`).
    public let offset: UInt64
    /// The buffer's size as created (`VkBufferCreateInfo::size`).
    public let size: UInt64
}

/// An image bound into an allocation it shares with other resources
/// (`vmaCreateAliasingImage2`), as `AliasingBuffer`.
public struct AliasingImage: Hashable, @unchecked Sendable {
    /// The `VkImage`.
    public let image: VkImage
    /// The allocation it aliases.
    public let allocation: Allocation
    /// Where the image starts, in bytes from the allocation's start (`allocationLocalOffset`).
    public let offset: UInt64
}

extension Allocator {
    /// Creates a buffer (`vkCreateBuffer`) and binds it `offset` bytes into an allocation
    /// you hold (`vkBindBufferMemory`), leaving the allocation yours: VMA's
    /// `vmaCreateAliasingBuffer2`.
    ///
    /// Unlike `createBuffer(_:boundTo:)`, which hands the allocation to one resource, any
    /// number of buffers and images may alias one allocation, overlapping or not, beside a
    /// resource bound to it the other way. Which of them holds valid content at a time is
    /// the caller's to track, with the barriers Vulkan's memory aliasing rules ask for.
    ///
    /// Lifetimes: destroy every alias (`destroyAliasingBuffer`, `destroyAliasingImage`)
    /// before the allocation; freeing it (or destroying the resource that owns it) while
    /// an alias lives is refused with `.aliasesLive`, and a defragmentation pass leaves
    /// its page alone. Leak reports and statistics list the aliases.
    ///
    /// Dedicated memory takes aliases only when made with `AllocationOptions.canAlias`
    /// (otherwise it was made for one resource with `VkMemoryDedicatedAllocateInfo`). A
    /// member of a `.contiguous` group takes none. In pages, an optimal-tiling image needs
    /// a range placed for one or of unknown kind (`MemoryRequirements.kind`), a buffer one
    /// placed for a linear resource or of unknown kind, so `bufferImageGranularity` holds.
    /// - Throws: `.zeroSize`; `.alreadyFreed` / `.unknownAllocation` for an allocation
    ///   that is not live here; `.requirementsNotMet` with `.range` when the buffer runs
    ///   past the allocation, `.alignment` when `offset` breaks its alignment,
    ///   `.memoryType` for a memory type it cannot use, `.requiresDedicatedMemory`,
    ///   `.dedicatedToAnotherResource`, `.kind`, or `.alreadyBound` for a group member;
    ///   `.vulkan` when a call fails. Nothing is left behind then.
    public func createAliasingBuffer(_ createInfo: VkBufferCreateInfo, aliasing allocation: Allocation,
                                     at offset: UInt64 = 0) throws(AllocationError) -> AliasingBuffer {
        if let error = liveness(allocation) { throw error }
        let object = try ResourceObject.create(createInfo, on: device)
        try bind(object, aliasing: allocation, at: offset)
        return AliasingBuffer(buffer: object.buffer, allocation: allocation, offset: offset, size: createInfo.size)
    }

    /// Creates an image (`vkCreateImage`) and binds it `offset` bytes into an allocation
    /// you hold (`vkBindImageMemory`): VMA's `vmaCreateAliasingImage2`, with the rules and
    /// errors of `createAliasingBuffer(_:aliasing:at:)`.
    public func createAliasingImage(_ createInfo: VkImageCreateInfo, aliasing allocation: Allocation,
                                    at offset: UInt64 = 0) throws(AllocationError) -> AliasingImage {
        if let error = liveness(allocation) { throw error }
        let object = try ResourceObject.create(createInfo, on: device)
        try bind(object, aliasing: allocation, at: offset)
        return AliasingImage(image: object.image, allocation: allocation, offset: offset)
    }

    /// Destroys an aliasing buffer (`vkDestroyBuffer`); its allocation stays live.
    /// - Throws: `.unknownAllocation` when it is not a live alias of a live allocation
    ///   (destroyed before, say); the buffer is left alone then.
    public func destroyAliasingBuffer(_ alias: AliasingBuffer) throws(AllocationError) {
        try forgetAlias(UInt64(UInt(bitPattern: alias.buffer)), of: alias.allocation)
        device.deviceFunctions.destroyBuffer(device.device, alias.buffer, nil)
    }

    /// Destroys an aliasing image (`vkDestroyImage`), as `destroyAliasingBuffer(_:)`.
    public func destroyAliasingImage(_ alias: AliasingImage) throws(AllocationError) {
        try forgetAlias(UInt64(UInt(bitPattern: alias.image)), of: alias.allocation)
        device.deviceFunctions.destroyImage(device.device, alias.image, nil)
    }

    /// Checks a just-created resource against the part of `allocation` it is to alias,
    /// records it as an alias and binds it; or destroys it and throws, leaving the
    /// allocation as it was. As `bind(_:toExisting:)`, the record and the checks that
    /// read the allocator's state happen under the lock that owns the allocation, and a
    /// dedicated allocation's bind too (its memory may be mapped on demand).
    private func bind(_ object: ResourceObject, aliasing allocation: Allocation, at offset: UInt64) throws(AllocationError) {
        do throws(AllocationError) {
            let needs = object.requirements(on: device)
            if let reason = unmetAliasRequirement(needs, allocation, offset: offset) {
                throw .requirementsNotMet(allocation: allocation.description, reason: reason)
            }
            let resource: UInt64
            switch object.handle {
            case .buffer(let buffer): resource = UInt64(UInt(bitPattern: buffer))
            case .image(let image): resource = UInt64(UInt(bitPattern: image))
            }
            let alias = AliasRecord(resource: resource, isImage: isImage(object),
                                    offset: offset, size: needs.size)
            let placed = Allocation(memory: allocation.memory, offset: allocation.offset + offset, size: needs.size,
                                    memoryTypeIndex: allocation.memoryTypeIndex, mappedPointer: nil,
                                    location: allocation.location)
            switch allocation.location {
            case let .page(tagged, generation, handle):
                guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { throw .unknownAllocation }
                try pool.addAlias(alias, to: handle, slot: slot, generation: generation, memory: allocation.memory,
                                  offset: allocation.offset, kind: needs.kind, description: allocation.description)
                do throws(AllocationError) {
                    try object.bind(to: placed, on: device)
                } catch {
                    pool.removeAlias(resource: resource, from: handle, slot: slot, generation: generation,
                                     memory: allocation.memory)
                    throw error
                }
            case let .dedicated(slot, generation):
                try dedicated.withLock { (table: inout SlotTable<DedicatedEntry>) throws(AllocationError) in
                    guard case .live(var entry) = table.lookup(slot: slot, generation: generation) else {
                        throw table.lookup(slot: slot, generation: generation).isRemoved ? .alreadyFreed : .unknownAllocation
                    }
                    guard entry.memory.handle == allocation.memory else { throw .unknownAllocation }
                    guard entry.memory.options.dedicated == nil else {
                        throw .requirementsNotMet(allocation: allocation.description, reason: .dedicatedToAnotherResource)
                    }
                    try object.bind(to: placed, on: device)
                    entry.aliases.append(alias)
                    table.update(slot: slot, entry)
                }
            case .member:
                // Its range is its group's, which the batch freeing the members frees.
                throw .requirementsNotMet(allocation: allocation.description, reason: .alreadyBound)
            }
        } catch {
            object.destroy(on: device)
            throw error
        }
    }

    private func isImage(_ object: ResourceObject) -> Bool {
        if case .image = object.handle { return true }
        return false
    }

    /// Which requirement of a resource with requirements `needs`, `offset` bytes into
    /// `allocation`, cannot be met whatever the allocator's state.
    private func unmetAliasRequirement(_ needs: MemoryRequirements, _ allocation: Allocation,
                                       offset: UInt64) -> UnmetRequirement? {
        guard offset <= allocation.size, needs.size <= allocation.size - offset else {
            return .range(offset: offset, size: needs.size, available: allocation.size)
        }
        // The memory offset is what Vulkan checks the alignment against.
        let memoryOffset = allocation.offset + offset
        if memoryOffset % max(needs.alignment, 1) != 0 { return .alignment(needed: needs.alignment, offset: memoryOffset) }
        if needs.memoryTypeBits & (1 << UInt32(allocation.memoryTypeIndex)) == 0 {
            return .memoryType(index: allocation.memoryTypeIndex, allowed: needs.memoryTypeBits)
        }
        if needs.requiresDedicated { return .requiresDedicatedMemory }
        return nil
    }

    /// How many resources alias a live allocation: what `free` refuses it for
    /// (`.aliasesLive`). A group's member is never aliased.
    func aliasCount(of allocation: Allocation) -> Int {
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged) else { return 0 }
            return pool.aliasCount(of: handle, slot: slot, generation: generation, memory: allocation.memory,
                                   offset: allocation.offset)
        case let .dedicated(slot, generation):
            return dedicated.withLock { table -> Int in
                guard case .live(let entry) = table.lookup(slot: slot, generation: generation),
                      entry.memory.handle == allocation.memory else { return 0 }
                return entry.aliases.count
            }
        case .member:
            return 0
        }
    }

    /// Forgets the alias `resource` of `allocation`.
    /// - Throws: `.unknownAllocation` when it is not recorded there.
    private func forgetAlias(_ resource: UInt64, of allocation: Allocation) throws(AllocationError) {
        switch allocation.location {
        case let .page(tagged, generation, handle):
            guard let (pool, slot) = pagePool(of: allocation, slot: tagged),
                  pool.removeAlias(resource: resource, from: handle, slot: slot, generation: generation,
                                   memory: allocation.memory) else { throw .unknownAllocation }
        case let .dedicated(slot, generation):
            let removed = dedicated.withLock { table -> Bool in
                guard case .live(var entry) = table.lookup(slot: slot, generation: generation),
                      entry.memory.handle == allocation.memory,
                      let index = entry.aliases.firstIndex(where: { $0.resource == resource }) else { return false }
                entry.aliases.remove(at: index)
                table.update(slot: slot, entry)
                return true
            }
            guard removed else { throw .unknownAllocation }
        case .member:
            throw .unknownAllocation
        }
    }
}
