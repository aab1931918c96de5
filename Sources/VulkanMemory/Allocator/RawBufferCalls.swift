import CVulkan

/// The bare Vulkan calls of a buffer's life with no allocator: the baseline that
/// benchmarks subtract to show what the allocator itself costs.
public struct RawBufferCalls: @unchecked Sendable {
    let device: VulkanDevice

    /// Uses the device's function tables.
    public init(device: VulkanDevice) { self.device = device }

    /// `vkCreateBuffer`, `vkGetBufferMemoryRequirements2` (with dedicated requirements, as
    /// the allocator asks) and `vkBindBufferMemory` at `offset` (0 by default) of `memory`.
    public func createAndBind(_ info: inout VkBufferCreateInfo, memory: VkDeviceMemory,
                              offset: UInt64 = 0) throws(AllocationError) -> VkBuffer {
        let (buffer, _) = try create(&info)
        try bind(buffer, memory: memory, offset: offset)
        return buffer
    }

    /// `vkCreateBuffer` and `vkGetBufferMemoryRequirements2` (with dedicated requirements,
    /// as the allocator asks): a buffer not yet bound, and where it may go.
    public func create(_ info: inout VkBufferCreateInfo) throws(AllocationError) -> (VkBuffer, MemoryRequirements) {
        let functions = device.deviceFunctions
        var created: VkBuffer?
        let result = VulkanResult(functions.createBuffer(device.device, &info, nil, &created))
        guard result.isSuccess, let buffer = created else {
            throw .vulkan(.callFailed(function: "vkCreateBuffer", result: result))
        }
        let requirements = device.requirements(kind: .linear) { requirements in
            var query = VkBufferMemoryRequirementsInfo2()
            query.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2
            query.buffer = buffer
            functions.getBufferMemoryRequirements2(device.device, &query, &requirements)
        }
        return (buffer, requirements)
    }

    /// `vkBindBufferMemory` at `offset` of `memory`; on failure the buffer is destroyed.
    public func bind(_ buffer: VkBuffer, memory: VkDeviceMemory, offset: UInt64) throws(AllocationError) {
        let bound = VulkanResult(device.deviceFunctions.bindBufferMemory(device.device, buffer, memory, offset))
        guard bound.isSuccess else {
            destroy(buffer)
            throw .vulkan(.callFailed(function: "vkBindBufferMemory", result: bound))
        }
    }

    /// `vkDestroyBuffer`.
    public func destroy(_ buffer: VkBuffer) {
        device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
    }
}
