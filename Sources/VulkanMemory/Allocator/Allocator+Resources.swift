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
        do throws(AllocationError) {
            var options = allocationOptions
            options.dedicatedTarget = .buffer(buffer)
            let allocation = try allocate(requirements(of: buffer), request, options: options,
                                          fileID: fileID, line: line)
            let bound = VulkanResult(functions.bindBufferMemory(device.device, buffer, allocation.memory,
                                                                allocation.offset))
            guard bound.isSuccess else {
                try? free(allocation)
                releasePageStarted(by: allocation)
                throw AllocationError.vulkan(.callFailed(function: "vkBindBufferMemory", result: bound))
            }
            return BoundBuffer(buffer: buffer, allocation: allocation, size: createInfo.size)
        } catch {
            functions.destroyBuffer(device.device, buffer, nil)
            throw error
        }
    }

    /// Destroys a buffer (`vkDestroyBuffer`) and frees its memory.
    ///
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` when the memory was freed before;
    ///   the buffer is then left alone, as it may be destroyed already too.
    public func destroyBuffer(_ bound: BoundBuffer) throws(AllocationError) {
        try free(bound.allocation)
        device.deviceFunctions.destroyBuffer(device.device, bound.buffer, nil)
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
        do throws(AllocationError) {
            var options = allocationOptions
            options.dedicatedTarget = .image(image)
            let allocation = try allocate(requirements(of: image, tiling: createInfo.tiling), request,
                                          options: options, fileID: fileID, line: line)
            let bound = VulkanResult(functions.bindImageMemory(device.device, image, allocation.memory,
                                                               allocation.offset))
            guard bound.isSuccess else {
                try? free(allocation)
                releasePageStarted(by: allocation)
                throw AllocationError.vulkan(.callFailed(function: "vkBindImageMemory", result: bound))
            }
            return BoundImage(image: image, allocation: allocation)
        } catch {
            functions.destroyImage(device.device, image, nil)
            throw error
        }
    }

    /// Destroys an image (`vkDestroyImage`) and frees its memory.
    public func destroyImage(_ bound: BoundImage) throws(AllocationError) {
        try free(bound.allocation)
        device.deviceFunctions.destroyImage(device.device, bound.image, nil)
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
