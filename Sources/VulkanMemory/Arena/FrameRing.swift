import Suballocation

/// One buffer used as a ring of per-frame slices: slices live until their frame's fence
/// or timeline semaphore value has passed, and are then reused oldest first, with no
/// per-slice free.
///
/// Allocate a frame's slices (``allocate(size:alignment:)``), then close the frame with
/// what signals the end of its GPU work (``endFrame(completion:)``). Frames retire in
/// order once their completion has passed, checked without waiting whenever the ring
/// needs room, at each ``endFrame(completion:)``, or by ``retireCompletedFrames()``. When the
/// frames still in flight hold the whole ring, ``allocate(size:alignment:)`` throws
/// ``BufferArenaError/ringFull(size:alignment:framesInFlight:)`` instead of blocking.
///
/// The buffer is one of the ``Allocator``'s (``Allocator/createBuffer(_:_:options:fileID:line:)``);
/// placement is a linear `VirtualBlock` in ring-buffer mode. A slice's view (``map(_:)``)
/// ends when its frame retires.
///
/// Thread safety: every method may be called from any thread; one lock guards the ring.
/// Slices allocated between two ``endFrame(completion:)`` calls belong to the same frame,
/// whichever thread allocated them.
public final class FrameRing: Sendable {
    /// The allocator that made the ring's buffer; kept alive by the ring.
    public let allocator: Allocator
    /// The ring's bytes.
    public let capacity: UInt64
    /// The alignment every slice gets at least, from the usage's descriptor offset limits
    /// and `minAlignment` (see ``BufferArenaOptions/usage``).
    public let sliceAlignment: UInt64
    let id: UInt64
    let buffer: ArenaBuffer
    let state: Locked<FrameRingState>

    /// Creates the ring's buffer (`vkCreateBuffer`, `vkBindBufferMemory`, mapped where
    /// host-visible).
    ///
    /// - Parameters:
    ///   - allocator: the allocator that makes, binds and maps the ring's buffer.
    ///   - size: the ring's bytes; at least the largest frame's slices with their padding.
    ///   - usage: the buffer's usage, which also sets the slices' alignment.
    ///   - memoryUsage: what the memory is for; `.dynamic` (host-written, device-read) by default.
    ///   - minAlignment: an alignment every slice gets at least (a power of two).
    ///   - pool: a custom pool for the memory instead of `memoryUsage`.
    ///   - name: the buffer allocation's name.
    /// - Throws: ``BufferArenaError/invalidOptions(_:)`` for size 0 or a bad alignment;
    ///   ``BufferArenaError/allocation(_:)`` when the allocator refuses the buffer.
    public init(allocator: Allocator, size: UInt64, usage: BufferUsage, memoryUsage: MemoryUsage = .dynamic,
                minAlignment: UInt64 = 1, pool: MemoryPool? = nil, name: String? = nil) throws(BufferArenaError) {
        guard size > 0 else { throw .invalidOptions("a frame ring needs a size greater than 0") }
        let minimum = max(minAlignment, 1)
        guard minimum & (minimum - 1) == 0 else { throw .invalidOptions("minAlignment \(minAlignment) is not a power of two") }
        let buffer = try ArenaBuffer(allocator: allocator, size: size, usage: usage, memoryUsage: memoryUsage,
                                     pool: pool, name: name)
        // Slices take whole atoms on non-coherent memory: the ranges cover whole atoms only,
        // so the last slice's rounding never passes the buffer's end.
        let usable = size / buffer.granule * buffer.granule
        let ranges: VirtualBlock
        do throws(VirtualBlockError) {
            guard usable > 0 else { throw .zeroBlockSize }
            ranges = try VirtualBlock(size: usable, algorithm: .linear(.ringBuffer))
        } catch {
            allocator.undoBuffer(buffer.bound)
            throw .invalidOptions("a ring of \(size) bytes holds no whole nonCoherentAtomSize atom (\(buffer.granule) bytes)")
        }
        self.allocator = allocator
        self.capacity = ranges.size
        self.sliceAlignment = max(minimum, allocator.device.sliceAlignment(for: usage), buffer.granule)
        self.id = arenaSerial.wrappingAdd(1, ordering: .relaxed).newValue
        self.buffer = buffer
        self.state = Locked(FrameRingState(ranges: ranges))
    }

    /// Destroys the ring's buffer (`vkDestroyBuffer` and the allocator's free) and ends
    /// every slice's view. Call it once the device has finished the frames in flight
    /// (the ring does not wait for them). Later calls throw ``BufferArenaError/destroyed``.
    /// - Complexity: O(frames in flight).
    public func destroy() {
        let wasLive = state.withLock { state in
            guard !state.destroyed else { return false }
            state.destroyed = true
            for frame in state.frames { frame.lifetime.end() }
            state.current.lifetime.end()
            state.frames = []
            return true
        }
        if wasLive { try? allocator.destroyBuffer(buffer.bound) }
    }

    deinit { destroy() }
}

/// The slices of one frame, in allocation order.
struct RingFrame: Sendable {
    let serial: UInt64
    var completion: FrameCompletion?
    var handles: [VirtualAllocationHandle] = []
    /// Ends the views of the frame's slices when it retires.
    let lifetime = ViewLifetime()
}

/// What the ring's lock guards.
struct FrameRingState: Sendable {
    var ranges: VirtualBlock
    /// Closed frames not yet retired, oldest first.
    var frames: [RingFrame] = []
    /// The frame being filled.
    var current = RingFrame(serial: 0)
    var destroyed = false

    init(ranges: VirtualBlock) { self.ranges = ranges }
}
