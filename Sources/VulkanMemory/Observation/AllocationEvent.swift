import CVulkan

/// Something an `Allocator` did, as its observers see it (`AllocationObserver`).
///
/// Every way into the allocator reports through these events alone: the call recorder
/// (`CallRecorder`) is one observer, a profiler (Tracy-style per-allocation tracking), a
/// metrics exporter or a leak tracker are others. Allocations a failed call made and gave
/// back are not reported; `VkDeviceMemory` it made and released is, both ways.
public enum AllocationEvent: Sendable {
    /// The allocator was created; the observer sees its device and memory layout first.
    case began(device: VulkanDevice, properties: MemoryProperties)
    /// Memory was handed out: by `allocate`, in a custom pool, or with a buffer or image
    /// bound to it (`createBuffer`, `createImage`, a batch).
    case allocated(AllocatedEvent)
    /// An allocation was freed: by `free`, by destroying its resource, or by a committed
    /// defragmentation pass (its source).
    case freed(FreedEvent)
    /// An allocation was mapped for host access (`Allocator.map`).
    case mapped(Allocation)
    /// A live allocation's name or user data was changed (`Allocator.setName(_:of:)`,
    /// `setUserData(_:of:)`; VMA's `vmaSetAllocationName` / `vmaSetAllocationUserData`).
    case labelChanged(LabelEvent)
    /// A defragmentation pass was committed with this move made: `source`'s contents now
    /// live at `destination`.
    case moved(DefragmentationMove)
    /// A `VkDeviceMemory` was allocated (`vkAllocateMemory`): a page or dedicated memory.
    case deviceMemoryAllocated(DeviceMemoryEvent)
    /// A `VkDeviceMemory` was freed (`vkFreeMemory`).
    case deviceMemoryFreed(DeviceMemoryEvent)
    /// A heap cap or the budget refused `vkAllocateMemory` before the driver saw it.
    case refused(RefusalEvent)
    /// The allocator is being deinitialized: the last event it reports.
    case ended
}

/// What `AllocationEvent.allocated` reports.
public struct AllocatedEvent: Sendable {
    /// What the caller got.
    public let allocation: Allocation
    /// The resource's requirements (for `allocate`, the ones given).
    public let requirements: MemoryRequirements
    /// The intent the memory type was chosen for; nil in a custom pool.
    public let request: MemoryRequest?
    /// The options in effect (a batch's strategy shows as the dedicated policy).
    public let options: AllocationOptions
    /// The custom pool's name, for an allocation made in one.
    public let pool: String?
    /// The buffer or image bound to the allocation by the same call, if any.
    public let resource: ResourceCreation?
    /// `#fileID` of the call that allocated.
    public let fileID: StaticString
    /// `#line` of that call.
    public let line: UInt
}

/// What `AllocationEvent.labelChanged` reports: the allocation's name and user data after
/// the change.
public struct LabelEvent: Sendable, Hashable {
    /// The allocation renamed or given new user data.
    public let allocation: Allocation
    /// Its name now; nil when it has none.
    public let name: String?
    /// Its user data now.
    public let userData: UInt64
}

/// How a reported allocation was freed.
public struct FreedEvent: Sendable {
    /// Why the memory went back.
    public enum Cause: Sendable, Hashable {
        /// `Allocator.free`.
        case free
        /// `Allocator.destroyBuffer` (or `destroy` of a buffer).
        case destroyBuffer
        /// `Allocator.destroyImage` (or `destroy` of an image).
        case destroyImage
        /// A committed defragmentation pass freed a move's source.
        case defragmentation
    }

    /// The allocation, as it was handed out.
    public let allocation: Allocation
    /// Why it was freed.
    public let cause: Cause
}

/// A buffer or image created with its memory, as `AllocatedEvent` reports it: the fields
/// of its create-info a recording or a profiler uses.
public enum ResourceCreation: Sendable, Hashable {
    /// `VkBufferCreateInfo`'s flags, size, usage and sharing mode.
    case buffer(flags: UInt32, size: UInt64, usage: UInt32, sharingMode: UInt32)
    /// `VkImageCreateInfo`'s fields.
    case image(ImageCreation)

    init(_ info: VkBufferCreateInfo) {
        self = .buffer(flags: info.flags, size: info.size, usage: UInt32(truncatingIfNeeded: info.usage),
                       sharingMode: info.sharingMode.rawValue)
    }
}

/// `VkImageCreateInfo`'s fields, as plain values.
public struct ImageCreation: Sendable, Hashable {
    /// `flags`, `imageType`, `format`, `extent` (width, height, depth), `mipLevels`,
    /// `arrayLayers`, `samples`, `tiling`, `usage`, `sharingMode` and `initialLayout`, in
    /// that order (VMA's recording order).
    public let fields: [UInt32]

    init(_ info: VkImageCreateInfo) {
        fields = [info.flags, info.imageType.rawValue, info.format.rawValue, info.extent.width, info.extent.height,
                  info.extent.depth, info.mipLevels, info.arrayLayers, info.samples.rawValue, info.tiling.rawValue,
                  info.usage, info.sharingMode.rawValue, info.initialLayout.rawValue]
    }
}

/// A `VkDeviceMemory` allocated or freed (`AllocationEvent.deviceMemoryAllocated` /
/// `.deviceMemoryFreed`).
/// `@unchecked` only for the `VkDeviceMemory` handle, an opaque value never dereferenced here.
public struct DeviceMemoryEvent: @unchecked Sendable, Hashable {
    /// The handle.
    public let memory: VkDeviceMemory
    /// Its size in bytes.
    public let size: UInt64
    /// Its memory type.
    public let memoryTypeIndex: Int
    /// Its heap.
    public let heapIndex: Int
    /// Whether it is one allocation's alone (dedicated) rather than a page.
    public let isDedicated: Bool
}

/// A `vkAllocateMemory` refused before the driver saw it (`AllocationEvent.refused`).
public struct RefusalEvent: Sendable, Hashable {
    /// The bytes asked for.
    public let size: UInt64
    /// The memory type.
    public let memoryTypeIndex: Int
    /// The heap whose cap or budget refused.
    public let heapIndex: Int
    /// Why, in words.
    public let reason: String
}
