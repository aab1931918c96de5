import CVulkan

/// The command-pool, command-buffer and submission calls that ``TransferQueue`` and
/// ``CommandSubmission`` both make, once.
extension VulkanDevice {
    /// `vkCreateCommandPool` for queue family `family` with `flags`.
    func createCommandPool(family: UInt32, flags: VkCommandPoolCreateFlagBits) throws(VulkanError) -> VkCommandPool {
        var info = VkCommandPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        info.flags = VkCommandPoolCreateFlags(flags.rawValue)
        info.queueFamilyIndex = family
        var pool: VkCommandPool?
        let result = VulkanResult(commandFunctions.createCommandPool(device, &info, nil, &pool))
        guard result.isSuccess, let pool else { throw .callFailed(function: "vkCreateCommandPool", result: result) }
        return pool
    }

    /// `vkAllocateCommandBuffers` of one primary command buffer from `pool`.
    func allocateCommandBuffer(from pool: VkCommandPool) throws(VulkanError) -> VkCommandBuffer {
        var info = VkCommandBufferAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        info.commandPool = pool
        info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        info.commandBufferCount = 1
        var allocated: VkCommandBuffer?
        let result = VulkanResult(commandFunctions.allocateCommandBuffers(device, &info, &allocated))
        guard result.isSuccess, let allocated else {
            throw .callFailed(function: "vkAllocateCommandBuffers", result: result)
        }
        return allocated
    }

    /// `vkCreateFence`, unsignalled.
    func createFence() throws(VulkanError) -> VkFence {
        var info = VkFenceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        let result = VulkanResult(commandFunctions.createFence(device, &info, nil, &fence))
        guard result.isSuccess, let fence else { throw .callFailed(function: "vkCreateFence", result: result) }
        return fence
    }

    /// `vkQueueSubmit` of one command buffer to `queue`, signalling `fence`; the caller
    /// synchronizes access to the queue.
    func submit(_ commandBuffer: VkCommandBuffer, to queue: VkQueue, signalling fence: VkFence) throws(VulkanError) {
        let result = withUnsafePointer(to: Optional(commandBuffer)) { commandBuffers in
            var submitInfo = VkSubmitInfo()
            submitInfo.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submitInfo.commandBufferCount = 1
            submitInfo.pCommandBuffers = commandBuffers
            return VulkanResult(commandFunctions.queueSubmit(queue, 1, &submitInfo, fence))
        }
        guard result.isSuccess else { throw .callFailed(function: "vkQueueSubmit", result: result) }
    }

    /// `vkWaitForFences` on one fence, no timeout.
    func wait(for fence: VkFence) throws(VulkanError) {
        var fences: VkFence? = fence
        let result = VulkanResult(commandFunctions.waitForFences(device, 1, &fences, VkBool32(VK_TRUE), .max))
        guard result.isSuccess else { throw .callFailed(function: "vkWaitForFences", result: result) }
    }

    /// `vkBeginCommandBuffer` for one submission (`ONE_TIME_SUBMIT`).
    func beginOneTimeSubmit(_ commandBuffer: VkCommandBuffer) throws(VulkanError) {
        var info = VkCommandBufferBeginInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        info.flags = VkCommandBufferUsageFlags(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        let result = VulkanResult(commandFunctions.beginCommandBuffer(commandBuffer, &info))
        guard result.isSuccess else { throw .callFailed(function: "vkBeginCommandBuffer", result: result) }
    }

    /// `vkEndCommandBuffer`.
    func end(_ commandBuffer: VkCommandBuffer) throws(VulkanError) {
        let result = VulkanResult(commandFunctions.endCommandBuffer(commandBuffer))
        guard result.isSuccess else { throw .callFailed(function: "vkEndCommandBuffer", result: result) }
    }
}
