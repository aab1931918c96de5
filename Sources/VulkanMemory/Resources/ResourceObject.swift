import CVulkan

/// The resource an allocation's record says is bound to it: a plain value kept beside
/// each live allocation, so it holds the kind and usage flags, not the handle.
struct BoundResource: Equatable {
    enum Kind: UInt8 {
        case buffer
        case image
    }

    let kind: Kind
    /// `VkBufferUsageFlags` or `VkImageUsageFlags`, as created.
    let usage: UInt32
}

/// A buffer or an image as the allocator handles it between creating it and handing it
/// out bound: the one type that every resource path (`createBuffer`/`createImage` for an
/// intent, a pool or an allocation, and each strategy of a batch) creates, asks for its
/// requirements, binds and, on failure, destroys.
struct ResourceObject {
    enum Handle {
        case buffer(VkBuffer)
        case image(VkImage)
    }

    let handle: Handle
    /// `.linear` for buffers and linear-tiling images, `.optimal` for other images: which
    /// neighbours `bufferImageGranularity` keeps apart.
    let kind: SuballocationKind
    /// The create-info's usage flags (`VkBufferUsageFlags` or `VkImageUsageFlags`); 0 for an
    /// object made only to ask for its requirements.
    var usage: UInt32 = 0

    /// What statistics say is bound to the memory once this object is.
    var bound: BoundResource {
        switch handle {
        case .buffer: BoundResource(kind: .buffer, usage: usage)
        case .image: BoundResource(kind: .image, usage: usage)
        }
    }

    /// `vkCreateBuffer`, after `validate(_:on:)` accepted the create-info.
    static func create(_ info: VkBufferCreateInfo, on device: VulkanDevice) throws(AllocationError) -> ResourceObject {
        try validate(info, on: device)
        return try createValidated(info, on: device)
    }

    /// `vkCreateBuffer` of a create-info `validate(_:on:)` has accepted already.
    static func createValidated(_ info: VkBufferCreateInfo, on device: VulkanDevice) throws(AllocationError) -> ResourceObject {
        var info = info
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        var created: VkBuffer?
        let result = VulkanResult(device.deviceFunctions.createBuffer(device.device, &info, nil, &created))
        guard result.isSuccess, let buffer = created else {
            throw .vulkan(.callFailed(function: "vkCreateBuffer", result: result))
        }
        return ResourceObject(handle: .buffer(buffer), kind: .linear, usage: UInt32(truncatingIfNeeded: info.usage))
    }

    /// `vkCreateImage`, after `validate(_:on:)` accepted the create-info.
    static func create(_ info: VkImageCreateInfo, on device: VulkanDevice) throws(AllocationError) -> ResourceObject {
        try validate(info, on: device)
        return try createValidated(info, on: device)
    }

    /// `vkCreateImage` of a create-info `validate(_:on:)` has accepted already.
    static func createValidated(_ info: VkImageCreateInfo, on device: VulkanDevice) throws(AllocationError) -> ResourceObject {
        var info = info
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        var created: VkImage?
        let result = VulkanResult(device.deviceFunctions.createImage(device.device, &info, nil, &created))
        guard result.isSuccess, let image = created else {
            throw .vulkan(.callFailed(function: "vkCreateImage", result: result))
        }
        return ResourceObject(handle: .image(image), kind: info.tiling == VK_IMAGE_TILING_OPTIMAL ? .optimal : .linear,
                              usage: info.usage)
    }

    /// What the memory of a dedicated allocation for this resource is dedicated to.
    var dedicatedTarget: DeviceMemory.DedicatedTarget {
        switch handle {
        case .buffer(let buffer): .buffer(buffer)
        case .image(let image): .image(image)
        }
    }

    /// `vkGetBufferMemoryRequirements2` / `vkGetImageMemoryRequirements2`, with the
    /// driver's dedicated-allocation wishes.
    func requirements(on device: VulkanDevice) -> MemoryRequirements {
        switch handle {
        case .buffer(let buffer):
            return device.requirements(kind: kind) { requirements in
                var info = VkBufferMemoryRequirementsInfo2()
                info.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2
                info.buffer = buffer
                device.deviceFunctions.getBufferMemoryRequirements2(device.device, &info, &requirements)
            }
        case .image(let image):
            return device.requirements(kind: kind) { requirements in
                var info = VkImageMemoryRequirementsInfo2()
                info.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2
                info.image = image
                device.deviceFunctions.getImageMemoryRequirements2(device.device, &info, &requirements)
            }
        }
    }

    /// `vkBindBufferMemory` / `vkBindImageMemory` at the allocation's memory and offset,
    /// plus `localOffset` (`vmaBindBufferMemory2`'s `allocationLocalOffset`; 0 on every
    /// path but a bind of the caller's own resource).
    @inline(__always)
    func bind(to allocation: Allocation, localOffset: UInt64 = 0, on device: VulkanDevice) throws(AllocationError) {
        let functions = device.deviceFunctions
        switch handle {
        case .buffer(let buffer):
            let result = VulkanResult(functions.bindBufferMemory(device.device, buffer, allocation.memory,
                                                                 allocation.offset + localOffset))
            guard result.isSuccess else { throw .vulkan(.callFailed(function: "vkBindBufferMemory", result: result)) }
        case .image(let image):
            let result = VulkanResult(functions.bindImageMemory(device.device, image, allocation.memory,
                                                                allocation.offset + localOffset))
            guard result.isSuccess else { throw .vulkan(.callFailed(function: "vkBindImageMemory", result: result)) }
        }
    }

    /// `vkDestroyBuffer` / `vkDestroyImage`.
    func destroy(on device: VulkanDevice) {
        switch handle {
        case .buffer(let buffer): device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
        case .image(let image): device.deviceFunctions.destroyImage(device.device, image, nil)
        }
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
