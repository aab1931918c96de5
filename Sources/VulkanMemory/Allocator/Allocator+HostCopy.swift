/// VMA 3.1's `vmaCopyMemoryToAllocation` and `vmaCopyAllocationToMemory`: host bytes into
/// and out of a host-visible allocation in one call, with the flush or invalidate that
/// non-coherent memory needs, so a caller never forgets them.
extension Allocator {
    /// Copies host bytes into an allocation (`vmaCopyMemoryToAllocation`): maps it (pages
    /// stay mapped, see `map(_:)`), copies, and flushes the bytes written
    /// (`vkFlushMappedMemoryRanges`) when the memory is not `HOST_COHERENT`.
    ///
    /// The device sees the bytes in work submitted after this returns. Thread safety: as
    /// `map(_:)`; writing a range that submitted work still uses is the caller's race.
    /// - Throws: `.zeroSize` for no bytes; `.memory(.rangeOutOfBounds)` when
    ///   `offset + source.count` passes the allocation's size; `.memory(.notHostVisible)`
    ///   for memory the host cannot map; `.alreadyFreed` / `.unknownAllocation` for a
    ///   stale allocation. Nothing is written then.
    public func copyMemory(_ source: UnsafeRawBufferPointer, to allocation: Allocation,
                           at offset: UInt64 = 0) throws(AllocationError) {
        guard let base = source.baseAddress, source.count > 0 else { throw .zeroSize }
        let length = UInt64(source.count)
        // Before mapping: a refused copy maps nothing (observers and recordings see no map).
        try checkRange(offset, length, in: allocation)
        let view = try map(allocation)
        do throws(MemoryError) {
            try checkRange(offset, length, in: view)
            (view.baseAddress + Int(offset)).copyMemory(from: base, byteCount: source.count)
            if view.needsSynchronization { try view.flush(at: offset, size: length) }
        } catch {
            throw .memory(error)
        }
    }

    /// Copies values into an allocation, back to back with their stride, as
    /// `copyMemory(_:to:at:)` copies bytes.
    public func copyMemory<T: BitwiseCopyable>(_ values: [T], to allocation: Allocation,
                                               at offset: UInt64 = 0) throws(AllocationError) {
        var failure: AllocationError?
        values.withUnsafeBytes { bytes in
            do throws(AllocationError) { try copyMemory(bytes, to: allocation, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Copies bytes out of an allocation into host memory (`vmaCopyAllocationToMemory`):
    /// maps it, invalidates the range (`vkInvalidateMappedMemoryRanges`) when the memory
    /// is not `HOST_COHERENT`, and copies `destination.count` bytes from `offset`.
    ///
    /// Device writes must have been made available to the host before (a barrier to
    /// `VK_PIPELINE_STAGE_HOST_BIT` in the work that wrote them, and a wait for it);
    /// `TransferQueue.download` does that for you.
    /// - Throws: as `copyMemory(_:to:at:)`; `destination` is untouched then.
    public func copyMemory(from allocation: Allocation, at offset: UInt64 = 0,
                           into destination: UnsafeMutableRawBufferPointer) throws(AllocationError) {
        guard let base = destination.baseAddress, destination.count > 0 else { throw .zeroSize }
        let length = UInt64(destination.count)
        try checkRange(offset, length, in: allocation)
        let view = try map(allocation)
        do throws(MemoryError) {
            try checkRange(offset, length, in: view)
            if view.needsSynchronization { try view.invalidate(at: offset, size: length) }
            base.copyMemory(from: view.baseAddress + Int(offset), byteCount: destination.count)
        } catch {
            throw .memory(error)
        }
    }

    /// Reads `count` values laid out with their stride from an allocation, as
    /// `copyMemory(from:at:into:)` reads bytes.
    /// - Throws: `.zeroSize` for a count of 0 or a type of size 0, else as
    ///   `copyMemory(from:at:into:)`.
    public func copyMemory<T: BitwiseCopyable>(from allocation: Allocation, at offset: UInt64 = 0,
                                               as type: T.Type, count: Int) throws(AllocationError) -> [T] {
        guard count > 0, MemoryLayout<T>.stride > 0 else { throw .zeroSize }
        let (bytes, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: count)
        guard !overflow else { throw .memory(.rangeOutOfBounds(offset: offset, size: .max, limit: allocation.size)) }
        // Checked before the array is made: a count past the allocation would otherwise
        // ask the heap for its bytes first (and end the process where it cannot).
        try checkRange(offset, UInt64(bytes), in: allocation)
        var failure: AllocationError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(AllocationError) {
                try copyMemory(from: allocation, at: offset, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// `offset..<offset+length` inside the allocation, checked before anything is mapped.
    private func checkRange(_ offset: UInt64, _ length: UInt64, in allocation: Allocation) throws(AllocationError) {
        guard offset <= allocation.size, length <= allocation.size - offset else {
            throw .memory(.rangeOutOfBounds(offset: offset, size: length, limit: allocation.size))
        }
    }

    private func checkRange(_ offset: UInt64, _ length: UInt64, in view: MappedMemory) throws(MemoryError) {
        guard offset <= view.size, length <= view.size - offset else {
            throw .rangeOutOfBounds(offset: offset, size: length, limit: view.size)
        }
    }
}
