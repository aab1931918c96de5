/// What went wrong while reaching Vulkan: the loader, the driver, or a call.
///
/// Every case says what was attempted and what a user can do about it.
public enum VulkanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A Vulkan function returned an error code.
    case callFailed(function: String, result: VulkanResult)
    /// No Vulkan loader could be loaded (`libvulkan.so.1`, `libvulkan.1.dylib`,
    /// `vulkan-1.dll`, or the library `VKMEM_VULKAN_LIBRARY` names), or the one found has
    /// no `vkGetInstanceProcAddr`. `library` is the first library tried; `reason` says why
    /// each one was passed over.
    case loaderNotFound(library: String, reason: String)
    /// The loader has no driver that offers a physical device.
    case noPhysicalDevice
    /// No physical device matched the selector; `available` lists the devices there are.
    case deviceNotFound(selector: String, available: [String])
    /// A function the library needs could not be resolved.
    case functionUnavailable(name: String, reason: String)
    /// The Khronos validation layer was required but is not installed.
    case validationLayerUnavailable
    /// The loader or device offers a Vulkan version below what the library needs.
    case unsupportedVersion(found: VulkanVersion, required: VulkanVersion)
    /// The device has no queue family that can do transfers.
    case noTransferQueue(device: String)

    /// A sentence that names what failed and how to fix it.
    public var description: String {
        switch self {
        case let .callFailed(function, result):
            return "\(function) failed with \(result.name)"
        case let .loaderNotFound(library, reason):
            return "The Vulkan loader \(library) could not be loaded (\(reason)). "
                + Self.loaderInstallHint(library: library)
                + " Or point \(VulkanLoader.libraryOverrideVariable) at a loader "
                + "(when set, it is the only library tried)."
        case .noPhysicalDevice:
            return "The Vulkan loader found no driver offering a physical device. "
                + "Install a driver (`apt-get install mesa-vulkan-drivers` gives lavapipe, "
                + "a CPU implementation) or point VK_DRIVER_FILES at your driver's ICD JSON."
        case let .deviceNotFound(selector, available):
            let list = available.enumerated().map { "\($0.offset): \($0.element)" }
                .joined(separator: ", ")
            return "No Vulkan device matches '\(selector)'. Available: \(list)"
        case let .functionUnavailable(name, reason):
            return "The Vulkan function \(name) is unavailable: \(reason)"
        case .validationLayerUnavailable:
            return "The Khronos validation layer VK_LAYER_KHRONOS_validation is not installed "
                + "(`apt-get install vulkan-validationlayers`)."
        case let .unsupportedVersion(found, required):
            return "Vulkan \(found) is available but \(required) or later is required."
        case let .noTransferQueue(device):
            return "The device \(device) has no queue family supporting transfers."
        }
    }
}

extension VulkanError {
    /// How to install a loader, told by the kind of library that was looked for.
    static func loaderInstallHint(library: String) -> String {
        if library.hasSuffix(".dll") {
            return "Install the Vulkan Runtime (it comes with current GPU drivers and the LunarG SDK)."
        }
        if library.contains(".dylib") || library.contains(".framework") {
            return "Install the LunarG Vulkan SDK (and run its setup-env.sh, which sets VULKAN_SDK) "
                + "or `brew install vulkan-loader molten-vk`."
        }
        return "Install it with `apt-get install libvulkan1` (Debian/Ubuntu) and a driver "
            + "such as `mesa-vulkan-drivers`; `make demo` installs both."
    }
}

extension VulkanResult {
    /// Throws `VulkanError.callFailed` unless this is a success code.
    @inline(__always)
    func check(_ function: StaticString) throws(VulkanError) {
        if rawValue < 0 {
            throw VulkanError.callFailed(function: "\(function)", result: self)
        }
    }
}
