/// The memory-related device extensions and features a `VulkanDevice` was created with.
///
/// The library uses a capability only when it is listed here: Vulkan forbids chaining an
/// extension's structures when the extension was not enabled at device creation.
public struct DeviceCapabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The raw bits.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `VK_EXT_memory_budget`: per-heap budget and usage from the driver.
    public static let memoryBudget = DeviceCapabilities(rawValue: 1 << 0)
    /// `VK_EXT_memory_priority` with its `memoryPriority` feature: each page and dedicated
    /// allocation may carry a priority (`VkMemoryPriorityAllocateInfoEXT`), which the driver
    /// weighs when device-local memory runs short.
    ///
    /// Not among ``VulkanContext/Options/capabilities``' defaults, as VMA keeps
    /// `VMA_ALLOCATOR_CREATE_EXT_MEMORY_PRIORITY_BIT` off by default: with this feature
    /// enabled, NVIDIA's driver (580, on an H100) took 2.2× as long for every buffer's
    /// `vkCreateBuffer` + `vkGetBufferMemoryRequirements2` + `vkBindBufferMemory` +
    /// `vkDestroyBuffer` (W3's raw calls: 419 against 175–191 ns, whichever other
    /// capability was on), even for memory allocated with no priority. Enable it where
    /// priorities matter more than buffer churn.
    public static let memoryPriority = DeviceCapabilities(rawValue: 1 << 1)
    /// The `bufferDeviceAddress` feature (core 1.2 or `VK_KHR_buffer_device_address`).
    public static let bufferDeviceAddress = DeviceCapabilities(rawValue: 1 << 2)
    /// `VK_KHR_external_memory_fd`: export and import of memory as POSIX file descriptors.
    public static let externalMemoryFd = DeviceCapabilities(rawValue: 1 << 3)
    /// `VK_AMD_device_coherent_memory` with its `deviceCoherentMemory` feature: memory
    /// types with `DEVICE_COHERENT_AMD` / `DEVICE_UNCACHED_AMD` may be allocated
    /// (`AllocatorOptions.deviceCoherentMemory` opts the allocator in).
    public static let deviceCoherentMemory = DeviceCapabilities(rawValue: 1 << 4)
    /// `VK_EXT_pageable_device_local_memory` with its `pageableDeviceLocalMemory` feature
    /// (it needs `VK_EXT_memory_priority`, enabled with it): the driver may page
    /// device-local memory out under pressure by priority, and `vkSetDeviceMemoryPriorityEXT`
    /// changes a priority after allocation (`Allocator.setPriority(_:of:)`).
    public static let pageableDeviceLocalMemory = DeviceCapabilities(rawValue: 1 << 5)
    /// The `timelineSemaphore` feature (core 1.2 or `VK_KHR_timeline_semaphore`): semaphores
    /// with a 64-bit counter, which ``FrameRing`` frames may end with
    /// (``FrameCompletion/timeline(_:value:)``).
    public static let timelineSemaphore = DeviceCapabilities(rawValue: 1 << 6)

    /// Each capability with the extension or feature name that provides it.
    public static let all: [(capability: DeviceCapabilities, name: String)] = [
        (.memoryBudget, "VK_EXT_memory_budget"),
        (.memoryPriority, "VK_EXT_memory_priority"),
        (.bufferDeviceAddress, "bufferDeviceAddress"),
        (.externalMemoryFd, "VK_KHR_external_memory_fd"),
        (.deviceCoherentMemory, "VK_AMD_device_coherent_memory"),
        (.pageableDeviceLocalMemory, "VK_EXT_pageable_device_local_memory"),
        (.timelineSemaphore, "timelineSemaphore"),
    ]

    /// The names of the capabilities present.
    public var names: [String] { Self.all.filter { contains($0.capability) }.map(\.name) }

    /// The names, comma-separated.
    public var description: String { names.isEmpty ? "none" : names.joined(separator: ", ") }
}
