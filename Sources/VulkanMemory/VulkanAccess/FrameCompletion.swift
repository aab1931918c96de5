import CVulkan

/// What says a submission's GPU work is done: a fence it signals (`vkGetFenceStatus`) or
/// a value a timeline semaphore reaches (`vkGetSemaphoreCounterValue`). A ``FrameRing``
/// reuses a frame's slices, and a finished ``MovingDefragmentationPass`` releases its old
/// resources and emptied pages, once it is.
///
/// The smallest wrapper of the Vulkan handles: `@unchecked Sendable` because a
/// `VkFence` or `VkSemaphore` is a plain handle value that any thread may query. Its
/// owner queries it until the work is known done: keep the fence or semaphore alive until
/// then.
public enum FrameCompletion: @unchecked Sendable, Hashable {
    /// Done when the fence is signaled (`vkGetFenceStatus` answers `VK_SUCCESS`). It is
    /// only read: resetting it for later work before this work was seen done keeps this
    /// work in flight until the fence signals again.
    case fence(VkFence)
    /// Done when the timeline semaphore's value (`vkGetSemaphoreCounterValue`) has reached
    /// `value`. The device needs the `timelineSemaphore` feature
    /// (``DeviceCapabilities/timelineSemaphore``).
    case timeline(VkSemaphore, value: UInt64)

    /// Whether the work has passed, asked of the driver once, without waiting
    /// (`vkGetFenceStatus` or `vkGetSemaphoreCounterValue`).
    /// - Throws: `VulkanError.callFailed` when the call fails (`VK_ERROR_DEVICE_LOST`);
    ///   `.functionUnavailable` for a timeline semaphore on a driver without
    ///   `vkGetSemaphoreCounterValue` (neither Vulkan 1.2 nor `VK_KHR_timeline_semaphore`).
    /// - Complexity: O(1), one Vulkan call.
    public func isReached(on device: VulkanDevice) throws(VulkanError) -> Bool {
        let functions = device.commandFunctions
        switch self {
        case .fence(let fence):
            let result = functions.getFenceStatus(device.device, fence)
            if result == VK_SUCCESS { return true }
            if result == VK_NOT_READY { return false }
            throw .callFailed(function: "vkGetFenceStatus", result: VulkanResult(result))
        case let .timeline(semaphore, value):
            guard let getValue = functions.getSemaphoreCounterValue else {
                throw .functionUnavailable(name: "vkGetSemaphoreCounterValue",
                                           reason: "the driver offers neither Vulkan 1.2 nor VK_KHR_timeline_semaphore")
            }
            var current: UInt64 = 0
            let result = getValue(device.device, semaphore, &current)
            guard result == VK_SUCCESS else {
                throw .callFailed(function: "vkGetSemaphoreCounterValue", result: VulkanResult(result))
            }
            return current >= value
        }
    }
}
