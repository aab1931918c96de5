import CVulkan

extension DeviceMemory {
    /// Maps a range of the memory (`vkMapMemory`) and returns a bounds-checked view of it.
    ///
    /// The whole object is mapped on the first call and stays mapped until as many
    /// `unmap()` calls as `map` calls have been made, because Vulkan forbids a second
    /// `vkMapMemory` on mapped memory.
    ///
    /// The view lasts while the mapping does: after the `unmap()` that ends it, or after
    /// `free()`, the view's methods throw ``MemoryError/viewEnded``.
    /// - Parameters:
    ///   - offset: where the view starts, in bytes from the start of the memory.
    ///   - size: the view's length; nil means up to the end.
    /// - Throws: `MemoryError.notHostVisible`, `.rangeOutOfBounds`, `.zeroSize`,
    ///   `.alreadyFreed`, or `.vulkan` when `vkMapMemory` fails.
    public func map(offset: UInt64 = 0, size: UInt64? = nil) throws(MemoryError) -> MappedMemory {
        guard flags.contains(.hostVisible) else {
            throw .notHostVisible(typeIndex: memoryTypeIndex, flags: flags)
        }
        let length = try checkedRange(offset: offset, size: size)
        let (base, lifetime) = try state.withLock {
            (state: inout MapState) throws(MemoryError) -> (UnsafeMutableRawPointer, ViewLifetime) in
            let mapping = try mapping(&state)
            state.mapCount += 1
            return mapping
        }
        return MappedMemory(memory: self, lifetime: lifetime, baseAddress: base + Int(offset), offset: offset,
                            size: length)
    }

    /// A view of `offset..<offset + size` through the current mapping, made (and counted
    /// once, for the memory's whole life) when there is none: for memory an allocator owns,
    /// which stays mapped until it is freed.
    func persistentView(offset: UInt64, size: UInt64) throws(MemoryError) -> MappedMemory {
        guard flags.contains(.hostVisible) else {
            throw .notHostVisible(typeIndex: memoryTypeIndex, flags: flags)
        }
        let length = try checkedRange(offset: offset, size: size)
        let (base, lifetime) = try state.withLock {
            (state: inout MapState) throws(MemoryError) -> (UnsafeMutableRawPointer, ViewLifetime) in
            // Counted once the mapping exists: a failed vkMapMemory counts nothing.
            let wasMapped = state.pointer != nil
            let made = try mapping(&state)
            if !wasMapped { state.mapCount += 1 }
            return made
        }
        return MappedMemory(memory: self, lifetime: lifetime, baseAddress: base + Int(offset), offset: offset,
                            size: length)
    }

    /// The current mapping, mapped now (`vkMapMemory` of the whole object) when there is
    /// none; called under the map lock.
    private func mapping(_ state: inout MapState) throws(MemoryError) -> (UnsafeMutableRawPointer, ViewLifetime) {
        if state.freed { throw .alreadyFreed }
        if let pointer = state.pointer, let lifetime = state.lifetime { return (pointer, lifetime) }
        var pointer: UnsafeMutableRawPointer?
        let code = VulkanResult(device.deviceFunctions.mapMemory(
            device.device, handle, 0, VK_WHOLE_SIZE, 0, &pointer))
        guard code.isSuccess, let pointer else {
            throw .vulkan(.callFailed(function: "vkMapMemory", result: code))
        }
        let lifetime = ViewLifetime()
        state.pointer = pointer
        state.lifetime = lifetime
        return (pointer, lifetime)
    }

    /// Ends one `map()` (`vkUnmapMemory` when it was the last).
    ///
    /// - Throws: `MemoryError.notMapped` when there are more unmaps than maps,
    ///   `.alreadyFreed` after `free()`.
    public func unmap() throws(MemoryError) {
        let error: MemoryError? = state.withLock { state in
            if state.freed { return .alreadyFreed }
            guard state.mapCount > 0 else { return .notMapped }
            state.mapCount -= 1
            if state.mapCount == 0 {
                state.endViews()
                device.deviceFunctions.unmapMemory(device.device, handle)
                state.pointer = nil
            }
            return nil
        }
        if let error { throw error }
    }

    /// How many `map()` calls are outstanding.
    public var mapCount: Int { state.withLock { $0.mapCount } }

    /// The host address of byte 0 while mapped, else nil.
    public var mappedPointer: UnsafeMutableRawPointer? { state.withLock { $0.pointer } }

    /// Makes host writes to a range visible to the device (`vkFlushMappedMemoryRanges`).
    ///
    /// The range is widened to `nonCoherentAtomSize` boundaries and clamped to the end of
    /// the memory, as Vulkan requires. On `HOST_COHERENT` memory this does nothing.
    /// - Throws: `.rangeOutOfBounds`, `.notMapped`, `.alreadyFreed`, or `.vulkan`.
    public func flush(offset: UInt64 = 0, size: UInt64? = nil) throws(MemoryError) {
        try syncRange(offset: offset, size: size, flush: true)
    }

    /// Makes device writes to a range visible to the host (`vkInvalidateMappedMemoryRanges`).
    ///
    /// Rounded and clamped like `flush`; does nothing on `HOST_COHERENT` memory.
    /// - Throws: `.rangeOutOfBounds`, `.notMapped`, `.alreadyFreed`, or `.vulkan`.
    public func invalidate(offset: UInt64 = 0, size: UInt64? = nil) throws(MemoryError) {
        try syncRange(offset: offset, size: size, flush: false)
    }

    /// The range `flush`/`invalidate` hand to Vulkan for a requested range: start rounded
    /// down and end rounded up to `atom`, the end clamped to `memorySize`.
    ///
    /// - Complexity: O(1).
    public static func atomAlignedRange(offset: UInt64, size: UInt64, atom: UInt64,
                                        memorySize: UInt64) -> (offset: UInt64, size: UInt64) {
        let atom = max(atom, 1)
        // Clamped so that a range past the end gives an empty range at the end, not a trap.
        let start = min(offset / atom * atom, memorySize)
        let (sum, overflow) = offset.addingReportingOverflow(size)
        let requestedEnd = overflow ? UInt64.max : sum
        let roundedEnd = requestedEnd % atom == 0 ? requestedEnd
            : (requestedEnd / atom + 1).multipliedReportingOverflow(by: atom).partialValue
        let end = roundedEnd > memorySize || roundedEnd < requestedEnd ? memorySize : roundedEnd
        return (start, max(end, start) - start)
    }

    private func syncRange(offset: UInt64, size: UInt64?, flush: Bool) throws(MemoryError) {
        let length = try checkedRange(offset: offset, size: size)
        let error: MemoryError? = state.withLock { state in
            if state.freed { return .alreadyFreed }
            guard state.mapCount > 0 else { return .notMapped }
            if flags.contains(.hostCoherent) { return nil }
            let range = Self.atomAlignedRange(offset: offset, size: length,
                                              atom: device.rawLimits.nonCoherentAtomSize,
                                              memorySize: self.size)
            var info = VkMappedMemoryRange()
            info.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE
            info.memory = handle
            info.offset = range.offset
            info.size = range.size
            let functions = device.deviceFunctions
            let code = VulkanResult(flush
                ? functions.flushMappedMemoryRanges(device.device, 1, &info)
                : functions.invalidateMappedMemoryRanges(device.device, 1, &info))
            guard code.isSuccess else {
                return .vulkan(.callFailed(
                    function: flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges",
                    result: code))
            }
            return nil
        }
        if let error { throw error }
    }

    /// Validates `offset`/`size` against the memory and returns the resolved length.
    private func checkedRange(offset: UInt64, size: UInt64?) throws(MemoryError) -> UInt64 {
        guard offset <= self.size else {
            throw .rangeOutOfBounds(offset: offset, size: size ?? 0, limit: self.size)
        }
        let length = size ?? (self.size - offset)
        guard length > 0 else { throw .zeroSize }
        guard length <= self.size - offset else {
            throw .rangeOutOfBounds(offset: offset, size: length, limit: self.size)
        }
        return length
    }
}
