import CVulkan

/// A range of an allocation to flush or invalidate: `offset` bytes in, `size` bytes long
/// (nil: to the allocation's end).
public struct AllocationRange: Sendable, Hashable {
    /// The allocation.
    public var allocation: Allocation
    /// Where the range starts, from the allocation's first byte.
    public var offset: UInt64
    /// The range's length; nil means up to the allocation's end.
    public var size: UInt64?

    /// Creates a range; by default the whole allocation.
    public init(_ allocation: Allocation, offset: UInt64 = 0, size: UInt64? = nil) {
        self.allocation = allocation
        self.offset = offset
        self.size = size
    }
}

extension Allocator {
    /// Makes host writes to many allocations visible to the device with one
    /// `vkFlushMappedMemoryRanges` call (VMA's `vmaFlushAllocations`).
    ///
    /// Ranges on `HOST_COHERENT` memory need nothing and are skipped; the rest are widened
    /// to `nonCoherentAtomSize` and clamped to their memory, as Vulkan requires (an
    /// allocation on non-coherent memory owns whole atoms, so no neighbour is touched).
    /// Every range is checked before the call, so a bad one changes nothing.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for an allocation that is not live
    ///   here, `.memory(.notHostVisible)` for one that cannot be mapped,
    ///   `.memory(.rangeOutOfBounds)` for a range past its allocation, `.vulkan` when the
    ///   call fails.
    /// - Complexity: O(ranges), one Vulkan call.
    public func flush(_ ranges: [AllocationRange]) throws(AllocationError) {
        try synchronize(ranges, flush: true)
    }

    /// Makes device writes to many allocations visible to the host with one
    /// `vkInvalidateMappedMemoryRanges` call (VMA's `vmaInvalidateAllocations`); ranges
    /// and errors as for ``flush(_:)``.
    /// - Complexity: O(ranges), one Vulkan call.
    public func invalidate(_ ranges: [AllocationRange]) throws(AllocationError) {
        try synchronize(ranges, flush: false)
    }

    private func synchronize(_ ranges: [AllocationRange], flush: Bool) throws(AllocationError) {
        // Every range is checked before any allocation is mapped: a bad one maps nothing.
        for range in ranges {
            let limit = range.allocation.size
            let size = range.size ?? (limit >= range.offset ? limit - range.offset : 0)
            guard range.offset <= limit, size <= limit - range.offset else {
                throw .memory(.rangeOutOfBounds(offset: range.offset, size: size, limit: limit))
            }
        }
        var mapped: [VkMappedMemoryRange] = []
        mapped.reserveCapacity(ranges.count)
        for range in ranges {
            let view = try mapAllocation(range.allocation)
            let size = range.size ?? (view.size >= range.offset ? view.size - range.offset : 0)
            guard range.offset <= view.size, size <= view.size - range.offset else {
                throw .memory(.rangeOutOfBounds(offset: range.offset, size: size, limit: view.size))
            }
            let memory = view.memory
            guard !memory.flags.contains(.hostCoherent), size > 0 else { continue }
            let aligned = DeviceMemory.atomAlignedRange(offset: view.offset + range.offset, size: size,
                                                        atom: device.rawLimits.nonCoherentAtomSize,
                                                        memorySize: memory.size)
            var entry = VkMappedMemoryRange()
            entry.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE
            entry.memory = memory.handle
            entry.offset = aligned.offset
            entry.size = aligned.size
            mapped.append(entry)
        }
        guard !mapped.isEmpty else { return }
        let functions = device.deviceFunctions
        let result = mapped.withUnsafeBufferPointer { buffer in
            VulkanResult(flush
                ? functions.flushMappedMemoryRanges(device.device, UInt32(buffer.count), buffer.baseAddress)
                : functions.invalidateMappedMemoryRanges(device.device, UInt32(buffer.count), buffer.baseAddress))
        }
        guard result.isSuccess else {
            throw .vulkan(.callFailed(function: flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges",
                                      result: result))
        }
    }
}
