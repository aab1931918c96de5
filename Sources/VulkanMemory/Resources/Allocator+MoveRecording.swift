import CVulkan

extension Allocator {
    /// Records a moving pass's copies into `commandBuffer`: one barrier before (all
    /// earlier commands and their writes, then the copies; old images to
    /// `TRANSFER_SRC_OPTIMAL`, new ones to `TRANSFER_DST_OPTIMAL`), the copies, and one
    /// barrier after (the copies' writes, then all later commands; new images to their
    /// image's layout). Two `vkCmdPipelineBarrier` calls whatever the number of moves.
    /// - Complexity: O(moves + mip levels of the moved images).
    func recordMoves(_ made: MadeReplacements, into commandBuffer: VkCommandBuffer) {
        guard !made.bufferCopies.isEmpty || !made.imageCopies.isEmpty else { return }
        let functions = device.commandFunctions
        let allCommands = VkPipelineStageFlags(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT.rawValue)
        let transfer = VkPipelineStageFlags(VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue)
        let memoryWrite = VkAccessFlags(VK_ACCESS_MEMORY_WRITE_BIT.rawValue)
        let memoryRead = VkAccessFlags(VK_ACCESS_MEMORY_READ_BIT.rawValue)
        let transferRead = VkAccessFlags(VK_ACCESS_TRANSFER_READ_BIT.rawValue)
        let transferWrite = VkAccessFlags(VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)

        // Before: the sources' last writes are visible to the copies, and the
        // destinations' earlier users (of memory freed before) are done with it.
        var before = VkMemoryBarrier()
        before.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        before.srcAccessMask = memoryWrite
        before.dstAccessMask = transferRead | transferWrite
        var imagesBefore: [VkImageMemoryBarrier] = []
        for copy in made.imageCopies {
            let range = copy.description.fullRange
            imagesBefore.append(imageBarrier(copy.old, range, copy.layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                             memoryWrite, transferRead))
            imagesBefore.append(imageBarrier(copy.new, range, VK_IMAGE_LAYOUT_UNDEFINED,
                                             VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0, transferWrite))
        }
        functions.cmdPipelineBarrier(commandBuffer, allCommands, transfer, 0, 1, &before, 0, nil,
                                     UInt32(imagesBefore.count), imagesBefore)

        for copy in made.bufferCopies {
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: copy.size)
            functions.cmdCopyBuffer(commandBuffer, copy.source, copy.destination, 1, &region)
        }
        for copy in made.imageCopies {
            let regions = copy.description.copyRegions
            functions.cmdCopyImage(commandBuffer, copy.old, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, copy.new,
                                   VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, UInt32(regions.count), regions)
        }

        // After: whatever runs next reads or writes the moved bytes.
        var after = VkMemoryBarrier()
        after.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        after.srcAccessMask = transferWrite
        after.dstAccessMask = memoryRead | memoryWrite
        let imagesAfter = made.imageCopies.map {
            imageBarrier($0.new, $0.description.fullRange, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, $0.layout,
                         transferWrite, memoryRead | memoryWrite)
        }
        functions.cmdPipelineBarrier(commandBuffer, transfer, allCommands, 0, 1, &after, 0, nil,
                                     UInt32(imagesAfter.count), imagesAfter)
    }

    /// A layout transition of a whole image within one queue family.
    private func imageBarrier(_ image: VkImage, _ range: VkImageSubresourceRange, _ from: VkImageLayout,
                              _ to: VkImageLayout, _ sourceAccess: VkAccessFlags,
                              _ destinationAccess: VkAccessFlags) -> VkImageMemoryBarrier {
        .transition(image, range, from, to, sourceAccess, destinationAccess)
    }
}

/// The aspects of a format a whole-image copy covers; nil for multi-planar (and other
/// YCbCr) formats, whose planes a pass leaves to you.
struct ImageAspects {
    let mask: VkImageAspectFlags

    init?(_ format: VkFormat) {
        let raw = format.rawValue
        if (1_000_156_000...1_000_156_033).contains(raw) || (1_000_330_000...1_000_330_003).contains(raw) { return nil }
        let depth = VK_IMAGE_ASPECT_DEPTH_BIT.rawValue
        let stencil = VK_IMAGE_ASPECT_STENCIL_BIT.rawValue
        switch format {
        case VK_FORMAT_D16_UNORM, VK_FORMAT_X8_D24_UNORM_PACK32, VK_FORMAT_D32_SFLOAT: mask = depth
        case VK_FORMAT_S8_UINT: mask = stencil
        case VK_FORMAT_D16_UNORM_S8_UINT, VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D32_SFLOAT_S8_UINT: mask = depth | stencil
        default: mask = VK_IMAGE_ASPECT_COLOR_BIT.rawValue
        }
    }
}

extension ImageDescription {
    /// Every mip level and layer of the image.
    var fullRange: VkImageSubresourceRange {
        VkImageSubresourceRange(aspectMask: ImageAspects(format)?.mask ?? 0, baseMipLevel: 0, levelCount: mipLevels,
                                baseArrayLayer: 0, layerCount: arrayLayers)
    }

    /// One region per mip level, all layers, the level's whole extent.
    var copyRegions: [VkImageCopy] {
        (0..<mipLevels).map { level in
            let layers = VkImageSubresourceLayers(aspectMask: ImageAspects(format)?.mask ?? 0, mipLevel: level,
                                                  baseArrayLayer: 0, layerCount: arrayLayers)
            let extent = VkExtent3D(width: max(extent.width >> level, 1), height: max(extent.height >> level, 1),
                                    depth: max(extent.depth >> level, 1))
            return VkImageCopy(srcSubresource: layers, srcOffset: VkOffset3D(), dstSubresource: layers,
                               dstOffset: VkOffset3D(), extent: extent)
        }
    }
}
