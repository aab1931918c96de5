import Logging
import Suballocation
import Synchronization

/// The serial numbers of arenas and rings, so a slice names the one that made it.
let arenaSerial = Atomic<UInt64>(0)

/// Large `VkBuffer`s of one usage and memory intent, cut into slices: many small buffers
/// (uniforms, per-draw data, small meshes, staging chunks) for the cost of a few
/// `vkCreateBuffer`, `vkBindBufferMemory` and driver objects.
///
/// Each arena buffer is an ordinary buffer of the ``Allocator``, made through
/// ``Allocator/createBuffer(_:_:options:fileID:line:)``, so budgets, statistics, pools and
/// leak reports count it; slices are placed in it by a TLSF `VirtualBlock` of its own.
/// A freed slice's range is kept for the next slice of its size (up to 16 a buffer,
/// handed back to the buffer's `VirtualBlock` when a request needs the room or the buffer
/// empties), which makes a free and allocation of same-sized slices cheaper than the TLSF
/// step itself; a freed slice's copies are refused however its range is reused.
/// The arena grows by a buffer of ``BufferArenaOptions/blockSize`` bytes when no buffer
/// has room (up to ``BufferArenaOptions/maxBlocks``) and keeps at most one empty buffer
/// for reuse, releasing the others as they empty.
///
/// Slices outliving the arena: ``destroy()`` (or the arena's deinitialization) reports
/// them as the allocator reports leaked allocations (a warning each, with its name,
/// through swift-log, when ``AllocatorOptions/reportLeaksAtTeardown`` is on) and
/// destroys the buffers; every view of a slice then throws ``MemoryError/viewEnded``.
///
/// The arena buffers must stay where they are: a defragmentation pass that lists one of
/// them (``buffers`` names them) should ``DefragmentationPass/ignore(_:)`` that move: the slices' users hold the
/// buffer's handle and offsets.
///
/// Thread safety: every method may be called from any thread; one lock guards the
/// arena's state (it is held while a new buffer is created).
public final class BufferArena: Sendable {
    /// The allocator whose buffers the arena cuts up; kept alive by the arena.
    public let allocator: Allocator
    /// The options the arena was made with.
    public let options: BufferArenaOptions
    /// The alignment every slice gets at least: the usage's (see
    /// ``BufferArenaOptions/usage``) and ``BufferArenaOptions/minAlignment``, whichever is larger.
    public let sliceAlignment: UInt64
    /// Names this arena in its slices.
    let id: UInt64
    let state: Locked<BufferArenaState>
    let logger = Logger(label: "VulkanMemory.BufferArena")

    /// Creates an empty arena; its first buffer is made by the first slice.
    ///
    /// - Throws: ``BufferArenaError/invalidOptions(_:)`` for a block size of 0, fewer than
    ///   one block, or a minimum alignment that is not a power of two.
    public init(allocator: Allocator, options: BufferArenaOptions) throws(BufferArenaError) {
        guard options.blockSize > 0 else { throw .invalidOptions("blockSize must be greater than 0") }
        guard options.maxBlocks > 0 else { throw .invalidOptions("maxBlocks must be at least 1") }
        let minimum = max(options.minAlignment, 1)
        guard minimum & (minimum - 1) == 0 else {
            throw .invalidOptions("minAlignment \(options.minAlignment) is not a power of two")
        }
        self.allocator = allocator
        self.options = options
        self.sliceAlignment = max(minimum, allocator.device.sliceAlignment(for: options.usage))
        self.id = arenaSerial.wrappingAdd(1, ordering: .relaxed).newValue
        self.state = Locked(BufferArenaState())
    }

    /// Destroys every arena buffer (`vkDestroyBuffer` and the allocator's free), ending
    /// the views of the slices; slices still live are reported as leaks first. Later calls
    /// on the arena throw ``BufferArenaError/destroyed``.
    ///
    /// - Returns: the slices that were still live (empty when every slice was freed).
    /// - Complexity: O(buffers + live slices).
    @discardableResult
    public func destroy() -> [BufferSliceReport] {
        let (buffers, leaks) = state.withLock { state in
            guard !state.destroyed else { return ([BoundBuffer](), [BufferSliceReport]()) }
            let leaks = state.reports()
            state.destroyed = true
            for lifetime in state.lifetimes.values { lifetime.end() }
            state.lifetimes = [:]
            let buffers = state.blocks.compactMap { $0?.buffer.bound }
            state.blocks = []
            return (buffers, leaks)
        }
        if !leaks.isEmpty, allocator.options.reportLeaksAtTeardown {
            logger.warning("BufferArena \(options.name.map { "\"\($0)\"" } ?? "#\(id)") destroyed with \(leaks.count) live slice(s); their buffers are destroyed now")
            for leak in leaks { logger.warning("leak: \(leak)") }
        }
        for bound in buffers { try? allocator.destroyBuffer(bound) }
        return leaks
    }

    deinit { destroy() }
}

/// One arena buffer with its slices' placement.
struct ArenaBlock: Sendable {
    let buffer: ArenaBuffer
    var ranges: VirtualBlock
    /// Freed ranges kept for the next slice of their size (`RecycledRanges`).
    var recycled = RecycledRanges()
    /// Whether a named slice was ever placed here: a recycled range's name is removed
    /// then, and only then (a look-up the other buffers need not pay).
    var hasNames = false
}

/// What the arena's lock guards.
struct BufferArenaState: Sendable {
    /// The buffers by slot; nil where a buffer was released (its slot is reused).
    var blocks: [ArenaBlock?] = []
    /// Each slot's generation, raised when its buffer is released, so a slice of a
    /// released buffer is told apart from one of the slot's next buffer.
    var generations: [UInt64] = []
    /// The lifetimes of the slices that were mapped, ended when the slice is freed.
    var lifetimes: [SliceKey: ViewLifetime] = [:]
    /// The slot tried first for a slice: where the last one was placed, or a lower slot
    /// passed over then that still had room for a smallest slice, or a lower slot a slice
    /// was freed from since (it may be empty or out of range by then).
    var preferredBlock = 0
    var destroyed = false

    /// The live slices of every buffer.
    func reports() -> [BufferSliceReport] {
        var reports: [BufferSliceReport] = []
        for (index, block) in blocks.enumerated() {
            guard let block else { continue }
            for range in block.ranges.allocations where !block.recycled.contains(range.handle) {
                reports.append(BufferSliceReport(name: (try? block.ranges.name(of: range.handle)) ?? nil, block: index,
                                                 offset: range.offset, size: range.size))
            }
        }
        return reports
    }
}

/// Names one slice among an arena's: its buffer slot and its range's handle.
struct SliceKey: Hashable, Sendable {
    let block: UInt32
    let handle: VirtualAllocationHandle
}
