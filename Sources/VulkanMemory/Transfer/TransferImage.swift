import CVulkan

/// An image as a copy needs to know it: the `VkImage` and the facts of its
/// `VkImageCreateInfo` that bound a copy (`format`, `extent`, `mipLevels`, `arrayLayers`).
///
/// A `BoundImage` carries only the handle and its memory, so the helper takes the rest
/// from the description or create info the image was made with.
public struct TransferImage: @unchecked Sendable {
    /// The `VkImage`.
    public var image: VkImage
    /// `VkImageCreateInfo::format`.
    public var format: VkFormat
    /// `VkImageCreateInfo::extent`: the extent of mip level 0.
    public var extent: VkExtent3D
    /// `VkImageCreateInfo::mipLevels`.
    public var mipLevels: UInt32
    /// `VkImageCreateInfo::arrayLayers`.
    public var arrayLayers: UInt32
    /// `VkImageCreateInfo::usage`: a transfer checks the image has the usage its copy and
    /// the layouts it is asked for need.
    public var usage: ImageUsage
    /// `VkImageCreateInfo::samples`: copies between buffers and images need 1.
    public var samples: UInt32

    /// An image the allocator created from `description`
    /// (`allocator.createImage(description.exclusiveCreateInfo, description.memory)`).
    public init(_ bound: BoundImage, _ description: ImageDescription) {
        self.init(image: bound.image, createInfo: description.exclusiveCreateInfo)
    }

    /// Any image, with the `VkImageCreateInfo` it was created with.
    public init(image: VkImage, createInfo: VkImageCreateInfo) {
        self.image = image
        self.format = createInfo.format
        self.extent = createInfo.extent
        self.mipLevels = createInfo.mipLevels
        self.arrayLayers = createInfo.arrayLayers
        self.usage = ImageUsage(rawValue: createInfo.usage)
        self.samples = createInfo.samples.rawValue
    }

    /// The extent of a mip level: each dimension halved per level, never below 1.
    public func extent(mipLevel: UInt32) -> VkExtent3D {
        func shrink(_ size: UInt32) -> UInt32 { max(size >> min(mipLevel, 31), 1) }
        return VkExtent3D(width: shrink(extent.width), height: shrink(extent.height), depth: shrink(extent.depth))
    }

    /// The bytes of one texel of `format` in a buffer copy, and the aspect a copy of it
    /// names; nil for formats the helper does not handle (block-compressed, combined
    /// depth/stencil, multi-planar, extension formats), whose buffer layout is not one
    /// texel after another.
    var texelLayout: (bytes: UInt64, aspect: VkImageAspectFlags)? {
        let color = VkImageAspectFlags(VK_IMAGE_ASPECT_COLOR_BIT.rawValue)
        let depth = VkImageAspectFlags(VK_IMAGE_ASPECT_DEPTH_BIT.rawValue)
        let stencil = VkImageAspectFlags(VK_IMAGE_ASPECT_STENCIL_BIT.rawValue)
        // The core formats are numbered in groups of equal texel size (vulkan_core.h).
        switch format.rawValue {
        case 1, 9...15: return (1, color)                // R4G4 pack8, R8
        case 2...8, 16...22, 70...76: return (2, color)  // 16-bit packs, R8G8, R16
        case 23...36: return (3, color)                  // R8G8B8, B8G8R8
        case 37...69, 77...83, 98...100, 122, 123: return (4, color) // RGBA8, 32-bit packs, R16G16, R32
        case 84...90: return (6, color)                  // R16G16B16
        case 91...97, 101...103, 110...112: return (8, color) // R16G16B16A16, R32G32, R64
        case 104...106: return (12, color)               // R32G32B32
        case 107...109, 113...115: return (16, color)    // R32G32B32A32, R64G64
        case 116...118: return (24, color)               // R64G64B64
        case 119...121: return (32, color)               // R64G64B64A64
        case 124: return (2, depth)                      // D16_UNORM
        case 125, 126: return (4, depth)                 // X8_D24_UNORM_PACK32, D32_SFLOAT
        case 127: return (1, stencil)                    // S8_UINT
        default: return nil
        }
    }
}
