import Suballocation

extension FrameRing {
    /// Places a slice in the frame being filled, retiring completed frames first when the
    /// ring has no room.
    ///
    /// - Parameters:
    ///   - size: bytes, at least 1.
    ///   - alignment: a power of two (0 read as 1), raised to ``sliceAlignment``.
    /// - Throws: ``BufferArenaError/zeroSize``, ``BufferArenaError/alignmentNotPowerOfTwo(_:)``,
    ///   ``BufferArenaError/sizeOverflow(size:alignment:)``,
    ///   ``BufferArenaError/sliceTooLarge(size:alignment:capacity:)`` for a slice the ring
    ///   can never hold, ``BufferArenaError/ringFull(size:alignment:framesInFlight:)`` when
    ///   frames in flight hold the room (never waits), ``BufferArenaError/destroyed``, or
    ///   ``BufferArenaError/vulkan(_:)`` when a completion query fails. Frames that had
    ///   completed stay retired; nothing else changes.
    /// - Complexity: O(1), plus O(slices of the frames retired) when room is short.
    public func allocate(size: UInt64, alignment: UInt64 = 1) throws(BufferArenaError) -> BufferSlice {
        let alignment = try checkedSliceAlignment(size: size, requested: alignment, minimum: sliceAlignment)
        guard let reserved = roundedUp(size, to: buffer.granule), reserved <= capacity else {
            throw .sliceTooLarge(size: size, alignment: alignment, capacity: capacity)
        }
        return try state.withLock { (state: inout FrameRingState) throws(BufferArenaError) -> BufferSlice in
            guard !state.destroyed else { throw .destroyed }
            while true {
                let placed: VirtualAllocation?
                do throws(VirtualBlockError) {
                    placed = try state.ranges.allocateIfRoom(size: reserved, alignment: alignment)
                } catch {
                    throw .sizeOverflow(size: size, alignment: alignment)
                }
                if let placed {
                    state.current.handles.append(placed.handle)
                    return BufferSlice(buffer: buffer.bound.buffer, offset: placed.offset, size: size, owner: id, block: 0, serial: 0,
                                       tag: state.current.serial, handle: placed.handle)
                }
                guard try retireOldest(&state) else {
                    throw .ringFull(size: size, alignment: alignment, framesInFlight: state.frames.count)
                }
            }
        }
    }

    /// Closes the frame being filled: its slices stay until `completion` has passed. Then
    /// retires every older frame whose completion has passed.
    ///
    /// - Throws: ``BufferArenaError/destroyed``; ``BufferArenaError/vulkan(_:)`` when a
    ///   completion query fails (the frame is closed all the same).
    /// - Complexity: O(1), plus O(slices of the frames retired).
    public func endFrame(completion: FrameCompletion) throws(BufferArenaError) {
        try state.withLock { (state: inout FrameRingState) throws(BufferArenaError) in
            guard !state.destroyed else { throw .destroyed }
            var closed = state.current
            closed.completion = completion
            state.current = RingFrame(serial: closed.serial + 1)
            if closed.handles.isEmpty {
                closed.lifetime.end()
            } else {
                state.frames.append(closed)
            }
            while try retireOldest(&state) {}
        }
    }

    /// Retires, oldest first, every closed frame whose completion has passed: their slices'
    /// room is reused and their views end. Stops at the first frame still in flight.
    ///
    /// - Returns: how many frames retired.
    /// - Throws: ``BufferArenaError/destroyed``, ``BufferArenaError/vulkan(_:)`` (frames
    ///   retired before the failing query stay retired).
    /// - Complexity: O(frames retired + their slices), one driver query per frame checked.
    @discardableResult
    public func retireCompletedFrames() throws(BufferArenaError) -> Int {
        try state.withLock { (state: inout FrameRingState) throws(BufferArenaError) -> Int in
            guard !state.destroyed else { throw .destroyed }
            var count = 0
            while try retireOldest(&state) { count += 1 }
            return count
        }
    }

    /// Retires the oldest closed frame if its completion has passed.
    private func retireOldest(_ state: inout FrameRingState) throws(BufferArenaError) -> Bool {
        guard let oldest = state.frames.first, let completion = oldest.completion,
              try completion.hasPassed(on: allocator.device) else { return false }
        for handle in oldest.handles {
            // Oldest first, in allocation order: the order a ring-buffer block frees in.
            do throws(VirtualBlockError) {
                try state.ranges.free(handle)
            } catch {
                preconditionFailure("the ring frees its frames' slices in allocation order: \(error)")
            }
        }
        oldest.lifetime.end()
        state.frames.removeFirst()
        return true
    }

    /// A bounds-checked host view of a slice's bytes, which ends when its frame retires
    /// (then every access throws ``MemoryError/viewEnded``).
    /// - Throws: ``BufferArenaError/notHostVisible(memoryTypeIndex:)``,
    ///   ``BufferArenaError/foreignSlice``, ``BufferArenaError/alreadyFreed`` for a slice
    ///   of a retired frame, ``BufferArenaError/destroyed``.
    /// - Complexity: O(frames in flight).
    public func map(_ slice: BufferSlice) throws(BufferArenaError) -> MappedMemory {
        guard slice.owner == id else { throw .foreignSlice }
        let lifetime = try state.withLock { (state: inout FrameRingState) throws(BufferArenaError) -> ViewLifetime in
            guard !state.destroyed else { throw .destroyed }
            if slice.tag == state.current.serial { return state.current.lifetime }
            guard let frame = state.frames.first(where: { $0.serial == slice.tag }) else { throw .alreadyFreed }
            return frame.lifetime
        }
        return try buffer.view(offset: slice.offset, size: slice.size, lifetime: lifetime)
    }

    /// The device address of a slice's first byte (`vkGetBufferDeviceAddress` of the ring's
    /// buffer plus the offset); needs `.shaderDeviceAddress` usage.
    /// - Throws: ``BufferArenaError/allocation(_:)`` with the allocator's reason,
    ///   ``BufferArenaError/foreignSlice``, or ``BufferArenaError/destroyed`` after
    ///   ``destroy()``.
    /// - Complexity: O(1): one driver call, under the ring's lock so that `destroy()` on
    ///   another thread cannot destroy the buffer during it.
    public func deviceAddress(of slice: BufferSlice) throws(BufferArenaError) -> UInt64 {
        guard slice.owner == id else { throw .foreignSlice }
        return try state.withLock { (state: inout FrameRingState) throws(BufferArenaError) -> UInt64 in
            guard !state.destroyed else { throw .destroyed }
            return try buffer.deviceAddress(offset: slice.offset, allocator: allocator)
        }
    }

    /// The ring's buffer and its allocation.
    public var bound: BoundBuffer { buffer.bound }

    /// Frames in flight and bytes in use now.
    /// - Complexity: O(live slices): the ring's free gaps are counted by a walk.
    public var statistics: FrameRingStatistics {
        state.withLock { state in
            let figures = state.ranges.statistics
            return FrameRingStatistics(framesInFlight: state.frames.count, sliceCount: figures.allocationCount,
                                       bytesInUse: figures.allocatedBytes, capacity: capacity)
        }
    }
}

/// A ``FrameRing``'s figures, from ``FrameRing/statistics``.
public struct FrameRingStatistics: Sendable, Hashable {
    /// Closed frames whose completion has not been seen to pass.
    public var framesInFlight: Int
    /// Live slices: those of the frames in flight and of the frame being filled.
    public var sliceCount: Int
    /// Bytes those slices take (with atom rounding).
    public var bytesInUse: UInt64
    /// The ring's bytes.
    public var capacity: UInt64
}
