/// The properties of a memory type (`VkMemoryPropertyFlags`).
///
/// Names follow Vulkan without prefix and suffix (`DEVICE_LOCAL`, `HOST_VISIBLE`…), the
/// form used by `vkmem info --json` and the GPU profiles.
public struct MemoryPropertyFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The raw `VkMemoryPropertyFlags`.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT`: fastest for the device.
    public static let deviceLocal = MemoryPropertyFlags(rawValue: 0x1)
    /// `VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT`: can be mapped.
    public static let hostVisible = MemoryPropertyFlags(rawValue: 0x2)
    /// `VK_MEMORY_PROPERTY_HOST_COHERENT_BIT`: no flush or invalidate needed.
    public static let hostCoherent = MemoryPropertyFlags(rawValue: 0x4)
    /// `VK_MEMORY_PROPERTY_HOST_CACHED_BIT`: cached on the host, fast to read back.
    public static let hostCached = MemoryPropertyFlags(rawValue: 0x8)
    /// `VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT`: for transient attachments only.
    public static let lazilyAllocated = MemoryPropertyFlags(rawValue: 0x10)
    /// `VK_MEMORY_PROPERTY_PROTECTED_BIT`: protected memory.
    public static let protected = MemoryPropertyFlags(rawValue: 0x20)
    /// `VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD`.
    public static let deviceCoherentAMD = MemoryPropertyFlags(rawValue: 0x40)
    /// `VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD`.
    public static let deviceUncachedAMD = MemoryPropertyFlags(rawValue: 0x80)
    /// `VK_MEMORY_PROPERTY_RDMA_CAPABLE_BIT_NV`.
    public static let rdmaCapableNV = MemoryPropertyFlags(rawValue: 0x100)

    /// Each flag with its Vulkan name, in bit order.
    public static let named: [(flag: MemoryPropertyFlags, name: String)] = [
        (.deviceLocal, "DEVICE_LOCAL"), (.hostVisible, "HOST_VISIBLE"),
        (.hostCoherent, "HOST_COHERENT"), (.hostCached, "HOST_CACHED"),
        (.lazilyAllocated, "LAZILY_ALLOCATED"), (.protected, "PROTECTED"),
        (.deviceCoherentAMD, "DEVICE_COHERENT_AMD"), (.deviceUncachedAMD, "DEVICE_UNCACHED_AMD"),
        (.rdmaCapableNV, "RDMA_CAPABLE_NV"),
    ]

    /// Builds flags from Vulkan names; nil if a name is unknown.
    public init?(names: [String]) {
        var flags: MemoryPropertyFlags = []
        for name in names {
            guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
            flags.insert(entry.flag)
        }
        self = flags
    }

    /// The Vulkan names of the bits set, in bit order; unknown bits as hex.
    public var names: [String] {
        var names = Self.named.filter { contains($0.flag) }.map(\.name)
        let known = Self.named.reduce(0) { $0 | $1.flag.rawValue }
        if rawValue & ~known != 0 { names.append("0x" + String(rawValue & ~known, radix: 16)) }
        return names
    }

    /// Names joined by `|`, or `NONE`.
    public var description: String { names.isEmpty ? "NONE" : names.joined(separator: "|") }
}

/// The properties of a memory heap (`VkMemoryHeapFlags`).
public struct MemoryHeapFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The raw `VkMemoryHeapFlags`.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `VK_MEMORY_HEAP_DEVICE_LOCAL_BIT`.
    public static let deviceLocal = MemoryHeapFlags(rawValue: 0x1)
    /// `VK_MEMORY_HEAP_MULTI_INSTANCE_BIT`.
    public static let multiInstance = MemoryHeapFlags(rawValue: 0x2)

    /// Each flag with its Vulkan name.
    public static let named: [(flag: MemoryHeapFlags, name: String)] = [
        (.deviceLocal, "DEVICE_LOCAL"), (.multiInstance, "MULTI_INSTANCE"),
    ]

    /// Builds flags from Vulkan names; nil if a name is unknown.
    public init?(names: [String]) {
        var flags: MemoryHeapFlags = []
        for name in names {
            guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
            flags.insert(entry.flag)
        }
        self = flags
    }

    /// The Vulkan names of the bits set.
    public var names: [String] { Self.named.filter { contains($0.flag) }.map(\.name) }

    /// Names joined by `|`, or `NONE`.
    public var description: String { names.isEmpty ? "NONE" : names.joined(separator: "|") }
}
