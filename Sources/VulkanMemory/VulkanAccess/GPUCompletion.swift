import CVulkan

/// The point where the GPU has finished a submission, as the host can ask about it
/// without waiting: a fence it signals (`vkGetFenceStatus`) or a value a timeline
/// semaphore reaches (`vkGetSemaphoreCounterValue`).
///
/// `@unchecked` only for the fence or semaphore handle, an opaque value never
/// dereferenced here.
public enum GPUCompletion: @unchecked Sendable, Hashable {
    /// The fence given to the `vkQueueSubmit` of the work; it must not be reset before the
    /// work it guards is known finished.
    case fence(VkFence)
    /// A timeline semaphore (`VK_SEMAPHORE_TYPE_TIMELINE`) the work signals with `value`,
    /// or a later submission signals with a value at least that. The device needs the
    /// `timelineSemaphore` feature (``DeviceCapabilities/timelineSemaphore``).
    case timeline(VkSemaphore, value: UInt64)

    /// Whether the GPU got there, asked once without waiting (`vkGetFenceStatus` or
    /// `vkGetSemaphoreCounterValue`).
    /// - Throws: `VulkanError.callFailed` when the call fails (`VK_ERROR_DEVICE_LOST`);
    ///   `.functionUnavailable` for a timeline semaphore on a device that has no
    ///   `vkGetSemaphoreCounterValue` (Vulkan 1.2 or `VK_KHR_timeline_semaphore`).
    /// - Complexity: O(1), one Vulkan call.
    public func isReached(on device: VulkanDevice) throws(VulkanError) -> Bool {
        let functions = device.commandFunctions
        switch self {
        case .fence(let fence):
            let result = VulkanResult(functions.getFenceStatus(device.device, fence))
            guard result.isSuccess else { throw .callFailed(function: "vkGetFenceStatus", result: result) }
            // VK_NOT_READY (1) is a success code: not signalled yet.
            return result == .success
        case let .timeline(semaphore, value):
            guard let counter = functions.getSemaphoreCounterValue else {
                throw .functionUnavailable(name: "vkGetSemaphoreCounterValue",
                                           reason: "timeline semaphores need Vulkan 1.2 or VK_KHR_timeline_semaphore; "
                                               + "give a fence instead")
            }
            var reached: UInt64 = 0
            let result = VulkanResult(counter(device.device, semaphore, &reached))
            guard result.isSuccess else { throw .callFailed(function: "vkGetSemaphoreCounterValue", result: result) }
            return reached >= value
        }
    }
}
