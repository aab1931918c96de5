import CVulkan

/// A queue of a device: the `VkQueue` handle with the family and index it was retrieved by
/// (`vkGetDeviceQueue(device, familyIndex, index, &handle)`).
///
/// `VulkanContext` creates one queue, able to transfer (a graphics, compute or transfer
/// family, compute-capable where the device has one), and hands it out as
/// `VulkanContext.queue` so that a program without an engine can record and submit copies
/// into the memory it allocates. The allocator never submits work; `TransferQueue` does,
/// only when asked.
///
/// Thread safety: the value is immutable and may be passed anywhere, but Vulkan requires
/// the caller to synchronize access to the queue itself: two threads must not call
/// `vkQueueSubmit`, `vkQueueWaitIdle` or `vkQueueBindSparse` on it at the same time.
public struct VulkanQueue: @unchecked Sendable, Hashable {
    /// The queue family index, as given to `VkDeviceQueueCreateInfo::queueFamilyIndex`.
    public let familyIndex: UInt32
    /// The index of the queue within its family.
    public let index: UInt32
    /// The `VkQueue`.
    public let handle: VkQueue

    /// Wraps a queue retrieved with `vkGetDeviceQueue`.
    public init(familyIndex: UInt32, index: UInt32, handle: VkQueue) {
        self.familyIndex = familyIndex
        self.index = index
        self.handle = handle
    }

    /// Retrieves queue `index` of `familyIndex` from `device` (`vkGetDeviceQueue`); nil if
    /// the driver returns none, which a device created with that queue never does.
    static func retrieve(from device: VulkanDevice, familyIndex: UInt32, index: UInt32) -> VulkanQueue? {
        var handle: VkQueue?
        device.deviceFunctions.getDeviceQueue(device.device, familyIndex, index, &handle)
        return handle.map { VulkanQueue(familyIndex: familyIndex, index: index, handle: $0) }
    }
}
