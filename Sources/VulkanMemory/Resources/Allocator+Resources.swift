import CVulkan

/// A buffer with the memory bound to it.
public struct BoundBuffer: Hashable, @unchecked Sendable {
    /// The `VkBuffer`.
    public let buffer: VkBuffer
    /// Its memory; `allocation.size` may exceed `size` by the driver's padding.
    public let allocation: Allocation
    /// The buffer's size as created (`VkBufferCreateInfo::size`): the bound of its mapping.
    public let size: UInt64
    /// The usage it was created with (`VkBufferCreateInfo::usage`): what
    /// `Allocator.deviceAddress(of:)` checks for `.shaderDeviceAddress`.
    public internal(set) var usage: BufferUsage = []
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
        ResourceObject(handle: .buffer(buffer), kind: .linear).requirements(on: device)
    }

    /// The memory requirements of an image (`vkGetImageMemoryRequirements2`); `tiling`
    /// decides whether it is a linear or an optimal resource for `bufferImageGranularity`.
    public func requirements(of image: VkImage, tiling: VkImageTiling) -> MemoryRequirements {
        ResourceObject(handle: .image(image), kind: tiling == VK_IMAGE_TILING_OPTIMAL ? .optimal : .linear)
            .requirements(on: device)
    }

    /// Creates a buffer (`vkCreateBuffer`), allocates its memory and binds it
    /// (`vkBindBufferMemory`), in one call.
    ///
    /// Memory that may hold a buffer is allocated with `VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT`
    /// whenever the device has `bufferDeviceAddress` enabled, so a buffer with
    /// `.shaderDeviceAddress` usage may go anywhere.
    /// - Throws: `AllocationError`: `.invalidCreateInfo` (naming the field, its value and
    ///   the limit) when the create-info breaks a rule of Vulkan or a limit of the device,
    ///   checked before any Vulkan call (`ResourceObject.validate`); on any later failure
    ///   the buffer is destroyed and the memory given back.
    public func createBuffer(
        _ createInfo: VkBufferCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> BoundBuffer {
        let object = try ResourceObject.create(createInfo, on: device)
        let allocation = try createBound(object, allocationOptions, request: request, pool: nil,
                                         creation: ResourceCreation(createInfo), fileID: fileID, line: line) {
            (placement) throws(AllocationError) in try place(placement, request, name: allocationOptions.name)
        }
        return BoundBuffer(buffer: object.buffer, allocation: allocation, size: createInfo.size,
                           usage: BufferUsage(rawValue: createInfo.usage))
    }

    /// Creates an image (`vkCreateImage`), allocates its memory and binds it
    /// (`vkBindImageMemory`), in one call.
    ///
    /// - Throws: `AllocationError`: `.invalidCreateInfo` when the create-info breaks a rule
    ///   of Vulkan or a limit of the device (its format's limits from
    ///   `vkGetPhysicalDeviceImageFormatProperties` included), checked before any Vulkan
    ///   call; on any later failure the image is destroyed and the memory given back.
    public func createImage(
        _ createInfo: VkImageCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> BoundImage {
        let object = try ResourceObject.create(createInfo, on: device)
        let allocation = try createBound(object, allocationOptions, request: request, pool: nil,
                                         creation: .image(ImageCreation(createInfo)), fileID: fileID, line: line) {
            (placement) throws(AllocationError) in try place(placement, request, name: allocationOptions.name)
        }
        return BoundImage(image: object.image, allocation: allocation)
    }

    /// `createBuffer(_:_:options:)` with the memory from a custom pool: a range of its
    /// pages, or dedicated memory of its type when the driver requires it or the options
    /// say `.always` (see `allocate(_:in:options:fileID:line:)`).
    public func createBuffer(_ createInfo: VkBufferCreateInfo, in pool: MemoryPool,
                             options allocationOptions: AllocationOptions = AllocationOptions(),
                             fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> BoundBuffer {
        let pages = try poolPages(pool)
        let object = try ResourceObject.create(createInfo, on: device)
        let allocation = try createBound(object, allocationOptions, request: nil, pool: pool.name,
                                         creation: ResourceCreation(createInfo), fileID: fileID, line: line) {
            (placement) throws(AllocationError) in try place(placement, inPool: pages, name: allocationOptions.name)
        }
        return BoundBuffer(buffer: object.buffer, allocation: allocation, size: createInfo.size,
                           usage: BufferUsage(rawValue: createInfo.usage))
    }

    /// `createImage(_:_:options:)` with the memory from a custom pool, as
    /// `createBuffer(_:in:options:)`.
    public func createImage(_ createInfo: VkImageCreateInfo, in pool: MemoryPool,
                            options allocationOptions: AllocationOptions = AllocationOptions(),
                            fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> BoundImage {
        let pages = try poolPages(pool)
        let object = try ResourceObject.create(createInfo, on: device)
        let allocation = try createBound(object, allocationOptions, request: nil, pool: pool.name,
                                         creation: .image(ImageCreation(createInfo)), fileID: fileID, line: line) {
            (placement) throws(AllocationError) in try place(placement, inPool: pages, name: allocationOptions.name)
        }
        return BoundImage(image: object.image, allocation: allocation)
    }

    /// Creates a buffer (`vkCreateBuffer`) and binds it (`vkBindBufferMemory`) to an
    /// allocation you hold, such as a defragmentation move's destination. The buffer
    /// takes the allocation over: `destroyBuffer` frees it with the buffer.
    ///
    /// An allocation belongs to one resource: one made by `createBuffer`/`createImage` or
    /// a batch, or already bound here, is refused.
    /// - Throws: `.zeroSize`; `.invalidCreateInfo` as `createBuffer(_:_:options:)`;
    ///   `.alreadyFreed` when the allocation was freed,
    ///   `.unknownAllocation` when it is not this allocator's; `.requirementsNotMet`
    ///   (with the reason) when the buffer needs more bytes, a stricter alignment,
    ///   another memory type or memory of its own, the memory was allocated for another
    ///   resource, the range was placed for an optimal-tiling image, or another resource
    ///   is bound to it already; `.vulkan` when a call fails. Nothing is left behind
    ///   then, and the allocation stays yours.
    public func createBuffer(_ createInfo: VkBufferCreateInfo, boundTo allocation: Allocation) throws(AllocationError) -> BoundBuffer {
        if let error = liveness(allocation) { throw error }
        let object = try ResourceObject.create(createInfo, on: device)
        try bind(object, toExisting: allocation)
        return BoundBuffer(buffer: object.buffer, allocation: allocation, size: createInfo.size,
                           usage: BufferUsage(rawValue: createInfo.usage))
    }

    /// Creates an image (`vkCreateImage`) and binds it (`vkBindImageMemory`) to an
    /// allocation you hold, such as a defragmentation move's destination. The image
    /// takes the allocation over: `destroyImage` frees it with the image.
    /// - Throws: as `createBuffer(_:boundTo:)`; an optimal-tiling image also needs a range
    ///   placed for one (or of unknown kind), so the granularity rule holds.
    public func createImage(_ createInfo: VkImageCreateInfo, boundTo allocation: Allocation) throws(AllocationError) -> BoundImage {
        if let error = liveness(allocation) { throw error }
        let object = try ResourceObject.create(createInfo, on: device)
        try bind(object, toExisting: allocation)
        return BoundImage(image: object.image, allocation: allocation)
    }

    /// The part of every create-and-bind after the object exists: one placement request
    /// for it (validated once, marked bound), placed by `place`, then bound, then one
    /// event; on any failure the memory goes back (with a page made for it) and the object
    /// is destroyed, so the allocator is as before.
    @inline(__always)
    func createBound(_ object: ResourceObject, _ allocationOptions: AllocationOptions, request: MemoryRequest?,
                     pool: @autoclosure () -> String?, creation: @autoclosure () -> ResourceCreation, fileID: StaticString, line: UInt,
                     place: (PlacementRequest) throws(AllocationError) -> Allocation) throws(AllocationError) -> Allocation {
        do throws(AllocationError) {
            let requirements = object.requirements(on: device)
            let placement = try PlacementRequest(requirements, allocationOptions,
                                                 target: object.dedicatedTarget, resource: object.bound,
                                                 fileID: fileID, line: line)
            let allocation = try place(placement)
            do throws(AllocationError) {
                try object.bind(to: allocation, on: device)
            } catch {
                // Every page kept, as the other undoing frees do: no empty-page policy
                // and no look for a sparse page may run for a call that failed.
                try? free(allocation, keepEmpty: .max)
                undoPlacement(of: allocation)
                throw error
            }
            reportAllocated(allocation, requirements, request: request, options: allocationOptions, pool: pool(),
                            resource: creation(), fileID: fileID, line: line)
            return allocation
        } catch {
            object.destroy(on: device)
            throw error
        }
    }

    /// Destroys a buffer (`vkDestroyBuffer`) and frees its memory.
    ///
    /// After a defragmentation pass was committed, the buffers bound to the moves' sources
    /// are destroyed here as any other: the commit freed their memory already, and this
    /// destroys the `VkBuffer`.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` when the memory was freed before
    ///   (and no committed pass moved it); the buffer is then left alone, as it may be
    ///   destroyed already too.
    public func destroyBuffer(_ bound: BoundBuffer) throws(AllocationError) {
        let freedHere = try freeForDestroy(bound.allocation)
        device.deviceFunctions.destroyBuffer(device.device, bound.buffer, nil)
        if freedHere { reportFreed(bound.allocation, .destroyBuffer) }
    }

    /// Destroys an image (`vkDestroyImage`) and frees its memory, as `destroyBuffer`.
    public func destroyImage(_ bound: BoundImage) throws(AllocationError) {
        let freedHere = try freeForDestroy(bound.allocation)
        device.deviceFunctions.destroyImage(device.device, bound.image, nil)
        if freedHere { reportFreed(bound.allocation, .destroyImage) }
    }

    /// Frees a destroyed resource's memory; memory a committed defragmentation pass moved
    /// away (and freed, and reported freed) is taken as freed here, once.
    /// - Returns: whether this call freed the memory.
    @inline(__always)
    private func freeForDestroy(_ allocation: Allocation) throws(AllocationError) -> Bool {
        do throws(AllocationError) {
            try free(allocation, keepEmpty: nil)
            return true
        } catch {
            guard case .alreadyFreed = error, movedSources.withLock({ $0.remove(allocation) != nil }) else { throw error }
            return false
        }
    }

    /// The pages of a custom pool this allocator made and has not destroyed.
    func poolPages(_ pool: MemoryPool) throws(AllocationError) -> MemoryTypePool {
        guard pool.owner == id else { throw .unknownAllocation }
        return pool.pages
    }
}

extension ResourceObject {
    /// The buffer; only for an object made from a `VkBufferCreateInfo`.
    var buffer: VkBuffer {
        guard case .buffer(let buffer) = handle else { preconditionFailure("not a buffer") }
        return buffer
    }

    /// The image; only for an object made from a `VkImageCreateInfo`.
    var image: VkImage {
        guard case .image(let image) = handle else { preconditionFailure("not an image") }
        return image
    }
}
