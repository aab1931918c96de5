extension VulkanDevice {
    /// The offset alignment a slice of a buffer with `usage` needs for its descriptors:
    /// the largest of `minUniformBufferOffsetAlignment` (uniform buffers),
    /// `minStorageBufferOffsetAlignment` (storage buffers) and
    /// `minTexelBufferOffsetAlignment` (texel buffers) that apply. All are powers of two
    /// (Vulkan says so), so the largest is also their least common multiple.
    func sliceAlignment(for usage: BufferUsage) -> UInt64 {
        var alignment: UInt64 = 1
        if usage.contains(.uniformBuffer) { alignment = max(alignment, rawLimits.minUniformBufferOffsetAlignment) }
        if usage.contains(.storageBuffer) { alignment = max(alignment, rawLimits.minStorageBufferOffsetAlignment) }
        if !usage.isDisjoint(with: [.uniformTexelBuffer, .storageTexelBuffer]) {
            alignment = max(alignment, rawLimits.minTexelBufferOffsetAlignment)
        }
        return alignment
    }
}

/// Checks a slice request and gives the alignment it is placed with: `requested` (0 read
/// as 1) raised to `minimum`.
@inline(__always)
func checkedSliceAlignment(size: UInt64, requested: UInt64, minimum: UInt64) throws(BufferArenaError) -> UInt64 {
    guard size > 0 else { throw .zeroSize }
    let requested = max(requested, 1)
    guard requested & (requested - 1) == 0 else { throw .alignmentNotPowerOfTwo(requested) }
    let alignment = max(requested, minimum)
    guard size <= UInt64.max - (alignment - 1) else { throw .sizeOverflow(size: size, alignment: alignment) }
    return alignment
}

/// `value` rounded up to a multiple of `granule` (a power of two), or nil on overflow.
@inline(__always)
func roundedUp(_ value: UInt64, to granule: UInt64) -> UInt64? {
    let (sum, overflow) = value.addingReportingOverflow(granule - 1)
    return overflow ? nil : sum & ~(granule - 1)
}
