import CVulkan
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

/// Moving passes at the edges of their life: an allocator dropped with moves in flight, a
/// replacement destroyed before the pass is cancelled, and the next step taken on another
/// thread while a pass finishes or is released.
@Suite("Moving defragmentation: lifetimes and other threads")
struct MovingDefragmentationLifetimeTests {
    /// An allocator dropped while a finished pass waits for the GPU is freed: its parked
    /// release used to hold it through the pass's state, so it and every page it held
    /// lived for ever. The release is dropped with it (its memory goes with the pages; the
    /// old buffers are the caller's to destroy then, as `releaseCompletedMoves` says).
    @Test func anAllocatorDroppedWithMovesInFlightIsFreed() throws {
        try withTestDevice { context in
            weak var dropped: Allocator?
            let frame = try CommandSubmission(context: context)
            var old: [BoundBuffer] = []
            do {
                let allocator = smallPageAllocator(context)
                dropped = allocator
                var buffers = try (0..<96).map { _ in
                    try allocator.createBuffer(BufferDescription(size: 64 << 10, usage: [.transferSource, .transferDestination])
                        .exclusiveCreateInfo, .usage(.gpuOnly))
                }
                try keepEveryThird(&buffers) { (buffer) throws(AllocationError) in try allocator.destroyBuffer(buffer) }
                try frame.begin()
                let pass = try allocator.beginMovingDefragmentation(buffers: buffers, recordingInto: frame.commandBuffer)
                try #require(!pass.buffers.isEmpty)
                let result = pass.finish(after: .fence(frame.fence))
                try frame.submit()
                try frame.wait()
                #expect(allocator.hasMovesInFlight)
                old = Array(result.buffers.keys)
                for buffer in buffers.map({ result.buffers[$0] ?? $0 }) { try allocator.destroyBuffer(buffer) }
            }
            #expect(dropped == nil, "the allocator outlived its last reference: its moves in flight held it")
            // The old VkBuffers the dropped release would have destroyed.
            for buffer in old { context.device.deviceFunctions.destroyBuffer(context.device.device, buffer.buffer, nil) }
        }
    }

    /// A replacement destroyed (against the rules) while its pass is open is not destroyed
    /// again when the pass is cancelled: the validation layer reported the second
    /// `vkDestroyBuffer` of a handle it no longer knew.
    @Test func aReplacementDestroyedBeforeTheCancelIsDestroyedOnce() throws {
        try withTestDevice { context in
            let rig = try MovingDefragmentationTests.Rig(context)
            let buffers = try rig.fragmented()
            let pass = try rig.begin(buffers)
            let (_, replacement) = try #require(pass.buffers.first)
            try rig.allocator.destroyBuffer(replacement)
            pass.cancel()
            try rig.frame.discard()
            rig.allocator._checkInvariants()
            try rig.destroy(buffers)
            #expect(rig.allocator.usage.allocationCount == 0)
        }
    }

    /// `IncrementalDefragmentation.step` gives nil, as documented, when another thread
    /// finishes a pass between its look at the moves in flight and its own pass: it used
    /// to throw `.movesInFlight`. The test holds the dedicated table's lock, which `step`
    /// takes (through `Allocator.usage`) between those two points, and finishes the other
    /// pass meanwhile.
    @Test func aStepRacingAFinishGivesNil() throws {
        try withTestDevice { context in
            let rig = try MovingDefragmentationTests.Rig(context)
            let buffers = try rig.fragmented()
            let pass = try rig.begin(buffers)
            try #require(pass.bytesMoved > 0)
            let state = pass.state
            let other = try CommandSubmission(context: context)
            try other.begin()
            let policy = IncrementalDefragmentation(maxBytesPerStep: .max, startRatio: 0)
            let outcome = Mutex("not run")
            let allocator = rig.allocator
            let commandBuffer = CommandBufferHandle(value: other.commandBuffer)
            let done = DispatchSemaphore(value: 0)
            let before = allocator.dedicated.contentionCount
            allocator.dedicated.withLock { _ in
                Thread {
                    do throws(MovingDefragmentationError) {
                        let step = try policy.step(allocator, buffers: buffers, recordingInto: commandBuffer.value)
                        outcome.withLock { $0 = step == nil ? "nil" : "a pass" }
                        step?.cancel()
                    } catch {
                        outcome.withLock { $0 = "threw \(error)" }
                    }
                    done.signal()
                }.start()
                while allocator.dedicated.contentionCount == before { sched_yield() }
                _ = state.finish(after: .fence(rig.frame.fence))
            }
            done.wait()
            let seen = outcome.withLock { $0 }
            #expect(seen == "nil", "step gave \(seen)")
            _ = consume pass
            try other.discard()
            try rig.frame.submit()
            try rig.frame.wait()
            #expect(try allocator.releaseCompletedMoves() != nil)
        }
    }

    /// A step taken while another thread releases the previous pass waits for the release
    /// and then plans over what it left: it used to find no moves in flight while the
    /// release was still committing, and threw `.defragmentationPassOpen`. The test holds
    /// the set of moved sources, which the release's commit takes, until the step is
    /// waiting too (or has given its answer, as it did before).
    @Test func aStepRacingAReleaseWaitsForIt() throws {
        try withTestDevice { context in
            let rig = try MovingDefragmentationTests.Rig(context)
            let buffers = try rig.fragmented()
            let pass = try rig.begin(buffers)
            try #require(pass.bytesMoved > 0)
            let result = pass.finish(after: .fence(rig.frame.fence))
            try rig.frame.submit()
            try rig.frame.wait()
            let moved = buffers.map { result.buffers[$0] ?? $0 }
            let allocator = rig.allocator
            let other = try CommandSubmission(context: context)
            try other.begin()
            let policy = IncrementalDefragmentation(maxBytesPerStep: .max, startRatio: 0)
            let outcome = Mutex("not run")
            let commandBuffer = CommandBufferHandle(value: other.commandBuffer)
            let released = DispatchSemaphore(value: 0), stepped = DispatchSemaphore(value: 0)
            let setBefore = allocator.movedSources.contentionCount
            allocator.movedSources.withLock { _ in
                Thread {
                    _ = try? allocator.releaseCompletedMoves()
                    released.signal()
                }.start()
                while allocator.movedSources.contentionCount == setBefore { sched_yield() }
                let slotBefore = allocator.movesInFlight.contentionCount
                Thread {
                    do throws(MovingDefragmentationError) {
                        let step = try policy.step(allocator, buffers: moved, recordingInto: commandBuffer.value)
                        outcome.withLock { $0 = step == nil ? "nil" : "a pass" }
                        step?.cancel()
                    } catch {
                        outcome.withLock { $0 = "threw \(error)" }
                    }
                    stepped.signal()
                }.start()
                // The step is waiting for the release, or (before the fix) it answered.
                let deadline = ContinuousClock.now + .seconds(5)
                while allocator.movesInFlight.contentionCount == slotBefore,
                      outcome.withLock({ $0 }) == "not run", ContinuousClock.now < deadline {
                    sched_yield()
                }
            }
            released.wait()
            stepped.wait()
            let seen = outcome.withLock { $0 }
            #expect(!seen.hasPrefix("threw"), "step \(seen)")
            #expect(!allocator.hasMovesInFlight)
            try other.discard()
            try rig.destroy(moved)
        }
    }
}

/// A command buffer handle to hand to another thread (an opaque value never dereferenced
/// by the test).
struct CommandBufferHandle: @unchecked Sendable {
    let value: VkCommandBuffer
}
