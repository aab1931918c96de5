import CVulkan

/// What says a frame's GPU work is done, so a ``FrameRing`` may reuse its slices.
///
/// The smallest wrapper of the Vulkan handles: `@unchecked Sendable` because a
/// `VkFence` or `VkSemaphore` is a plain handle value that any thread may query. The ring
/// queries it until the frame retires: keep the fence or semaphore alive until then.
public enum FrameCompletion: @unchecked Sendable, Hashable {
    /// Done when the fence is signaled (`vkGetFenceStatus` answers `VK_SUCCESS`). The ring
    /// only reads the fence: resetting it for a later frame before this one retired
    /// keeps this frame in flight until the fence signals again.
    case fence(VkFence)
    /// Done when the timeline semaphore's value (`vkGetSemaphoreCounterValue`) has reached
    /// `value`.
    case timeline(VkSemaphore, value: UInt64)

    /// Whether the work has passed, asked of the driver without waiting.
    /// - Throws: ``BufferArenaError/vulkan(_:)`` when the call fails (a lost device) or
    ///   the driver has no `vkGetSemaphoreCounterValue`.
    func hasPassed(on device: VulkanDevice) throws(BufferArenaError) -> Bool {
        let functions = device.commandFunctions
        switch self {
        case .fence(let fence):
            let result = functions.getFenceStatus(device.device, fence)
            if result == VK_SUCCESS { return true }
            if result == VK_NOT_READY { return false }
            throw .vulkan(.callFailed(function: "vkGetFenceStatus", result: VulkanResult(result)))
        case let .timeline(semaphore, value):
            guard let getValue = functions.getSemaphoreCounterValue else {
                throw .vulkan(.functionUnavailable(name: "vkGetSemaphoreCounterValue",
                                                   reason: "the driver offers neither Vulkan 1.2 nor VK_KHR_timeline_semaphore"))
            }
            var current: UInt64 = 0
            let result = getValue(device.device, semaphore, &current)
            guard result == VK_SUCCESS else {
                throw .vulkan(.callFailed(function: "vkGetSemaphoreCounterValue", result: VulkanResult(result)))
            }
            return current >= value
        }
    }
}
