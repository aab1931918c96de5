import CVulkan
import VulkanMemory

/// The Vulkan objects one compute dispatch over one storage buffer needs, created through
/// the library's command table (`device.commandFunctions`): a shader module, a descriptor
/// set layout with one storage buffer at binding 0, a pipeline layout with 8 bytes of push
/// constants (`count`, `add`), the compute pipeline, and a descriptor pool with the one
/// set that names the buffer.
///
/// `init` destroys what it made when a later step fails; `destroy()` destroys the rest.
struct ComputePipeline {
    let device: VulkanDevice
    private(set) var shaderModule: VkShaderModule?
    private(set) var setLayout: VkDescriptorSetLayout?
    private(set) var pipelineLayout: VkPipelineLayout?
    private(set) var pipeline: VkPipeline?
    private(set) var descriptorPool: VkDescriptorPool?
    private(set) var descriptorSet: VkDescriptorSet?

    /// The push constants, as the shader declares them.
    struct Parameters {
        var count: UInt32
        var add: UInt32
    }

    init(device: VulkanDevice, spirv: [UInt32], storageBuffer: BoundBuffer) throws {
        self.device = device
        do {
            try create(spirv: spirv, storageBuffer: storageBuffer)
        } catch {
            destroy()
            throw error
        }
    }

    private mutating func create(spirv: [UInt32], storageBuffer: BoundBuffer) throws {
        let vk = device.commandFunctions
        let handle = device.device
        let computeStage = VkShaderStageFlags(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)

        // vkCreateShaderModule: codeSize is in bytes, pCode the words.
        try spirv.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * MemoryLayout<UInt32>.size
            info.pCode = words.baseAddress
            try check(vk.createShaderModule(handle, &info, nil, &shaderModule), "vkCreateShaderModule")
        }

        // vkCreateDescriptorSetLayout: binding 0, one storage buffer, seen by the compute stage.
        var binding = VkDescriptorSetLayoutBinding()
        binding.binding = 0
        binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
        binding.descriptorCount = 1
        binding.stageFlags = computeStage
        try withUnsafePointer(to: &binding) { bindings in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = 1
            info.pBindings = bindings
            try check(vk.createDescriptorSetLayout(handle, &info, nil, &setLayout), "vkCreateDescriptorSetLayout")
        }

        // vkCreatePipelineLayout: the set layout and the push-constant range.
        var pushConstants = VkPushConstantRange(stageFlags: computeStage, offset: 0,
                                                size: UInt32(MemoryLayout<Parameters>.size))
        var layouts: [VkDescriptorSetLayout?] = [setLayout]
        try layouts.withUnsafeMutableBufferPointer { layoutPointer in
            try withUnsafePointer(to: &pushConstants) { rangePointer in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = UnsafePointer(layoutPointer.baseAddress)
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = rangePointer
                try check(vk.createPipelineLayout(handle, &info, nil, &pipelineLayout), "vkCreatePipelineLayout")
            }
        }

        // vkCreateComputePipelines: the shader's "main" as the one stage.
        try "main".withCString { entryPoint in
            var info = VkComputePipelineCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
            info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
            info.stage.module = shaderModule
            info.stage.pName = entryPoint
            info.layout = pipelineLayout
            try check(vk.createComputePipelines(handle, nil, 1, &info, nil, &pipeline), "vkCreateComputePipelines")
        }

        // vkCreateDescriptorPool and vkAllocateDescriptorSets: room for the one set.
        var poolSize = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 1)
        try withUnsafePointer(to: &poolSize) { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = 1
            info.poolSizeCount = 1
            info.pPoolSizes = sizes
            try check(vk.createDescriptorPool(handle, &info, nil, &descriptorPool), "vkCreateDescriptorPool")
        }
        try layouts.withUnsafeMutableBufferPointer { layoutPointer in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = descriptorPool
            info.descriptorSetCount = 1
            info.pSetLayouts = UnsafePointer(layoutPointer.baseAddress)
            try check(vk.allocateDescriptorSets(handle, &info, &descriptorSet), "vkAllocateDescriptorSets")
        }

        // vkUpdateDescriptorSets: binding 0 is the whole storage buffer.
        var bufferInfo = VkDescriptorBufferInfo(buffer: storageBuffer.buffer, offset: 0, range: storageBuffer.size)
        withUnsafePointer(to: &bufferInfo) { bufferPointer in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = descriptorSet
            write.dstBinding = 0
            write.descriptorCount = 1
            write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            write.pBufferInfo = bufferPointer
            vk.updateDescriptorSets(handle, 1, &write, 0, nil)
        }
    }

    /// Records the dispatch: bind the pipeline and the set, push `count` and `add`, and
    /// dispatch one 64-wide workgroup per 64 values (`vkCmdDispatch`).
    func record(_ commandBuffer: VkCommandBuffer, count: UInt32, add: UInt32) {
        let vk = device.commandFunctions
        vk.cmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
        var sets: [VkDescriptorSet?] = [descriptorSet]
        vk.cmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipelineLayout, 0, 1, &sets, 0, nil)
        var parameters = Parameters(count: count, add: add)
        vk.cmdPushConstants(commandBuffer, pipelineLayout, VkShaderStageFlags(VK_SHADER_STAGE_COMPUTE_BIT.rawValue),
                            0, UInt32(MemoryLayout<Parameters>.size), &parameters)
        vk.cmdDispatch(commandBuffer, (count + 63) / 64, 1, 1)
    }

    /// Destroys every object that was made; the descriptor set goes with its pool.
    func destroy() {
        let vk = device.commandFunctions
        let handle = device.device
        if let descriptorPool { vk.destroyDescriptorPool(handle, descriptorPool, nil) }
        if let pipeline { vk.destroyPipeline(handle, pipeline, nil) }
        if let pipelineLayout { vk.destroyPipelineLayout(handle, pipelineLayout, nil) }
        if let setLayout { vk.destroyDescriptorSetLayout(handle, setLayout, nil) }
        if let shaderModule { vk.destroyShaderModule(handle, shaderModule, nil) }
    }
}
