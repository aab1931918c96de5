/// Places and releases sub-ranges of one range of `size` bytes: the heart of a
/// device-memory page, and usable on its own for any range (a big buffer, a
/// descriptor heap, a staging ring), like VMA's virtual blocks.
///
/// A block is a value: copies are independent (copy-on-write, so keep one copy and
/// mutate it in place to avoid copying the tables). It is `Sendable`, but a value is
/// used from one thread at a time; callers that share one lock around it.
///
/// No memory is touched: the block only does the bookkeeping of offsets.
public struct VirtualBlock: Sendable {
    /// How a block places allocations.
    public enum Algorithm: Sendable, Hashable, CustomStringConvertible {
        /// Two-level segregated fit: any order of allocations and frees, O(1) in the
        /// usual case. The default.
        case tlsf
        /// Allocations go one after the other; cheap, for the usage patterns of
        /// ``LinearMode``.
        case linear(LinearMode)

        /// `tlsf` or `linear(mode)`.
        public var description: String {
            switch self {
            case .tlsf: return "tlsf"
            case .linear(let mode): return "linear(\(mode))"
            }
        }
    }

    /// The usage pattern of a linear block: detected from the calls made
    /// (`.automatic`) or fixed, in which case calls outside the pattern are refused
    /// with ``VirtualBlockError/wrongFreeOrder(_:mode:)`` or
    /// ``VirtualBlockError/upperAddressUnavailable(_:)``.
    public enum LinearMode: Sendable, Hashable {
        /// Any of the patterns below, as the calls come. Freeing an allocation in the
        /// middle is allowed: it leaves a hole that is reused only once every
        /// allocation between it and an end of its run is freed too.
        case automatic
        /// Allocations are only released all together, by ``VirtualBlock/reset()``.
        case freeAtOnce
        /// Only the last allocation may be freed.
        case stack
        /// Two stacks, one growing up from offset 0 and one growing down from the end
        /// (`upperAddress: true`); only the top of either may be freed.
        case doubleStack
        /// Only the oldest allocation may be freed; allocations wrap around to the
        /// start of the block once the end is reached.
        case ringBuffer
    }

    @usableFromInline var box: CoreBox

    /// Creates an empty block of `size` bytes.
    ///
    /// - Parameters:
    ///   - size: The length of the managed range, in bytes; at least 1.
    ///   - algorithm: How allocations are placed; `.tlsf` by default.
    ///   - granularity: A power of two (Vulkan's `bufferImageGranularity`) such that
    ///     allocations of conflicting ``SuballocationKind``s never share a page of
    ///     this size; 1 turns the rule off.
    /// - Throws: ``VirtualBlockError/zeroBlockSize`` or
    ///   ``VirtualBlockError/granularityNotPowerOfTwo(_:)``.
    public init(size: UInt64, algorithm: Algorithm = .tlsf, granularity: UInt64 = 1) throws(VirtualBlockError) {
        guard size > 0 else { throw .zeroBlockSize }
        guard isPowerOfTwo(granularity) else { throw .granularityNotPowerOfTwo(granularity) }
        box = CoreBox(Core(blockSize: size, granularity: granularity, algorithm: algorithm))
    }

    /// The length of the managed range, in bytes.
    public var size: UInt64 { box.core.blockSize }

    /// How this block places allocations.
    public var algorithm: Algorithm { box.core.algorithm }

    /// The granularity page size given at creation (1 when off).
    public var granularity: UInt64 { box.core.granularity }

    /// Whether the block has no live allocation.
    @inlinable public var isEmpty: Bool { box.core.allocationCount == 0 }

    /// The number of live allocations.
    @inlinable public var allocationCount: Int { box.core.allocationCount }

    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&box) { box = CoreBox(box.core.copy()) }
    }

    /// Places an allocation of `size` bytes.
    ///
    /// - Parameters:
    ///   - size: Bytes to place; at least 1.
    ///   - alignment: A power of two that the offset is a multiple of; 0 is read as 1,
    ///     as VMA reads it ("no alignment").
    ///   - kind: What the allocation holds, for the granularity rule.
    ///   - strategy: How a TLSF block chooses among fitting free ranges; linear
    ///     blocks ignore it.
    ///   - upperAddress: Places the allocation on the upper stack of a linear block
    ///     used as a double stack.
    ///   - userData: A value kept with the allocation for the caller.
    /// - Returns: The allocation's handle, offset and size.
    /// - Throws: ``VirtualBlockError/zeroSize``,
    ///   ``VirtualBlockError/alignmentNotPowerOfTwo(_:)``,
    ///   ``VirtualBlockError/sizeOverflow(size:alignment:)``,
    ///   ``VirtualBlockError/upperAddressUnavailable(_:)`` or
    ///   ``VirtualBlockError/outOfRoom(size:alignment:largestFreeRange:)``; the block
    ///   is then unchanged for every observer (recently freed ranges may have been
    ///   merged meanwhile, which no observer can tell).
    /// - Complexity: TLSF: O(1) with `.bestFit` and `.firstFit` while the block has
    ///   room, O(free ranges of one size class) before reporting out of room, and
    ///   O(free ranges) with `.lowestOffset`. Linear: O(1).
    public mutating func allocate(size: UInt64, alignment: UInt64 = 1, kind: SuballocationKind = .unknown,
                                  strategy: AllocationStrategy = .bestFit, upperAddress: Bool = false,
                                  userData: UInt64 = 0) throws(VirtualBlockError) -> VirtualAllocation {
        guard size > 0 else { throw .zeroSize }
        let alignment = max(alignment, 1)
        guard isPowerOfTwo(alignment) else { throw .alignmentNotPowerOfTwo(alignment) }
        guard size <= UInt64.max - (alignment - 1) else { throw .sizeOverflow(size: size, alignment: alignment) }
        makeUnique()
        if !upperAddress, let filled = box.core.allocateAtUntouchedTail(size: size, alignment: alignment,
                                                                         kind: kind.rawValue, userData: userData) {
            return filled
        }
        return try box.core.allocate(size: size, alignment: alignment, kind: kind.rawValue, strategy: strategy,
                                     upperAddress: upperAddress, userData: userData)
    }

    /// Releases an allocation; its handle becomes stale.
    ///
    /// The range is free at once for every observer (statistics, iteration, and any
    /// allocation that finds no other room). Once a TLSF block has used 16,384
    /// records (about 10,000 live allocations with their free ranges, at its peak;
    /// this stays so after `reset()` and in copies), merging the range with its free
    /// neighbours and offering it to `.bestFit` and `.firstFit` allocations waits for
    /// the next two frees: by then the records involved are in the cache, which keeps
    /// free-then-allocate steps about as fast with 100,000 live allocations as with
    /// 10,000 (W5 against W1).
    ///
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)``,
    ///   ``VirtualBlockError/staleHandle(_:)`` or, for linear blocks with an explicit
    ///   mode, ``VirtualBlockError/wrongFreeOrder(_:mode:)``; the block is then unchanged.
    /// - Complexity: O(1) (linear blocks: amortised).
    public mutating func free(_ handle: VirtualAllocationHandle) throws(VirtualBlockError) {
        makeUnique()
        try box.core.free(handle)
    }

    /// Releases an allocation only if it lies at `offset`.
    ///
    /// For callers that hold both a handle and the offset it was given with (an
    /// allocator's allocation record): one lookup checks that the handle still means
    /// that allocation and frees it.
    /// - Returns: The freed allocation's size, or nil when the handle's live allocation
    ///   is at another offset (nothing is freed then).
    /// - Throws: as `free(_:)`; the block is then unchanged.
    /// - Complexity: as `free(_:)`.
    public mutating func free(_ handle: VirtualAllocationHandle, at offset: UInt64) throws(VirtualBlockError) -> UInt64? {
        let i = try box.core.liveIndex(handle)
        let size = box.core.records[i].size
        guard box.core.records[i].offset == offset else { return nil }
        makeUnique()
        try box.core.free(live: i, handle)
        return size
    }

    /// Releases every allocation at once; every handle becomes stale.
    /// - Complexity: O(records ever used).
    public mutating func reset() {
        makeUnique()
        box.core.reset()
    }

    /// The offset and size of a live allocation.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    /// - Complexity: O(1).
    public func allocation(_ handle: VirtualAllocationHandle) throws(VirtualBlockError) -> VirtualAllocation {
        let i = try box.core.liveIndex(handle)
        let r = box.core.records[i]
        return VirtualAllocation(handle: handle, offset: r.offset, size: r.size)
    }

    /// The ``SuballocationKind`` a live allocation was made with.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public func kind(of handle: VirtualAllocationHandle) throws(VirtualBlockError) -> SuballocationKind {
        let i = try box.core.liveIndex(handle)
        return SuballocationKind(rawValue: box.core.records[i].kind) ?? .unknown
    }

    /// The alignment a live allocation was placed with (1 for `allocate(at:size:)`).
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public func alignment(of handle: VirtualAllocationHandle) throws(VirtualBlockError) -> UInt64 {
        let i = try box.core.liveIndex(handle)
        return 1 << UInt64(box.core.records[i].alignmentLog2)
    }

    /// The user data of a live allocation.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public func userData(of handle: VirtualAllocationHandle) throws(VirtualBlockError) -> UInt64 {
        let i = try box.core.liveIndex(handle)
        return box.core.userData(of: i)
    }

    /// Replaces the user data of a live allocation.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public mutating func setUserData(_ userData: UInt64, for handle: VirtualAllocationHandle) throws(VirtualBlockError) {
        let i = try box.core.liveIndex(handle)
        makeUnique()
        box.core.setUserData(userData, of: i)
    }

    /// Replaces the user data of a live allocation only if it lies at `offset` and holds
    /// `expected`: one lookup for a container that keeps a freed range allocated for
    /// reuse and tells its users' handles apart by a serial in the user data (a
    /// `BufferArena` does).
    /// - Returns: The allocation's size, or nil when it lies at another offset or holds
    ///   other user data (nothing changes then).
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``;
    ///   the block is then unchanged.
    /// - Complexity: O(1).
    public mutating func replaceUserData(_ expected: UInt64, with userData: UInt64, for handle: VirtualAllocationHandle,
                                         at offset: UInt64) throws(VirtualBlockError) -> UInt64? {
        let i = try box.core.liveIndex(handle)
        guard box.core.records[i].offset == offset, box.core.userData(of: i) == expected else { return nil }
        makeUnique()
        box.core.setUserData(userData, of: i)
        return box.core.records[i].size
    }

    /// The name of a live allocation, if one was set.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public func name(of handle: VirtualAllocationHandle) throws(VirtualBlockError) -> String? {
        let i = try box.core.liveIndex(handle)
        return box.core.names[i]
    }

    /// Names a live allocation (nil removes the name), for debugging and reports.
    /// Names are kept apart from the allocation records, so unnamed blocks pay nothing.
    /// - Throws: ``VirtualBlockError/unknownHandle(_:)`` or ``VirtualBlockError/staleHandle(_:)``.
    public mutating func setName(_ name: String?, for handle: VirtualAllocationHandle) throws(VirtualBlockError) {
        let i = try box.core.liveIndex(handle)
        makeUnique()
        box.core.names[i] = name
    }

    /// Makes frees deferred from `records` used records on (0: always), for tests
    /// of deferred merging in small blocks.
    mutating func setDeferralThreshold(_ records: Int) {
        makeUnique()
        box.core.deferralThreshold = records
    }

    /// Checks every internal invariant and stops the program on the first violation:
    /// allocations and free ranges tile the block without overlap, alignment and
    /// granularity hold, the TLSF free lists and bitmaps (or the linear vectors) agree
    /// with the ranges, and the counters agree with a recount. For tests.
    /// - Complexity: O(records + size classes).
    public func _checkInvariants() {
        box.core.checkInvariants()
    }
}

extension Core {
    mutating func allocate(size: UInt64, alignment: UInt64, kind: UInt8, strategy: AllocationStrategy,
                           upperAddress: Bool, userData: UInt64) throws(VirtualBlockError) -> VirtualAllocation {
        let a: UInt32
        let offset: UInt64
        switch algorithm {
        case .tlsf:
            guard !upperAddress else { throw .upperAddressUnavailable(algorithm) }
            guard let (i, o) = tlsfPlace(size: size, alignment: alignment, kind: kind, strategy: strategy) else {
                throw .outOfRoom(size: size, alignment: alignment, largestFreeRange: tlsfLargestFree())
            }
            reserveSlots(2)
            a = tlsfCommit(range: i, at: o, size: size, alignment: alignment, kind: kind, userData: userData)
            offset = o
        case .linear(let mode):
            if upperAddress {
                guard mode == .automatic || mode == .doubleStack, linear.secondUse != .ring else {
                    throw .upperAddressUnavailable(algorithm)
                }
            }
            guard let (vector, o) = linearFind(size: size, alignment: alignment, kind: kind, upperAddress: upperAddress) else {
                throw .outOfRoom(size: size, alignment: alignment, largestFreeRange: gapStatistics().largest)
            }
            a = linearCommit(vector: vector, offset: o, size: size, alignment: alignment, kind: kind,
                             upperAddress: upperAddress, userData: userData)
            offset = o
        }
        return VirtualAllocation(handle: VirtualAllocationHandle(index: a, generation: records[a].generation),
                                 offset: offset, size: size)
    }

    mutating func free(_ handle: VirtualAllocationHandle) throws(VirtualBlockError) {
        try free(live: liveIndex(handle), handle)
    }

    /// Frees live allocation `a` (checked by `liveIndex`), whose handle is `handle`.
    @inline(__always)
    mutating func free(live a: UInt32, _ handle: VirtualAllocationHandle) throws(VirtualBlockError) {
        switch algorithm {
        case .tlsf:
            tlsfFree(a)
        case .linear(let mode):
            guard linearFreeAllowed(a) else { throw .wrongFreeOrder(handle, mode: mode) }
            linearFree(a)
        }
    }

    mutating func reset() {
        switch algorithm {
        case .tlsf: resetTLSF()
        case .linear: resetLinear()
        }
    }
}
