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
///    bound to the source on the destination (`Allocator.createBuffer(_:boundTo:)` /
///    `createImage(_:boundTo:)`). Vulkan cannot re-bind an existing resource.
/// 2. Once the GPU is done with the sources, `commit()`: it frees the sources still live
///    and releases the emptied pages. Or `cancel()` to undo the plan.
/// 3. Destroy the old resources with `Allocator.destroyBuffer`/`destroyImage`, before or
///    after the commit: after it, the destroy finds the memory already freed by the pass
///    and destroys the `VkBuffer`/`VkImage` alone, so nothing leaks either way.
///
/// Until the pass ends, sources and destinations are both live (and counted in
/// `Allocator.usage`), the pages being emptied take no new allocations, and freeing a
/// source yourself is allowed (the commit skips it). A move you cannot make is
/// `ignore(_:)`d: its source stays.
///
/// A pass is non-copyable and ends exactly once: `commit()` and `cancel()` consume it,
/// so the compiler refuses a second end; a pass dropped while open is cancelled.
/// Move it between threads as any value; its methods take no allocator lock but the
/// memory types'.
public struct DefragmentationPass: ~Copyable, Sendable {
    /// The moves, by memory type, each type's largest allocations of a page first.
    public var moves: [DefragmentationMove] { plan.moves }
    /// Bytes the moves copy.
    public var bytesToMove: UInt64 { plan.bytesToMove }
    /// Pages the commit releases: all of them, unless you freed sources before the
    /// commit and other allocations were placed in the room they left.
    public var pagesToRelease: Int { plan.pagesToRelease }

    let plan: DefragmentationPlan

    /// Keeps the allocator alive while the pass is open: the plan does not (a plan parked
    /// in the allocator for after the GPU would otherwise keep it alive for ever).
    let allocator: Allocator

    init(plan: DefragmentationPlan) {
        self.plan = plan
        allocator = plan.allocator
    }

    /// Marks a move as not done (VMA's "ignore"): the commit frees its destination
    /// instead of its source, which stays where it is, and its page is not released.
    /// Ignoring a move that is not one of this pass's does nothing.
    public func ignore(_ move: DefragmentationMove) { plan.ignore(move) }

    /// Frees the sources still live (the destinations of ignored moves) and returns the
    /// emptied pages to the driver.
    /// - Complexity: O(moves + ranges of the emptied pages).
    @discardableResult
    public consuming func commit() -> DefragmentationResult { plan.commit() }

    /// Frees the destinations and lets the pages that were to be emptied take
    /// allocations again; the sources stay as they are.
    public consuming func cancel() { plan.cancel() }

    deinit { plan.cancel() }
}

/// What a pass carries: the plan per memory type, the moves ignored so far, and whether it
/// ended (the pass's `deinit` runs after `commit()` too, and must then do nothing).
final class DefragmentationPlan: Sendable {
    let moves: [DefragmentationMove]
    let bytesToMove: UInt64
    let pagesToRelease: Int
    /// Unowned: whoever holds the plan (a pass, a moving pass's state) holds the allocator,
    /// except the allocator itself, which parks a finished moving pass's plan until the
    /// GPU is done (`MovesInFlight`) and must not be kept alive by it.
    unowned let allocator: Allocator
    /// Per memory type: its moves and the pages they empty.
    let plans: [(pool: MemoryTypePool, moves: [DefragmentationMove], emptied: [EmptiedPage])]
    private let state = Locked((ended: false, ignored: Set<DefragmentationMove>()))

    init(allocator: Allocator, plans: [(pool: MemoryTypePool, moves: [DefragmentationMove], emptied: [EmptiedPage])]) {
        self.allocator = allocator
        self.plans = plans
        moves = plans.flatMap(\.moves)
        bytesToMove = moves.reduce(0) { $0 + $1.source.size }
        pagesToRelease = plans.reduce(0) { $0 + $1.emptied.count }
    }

    func ignore(_ move: DefragmentationMove) {
        state.withLock { _ = $0.ignored.insert(move) }
    }

    func commit() -> DefragmentationResult {
        guard let ignored = end() else { return DefragmentationResult() }
        // Another pass may begin only once every pool has its moves done.
        defer { allocator.defragmentationOpen.store(false, ordering: .releasing) }
        var result = DefragmentationResult()
        for plan in plans {
            // The moved sources are noted in the same step as the pool frees them: a
            // destroy of an old resource on another thread in between would find its
            // memory freed and not yet noted as moved, refuse it and leave its VkBuffer.
            // The order is the set's lock, then the pool's; nothing takes them the other
            // way round.
            let (freed, freedSources, released) = allocator.movedSources.withLock { moved in
                let outcome = plan.pool.commitDefragmentation(plan.moves, plan.emptied, ignored: ignored)
                moved.formUnion(outcome.1.lazy.filter(\.wasBound).map(\.source))
                return outcome
            }
            result.freedBytes += freed
            if allocator.observers.isActive {
                for move in plan.moves where !ignored.contains(move) { allocator.observers.send(.moved(move)) }
                for (source, _) in freedSources { allocator.reportFreed(source, .defragmentation) }
            }
            for memory in released {
                result.releasedPages += 1
                result.releasedBytes += memory.size
                allocator.ledger.release(memory)
            }
        }
        return result
    }

    func cancel() {
        guard end() != nil else { return }
        defer { allocator.defragmentationOpen.store(false, ordering: .releasing) }
        for plan in plans { plan.pool.cancelDefragmentation(plan.moves, plan.emptied) }
    }

    /// Ends the pass once: the ignored moves the first time, nil afterwards. The caller
    /// lets the next pass begin (`defragmentationOpen`) once its pools are done: a pass
    /// planned in between could take this one's sources, about to be freed, or its
    /// destinations, about to be freed on a cancel, for moves of its own.
    private func end() -> Set<DefragmentationMove>? {
        state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return state.ignored
        }
    }
}

extension Allocator {
    /// Plans a defragmentation pass (VMA's `vmaBeginDefragmentation` and
    /// `vmaBeginDefragmentationPass` in one: each pass is planned afresh from the pages as
    /// they are, so call it again after each commit until a pass has no moves).
    ///
    /// Pages are emptied from the least used up; under budgets too small for a whole
    /// page, the pass moves what fits of it to fuller pages, so passes of a few bytes or
    /// one move (VMA's `maxAllocationsPerPass = 1`) still make progress, and passes run
    /// one after the other, nothing else changing, end with one that has no moves
    /// (`DefragmentationAlgorithm` says what each algorithm moves).
    ///
    /// Dedicated allocations, contiguous groups (and the pages holding them) and reserved
    /// pages (`Allocator.reserve`, a pool's `minPages`) give nothing up. Moves stay in
    /// their memory type and their pool. One pass may be open at a time.
    /// - Throws: `.defragmentationPassOpen` while another pass of this allocator is open;
    ///   `.unknownAllocation` for a pool of another allocator or one destroyed;
    ///   `.unsupportedForLinearPool` for a linear pool. Nothing changes then.
    /// - Parameters:
    ///   - pool: the custom pool to defragment (VMA's `VmaDefragmentationInfo::pool`);
    ///     nil, the default, for the allocator's own pages of every memory type.
    ///   - maxBytesToMove: the most bytes the pass may copy (`maxBytesPerPass`).
    ///   - maxMoves: the most allocations the pass may move (`maxAllocationsPerPass`).
    ///   - algorithm: how moves are chosen (`VMA_DEFRAGMENTATION_FLAG_ALGORITHM_*`).
    ///   - shouldStop: asked while planning, before each page and before each move of a
    ///     page moved in part; once it returns true the pass keeps the moves planned so
    ///     far (VMA's `pfnBreakCallback`). It runs under a memory type's lock: it must not
    ///     call into this allocator.
    /// - Complexity: O(ranges) per memory type, each type under its own lock, and one
    ///   TLSF search per placement tried (see `DefragmentationAlgorithm`).
    public func beginDefragmentation(in pool: MemoryPool? = nil, maxBytesToMove: UInt64 = .max, maxMoves: Int = .max,
                                     algorithm: DefragmentationAlgorithm = .balanced,
                                     shouldStop: () -> Bool = { false }) throws(AllocationError) -> DefragmentationPass {
        DefragmentationPass(plan: try planDefragmentation(in: pool, maxBytesToMove: maxBytesToMove, maxMoves: maxMoves,
                                                          algorithm: algorithm, shouldStop: shouldStop))
    }

    /// `beginDefragmentation`'s plan, with `canMove` to leave sources where they are (a
    /// moving pass moves only the resources it was given): the pass stays open until
    /// the plan is committed or cancelled.
    func planDefragmentation(in pool: MemoryPool?, maxBytesToMove: UInt64, maxMoves: Int,
                             algorithm: DefragmentationAlgorithm, canMove: (Allocation) -> Bool = { _ in true },
                             drain: Bool = false, shouldStop: () -> Bool) throws(AllocationError) -> DefragmentationPlan {
        let targets: [MemoryTypePool]
        if let pool {
            let pages = try poolPages(pool)
            // A destroyed pool's number may serve another pool now.
            guard customPools.withLock({ $0.pools.indices.contains(pool.index) && $0.pools[pool.index]?.pool === pages })
            else { throw .unknownAllocation }
            // VMA does not defragment linear pools either: their order is their meaning.
            if pages.isLinear { throw .unsupportedForLinearPool(pool: pool.name, operation: "defragmentation") }
            targets = [pages]
        } else {
            targets = ownPagePools()
        }
        // Two passes at once could move each other's destinations.
        guard defragmentationOpen.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw .defragmentationPassOpen
        }
        var bytes = maxBytesToMove
        var moves = max(maxMoves, 0)
        var plans: [(pool: MemoryTypePool, moves: [DefragmentationMove], emptied: [EmptiedPage])] = []
        for target in targets {
            let (planned, emptied) = target.planDefragmentation(bytes: &bytes, moves: &moves, algorithm: algorithm,
                                                                canMove: canMove, drain: drain, shouldStop: shouldStop)
            if !planned.isEmpty || !emptied.isEmpty { plans.append((target, planned, emptied)) }
        }
        return DefragmentationPlan(allocator: self, plans: plans)
    }
}
