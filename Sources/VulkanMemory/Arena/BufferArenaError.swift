/// Why a ``BufferArena`` or a ``FrameRing`` refused a call. After any of these errors the
/// arena or ring is exactly as it was before the call: no buffer was kept, no slice placed.
public enum BufferArenaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A slice cannot have size 0.
    case zeroSize
    /// The alignment asked for is not a power of two.
    case alignmentNotPowerOfTwo(UInt64)
    /// The size and alignment together do not fit in 64 bits.
    case sizeOverflow(size: UInt64, alignment: UInt64)
    /// The options cannot make an arena or ring (a block size of 0, no block allowed…).
    case invalidOptions(String)
    /// Every buffer the arena may have (``BufferArenaOptions/maxBlocks``) is too full for the
    /// request.
    case arenaFull(size: UInt64, alignment: UInt64, blocks: Int)
    /// The request is larger than the ring's buffer can ever hold.
    case sliceTooLarge(size: UInt64, alignment: UInt64, capacity: UInt64)
    /// The ring has no room left that the frame being filled and the frames in flight do
    /// not still use; the request waits for the oldest frame's fence or semaphore (nothing
    /// blocks: retry after it passed).
    case ringFull(size: UInt64, alignment: UInt64, framesInFlight: Int)
    /// The slice belongs to another arena or ring.
    case foreignSlice
    /// The slice was freed already (or its ring frame retired).
    case alreadyFreed
    /// The arena or ring was destroyed; its slices are gone with it.
    case destroyed
    /// The arena's memory cannot be mapped: its memory type is not `HOST_VISIBLE`.
    case notHostVisible(memoryTypeIndex: Int)
    /// The allocator refused to create, bind, map or address an arena buffer.
    case allocation(AllocationError)
    /// A Vulkan call failed (`vkGetFenceStatus`, `vkGetSemaphoreCounterValue`).
    case vulkan(VulkanError)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .zeroSize:
            return "a slice needs a size greater than 0"
        case .alignmentNotPowerOfTwo(let alignment):
            return "slice alignment \(alignment) is not a power of two"
        case let .sizeOverflow(size, alignment):
            return "a slice of \(size) bytes aligned to \(alignment) overflows a 64-bit offset"
        case .invalidOptions(let reason):
            return "invalid buffer arena options: \(reason)"
        case let .arenaFull(size, alignment, blocks):
            return "no room for a slice of \(size) bytes aligned to \(alignment) in the arena's \(blocks) buffer(s), "
                + "and maxBlocks allows no more: free slices or raise maxBlocks"
        case let .sliceTooLarge(size, alignment, capacity):
            return "a slice of \(size) bytes aligned to \(alignment) can never fit in a ring of \(capacity) bytes"
        case let .ringFull(size, alignment, frames):
            return "no room for \(size) bytes aligned to \(alignment) in the frame ring: the frame being filled and "
                + "\(frames) frame(s) in flight hold the rest; retry once the oldest frame's fence or semaphore has "
                + "passed, or make the ring larger"
        case .foreignSlice:
            return "the slice belongs to another buffer arena or frame ring"
        case .alreadyFreed:
            return "the slice was already freed (or its frame retired)"
        case .destroyed:
            return "the buffer arena or frame ring was destroyed"
        case .notHostVisible(let index):
            return "the slice's memory (type \(index)) is not host-visible; make the arena with a host-visible "
                + "memory usage (.dynamic, .staging, .readback) to map it"
        case .allocation(let error):
            return "the allocator refused the arena's buffer: \(error)"
        case .vulkan(let error):
            return "\(error)"
        }
    }
}
