/// The end of a moving defragmentation pass that waits on the GPU: the pass's plan stays
/// open (so no other pass starts and the emptied pages take nothing) until `completion`
/// is reached, then `release` destroys the old resources and commits the plan.
///
/// The allocator layer holds it as a closure so it never names the resources layer that
/// built it. The closure is handed the allocator rather than holding it: the allocator
/// holds the closure, and would otherwise never be freed while moves are in flight.
struct MovesInFlight: Sendable {
    let completion: FrameCompletion
    let release: @Sendable (Allocator) -> DefragmentationResult
}

extension Allocator {
    /// Releases what a finished moving defragmentation pass left for after the GPU: when
    /// the fence or timeline value it was finished with is reached (`vkGetFenceStatus` /
    /// `vkGetSemaphoreCounterValue`, asked once, never waited on), it destroys the old
    /// buffers and images (`vkDestroyBuffer`/`vkDestroyImage`), frees their memory and
    /// returns the emptied pages to the driver (`vkFreeMemory`).
    ///
    /// ``Allocator/beginMovingDefragmentation(buffers:images:recordingInto:in:maxBytesToMove:maxMoves:algorithm:)``
    /// calls it first, so a frame loop that starts a pass each frame needs no other call;
    /// call it yourself to give memory back sooner, or before dropping the allocator
    /// (memory is freed then anyway, but the old `VkBuffer`s and `VkImage`s are not).
    ///
    /// Thread safety: any thread; of several calls at once, one releases and the others
    /// wait for it and find nothing. ``hasMovesInFlight`` stays true until the release is
    /// done, so no new pass can find the previous one half released.
    /// - Returns: what the release freed; nil when no pass is in flight or the GPU has not
    ///   reached its completion yet (nothing changes then).
    /// - Throws: `.vulkan` when the status query fails (`VK_ERROR_DEVICE_LOST`, or a
    ///   timeline semaphore on a device without `vkGetSemaphoreCounterValue`); the moves
    ///   stay in flight.
    /// - Complexity: O(1) while the GPU is busy; O(moves + ranges of the emptied pages)
    ///   when it releases.
    @discardableResult
    public func releaseCompletedMoves() throws(AllocationError) -> DefragmentationResult? {
        try movesInFlight.withLock { (inFlight: inout MovesInFlight?) throws(AllocationError) -> DefragmentationResult? in
            guard let pending = inFlight else { return nil }
            do throws(VulkanError) {
                guard try pending.completion.isReached(on: device) else { return nil }
            } catch {
                throw .vulkan(error)
            }
            // Released before the slot is cleared: lock order this lock, then the moved
            // sources' and the pools' (nothing takes them the other way round).
            defer { inFlight = nil }
            return pending.release(self)
        }
    }

    /// Whether a finished moving pass still waits on the GPU.
    public var hasMovesInFlight: Bool { movesInFlight.withLock { $0 != nil } }
}
