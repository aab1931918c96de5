/// Which kind of resource a create-info describes, for `CreateInfoError`'s messages.
public enum ResourceKind: String, Sendable, Hashable {
    /// A `VkBufferCreateInfo`.
    case buffer
    /// A `VkImageCreateInfo`.
    case image
}

/// Why a `VkBufferCreateInfo` or `VkImageCreateInfo` was refused before any Vulkan call
/// (`AllocationError.invalidCreateInfo`): the field, its value and the limit it broke.
///
/// Each case is a valid-usage rule of `vkCreateBuffer`/`vkCreateImage` (its VUID is in
/// the message) or a limit the device reports through `VkPhysicalDeviceLimits`,
/// `VkPhysicalDeviceMaintenance4Properties` or `vkGetPhysicalDeviceImageFormatProperties`.
/// Drivers are not required to check these and some crash or corrupt their heap when
/// they are broken (lavapipe with more mip levels than the extent has).
///
/// Payloads are raw numbers and small on purpose: every typed-throwing call reserves room
/// for the largest `AllocationError`.
public enum CreateInfoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `usage` is 0 (VUID-VkBufferCreateInfo-usage-requiredbitmask,
    /// VUID-VkImageCreateInfo-usage-requiredbitmask).
    case noUsage(ResourceKind)
    /// `usage` has bits no `VkBufferUsageFlagBits`/`VkImageUsageFlagBits` defines.
    case unknownUsage(bits: UInt32, ResourceKind)
    /// `flags` has bits no `VkBufferCreateFlagBits`/`VkImageCreateFlagBits` defines.
    case unknownFlags(bits: UInt32, ResourceKind)
    /// `flags` asks for sparse, protected or disjoint memory: the allocator binds one
    /// range of ordinary memory with `vkBindBufferMemory`/`vkBindImageMemory`, which such
    /// a resource forbids (VUID-vkBindBufferMemory-buffer-01030, VUID-vkBindImageMemory-image-01045,
    /// VUID-vkBindImageMemory-image-01608) or cannot use (protected memory is never allocated).
    case unsupportedFlags(bits: UInt32, ResourceKind)
    /// `size` exceeds `VkPhysicalDeviceMaintenance4Properties::maxBufferSize`
    /// (VUID-VkBufferCreateInfo-size-06409).
    case bufferTooLarge(size: UInt64, maxBufferSize: UInt64)
    /// `sharingMode` is neither `VK_SHARING_MODE_EXCLUSIVE` nor `VK_SHARING_MODE_CONCURRENT`.
    case unknownSharingMode(UInt32, ResourceKind)
    /// `VK_SHARING_MODE_CONCURRENT` with fewer than two queue family indices, or none
    /// given (VUID-VkBufferCreateInfo-sharingMode-00913/00914, VUID-VkImageCreateInfo-sharingMode-00941/00942).
    case concurrentSharingNeedsTwoFamilies(count: UInt32, ResourceKind)
    /// A queue family index is not below the device's queue family count
    /// (VUID-VkBufferCreateInfo-sharingMode-01419, VUID-VkImageCreateInfo-sharingMode-01420).
    case queueFamilyOutOfRange(index: UInt32, familyCount: UInt32, ResourceKind)
    /// A queue family index is listed twice (same VUIDs).
    case duplicateQueueFamily(index: UInt32, ResourceKind)
    /// `format` is `VK_FORMAT_UNDEFINED` (VUID-VkImageCreateInfo-pNext-01975).
    case undefinedFormat
    /// `format` is no `VkFormat` value this library knows (Vulkan headers 1.3.239).
    case unknownFormat(UInt32)
    /// `imageType` is not 1D, 2D or 3D.
    case unknownImageType(UInt32)
    /// `tiling` is not optimal, linear or DRM-format-modifier tiling.
    case unknownTiling(UInt32)
    /// `VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT` without the modifier structure in the
    /// `pNext` chain (VUID-VkImageCreateInfo-tiling-02261).
    case drmTilingWithoutModifier
    /// `initialLayout` is neither `UNDEFINED` nor `PREINITIALIZED`
    /// (VUID-VkImageCreateInfo-initialLayout-00993).
    case invalidInitialLayout(UInt32)
    /// `samples` is not one `VkSampleCountFlagBits` bit (1, 2, 4 … 64).
    case invalidSampleCount(UInt32)
    /// `samples` is not among the counts the device supports for this format, type,
    /// tiling, usage and flags (VUID-VkImageCreateInfo-samples-02258).
    case sampleCountUnsupported(samples: UInt32, supported: UInt32)
    /// More than one sample with something a multisampled image may not have: not 2D,
    /// cube-compatible, mipmapped or not optimal tiling (VUID-VkImageCreateInfo-samples-02257).
    case multisampleConflict(samples: UInt32, MultisampleConflict)
    /// The extent has more dimensions than the image type (a 1D image with height or
    /// depth above 1, a 2D image with depth above 1: VUID-VkImageCreateInfo-imageType-00956/00957).
    case extentExceedsType(imageType: UInt32, width: UInt32, height: UInt32, depth: UInt32)
    /// The extent exceeds `VkImageFormatProperties::maxExtent`
    /// (VUID-VkImageCreateInfo-extent-02252/02253/02254).
    case extentTooLarge(width: UInt32, height: UInt32, depth: UInt32,
                        maxWidth: UInt32, maxHeight: UInt32, maxDepth: UInt32)
    /// More mip levels than the extent has: floor(log2(largest side)) + 1
    /// (VUID-VkImageCreateInfo-mipLevels-00958).
    case tooManyMipLevelsForExtent(mipLevels: UInt32, maximum: UInt32)
    /// More mip levels than `VkImageFormatProperties::maxMipLevels`
    /// (VUID-VkImageCreateInfo-mipLevels-02255).
    case tooManyMipLevelsForFormat(mipLevels: UInt32, maximum: UInt32)
    /// More layers than `VkImageFormatProperties::maxArrayLayers`
    /// (VUID-VkImageCreateInfo-arrayLayers-02256).
    case tooManyArrayLayers(arrayLayers: UInt32, maximum: UInt32)
    /// A 3D image with more than one layer (VUID-VkImageCreateInfo-imageType-00961).
    case layersOn3DImage(arrayLayers: UInt32)
    /// `VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT` on an image that is not a square 2D image
    /// with at least 6 layers (VUID-VkImageCreateInfo-flags-00949/08865/08866).
    case cubeCompatibleMismatch(imageType: UInt32, width: UInt32, height: UInt32, arrayLayers: UInt32)
    /// `VK_IMAGE_CREATE_2D_ARRAY_COMPATIBLE_BIT` on an image that is not 3D
    /// (VUID-VkImageCreateInfo-flags-00950).
    case arrayCompatibleNeeds3D(imageType: UInt32)
    /// `BLOCK_TEXEL_VIEW_COMPATIBLE` on an image whose format is not block-compressed, or
    /// without `MUTABLE_FORMAT` (VUID-VkImageCreateInfo-flags-01572/01573).
    case blockTexelViewMismatch(format: UInt32, flags: UInt32)
    /// `VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT` without an attachment usage, or with a
    /// usage that is not an attachment (VUID-VkImageCreateInfo-usage-00963/00966).
    case transientUsageConflict(usage: UInt32)
    /// `vkGetPhysicalDeviceImageFormatProperties` says the device cannot create an image
    /// of this format, type, tiling, usage and flags (VUID-VkImageCreateInfo-imageCreateMaxMipLevels-02251).
    case formatUnsupported(format: UInt32, imageType: UInt32, tiling: UInt32, usage: UInt32, flags: UInt32)
    /// The image needs at least `bytes` (its texels alone), more than
    /// `VkImageFormatProperties::maxResourceSize`.
    case imageTooLarge(bytes: UInt64, maxResourceSize: UInt64)

    /// Why a multisampled image was refused (`multisampleConflict`).
    public enum MultisampleConflict: String, Sendable, Hashable {
        /// The image is not 2D.
        case notTwoDimensional = "the image is not 2D"
        /// The image is cube-compatible.
        case cubeCompatible = "the image is cube-compatible"
        /// The image has more than one mip level.
        case mipmapped = "the image has more than one mip level"
        /// The image does not have optimal tiling.
        case notOptimalTiling = "the image's tiling is not OPTIMAL"
    }

    /// The field, its value and the rule or limit, in words.
    public var description: String {
        switch self {
        case let .noUsage(kind):
            return "\(kind) usage is 0; name at least one usage (VUID-Vk\(kind.typeName)CreateInfo-usage-requiredbitmask)"
        case let .unknownUsage(bits, kind):
            return "\(kind) usage bits \(hex(bits)) are not defined by Vulkan; remove them"
        case let .unknownFlags(bits, kind):
            return "\(kind) flags bits \(hex(bits)) are not defined by Vulkan; remove them"
        case let .unsupportedFlags(bits, kind):
            return "\(kind) flags \(hex(bits)) (sparse, protected or disjoint) cannot be used: the allocator binds one "
                + "range of ordinary memory to the \(kind); create such a \(kind) and its memory yourself"
        case let .bufferTooLarge(size, maximum):
            return "buffer size \(size) exceeds this device's maxBufferSize \(maximum) (VUID-VkBufferCreateInfo-size-06409)"
        case let .unknownSharingMode(mode, kind):
            return "\(kind) sharingMode \(mode) is neither EXCLUSIVE (0) nor CONCURRENT (1)"
        case let .concurrentSharingNeedsTwoFamilies(count, kind):
            return "\(kind) sharingMode CONCURRENT needs at least 2 queue family indices; \(count) given "
                + "(use EXCLUSIVE for one family)"
        case let .queueFamilyOutOfRange(index, count, kind):
            return "\(kind) queue family index \(index) does not exist: the device has \(count) queue "
                + "famil\(count == 1 ? "y" : "ies") (0…\(Int(count) - 1))"
        case let .duplicateQueueFamily(index, kind):
            return "\(kind) queue family index \(index) is listed more than once; each must be unique"
        case .undefinedFormat:
            return "image format is VK_FORMAT_UNDEFINED; name the image's format (VUID-VkImageCreateInfo-pNext-01975)"
        case let .unknownFormat(format):
            return "image format \(format) is not a VkFormat value"
        case let .unknownImageType(type):
            return "imageType \(type) is not 1D (0), 2D (1) or 3D (2)"
        case let .unknownTiling(tiling):
            return "image tiling \(tiling) is not OPTIMAL (0), LINEAR (1) or DRM_FORMAT_MODIFIER_EXT (1000158000)"
        case .drmTilingWithoutModifier:
            return "image tiling DRM_FORMAT_MODIFIER_EXT needs a VkImageDrmFormatModifierListCreateInfoEXT or "
                + "…ExplicitCreateInfoEXT in pNext (VUID-VkImageCreateInfo-tiling-02261)"
        case let .invalidInitialLayout(layout):
            return "image initialLayout \(layout) is neither UNDEFINED (0) nor PREINITIALIZED (8) "
                + "(VUID-VkImageCreateInfo-initialLayout-00993)"
        case let .invalidSampleCount(samples):
            return "image samples \(samples) is not one of 1, 2, 4, 8, 16, 32, 64"
        case let .sampleCountUnsupported(samples, supported):
            return "image samples \(samples) is not supported for this format, type, tiling and usage; the device "
                + "supports \(sampleList(supported)) (VUID-VkImageCreateInfo-samples-02258)"
        case let .multisampleConflict(samples, conflict):
            return "image samples \(samples) needs a 2D, single-level, optimal-tiling, not cube-compatible image, "
                + "and \(conflict.rawValue) (VUID-VkImageCreateInfo-samples-02257)"
        case let .extentExceedsType(type, width, height, depth):
            return "image extent \(width)×\(height)×\(depth) has more dimensions than imageType \(typeName(type)) "
                + "(a 1D image has height and depth 1, a 2D image depth 1)"
        case let .extentTooLarge(width, height, depth, maxWidth, maxHeight, maxDepth):
            return "image extent \(width)×\(height)×\(depth) exceeds this device's maxExtent "
                + "\(maxWidth)×\(maxHeight)×\(maxDepth) for the format, type, tiling and usage"
        case let .tooManyMipLevelsForExtent(levels, maximum):
            return "image mipLevels \(levels) exceeds \(maximum), the most its extent has (floor(log2(largest side)) + 1; "
                + "VUID-VkImageCreateInfo-mipLevels-00958)"
        case let .tooManyMipLevelsForFormat(levels, maximum):
            return "image mipLevels \(levels) exceeds this device's maxMipLevels \(maximum) for the format, type, "
                + "tiling and usage"
        case let .tooManyArrayLayers(layers, maximum):
            return "image arrayLayers \(layers) exceeds this device's maxArrayLayers \(maximum) for the format, type, "
                + "tiling and usage"
        case let .layersOn3DImage(layers):
            return "a 3D image has exactly 1 array layer; arrayLayers is \(layers) (VUID-VkImageCreateInfo-imageType-00961)"
        case let .cubeCompatibleMismatch(type, width, height, layers):
            return "a CUBE_COMPATIBLE image is 2D, square and has at least 6 layers; this one is "
                + "\(typeName(type)), \(width)×\(height), \(layers) layer\(layers == 1 ? "" : "s")"
        case let .blockTexelViewMismatch(format, flags):
            return "image flags \(hex(flags)) have BLOCK_TEXEL_VIEW_COMPATIBLE, which needs MUTABLE_FORMAT and a "
                + "block-compressed format; this one is VkFormat \(format) (VUID-VkImageCreateInfo-flags-01572/01573)"
        case let .arrayCompatibleNeeds3D(type):
            return "a 2D_ARRAY_COMPATIBLE image is 3D; this one is \(typeName(type)) (VUID-VkImageCreateInfo-flags-00950)"
        case let .transientUsageConflict(usage):
            return "image usage \(hex(usage)) has TRANSIENT_ATTACHMENT, which goes with color, depth/stencil or input "
                + "attachment usage and nothing else (VUID-VkImageCreateInfo-usage-00963/00966)"
        case let .formatUnsupported(format, type, tiling, usage, flags):
            return "this device cannot create an image of format \(format), type \(typeName(type)), tiling \(tiling), "
                + "usage \(hex(usage)), flags \(hex(flags)) (vkGetPhysicalDeviceImageFormatProperties: "
                + "VK_ERROR_FORMAT_NOT_SUPPORTED)"
        case let .imageTooLarge(bytes, maximum):
            return "the image's texels alone take \(bytes) bytes, more than this device's maxResourceSize \(maximum) "
                + "for the format, type, tiling and usage"
        }
    }
}

extension ResourceKind {
    /// `Buffer` or `Image`, as in `VkBufferCreateInfo`.
    var typeName: String { self == .buffer ? "Buffer" : "Image" }
}

private func hex(_ bits: UInt32) -> String { "0x" + String(bits, radix: 16) }

private func typeName(_ type: UInt32) -> String {
    switch type {
    case 0: "1D"
    case 1: "2D"
    case 2: "3D"
    default: "\(type)"
    }
}

private func sampleList(_ counts: UInt32) -> String {
    let list = (0..<7).filter { counts & (1 << $0) != 0 }.map { String(1 << $0) }
    return list.isEmpty ? "none" : list.joined(separator: ", ")
}
