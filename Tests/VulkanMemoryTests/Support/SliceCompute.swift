import CVulkan
import VulkanMemory

/// The Vulkan objects `BufferArenaComputeTests` dispatches `slices.comp` with: a shader
/// module, a set layout of two storage buffers (the arena buffer whole, the jobs at a
/// ring slice's offset), a pipeline layout with a 4-byte push constant, the pipeline, a
/// descriptor pool with its one set, a command pool with one command buffer, and a fence.
final class SliceCompute {
    let device: VulkanDevice
    var shaderModule: VkShaderModule?
    var setLayout: VkDescriptorSetLayout?
    var pipelineLayout: VkPipelineLayout?
    var pipeline: VkPipeline?
    var descriptorPool: VkDescriptorPool?
    var descriptorSet: VkDescriptorSet?
    var commandPool: VkCommandPool?
    var commandBuffer: VkCommandBuffer?
    var fence: VkFence?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func check(_ result: VkResult, _ call: String) throws {
        guard result == VK_SUCCESS else { throw Failure(description: "\(call) failed: \(result.rawValue)") }
    }

    init(device: VulkanDevice, queueFamily: UInt32) throws {
        self.device = device
        let vk = device.commandFunctions
        let handle = device.device
        let stage = VkShaderStageFlags(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
        try slicesShaderSPIRV.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            try Self.check(vk.createShaderModule(handle, &info, nil, &shaderModule), "vkCreateShaderModule")
        }
        var bindings = (0..<2).map { index in
            VkDescriptorSetLayoutBinding(binding: UInt32(index), descriptorType: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                         descriptorCount: 1, stageFlags: stage, pImmutableSamplers: nil)
        }
        try bindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = 2
            info.pBindings = UnsafePointer(pointer.baseAddress)
            try Self.check(vk.createDescriptorSetLayout(handle, &info, nil, &setLayout), "vkCreateDescriptorSetLayout")
        }
        var range = VkPushConstantRange(stageFlags: stage, offset: 0, size: 4)
        var layouts: [VkDescriptorSetLayout?] = [setLayout]
        try layouts.withUnsafeMutableBufferPointer { layoutPointer in
            var info = VkPipelineLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
            info.setLayoutCount = 1
            info.pSetLayouts = UnsafePointer(layoutPointer.baseAddress)
            info.pushConstantRangeCount = 1
            try withUnsafePointer(to: &range) { rangePointer in
                info.pPushConstantRanges = rangePointer
                try Self.check(vk.createPipelineLayout(handle, &info, nil, &pipelineLayout), "vkCreatePipelineLayout")
            }
        }
        try "main".withCString { entry in
            var info = VkComputePipelineCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
            info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
            info.stage.module = shaderModule
            info.stage.pName = entry
            info.layout = pipelineLayout
            try Self.check(vk.createComputePipelines(handle, nil, 1, &info, nil, &pipeline), "vkCreateComputePipelines")
        }
        var poolSize = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 2)
        try withUnsafePointer(to: &poolSize) { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = 1
            info.poolSizeCount = 1
            info.pPoolSizes = sizes
            try Self.check(vk.createDescriptorPool(handle, &info, nil, &descriptorPool), "vkCreateDescriptorPool")
        }
        try layouts.withUnsafeMutableBufferPointer { layoutPointer in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = descriptorPool
            info.descriptorSetCount = 1
            info.pSetLayouts = UnsafePointer(layoutPointer.baseAddress)
            try Self.check(vk.allocateDescriptorSets(handle, &info, &descriptorSet), "vkAllocateDescriptorSets")
        }
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VkCommandPoolCreateFlags(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue)
        poolInfo.queueFamilyIndex = queueFamily
        try Self.check(vk.createCommandPool(handle, &poolInfo, nil, &commandPool), "vkCreateCommandPool")
        var allocateInfo = VkCommandBufferAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocateInfo.commandPool = commandPool
        allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocateInfo.commandBufferCount = 1
        try Self.check(vk.allocateCommandBuffers(handle, &allocateInfo, &commandBuffer), "vkAllocateCommandBuffers")
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        try Self.check(vk.createFence(handle, &fenceInfo, nil, &fence), "vkCreateFence")
    }

    /// Points binding 0 at the whole arena buffer and binding 1 at the jobs' slice.
    func bind(arena: VkBuffer, jobs: BufferSlice) {
        var infos = [VkDescriptorBufferInfo(buffer: arena, offset: 0, range: VK_WHOLE_SIZE),
                     VkDescriptorBufferInfo(buffer: jobs.buffer, offset: jobs.offset, range: jobs.size)]
        infos.withUnsafeMutableBufferPointer { pointer in
            var writes = (0..<2).map { index in
                var write = VkWriteDescriptorSet()
                write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                write.dstSet = descriptorSet
                write.dstBinding = UInt32(index)
                write.descriptorCount = 1
                write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                write.pBufferInfo = UnsafePointer(pointer.baseAddress! + index)
                return write
            }
            device.commandFunctions.updateDescriptorSets(device.device, 2, &writes, 0, nil)
        }
    }

    /// Records the dispatch of `jobCount` invocations and a barrier that makes the shader's
    /// writes visible to the host, and submits it with the fence (not waited for).
    func submit(jobCount: UInt32, queue: VkQueue) throws {
        let vk = device.commandFunctions
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VkCommandBufferUsageFlags(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        try Self.check(vk.beginCommandBuffer(commandBuffer, &begin), "vkBeginCommandBuffer")
        vk.cmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
        var sets: [VkDescriptorSet?] = [descriptorSet]
        vk.cmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipelineLayout, 0, 1, &sets, 0, nil)
        var count = jobCount
        vk.cmdPushConstants(commandBuffer, pipelineLayout, VkShaderStageFlags(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), 0, 4, &count)
        vk.cmdDispatch(commandBuffer, (jobCount + 63) / 64, 1, 1)
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = VkAccessFlags(VK_ACCESS_SHADER_WRITE_BIT.rawValue)
        barrier.dstAccessMask = VkAccessFlags(VK_ACCESS_HOST_READ_BIT.rawValue)
        vk.cmdPipelineBarrier(commandBuffer, VkPipelineStageFlags(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue),
                              VkPipelineStageFlags(VK_PIPELINE_STAGE_HOST_BIT.rawValue), 0, 1, &barrier, 0, nil, 0, nil)
        try Self.check(vk.endCommandBuffer(commandBuffer), "vkEndCommandBuffer")
        var buffers: [VkCommandBuffer?] = [commandBuffer]
        try buffers.withUnsafeMutableBufferPointer { pointer in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = UnsafePointer(pointer.baseAddress)
            try Self.check(vk.queueSubmit(queue, 1, &submit, fence), "vkQueueSubmit")
        }
    }

    /// Waits for the fence (up to 10 s, so a hung device fails the test instead of hanging it).
    func wait() throws {
        var fences: [VkFence?] = [fence]
        try Self.check(device.commandFunctions.waitForFences(device.device, 1, &fences, VkBool32(VK_TRUE), 10_000_000_000),
                       "vkWaitForFences")
    }

    func destroy() {
        let vk = device.commandFunctions
        let handle = device.device
        if let fence { vk.destroyFence(handle, fence, nil) }
        if let commandPool { vk.destroyCommandPool(handle, commandPool, nil) }
        if let descriptorPool { vk.destroyDescriptorPool(handle, descriptorPool, nil) }
        if let pipeline { vk.destroyPipeline(handle, pipeline, nil) }
        if let pipelineLayout { vk.destroyPipelineLayout(handle, pipelineLayout, nil) }
        if let setLayout { vk.destroyDescriptorSetLayout(handle, setLayout, nil) }
        if let shaderModule { vk.destroyShaderModule(handle, shaderModule, nil) }
    }
}
