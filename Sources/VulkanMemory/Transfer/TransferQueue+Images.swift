import CVulkan

/// Uploads into and downloads from images, always through a staging buffer
/// (`vkCmdCopyBufferToImage`, `vkCmdCopyImageToBuffer`), with the layout transitions the
/// caller states.
///
/// A copy covers one whole mip level of a range of array layers; its bytes are tightly
/// packed texels, row after row, slice after slice, layer after layer
/// (`bufferRowLength` and `bufferImageHeight` 0).
extension TransferQueue {
    /// Copies texels into a mip level of an image and leaves the image in `finalLayout`.
    ///
    /// The image goes from `currentLayout` to `VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL` for
    /// the copy, then to `finalLayout` (such as `VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL`
    /// for a texture); `VK_IMAGE_LAYOUT_UNDEFINED` as the current layout discards what
    /// the layers held, which a full upload overwrites anyway.
    ///
    /// - Parameters:
    ///   - bytes: exactly the region's size, `byteCount(of:mipLevel:layers:)`.
    ///   - image: the image and the facts a copy needs.
    ///   - mipLevel: the mip level to fill; 0 by default.
    ///   - layers: the array layers; all of them by default.
    ///   - currentLayout: the layout the image is in now.
    ///   - finalLayout: the layout to leave it in.
    /// - Throws: `.emptyTransfer`, `.sizeMismatch`, `.imageSubresourceOutOfRange`,
    ///   `.unsupportedFormat`, `.invalidLayout` before anything is recorded;
    ///   `.allocation` / `.vulkan` when the staging buffer or a call fails. Nothing is
    ///   left behind.
    public func upload(_ bytes: UnsafeRawBufferPointer, to image: TransferImage, mipLevel: UInt32 = 0,
                       layers: Range<UInt32>? = nil, from currentLayout: VkImageLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                       leaving finalLayout: VkImageLayout) throws(TransferError) {
        let operation = "upload to image"
        guard bytes.count > 0 else { throw .emptyTransfer(operation: operation) }
        let region = try imageRegion(operation, image, mipLevel, layers)
        guard UInt64(bytes.count) == region.bytes else {
            throw .sizeMismatch(operation: operation, expected: region.bytes, given: UInt64(bytes.count))
        }
        try checkFinalLayout(operation, finalLayout)
        try checkTransferable(operation, image, upload: true, layouts: [currentLayout, finalLayout])
        try withStagingBuffer(operation, size: region.bytes, upload: true) { (staging) throws(TransferError) in
            do throws(AllocationError) { try allocator.copyMemory(bytes, to: staging.allocation) } catch {
                throw .allocation(operation: operation, error)
            }
            try oneTimeSubmit(operation) { commandBuffer in
                let transferLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL
                imageBarrier(commandBuffer, image.image, region.range, currentLayout, transferLayout,
                             from: Self.allCommands, Self.memoryWrite, to: Self.transferStage, Self.transferWrite)
                var copy = region.copy
                allocator.device.commandFunctions.cmdCopyBufferToImage(
                    commandBuffer, staging.buffer, image.image, transferLayout, 1, &copy)
                imageBarrier(commandBuffer, image.image, region.range, transferLayout, finalLayout,
                             from: Self.transferStage, Self.transferWrite,
                             to: Self.allCommands, Self.memoryRead | Self.memoryWrite)
            }
        }
    }

    /// Copies values into a mip level of an image, as `upload(_:to:mipLevel:layers:from:leaving:)`
    /// copies bytes: `values.count * MemoryLayout<T>.stride` must be the region's size
    /// (one `UInt32` per `VK_FORMAT_R8G8B8A8_UNORM` texel, for instance).
    public func upload<T: BitwiseCopyable>(_ values: [T], to image: TransferImage, mipLevel: UInt32 = 0,
                                           layers: Range<UInt32>? = nil,
                                           from currentLayout: VkImageLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                                           leaving finalLayout: VkImageLayout) throws(TransferError) {
        var failure: TransferError?
        values.withUnsafeBytes { bytes in
            do throws(TransferError) {
                try upload(bytes, to: image, mipLevel: mipLevel, layers: layers, from: currentLayout,
                           leaving: finalLayout)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Copies a mip level of an image to the host. The image goes from `currentLayout`
    /// to `VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL` for the copy and is then left in
    /// `finalLayout`, by default `currentLayout` again.
    ///
    /// - Parameters:
    ///   - image: the image and the facts a copy needs.
    ///   - mipLevel: the mip level to read; 0 by default.
    ///   - layers: the array layers; all of them by default.
    ///   - currentLayout: the layout the image is in now.
    ///   - finalLayout: the layout to leave it in; nil keeps `currentLayout`.
    ///   - destination: exactly the region's size, `byteCount(of:mipLevel:layers:)`.
    /// - Throws: as `upload(_:to:mipLevel:layers:from:leaving:)`; `.invalidLayout` also
    ///   when `finalLayout` is left to default and `currentLayout` is
    ///   `VK_IMAGE_LAYOUT_UNDEFINED`. `destination` is untouched then.
    public func download(from image: TransferImage, mipLevel: UInt32 = 0, layers: Range<UInt32>? = nil,
                         in currentLayout: VkImageLayout, leaving finalLayout: VkImageLayout? = nil,
                         into destination: UnsafeMutableRawBufferPointer) throws(TransferError) {
        let operation = "download from image"
        guard destination.count > 0 else { throw .emptyTransfer(operation: operation) }
        let region = try imageRegion(operation, image, mipLevel, layers)
        guard UInt64(destination.count) == region.bytes else {
            throw .sizeMismatch(operation: operation, expected: region.bytes, given: UInt64(destination.count))
        }
        try download(operation, image, region, in: currentLayout, leaving: finalLayout) { (staging) throws(AllocationError) in
            try allocator.copyMemory(from: staging, into: destination)
        }
    }

    /// Reads a mip level of an image as values, as
    /// `download(from:mipLevel:layers:in:leaving:into:)` reads bytes.
    /// - Throws: `.sizeMismatch` when the region's size is not a whole number of `T`s,
    ///   else as `download(from:mipLevel:layers:in:leaving:into:)`.
    public func download<T: BitwiseCopyable>(_ type: T.Type, from image: TransferImage, mipLevel: UInt32 = 0,
                                             layers: Range<UInt32>? = nil, in currentLayout: VkImageLayout,
                                             leaving finalLayout: VkImageLayout? = nil) throws(TransferError) -> [T] {
        let operation = "download from image"
        let region = try imageRegion(operation, image, mipLevel, layers)
        let stride = UInt64(MemoryLayout<T>.stride)
        guard stride > 0 else { throw .emptyTransfer(operation: operation) }
        guard region.bytes % stride == 0 else {
            throw .sizeMismatch(operation: operation, expected: region.bytes, given: region.bytes / stride * stride)
        }
        // The values' array is made only once the staging buffer holds the region: a region
        // described larger than any heap fails there, with the allocator's error, instead
        // of asking the host for its bytes first.
        var values: [T] = []
        try download(operation, image, region, in: currentLayout, leaving: finalLayout) { (staging) throws(AllocationError) in
            values = try allocator.copyMemory(from: staging, as: T.self, count: Int(region.bytes / stride))
        }
        return values
    }

    /// Copies a region of an image into a staging buffer and hands its memory to `deliver`.
    private func download(_ operation: String, _ image: TransferImage, _ region: ImageRegion,
                          in currentLayout: VkImageLayout, leaving finalLayout: VkImageLayout?,
                          deliver: (Allocation) throws(AllocationError) -> Void) throws(TransferError) {
        let finalLayout = finalLayout ?? currentLayout
        try checkFinalLayout(operation, finalLayout)
        try checkTransferable(operation, image, upload: false, layouts: [currentLayout, finalLayout])
        try withStagingBuffer(operation, size: region.bytes, upload: false) { (staging) throws(TransferError) in
            try oneTimeSubmit(operation) { commandBuffer in
                let transferLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
                imageBarrier(commandBuffer, image.image, region.range, currentLayout, transferLayout,
                             from: Self.allCommands, Self.memoryWrite, to: Self.transferStage, Self.transferRead)
                var copy = region.copy
                allocator.device.commandFunctions.cmdCopyImageToBuffer(
                    commandBuffer, image.image, transferLayout, staging.buffer, 1, &copy)
                imageBarrier(commandBuffer, image.image, region.range, transferLayout, finalLayout,
                             from: Self.transferStage, 0, to: Self.allCommands, Self.memoryRead | Self.memoryWrite)
                memoryBarrier(commandBuffer, from: Self.transferStage, Self.transferWrite, to: Self.hostStage, Self.hostRead)
            }
            do throws(AllocationError) { try deliver(staging.allocation) } catch {
                throw .allocation(operation: operation, error)
            }
        }
    }

    /// The bytes of a mip level's layers as a copy packs them: texel size times texels.
    ///
    /// - Throws: `.imageSubresourceOutOfRange`, `.unsupportedFormat`, or `.emptyTransfer`
    ///   for an empty layer range.
    public func byteCount(of image: TransferImage, mipLevel: UInt32 = 0,
                          layers: Range<UInt32>? = nil) throws(TransferError) -> UInt64 {
        try imageRegion("size of image region", image, mipLevel, layers).bytes
    }

    /// What one copy of a mip level's layers touches.
    private struct ImageRegion {
        var range: VkImageSubresourceRange
        var copy: VkBufferImageCopy
        var bytes: UInt64
    }

    private func imageRegion(_ operation: String, _ image: TransferImage, _ mipLevel: UInt32,
                             _ layers: Range<UInt32>?) throws(TransferError) -> ImageRegion {
        let layers = layers ?? 0..<image.arrayLayers
        guard !layers.isEmpty else { throw .emptyTransfer(operation: operation) }
        guard mipLevel < image.mipLevels, layers.upperBound <= image.arrayLayers else {
            throw .imageSubresourceOutOfRange(operation: operation, mipLevel: mipLevel, layers: layers,
                                              mipLevels: image.mipLevels, arrayLayers: image.arrayLayers)
        }
        guard let texel = image.texelLayout else {
            throw .unsupportedFormat(operation: operation, format: UInt32(image.format.rawValue))
        }
        let extent = image.extent(mipLevel: mipLevel)
        // At most 2^32 per dimension and layer count and 32 bytes a texel: 2^133 overflows,
        // so the product is checked.
        var bytes = texel.bytes
        for factor in [extent.width, extent.height, extent.depth, UInt32(layers.count)] {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: UInt64(factor))
            guard !overflow else {
                throw .sizeMismatch(operation: operation, expected: .max, given: 0)
            }
            bytes = product
        }
        let range = VkImageSubresourceRange(aspectMask: texel.aspect, baseMipLevel: mipLevel, levelCount: 1,
                                            baseArrayLayer: layers.lowerBound, layerCount: UInt32(layers.count))
        var copy = VkBufferImageCopy()
        copy.imageSubresource = VkImageSubresourceLayers(aspectMask: texel.aspect, mipLevel: mipLevel,
                                                         baseArrayLayer: layers.lowerBound,
                                                         layerCount: UInt32(layers.count))
        copy.imageExtent = extent
        return ImageRegion(range: range, copy: copy, bytes: bytes)
    }

    /// What a copy to or from `image` needs of it, checked before any command is recorded:
    /// one sample per texel, the transfer usage of the copy's direction, and a usage that
    /// allows each layout the image is said to be in or asked to be left in (the barriers
    /// name them). That the image is not destroyed is the caller's to ensure: it may be
    /// another allocator's.
    private func checkTransferable(_ operation: String, _ image: TransferImage, upload: Bool,
                                   layouts: [VkImageLayout]) throws(TransferError) {
        guard image.samples == 1 else {
            throw .imageNotTransferable(operation: operation,
                                        reason: "it has \(image.samples) samples per texel; copies need 1")
        }
        let needed: ImageUsage = upload ? .transferDestination : .transferSource
        guard image.usage.contains(needed) else {
            throw .imageNotTransferable(operation: operation, reason: "its usage lacks \(upload ? "TRANSFER_DST" : "TRANSFER_SRC")")
        }
        for layout in layouts {
            let allowing: ImageUsage
            switch layout {
            case VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_PREINITIALIZED, VK_IMAGE_LAYOUT_GENERAL: continue
            case VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL: allowing = .transferSource
            case VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL: allowing = .transferDestination
            case VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL: allowing = [.sampled, .inputAttachment]
            case VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL: allowing = .colorAttachment
            case VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL,
                 VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_STENCIL_ATTACHMENT_OPTIMAL:
                allowing = .depthStencilAttachment
            case VK_IMAGE_LAYOUT_DEPTH_READ_ONLY_OPTIMAL, VK_IMAGE_LAYOUT_STENCIL_READ_ONLY_OPTIMAL,
                 VK_IMAGE_LAYOUT_DEPTH_READ_ONLY_STENCIL_ATTACHMENT_OPTIMAL,
                 VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_STENCIL_READ_ONLY_OPTIMAL:
                // A depth or shadow map that is only sampled may be read in these.
                allowing = [.depthStencilAttachment, .sampled, .inputAttachment]
            default:
                // Core values past these are not layouts; extensions' values (from
                // 1,000,000,000 on: presenting, shared present, feedback loops, video…)
                // are left to the driver, as are READ_ONLY/ATTACHMENT_OPTIMAL.
                if layout.rawValue < 1_000_000_000, layout.rawValue > VK_IMAGE_LAYOUT_PREINITIALIZED.rawValue {
                    throw .invalidLayout(operation: operation, layout: UInt32(layout.rawValue))
                }
                continue
            }
            guard !image.usage.isDisjoint(with: allowing) else {
                throw .imageNotTransferable(operation: operation,
                                            reason: "VkImageLayout \(layout.rawValue) needs a usage the image lacks")
            }
        }
    }

    private func checkFinalLayout(_ operation: String, _ layout: VkImageLayout) throws(TransferError) {
        if layout == VK_IMAGE_LAYOUT_UNDEFINED || layout == VK_IMAGE_LAYOUT_PREINITIALIZED {
            throw .invalidLayout(operation: operation, layout: UInt32(layout.rawValue))
        }
    }
}
