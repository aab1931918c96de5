import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// Moving passes on the device at hand: real buffers and images with real data, copies
/// recorded into a command buffer that is really submitted, contents read back on the
/// GPU side (through a `TransferQueue` of a second allocator, whose staging buffers stay
/// out of the pages measured), the old objects and pages released only after the fence.
@Suite("Moving defragmentation")
struct MovingDefragmentationTests {
    static let kibibyte: UInt64 = 1 << 10
    static let transferUsage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
                                                      | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
                                                      | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue)

    /// What the tests share: an allocator with 8 MiB pages, a frame's command buffer and
    /// fence, and a transfer helper whose staging buffers come from an allocator of
    /// their own.
    struct Rig {
        let allocator: Allocator
        let frame: CommandSubmission
        let transfer: TransferQueue

        init(_ context: VulkanContext) throws {
            allocator = smallPageAllocator(context)
            frame = try CommandSubmission(context: context)
            transfer = try TransferQueue(context: context, allocator: Allocator(device: context.device), staging: .always)
        }

        func buffer(size: UInt64, usage: VkBufferUsageFlags = transferUsage) throws -> BoundBuffer {
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = size
            info.usage = usage
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            return try allocator.createBuffer(info, .usage(.gpuOnly))
        }

        /// Writes `pattern(index)` into every word of each buffer, on the GPU.
        func fill(_ buffers: [BoundBuffer], pattern: (Int) -> UInt32) throws {
            try transfer.submit { commandBuffer in
                for (index, buffer) in buffers.enumerated() {
                    allocator.device.commandFunctions.cmdFillBuffer(commandBuffer, buffer.buffer, 0, buffer.size,
                                                                    pattern(index))
                }
            }
        }

        /// Whether every word of each buffer holds `pattern(index)`, read back on the GPU side.
        func holds(_ buffers: [BoundBuffer], pattern: (Int) -> UInt32) throws -> Bool {
            for (index, buffer) in buffers.enumerated() {
                let words = try transfer.download(UInt32.self, count: Int(buffer.size / 4), from: buffer)
                guard words.allSatisfy({ $0 == pattern(index) }) else { return false }
            }
            return true
        }

        /// 96 buffers of 64 KiB with their own patterns, two of every three destroyed:
        /// partly used pages.
        func fragmented(usage: VkBufferUsageFlags = transferUsage) throws -> [BoundBuffer] {
            var buffers = try (0..<96).map { _ in try buffer(size: 64 * kibibyte, usage: usage) }
            try keepEveryThird(&buffers) { try allocator.destroyBuffer($0) }
            return buffers
        }

        /// Begins the frame and a moving pass over `buffers` recorded into it.
        func begin(_ buffers: [BoundBuffer]) throws -> MovingDefragmentationPass {
            try frame.begin()
            return try allocator.beginMovingDefragmentation(buffers: buffers, recordingInto: frame.commandBuffer)
        }

        /// `fragmented()`, each buffer filled with its pattern.
        func filledFragments() throws -> [BoundBuffer] {
            let buffers = try fragmented()
            try fill(buffers, pattern: MovingDefragmentationTests.pattern)
            return buffers
        }

        /// Runs one moving pass over `buffers`, submits it, waits and releases; returns the
        /// buffers in their new places and what the release freed.
        func move(_ buffers: [BoundBuffer]) throws -> ([BoundBuffer], DefragmentationResult?) {
            let pass = try begin(buffers)
            let result = pass.finish(after: .fence(frame.fence))
            try frame.submit()
            try frame.wait()
            let released = try allocator.releaseCompletedMoves()
            return (buffers.map { result.buffers[$0] ?? $0 }, released)
        }

        /// Expects that pages were released and that every moved buffer holds its
        /// pattern, then destroys the buffers.
        func expectMovedIntact(_ moved: [BoundBuffer], released: DefragmentationResult?,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect((released?.releasedPages ?? 0) > 0, sourceLocation: sourceLocation)
            #expect(try holds(moved, pattern: MovingDefragmentationTests.pattern), sourceLocation: sourceLocation)
            try destroy(moved)
        }

        func destroy(_ buffers: [BoundBuffer]) throws {
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
        }
    }

    static func pattern(_ index: Int) -> UInt32 { 0x9E37_79B9 &* UInt32(index + 1) }

    @Test func buffersMoveWithTheirDataAndTheOldOnesGoOnlyAfterTheFence() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let buffers = try rig.filledFragments()
            let before = rig.allocator.usage

            let pass = try rig.begin(buffers)
            #expect(!pass.buffers.isEmpty && pass.pagesToRelease > 0)
            #expect(pass.bytesMoved == pass.buffers.keys.reduce(0) { $0 + $1.allocation.size })
            for (old, new) in pass.buffers {
                #expect(old.size == new.size && old.usage == new.usage && old.buffer != new.buffer)
                #expect(old.allocation.memory != new.allocation.memory)
            }
            let result = pass.finish(after: .fence(rig.frame.fence))
            // Finished but not submitted: the fence is unsignalled, nothing goes.
            #expect(try rig.allocator.releaseCompletedMoves() == nil)
            #expect(rig.allocator.hasMovesInFlight)
            #expect(rig.allocator.usage.committedBytes == before.committedBytes)

            try rig.frame.submit()
            try rig.frame.wait()
            let released = try #require(try rig.allocator.releaseCompletedMoves())
            #expect(released.releasedPages == result.pagesToRelease)
            #expect(rig.allocator.usage.committedBytes == before.committedBytes - released.releasedBytes)
            #expect(rig.allocator.usage.liveBytes == before.liveBytes)
            #expect(try rig.allocator.releaseCompletedMoves() == nil)

            let moved = buffers.map { result.buffers[$0] ?? $0 }
            #expect(try rig.holds(moved, pattern: Self.pattern))
            rig.allocator._checkInvariants()
            try rig.destroy(moved)
            #expect(rig.allocator.usage.allocationCount == 0)
        }
    }

    @Test func buffersWithoutTransferUsageAreCopiedThroughBuffersOfTheirOwn() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            // W3's usage: no TRANSFER_SRC, so the pass copies through a second VkBuffer.
            let usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue
                                               | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
            let buffers = try rig.fragmented(usage: usage)
            try rig.fill(buffers, pattern: Self.pattern)
            let (moved, released) = try rig.move(buffers)
            #expect(moved != buffers && (released?.releasedPages ?? 0) > 0)
            // Read back through an aliasing buffer that may be a transfer source.
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            for (index, buffer) in moved.enumerated() {
                info.size = buffer.size
                let alias = try rig.allocator.createAliasingBuffer(info, aliasing: buffer.allocation)
                let view = BoundBuffer(buffer: alias.buffer, allocation: buffer.allocation, size: buffer.size)
                #expect(try rig.holds([view]) { _ in Self.pattern(index) })
                try rig.allocator.destroyAliasingBuffer(alias)
            }
            try rig.destroy(moved)
        }
    }

    @Test func aFenceNeverSignalledReleasesNothingAndHoldsOffTheNextPass() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let buffers = try rig.fragmented()
            let pass = try rig.begin(buffers)
            let result = pass.finish(after: .fence(rig.frame.fence))
            let committed = rig.allocator.usage.committedBytes
            for _ in 0..<3 { #expect(try rig.allocator.releaseCompletedMoves() == nil) }
            #expect(rig.allocator.usage.committedBytes == committed)
            // The pages stay held: no pass of either kind may start.
            let other = try CommandSubmission(context: context)
            try other.begin()
            #expect(throws: MovingDefragmentationError.movesInFlight) {
                _ = try rig.allocator.beginMovingDefragmentation(buffers: buffers, recordingInto: other.commandBuffer)
            }
            #expect(throws: AllocationError.defragmentationPassOpen) { _ = try rig.allocator.beginDefragmentation() }
            try other.submit()
            try other.wait()
            // Once the work is submitted and done, everything goes.
            try rig.frame.submit()
            try rig.frame.wait()
            #expect(try rig.allocator.releaseCompletedMoves() != nil)
            try rig.destroy(buffers.map { result.buffers[$0] ?? $0 })
        }
    }

    @Test func aTimelineValueReleasesOnceTheSemaphoreReachesIt() throws {
        try withTestDevice(capabilities: [.timelineSemaphore]) { context in
            try #require(context.device.capabilities.contains(.timelineSemaphore))
            let functions = context.device.commandFunctions
            var type = VkSemaphoreTypeCreateInfo()
            type.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO
            type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE
            var created: VkSemaphore?
            withUnsafePointer(to: &type) { type in
                var info = VkSemaphoreCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO
                info.pNext = UnsafeRawPointer(type)
                _ = functions.createSemaphore(context.device.device, &info, nil, &created)
            }
            let semaphore = try #require(created)
            defer { functions.destroySemaphore(context.device.device, semaphore, nil) }
            let rig = try Rig(context)
            let buffers = try rig.filledFragments()
            let pass = try rig.begin(buffers)
            let result = pass.finish(after: .timeline(semaphore, value: 7))
            #expect(try rig.allocator.releaseCompletedMoves() == nil)
            // The submission signals 7 when it is done.
            #expect(functions.endCommandBuffer(rig.frame.commandBuffer) == VK_SUCCESS)
            let values: [UInt64] = [7]
            let semaphores: [VkSemaphore?] = [semaphore]
            let commandBuffers: [VkCommandBuffer?] = [rig.frame.commandBuffer]
            let submitted = values.withUnsafeBufferPointer { values in
                semaphores.withUnsafeBufferPointer { semaphores in
                    commandBuffers.withUnsafeBufferPointer { commandBuffers in
                        var timeline = VkTimelineSemaphoreSubmitInfo()
                        timeline.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO
                        timeline.signalSemaphoreValueCount = 1
                        timeline.pSignalSemaphoreValues = values.baseAddress
                        return withUnsafePointer(to: &timeline) { timeline in
                            var submit = VkSubmitInfo()
                            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                            submit.pNext = UnsafeRawPointer(timeline)
                            submit.commandBufferCount = 1
                            submit.pCommandBuffers = commandBuffers.baseAddress
                            submit.signalSemaphoreCount = 1
                            submit.pSignalSemaphores = semaphores.baseAddress
                            return functions.queueSubmit(context.queue.handle, 1, &submit, rig.frame.fence)
                        }
                    }
                }
            }
            #expect(submitted == VK_SUCCESS)
            try rig.frame.wait()
            // The fence and the semaphore are signalled by the same batch in no set order
            // (lavapipe sometimes raises the counter just after the fence): the release
            // waits for the value it was promised, up to a second.
            let completion = FrameCompletion.timeline(semaphore, value: 7)
            var waited = 0
            while try !completion.isReached(on: context.device) {
                waited += 1
                try #require(waited <= 1_000, "the semaphore did not reach 7 within a second of the fence")
                usleep(1_000)
            }
            try rig.expectMovedIntact(buffers.map { result.buffers[$0] ?? $0 },
                                      released: try rig.allocator.releaseCompletedMoves())
        }
    }

    @Test func aPassWhileAnotherIsOpenIsRefusedAndCancellingUndoesIt() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let buffers = try rig.filledFragments()
            let before = rig.allocator.usage
            let pass = try rig.begin(buffers)
            #expect(!pass.buffers.isEmpty)
            #expect(throws: MovingDefragmentationError.allocation(.defragmentationPassOpen)) {
                _ = try rig.allocator.beginMovingDefragmentation(buffers: buffers, recordingInto: rig.frame.commandBuffer)
            }
            // The command buffer holds the copies: it is reset, never submitted.
            pass.cancel()
            try rig.frame.discard()
            #expect(rig.allocator.usage == before)
            #expect(!rig.allocator.hasMovesInFlight)
            rig.allocator._checkInvariants()
            // A pass dropped while open is cancelled too.
            try rig.frame.begin()
            do {
                let dropped = try rig.allocator.beginMovingDefragmentation(buffers: buffers,
                                                                           recordingInto: rig.frame.commandBuffer)
                #expect(dropped.bytesMoved > 0)
            }
            try rig.frame.discard()
            #expect(rig.allocator.usage == before)
            // The pass after it works, and the data are where they were.
            let (moved, released) = try rig.move(buffers)
            try rig.expectMovedIntact(moved, released: released)
        }
    }

    @Test func aFailedReplacementLeavesTheAllocatorAsItWas() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let buffers = try rig.fragmented()
            let before = rig.allocator.usage
            // Every other buffer claims 4 times the bytes its memory holds: its replacement
            // is refused (`.requirementsNotMet`) after others were made.
            let claimed = buffers.enumerated().map { index, buffer in
                index % 2 == 0 ? buffer : BoundBuffer(buffer: buffer.buffer, allocation: buffer.allocation,
                                                      size: buffer.size * 4, usage: buffer.usage)
            }
            try rig.frame.begin()
            #expect {
                _ = try rig.allocator.beginMovingDefragmentation(buffers: claimed, recordingInto: rig.frame.commandBuffer)
            } throws: { error in
                guard case .allocation(.requirementsNotMet) = error as? MovingDefragmentationError else { return false }
                return true
            }
            #expect(rig.allocator.usage == before)
            #expect(!rig.allocator.hasMovesInFlight)
            rig.allocator._checkInvariants()
            // Listing a buffer twice is refused before anything is planned.
            #expect(throws: MovingDefragmentationError.allocation(.duplicateResource)) {
                _ = try rig.allocator.beginMovingDefragmentation(buffers: buffers + [buffers[0]],
                                                                 recordingInto: rig.frame.commandBuffer)
            }
            // Nothing was recorded: the command buffer runs empty.
            try rig.frame.submit()
            try rig.frame.wait()
            try rig.fill(buffers, pattern: Self.pattern)
            let (moved, released) = try rig.move(buffers)
            try rig.expectMovedIntact(moved, released: released)
        }
    }

    @Test func imagesMoveInTheLayoutYouStateAndTheOthersAreLeftToYou() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let description = ImageDescription(width: 256, height: 256,
                                               usage: [.transferSource, .transferDestination, .sampled])
            var images: [BoundImage] = try (0..<48).map { _ in
                try rig.allocator.createImage(description.exclusiveCreateInfo, .usage(.gpuOnly))
            }
            try keepEveryThird(&images) { try rig.allocator.destroyImage($0) }
            let readOnly = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
            for (index, image) in images.enumerated() {
                try rig.transfer.upload([UInt32](repeating: Self.pattern(index), count: 256 * 256),
                                        to: TransferImage(image, description), leaving: readOnly)
            }
            // The last image's layout is not given: the pass re-creates it, you copy it.
            let movable = images.enumerated().map { index, image in
                MovableImage(image, description: description, layout: index == images.count - 1 ? nil : readOnly)
            }
            try rig.frame.begin()
            let pass = try rig.allocator.beginMovingDefragmentation(buffers: [], images: movable,
                                                                    recordingInto: rig.frame.commandBuffer)
            #expect(!pass.images.isEmpty)
            let leftToYou = pass.imagesToCopy
            #expect(leftToYou.allSatisfy { $0.old.layout == nil })
            for copy in leftToYou {
                // Yours to copy: here a plain layout change and a copy of the whole image.
                let functions = context.device.commandFunctions
                var barriers = [copy.old.image.image, copy.new.image].enumerated().map { index, image in
                    var barrier = VkImageMemoryBarrier()
                    barrier.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER
                    barrier.srcAccessMask = VkAccessFlags(VK_ACCESS_MEMORY_WRITE_BIT.rawValue)
                    barrier.dstAccessMask = VkAccessFlags(index == 0 ? VK_ACCESS_TRANSFER_READ_BIT.rawValue
                                                          : VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
                    barrier.oldLayout = index == 0 ? readOnly : VK_IMAGE_LAYOUT_UNDEFINED
                    barrier.newLayout = index == 0 ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL
                    barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
                    barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
                    barrier.image = image
                    barrier.subresourceRange = VkImageSubresourceRange(
                        aspectMask: VkImageAspectFlags(VK_IMAGE_ASPECT_COLOR_BIT.rawValue), baseMipLevel: 0,
                        levelCount: 1, baseArrayLayer: 0, layerCount: 1)
                    return barrier
                }
                functions.cmdPipelineBarrier(rig.frame.commandBuffer,
                                             VkPipelineStageFlags(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT.rawValue),
                                             VkPipelineStageFlags(VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue), 0, 0, nil,
                                             0, nil, 2, &barriers)
                var region = description.copyRegions[0]
                functions.cmdCopyImage(rig.frame.commandBuffer, copy.old.image.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                       copy.new.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region)
            }
            let result = pass.finish(after: .fence(rig.frame.fence))
            try rig.frame.submit()
            try rig.frame.wait()
            #expect((try rig.allocator.releaseCompletedMoves()?.releasedPages ?? 0) > 0)
            for (index, image) in images.enumerated() {
                let new = result.images[image] ?? image
                let wasLeftToYou = leftToYou.contains { $0.new == new }
                let layout = wasLeftToYou ? VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL : readOnly
                let texels = try rig.transfer.download(UInt32.self, from: TransferImage(new, description), in: layout)
                #expect(texels.allSatisfy { $0 == Self.pattern(index) }, "image \(index)")
                try rig.allocator.destroyImage(new)
            }
        }
    }

    @Test func releasingFromSeveralThreadsReleasesOnce() throws {
        try withTestDevice { context in
            let rig = try Rig(context)
            let buffers = try rig.fragmented()
            let pass = try rig.begin(buffers)
            let result = pass.finish(after: .fence(rig.frame.fence))
            try rig.frame.submit()
            try rig.frame.wait()
            let allocator = rig.allocator
            let released = Locked([Int]())
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                let pages = (try? allocator.releaseCompletedMoves())??.releasedPages
                released.withLock { $0.append(pages ?? -1) }
            }
            let answers = released.withLock { $0 }
            #expect(answers.count == 8 && answers.filter { $0 >= 0 } == [result.pagesToRelease])
            try rig.destroy(buffers.map { result.buffers[$0] ?? $0 })
        }
    }
}
