import CVulkan

extension Allocator {
    /// The device address of a buffer this allocator created (`vkGetBufferDeviceAddress`),
    /// for shaders that reach it through a pointer (`VK_KHR_buffer_device_address`).
    ///
    /// The memory of every buffer the allocator binds is allocated with
    /// `VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT` when the device has the capability, so any
    /// buffer made with `.shaderDeviceAddress` usage has an address. Two buffers bound in
    /// one `VkDeviceMemory` have addresses as far apart as their offsets on the drivers
    /// tested, though Vulkan does not promise it.
    /// - Parameter buffer: a buffer made by `createBuffer` or a batch, not yet destroyed.
    /// - Returns: the buffer's address, never 0 for a valid buffer.
    /// - Throws: `.memory(.capabilityNotEnabled(.bufferDeviceAddress, …))` when the device
    ///   was created without the `bufferDeviceAddress` feature; `.bufferUsageMissing` when
    ///   the buffer was created without `.shaderDeviceAddress` usage; `.alreadyFreed` /
    ///   `.unknownAllocation` for a buffer destroyed before (asking the driver about a
    ///   destroyed `VkBuffer` crashes some drivers) or not made here. No Vulkan call is
    ///   made then.
    /// - Complexity: O(1): one driver call.
    public func deviceAddress(of buffer: BoundBuffer) throws(AllocationError) -> UInt64 {
        guard let getAddress = device.deviceFunctions.getBufferDeviceAddress,
              device.capabilities.contains(.bufferDeviceAddress) else {
            throw .memory(.capabilityNotEnabled(.bufferDeviceAddress, operation: "vkGetBufferDeviceAddress"))
        }
        guard buffer.usage.contains(.shaderDeviceAddress) else {
            throw .bufferUsageMissing(.shaderDeviceAddress, operation: "vkGetBufferDeviceAddress")
        }
        if let error = liveness(buffer.allocation) { throw error }
        var info = VkBufferDeviceAddressInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO
        info.buffer = buffer.buffer
        return getAddress(device.device, &info)
    }
}
