import CVulkan
import Suballocation

/// A range of a buffer shared with other slices: what a ``BufferArena`` or a ``FrameRing``
/// hands out instead of a `VkBuffer` of its own.
///
/// Bind it as `buffer` at `offset` (`VkDescriptorBufferInfo`, `vkCmdBindVertexBuffers`…):
/// the offset is already aligned for the buffer's usage (see
/// ``BufferArenaOptions/usage``). A slice is a value; it stays meaningful until freed
/// (``BufferArena/free(_:)``) or, for a ring slice, until its frame retires.
public struct BufferSlice: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// The shared `VkBuffer` the slice lies in.
    public let buffer: VkBuffer
    /// The slice's first byte within `buffer`.
    public let offset: UInt64
    /// The slice's length in bytes, as asked for.
    public let size: UInt64
    /// The arena or ring that made it.
    let owner: UInt64
    /// Which of the owner's buffers (0 for a ring).
    let block: UInt32
    /// The range's serial in an arena buffer (`RecycledRanges`), raised each time a slice
    /// of the range is freed; 0 for a ring.
    let serial: UInt32
    /// The buffer slot's generation (arena), or the frame's serial (ring).
    let tag: UInt64
    /// The range's handle in its buffer's `VirtualBlock`.
    let handle: VirtualAllocationHandle

    /// `size bytes at offset in buffer`.
    public var description: String { "\(size) bytes at \(offset) in buffer \(buffer)" }
}

/// A live slice, as ``BufferArena/liveSlices()`` and the arena's leak report give it.
public struct BufferSliceReport: Sendable, Hashable, CustomStringConvertible {
    /// The name given at ``BufferArena/allocate(size:alignment:name:)``, if any.
    public let name: String?
    /// Which of the arena's buffers holds it.
    public let block: Int
    /// Its first byte within that buffer.
    public let offset: UInt64
    /// Bytes it takes in the buffer (its size rounded to `nonCoherentAtomSize` on
    /// non-coherent memory).
    public let size: UInt64

    /// `"name": size bytes at offset of buffer block`.
    public var description: String {
        "\(name.map { "\"\($0)\"" } ?? "unnamed slice"): \(size) bytes at \(offset) of arena buffer \(block)"
    }
}

/// Arena-wide figures, from ``BufferArena/statistics``.
public struct BufferArenaStatistics: Sendable, Hashable {
    /// Live slices.
    public var sliceCount = 0
    /// Bytes the live slices take in their buffers (rounded to `nonCoherentAtomSize` on
    /// non-coherent memory).
    public var sliceBytes: UInt64 = 0
    /// Arena buffers (`VkBuffer`s, each an allocation of the allocator).
    public var blockCount = 0
    /// The arena buffers' sizes added up.
    public var blockBytes: UInt64 = 0
    /// The largest free range of any arena buffer: the largest slice placed without a new buffer.
    public var largestFreeRange: UInt64 = 0
}
