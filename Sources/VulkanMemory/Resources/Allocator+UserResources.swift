import CVulkan

/// Memory for buffers and images the caller created and destroys: allocate memory suited
/// to one, then bind it. Both halves take the allocator's one path: the allocation is a
/// `PlacementRequest` placed by `place` (so the same types, fallbacks, dedicated policy and
/// observer event as `allocate`), and the bind is the checked claim of
/// `createBuffer(_:boundTo:)`, minus destroying the resource on failure, since the
/// resource is the caller's.
extension Allocator {
    /// Allocates memory suited to a buffer you created (VMA's
    /// `vmaAllocateMemoryForBuffer`), from its requirements as
    /// `vkGetBufferMemoryRequirements2` gives them with `VkMemoryDedicatedRequirements`.
    ///
    /// When the memory is dedicated (the driver requires or prefers it, `options` asks for
    /// it, or the buffer is large), it is allocated for this buffer
    /// (`VkMemoryDedicatedAllocateInfo`) and takes no other. The memory is not bound:
    /// `bind(buffer:to:offset:)` binds it. Free it with `free(_:)` once the buffer is
    /// destroyed.
    /// - Throws: `AllocationError` as `allocate(_:_:options:)`; nothing is allocated then,
    ///   and the buffer is left as it was.
    public func allocateMemory(
        forBuffer buffer: VkBuffer, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> Allocation {
        try allocateMemory(for: ResourceObject(handle: .buffer(buffer), kind: .linear), request, allocationOptions,
                           fileID: fileID, line: line)
    }

    /// Allocates memory suited to an image you created (VMA's `vmaAllocateMemoryForImage`),
    /// from `vkGetImageMemoryRequirements2`, as `allocateMemory(forBuffer:_:options:)`.
    ///
    /// `tiling` is the image's `VkImageCreateInfo::tiling`: the range is placed
    /// `bufferImageGranularity` apart from neighbours of the other kind, and
    /// `bind(image:tiling:to:offset:)` must be given the same.
    public func allocateMemory(
        forImage image: VkImage, tiling: VkImageTiling, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> Allocation {
        try allocateMemory(for: ResourceObject(handle: .image(image), kind: Self.kind(of: tiling)), request,
                           allocationOptions, fileID: fileID, line: line)
    }

    /// Binds a buffer you created to an allocation you hold (VMA's `vmaBindBufferMemory`,
    /// and `vmaBindBufferMemory2` with `offset` as its `allocationLocalOffset`):
    /// `vkBindBufferMemory` at the allocation's memory and `allocation.offset + offset`.
    ///
    /// The allocation is claimed for the buffer first, under the lock that owns it, as
    /// `createBuffer(_:boundTo:)` does: an allocation belongs to one resource, and a second
    /// bind, from any thread, is refused. The buffer stays yours: destroy it
    /// (`vkDestroyBuffer`) before you free the allocation.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for an allocation not live here;
    ///   `.requirementsNotMet` (with the reason) when the buffer needs more bytes than the
    ///   allocation has past `offset`, a stricter alignment, another memory type or memory
    ///   of its own, the memory was allocated for another resource (or for this one, at a
    ///   nonzero `offset`), or another resource is bound to it already; `.vulkan` when
    ///   the bind fails. The buffer and the allocation are then as they were.
    public func bind(buffer: VkBuffer, to allocation: Allocation, offset: UInt64 = 0) throws(AllocationError) {
        if let error = liveness(allocation) { throw error }
        try claimAndBind(ResourceObject(handle: .buffer(buffer), kind: .linear), to: allocation, localOffset: offset)
    }

    /// Binds an image you created to an allocation you hold (VMA's `vmaBindImageMemory`,
    /// and `vmaBindImageMemory2` with `offset`), as `bind(buffer:to:offset:)`.
    ///
    /// `tiling` is the image's; an optimal-tiling image also needs a range placed for an
    /// optimal image (or of unknown kind), so the granularity rule holds.
    public func bind(image: VkImage, tiling: VkImageTiling, to allocation: Allocation,
                     offset: UInt64 = 0) throws(AllocationError) {
        if let error = liveness(allocation) { throw error }
        try claimAndBind(ResourceObject(handle: .image(image), kind: Self.kind(of: tiling)), to: allocation,
                         localOffset: offset)
    }

    /// One placement request for the resource's requirements, with the resource as the
    /// dedicated target, placed by `place` and reported as `allocate` reports.
    private func allocateMemory(for object: ResourceObject, _ request: MemoryRequest,
                                _ allocationOptions: AllocationOptions, fileID: StaticString,
                                line: UInt) throws(AllocationError) -> Allocation {
        let requirements = object.requirements(on: device)
        let placement = try PlacementRequest(requirements, allocationOptions, target: object.dedicatedTarget,
                                             fileID: fileID, line: line)
        let allocation = try place(placement, request, name: allocationOptions.name)
        reportAllocated(allocation, requirements, request: request, options: allocationOptions, pool: nil,
                        resource: nil, fileID: fileID, line: line)
        return allocation
    }

    /// `.optimal` for optimal tiling, `.linear` otherwise: which neighbours
    /// `bufferImageGranularity` keeps apart (as `ResourceObject.create` decides).
    static func kind(of tiling: VkImageTiling) -> SuballocationKind {
        tiling == VK_IMAGE_TILING_OPTIMAL ? .optimal : .linear
    }
}
