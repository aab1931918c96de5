import CVulkan

/// A buffer with the memory bound to it.
public struct BoundBuffer: Hashable, @unchecked Sendable {
    /// The `VkBuffer`.
    public let buffer: VkBuffer
    /// Its memory; `allocation.size` may exceed `size` by the driver's padding.
    public let allocation: Allocation
    /// The buffer's size as created (`VkBufferCreateInfo::size`): the bound of its mapping.
    public let size: UInt64
}

/// An image with the memory bound to it.
public struct BoundImage: Hashable, @unchecked Sendable {
    /// The `VkImage`.
    public let image: VkImage
    /// Its memory.
    public let allocation: Allocation
}

extension Allocator {
    /// The memory requirements of a buffer, with the driver's dedicated-allocation wishes
    /// (`vkGetBufferMemoryRequirements2` with `VkMemoryDedicatedRequirements`).
    public func requirements(of buffer: VkBuffer) -> MemoryRequirements {
        device.requirements(kind: .linear) { requirements in
            var info = VkBufferMemoryRequirementsInfo2()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2
            info.buffer = buffer
            device.deviceFunctions.getBufferMemoryRequirements2(device.device, &info, &requirements)
        }
    }

    /// The memory requirements of an image (`vkGetImageMemoryRequirements2`); `tiling`
    /// decides whether it is a linear or an optimal resource for `bufferImageGranularity`.
    public func requirements(of image: VkImage, tiling: VkImageTiling) -> MemoryRequirements {
        device.requirements(kind: tiling == VK_IMAGE_TILING_OPTIMAL ? .optimal : .linear) { requirements in
            var info = VkImageMemoryRequirementsInfo2()
            info.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2
            info.image = image
            device.deviceFunctions.getImageMemoryRequirements2(device.device, &info, &requirements)
        }
    }

    /// Creates a buffer (`vkCreateBuffer`), allocates its memory and binds it
    /// (`vkBindBufferMemory`), in one call.
    ///
    /// - Throws: `AllocationError`; on any failure the buffer is destroyed and the memory
    ///   given back.
    public func createBuffer(
        _ createInfo: VkBufferCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> BoundBuffer {
        guard createInfo.size > 0 else { throw .zeroSize }
        let functions = device.deviceFunctions
        let buffer = try makeBuffer(createInfo)
        let allocation = try allocateAndBind(
            .buffer(buffer), requirements(of: buffer), request, options: allocationOptions,
            fileID: fileID, line: line, bindFunction: "vkBindBufferMemory",
            bind: { functions.bindBufferMemory(device.device, buffer, $0.memory, $0.offset) },
            destroy: { functions.destroyBuffer(device.device, buffer, nil) })
        if let recorder { recordCreateBuffer(createInfo, request, allocationOptions, allocation, to: recorder) }
        return BoundBuffer(buffer: buffer, allocation: allocation, size: createInfo.size)
    }

    /// Creates a buffer (`vkCreateBuffer`) and binds it (`vkBindBufferMemory`) to an
    /// allocation you hold, such as a defragmentation move's destination. The buffer
    /// takes the allocation over: `destroyBuffer` frees it with the buffer.
    /// - Throws: `.zeroSize`; `.alreadyFreed` when the allocation was freed,
    ///   `.unknownAllocation` when it is not this allocator's; `.requirementsNotMet`
    ///   (with the reason) when the buffer needs more bytes, a stricter alignment,
    ///   another memory type or memory of its own, the memory was allocated for another
    ///   resource, or the range was placed for an optimal-tiling image; `.vulkan` when a
    ///   call fails. Nothing is left behind then, and the allocation stays yours.
    public func createBuffer(_ createInfo: VkBufferCreateInfo, boundTo allocation: Allocation) throws(AllocationError) -> BoundBuffer {
        guard createInfo.size > 0 else { throw .zeroSize }
        if let error = liveness(allocation) { throw error }
        let functions = device.deviceFunctions
        let buffer = try makeBuffer(createInfo)
        try bindExisting(allocation, requirements(of: buffer), bindFunction: "vkBindBufferMemory",
                         bind: { functions.bindBufferMemory(device.device, buffer, $0.memory, $0.offset) },
                         destroy: { functions.destroyBuffer(device.device, buffer, nil) })
        return BoundBuffer(buffer: buffer, allocation: allocation, size: createInfo.size)
    }

    /// Creates an image (`vkCreateImage`) and binds it (`vkBindImageMemory`) to an
    /// allocation you hold, such as a defragmentation move's destination. The image
    /// takes the allocation over: `destroyImage` frees it with the image.
    /// - Throws: as `createBuffer(_:boundTo:)`; an optimal-tiling image also needs a range
    ///   placed for one (or of unknown kind), so the granularity rule holds.
    public func createImage(_ createInfo: VkImageCreateInfo, boundTo allocation: Allocation) throws(AllocationError) -> BoundImage {
        if let error = liveness(allocation) { throw error }
        let functions = device.deviceFunctions
        let image = try makeImage(createInfo)
        try bindExisting(allocation, requirements(of: image, tiling: createInfo.tiling), bindFunction: "vkBindImageMemory",
                         bind: { functions.bindImageMemory(device.device, image, $0.memory, $0.offset) },
                         destroy: { functions.destroyImage(device.device, image, nil) })
        return BoundImage(image: image, allocation: allocation)
    }

    /// Binds a just-created resource with requirements `needs` to `allocation`, or
    /// destroys it and throws.
    private func bindExisting(_ allocation: Allocation, _ needs: MemoryRequirements, bindFunction: String,
                              bind: (Allocation) -> VkResult, destroy: () -> Void) throws(AllocationError) {
        if let reason = unmetRequirement(needs, allocation) {
            destroy()
            throw .requirementsNotMet(allocation: allocation.description, reason: reason)
        }
        let bound = VulkanResult(bind(allocation))
        guard bound.isSuccess else {
            destroy()
            throw .vulkan(.callFailed(function: bindFunction, result: bound))
        }
    }

    /// Which requirement of a resource with requirements `needs` `allocation` does not
    /// meet; nil when it meets them all.
    private func unmetRequirement(_ needs: MemoryRequirements, _ allocation: Allocation) -> UnmetRequirement? {
        if needs.size > allocation.size { return .size(needed: needs.size, available: allocation.size) }
        if allocation.offset % max(needs.alignment, 1) != 0 {
            return .alignment(needed: needs.alignment, offset: allocation.offset)
        }
        if needs.memoryTypeBits & (1 << UInt32(allocation.memoryTypeIndex)) == 0 {
            return .memoryType(index: allocation.memoryTypeIndex, allowed: needs.memoryTypeBits)
        }
        if needs.requiresDedicated { return .requiresDedicatedMemory }
        if dedicatedTarget(of: allocation) != nil { return .dedicatedToAnotherResource }
        let placedKind = kind(of: allocation)
        if placedKind != needs.kind && placedKind != .unknown { return .kind(placed: placedKind, needed: needs.kind) }
        return nil
    }

    /// The resource a dedicated allocation's memory was made for, if any.
    private func dedicatedTarget(of allocation: Allocation) -> DeviceMemory.DedicatedTarget? {
        guard case let .dedicated(slot, generation) = allocation.location else { return nil }
        return dedicated.withLock { table in
            guard case .live(let entry) = table.lookup(slot: slot, generation: generation) else { return nil }
            return entry.memory.options.dedicated
        }
    }

    /// What a range was placed for, as far as the granularity rule cares: the kind a
    /// page allocation was made with, or a group member was laid out for; `.unknown`
    /// (anything may go there) for dedicated memory, which has no neighbours.
    private func kind(of allocation: Allocation) -> SuballocationKind {
        switch allocation.location {
        case let .page(slot, _, handle):
            guard let (pool, _) = pagePool(of: allocation, slot: slot) else { return .unknown }
            return pool.state.withLock { (try? $0.arena.kind(of: handle)) ?? .unknown }
        case let .member(slot, generation, index):
            return memberKind(of: allocation, slot: slot, generation: generation, index: index)
        case .dedicated:
            return .unknown
        }
    }

    /// Destroys a buffer (`vkDestroyBuffer`) and frees its memory.
    ///
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` when the memory was freed before;
    ///   the buffer is then left alone, as it may be destroyed already too.
    public func destroyBuffer(_ bound: BoundBuffer) throws(AllocationError) {
        try free(bound.allocation, keepEmpty: options.maxEmptyPagesPerType)
        device.deviceFunctions.destroyBuffer(device.device, bound.buffer, nil)
        recorder?.recordRelease("vmaDestroyBuffer", handle: CallRecorder.handle(of: bound.allocation))
    }

    /// Creates an image (`vkCreateImage`), allocates its memory and binds it
    /// (`vkBindImageMemory`), in one call.
    ///
    /// - Throws: `AllocationError`; on any failure the image is destroyed and the memory
    ///   given back.
    public func createImage(
        _ createInfo: VkImageCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> BoundImage {
        let functions = device.deviceFunctions
        let image = try makeImage(createInfo)
        let allocation = try allocateAndBind(
            .image(image), requirements(of: image, tiling: createInfo.tiling), request, options: allocationOptions,
            fileID: fileID, line: line, bindFunction: "vkBindImageMemory",
            bind: { functions.bindImageMemory(device.device, image, $0.memory, $0.offset) },
            destroy: { functions.destroyImage(device.device, image, nil) })
        if let recorder { recordCreateImage(createInfo, request, allocationOptions, allocation, to: recorder) }
        return BoundImage(image: image, allocation: allocation)
    }

    /// The part of `createBuffer`/`createImage` after the object exists: allocate for it and
    /// bind; on any failure give the memory back (with a page made for it) and destroy the
    /// object.
    private func allocateAndBind(
        _ target: DeviceMemory.DedicatedTarget, _ requirements: MemoryRequirements, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions, fileID: StaticString, line: UInt, bindFunction: String,
        bind: (Allocation) -> VkResult, destroy: () -> Void
    ) throws(AllocationError) -> Allocation {
        try bindNew(bindFunction: bindFunction, bind: bind, destroy: destroy) { () throws(AllocationError) in
            try allocate(requirements, request, options: allocationOptions, dedicatedTarget: target,
                         fileID: fileID, line: line)
        }
    }

    /// Allocates with `allocate` for a just-created object and binds it; on any failure
    /// gives the memory back (with a page made for it) and destroys the object.
    func bindNew(bindFunction: String, bind: (Allocation) -> VkResult, destroy: () -> Void,
                 allocate: () throws(AllocationError) -> Allocation) throws(AllocationError) -> Allocation {
        do throws(AllocationError) {
            let allocation = try allocate()
            let bound = VulkanResult(bind(allocation))
            guard bound.isSuccess else {
                try? free(allocation, keepEmpty: options.maxEmptyPagesPerType)
                releasePageStarted(by: allocation)
                throw AllocationError.vulkan(.callFailed(function: bindFunction, result: bound))
            }
            return allocation
        } catch {
            destroy()
            throw error
        }
    }

    /// Destroys an image (`vkDestroyImage`) and frees its memory.
    public func destroyImage(_ bound: BoundImage) throws(AllocationError) {
        try free(bound.allocation, keepEmpty: options.maxEmptyPagesPerType)
        device.deviceFunctions.destroyImage(device.device, bound.image, nil)
        recorder?.recordRelease("vmaDestroyImage", handle: CallRecorder.handle(of: bound.allocation))
    }
}

extension VulkanDevice {
    /// Runs a `vkGet*MemoryRequirements2` query with `VkMemoryDedicatedRequirements` chained
    /// and converts the answer.
    func requirements(kind: SuballocationKind,
                      _ query: (inout VkMemoryRequirements2) -> Void) -> MemoryRequirements {
        var dedicated = VkMemoryDedicatedRequirements()
        dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS
        var requirements = VkMemoryRequirements2()
        requirements.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2
        withUnsafeMutablePointer(to: &dedicated) { pointer in
            requirements.pNext = UnsafeMutableRawPointer(pointer)
            query(&requirements)
        }
        let r = requirements.memoryRequirements
        return MemoryRequirements(size: r.size, alignment: r.alignment, memoryTypeBits: r.memoryTypeBits,
                                  prefersDedicated: dedicated.prefersDedicatedAllocation != 0,
                                  requiresDedicated: dedicated.requiresDedicatedAllocation != 0, kind: kind)
    }
}
