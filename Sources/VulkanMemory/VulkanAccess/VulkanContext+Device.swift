import CVulkan

/// What `VulkanContext` will enable on the device it creates, decided from what the
/// physical device offers and what the options ask for.
struct DevicePlan {
    /// Not in the headers without `VK_ENABLE_BETA_EXTENSIONS`, hence the literal.
    static let portabilitySubsetExtensionName = "VK_KHR_portability_subset"

    let physicalDevice: VkPhysicalDevice
    let queueFamilyIndex: UInt32
    let queueFlags: VkQueueFlags
    let extensions: [String]
    let capabilities: DeviceCapabilities
    let apiVersion: VulkanVersion

    init(resources: InstanceResources, physicalDevice: VkPhysicalDevice,
         info: PhysicalDeviceInfo, apiVersion: VulkanVersion,
         wanted: DeviceCapabilities) throws(VulkanError) {
        let functions = resources.functions
        self.physicalDevice = physicalDevice
        self.apiVersion = apiVersion

        let families = try enumerateArray("vkGetPhysicalDeviceQueueFamilyProperties",
                                          empty: VkQueueFamilyProperties()) { count, out in
            functions.getPhysicalDeviceQueueFamilyProperties(physicalDevice, count, out)
            return VK_SUCCESS
        }
        // Graphics and compute queues support transfers implicitly.
        let transferBits = VK_QUEUE_GRAPHICS_BIT.rawValue | VK_QUEUE_COMPUTE_BIT.rawValue
            | VK_QUEUE_TRANSFER_BIT.rawValue
        // A family that can also dispatch compute comes first: a program without an engine
        // (the example, the transfer helper's users) wants one queue for copies and
        // shaders. Every device with graphics has such a family, so this only skips
        // transfer-only families listed before it.
        let computeBit = VK_QUEUE_COMPUTE_BIT.rawValue
        guard let family = families.firstIndex(where: { $0.queueCount > 0 && $0.queueFlags & computeBit != 0 })
                ?? families.firstIndex(where: { $0.queueCount > 0 && $0.queueFlags & transferBits != 0 }) else {
            throw .noTransferQueue(device: info.name)
        }
        queueFamilyIndex = UInt32(family)
        queueFlags = families[family].queueFlags

        let available = Set(try enumerateArray("vkEnumerateDeviceExtensionProperties",
                                               empty: VkExtensionProperties()) { count, out in
            functions.enumerateDeviceExtensionProperties(physicalDevice, nil, count, out)
        }.map(\.name))

        let features = OfferedFeatures(functions: functions, physicalDevice: physicalDevice, extensions: available)

        var extensions: [String] = []
        var capabilities: DeviceCapabilities = []
        // A driver that implements only part of Vulkan (MoltenVK, KosmicKrisp) lists
        // VK_KHR_portability_subset, and the specification requires it enabled on every
        // device made from it (VUID-VkDeviceCreateInfo-pProperties-04451), whatever the
        // options ask.
        if available.contains(Self.portabilitySubsetExtensionName) {
            extensions.append(Self.portabilitySubsetExtensionName)
        }
        if wanted.contains(.memoryBudget), available.contains("VK_EXT_memory_budget") {
            extensions.append("VK_EXT_memory_budget")
            capabilities.insert(.memoryBudget)
        }
        // VK_EXT_pageable_device_local_memory requires VK_EXT_memory_priority enabled with
        // it, so asking for the one asks for the other.
        if wanted.contains(.memoryPriority) || wanted.contains(.pageableDeviceLocalMemory),
           available.contains("VK_EXT_memory_priority"), features.memoryPriority {
            extensions.append("VK_EXT_memory_priority")
            capabilities.insert(.memoryPriority)
        }
        if wanted.contains(.pageableDeviceLocalMemory), capabilities.contains(.memoryPriority),
           available.contains("VK_EXT_pageable_device_local_memory"), features.pageableDeviceLocalMemory {
            extensions.append("VK_EXT_pageable_device_local_memory")
            capabilities.insert(.pageableDeviceLocalMemory)
        }
        if wanted.contains(.deviceCoherentMemory), available.contains("VK_AMD_device_coherent_memory"),
           features.deviceCoherentMemory {
            extensions.append("VK_AMD_device_coherent_memory")
            capabilities.insert(.deviceCoherentMemory)
        }
        if wanted.contains(.bufferDeviceAddress), features.bufferDeviceAddress {
            if apiVersion < .v1_2 {
                if available.contains("VK_KHR_buffer_device_address") {
                    extensions.append("VK_KHR_buffer_device_address")
                    capabilities.insert(.bufferDeviceAddress)
                }
            } else {
                capabilities.insert(.bufferDeviceAddress)
            }
        }
        if wanted.contains(.timelineSemaphore), features.timelineSemaphore {
            if apiVersion >= .v1_2 {
                capabilities.insert(.timelineSemaphore)
            } else if available.contains("VK_KHR_timeline_semaphore") {
                extensions.append("VK_KHR_timeline_semaphore")
                capabilities.insert(.timelineSemaphore)
            }
        }
        if wanted.contains(.externalMemoryFd), available.contains("VK_KHR_external_memory_fd") {
            extensions.append("VK_KHR_external_memory_fd")
            capabilities.insert(.externalMemoryFd)
        }
        self.extensions = extensions
        self.capabilities = capabilities
    }

    /// Calls `vkCreateDevice` with one queue and the planned extensions and features.
    func createDevice(resources: InstanceResources) throws(VulkanError) -> VkDevice {
        // The feature structures of the enabled capabilities, each asking for its feature.
        var chain = FeatureChain()
        defer { chain.release() }
        chain.requestFeatures(of: capabilities)
        var priority: Float = 1
        var created: VkDevice?
        let result = withCStringArray(extensions) { names in
            withUnsafePointer(to: &priority) { priorityPointer in
                var queue = VkDeviceQueueCreateInfo()
                queue.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queue.queueFamilyIndex = queueFamilyIndex
                queue.queueCount = 1
                queue.pQueuePriorities = priorityPointer
                return withUnsafePointer(to: &queue) { queuePointer in
                    var info = VkDeviceCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                    info.pNext = UnsafeRawPointer(chain.head)
                    info.queueCreateInfoCount = 1
                    info.pQueueCreateInfos = queuePointer
                    info.enabledExtensionCount = UInt32(extensions.count)
                    info.ppEnabledExtensionNames = names
                    return resources.functions.createDevice(physicalDevice, &info, nil, &created)
                }
            }
        }
        try VulkanResult(result).check("vkCreateDevice")
        guard let created else {
            throw .callFailed(function: "vkCreateDevice", result: .errorInitializationFailed)
        }
        return created
    }
}
