extension FrameCompletion {
    /// ``FrameCompletion/isReached(on:)`` with a ring's error.
    /// - Throws: ``BufferArenaError/vulkan(_:)`` when the call fails (a lost device) or
    ///   the driver has no `vkGetSemaphoreCounterValue`.
    func hasPassed(on device: VulkanDevice) throws(BufferArenaError) -> Bool {
        do { return try isReached(on: device) } catch { throw .vulkan(error) }
    }
}
