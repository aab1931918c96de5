import CVulkan

/// The device-level Vulkan functions this library calls, resolved once through
/// `vkGetDeviceProcAddr` so calls skip the loader's dispatch trampoline.
///
/// Public so that a program built on `CVulkan` (`VK_NO_PROTOTYPES`: no `vkAllocateMemory`
/// to link against) can call the functions the library loaded already, as
/// `device.deviceFunctions.mapMemory(device.device, …)`, instead of loading each one by
/// hand. The functions to record and submit work are in `CommandFunctions`.
///
/// Thread safety: immutable; use from any thread.
public struct DeviceFunctions: @unchecked Sendable {
    /// `vkDestroyDevice`.
    public let destroyDevice: PFN_vkDestroyDevice
    /// `vkGetDeviceQueue`.
    public let getDeviceQueue: PFN_vkGetDeviceQueue
    /// `vkAllocateMemory`.
    public let allocateMemory: PFN_vkAllocateMemory
    /// `vkFreeMemory`.
    public let freeMemory: PFN_vkFreeMemory
    /// `vkMapMemory`.
    public let mapMemory: PFN_vkMapMemory
    /// `vkUnmapMemory`.
    public let unmapMemory: PFN_vkUnmapMemory
    /// `vkFlushMappedMemoryRanges`.
    public let flushMappedMemoryRanges: PFN_vkFlushMappedMemoryRanges
    /// `vkInvalidateMappedMemoryRanges`.
    public let invalidateMappedMemoryRanges: PFN_vkInvalidateMappedMemoryRanges
    /// `vkCreateBuffer`.
    public let createBuffer: PFN_vkCreateBuffer
    /// `vkDestroyBuffer`.
    public let destroyBuffer: PFN_vkDestroyBuffer
    /// `vkCreateImage`.
    public let createImage: PFN_vkCreateImage
    /// `vkDestroyImage`.
    public let destroyImage: PFN_vkDestroyImage
    /// `vkGetBufferMemoryRequirements`.
    public let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    /// `vkGetImageMemoryRequirements`.
    public let getImageMemoryRequirements: PFN_vkGetImageMemoryRequirements
    /// `vkGetBufferMemoryRequirements2`.
    public let getBufferMemoryRequirements2: PFN_vkGetBufferMemoryRequirements2
    /// `vkGetImageMemoryRequirements2`.
    public let getImageMemoryRequirements2: PFN_vkGetImageMemoryRequirements2
    /// `vkBindBufferMemory`.
    public let bindBufferMemory: PFN_vkBindBufferMemory
    /// `vkBindImageMemory`.
    public let bindImageMemory: PFN_vkBindImageMemory
    /// `vkGetMemoryFdKHR`; nil when the extension or feature that provides it is not enabled.
    public let getMemoryFd: PFN_vkGetMemoryFdKHR?
    /// `vkGetMemoryFdPropertiesKHR`; nil when the extension or feature that provides it is not enabled.
    public let getMemoryFdProperties: PFN_vkGetMemoryFdPropertiesKHR?
    /// `vkGetBufferDeviceAddress`; nil when the extension or feature that provides it is not enabled.
    public let getBufferDeviceAddress: PFN_vkGetBufferDeviceAddress?
    /// `vkSetDeviceMemoryPriorityEXT`; nil unless `VK_EXT_pageable_device_local_memory`
    /// is enabled (`DeviceCapabilities.pageableDeviceLocalMemory`).
    public let setDeviceMemoryPriority: PFN_vkSetDeviceMemoryPriorityEXT?

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
        setDeviceMemoryPriority = capabilities.contains(.pageableDeviceLocalMemory)
            ? optional("vkSetDeviceMemoryPriorityEXT", PFN_vkSetDeviceMemoryPriorityEXT.self) : nil
    }
}
