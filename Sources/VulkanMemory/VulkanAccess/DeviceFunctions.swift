import CVulkan

/// The device-level Vulkan functions this library calls, resolved once through
/// `vkGetDeviceProcAddr` so calls skip the loader's dispatch trampoline.
///
/// Thread safety: immutable; use from any thread.
public struct DeviceFunctions: @unchecked Sendable {
    let destroyDevice: PFN_vkDestroyDevice
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let mapMemory: PFN_vkMapMemory
    let unmapMemory: PFN_vkUnmapMemory
    let flushMappedMemoryRanges: PFN_vkFlushMappedMemoryRanges
    let invalidateMappedMemoryRanges: PFN_vkInvalidateMappedMemoryRanges
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let createImage: PFN_vkCreateImage
    let destroyImage: PFN_vkDestroyImage
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let getImageMemoryRequirements: PFN_vkGetImageMemoryRequirements
    let getBufferMemoryRequirements2: PFN_vkGetBufferMemoryRequirements2
    let getImageMemoryRequirements2: PFN_vkGetImageMemoryRequirements2
    let bindBufferMemory: PFN_vkBindBufferMemory
    let bindImageMemory: PFN_vkBindImageMemory
    let getMemoryFd: PFN_vkGetMemoryFdKHR?
    let getMemoryFdProperties: PFN_vkGetMemoryFdPropertiesKHR?
    let getBufferDeviceAddress: PFN_vkGetBufferDeviceAddress?

    /// Resolves the table for `device`; `extensions` says which optional ones to look for.
    init(instanceFunctions: InstanceFunctions, device: VkDevice,
         capabilities: DeviceCapabilities) throws(VulkanError) {
        let getProc = instanceFunctions.getDeviceProcAddr
        func optional<F>(_ name: String, _ type: F.Type) -> F? {
            guard let pointer = getProc(device, name) else { return nil }
            return unsafeBitCast(pointer, to: F.self)
        }
        func required<F>(_ name: String, _ type: F.Type) throws(VulkanError) -> F {
            guard let function = optional(name, type) else {
                throw .functionUnavailable(
                    name: name, reason: "vkGetDeviceProcAddr returned null; the device must "
                        + "support Vulkan 1.1 and the extension that provides it")
            }
            return function
        }
        destroyDevice = try required("vkDestroyDevice", PFN_vkDestroyDevice.self)
        getDeviceQueue = try required("vkGetDeviceQueue", PFN_vkGetDeviceQueue.self)
        allocateMemory = try required("vkAllocateMemory", PFN_vkAllocateMemory.self)
        freeMemory = try required("vkFreeMemory", PFN_vkFreeMemory.self)
        mapMemory = try required("vkMapMemory", PFN_vkMapMemory.self)
        unmapMemory = try required("vkUnmapMemory", PFN_vkUnmapMemory.self)
        flushMappedMemoryRanges = try required("vkFlushMappedMemoryRanges", PFN_vkFlushMappedMemoryRanges.self)
        invalidateMappedMemoryRanges = try required("vkInvalidateMappedMemoryRanges", PFN_vkInvalidateMappedMemoryRanges.self)
        createBuffer = try required("vkCreateBuffer", PFN_vkCreateBuffer.self)
        destroyBuffer = try required("vkDestroyBuffer", PFN_vkDestroyBuffer.self)
        createImage = try required("vkCreateImage", PFN_vkCreateImage.self)
        destroyImage = try required("vkDestroyImage", PFN_vkDestroyImage.self)
        getBufferMemoryRequirements = try required("vkGetBufferMemoryRequirements", PFN_vkGetBufferMemoryRequirements.self)
        getImageMemoryRequirements = try required("vkGetImageMemoryRequirements", PFN_vkGetImageMemoryRequirements.self)
        getBufferMemoryRequirements2 = try required("vkGetBufferMemoryRequirements2", PFN_vkGetBufferMemoryRequirements2.self)
        getImageMemoryRequirements2 = try required("vkGetImageMemoryRequirements2", PFN_vkGetImageMemoryRequirements2.self)
        bindBufferMemory = try required("vkBindBufferMemory", PFN_vkBindBufferMemory.self)
        bindImageMemory = try required("vkBindImageMemory", PFN_vkBindImageMemory.self)
        getMemoryFd = capabilities.contains(.externalMemoryFd)
            ? optional("vkGetMemoryFdKHR", PFN_vkGetMemoryFdKHR.self) : nil
        getMemoryFdProperties = capabilities.contains(.externalMemoryFd)
            ? optional("vkGetMemoryFdPropertiesKHR", PFN_vkGetMemoryFdPropertiesKHR.self) : nil
        getBufferDeviceAddress = capabilities.contains(.bufferDeviceAddress)
            ? (optional("vkGetBufferDeviceAddress", PFN_vkGetBufferDeviceAddress.self)
               ?? optional("vkGetBufferDeviceAddressKHR", PFN_vkGetBufferDeviceAddress.self)) : nil
    }
}
