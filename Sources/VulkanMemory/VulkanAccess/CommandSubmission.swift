import CVulkan

/// One command buffer and one fence on a queue, reused frame after frame: what a frame
/// loop records its work into (``begin()``), submits without waiting (``submit()``,
/// `vkQueueSubmit` with the fence) and later waits on (``wait()``, `vkWaitForFences`).
/// A moving defragmentation pass records its copies into ``commandBuffer`` and is
/// finished with ``fence`` (``MovingDefragmentationPass/finish(after:)``).
///
/// Why it exists: ``TransferQueue/submit(_:)`` waits before it returns, which is what an
/// upload wants; a frame loop wants to go on while the GPU works, and to learn later,
/// from the fence, that it is done.
///
/// Thread safety: none; one frame loop uses it (Vulkan requires a command pool and its
/// command buffers to be used by one thread at a time). Before it is dropped, its last
/// submission must be finished (``wait()``).
public final class CommandSubmission {
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
    /// - Throws: `VulkanError.callFailed` naming the call that failed; nothing is left
    ///   behind then.
    public init(device: VulkanDevice, queue: VkQueue, queueFamilyIndex: UInt32) throws(VulkanError) {
        let pool = try device.createCommandPool(family: queueFamilyIndex, flags: VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT)
        do throws(VulkanError) {
            // The command buffer goes with its pool.
            commandBuffer = try device.allocateCommandBuffer(from: pool)
            fence = try device.createFence()
        } catch {
            device.commandFunctions.destroyCommandPool(device.device, pool, nil)
            throw error
        }
        self.device = device
        self.queue = queue
        self.pool = pool
    }

    /// Resets the fence and begins recording the command buffer again
    /// (`vkResetFences`, `vkBeginCommandBuffer` with one-time submit, which resets it).
    /// The previous submission must be finished.
    /// - Throws: `VulkanError.callFailed` naming the call that failed.
    public func begin() throws(VulkanError) {
        var fences: VkFence? = fence
        let result = VulkanResult(device.commandFunctions.resetFences(device.device, 1, &fences))
        guard result.isSuccess else { throw .callFailed(function: "vkResetFences", result: result) }
        try device.beginOneTimeSubmit(commandBuffer)
    }

    /// Ends recording and submits, signalling ``fence`` (`vkEndCommandBuffer`,
    /// `vkQueueSubmit`); does not wait. The queue must not be used by another thread
    /// meanwhile.
    /// - Throws: `VulkanError.callFailed` naming the call that failed.
    public func submit() throws(VulkanError) {
        try device.end(commandBuffer)
        try device.submit(commandBuffer, to: queue, signalling: fence)
    }

    /// Ends recording and resets the command buffer without submitting it
    /// (`vkEndCommandBuffer`, `vkResetCommandBuffer`): what to do with the commands of a
    /// frame you gave up, such as a cancelled moving pass's copies.
    /// - Throws: `VulkanError.callFailed` naming the call that failed.
    public func discard() throws(VulkanError) {
        try device.end(commandBuffer)
        let result = VulkanResult(device.commandFunctions.resetCommandBuffer(commandBuffer, 0))
        guard result.isSuccess else { throw .callFailed(function: "vkResetCommandBuffer", result: result) }
    }

    /// Waits for the last submission (`vkWaitForFences`, no timeout).
    /// - Throws: `VulkanError.callFailed` (`VK_ERROR_DEVICE_LOST`).
    public func wait() throws(VulkanError) { try device.wait(for: fence) }

    /// A submission for the queue a `VulkanContext` created (`context.queue`).
    /// - Throws: as ``init(device:queue:queueFamilyIndex:)``.
    public convenience init(context: VulkanContext) throws(VulkanError) {
        try self.init(device: context.device, queue: context.queue.handle, queueFamilyIndex: context.queueFamilyIndex)
    }

    deinit {
        // The caller waited for its last submission; nothing runs on them any more.
        device.commandFunctions.destroyFence(device.device, fence, nil)
        device.commandFunctions.destroyCommandPool(device.device, pool, nil)
    }
}
