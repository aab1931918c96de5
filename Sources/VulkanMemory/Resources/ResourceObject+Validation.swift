import CVulkan

/// The one check of a buffer's or image's create-info, run before any Vulkan call by
/// every path that creates a resource (`ResourceObject.create`, so `createBuffer`,
/// `createImage`, their pool and bound-to forms, and each entry of a batch) and by
/// `Allocator.replay` before it decides to create one.
///
/// Why here and not left to the driver: `vkCreateBuffer`/`vkCreateImage` are not required
/// to check their input; lavapipe creates a 64×64 image with 100 mip levels and corrupts
/// its heap. The rules are Vulkan's valid usage (the VUIDs are named in `CreateInfoError`)
/// and the device's limits; each is an integer comparison but for the format's limits,
/// which `vkGetPhysicalDeviceImageFormatProperties` answers once per combination (cached
/// on the `VulkanDevice`).
///
/// What is not checked: the contents of a `pNext` chain (only DRM-modifier tiling looks
/// for its structure), features and extensions the caller's device may have enabled
/// (bits Vulkan defines are accepted; the validation layer still sees the create).
extension ResourceObject {
    /// `VkBufferUsageFlagBits` of the Vulkan 1.3.239 headers.
    static let definedBufferUsage: UInt32 = 0x05FB_FFFF
    /// `VkImageUsageFlagBits` of the Vulkan 1.3.239 headers.
    static let definedImageUsage: UInt32 = 0x003C_FFFF
    /// `VkBufferCreateFlagBits` of the Vulkan 1.3.239 headers.
    static let definedBufferFlags: UInt32 = 0x3F
    /// `VkImageCreateFlagBits` of the Vulkan 1.3.239 headers.
    static let definedImageFlags: UInt32 = 0x7_FFFF
    /// `SPARSE_BINDING`, `SPARSE_RESIDENCY`, `SPARSE_ALIASED`, `PROTECTED`: a buffer the
    /// allocator cannot bind its memory to.
    static let unbindableBufferFlags: UInt32 = 0x1 | 0x2 | 0x4 | 0x8
    /// The sparse bits, `DISJOINT` (each plane bound on its own) and `PROTECTED`.
    static let unbindableImageFlags: UInt32 = 0x1 | 0x2 | 0x4 | 0x200 | 0x800

    /// Checks a `VkBufferCreateInfo` against Vulkan's rules and the device's limits.
    /// - Throws: `.zeroSize` for a size of 0; `.invalidCreateInfo` naming the field, its
    ///   value and the limit otherwise.
    static func validate(_ info: VkBufferCreateInfo, on device: VulkanDevice) throws(AllocationError) {
        guard info.size > 0 else { throw .zeroSize }
        if info.flags & ~definedBufferFlags != 0 {
            throw .invalidCreateInfo(.unknownFlags(bits: info.flags & ~definedBufferFlags, .buffer))
        }
        if info.flags & unbindableBufferFlags != 0 {
            throw .invalidCreateInfo(.unsupportedFlags(bits: info.flags & unbindableBufferFlags, .buffer))
        }
        guard info.usage != 0 else { throw .invalidCreateInfo(.noUsage(.buffer)) }
        if info.usage & ~definedBufferUsage != 0 {
            throw .invalidCreateInfo(.unknownUsage(bits: info.usage & ~definedBufferUsage, .buffer))
        }
        if let maximum = device.resourceLimits.maxBufferSize, info.size > maximum {
            throw .invalidCreateInfo(.bufferTooLarge(size: info.size, maxBufferSize: maximum))
        }
        try validateSharing(info.sharingMode, info.queueFamilyIndexCount, info.pQueueFamilyIndices, .buffer, device)
    }

    /// Checks a `VkImageCreateInfo` against Vulkan's rules, the device's limits and what
    /// `vkGetPhysicalDeviceImageFormatProperties` allows for its format.
    /// - Throws: `.zeroSize` for an extent, level or layer count of 0; `.invalidCreateInfo`
    ///   naming the field, its value and the limit otherwise; `.vulkan` when the format
    ///   query fails.
    static func validate(_ info: VkImageCreateInfo, on device: VulkanDevice) throws(AllocationError) {
        let (width, height, depth) = (info.extent.width, info.extent.height, info.extent.depth)
        guard width > 0, height > 0, depth > 0, info.mipLevels > 0, info.arrayLayers > 0 else { throw .zeroSize }
        let flags = info.flags, usage = info.usage
        if flags & ~definedImageFlags != 0 {
            throw .invalidCreateInfo(.unknownFlags(bits: flags & ~definedImageFlags, .image))
        }
        if flags & unbindableImageFlags != 0 {
            throw .invalidCreateInfo(.unsupportedFlags(bits: flags & unbindableImageFlags, .image))
        }
        guard usage != 0 else { throw .invalidCreateInfo(.noUsage(.image)) }
        if usage & ~definedImageUsage != 0 {
            throw .invalidCreateInfo(.unknownUsage(bits: usage & ~definedImageUsage, .image))
        }
        let type = info.imageType.rawValue
        guard type <= VK_IMAGE_TYPE_3D.rawValue else { throw .invalidCreateInfo(.unknownImageType(type)) }
        let format = info.format.rawValue
        guard format != VK_FORMAT_UNDEFINED.rawValue else { throw .invalidCreateInfo(.undefinedFormat) }
        guard FormatTable.isDefined(format) else { throw .invalidCreateInfo(.unknownFormat(format)) }
        let tiling = info.tiling.rawValue
        let drmTiling = tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT.rawValue
        guard tiling <= VK_IMAGE_TILING_LINEAR.rawValue || drmTiling else {
            throw .invalidCreateInfo(.unknownTiling(tiling))
        }
        if drmTiling, !chainHasDrmModifier(info.pNext) { throw .invalidCreateInfo(.drmTilingWithoutModifier) }
        let layout = info.initialLayout.rawValue
        guard layout == VK_IMAGE_LAYOUT_UNDEFINED.rawValue || layout == VK_IMAGE_LAYOUT_PREINITIALIZED.rawValue else {
            throw .invalidCreateInfo(.invalidInitialLayout(layout))
        }
        try validateSharing(info.sharingMode, info.queueFamilyIndexCount, info.pQueueFamilyIndices, .image, device)
        let samples = info.samples.rawValue
        guard samples != 0, samples <= 64, samples & (samples - 1) == 0 else {
            throw .invalidCreateInfo(.invalidSampleCount(samples))
        }
        switch info.imageType {
        case VK_IMAGE_TYPE_1D where height != 1 || depth != 1, VK_IMAGE_TYPE_2D where depth != 1:
            throw .invalidCreateInfo(.extentExceedsType(imageType: type, width: width, height: height, depth: depth))
        case VK_IMAGE_TYPE_3D where info.arrayLayers != 1:
            throw .invalidCreateInfo(.layersOn3DImage(arrayLayers: info.arrayLayers))
        default: break
        }
        let levelsPossible = UInt32(32 - max(width, height, depth).leadingZeroBitCount)
        guard info.mipLevels <= levelsPossible else {
            throw .invalidCreateInfo(.tooManyMipLevelsForExtent(mipLevels: info.mipLevels, maximum: levelsPossible))
        }
        let cubeCompatible = flags & VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT.rawValue != 0
        if cubeCompatible, info.imageType != VK_IMAGE_TYPE_2D || width != height || info.arrayLayers < 6 {
            throw .invalidCreateInfo(.cubeCompatibleMismatch(imageType: type, width: width, height: height,
                                                             arrayLayers: info.arrayLayers))
        }
        if flags & VK_IMAGE_CREATE_2D_ARRAY_COMPATIBLE_BIT.rawValue != 0, info.imageType != VK_IMAGE_TYPE_3D {
            throw .invalidCreateInfo(.arrayCompatibleNeeds3D(imageType: type))
        }
        // Views of a block-compressed image's blocks as texels: the image's format must be
        // compressed (a format the table knows as 1×1 is not) and its views may change
        // format (VUID-VkImageCreateInfo-flags-01572/01573).
        if flags & VK_IMAGE_CREATE_BLOCK_TEXEL_VIEW_COMPATIBLE_BIT.rawValue != 0,
           flags & VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT.rawValue == 0
            || FormatTable.texelBlock(format).map({ $0.width == 1 && $0.height == 1 }) == true {
            throw .invalidCreateInfo(.blockTexelViewMismatch(format: format, flags: flags))
        }
        if samples > 1 {
            let conflict: CreateInfoError.MultisampleConflict? =
                info.imageType != VK_IMAGE_TYPE_2D ? .notTwoDimensional
                : cubeCompatible ? .cubeCompatible
                : info.mipLevels > 1 ? .mipmapped
                : info.tiling != VK_IMAGE_TILING_OPTIMAL ? .notOptimalTiling : nil
            if let conflict { throw .invalidCreateInfo(.multisampleConflict(samples: samples, conflict)) }
        }
        let transient = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT.rawValue
        if usage & transient != 0 {
            let attachments = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT.rawValue
                | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT.rawValue
            guard usage & attachments != 0, usage & ~(attachments | transient) == 0 else {
                throw .invalidCreateInfo(.transientUsageConflict(usage: usage))
            }
        }
        // vkGetPhysicalDeviceImageFormatProperties may not be asked about DRM-modifier
        // tiling (VUID-vkGetPhysicalDeviceImageFormatProperties-tiling-02248); the
        // modifier's own query needs the chain's modifier, which is the caller's.
        guard !drmTiling else { return }
        let limits: ImageFormatLimits?
        do throws(VulkanError) {
            limits = try device.imageFormatLimits(format: format, imageType: type, tiling: tiling, usage: usage,
                                                  flags: flags)
        } catch {
            throw .vulkan(error)
        }
        guard let limits else {
            throw .invalidCreateInfo(.formatUnsupported(format: format, imageType: type, tiling: tiling, usage: usage,
                                                        flags: flags))
        }
        guard width <= limits.maxWidth, height <= limits.maxHeight, depth <= limits.maxDepth else {
            throw .invalidCreateInfo(.extentTooLarge(width: width, height: height, depth: depth, maxWidth: limits.maxWidth,
                                                     maxHeight: limits.maxHeight, maxDepth: limits.maxDepth))
        }
        guard info.mipLevels <= limits.maxMipLevels else {
            throw .invalidCreateInfo(.tooManyMipLevelsForFormat(mipLevels: info.mipLevels, maximum: limits.maxMipLevels))
        }
        guard info.arrayLayers <= limits.maxArrayLayers else {
            throw .invalidCreateInfo(.tooManyArrayLayers(arrayLayers: info.arrayLayers, maximum: limits.maxArrayLayers))
        }
        guard limits.sampleCounts & samples != 0 else {
            throw .invalidCreateInfo(.sampleCountUnsupported(samples: samples, supported: limits.sampleCounts))
        }
        if let bytes = FormatTable.leastImageBytes(format: format, width: width, height: height, depth: depth,
                                                   mipLevels: info.mipLevels, arrayLayers: info.arrayLayers,
                                                   samples: samples),
           bytes > limits.maxResourceSize {
            throw .invalidCreateInfo(.imageTooLarge(bytes: bytes, maxResourceSize: limits.maxResourceSize))
        }
    }

    /// `VK_SHARING_MODE_EXCLUSIVE` (its indices are ignored, as Vulkan ignores them), or
    /// `CONCURRENT` with two or more distinct queue families the device has.
    private static func validateSharing(_ mode: VkSharingMode, _ count: UInt32, _ indices: UnsafePointer<UInt32>?,
                                        _ kind: ResourceKind, _ device: VulkanDevice) throws(AllocationError) {
        switch mode {
        case VK_SHARING_MODE_EXCLUSIVE:
            return
        case VK_SHARING_MODE_CONCURRENT:
            guard count >= 2, let indices else {
                throw .invalidCreateInfo(.concurrentSharingNeedsTwoFamilies(count: indices == nil ? 0 : count, kind))
            }
            let familyCount = device.resourceLimits.queueFamilyCount
            // Each index checked is distinct and below familyCount, so at most
            // familyCount + 1 are read before one fails, whatever count says.
            for position in 0..<Int(count) {
                let index = indices[position]
                guard index < familyCount else {
                    throw .invalidCreateInfo(.queueFamilyOutOfRange(index: index, familyCount: familyCount, kind))
                }
                for earlier in 0..<position where indices[earlier] == index {
                    throw .invalidCreateInfo(.duplicateQueueFamily(index: index, kind))
                }
            }
        default:
            throw .invalidCreateInfo(.unknownSharingMode(mode.rawValue, kind))
        }
    }

    /// Whether the `pNext` chain holds `VkImageDrmFormatModifierListCreateInfoEXT` or
    /// `VkImageDrmFormatModifierExplicitCreateInfoEXT`; only each structure's `sType` and
    /// `pNext` are read.
    private static func chainHasDrmModifier(_ chain: UnsafeRawPointer?) -> Bool {
        var next = chain
        var visited = 0
        // A cycle would be the caller's bug; stop rather than loop for ever.
        while let structure = next, visited < 64 {
            let base = structure.assumingMemoryBound(to: VkBaseInStructure.self).pointee
            if base.sType == VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_LIST_CREATE_INFO_EXT
                || base.sType == VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT {
                return true
            }
            next = base.pNext.map { UnsafeRawPointer($0) }
            visited += 1
        }
        return false
    }
}
