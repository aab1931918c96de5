extension VirtualBlock {
    /// Places an allocation like `allocate`, but answers "no room" with nil instead of an
    /// error, without measuring the largest free range for the error's message.
    ///
    /// For callers that try several blocks in turn (pools of ranges): most attempts
    /// on a full block fail, and the failure should cost no more than the search (two
    /// searches when recently freed ranges wait for their merge: they are merged and
    /// searched too before the answer is no).
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
        guard let (i, o) = tlsfPlace(size: size, alignment: alignment, kind: kind, strategy: strategy) else { return nil }
        reserveSlots(2)
        let a = tlsfCommit(range: i, at: o, size: size, alignment: alignment, kind: kind, userData: userData)
        return VirtualAllocation(handle: VirtualAllocationHandle(index: a, generation: records[a].generation),
                                 offset: o, size: size)
    }
}
