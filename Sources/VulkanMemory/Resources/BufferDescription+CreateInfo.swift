import CVulkan

extension BufferDescription {
    /// The `VkBufferCreateInfo` for this description with exclusive sharing, for
    /// `Allocator.createBuffer`, as `ImageDescription.exclusiveCreateInfo` is for images
    /// (`sharedQueueFamilies` is not applied: the array must outlive the call; use
    /// `withCreateInfo(_:)` for a buffer shared by queue families).
    public var exclusiveCreateInfo: VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(usage.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// Calls `body` with the complete `VkBufferCreateInfo`: `VK_SHARING_MODE_CONCURRENT`
    /// with `pQueueFamilyIndices` pointing at `sharedQueueFamilies` when two or more
    /// families share the buffer (Vulkan forbids concurrent sharing by fewer,
    /// VUID-VkBufferCreateInfo-sharingMode-00914), exclusive otherwise.
    ///
    /// The pointer in the structure is valid only during `body`.
    public func withCreateInfo<Result, Failure: Error>(
        _ body: (VkBufferCreateInfo) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var info = exclusiveCreateInfo
        guard sharedQueueFamilies.count > 1 else { return try body(info) }
        let families = sharedQueueFamilies
        let outcome: Swift.Result<Result, Failure> = families.withUnsafeBufferPointer { pointer in
            info.sharingMode = VK_SHARING_MODE_CONCURRENT
            info.queueFamilyIndexCount = UInt32(pointer.count)
            info.pQueueFamilyIndices = pointer.baseAddress
            do throws(Failure) { return .success(try body(info)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}
