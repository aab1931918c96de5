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

        let features = OfferedFeatures(functions: functions, physicalDevice: physicalDevice)

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
        if wanted.contains(.memoryPriority), available.contains("VK_EXT_memory_priority"),
           features.memoryPriority {
            extensions.append("VK_EXT_memory_priority")
            capabilities.insert(.memoryPriority)
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
        if wanted.contains(.externalMemoryFd), available.contains("VK_KHR_external_memory_fd") {
            extensions.append("VK_KHR_external_memory_fd")
            capabilities.insert(.externalMemoryFd)
        }
        self.extensions = extensions
        self.capabilities = capabilities
    }

    /// Links the feature structures of the enabled capabilities for `VkDeviceCreateInfo.pNext`.
    private func withFeatureChain<R>(
        _ priority: inout VkPhysicalDeviceMemoryPriorityFeaturesEXT,
        _ address: inout VkPhysicalDeviceBufferDeviceAddressFeatures,
        _ body: (UnsafeRawPointer?) -> R
    ) -> R {
        withUnsafeMutablePointer(to: &address) { addressPointer in
            withUnsafeMutablePointer(to: &priority) { priorityPointer in
                var head: UnsafeMutableRawPointer? = nil
                if capabilities.contains(.bufferDeviceAddress) {
                    head = UnsafeMutableRawPointer(addressPointer)
                }
                if capabilities.contains(.memoryPriority) {
                    priorityPointer.pointee.pNext = head
                    head = UnsafeMutableRawPointer(priorityPointer)
                }
                return body(head.map { UnsafeRawPointer($0) })
            }
        }
    }

    /// Calls `vkCreateDevice` with one queue and the planned extensions and features.
    func createDevice(resources: InstanceResources) throws(VulkanError) -> VkDevice {
        var priorityFeature = VkPhysicalDeviceMemoryPriorityFeaturesEXT()
        priorityFeature.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT
        priorityFeature.memoryPriority = VkBool32(VK_TRUE)
        var addressFeature = VkPhysicalDeviceBufferDeviceAddressFeatures()
        addressFeature.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES
        addressFeature.bufferDeviceAddress = VkBool32(VK_TRUE)
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
                    withFeatureChain(&priorityFeature, &addressFeature) { chain in
                        var info = VkDeviceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                        info.pNext = chain
                        info.queueCreateInfoCount = 1
                        info.pQueueCreateInfos = queuePointer
                        info.enabledExtensionCount = UInt32(extensions.count)
                        info.ppEnabledExtensionNames = names
                        return resources.functions.createDevice(physicalDevice, &info, nil, &created)
                    }
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

/// The memory-related features a physical device offers (`vkGetPhysicalDeviceFeatures2`).
struct OfferedFeatures {
    var memoryPriority = false
    var bufferDeviceAddress = false

    init(functions: InstanceFunctions, physicalDevice: VkPhysicalDevice) {
        var priority = VkPhysicalDeviceMemoryPriorityFeaturesEXT()
        priority.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT
        var address = VkPhysicalDeviceBufferDeviceAddressFeatures()
        address.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        withUnsafeMutablePointer(to: &address) { addressPointer in
            priority.pNext = UnsafeMutableRawPointer(addressPointer)
            withUnsafeMutablePointer(to: &priority) { priorityPointer in
                features.pNext = UnsafeMutableRawPointer(priorityPointer)
                functions.getPhysicalDeviceFeatures2(physicalDevice, &features)
            }
        }
        memoryPriority = priority.memoryPriority != 0
        bufferDeviceAddress = address.bufferDeviceAddress != 0
    }
}
