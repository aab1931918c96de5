import CVulkan
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

/// A defragmentation pass ending on one thread while another thread acts on what it
/// moves. Each test holds, on the test's thread, the lock the ending pass must wait for,
/// ends the pass on a second thread, and looks for the moment the other thread could
/// have acted in: a race made to happen every time rather than hoped for.
@Suite("Defragmentation races")
struct DefragmentationRaceTests {
    /// How long the test's thread watches, holding its lock, for the state it looks for.
    static let watch = Duration.milliseconds(100)

    static var info: VkBufferCreateInfo {
        BufferDescription(size: 1 << 20, usage: [.storageBuffer, .transferDestination]).exclusiveCreateInfo
    }

    /// Runs `hold` here, which takes its lock and then calls the function it is given to
    /// start `end` on a thread of its own (not a pool's: the pools' threads may all be
    /// running other tests); returns once both are done.
    static func race(end: @escaping @Sendable () -> Void, hold: (_ start: () -> Void) -> Void) {
        let finished = DispatchSemaphore(value: 0)
        hold {
            Thread {
                end()
                finished.signal()
            }.start()
        }
        finished.wait()
    }

    /// Whether `condition` held at some point within `watch`.
    static func seen(within watch: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + watch
        while ContinuousClock.now < deadline {
            if condition() { return true }
        }
        return false
    }

    /// The commit notes each bound source as moved in the same step as it frees it. It
    /// used to free the sources first and note them after: a `destroyBuffer` of an old
    /// buffer in between found its memory freed and not moved, was refused with
    /// `.alreadyFreed`, and left the `VkBuffer` behind. Here the test's thread holds the
    /// set of moved sources and watches the old buffers' memory while the commit runs.
    @Test func noOldBufferIsFreedBeforeItIsNotedAsMoved() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            var buffers = try (0..<14).map { _ in try allocator.createBuffer(Self.info, .usage(.gpuOnly)) }
            try keepEveryThird(&buffers) { (buffer) throws(AllocationError) in try allocator.destroyBuffer(buffer) }
            let pass = try allocator.beginDefragmentation()
            let sources = Set(pass.moves.map(\.source))
            try #require(!sources.isEmpty)
            var replacements: [BoundBuffer] = []
            for move in pass.moves { replacements.append(try allocator.createBuffer(Self.info, boundTo: move.destination)) }
            let plan = pass.plan
            var freedUnnoted = false
            Self.race(end: { plan.commit() }) { start in
                allocator.movedSources.withLock { moved in
                    start()
                    freedUnnoted = Self.seen(within: Self.watch) {
                        sources.contains { !allocator.isLive($0) && !moved.contains($0) }
                    }
                }
            }
            #expect(!freedUnnoted, "a destroy could have found an old buffer's memory freed and not moved")
            // Each old buffer is destroyed once, its memory taken as freed by the pass.
            for buffer in buffers where sources.contains(buffer.allocation) { try allocator.destroyBuffer(buffer) }
            #expect(allocator.movedSources.withLock { $0.isEmpty })
            _ = consume pass
            try allocator.destroy(many: (buffers.filter { !sources.contains($0.allocation) } + replacements)
                .map { .buffer($0) })
            #expect(allocator.usage.allocationCount == 0)
            allocator._checkInvariants()
        }
    }

    /// A pass lets the next one begin only once its pools are done. It used to clear the
    /// open flag first, so a pass begun on another thread then could plan over the ending
    /// one's sources (about to be freed by its commit) or destinations (about to be freed
    /// by its cancel) and leave its own destinations live with no owner. Here the test's
    /// thread holds a pool of the pass while it ends, and watches the flag.
    @Test(arguments: [true, false])
    func theNextPassWaitsForThePoolsOfTheOneEnding(committing: Bool) throws {
        try withTestDevice { context in
            let (allocator, live) = try DefragmentationTests.fragmented(context, mapped: false)
            let pass = try allocator.beginDefragmentation(maxMoves: 4, algorithm: .full)
            try #require(!pass.moves.isEmpty)
            let plan = pass.plan
            let pool = try #require(plan.plans.first?.pool)
            var openedEarly = false
            Self.race(end: { if committing { plan.commit() } else { plan.cancel() } }) { start in
                pool.state.withLock { _ in
                    start()
                    openedEarly = Self.seen(within: Self.watch) {
                        !allocator.defragmentationOpen.load(ordering: .acquiring)
                    }
                }
            }
            #expect(!openedEarly, "another pass could have begun while this one's pools were not done")
            let stillOpen = allocator.defragmentationOpen.load(ordering: .acquiring)
            #expect(!stillOpen, "the pass ended")
            let next = try allocator.beginDefragmentation()
            #expect(next.moves.allSatisfy { allocator.isLive($0.source) })
            next.cancel()
            let remaining = committing
                ? live.values.filter { allocator.isLive($0) } + pass.moves.map(\.destination)
                : Array(live.values)
            _ = consume pass
            for allocation in remaining { try allocator.free(allocation) }
            #expect(allocator.usage.allocationCount == 0)
            allocator._checkInvariants()
        }
    }
}
