import CVulkan

/// A memory heap (`VkMemoryHeap`).
public struct MemoryHeap: Hashable, Sendable {
    /// The heap's index in `VkPhysicalDeviceMemoryProperties::memoryHeaps`.
    public let index: Int
    /// `size` in bytes.
    public let size: UInt64
    /// `flags`.
    public let flags: MemoryHeapFlags

    /// Creates a heap description.
    public init(index: Int, size: UInt64, flags: MemoryHeapFlags) {
        self.index = index
        self.size = size
        self.flags = flags
    }

    /// `VK_MEMORY_HEAP_DEVICE_LOCAL_BIT` is set.
    public var isDeviceLocal: Bool { flags.contains(.deviceLocal) }
    /// `VK_MEMORY_HEAP_MULTI_INSTANCE_BIT` is set.
    public var isMultiInstance: Bool { flags.contains(.multiInstance) }
}

/// A memory type (`VkMemoryType`).
public struct MemoryType: Hashable, Sendable {
    /// The type's index in `VkPhysicalDeviceMemoryProperties::memoryTypes`: the bit of
    /// `VkMemoryRequirements::memoryTypeBits` and the `memoryTypeIndex` of an allocation.
    public let index: Int
    /// `heapIndex`.
    public let heapIndex: Int
    /// `propertyFlags`.
    public let flags: MemoryPropertyFlags

    /// Creates a type description.
    public init(index: Int, heapIndex: Int, flags: MemoryPropertyFlags) {
        self.index = index
        self.heapIndex = heapIndex
        self.flags = flags
    }

    /// `DEVICE_LOCAL` is set.
    public var isDeviceLocal: Bool { flags.contains(.deviceLocal) }
    /// `HOST_VISIBLE` is set: the memory can be mapped.
    public var isHostVisible: Bool { flags.contains(.hostVisible) }
    /// `HOST_COHERENT` is set: writes need no flush, reads no invalidate.
    public var isHostCoherent: Bool { flags.contains(.hostCoherent) }
    /// `HOST_CACHED` is set.
    public var isHostCached: Bool { flags.contains(.hostCached) }
    /// `LAZILY_ALLOCATED` is set.
    public var isLazilyAllocated: Bool { flags.contains(.lazilyAllocated) }
    /// `PROTECTED` is set.
    public var isProtected: Bool { flags.contains(.protected) }
    /// `DEVICE_COHERENT_AMD` is set.
    public var isDeviceCoherentAMD: Bool { flags.contains(.deviceCoherentAMD) }
    /// `DEVICE_UNCACHED_AMD` is set.
    public var isDeviceUncachedAMD: Bool { flags.contains(.deviceUncachedAMD) }
    /// `RDMA_CAPABLE_NV` is set.
    public var isRDMACapableNV: Bool { flags.contains(.rdmaCapableNV) }
}

/// The device limits that memory management depends on (`VkPhysicalDeviceLimits`).
public struct MemoryLimits: Hashable, Sendable {
    /// `bufferImageGranularity`: linear and optimal resources closer than this share a
    /// "page" and must not alias it.
    public var bufferImageGranularity: UInt64
    /// `nonCoherentAtomSize`: flush and invalidate ranges are multiples of this.
    public var nonCoherentAtomSize: UInt64
    /// `maxMemoryAllocationCount`: how many `VkDeviceMemory` objects may exist at once.
    public var maxMemoryAllocationCount: UInt32
    /// `minMemoryMapAlignment`: the alignment of pointers `vkMapMemory` returns.
    public var minMemoryMapAlignment: Int

    /// Creates a set of limits.
    public init(bufferImageGranularity: UInt64, nonCoherentAtomSize: UInt64,
                maxMemoryAllocationCount: UInt32, minMemoryMapAlignment: Int) {
        self.bufferImageGranularity = bufferImageGranularity
        self.nonCoherentAtomSize = nonCoherentAtomSize
        self.maxMemoryAllocationCount = maxMemoryAllocationCount
        self.minMemoryMapAlignment = minMemoryMapAlignment
    }
}

/// A device's memory heaps and types in the driver's order, with the limits that matter
/// for memory management. A pure value: build it from a live device or from a profile.
public struct MemoryProperties: Hashable, Sendable {
    /// `VK_MAX_MEMORY_TYPES`: the most memory types a device can have.
    public static let maxMemoryTypes = Int(VK_MAX_MEMORY_TYPES)
    /// `VK_MAX_MEMORY_HEAPS`: the most heaps a device can have.
    public static let maxMemoryHeaps = Int(VK_MAX_MEMORY_HEAPS)

    /// The heaps, in the driver's order.
    public let heaps: [MemoryHeap]
    /// The types, in the driver's order (order matters: among equal choices Vulkan asks
    /// applications to prefer the lower index).
    public let types: [MemoryType]
    /// The memory-related limits.
    public let limits: MemoryLimits

    /// Creates properties from parts, as a device would report them.
    ///
    /// - Throws: `MemoryPropertiesError` when they could not come from a Vulkan device: no
    ///   heap or type, more than Vulkan allows, heaps or types out of index order, or a type
    ///   drawing from a heap that is not there. Every later use (type selection, the heap of
    ///   a type) then indexes safely.
    /// - Complexity: O(heaps + types).
    public init(heaps: [MemoryHeap], types: [MemoryType], limits: MemoryLimits) throws(MemoryPropertiesError) {
        guard (1...Self.maxMemoryHeaps).contains(heaps.count) else { throw .heapCount(heaps.count) }
        guard (1...Self.maxMemoryTypes).contains(types.count) else { throw .typeCount(types.count) }
        if let position = heaps.indices.first(where: { heaps[$0].index != $0 }) {
            throw .heapOutOfOrder(position: position, index: heaps[position].index)
        }
        if let position = types.indices.first(where: { types[$0].index != $0 }) {
            throw .typeOutOfOrder(position: position, index: types[position].index)
        }
        if let type = types.first(where: { !heaps.indices.contains($0.heapIndex) }) {
            throw .missingHeap(typeIndex: type.index, heapIndex: type.heapIndex, heapCount: heaps.count)
        }
        self.init(checked: heaps, types: types, limits: limits)
    }

    /// Properties whose heaps and types were checked already (a profile's loader) or come
    /// from the driver.
    init(checked heaps: [MemoryHeap], types: [MemoryType], limits: MemoryLimits) {
        self.heaps = heaps
        self.types = types
        self.limits = limits
    }

    /// A live device's properties, as `vkGetPhysicalDeviceMemoryProperties` and
    /// `vkGetPhysicalDeviceProperties` reported them when the `VulkanDevice` was made.
    public init(device: VulkanDevice) {
        let memory = device.rawMemoryProperties
        let heaps = withUnsafeBytes(of: memory.memoryHeaps) { raw in
            raw.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount))
                .enumerated().map {
                    MemoryHeap(index: $0.offset, size: $0.element.size,
                               flags: MemoryHeapFlags(rawValue: $0.element.flags))
                }
        }
        let types = withUnsafeBytes(of: memory.memoryTypes) { raw in
            raw.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount))
                .enumerated().map {
                    MemoryType(index: $0.offset, heapIndex: Int($0.element.heapIndex),
                               flags: MemoryPropertyFlags(rawValue: $0.element.propertyFlags))
                }
        }
        let l = device.rawLimits
        self.init(checked: heaps, types: types, limits: MemoryLimits(
            bufferImageGranularity: l.bufferImageGranularity,
            nonCoherentAtomSize: l.nonCoherentAtomSize,
            maxMemoryAllocationCount: l.maxMemoryAllocationCount,
            minMemoryMapAlignment: l.minMemoryMapAlignment))
    }

    /// The heap a type draws from; nil for a type whose heap index names none of these
    /// heaps (a `MemoryType` made by hand, or another device's).
    public func heap(of type: MemoryType) -> MemoryHeap? {
        heaps.indices.contains(type.heapIndex) ? heaps[type.heapIndex] : nil
    }
}
