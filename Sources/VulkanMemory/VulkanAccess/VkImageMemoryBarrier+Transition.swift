import CVulkan

extension VkImageMemoryBarrier {
    /// A layout transition of `range` of `image` within one queue family
    /// (`VK_QUEUE_FAMILY_IGNORED` on both sides), for `vkCmdPipelineBarrier`: what the
    /// transfer helper and a moving defragmentation pass both record.
    static func transition(_ image: VkImage, _ range: VkImageSubresourceRange, _ oldLayout: VkImageLayout,
                           _ newLayout: VkImageLayout, _ sourceAccess: VkAccessFlags,
                           _ destinationAccess: VkAccessFlags) -> VkImageMemoryBarrier {
        var barrier = VkImageMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER
        barrier.srcAccessMask = sourceAccess
        barrier.dstAccessMask = destinationAccess
        barrier.oldLayout = oldLayout
        barrier.newLayout = newLayout
        barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
        barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
        barrier.image = image
        barrier.subresourceRange = range
        return barrier
    }
}
