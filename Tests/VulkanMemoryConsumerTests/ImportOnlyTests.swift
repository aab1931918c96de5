import Testing
import VulkanMemory

// This target depends on VulkanMemory alone and imports nothing else but Testing, not
// even with @testable: it builds only if `import VulkanMemory` is enough to name Vulkan's
// own types and to use the public API as a dependent package would.

@Suite("import VulkanMemory is enough")
struct ImportOnlyTests {
    @Test func vulkanTypesAndConstantsAreNamedThroughVulkanMemory() {
        let buffer: VkBufferCreateInfo = BufferDescription(size: 4096, usage: .uniformBuffer).exclusiveCreateInfo
        #expect(buffer.sType == VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO)
        #expect(buffer.usage == VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT.rawValue)
        let format: VkFormat = VK_FORMAT_D32_SFLOAT
        let depth = ImageDescription(width: 1920, height: 1080, usage: [.depthStencilAttachment, .transientAttachment],
                                     format: format, memory: .usage(.transientAttachment))
        let image: VkImageCreateInfo = depth.exclusiveCreateInfo
        #expect(image.format == VK_FORMAT_D32_SFLOAT && image.extent.width == 1920)
        let flags: MemoryPropertyFlags = .lazilyAllocated
        #expect(flags.rawValue == VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT.rawValue)
    }

    @Test func aDependentAllocatesBindsAndUsesTheQueue() throws {
        let log = ValidationLog()
        var options = VulkanContext.Options()
        options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
        options.validationLog = log
        options.applicationName = "ImportOnlyTests"
        try {
            let context = try VulkanContext(options: options)
            let device: VkDevice = context.device.device
            let queue: VkQueue = context.queue.handle
            let allocator = Allocator(device: context.device)
            let staging = try allocator.createBuffer(
                BufferDescription(size: 1 << 16, usage: .transferSource).exclusiveCreateInfo, .usage(.staging))
            let view = try allocator.map(staging.allocation)
            try view.write(contentsOf: [UInt32](repeating: 7, count: 16))
            #expect(try view.read(UInt32.self, count: 16) == [UInt32](repeating: 7, count: 16))
            try allocator.destroyBuffer(staging)
            // The README's form: an untyped closure around a typed-throwing call.
            let vertices = try BufferDescription(size: 1 << 16, usage: .vertexBuffer,
                                                 sharedQueueFamilies: [context.queue.familyIndex])
                .withCreateInfo { info in try allocator.createBuffer(info, .usage(.gpuOnly)) }
            try allocator.destroyBuffer(vertices)
            // Any Vulkan function through the library's loader, typed by the re-exported headers.
            let getInstanceProcAddr: PFN_vkGetInstanceProcAddr = context.device.loader.getInstanceProcAddr
            let getDeviceProcAddr = unsafeBitCast(getInstanceProcAddr(context.device.instance, "vkGetDeviceProcAddr"),
                                                  to: PFN_vkGetDeviceProcAddr.self)
            let wait = try #require(getDeviceProcAddr(device, "vkQueueWaitIdle"))
            #expect(unsafeBitCast(wait, to: PFN_vkQueueWaitIdle.self)(queue) == VK_SUCCESS)
        }()
        // The context is gone: its teardown's reports, leaks included, are in the log.
        if options.validation != .off {
            #expect(log.isFinished)
            #expect(log.messages.isEmpty, "validation messages: \(log.messages)")
        }
    }
}
