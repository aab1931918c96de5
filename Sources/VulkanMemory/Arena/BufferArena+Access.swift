import Suballocation

extension BufferArena {
    /// A bounds-checked host view of exactly a slice's bytes, on an arena whose memory is
    /// host-visible (the arena buffer is mapped once, when it is made).
    ///
    /// The view ends when the slice is freed or the arena destroyed: every access then
    /// throws ``MemoryError/viewEnded``, so a stale view never writes into another slice.
    /// On non-coherent memory the view's typed writes flush and reads invalidate whole
    /// atoms of the slice's own.
    /// - Throws: ``BufferArenaError/notHostVisible(memoryTypeIndex:)`` when the memory
    ///   cannot be mapped; the errors of ``free(_:)`` for a slice that is not live.
    /// - Complexity: O(1) (one hash look-up for the slice's view lifetime).
    public func map(_ slice: BufferSlice) throws(BufferArenaError) -> MappedMemory {
        guard slice.owner == id else { throw .foreignSlice }
        return try state.withLock { (state: inout BufferArenaState) throws(BufferArenaError) -> MappedMemory in
            let index = try state.checkLive(slice)
            let key = SliceKey(block: slice.block, handle: slice.handle)
            let lifetime = state.lifetimes[key] ?? ViewLifetime()
            let view = try state.blocks[index]!.buffer.view(offset: slice.offset, size: slice.size, lifetime: lifetime)
            state.lifetimes[key] = lifetime
            return view
        }
    }

    /// The device address of a slice's first byte: its buffer's address
    /// (`vkGetBufferDeviceAddress`) plus its offset, for shaders that reach it through a
    /// pointer (`VK_KHR_buffer_device_address`).
    /// - Throws: ``BufferArenaError/allocation(_:)`` with the allocator's error when the
    ///   device lacks `bufferDeviceAddress` or the arena's usage lacks
    ///   `.shaderDeviceAddress`; the errors of ``free(_:)`` for a slice that is not live.
    /// - Complexity: O(1): one driver call, under the arena's lock so that `destroy()` on
    ///   another thread cannot destroy the buffer during it.
    public func deviceAddress(of slice: BufferSlice) throws(BufferArenaError) -> UInt64 {
        guard slice.owner == id else { throw .foreignSlice }
        return try state.withLock { (state: inout BufferArenaState) throws(BufferArenaError) -> UInt64 in
            try state.blocks[try state.checkLive(slice)]!.buffer.deviceAddress(offset: slice.offset, allocator: allocator)
        }
    }

    /// Whether a slice of this arena is live (not freed, the arena not destroyed).
    /// - Complexity: O(1).
    public func contains(_ slice: BufferSlice) -> Bool {
        guard slice.owner == id else { return false }
        return state.withLock { state in (try? state.checkLive(slice)) != nil }
    }

    /// Slices, bytes and buffers of the arena now. Freed ranges the arena keeps for the
    /// next slice of their size count as free.
    /// - Complexity: O(buffers), plus O(r log r) for each buffer holding kept ranges,
    ///   r its free and kept ranges.
    public var statistics: BufferArenaStatistics {
        state.withLock { state in
            var statistics = BufferArenaStatistics()
            for case let block? in state.blocks {
                let figures = block.ranges.statistics
                // Recycled ranges are free to the user: kept only for the next slice of their size.
                statistics.sliceCount += figures.allocationCount - block.recycled.count
                statistics.sliceBytes += figures.allocatedBytes - block.recycled.bytes
                statistics.blockCount += 1
                statistics.blockBytes += block.buffer.bound.size
                statistics.largestFreeRange = max(statistics.largestFreeRange, block.largestFreeRange)
            }
            return statistics
        }
    }

    /// Every live slice with its name, buffer, offset and size: what ``destroy()``
    /// reports as leaks when slices are still live then.
    /// - Complexity: O(live slices).
    public func liveSlices() -> [BufferSliceReport] {
        state.withLock { $0.reports() }
    }

    /// The arena buffers now, with their allocations: for memory maps and tests.
    /// - Complexity: O(buffers).
    public var buffers: [BoundBuffer] {
        state.withLock { state in state.blocks.compactMap { $0?.buffer.bound } }
    }

    /// Checks the placement invariants of every arena buffer (no two slices overlap, all
    /// inside the buffer, alignment holds) and stops the program on a violation. For tests.
    /// - Complexity: O(live slices).
    public func _checkInvariants() {
        state.withLock { state in
            for case let block? in state.blocks {
                block.ranges._checkInvariants()
                block.checkRecycledRanges()
            }
        }
    }
}

extension BufferArenaState {
    /// The slot of a live slice's buffer, its range checked to be still the slice's.
    func checkLive(_ slice: BufferSlice) throws(BufferArenaError) -> Int {
        let index = try liveBlock(of: slice)
        try blocks[index]!.checkLive(slice)
        return index
    }
}
