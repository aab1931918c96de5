/// How a ``BufferArena`` makes its buffers and places slices in them.
public struct BufferArenaOptions: Sendable {
    /// The usage of every arena buffer (`VkBufferCreateInfo::usage`); it also sets the
    /// slices' offset alignment: `minUniformBufferOffsetAlignment` with `.uniformBuffer`,
    /// `minStorageBufferOffsetAlignment` with `.storageBuffer`,
    /// `minTexelBufferOffsetAlignment` with texel buffers (the largest that applies).
    /// Add `.shaderDeviceAddress` for ``BufferArena/deviceAddress(of:)``.
    public var usage: BufferUsage
    /// What the memory is for; host-visible intents (`.dynamic`, `.staging`, `.readback`)
    /// make slices mappable (``BufferArena/map(_:)``). Ignored when ``pool`` is set.
    public var memoryUsage: MemoryUsage
    /// Bytes of each arena buffer; a slice larger than this gets a buffer of its own, of
    /// its size, released when the slice is freed.
    public var blockSize: UInt64
    /// The most buffers the arena may hold at once (one-slice buffers included); a
    /// request that needs one more throws ``BufferArenaError/arenaFull(size:alignment:blocks:)``.
    public var maxBlocks: Int
    /// An alignment every slice gets at least (a power of two), on top of the usage's.
    public var minAlignment: UInt64
    /// A custom pool to take the buffers' memory from, instead of ``memoryUsage``.
    public var pool: MemoryPool?
    /// The name of the arena: its buffers' allocations are named after it, so the
    /// allocator's reports and memory map show them.
    public var name: String?

    /// Options for an arena of `usage` buffers in memory meant for `memoryUsage`.
    public init(usage: BufferUsage, memoryUsage: MemoryUsage = .gpuOnly, blockSize: UInt64 = 4 << 20,
                maxBlocks: Int = .max, minAlignment: UInt64 = 1, pool: MemoryPool? = nil, name: String? = nil) {
        self.usage = usage
        self.memoryUsage = memoryUsage
        self.blockSize = blockSize
        self.maxBlocks = maxBlocks
        self.minAlignment = minAlignment
        self.pool = pool
        self.name = name
    }
}
