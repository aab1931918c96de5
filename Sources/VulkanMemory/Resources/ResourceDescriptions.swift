import CVulkan

/// How a buffer will be used (`VkBufferUsageFlags`).
public struct BufferUsage: OptionSet, Hashable, Sendable {
    /// The raw `VkBufferUsageFlags`.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `VK_BUFFER_USAGE_TRANSFER_SRC_BIT`.
    public static let transferSource = BufferUsage(rawValue: 0x1)
    /// `VK_BUFFER_USAGE_TRANSFER_DST_BIT`.
    public static let transferDestination = BufferUsage(rawValue: 0x2)
    /// `VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT`.
    public static let uniformTexelBuffer = BufferUsage(rawValue: 0x4)
    /// `VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT`.
    public static let storageTexelBuffer = BufferUsage(rawValue: 0x8)
    /// `VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT`.
    public static let uniformBuffer = BufferUsage(rawValue: 0x10)
    /// `VK_BUFFER_USAGE_STORAGE_BUFFER_BIT`.
    public static let storageBuffer = BufferUsage(rawValue: 0x20)
    /// `VK_BUFFER_USAGE_INDEX_BUFFER_BIT`.
    public static let indexBuffer = BufferUsage(rawValue: 0x40)
    /// `VK_BUFFER_USAGE_VERTEX_BUFFER_BIT`.
    public static let vertexBuffer = BufferUsage(rawValue: 0x80)
    /// `VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT`.
    public static let indirectBuffer = BufferUsage(rawValue: 0x100)
    /// `VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT`.
    public static let shaderDeviceAddress = BufferUsage(rawValue: 0x20000)
}

/// How an image will be used (`VkImageUsageFlags`).
public struct ImageUsage: OptionSet, Hashable, Sendable {
    /// The raw `VkImageUsageFlags`.
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `VK_IMAGE_USAGE_TRANSFER_SRC_BIT`.
    public static let transferSource = ImageUsage(rawValue: 0x1)
    /// `VK_IMAGE_USAGE_TRANSFER_DST_BIT`.
    public static let transferDestination = ImageUsage(rawValue: 0x2)
    /// `VK_IMAGE_USAGE_SAMPLED_BIT`.
    public static let sampled = ImageUsage(rawValue: 0x4)
    /// `VK_IMAGE_USAGE_STORAGE_BIT`.
    public static let storage = ImageUsage(rawValue: 0x8)
    /// `VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT`.
    public static let colorAttachment = ImageUsage(rawValue: 0x10)
    /// `VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT`.
    public static let depthStencilAttachment = ImageUsage(rawValue: 0x20)
    /// `VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT`.
    public static let transientAttachment = ImageUsage(rawValue: 0x40)
    /// `VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT`.
    public static let inputAttachment = ImageUsage(rawValue: 0x80)
}

/// A buffer to create: the fields of `VkBufferCreateInfo` plus its memory intent.
public struct BufferDescription: Sendable, Hashable {
    /// `size` in bytes.
    public var size: UInt64
    /// `usage`.
    public var usage: BufferUsage
    /// Queue families sharing the buffer (`VK_SHARING_MODE_CONCURRENT`); empty for
    /// `VK_SHARING_MODE_EXCLUSIVE`.
    public var sharedQueueFamilies: [UInt32]
    /// Which memory it needs; device-local by default, as in nobs-vkmem.
    public var memory: MemoryRequest
    /// A name for statistics and leak reports.
    public var name: String?

    /// Creates a description; device-local, exclusive, unnamed by default.
    public init(size: UInt64, usage: BufferUsage, sharedQueueFamilies: [UInt32] = [],
                memory: MemoryRequest = .usage(.gpuOnly), name: String? = nil) {
        self.size = size
        self.usage = usage
        self.sharedQueueFamilies = sharedQueueFamilies
        self.memory = memory
        self.name = name
    }
}

/// An image to create: the fields of `VkImageCreateInfo` plus its memory intent.
public struct ImageDescription: @unchecked Sendable, Hashable {
    /// `imageType`; 2D by default.
    public var type: VkImageType
    /// `format`; `VK_FORMAT_R8G8B8A8_UNORM` by default, as in nobs-vkmem.
    public var format: VkFormat
    /// `extent`.
    public var extent: VkExtent3D
    /// `mipLevels`.
    public var mipLevels: UInt32
    /// `arrayLayers`.
    public var arrayLayers: UInt32
    /// `samples`.
    public var samples: VkSampleCountFlagBits
    /// `tiling`; optimal by default.
    public var tiling: VkImageTiling
    /// `usage`.
    public var usage: ImageUsage
    /// `initialLayout`; undefined by default.
    public var initialLayout: VkImageLayout
    /// Queue families sharing the image; empty for exclusive.
    public var sharedQueueFamilies: [UInt32]
    /// Which memory it needs; device-local by default.
    public var memory: MemoryRequest
    /// A name for statistics and leak reports.
    public var name: String?

    /// Creates a 2D image description with the seed's defaults (RGBA8, optimal tiling,
    /// one mip level and layer, one sample, device-local).
    public init(width: UInt32, height: UInt32, depth: UInt32 = 1, usage: ImageUsage,
                format: VkFormat = VK_FORMAT_R8G8B8A8_UNORM, type: VkImageType = VK_IMAGE_TYPE_2D,
                mipLevels: UInt32 = 1, arrayLayers: UInt32 = 1, samples: VkSampleCountFlagBits = VK_SAMPLE_COUNT_1_BIT,
                tiling: VkImageTiling = VK_IMAGE_TILING_OPTIMAL, initialLayout: VkImageLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                sharedQueueFamilies: [UInt32] = [], memory: MemoryRequest = .usage(.gpuOnly), name: String? = nil) {
        self.type = type
        self.format = format
        self.extent = VkExtent3D(width: width, height: height, depth: depth)
        self.mipLevels = mipLevels
        self.arrayLayers = arrayLayers
        self.samples = samples
        self.tiling = tiling
        self.usage = usage
        self.initialLayout = initialLayout
        self.sharedQueueFamilies = sharedQueueFamilies
        self.memory = memory
        self.name = name
    }

    /// The `VkImageCreateInfo` for this description with exclusive sharing, for
    /// `Allocator.createImage` (`sharedQueueFamilies` is not applied: the array must
    /// outlive the call, which `ResourceBatch.bind` arranges).
    public var exclusiveCreateInfo: VkImageCreateInfo {
        var info = VkImageCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        info.imageType = type
        info.format = format
        info.extent = extent
        info.mipLevels = mipLevels
        info.arrayLayers = arrayLayers
        info.samples = samples
        info.tiling = tiling
        info.usage = VkImageUsageFlags(usage.rawValue)
        info.initialLayout = initialLayout
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// Field-wise equality (the C structs are not `Equatable`).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.type == rhs.type && lhs.format == rhs.format && lhs.extent.width == rhs.extent.width
            && lhs.extent.height == rhs.extent.height && lhs.extent.depth == rhs.extent.depth
            && lhs.mipLevels == rhs.mipLevels && lhs.arrayLayers == rhs.arrayLayers && lhs.samples == rhs.samples
            && lhs.tiling == rhs.tiling && lhs.usage == rhs.usage && lhs.initialLayout == rhs.initialLayout
            && lhs.sharedQueueFamilies == rhs.sharedQueueFamilies && lhs.memory == rhs.memory && lhs.name == rhs.name
    }

    /// Hashes the fields `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(format.rawValue)
        hasher.combine(extent.width)
        hasher.combine(extent.height)
        hasher.combine(extent.depth)
        hasher.combine(usage)
        hasher.combine(name)
    }
}
