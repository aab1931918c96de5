import CVulkan

/// The instance-level Vulkan functions this library calls, resolved once through
/// `vkGetInstanceProcAddr`.
///
/// Public so that a program built on `CVulkan` (`VK_NO_PROTOTYPES`) can call them through
/// `VulkanDevice.instanceFunctions` without loading them by hand.
///
/// Required functions are non-optional: building the table fails when one is missing.
/// Extension functions are optional and nil when the extension is not enabled.
/// Thread safety: immutable; use from any thread.
public struct InstanceFunctions: @unchecked Sendable {
    /// `vkDestroyInstance`.
    public let destroyInstance: PFN_vkDestroyInstance
    /// `vkEnumeratePhysicalDevices`.
    public let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
    /// `vkGetPhysicalDeviceProperties`.
    public let getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties
    /// `vkGetPhysicalDeviceProperties2`.
    public let getPhysicalDeviceProperties2: PFN_vkGetPhysicalDeviceProperties2
    /// `vkGetPhysicalDeviceFeatures2`.
    public let getPhysicalDeviceFeatures2: PFN_vkGetPhysicalDeviceFeatures2
    /// `vkGetPhysicalDeviceMemoryProperties`.
    public let getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
    /// `vkGetPhysicalDeviceMemoryProperties2`.
    public let getPhysicalDeviceMemoryProperties2: PFN_vkGetPhysicalDeviceMemoryProperties2
    /// `vkGetPhysicalDeviceQueueFamilyProperties`.
    public let getPhysicalDeviceQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties
    /// `vkGetPhysicalDeviceFormatProperties`.
    public let getPhysicalDeviceFormatProperties: PFN_vkGetPhysicalDeviceFormatProperties
    /// `vkGetPhysicalDeviceImageFormatProperties`.
    public let getPhysicalDeviceImageFormatProperties: PFN_vkGetPhysicalDeviceImageFormatProperties
    /// `vkEnumerateDeviceExtensionProperties`.
    public let enumerateDeviceExtensionProperties: PFN_vkEnumerateDeviceExtensionProperties
    /// `vkCreateDevice`.
    public let createDevice: PFN_vkCreateDevice
    /// `vkGetDeviceProcAddr`.
    public let getDeviceProcAddr: PFN_vkGetDeviceProcAddr
    /// `vkCreateDebugUtilsMessengerEXT`; nil when the extension or feature that provides it is not enabled.
    public let createDebugUtilsMessenger: PFN_vkCreateDebugUtilsMessengerEXT?
    /// `vkDestroyDebugUtilsMessengerEXT`; nil when the extension or feature that provides it is not enabled.
    public let destroyDebugUtilsMessenger: PFN_vkDestroyDebugUtilsMessengerEXT?

    /// Resolves the table for `instance`.
    ///
    /// - Throws: `VulkanError.functionUnavailable` naming the first required function the
    ///   loader does not return (an instance created for Vulkan 1.0 lacks the `…2` functions).
    init(loader: VulkanLoader, instance: VkInstance) throws(VulkanError) {
        func required<F>(_ name: String, _ type: F.Type) throws(VulkanError) -> F {
            guard let function = loader.load(name, instance: instance, as: type) else {
                throw .functionUnavailable(
                    name: name, reason: "vkGetInstanceProcAddr returned null; the instance "
                        + "must be created for Vulkan 1.1 or later")
            }
            return function
        }
        destroyInstance = try required("vkDestroyInstance", PFN_vkDestroyInstance.self)
        enumeratePhysicalDevices = try required("vkEnumeratePhysicalDevices", PFN_vkEnumeratePhysicalDevices.self)
        getPhysicalDeviceProperties = try required("vkGetPhysicalDeviceProperties", PFN_vkGetPhysicalDeviceProperties.self)
        getPhysicalDeviceProperties2 = try required("vkGetPhysicalDeviceProperties2", PFN_vkGetPhysicalDeviceProperties2.self)
        getPhysicalDeviceFeatures2 = try required("vkGetPhysicalDeviceFeatures2", PFN_vkGetPhysicalDeviceFeatures2.self)
        getPhysicalDeviceMemoryProperties = try required("vkGetPhysicalDeviceMemoryProperties", PFN_vkGetPhysicalDeviceMemoryProperties.self)
        getPhysicalDeviceMemoryProperties2 = try required("vkGetPhysicalDeviceMemoryProperties2", PFN_vkGetPhysicalDeviceMemoryProperties2.self)
        getPhysicalDeviceQueueFamilyProperties = try required("vkGetPhysicalDeviceQueueFamilyProperties", PFN_vkGetPhysicalDeviceQueueFamilyProperties.self)
        getPhysicalDeviceFormatProperties = try required("vkGetPhysicalDeviceFormatProperties", PFN_vkGetPhysicalDeviceFormatProperties.self)
        getPhysicalDeviceImageFormatProperties = try required("vkGetPhysicalDeviceImageFormatProperties",
                                                              PFN_vkGetPhysicalDeviceImageFormatProperties.self)
        enumerateDeviceExtensionProperties = try required("vkEnumerateDeviceExtensionProperties", PFN_vkEnumerateDeviceExtensionProperties.self)
        createDevice = try required("vkCreateDevice", PFN_vkCreateDevice.self)
        getDeviceProcAddr = try required("vkGetDeviceProcAddr", PFN_vkGetDeviceProcAddr.self)
        createDebugUtilsMessenger = loader.load("vkCreateDebugUtilsMessengerEXT", instance: instance, as: PFN_vkCreateDebugUtilsMessengerEXT.self)
        destroyDebugUtilsMessenger = loader.load("vkDestroyDebugUtilsMessengerEXT", instance: instance, as: PFN_vkDestroyDebugUtilsMessengerEXT.self)
    }
}
