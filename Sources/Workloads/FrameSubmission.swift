import CVulkan
import VulkanMemory

/// One command buffer and one fence on a queue, reused frame after frame: what a frame
/// loop records its work into, submits without waiting (`vkQueueSubmit` with the fence),
/// and later waits on (`vkWaitForFences`). W3's incremental run records its moving passes
/// here.
///
/// Not thread-safe: one frame loop uses it.
public final class FrameSubmission {
    let device: VulkanDevice
    let queue: VkQueue
    let pool: VkCommandPool
    /// The command buffer of every frame.
    public let commandBuffer: VkCommandBuffer
    /// Signalled when the last submission is done.
    public let fence: VkFence

    /// Creates the command pool (`vkCreateCommandPool`), its command buffer
    /// (`vkAllocateCommandBuffers`) and the fence (`vkCreateFence`) for `queue` of
    /// `queueFamilyIndex`.
    public init(device: VulkanDevice, queue: VkQueue, queueFamilyIndex: UInt32) throws(VulkanError) {
        let functions = device.commandFunctions
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VkCommandPoolCreateFlags(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue)
        poolInfo.queueFamilyIndex = queueFamilyIndex
        var createdPool: VkCommandPool?
        var result = VulkanResult(functions.createCommandPool(device.device, &poolInfo, nil, &createdPool))
        guard result.isSuccess, let pool = createdPool else {
            throw .callFailed(function: "vkCreateCommandPool", result: result)
        }
        var allocateInfo = VkCommandBufferAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocateInfo.commandPool = pool
        allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocateInfo.commandBufferCount = 1
        var allocated: VkCommandBuffer?
        result = VulkanResult(functions.allocateCommandBuffers(device.device, &allocateInfo, &allocated))
        guard result.isSuccess, let commandBuffer = allocated else {
            functions.destroyCommandPool(device.device, pool, nil)
            throw .callFailed(function: "vkAllocateCommandBuffers", result: result)
        }
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var createdFence: VkFence?
        result = VulkanResult(functions.createFence(device.device, &fenceInfo, nil, &createdFence))
        guard result.isSuccess, let fence = createdFence else {
            functions.destroyCommandPool(device.device, pool, nil)
            throw .callFailed(function: "vkCreateFence", result: result)
        }
        self.device = device
        self.queue = queue
        self.pool = pool
        self.commandBuffer = commandBuffer
        self.fence = fence
    }

    /// Resets the command buffer and the fence and begins recording
    /// (`vkResetFences`, `vkBeginCommandBuffer` with one-time submit).
    public func begin() throws(VulkanError) {
        let functions = device.commandFunctions
        var fences: VkFence? = fence
        var result = VulkanResult(functions.resetFences(device.device, 1, &fences))
        guard result.isSuccess else { throw .callFailed(function: "vkResetFences", result: result) }
        var beginInfo = VkCommandBufferBeginInfo()
        beginInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        beginInfo.flags = VkCommandBufferUsageFlags(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        result = VulkanResult(functions.beginCommandBuffer(commandBuffer, &beginInfo))
        guard result.isSuccess else { throw .callFailed(function: "vkBeginCommandBuffer", result: result) }
    }

    /// Ends recording and submits, signalling `fence` (`vkEndCommandBuffer`,
    /// `vkQueueSubmit`); does not wait.
    public func submit() throws(VulkanError) {
        let functions = device.commandFunctions
        var result = VulkanResult(functions.endCommandBuffer(commandBuffer))
        guard result.isSuccess else { throw .callFailed(function: "vkEndCommandBuffer", result: result) }
        result = withUnsafePointer(to: Optional(commandBuffer)) { commandBuffers in
            var submitInfo = VkSubmitInfo()
            submitInfo.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submitInfo.commandBufferCount = 1
            submitInfo.pCommandBuffers = commandBuffers
            return VulkanResult(functions.queueSubmit(queue, 1, &submitInfo, fence))
        }
        guard result.isSuccess else { throw .callFailed(function: "vkQueueSubmit", result: result) }
    }

    /// Waits for the last submission (`vkWaitForFences`).
    public func wait() throws(VulkanError) {
        var fences: VkFence? = fence
        let result = VulkanResult(device.commandFunctions.waitForFences(device.device, 1, &fences, VkBool32(VK_TRUE), .max))
        guard result.isSuccess else { throw .callFailed(function: "vkWaitForFences", result: result) }
    }

    deinit {
        // The caller waited for its last submission; nothing runs on them any more.
        device.commandFunctions.destroyFence(device.device, fence, nil)
        device.commandFunctions.destroyCommandPool(device.device, pool, nil)
    }
}
