/// A call recording of the Vulkan Memory Allocator (VMA 2.x's "calls recording" CSV,
/// format 1,8): the device it was made on and every call, in order.
///
/// VMA dropped recording and its replay tool in 3.0, and its users miss them. This
/// reads such a file so that `Allocator.replay(_:)` can run the same resources through
/// this allocator, on any device, and `vkmem replay` can report what happened.
///
/// Thread safety: a value; use from any thread.
public struct VMARecording: Sendable, Hashable {
    /// The device the recording was made on, from its `Config` section.
    public struct RecordedDevice: Sendable, Hashable {
        /// `VkPhysicalDeviceProperties::deviceName`.
        public var name = ""
        /// `VkPhysicalDeviceProperties::vendorID`.
        public var vendorID: UInt32 = 0
        /// `VkPhysicalDeviceProperties::deviceID`.
        public var deviceID: UInt32 = 0
        /// `VkPhysicalDeviceType` as recorded (2: discrete GPU).
        public var deviceType: UInt32 = 0
        /// The heaps, types and limits recorded; nil when the section lacks them.
        public var memory: MemoryProperties?

        /// Whether the recorded device was a discrete GPU (`VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU`).
        public var isDiscrete: Bool { deviceType == 2 }
    }

    /// The `VmaAllocationCreateInfo` of a call, as recorded.
    public struct AllocationCreateInfo: Sendable, Hashable {
        /// `VmaAllocationCreateFlags`.
        public var flags: UInt32
        /// `VmaMemoryUsage` (VMA 2.x: 0 unknown, 1 GPU only, 2 CPU only, 3 CPU to GPU,
        /// 4 GPU to CPU, 5 CPU copy, 6 GPU lazily allocated).
        public var usage: UInt32
        /// `requiredFlags` (`VkMemoryPropertyFlags`).
        public var requiredFlags: UInt32
        /// `preferredFlags` (`VkMemoryPropertyFlags`).
        public var preferredFlags: UInt32
        /// `memoryTypeBits`; 0 means every type.
        public var memoryTypeBits: UInt32
        /// The `VmaPool` handle as printed; all zeros when none.
        public var pool: String

        /// `VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT`.
        public var wantsDedicatedMemory: Bool { flags & 0x1 != 0 }
        /// `VMA_ALLOCATION_CREATE_MAPPED_BIT`.
        public var wantsMapping: Bool { flags & 0x4 != 0 }
        /// `VMA_ALLOCATION_CREATE_USER_DATA_COPY_STRING_BIT`: the user data is a name.
        public var userDataIsString: Bool { flags & 0x20 != 0 }
        /// Whether a custom pool was named.
        public var usesPool: Bool { !VMARecording.isNull(pool) }

        /// The equivalent request here: VMA's usages as intents (GPU only → `.gpuOnly`,
        /// CPU only and CPU copy → `.staging`, CPU to GPU → `.dynamic`, GPU to CPU →
        /// `.readback`, GPU lazily allocated → a required `LAZILY_ALLOCATED` type) with
        /// the recorded required and preferred flags and type bits; nil for a usage
        /// VMA 2.x did not have.
        public var memoryRequest: MemoryRequest? {
            var request = MemoryRequest(required: MemoryPropertyFlags(rawValue: requiredFlags),
                                        preferred: MemoryPropertyFlags(rawValue: preferredFlags),
                                        memoryTypeBits: memoryTypeBits == 0 ? .max : memoryTypeBits)
            switch usage {
            case 0: break
            case 1: request.usage = .gpuOnly
            case 2, 5: request.usage = .staging
            case 3: request.usage = .dynamic
            case 4: request.usage = .readback
            case 6: request.required.insert(.lazilyAllocated)
            default: return nil
            }
            return request
        }
    }

    /// The `VkBufferCreateInfo` fields VMA recorded.
    public struct BufferParameters: Sendable, Hashable {
        /// `VkBufferCreateFlags`.
        public var flags: UInt32
        /// `size`.
        public var size: UInt64
        /// `VkBufferUsageFlags`.
        public var usage: UInt32
        /// `VkSharingMode` (0 exclusive, 1 concurrent).
        public var sharingMode: UInt32
    }

    /// The `VkImageCreateInfo` fields VMA recorded.
    public struct ImageParameters: Sendable, Hashable {
        /// `VkImageCreateFlags`.
        public var flags: UInt32
        /// `VkImageType`.
        public var imageType: UInt32
        /// `VkFormat`.
        public var format: UInt32
        /// `extent.width`, `height`, `depth`.
        public var width: UInt32, height: UInt32, depth: UInt32
        /// `mipLevels`.
        public var mipLevels: UInt32
        /// `arrayLayers`.
        public var arrayLayers: UInt32
        /// `VkSampleCountFlagBits`.
        public var samples: UInt32
        /// `VkImageTiling` (0 optimal, 1 linear).
        public var tiling: UInt32
        /// `VkImageUsageFlags`.
        public var usage: UInt32
        /// `VkSharingMode`.
        public var sharingMode: UInt32
        /// `VkImageLayout`.
        public var initialLayout: UInt32
    }

    /// The `VkMemoryRequirements` (and dedicated wishes) of a raw memory allocation.
    public struct MemoryParameters: Sendable, Hashable {
        /// `size`.
        public var size: UInt64
        /// `alignment`.
        public var alignment: UInt64
        /// `memoryTypeBits`.
        public var memoryTypeBits: UInt32
        /// `requiresDedicatedAllocation` (`vmaAllocateMemoryForBuffer`/`…Image` only).
        public var requiresDedicated: Bool
        /// `prefersDedicatedAllocation` (`vmaAllocateMemoryForBuffer`/`…Image` only).
        public var prefersDedicated: Bool
    }

    /// One recorded call.
    public enum Function: Sendable, Hashable {
        /// `vmaCreateAllocator`.
        case createAllocator
        /// `vmaDestroyAllocator`.
        case destroyAllocator
        /// `vmaCreateBuffer`: the buffer, its allocation's options, the allocation's
        /// handle as printed, and the user data.
        case createBuffer(BufferParameters, AllocationCreateInfo, handle: String, userData: String)
        /// `vmaCreateImage`.
        case createImage(ImageParameters, AllocationCreateInfo, handle: String, userData: String)
        /// `vmaAllocateMemory`, `vmaAllocateMemoryForBuffer` or `vmaAllocateMemoryForImage`
        /// (`function` says which).
        case allocateMemory(function: String, MemoryParameters, AllocationCreateInfo, handle: String, userData: String)
        /// `vmaDestroyBuffer`.
        case destroyBuffer(handle: String)
        /// `vmaDestroyImage`.
        case destroyImage(handle: String)
        /// `vmaFreeMemory`.
        case freeMemory(handle: String)
        /// `vmaSetAllocationUserData`.
        case setAllocationUserData(handle: String, userData: String)
        /// `vmaMapMemory`.
        case mapMemory(handle: String)
        /// `vmaUnmapMemory`.
        case unmapMemory(handle: String)
        /// Any other VMA function, kept by name with its parameters as printed.
        case other(name: String, parameters: [String])

        /// The VMA function's name.
        public var name: String {
            switch self {
            case .createAllocator: return "vmaCreateAllocator"
            case .destroyAllocator: return "vmaDestroyAllocator"
            case .createBuffer: return "vmaCreateBuffer"
            case .createImage: return "vmaCreateImage"
            case let .allocateMemory(function, _, _, _, _): return function
            case .destroyBuffer: return "vmaDestroyBuffer"
            case .destroyImage: return "vmaDestroyImage"
            case .freeMemory: return "vmaFreeMemory"
            case .setAllocationUserData: return "vmaSetAllocationUserData"
            case .mapMemory: return "vmaMapMemory"
            case .unmapMemory: return "vmaUnmapMemory"
            case let .other(name, _): return name
            }
        }
    }

    /// A call with where and when it was made.
    public struct Call: Sendable, Hashable {
        /// The line of the file (1-based), for messages.
        public var line: Int
        /// The recording thread's id.
        public var threadID: UInt32
        /// Seconds since the allocator was created.
        public var time: Double
        /// VMA's frame index.
        public var frameIndex: UInt32
        /// The call.
        public var function: Function
    }

    /// Whether a handle as printed is null: all zeros (Windows' `%p`), `(nil)` or `0x0`
    /// (glibc's), or empty.
    public static func isNull(_ handle: String) -> Bool {
        handle == "(nil)" || pointerValue(handle) == 0
    }

    /// A pointer as `%p` printed it (`000001D85B8B1A80` on Windows, `0x55d0c0a0` with
    /// glibc), or nil when it is not one; `(nil)` is 0.
    public static func pointerValue(_ text: String) -> UInt64? {
        if text == "(nil)" || text.isEmpty { return 0 }
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? String(text.dropFirst(2)) : text
        return UInt64(digits, radix: 16)
    }

    /// The format version of the file: `1,8` gives (1, 8).
    public var version: (major: Int, minor: Int) { (versionMajor, versionMinor) }
    var versionMajor: Int
    var versionMinor: Int
    /// The device the recording was made on.
    public var device: RecordedDevice
    /// Every call, in file order.
    public var calls: [Call]
}

/// Why a file is not a VMA call recording that can be read.
public enum VMARecordingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The first line is not `Vulkan Memory Allocator,Calls recording`.
    case notARecording(firstLine: String)
    /// A format version other than 1,8.
    case unsupportedVersion(String)
    /// A line that cannot be read as what it claims to be.
    case malformedLine(line: Int, reason: String)
    /// A line is longer than `VMARecording.maximumLineLength` bytes; refused as soon as
    /// the limit is crossed, without reading the rest of it.
    case lineTooLong(line: Int, limit: Int)
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file could not be created for a recording.
    case unwritable(path: String, reason: String)

    /// What went wrong, with the line number where there is one.
    public var description: String {
        switch self {
        case let .notARecording(firstLine):
            return "not a VMA call recording: the first line is '\(firstLine)', "
                + "expected 'Vulkan Memory Allocator,Calls recording'"
        case let .unsupportedVersion(version):
            return "recording format \(version) is not supported (1,8 is)"
        case let .malformedLine(line, reason):
            return "line \(line): \(reason)"
        case let .lineTooLong(line, limit):
            return "line \(line): longer than \(limit) bytes; a VMA recording's lines are far shorter, "
                + "so the file is not one or is damaged"
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .unwritable(path, reason):
            return "cannot write a recording to \(path): \(reason)"
        }
    }
}
