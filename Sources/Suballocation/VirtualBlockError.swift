/// Why a ``VirtualBlock`` refused a request. After any error the block is exactly as
/// it was before the call.
public enum VirtualBlockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A block cannot have size 0.
    case zeroBlockSize
    /// The granularity given to a block must be a power of two (1 disables it).
    case granularityNotPowerOfTwo(UInt64)
    /// An allocation cannot have size 0.
    case zeroSize
    /// An allocation's alignment must be a power of two.
    case alignmentNotPowerOfTwo(UInt64)
    /// `size + alignment - 1` does not fit in 64 bits, so no offset could hold it.
    case sizeOverflow(size: UInt64, alignment: UInt64)
    /// No free range can hold the request; `largestFreeRange` is the largest free
    /// range of the block, in bytes (alignment, granularity or, for linear blocks,
    /// allocation order may keep even a larger range from being usable).
    case outOfRoom(size: UInt64, alignment: UInt64, largestFreeRange: UInt64)
    /// The handle's index was never issued by this block.
    case unknownHandle(VirtualAllocationHandle)
    /// The handle's allocation was already freed (or the block was reset since), or
    /// its generation was never issued for that record.
    case staleHandle(VirtualAllocationHandle)
    /// A linear block created for an explicit usage pattern was asked to free an
    /// allocation that the pattern does not release at that point.
    case wrongFreeOrder(VirtualAllocationHandle, mode: VirtualBlock.LinearMode)
    /// `upperAddress: true` needs a linear block in `.automatic` or `.doubleStack`
    /// mode that is not currently wrapped as a ring buffer.
    case upperAddressUnavailable(VirtualBlock.Algorithm)
    /// `allocate(at:size:alignment:)` was given an offset that is not a multiple of
    /// the alignment.
    case offsetNotAligned(offset: UInt64, alignment: UInt64)
    /// `allocate(at:size:)` places allocations in TLSF blocks only.
    case placementUnavailable(VirtualBlock.Algorithm)
    /// `allocate(at:size:)` was asked for a range that is not wholly inside one free
    /// range of the block (or that would share a granularity page with an allocation
    /// of a conflicting kind).
    case rangeNotFree(offset: UInt64, size: UInt64)

    /// A message that says what was wrong and what to do about it.
    public var description: String {
        switch self {
        case .zeroBlockSize:
            return "a virtual block needs a size greater than 0"
        case .granularityNotPowerOfTwo(let g):
            return "granularity \(g) is not a power of two; pass 1 to disable it"
        case .zeroSize:
            return "an allocation needs a size greater than 0"
        case .alignmentNotPowerOfTwo(let a):
            return "alignment \(a) is not a power of two"
        case .sizeOverflow(let size, let alignment):
            return "size \(size) with alignment \(alignment) overflows a 64-bit offset"
        case .outOfRoom(let size, let alignment, let largest):
            return "no room for \(size) bytes aligned to \(alignment): the largest free range is \(largest) bytes"
                + (largest >= size ? " (alignment, granularity or allocation order keep it from fitting)" : "")
        case .unknownHandle(let h):
            return "allocation handle \(h) was not issued by this block"
        case .staleHandle(let h):
            return "allocation handle \(h) was already freed (or the block was reset)"
        case .wrongFreeOrder(let h, let mode):
            switch mode {
            case .freeAtOnce:
                return "allocation \(h): a free-at-once block releases its allocations only with reset()"
            case .stack:
                return "allocation \(h) is not the last one made: a stack block frees the last allocation first"
            case .doubleStack:
                return "allocation \(h) is at the top of neither stack: a double-stack block frees the last allocation of either end first"
            case .ringBuffer:
                return "allocation \(h) is not the oldest: a ring-buffer block frees the oldest allocation first"
            case .automatic:
                return "allocation \(h) cannot be freed now"
            }
        case .upperAddressUnavailable(let algorithm):
            return "upper-address allocations need a linear block in .automatic or .doubleStack mode that is not wrapped as a ring buffer (this block: \(algorithm))"
        case let .offsetNotAligned(offset, alignment):
            return "offset \(offset) is not a multiple of the alignment \(alignment)"
        case .placementUnavailable(let algorithm):
            return "allocations at a chosen offset need a TLSF block (this block: \(algorithm))"
        case .rangeNotFree(let offset, let size):
            return "\(size) bytes at offset \(offset) are not inside one free range of the block "
                + "(or would share a granularity page with an allocation of a conflicting kind)"
        }
    }
}
