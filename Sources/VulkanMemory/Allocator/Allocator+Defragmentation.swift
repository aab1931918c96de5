/// One allocation a defragmentation pass moves: copy `source`'s bytes to `destination`,
/// and re-create whatever was bound to `source` on `destination`.
public struct DefragmentationMove: Sendable, Hashable {
    /// The allocation that moves; it stays valid until the pass is committed.
    public let source: Allocation
    /// Where it moves to: already allocated (same size, alignment, kind, name and
    /// report record), yours from the moment the pass is committed.
    public let destination: Allocation
}

/// What committing a defragmentation pass did.
public struct DefragmentationResult: Sendable, Hashable {
    /// Bytes of sources the commit freed (sources you freed yourself are not counted).
    public var freedBytes: UInt64 = 0
    /// Pages returned to the driver (`vkFreeMemory`).
    public var releasedPages = 0
    /// Bytes of those pages.
    public var releasedBytes: UInt64 = 0
}

/// A planned defragmentation: moves that empty the least-used pages of each memory type
/// into the holes of the others, so those pages can go back to the driver (VMA's
/// defragmentation passes; the library plans and frees, you copy and re-bind).
///
/// To use one:
/// 1. For each move, copy the source's bytes to the destination (`vkCmdCopyBuffer` or,
///    on host-visible memory, through `Allocator.map`), and re-create the buffer or image
///    bound to the source on the destination (`Allocator.createBuffer(_:boundTo:)` for
///    buffers). Vulkan cannot re-bind an existing resource.
/// 2. Once the GPU is done with the sources, `commit()`: it frees the sources still live
///    and releases the emptied pages. Or `cancel()` to undo the plan.
///
/// Until the pass ends, sources and destinations are both live (and counted in
/// `Allocator.usage`), the pages being emptied take no new allocations, and freeing a
/// source yourself is allowed (the commit skips it). A move you cannot make is
/// `ignore(_:)`d: its source stays. A pass ends once: a second
/// `commit()` or `cancel()` throws `.defragmentationPassEnded`; a pass dropped while
/// open is cancelled. Its methods may be called from any thread.
public final class DefragmentationPass: @unchecked Sendable {
    /// The moves, by memory type, each type's largest allocations of a page first.
    public let moves: [DefragmentationMove]
    /// Bytes the moves copy.
    public let bytesToMove: UInt64
    /// Pages the commit releases: all of them, unless you freed sources before the
    /// commit and other allocations were placed in the room they left.
    public let pagesToRelease: Int

    let allocator: Allocator
    /// Per memory type: its moves and the pages they empty.
    let plans: [(typeIndex: Int, moves: [DefragmentationMove], emptied: [EmptiedPage])]
    let ended = Locked(false)
    let ignored = Locked(Set<DefragmentationMove>())

    init(allocator: Allocator, plans: [(typeIndex: Int, moves: [DefragmentationMove], emptied: [EmptiedPage])]) {
        self.allocator = allocator
        self.plans = plans
        moves = plans.flatMap(\.moves)
        bytesToMove = moves.reduce(0) { $0 + $1.source.size }
        pagesToRelease = plans.reduce(0) { $0 + $1.emptied.count }
    }

    /// Marks a move as not done (VMA's "ignore"): the commit frees its destination
    /// instead of its source, which stays where it is, and its page is not released.
    /// Ignoring a move that is not one of this pass's does nothing.
    /// - Throws: `.defragmentationPassEnded` when the pass already ended.
    public func ignore(_ move: DefragmentationMove) throws(AllocationError) {
        let open = ended.withLock { !$0 }
        guard open else { throw .defragmentationPassEnded }
        ignored.withLock { _ = $0.insert(move) }
    }

    /// Frees the sources still live (the destinations of ignored moves) and returns the
    /// emptied pages to the driver.
    /// - Throws: `.defragmentationPassEnded` when the pass already ended.
    /// - Complexity: O(moves + ranges of the emptied pages).
    @discardableResult
    public func commit() throws(AllocationError) -> DefragmentationResult {
        try end()
        let ignored = ignored.withLock { $0 }
        var result = DefragmentationResult()
        for plan in plans {
            let pool = allocator.pools[plan.typeIndex]
            let (freed, released) = pool.commitDefragmentation(plan.moves, plan.emptied, ignored: ignored)
            result.freedBytes += freed
            for memory in released {
                result.releasedPages += 1
                result.releasedBytes += memory.size
                allocator.release(memory, heap: pool.heapIndex)
            }
        }
        return result
    }

    /// Frees the destinations and lets the pages that were to be emptied take
    /// allocations again; the sources stay as they are.
    /// - Throws: `.defragmentationPassEnded` when the pass already ended.
    public func cancel() throws(AllocationError) {
        try end()
        for plan in plans { allocator.pools[plan.typeIndex].cancelDefragmentation(plan.moves, plan.emptied) }
    }

    private func end() throws(AllocationError) {
        let wasEnded = ended.withLock { ended in
            defer { ended = true }
            return ended
        }
        if wasEnded { throw .defragmentationPassEnded }
        allocator.defragmentationOpen.store(false, ordering: .releasing)
    }

    deinit {
        if !ended.withLock({ $0 }) { try? cancel() }
    }
}

extension Allocator {
    /// Plans a defragmentation pass over every memory type's pages.
    ///
    /// Dedicated allocations, contiguous groups (and the pages holding them) stay where
    /// they are. With nothing worth moving the pass has no moves (end it all the same).
    /// One pass may be open at a time.
    /// - Throws: `.defragmentationPassOpen` while another pass of this allocator is open.
    /// - Parameters:
    ///   - maxBytesToMove: the most bytes the pass may copy.
    ///   - maxMoves: the most allocations the pass may move.
    /// - Complexity: O(ranges) per memory type, each type under its own lock.
    public func beginDefragmentation(maxBytesToMove: UInt64 = .max,
                                     maxMoves: Int = .max) throws(AllocationError) -> DefragmentationPass {
        // Two passes at once could move each other's destinations.
        guard defragmentationOpen.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw .defragmentationPassOpen
        }
        var bytes = maxBytesToMove
        var moves = max(maxMoves, 0)
        var plans: [(typeIndex: Int, moves: [DefragmentationMove], emptied: [EmptiedPage])] = []
        for pool in pools {
            let (planned, emptied) = pool.planDefragmentation(bytes: &bytes, moves: &moves)
            if !emptied.isEmpty { plans.append((pool.typeIndex, planned, emptied)) }
        }
        return DefragmentationPass(allocator: self, plans: plans)
    }
}
