import CVulkan

extension DeviceMemory {
    /// Exports the memory as an opaque POSIX file descriptor (`vkGetMemoryFdKHR`).
    ///
    /// Each call returns a new descriptor; ownership passes to the caller, who closes it
    /// or hands it to `importFileDescriptor` (which takes ownership on success).
    /// - Throws: `.capabilityNotEnabled` without `VK_KHR_external_memory_fd`,
    ///   `.notExportable` unless allocated with `exportHandleTypes: .opaqueFd`,
    ///   `.alreadyFreed`, or `.vulkan`.
    public func exportFileDescriptor() throws(MemoryError) -> Int32 {
        guard let getFd = device.deviceFunctions.getMemoryFd else {
            throw .capabilityNotEnabled(.externalMemoryFd, operation: "exporting memory")
        }
        // Freed first: whatever it was allocated as, freed memory has nothing to export.
        guard !isFreed else { throw .alreadyFreed }
        guard options.exportHandleTypes.contains(.opaqueFd) else {
            throw .notExportable(requested: .opaqueFd, allocatedWith: options.exportHandleTypes)
        }
        var info = VkMemoryGetFdInfoKHR()
        info.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR
        info.memory = handle
        info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT
        // Under the lock `free()` marks the memory freed with, before it calls
        // vkFreeMemory: a free on another thread cannot slip between check and export.
        let exported: Result<Int32, MemoryError> = state.withLock { state in
            if state.freed { return .failure(.alreadyFreed) }
            var fd: Int32 = -1
            let code = VulkanResult(getFd(device.device, &info, &fd))
            guard code.isSuccess else { return .failure(.vulkan(.callFailed(function: "vkGetMemoryFdKHR", result: code))) }
            return .success(fd)
        }
        return try exported.get()
    }

    /// Imports memory exported as an opaque file descriptor (`VkImportMemoryFdInfoKHR`).
    ///
    /// On success Vulkan owns `fileDescriptor` and the caller must not close it; on failure
    /// the caller still owns it. `size` and `memoryTypeIndex` must match the exporter's.
    /// - Throws: as `allocate`; `.capabilityNotEnabled` without
    ///   `VK_KHR_external_memory_fd`; `.invalidFileDescriptor` for a negative descriptor.
    public static func importFileDescriptor(
        _ fileDescriptor: Int32, on device: VulkanDevice, size: UInt64, memoryTypeIndex: Int,
        options: Options = Options()
    ) throws(MemoryError) -> DeviceMemory {
        guard device.capabilities.contains(.externalMemoryFd) else {
            throw .capabilityNotEnabled(.externalMemoryFd, operation: "importing memory")
        }
        guard fileDescriptor >= 0 else { throw .invalidFileDescriptor(fileDescriptor) }
        return try allocate(on: device, size: size, memoryTypeIndex: memoryTypeIndex, options: options) { chain in
            var importInfo = VkImportMemoryFdInfoKHR()
            importInfo.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR
            importInfo.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT
            importInfo.fd = fileDescriptor
            chain.push(importInfo) { $0.pNext = $1 }
        }
    }
}
