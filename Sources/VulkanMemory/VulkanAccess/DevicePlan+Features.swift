import CVulkan

/// The memory-related features a physical device offers (`vkGetPhysicalDeviceFeatures2`).
struct OfferedFeatures {
    var memoryPriority = false
    var bufferDeviceAddress = false
    var deviceCoherentMemory = false
    var pageableDeviceLocalMemory = false
    var timelineSemaphore = false

    /// Queries the features; an extension's structure is chained only where the device
    /// lists the extension (`extensions`), as Vulkan allows a structure in the chain only
    /// when the physical device supports what provides it.
    init(functions: InstanceFunctions, physicalDevice: VkPhysicalDevice, extensions: Set<String>) {
        var chain = FeatureChain()
        defer { chain.release() }
        let address = chain.push(FeatureChain.bufferDeviceAddress(requested: false))
        let timeline = chain.push(FeatureChain.timelineSemaphore(requested: false))
        let priority = extensions.contains("VK_EXT_memory_priority")
            ? chain.push(FeatureChain.memoryPriority(requested: false)) : nil
        let coherent = extensions.contains("VK_AMD_device_coherent_memory")
            ? chain.push(FeatureChain.deviceCoherentMemory(requested: false)) : nil
        let pageable = extensions.contains("VK_EXT_pageable_device_local_memory")
            ? chain.push(FeatureChain.pageableDeviceLocalMemory(requested: false)) : nil
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        features.pNext = chain.head
        functions.getPhysicalDeviceFeatures2(physicalDevice, &features)
        bufferDeviceAddress = address.pointee.bufferDeviceAddress != 0
        timelineSemaphore = timeline.pointee.timelineSemaphore != 0
        memoryPriority = priority.map { $0.pointee.memoryPriority != 0 } ?? false
        deviceCoherentMemory = coherent.map { $0.pointee.deviceCoherentMemory != 0 } ?? false
        pageableDeviceLocalMemory = pageable.map { $0.pointee.pageableDeviceLocalMemory != 0 } ?? false
    }
}

/// Feature structures linked into one `pNext` chain, in heap storage so their addresses
/// stay valid while the chain is built and used, however many capabilities take part
/// (nested `withUnsafeMutablePointer` calls grew by one level per capability).
struct FeatureChain {
    /// The first structure, for `pNext`; nil while the chain is empty.
    private(set) var head: UnsafeMutableRawPointer?
    private var blocks: [UnsafeMutableRawPointer] = []

    /// Prepends a feature structure (its `pNext` is overwritten) and returns where it
    /// lives, to read what a query wrote into it.
    mutating func push<S: FeatureStructure>(_ value: S) -> UnsafeMutablePointer<S> {
        var value = value
        value.pNext = head
        let pointer = UnsafeMutablePointer<S>.allocate(capacity: 1)
        pointer.initialize(to: value)
        blocks.append(UnsafeMutableRawPointer(pointer))
        head = UnsafeMutableRawPointer(pointer)
        return pointer
    }

    /// Adds, for `vkCreateDevice`, the structure of each enabled capability that is a
    /// feature, with the feature asked for.
    mutating func requestFeatures(of capabilities: DeviceCapabilities) {
        if capabilities.contains(.bufferDeviceAddress) { _ = push(Self.bufferDeviceAddress(requested: true)) }
        if capabilities.contains(.memoryPriority) { _ = push(Self.memoryPriority(requested: true)) }
        if capabilities.contains(.timelineSemaphore) { _ = push(Self.timelineSemaphore(requested: true)) }
        if capabilities.contains(.deviceCoherentMemory) { _ = push(Self.deviceCoherentMemory(requested: true)) }
        if capabilities.contains(.pageableDeviceLocalMemory) {
            _ = push(Self.pageableDeviceLocalMemory(requested: true))
        }
    }

    /// Frees the structures; the chain must not be used afterwards. The structures are
    /// plain C values, so deallocating without deinitializing is enough.
    func release() { blocks.forEach { $0.deallocate() } }

    static func memoryPriority(requested: Bool) -> VkPhysicalDeviceMemoryPriorityFeaturesEXT {
        var value = VkPhysicalDeviceMemoryPriorityFeaturesEXT()
        value.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT
        value.memoryPriority = VkBool32(requested ? VK_TRUE : VK_FALSE)
        return value
    }

    static func bufferDeviceAddress(requested: Bool) -> VkPhysicalDeviceBufferDeviceAddressFeatures {
        var value = VkPhysicalDeviceBufferDeviceAddressFeatures()
        value.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES
        value.bufferDeviceAddress = VkBool32(requested ? VK_TRUE : VK_FALSE)
        return value
    }

    static func timelineSemaphore(requested: Bool) -> VkPhysicalDeviceTimelineSemaphoreFeatures {
        var value = VkPhysicalDeviceTimelineSemaphoreFeatures()
        value.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES
        value.timelineSemaphore = VkBool32(requested ? VK_TRUE : VK_FALSE)
        return value
    }

    static func deviceCoherentMemory(requested: Bool) -> VkPhysicalDeviceCoherentMemoryFeaturesAMD {
        var value = VkPhysicalDeviceCoherentMemoryFeaturesAMD()
        value.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COHERENT_MEMORY_FEATURES_AMD
        value.deviceCoherentMemory = VkBool32(requested ? VK_TRUE : VK_FALSE)
        return value
    }

    static func pageableDeviceLocalMemory(requested: Bool) -> VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT {
        var value = VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT()
        value.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PAGEABLE_DEVICE_LOCAL_MEMORY_FEATURES_EXT
        value.pageableDeviceLocalMemory = VkBool32(requested ? VK_TRUE : VK_FALSE)
        return value
    }
}

/// A Vulkan feature structure: what `FeatureChain` links through `pNext`.
protocol FeatureStructure {
    var pNext: UnsafeMutableRawPointer! { get set }
}

extension VkPhysicalDeviceMemoryPriorityFeaturesEXT: FeatureStructure {}
extension VkPhysicalDeviceBufferDeviceAddressFeatures: FeatureStructure {}
extension VkPhysicalDeviceTimelineSemaphoreFeatures: FeatureStructure {}
extension VkPhysicalDeviceCoherentMemoryFeaturesAMD: FeatureStructure {}
extension VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT: FeatureStructure {}
