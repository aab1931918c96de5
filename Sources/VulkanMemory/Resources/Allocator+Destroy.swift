extension Allocator {
    /// Destroys a resource (`vkDestroyBuffer`/`vkDestroyImage`) and gives its range back,
    /// merged with free neighbours. Pages are released only as the allocator's policy says;
    /// `freeUnusedPages()` releases the rest.
    ///
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for a resource destroyed before or
    ///   not made here; nothing is destroyed then.
    public func destroy(_ resource: Resource) throws(AllocationError) {
        switch resource {
        case .buffer(let buffer): try destroyBuffer(buffer)
        case .image(let image): try destroyImage(image)
        }
    }

    /// Destroys many resources (nobs-vkmem's `destroy_many`).
    ///
    /// All are checked first: if one is unknown, already destroyed, listed twice, or still
    /// aliased by a resource of `createAliasingBuffer`/`createAliasingImage`, nothing is
    /// destroyed. Resources whose memory a committed defragmentation pass moved away count
    /// as live here, as in `destroy(_:)`.
    /// - Throws: `.duplicateResource`, `.alreadyFreed`, `.unknownAllocation` or
    ///   `.aliasesLive(count:)` for the first resource that has one of those faults.
    /// - Complexity: O(n).
    public func destroy(many resources: some Sequence<Resource>) throws(AllocationError) {
        var seen = Set<Allocation>()
        let list = Array(resources)
        for resource in list {
            guard seen.insert(resource.allocation).inserted else { throw .duplicateResource }
            if let error = liveness(resource.allocation),
               !(error == .alreadyFreed && movedSources.withLock({ $0.contains(resource.allocation) })) {
                throw error
            }
            let aliases = aliasCount(of: resource.allocation)
            guard aliases == 0 else { throw .aliasesLive(count: aliases) }
        }
        for resource in list { try destroy(resource) }
    }

    /// Destroys a buffer that a failing call made, leaving the allocator as it was before
    /// that call: the memory freed with every page kept (no empty-page policy, no look for
    /// a sparse page), then the page the buffer's memory started, if any, released, and
    /// observers told of the free as they were told of the allocation.
    ///
    /// For the arenas and rings, whose constructors make their buffer first and may then
    /// fail, and for a transfer's staging buffer when the transfer fails: `destroyBuffer`
    /// would keep an emptied page the failed call made.
    func undoBuffer(_ bound: BoundBuffer) {
        do throws(AllocationError) {
            try free(bound.allocation, keepEmpty: .max)
        } catch {
            // Freed already (a committed defragmentation pass moved it, and reported the
            // free): nothing to undo but the buffer, and the pass's note of the move.
            if case .alreadyFreed = error { movedSources.withLock { _ = $0.remove(bound.allocation) } }
            device.deviceFunctions.destroyBuffer(device.device, bound.buffer, nil)
            return
        }
        device.deviceFunctions.destroyBuffer(device.device, bound.buffer, nil)
        undoPlacement(of: bound.allocation)
        reportFreed(bound.allocation, .destroyBuffer)
    }

    /// A bounds-checked view of exactly a resource (see `map(_: Allocation)`): a buffer's
    /// view ends at the buffer's size, not at the driver's padded allocation, so a write
    /// past the buffer is refused even where the padding would have taken it.
    public func map(_ resource: Resource) throws(AllocationError) -> MappedMemory {
        let view = try map(resource.allocation)
        guard case .buffer(let buffer) = resource, buffer.size < view.size else { return view }
        return MappedMemory(memory: view.memory, lifetime: view.lifetime, baseAddress: view.baseAddress,
                            offset: view.offset, size: buffer.size)
    }
}
