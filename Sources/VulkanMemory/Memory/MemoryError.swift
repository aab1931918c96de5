/// What went wrong with raw device memory, in words a user can act on.
public enum MemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The memory type index is not one of the device's types.
    case invalidMemoryType(index: Int, typeCount: Int)
    /// A size of zero was asked for.
    case zeroSize
    /// The size is larger than the whole heap the type draws from.
    case sizeExceedsHeap(size: UInt64, heapIndex: Int, heapSize: UInt64)
    /// The device already has `maxMemoryAllocationCount` memory objects.
    case tooManyAllocations(limit: UInt32)
    /// `vkAllocateMemory` failed (usually out of device or host memory).
    case allocationFailed(size: UInt64, typeIndex: Int, heapIndex: Int, result: VulkanResult)
    /// Mapping was asked of memory whose type is not `HOST_VISIBLE`.
    case notHostVisible(typeIndex: Int, flags: MemoryPropertyFlags)
    /// A range reaches past the end of the memory or view it applies to.
    case rangeOutOfBounds(offset: UInt64, size: UInt64, limit: UInt64)
    /// The memory was already freed.
    case alreadyFreed
    /// Unmap, flush or invalidate of memory that is not mapped.
    case notMapped
    /// A `MappedMemory` view was used after its memory was unmapped or freed, or after
    /// the allocation it shows was freed or moved: map again to get a current view.
    case viewEnded
    /// A priority outside 0…1.
    case invalidPriority(Float)
    /// The operation needs a device capability that was not enabled.
    case capabilityNotEnabled(DeviceCapabilities, operation: String)
    /// Export of a handle type the memory was not allocated as exportable for.
    case notExportable(requested: ExternalMemoryHandleTypes, allocatedWith: ExternalMemoryHandleTypes)
    /// The memory type needs a device feature that is not enabled: `protectedMemory` for
    /// `PROTECTED` types (the library never enables it), `deviceCoherentMemory` for
    /// `DEVICE_COHERENT_AMD` ones (`DeviceCapabilities.deviceCoherentMemory`)
    /// (VUID-VkMemoryAllocateInfo-memoryTypeIndex-01872, VUID-vkAllocateMemory-deviceCoherentMemory-02790).
    case featureNotEnabled(typeIndex: Int, flags: MemoryPropertyFlags, feature: String)
    /// A file descriptor to import is negative: no descriptor at all.
    case invalidFileDescriptor(Int32)
    /// Another Vulkan call failed.
    case vulkan(VulkanError)

    /// What failed and why.
    public var description: String {
        switch self {
        case let .invalidMemoryType(index, count):
            return "memory type \(index) does not exist: the device has \(count) types (0…\(count - 1))"
        case .zeroSize:
            return "a size of 0 bytes was requested; sizes must be at least 1"
        case let .sizeExceedsHeap(size, heap, heapSize):
            return "\(size) bytes were requested from heap \(heap), which holds only \(heapSize) bytes"
        case let .tooManyAllocations(limit):
            return "the device already holds maxMemoryAllocationCount (\(limit)) memory objects"
        case let .allocationFailed(size, type, heap, result):
            return "vkAllocateMemory of \(size) bytes from memory type \(type) (heap \(heap)) failed with \(result.name)"
        case let .notHostVisible(type, flags):
            return "memory type \(type) (\(flags)) is not HOST_VISIBLE and cannot be mapped"
        case let .rangeOutOfBounds(offset, size, limit):
            return "range at offset \(offset) of \(size) bytes reaches past the end (\(limit) bytes)"
        case .alreadyFreed:
            return "the memory was already freed"
        case .notMapped:
            return "the memory is not mapped"
        case .viewEnded:
            return "the mapped view outlived its memory: the memory was unmapped or freed, or the "
                + "allocation it shows was freed or moved; map again for a current view"
        case let .invalidPriority(priority):
            return "memory priority \(priority) is outside 0…1"
        case let .capabilityNotEnabled(capability, operation):
            return "\(operation) needs \(capability), which was not enabled on the device"
        case let .featureNotEnabled(type, flags, feature):
            let remedy = feature == "deviceCoherentMemory"
                ? "; enable DeviceCapabilities.deviceCoherentMemory on the device and set AllocatorOptions.deviceCoherentMemory"
                : ", which the library does not enable"
            return "memory type \(type) (\(flags)) needs the \(feature) feature" + remedy
        case let .notExportable(requested, allocatedWith):
            return "export as \(requested) needs memory allocated exportable as that type "
                + "(it was allocated exportable as \(allocatedWith))"
        case let .invalidFileDescriptor(fd):
            return "file descriptor \(fd) cannot be imported: descriptors are 0 or more"
        case let .vulkan(error):
            return error.description
        }
    }
}

/// External memory handle types (`VkExternalMemoryHandleTypeFlags`).
public struct ExternalMemoryHandleTypes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The raw bits.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT`: a POSIX file descriptor only Vulkan
    /// understands.
    public static let opaqueFd = ExternalMemoryHandleTypes(rawValue: 0x1)
    /// `VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT`.
    public static let dmaBuf = ExternalMemoryHandleTypes(rawValue: 0x200)

    /// `OPAQUE_FD`, `DMA_BUF`, or the raw bits.
    public var description: String {
        var names: [String] = []
        if contains(.opaqueFd) { names.append("OPAQUE_FD") }
        if contains(.dmaBuf) { names.append("DMA_BUF") }
        let rest = rawValue & ~(Self.opaqueFd.rawValue | Self.dmaBuf.rawValue)
        if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
        return names.isEmpty ? "none" : names.joined(separator: "|")
    }
}
