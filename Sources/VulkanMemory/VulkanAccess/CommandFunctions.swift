import CVulkan

/// The Vulkan functions a program needs to move data to and from the device and to run
/// a compute shader: command pools and buffers, copies, barriers, queue submission,
/// fences and semaphores, shader modules, descriptor sets, compute pipelines and
/// dispatch. Each property is named after its Vulkan function without the `vk` prefix
/// (`cmdCopyBuffer` is `vkCmdCopyBuffer`) and takes the same arguments.
///
/// Why it exists: with `VK_NO_PROTOTYPES` (the `CVulkan` module) nothing links against
/// `libvulkan`, so `vkCmdCopyBuffer` cannot simply be called; every program would load each
/// function with `vkGetDeviceProcAddr` and `unsafeBitCast`. `VulkanDevice` resolves this
/// table once, through its loader, so a program reaches them as
/// `device.commandFunctions.cmdCopyBuffer(commandBuffer, source, destination, 1, &region)`
/// and a statically linked program needs no `libvulkan` at link time.
///
/// All are Vulkan 1.0 core functions, so every device has them. Vulkan's external
/// synchronization rules apply as usual (a `VkQueue` or `VkCommandPool` is used by one
/// thread at a time).
///
/// Thread safety: immutable; use from any thread.
public struct CommandFunctions: @unchecked Sendable {
    // Queues and waiting.
    /// `vkGetDeviceQueue`.
    public let getDeviceQueue: PFN_vkGetDeviceQueue
    /// `vkQueueSubmit`.
    public let queueSubmit: PFN_vkQueueSubmit
    /// `vkQueueWaitIdle`.
    public let queueWaitIdle: PFN_vkQueueWaitIdle
    /// `vkDeviceWaitIdle`.
    public let deviceWaitIdle: PFN_vkDeviceWaitIdle
    // Command pools and buffers.
    /// `vkCreateCommandPool`.
    public let createCommandPool: PFN_vkCreateCommandPool
    /// `vkDestroyCommandPool`.
    public let destroyCommandPool: PFN_vkDestroyCommandPool
    /// `vkResetCommandPool`.
    public let resetCommandPool: PFN_vkResetCommandPool
    /// `vkAllocateCommandBuffers`.
    public let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    /// `vkFreeCommandBuffers`.
    public let freeCommandBuffers: PFN_vkFreeCommandBuffers
    /// `vkBeginCommandBuffer`.
    public let beginCommandBuffer: PFN_vkBeginCommandBuffer
    /// `vkEndCommandBuffer`.
    public let endCommandBuffer: PFN_vkEndCommandBuffer
    /// `vkResetCommandBuffer`.
    public let resetCommandBuffer: PFN_vkResetCommandBuffer
    // Transfer commands and synchronization inside a command buffer.
    /// `vkCmdCopyBuffer`.
    public let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    /// `vkCmdCopyImage`.
    public let cmdCopyImage: PFN_vkCmdCopyImage
    /// `vkCmdCopyBufferToImage`.
    public let cmdCopyBufferToImage: PFN_vkCmdCopyBufferToImage
    /// `vkCmdCopyImageToBuffer`.
    public let cmdCopyImageToBuffer: PFN_vkCmdCopyImageToBuffer
    /// `vkCmdFillBuffer`.
    public let cmdFillBuffer: PFN_vkCmdFillBuffer
    /// `vkCmdUpdateBuffer`.
    public let cmdUpdateBuffer: PFN_vkCmdUpdateBuffer
    /// `vkCmdPipelineBarrier`.
    public let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    // Fences and semaphores: waiting on the host and between submissions.
    /// `vkCreateFence`.
    public let createFence: PFN_vkCreateFence
    /// `vkDestroyFence`.
    public let destroyFence: PFN_vkDestroyFence
    /// `vkResetFences`.
    public let resetFences: PFN_vkResetFences
    /// `vkGetFenceStatus`.
    public let getFenceStatus: PFN_vkGetFenceStatus
    /// `vkWaitForFences`.
    public let waitForFences: PFN_vkWaitForFences
    /// `vkCreateSemaphore`.
    public let createSemaphore: PFN_vkCreateSemaphore
    /// `vkDestroySemaphore`.
    public let destroySemaphore: PFN_vkDestroySemaphore
    /// `vkGetSemaphoreCounterValue` (Vulkan 1.2, or `vkGetSemaphoreCounterValueKHR` of
    /// `VK_KHR_timeline_semaphore`): a timeline semaphore's value, for ``FrameRing``'s
    /// frames; nil where the driver has neither.
    public let getSemaphoreCounterValue: PFN_vkGetSemaphoreCounterValue?
    // Compute: shader modules, descriptors, pipelines and dispatch.
    /// `vkCreateShaderModule`.
    public let createShaderModule: PFN_vkCreateShaderModule
    /// `vkDestroyShaderModule`.
    public let destroyShaderModule: PFN_vkDestroyShaderModule
    /// `vkCreateDescriptorSetLayout`.
    public let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
    /// `vkDestroyDescriptorSetLayout`.
    public let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
    /// `vkCreateDescriptorPool`.
    public let createDescriptorPool: PFN_vkCreateDescriptorPool
    /// `vkDestroyDescriptorPool`.
    public let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
    /// `vkAllocateDescriptorSets`.
    public let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
    /// `vkFreeDescriptorSets`.
    public let freeDescriptorSets: PFN_vkFreeDescriptorSets
    /// `vkUpdateDescriptorSets`.
    public let updateDescriptorSets: PFN_vkUpdateDescriptorSets
    /// `vkCreatePipelineLayout`.
    public let createPipelineLayout: PFN_vkCreatePipelineLayout
    /// `vkDestroyPipelineLayout`.
    public let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    /// `vkCreateComputePipelines`.
    public let createComputePipelines: PFN_vkCreateComputePipelines
    /// `vkDestroyPipeline`.
    public let destroyPipeline: PFN_vkDestroyPipeline
    /// `vkCmdBindPipeline`.
    public let cmdBindPipeline: PFN_vkCmdBindPipeline
    /// `vkCmdBindDescriptorSets`.
    public let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
    /// `vkCmdPushConstants`.
    public let cmdPushConstants: PFN_vkCmdPushConstants
    /// `vkCmdDispatch`.
    public let cmdDispatch: PFN_vkCmdDispatch

    /// Resolves the table for `device` through `getDeviceProcAddr`.
    ///
    /// - Throws: `VulkanError.functionUnavailable` naming the first function the driver
    ///   does not return.
    init(getDeviceProcAddr: PFN_vkGetDeviceProcAddr, device: VkDevice) throws(VulkanError) {
        func required<F>(_ name: String, _ type: F.Type) throws(VulkanError) -> F {
            guard let pointer = getDeviceProcAddr(device, name) else {
                throw .functionUnavailable(name: name, reason: "vkGetDeviceProcAddr returned null for a Vulkan 1.0 core function")
            }
            return unsafeBitCast(pointer, to: F.self)
        }
        getDeviceQueue = try required("vkGetDeviceQueue", PFN_vkGetDeviceQueue.self)
        queueSubmit = try required("vkQueueSubmit", PFN_vkQueueSubmit.self)
        queueWaitIdle = try required("vkQueueWaitIdle", PFN_vkQueueWaitIdle.self)
        deviceWaitIdle = try required("vkDeviceWaitIdle", PFN_vkDeviceWaitIdle.self)
        createCommandPool = try required("vkCreateCommandPool", PFN_vkCreateCommandPool.self)
        destroyCommandPool = try required("vkDestroyCommandPool", PFN_vkDestroyCommandPool.self)
        resetCommandPool = try required("vkResetCommandPool", PFN_vkResetCommandPool.self)
        allocateCommandBuffers = try required("vkAllocateCommandBuffers", PFN_vkAllocateCommandBuffers.self)
        freeCommandBuffers = try required("vkFreeCommandBuffers", PFN_vkFreeCommandBuffers.self)
        beginCommandBuffer = try required("vkBeginCommandBuffer", PFN_vkBeginCommandBuffer.self)
        endCommandBuffer = try required("vkEndCommandBuffer", PFN_vkEndCommandBuffer.self)
        resetCommandBuffer = try required("vkResetCommandBuffer", PFN_vkResetCommandBuffer.self)
        cmdCopyBuffer = try required("vkCmdCopyBuffer", PFN_vkCmdCopyBuffer.self)
        cmdCopyImage = try required("vkCmdCopyImage", PFN_vkCmdCopyImage.self)
        cmdCopyBufferToImage = try required("vkCmdCopyBufferToImage", PFN_vkCmdCopyBufferToImage.self)
        cmdCopyImageToBuffer = try required("vkCmdCopyImageToBuffer", PFN_vkCmdCopyImageToBuffer.self)
        cmdFillBuffer = try required("vkCmdFillBuffer", PFN_vkCmdFillBuffer.self)
        cmdUpdateBuffer = try required("vkCmdUpdateBuffer", PFN_vkCmdUpdateBuffer.self)
        cmdPipelineBarrier = try required("vkCmdPipelineBarrier", PFN_vkCmdPipelineBarrier.self)
        createFence = try required("vkCreateFence", PFN_vkCreateFence.self)
        destroyFence = try required("vkDestroyFence", PFN_vkDestroyFence.self)
        resetFences = try required("vkResetFences", PFN_vkResetFences.self)
        getFenceStatus = try required("vkGetFenceStatus", PFN_vkGetFenceStatus.self)
        waitForFences = try required("vkWaitForFences", PFN_vkWaitForFences.self)
        createSemaphore = try required("vkCreateSemaphore", PFN_vkCreateSemaphore.self)
        destroySemaphore = try required("vkDestroySemaphore", PFN_vkDestroySemaphore.self)
        getSemaphoreCounterValue = (getDeviceProcAddr(device, "vkGetSemaphoreCounterValue")
            ?? getDeviceProcAddr(device, "vkGetSemaphoreCounterValueKHR"))
            .map { unsafeBitCast($0, to: PFN_vkGetSemaphoreCounterValue.self) }
        createShaderModule = try required("vkCreateShaderModule", PFN_vkCreateShaderModule.self)
        destroyShaderModule = try required("vkDestroyShaderModule", PFN_vkDestroyShaderModule.self)
        createDescriptorSetLayout = try required("vkCreateDescriptorSetLayout", PFN_vkCreateDescriptorSetLayout.self)
        destroyDescriptorSetLayout = try required("vkDestroyDescriptorSetLayout", PFN_vkDestroyDescriptorSetLayout.self)
        createDescriptorPool = try required("vkCreateDescriptorPool", PFN_vkCreateDescriptorPool.self)
        destroyDescriptorPool = try required("vkDestroyDescriptorPool", PFN_vkDestroyDescriptorPool.self)
        allocateDescriptorSets = try required("vkAllocateDescriptorSets", PFN_vkAllocateDescriptorSets.self)
        freeDescriptorSets = try required("vkFreeDescriptorSets", PFN_vkFreeDescriptorSets.self)
        updateDescriptorSets = try required("vkUpdateDescriptorSets", PFN_vkUpdateDescriptorSets.self)
        createPipelineLayout = try required("vkCreatePipelineLayout", PFN_vkCreatePipelineLayout.self)
        destroyPipelineLayout = try required("vkDestroyPipelineLayout", PFN_vkDestroyPipelineLayout.self)
        createComputePipelines = try required("vkCreateComputePipelines", PFN_vkCreateComputePipelines.self)
        destroyPipeline = try required("vkDestroyPipeline", PFN_vkDestroyPipeline.self)
        cmdBindPipeline = try required("vkCmdBindPipeline", PFN_vkCmdBindPipeline.self)
        cmdBindDescriptorSets = try required("vkCmdBindDescriptorSets", PFN_vkCmdBindDescriptorSets.self)
        cmdPushConstants = try required("vkCmdPushConstants", PFN_vkCmdPushConstants.self)
        cmdDispatch = try required("vkCmdDispatch", PFN_vkCmdDispatch.self)
    }
}
