import CVulkan

/// The device's limits on buffer and image create-infos that do not depend on the
/// format: read once when the `VulkanDevice` is made, so checking a create-info costs
/// integer comparisons.
struct ResourceLimits: Sendable {
    /// How many queue families the physical device has
    /// (`vkGetPhysicalDeviceQueueFamilyProperties`): a sharing list names indices below it.
    let queueFamilyCount: UInt32
    /// `VkPhysicalDeviceMaintenance4Properties::maxBufferSize`; nil below Vulkan 1.3, where
    /// the property may not be asked for and no limit is known.
    let maxBufferSize: UInt64?

    init(functions: InstanceFunctions, physicalDevice: VkPhysicalDevice, apiVersion: VulkanVersion) {
        var count: UInt32 = 0
        functions.getPhysicalDeviceQueueFamilyProperties(physicalDevice, &count, nil)
        queueFamilyCount = count
        guard apiVersion >= .v1_3 else {
            maxBufferSize = nil
            return
        }
        var maintenance4 = VkPhysicalDeviceMaintenance4Properties()
        maintenance4.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES
        var properties = VkPhysicalDeviceProperties2()
        properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        withUnsafeMutablePointer(to: &maintenance4) { pointer in
            properties.pNext = UnsafeMutableRawPointer(pointer)
            functions.getPhysicalDeviceProperties2(physicalDevice, &properties)
        }
        // 0 would be a driver that left the structure alone: no limit known then.
        maxBufferSize = maintenance4.maxBufferSize == 0 ? nil : maintenance4.maxBufferSize
    }
}

/// What `vkGetPhysicalDeviceImageFormatProperties` allows for one format, type, tiling,
/// usage and flags (`VkImageFormatProperties`).
struct ImageFormatLimits: Sendable, Hashable {
    /// `maxExtent`.
    var maxWidth: UInt32, maxHeight: UInt32, maxDepth: UInt32
    /// `maxMipLevels`.
    var maxMipLevels: UInt32
    /// `maxArrayLayers`.
    var maxArrayLayers: UInt32
    /// `sampleCounts` (`VkSampleCountFlags`).
    var sampleCounts: UInt32
    /// `maxResourceSize`.
    var maxResourceSize: UInt64

    init(_ properties: VkImageFormatProperties) {
        maxWidth = properties.maxExtent.width
        maxHeight = properties.maxExtent.height
        maxDepth = properties.maxExtent.depth
        maxMipLevels = properties.maxMipLevels
        maxArrayLayers = properties.maxArrayLayers
        sampleCounts = properties.sampleCounts
        maxResourceSize = properties.maxResourceSize
    }
}

/// The answers of `vkGetPhysicalDeviceImageFormatProperties` a device gave, so that an
/// image create asks the driver once per combination, not once per image.
///
/// Thread safety: locked; one dictionary look-up under the lock per image created. At
/// most `capacity` answers are kept (a hostile replay could otherwise grow it with every
/// distinct usage); when full it starts again empty.
final class ImageFormatCache: Sendable {
    struct Key: Hashable {
        var format: UInt32, imageType: UInt32, tiling: UInt32, usage: UInt32, flags: UInt32
    }

    /// The most answers kept.
    static let capacity = 1024
    /// nil values: the combination is not supported (`VK_ERROR_FORMAT_NOT_SUPPORTED`).
    private let answers = Locked<[Key: ImageFormatLimits?]>([:])

    /// The cached answer for `key`, or `query`'s, which is then kept; `query` runs outside
    /// the lock (a driver call), so two threads may both ask for a new combination.
    func limits(_ key: Key,
                query: () throws(VulkanError) -> ImageFormatLimits?) throws(VulkanError) -> ImageFormatLimits? {
        if let known = answers.withLock({ $0[key] }) { return known }
        let answer = try query()
        answers.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = .some(answer)
        }
        return answer
    }
}

extension VulkanDevice {
    /// `vkGetPhysicalDeviceImageFormatProperties` for an image's format, type, tiling,
    /// usage and flags, cached per combination; nil when the device does not support it.
    /// The caller has checked that each value is one Vulkan defines (the call's own
    /// valid usage), and that the tiling is not DRM-format-modifier tiling.
    /// - Throws: `.callFailed` when the driver answers anything but success or
    ///   `VK_ERROR_FORMAT_NOT_SUPPORTED` (out of memory).
    func imageFormatLimits(format: UInt32, imageType: UInt32, tiling: UInt32, usage: UInt32,
                           flags: UInt32) throws(VulkanError) -> ImageFormatLimits? {
        let key = ImageFormatCache.Key(format: format, imageType: imageType, tiling: tiling, usage: usage, flags: flags)
        return try imageFormats.limits(key) { () throws(VulkanError) -> ImageFormatLimits? in
            var properties = VkImageFormatProperties()
            let result = instanceFunctions.getPhysicalDeviceImageFormatProperties(
                physicalDevice, VkFormat(rawValue: format), VkImageType(rawValue: imageType),
                VkImageTiling(rawValue: tiling), usage, flags, &properties)
            if result == VK_ERROR_FORMAT_NOT_SUPPORTED { return nil }
            guard result == VK_SUCCESS else {
                throw .callFailed(function: "vkGetPhysicalDeviceImageFormatProperties", result: VulkanResult(result))
            }
            return ImageFormatLimits(properties)
        }
    }
}
