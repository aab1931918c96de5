import CVulkan

/// A `VkResult` code with its Vulkan name.
///
/// Wraps `VkResult`. Codes the headers of this build do not know print as
/// `VkResult(<number>)`.
public struct VulkanResult: Hashable, Sendable, CustomStringConvertible {
    /// The raw `VkResult` value.
    public let rawValue: Int32

    /// Wraps a raw `VkResult` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a `VkResult` returned by a Vulkan call.
    public init(_ result: VkResult) { self.rawValue = result.rawValue }

    /// `VK_SUCCESS` and the other non-negative codes are not errors.
    public var isSuccess: Bool { rawValue >= 0 }

    /// The Vulkan name of the code, such as `VK_ERROR_OUT_OF_DEVICE_MEMORY`.
    public var name: String { Self.names[rawValue] ?? "VkResult(\(rawValue))" }

    /// The Vulkan name of the code.
    public var description: String { name }

    /// `VK_SUCCESS`.
    public static let success = VulkanResult(rawValue: 0)
    /// `VK_INCOMPLETE`.
    public static let incomplete = VulkanResult(rawValue: 5)
    /// `VK_ERROR_OUT_OF_HOST_MEMORY`.
    public static let errorOutOfHostMemory = VulkanResult(rawValue: -1)
    /// `VK_ERROR_OUT_OF_DEVICE_MEMORY`.
    public static let errorOutOfDeviceMemory = VulkanResult(rawValue: -2)
    /// `VK_ERROR_INITIALIZATION_FAILED`.
    public static let errorInitializationFailed = VulkanResult(rawValue: -3)
    /// `VK_ERROR_MEMORY_MAP_FAILED`.
    public static let errorMemoryMapFailed = VulkanResult(rawValue: -5)
    /// `VK_ERROR_LAYER_NOT_PRESENT`.
    public static let errorLayerNotPresent = VulkanResult(rawValue: -6)
    /// `VK_ERROR_EXTENSION_NOT_PRESENT`.
    public static let errorExtensionNotPresent = VulkanResult(rawValue: -7)
    /// `VK_ERROR_INCOMPATIBLE_DRIVER`.
    public static let errorIncompatibleDriver = VulkanResult(rawValue: -9)
    /// `VK_ERROR_TOO_MANY_OBJECTS`.
    public static let errorTooManyObjects = VulkanResult(rawValue: -10)

    private static let names: [Int32: String] = [
        0: "VK_SUCCESS", 1: "VK_NOT_READY", 2: "VK_TIMEOUT", 3: "VK_EVENT_SET",
        4: "VK_EVENT_RESET", 5: "VK_INCOMPLETE",
        -1: "VK_ERROR_OUT_OF_HOST_MEMORY", -2: "VK_ERROR_OUT_OF_DEVICE_MEMORY",
        -3: "VK_ERROR_INITIALIZATION_FAILED", -4: "VK_ERROR_DEVICE_LOST",
        -5: "VK_ERROR_MEMORY_MAP_FAILED", -6: "VK_ERROR_LAYER_NOT_PRESENT",
        -7: "VK_ERROR_EXTENSION_NOT_PRESENT", -8: "VK_ERROR_FEATURE_NOT_PRESENT",
        -9: "VK_ERROR_INCOMPATIBLE_DRIVER", -10: "VK_ERROR_TOO_MANY_OBJECTS",
        -11: "VK_ERROR_FORMAT_NOT_SUPPORTED", -12: "VK_ERROR_FRAGMENTED_POOL",
        -13: "VK_ERROR_UNKNOWN",
        -1_000_069_000: "VK_ERROR_OUT_OF_POOL_MEMORY",
        -1_000_072_003: "VK_ERROR_INVALID_EXTERNAL_HANDLE",
        -1_000_161_000: "VK_ERROR_FRAGMENTATION",
        -1_000_257_000: "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS",
        1_000_297_000: "VK_PIPELINE_COMPILE_REQUIRED",
        -1_000_000_000: "VK_ERROR_SURFACE_LOST_KHR",
        -1_000_000_001: "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR",
        1_000_001_003: "VK_SUBOPTIMAL_KHR", -1_000_001_004: "VK_ERROR_OUT_OF_DATE_KHR",
        -1_000_003_001: "VK_ERROR_INCOMPATIBLE_DISPLAY_KHR",
        -1_000_011_001: "VK_ERROR_VALIDATION_FAILED_EXT",
        -1_000_012_000: "VK_ERROR_INVALID_SHADER_NV",
        -1_000_158_000: "VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT",
        -1_000_174_001: "VK_ERROR_NOT_PERMITTED_KHR",
        -1_000_255_000: "VK_ERROR_FULL_SCREEN_EXCLUSIVE_MODE_LOST_EXT",
        -1_000_338_000: "VK_ERROR_COMPRESSION_EXHAUSTED_EXT",
    ]
}
