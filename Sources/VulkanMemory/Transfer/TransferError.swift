/// Why a `TransferQueue` call failed. Each case names the operation (`"upload to buffer"`,
/// `"download from image"`, …) and what about it was wrong.
///
/// After any of these nothing the call made is left behind: its staging buffer, command
/// buffer and fence are gone, and the destination is as the failure left it (unchanged
/// when the failure came before the copy was submitted).
public enum TransferError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing to copy: zero bytes, zero values, or a type of size 0.
    case emptyTransfer(operation: String)
    /// The byte range `offset..<offset+size` reaches past the buffer's `limit` bytes
    /// (`VkBufferCreateInfo::size`).
    case outOfRange(operation: String, offset: UInt64, size: UInt64, limit: UInt64)
    /// The mip level or array layers asked for are not in the image.
    case imageSubresourceOutOfRange(operation: String, mipLevel: UInt32, layers: Range<UInt32>,
                                    mipLevels: UInt32, arrayLayers: UInt32)
    /// The bytes given (or asked for) do not match the image region: `expected` is the
    /// region's texel count times the format's texel size.
    case sizeMismatch(operation: String, expected: UInt64, given: UInt64)
    /// The helper does not know the texel size of this `VkFormat` (block-compressed,
    /// combined depth/stencil, multi-planar and extension formats).
    case unsupportedFormat(operation: String, format: UInt32)
    /// An image may not be left in this `VkImageLayout` (`VK_IMAGE_LAYOUT_UNDEFINED` or
    /// `VK_IMAGE_LAYOUT_PREINITIALIZED` are never a transition's new layout).
    case invalidLayout(operation: String, layout: UInt32)
    /// The staging buffer could not be made or mapped, or a host-visible destination could
    /// not be mapped: the allocator's own error.
    case allocation(operation: String, AllocationError)
    /// A Vulkan call failed (`vkCreateCommandPool`, `vkQueueSubmit`, `vkWaitForFences`, …).
    case vulkan(operation: String, VulkanError)
    /// The allocator and the context (or queue) belong to different devices.
    case deviceMismatch(operation: String)
    /// The image cannot take this copy: `reason` names what it lacks (a transfer usage,
    /// a usage the layout asked for needs, one sample per texel).
    case imageNotTransferable(operation: String, reason: String)
    /// The queue family index is not one of the device's `count` families.
    case invalidQueueFamily(operation: String, index: UInt32, count: UInt32)

    /// What failed and why.
    public var description: String {
        switch self {
        case let .emptyTransfer(operation):
            return "\(operation): nothing to copy (0 bytes); a transfer needs at least 1 byte"
        case let .outOfRange(operation, offset, size, limit):
            return "\(operation): \(size) bytes at offset \(offset) reach past the end of the "
                + "\(limit)-byte buffer"
        case let .imageSubresourceOutOfRange(operation, mip, layers, mipLevels, arrayLayers):
            return "\(operation): mip level \(mip), layers \(layers.lowerBound)..<\(layers.upperBound) "
                + "are not in an image of \(mipLevels) mip level(s) and \(arrayLayers) layer(s)"
        case let .sizeMismatch(operation, expected, given):
            return "\(operation): the region holds \(expected) bytes but \(given) were given"
        case let .unsupportedFormat(operation, format):
            return "\(operation): VkFormat \(format) has no texel size known to the transfer helper "
                + "(compressed, depth/stencil and multi-planar formats are not supported)"
        case let .invalidLayout(operation, layout):
            return "\(operation): VkImageLayout \(layout) cannot be the layout an image is left in "
                + "(UNDEFINED and PREINITIALIZED are never a transition's new layout)"
        case let .allocation(operation, error):
            return "\(operation): \(error)"
        case let .vulkan(operation, error):
            return "\(operation): \(error)"
        case let .imageNotTransferable(operation, reason):
            return "\(operation): the image cannot take this copy: \(reason)"
        case let .invalidQueueFamily(operation, index, count):
            return "\(operation): queue family \(index) is not one of the device's \(count) queue families"
        case let .deviceMismatch(operation):
            return "\(operation): the allocator was made for another device than the context's; "
                + "use an allocator of the context's device"
        }
    }
}
