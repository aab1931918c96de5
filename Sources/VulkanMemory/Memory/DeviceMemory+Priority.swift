extension DeviceMemory {
    /// Changes the memory's priority after allocation (`vkSetDeviceMemoryPriorityEXT`, from
    /// `VK_EXT_pageable_device_local_memory`): under memory pressure the driver keeps
    /// higher-priority memory in device-local memory longer. Priorities are relative, in
    /// 0…1; memory allocated without one has 0.5.
    ///
    /// Thread safety: any thread; a concurrent `free()` waits for the call to end.
    /// - Parameter priority: the new priority, in 0…1 (larger stays resident longer).
    /// - Throws: `.invalidPriority` outside 0…1 (or not a number);
    ///   `.capabilityNotEnabled(.pageableDeviceLocalMemory, …)` when the device was not
    ///   created with `DeviceCapabilities.pageableDeviceLocalMemory`; `.alreadyFreed`.
    /// - Complexity: O(1); one Vulkan call.
    public func setPriority(_ priority: Float) throws(MemoryError) {
        try Self.checkPriorityChange(priority, on: device)
        guard let set = device.deviceFunctions.setDeviceMemoryPriority else {
            throw .capabilityNotEnabled(.pageableDeviceLocalMemory, operation: "vkSetDeviceMemoryPriorityEXT")
        }
        // Under the map state's lock: `free()` marks the memory freed under it before
        // vkFreeMemory, so the handle is alive for the whole call.
        try state.withLock { (state: inout MapState) throws(MemoryError) in
            guard !state.freed else { throw .alreadyFreed }
            set(device.device, handle, priority)
        }
    }

    /// Checks that `priority` may be set on memory of `device`: in 0…1, and the device
    /// has `vkSetDeviceMemoryPriorityEXT`. Callers changing many objects check once first,
    /// so a refusal changes none.
    static func checkPriorityChange(_ priority: Float, on device: VulkanDevice) throws(MemoryError) {
        // NaN is in no range, so it is refused too.
        guard (0...1).contains(priority) else { throw .invalidPriority(priority) }
        guard device.deviceFunctions.setDeviceMemoryPriority != nil else {
            throw .capabilityNotEnabled(.pageableDeviceLocalMemory, operation: "vkSetDeviceMemoryPriorityEXT")
        }
    }
}
