import Suballocation

extension BufferArena {
    /// Places a slice of `size` bytes in an arena buffer with room, making a new buffer
    /// (`vkCreateBuffer`, `vkAllocateMemory` when the allocator needs a page,
    /// `vkBindBufferMemory`) when none has.
    ///
    /// The offset is a multiple of ``sliceAlignment`` and of `alignment`, and on
    /// host-visible memory that is not coherent of `nonCoherentAtomSize` too (the slice
    /// then takes whole atoms, so flushing it never touches a neighbour). A slice larger
    /// than ``BufferArenaOptions/blockSize`` gets a buffer of its own.
    /// - Parameters:
    ///   - size: bytes, at least 1.
    ///   - alignment: a power of two (0 read as 1).
    ///   - name: shown by ``liveSlices()`` and the leak report.
    /// - Throws: ``BufferArenaError/zeroSize``, ``BufferArenaError/alignmentNotPowerOfTwo(_:)``,
    ///   ``BufferArenaError/sizeOverflow(size:alignment:)``,
    ///   ``BufferArenaError/arenaFull(size:alignment:blocks:)``,
    ///   ``BufferArenaError/destroyed``, or ``BufferArenaError/allocation(_:)`` when the
    ///   allocator refuses a new buffer; the arena is then unchanged.
    /// - Complexity: O(buffers) TLSF searches, each O(1) in the usual case.
    public func allocate(size: UInt64, alignment: UInt64 = 1, name: String? = nil) throws(BufferArenaError) -> BufferSlice {
        let alignment = try checkedSliceAlignment(size: size, requested: alignment, minimum: sliceAlignment)
        // Most slices fit the buffer tried first: that try neither throws nor names, so it
        // stays a short non-generic path under the lock (with the free below, it took
        // W7's slice pair from about 1.8x to about 1.6x the bare engine's step).
        if name == nil, let slice = state.withLock({ placeInPreferredBlock(size, alignment, &$0) }) {
            return slice
        }
        return try state.withLock { (state: inout BufferArenaState) throws(BufferArenaError) -> BufferSlice in
            guard !state.destroyed else { throw .destroyed }
            // The lowest buffer passed over that still has room for a smallest slice stays
            // the one tried first: a smaller slice may fit where this one did not.
            var lowestWithRoom: Int?
            for index in state.blocks.indices where state.blocks[index] != nil {
                if let slice = try place(size, alignment, name, in: index, &state) {
                    state.preferredBlock = lowestWithRoom ?? index
                    return slice
                }
                // The buffer's recycled ranges are free bytes too: merged back, they may
                // make the room this request needs (they stay kept where even all the
                // buffer's free bytes together are too few).
                if state.blocks[index]!.recycled.count > 0,
                   state.blocks[index]!.ranges.statistics.freeBytes + state.blocks[index]!.recycled.bytes >= size,
                   state.blocks[index]!.releaseRecycled(),
                   let slice = try place(size, alignment, name, in: index, &state) {
                    state.preferredBlock = lowestWithRoom ?? index
                    return slice
                }
                // A kept range is room too, for the next slice of its size.
                if lowestWithRoom == nil, state.blocks[index]!.recycled.count > 0
                    || state.blocks[index]!.ranges.statistics.largestFreeRange >= sliceAlignment {
                    lowestWithRoom = index
                }
            }
            let live = state.blocks.lazy.filter { $0 != nil }.count
            guard live < options.maxBlocks else { throw .arenaFull(size: size, alignment: alignment, blocks: live) }
            // A whole block for a slice larger than blockSize, in whole atoms so that the
            // slice's rounding fits on non-coherent memory; alignment padding never counts
            // since a buffer's first byte is aligned for every use.
            let atom = max(allocator.device.rawLimits.nonCoherentAtomSize, 1)
            guard let wholeAtoms = roundedUp(size, to: atom) else { throw .sizeOverflow(size: size, alignment: alignment) }
            let bytes = max(options.blockSize, wholeAtoms)
            let buffer = try ArenaBuffer(allocator: allocator, size: bytes, usage: options.usage,
                                         memoryUsage: options.memoryUsage, pool: options.pool,
                                         name: options.name.map { "\($0) buffer" })
            // Slices take whole atoms on non-coherent memory: the ranges cover whole atoms
            // of the buffer only, so the last slice's rounding never passes its end.
            let ranges: VirtualBlock
            do throws(VirtualBlockError) {
                ranges = try VirtualBlock(size: bytes / buffer.granule * buffer.granule)
            } catch {
                allocator.undoBuffer(buffer.bound)
                throw .invalidOptions("blockSize \(options.blockSize) is smaller than nonCoherentAtomSize "
                                      + "(\(buffer.granule) bytes) of the arena's memory")
            }
            let index = state.blocks.firstIndex(where: { $0 == nil }) ?? state.blocks.count
            if index == state.blocks.count {
                state.blocks.append(nil)
                state.generations.append(0)
            }
            state.blocks[index] = ArenaBlock(buffer: buffer, ranges: ranges)
            let placed: BufferSlice?
            do throws(BufferArenaError) {
                placed = try place(size, alignment, name, in: index, &state)
            } catch {
                placed = nil
            }
            if let placed {
                state.preferredBlock = lowestWithRoom ?? index
                return placed
            }
            // A new buffer always holds the slice at offset 0; should it not, the arena
            // goes back to how it was, without the buffer.
            state.blocks[index] = nil
            allocator.undoBuffer(buffer.bound)
            throw .arenaFull(size: size, alignment: alignment, blocks: live)
        }
    }

    /// Places an unnamed slice in the buffer tried first, in its last recycled range when
    /// that fits (`RecycledRanges`), else by a TLSF search; nil when that buffer has no
    /// room, is gone, or the request needs any error reported (the general path then
    /// reports it).
    /// - Complexity: O(1), one TLSF search at most.
    @inline(__always)
    private func placeInPreferredBlock(_ size: UInt64, _ alignment: UInt64,
                                       _ state: inout BufferArenaState) -> BufferSlice? {
        let index = state.preferredBlock
        // Through the element's address: the array's and the buffer pointer's modify
        // accessors are coroutine calls.
        guard !state.destroyed, index < state.blocks.count,
              let (buffer, placed, serial) = state.blocks.withUnsafeMutableBufferPointer({ blocks in
                  let block = blocks.baseAddress.unsafelyUnwrapped.advanced(by: index)
                  return block.pointee?.takeRecycled(size, alignment: alignment)
                      ?? block.pointee?.placeIfRoom(size, alignment: alignment).map { ($0.0, $0.1, 0) }
              }) else {
            return nil
        }
        return BufferSlice(buffer: buffer, offset: placed.offset, size: size, owner: id,
                           block: UInt32(index), serial: serial, tag: state.generations[index],
                           handle: placed.handle)
    }

    /// Places a slice in buffer `index`, or nil when it has no room.
    private func place(_ size: UInt64, _ alignment: UInt64, _ name: String?, in index: Int,
                       _ state: inout BufferArenaState) throws(BufferArenaError) -> BufferSlice? {
        // One in-place access to the block: reading it through the optional array element
        // more than once copied it out (a retain of its ranges' storage and of its view).
        guard let (buffer, placed) = try state.blocks[index]!.place(size, alignment: alignment, name: name) else {
            return nil
        }
        return BufferSlice(buffer: buffer, offset: placed.offset, size: size, owner: id,
                           block: UInt32(index), serial: 0, tag: state.generations[index], handle: placed.handle)
    }

    /// Frees a slice: its range goes back to its buffer, or is kept for the next slice of
    /// its size, and its views end. A buffer left empty is destroyed when another empty
    /// one is kept already, or when it was made for one large slice.
    ///
    /// - Throws: ``BufferArenaError/foreignSlice`` for a slice of another arena or ring,
    ///   ``BufferArenaError/alreadyFreed`` for one freed before,
    ///   ``BufferArenaError/destroyed`` after ``destroy()``; nothing changes then.
    /// - Complexity: O(1), plus O(buffers) when the slice empties its buffer.
    public func free(_ slice: BufferSlice) throws(BufferArenaError) {
        guard slice.owner == id else { throw .foreignSlice }
        // Most frees leave their buffer with other slices and end no view: a short
        // non-throwing path under the lock; anything else takes the general one below.
        if state.withLock({ releaseKeepingBlock(slice, &$0) }) { return }
        let released = try state.withLock { (state: inout BufferArenaState) throws(BufferArenaError) -> BoundBuffer? in
            let index = try state.liveBlock(of: slice)
            let emptied = try state.blocks[index]!.release(slice)
            state.preferBlock(index)
            // Most slices are never mapped: no hash look-up for them.
            if !state.lifetimes.isEmpty {
                state.lifetimes.removeValue(forKey: SliceKey(block: slice.block, handle: slice.handle))?.end()
            }
            guard emptied else { return nil }
            let bound = state.blocks[index]!.buffer.bound
            let keep = bound.size == options.blockSize
                && !state.blocks.indices.contains { $0 != index && state.blocks[$0]?.ranges.isEmpty == true }
            guard !keep else { return nil }
            state.blocks[index] = nil
            state.generations[index] += 1
            return bound
        }
        // Destroyed outside the arena's lock: the allocator's own locks are taken there.
        if let released { try? allocator.destroyBuffer(released) }
    }
}

extension BufferArena {
    /// Frees a slice whose buffer keeps other slices, ending its views: its range is
    /// recycled (`RecycledRanges`) or, when the buffer keeps enough, freed; false (nothing
    /// changed) for any other slice, a stale or foreign one included, which the general
    /// path of ``free(_:)`` then handles or reports.
    /// - Complexity: O(1), one range look-up, or one TLSF free and merge (and a hash
    ///   look-up while any slice of the arena is mapped).
    @inline(__always)
    private func releaseKeepingBlock(_ slice: BufferSlice, _ state: inout BufferArenaState) -> Bool {
        let index = Int(slice.block)
        guard !state.destroyed, index < state.blocks.count, state.generations[index] == slice.tag else {
            return false
        }
        guard state.blocks.withUnsafeMutableBufferPointer({
            let block = $0.baseAddress.unsafelyUnwrapped.advanced(by: index)
            return block.pointee?.recycle(slice) == true || block.pointee?.releaseIfOthersRemain(slice) == true
        }) else {
            return false
        }
        // Most slices are never mapped: no hash look-up for them.
        if !state.lifetimes.isEmpty {
            state.lifetimes.removeValue(forKey: SliceKey(block: slice.block, handle: slice.handle))?.end()
        }
        state.preferBlock(index)
        return true
    }
}

extension BufferArenaState {
    /// Makes slot `index` the first tried when it lies below the preferred one: a slice
    /// freed there left room, and filling low buffers first lets high ones empty and go.
    @inline(__always)
    mutating func preferBlock(_ index: Int) {
        if index < preferredBlock { preferredBlock = index }
    }

    /// The slot of a slice's buffer, checked to be the one the slice was placed in.
    /// - Throws: `.destroyed`, `.foreignSlice` (a slot never used), `.alreadyFreed` (a
    ///   buffer released since, which frees every slice in it first).
    func liveBlock(of slice: BufferSlice) throws(BufferArenaError) -> Int {
        guard !destroyed else { throw .destroyed }
        let index = Int(slice.block)
        guard generations.indices.contains(index) else { throw .foreignSlice }
        guard generations[index] == slice.tag, blocks[index] != nil else { throw .alreadyFreed }
        return index
    }
}

extension ArenaBlock {
    /// Places a range for a slice of `size` bytes, in whole granules (atoms on
    /// non-coherent memory), named if a name is given; nil when the block has no room.
    /// - Complexity: O(1), one TLSF search.
    mutating func place(_ size: UInt64, alignment: UInt64,
                        name: String?) throws(BufferArenaError) -> (VkBuffer, VirtualAllocation)? {
        let granule = buffer.granule
        guard let reserved = roundedUp(size, to: granule) else { throw .sizeOverflow(size: size, alignment: alignment) }
        do throws(VirtualBlockError) {
            guard let range = try ranges.allocateIfRoom(size: reserved, alignment: max(alignment, granule)) else {
                return nil
            }
            if let name {
                hasNames = true
                do throws(VirtualBlockError) { try ranges.setName(name, for: range.handle) } catch {
                    _ = try? ranges.free(range.handle, at: range.offset)
                    throw error
                }
            }
            return (buffer.bound.buffer, range)
        } catch {
            throw .sizeOverflow(size: size, alignment: alignment)
        }
    }

    /// ``place(_:alignment:name:)`` for an unnamed slice, nil instead of any error.
    /// - Complexity: O(1), one TLSF search.
    @inline(__always)
    mutating func placeIfRoom(_ size: UInt64, alignment: UInt64) -> (VkBuffer, VirtualAllocation)? {
        let granule = buffer.granule
        guard let reserved = roundedUp(size, to: granule),
              let range = try? ranges.allocateIfRoom(size: reserved, alignment: max(alignment, granule)) else {
            return nil
        }
        return (buffer.bound.buffer, range)
    }

    /// Gives a slice's range back when the block holds other live slices too; false
    /// (nothing changed) when it is the block's last live slice or not a live slice of
    /// this block.
    /// - Complexity: O(1), one TLSF free and merge.
    @inline(__always)
    mutating func releaseIfOthersRemain(_ slice: BufferSlice) -> Bool {
        guard liveSliceCount > 1, (try? ranges.userData(of: slice.handle)) == UInt64(slice.serial) else { return false }
        return ((try? ranges.free(slice.handle, at: slice.offset)) ?? nil) != nil
    }

    /// Gives a slice's range back; true when that left the block without a slice (its
    /// recycled ranges are given back first then, so it is empty).
    /// - Throws: `.foreignSlice` for a handle the block never gave, `.alreadyFreed` for
    ///   one freed before; nothing changes then.
    /// - Complexity: O(1), one TLSF free and merge (and those of the recycled ranges when
    ///   it was the last live slice).
    mutating func release(_ slice: BufferSlice) throws(BufferArenaError) -> Bool {
        try checkLive(slice)
        if liveSliceCount == 1 { releaseRecycled() }
        do throws(VirtualBlockError) {
            guard try ranges.free(slice.handle, at: slice.offset) != nil else { throw .staleHandle(slice.handle) }
        } catch {
            throw error == .unknownHandle(slice.handle) ? .foreignSlice : .alreadyFreed
        }
        return ranges.isEmpty
    }
}
