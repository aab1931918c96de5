import CVulkan

extension VulkanDevice {
    /// The device extensions the physical device offers (`vkEnumerateDeviceExtensionProperties`),
    /// whether enabled or not.
    ///
    /// - Throws: `VulkanError.callFailed` if the enumeration fails.
    public func availableExtensions() throws(VulkanError) -> [String] {
        let functions = instanceFunctions
        let physicalDevice = physicalDevice
        return try enumerateArray("vkEnumerateDeviceExtensionProperties",
                                  empty: VkExtensionProperties()) { count, out in
            functions.enumerateDeviceExtensionProperties(physicalDevice, nil, count, out)
        }.map(\.name)
    }

    /// Whether an extension name concerns memory management: the ones `vkmem info` lists.
    public static func isMemoryRelated(extension name: String) -> Bool {
        let markers = ["memory", "dedicated_allocation", "buffer_device_address",
                       "bind_memory", "maintenance4", "maintenance5"]
        // Shader memory models and workgroup memory are not memory management.
        let unrelated = ["memory_model", "workgroup_memory"]
        return markers.contains { name.contains($0) } && !unrelated.contains { name.contains($0) }
    }
}
