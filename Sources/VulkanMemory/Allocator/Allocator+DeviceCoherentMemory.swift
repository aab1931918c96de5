extension Allocator {
    /// Creates an allocator after checking that `options` ask nothing of the device it
    /// lacks; `init(device:options:)` with the same options otherwise.
    ///
    /// With `AllocatorOptions.deviceCoherentMemory` set, the device must have
    /// `DeviceCapabilities.deviceCoherentMemory` (`VK_AMD_device_coherent_memory`'s
    /// `deviceCoherentMemory` feature enabled), as VMA requires with
    /// `VMA_ALLOCATOR_CREATE_AMD_DEVICE_COHERENT_MEMORY_BIT`. `init(device:options:)`
    /// cannot refuse: given that option without the capability it treats the option as
    /// off, so `DEVICE_COHERENT_AMD` types are never chosen.
    /// - Parameters:
    ///   - options: the allocator's options, checked against the device.
    ///   - device: the device memory comes from.
    /// - Throws: `.memory(.capabilityNotEnabled(.deviceCoherentMemory, …))` for
    ///   `deviceCoherentMemory` on a device without the capability: create the device with
    ///   it (`VulkanContext.Options.capabilities`; AMD drivers only), or leave the option off.
    /// - Complexity: as `init(device:options:)`, O(memory types × intents).
    public convenience init(validating options: AllocatorOptions, device: VulkanDevice) throws(AllocationError) {
        if options.deviceCoherentMemory, !device.capabilities.contains(.deviceCoherentMemory) {
            throw .memory(.capabilityNotEnabled(.deviceCoherentMemory, operation: "AllocatorOptions.deviceCoherentMemory"))
        }
        self.init(device: device, options: options)
    }

    /// Whether the allocator may use `DEVICE_COHERENT_AMD` / `DEVICE_UNCACHED_AMD` types on
    /// `device` with `options`: asked for, and the feature enabled.
    static func allowsDeviceCoherentMemory(_ options: AllocatorOptions, on device: VulkanDevice) -> Bool {
        options.deviceCoherentMemory && device.capabilities.contains(.deviceCoherentMemory)
    }

    /// The feature a memory type needs that this allocator lacks, or nil: an AMD
    /// device-coherent type counts as lacking `deviceCoherentMemory` unless the allocator
    /// opted in (`AllocatorOptions.deviceCoherentMemory`), as it is never chosen otherwise.
    func featureMissing(for type: MemoryType) -> String? {
        if !selection.allowsDeviceCoherentMemory,
           !type.flags.isDisjoint(with: MemoryTypeSelection.deviceCoherentFlags) {
            return "deviceCoherentMemory"
        }
        return DeviceMemory.featureNeeded(by: type.flags, capabilities: device.capabilities)
    }
}
