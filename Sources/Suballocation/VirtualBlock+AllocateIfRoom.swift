extension VirtualBlock {
    /// Places an allocation like `allocate`, but answers "no room" with nil instead of an
    /// error, without measuring the largest free range for the error's message.
    ///
    /// For callers that try several blocks in turn (an allocator's pages): most attempts
    /// on a full block fail, and the failure should cost no more than the search.
    /// - Throws: the input errors of `allocate` (zero size, alignment, overflow, upper
    ///   address); never `.outOfRoom`.
    /// - Complexity: as `allocate`.
    public mutating func allocateIfRoom(size: UInt64, alignment: UInt64 = 1, kind: SuballocationKind = .unknown,
                                        strategy: AllocationStrategy = .bestFit,
                                        userData: UInt64 = 0) throws(VirtualBlockError) -> VirtualAllocation? {
        guard case .tlsf = algorithm else {
            do throws(VirtualBlockError) {
                return try allocate(size: size, alignment: alignment, kind: kind, strategy: strategy, userData: userData)
            } catch {
                if case .outOfRoom = error { return nil }
                throw error
            }
        }
        guard size > 0 else { throw .zeroSize }
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .alignmentNotPowerOfTwo(alignment) }
        guard size <= UInt64.max - (alignment - 1) else { throw .sizeOverflow(size: size, alignment: alignment) }
        makeUnique()
        return box.core.tlsfAllocateIfRoom(size: size, alignment: alignment, kind: kind.rawValue, strategy: strategy,
                                           userData: userData)
    }
}

extension Core {
    /// The TLSF branch of `allocate` without the out-of-room error.
    mutating func tlsfAllocateIfRoom(size: UInt64, alignment: UInt64, kind: UInt8, strategy: AllocationStrategy,
                                     userData: UInt64) -> VirtualAllocation? {
        guard let (i, o) = tlsfFind(size: size, alignment: alignment, kind: kind, strategy: strategy) else { return nil }
        reserveSlots(2)
        let a = tlsfCommit(range: i, at: o, size: size, alignment: alignment, kind: kind, userData: userData)
        return VirtualAllocation(handle: VirtualAllocationHandle(index: a, generation: records[a].generation),
                                 offset: o, size: size)
    }
}

extension VirtualBlock {
    /// A bound on the largest free range, read from the TLSF bitmaps: no allocation
    /// larger than this fits. It exceeds the true largest range by less than 1/32 (a
    /// size class), so a caller skips blocks that cannot serve a request without searching
    /// them. Linear blocks report their size.
    /// - Complexity: O(1).
    public var largestFreeRangeBound: UInt64 { box.core.freeRangeBound() }
}

extension Core {
    func freeRangeBound() -> UInt64 {
        guard case .tlsf = algorithm else { return blockSize }
        let tailSize = records[tail].size
        guard firstLevelBitmap != 0 else { return tailSize }
        let first = 63 - firstLevelBitmap.leadingZeroBitCount
        let second = 31 - secondLevel[first].leadingZeroBitCount
        let top = first << TLSF.secondLevelBits | second
        let bound = top + 1 < TLSF.classCount ? TLSF.classMinimum(top + 1) - 1 : UInt64.max
        return max(tailSize, bound)
    }
}
