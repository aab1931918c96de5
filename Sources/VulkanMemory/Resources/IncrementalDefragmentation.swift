import CVulkan

/// Defragmentation for a frame loop: at most a fixed number of bytes moved per step, the
/// least-used pages emptied first, so committed memory stays near live memory without a
/// stall.
///
/// Call ``step(_:buffers:images:recordingInto:)`` once per frame (or every few frames)
/// with the frame's command buffer; submit it, and ``MovingDefragmentationPass/finish(after:)``
/// the pass with the frame's fence. A step does nothing (and returns nil) while the
/// previous step's copies are still in flight, while committed memory is within
/// ``startRatio`` of live memory, or when nothing can move.
///
/// Each step is a moving pass (``Allocator/beginMovingDefragmentation(buffers:images:recordingInto:in:maxBytesToMove:maxMoves:algorithm:)``)
/// planned with ``algorithm`` (``DefragmentationAlgorithm/full`` by default) under a
/// budget of ``maxBytesPerStep``: pages are tried from the least used up, a page that
/// fits the budget is emptied whole, and the first that does not gives what fits to
/// fuller pages and *drains* until a later step empties it: its free ranges, and each
/// range freed in it, are blocked, so the frames' own allocations go elsewhere and their
/// frees empty it. A request that finds no room elsewhere takes a draining page's room
/// back before a new page is made, and while a memory type drains, its new pages are an
/// eighth of the preferred size, so committed memory follows live memory in small steps.
///
/// Why `.full` and draining: under a budget, `.balanced` moves nothing from a page the
/// others cannot take whole, and a page given in part and left open is filled again by
/// the frames before the next step. On W3 (`vkmem bench resources --defragment
/// incremental`) the plain `.balanced` step held committed memory at up to 130% of live;
/// these at up to 122.8% with 128 MiB pages, and 107.5% with 1 MiB pages, which cost many
/// more `VkDeviceMemory` objects (the DocC article "Defragmenting memory" has the trade-off).
///
/// Thread safety: a value; ``step(_:buffers:images:recordingInto:)`` may be called from
/// any thread, as the allocator's methods, with the command buffer's external
/// synchronization Vulkan requires.
public struct IncrementalDefragmentation: Sendable, Hashable {
    /// The most bytes one step copies.
    public var maxBytesPerStep: UInt64
    /// Committed bytes over live bytes (``AllocatorUsage``) at or below which a step moves
    /// nothing: moving costs GPU time, and a few percent above live is what page
    /// granularity leaves anyway.
    public var startRatio: Double
    /// How the steps choose their moves.
    public var algorithm: DefragmentationAlgorithm

    /// A policy of at most `maxBytesPerStep` bytes per step, starting above `startRatio`.
    public init(maxBytesPerStep: UInt64, startRatio: Double = 1.0, algorithm: DefragmentationAlgorithm = .full) {
        self.maxBytesPerStep = maxBytesPerStep
        self.startRatio = startRatio
        self.algorithm = algorithm
    }

    /// Releases a finished step the GPU is done with (``Allocator/releaseCompletedMoves()``)
    /// and, if the policy says so, starts the next: a moving pass whose copies are
    /// recorded into `commandBuffer`.
    /// - Returns: the pass to finish once `commandBuffer` is submitted; nil when the
    ///   previous step is still in flight, memory is within ``startRatio``, or nothing
    ///   can move (nothing was recorded then).
    /// - Throws: as `beginMovingDefragmentation`, but for `.movesInFlight`, which is a nil.
    ///   A page the refused step began to drain stays draining: a placement preference,
    ///   which gives its room back as soon as a request needs it.
    /// - Complexity: `Allocator.usage` (O(memory types + dedicated allocations)), then a
    ///   moving pass's cost.
    public func step(_ allocator: Allocator, buffers: [BoundBuffer], images: [MovableImage] = [],
                     recordingInto commandBuffer: VkCommandBuffer) throws(MovingDefragmentationError)
        -> MovingDefragmentationPass? {
        do throws(AllocationError) {
            try allocator.releaseCompletedMoves()
        } catch {
            throw .allocation(error)
        }
        guard !allocator.hasMovesInFlight else { return nil }
        let usage = allocator.usage
        guard Double(usage.committedBytes) > startRatio * Double(usage.liveBytes) else { return nil }
        guard let pass = try beginStep(allocator, buffers: buffers, images: images, recordingInto: commandBuffer) else {
            return nil
        }
        guard pass.bytesMoved > 0 || pass.pagesToRelease > 0 else {
            pass.cancel()
            return nil
        }
        return pass
    }

    /// The step's moving pass; nil when another thread finished a pass since `step`
    /// looked (`.movesInFlight`, which `step` documents as a nil).
    private func beginStep(_ allocator: Allocator, buffers: [BoundBuffer], images: [MovableImage],
                           recordingInto commandBuffer: VkCommandBuffer) throws(MovingDefragmentationError)
        -> MovingDefragmentationPass? {
        do throws(MovingDefragmentationError) {
            return try allocator.beginMoving(buffers: buffers, images: images, recordingInto: commandBuffer, in: nil,
                                             maxBytesToMove: maxBytesPerStep, maxMoves: .max, algorithm: algorithm,
                                             drain: true)
        } catch .movesInFlight {
            return nil
        }
    }
}
