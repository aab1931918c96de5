import CVulkan
import Synchronization
import Testing
@testable import VulkanMemory

/// Per-frame slices in a ring: frames retire oldest first when their fence has signaled,
/// a ring full of frames in flight says so instead of waiting, and a retired frame's
/// views end.
@Suite("Frame ring")
struct FrameRingTests {
    /// An unsignaled fence.
    static func makeFence(_ device: VulkanDevice) throws -> VkFence {
        var info = VkFenceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try SliceCompute.check(device.commandFunctions.createFence(device.device, &info, nil, &fence), "vkCreateFence")
        return fence!
    }

    /// Signals `fence` after the queue's earlier work (an empty submission) and waits for it.
    static func signal(_ fence: VkFence, _ context: VulkanContext) throws {
        let vk = context.device.commandFunctions
        try SliceCompute.check(vk.queueSubmit(context.queue.handle, 0, nil, fence), "vkQueueSubmit")
        var fences: [VkFence?] = [fence]
        try SliceCompute.check(vk.waitForFences(context.device.device, 1, &fences, VkBool32(VK_TRUE), 10_000_000_000),
                               "vkWaitForFences")
    }

    @Test func framesRetireWhenTheirFenceSignals() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let slot: UInt64 = 256
            let ring = try FrameRing(allocator: allocator, size: 16 * slot, usage: [.uniformBuffer], name: "frames")
            #expect(ring.sliceAlignment >= context.device.rawLimits.minUniformBufferOffsetAlignment)
            let fences = try (0..<3).map { _ in try Self.makeFence(context.device) }
            defer { for fence in fences { context.device.commandFunctions.destroyFence(context.device.device, fence, nil) } }

            var frames: [[BufferSlice]] = []
            for frame in 0..<2 {
                var slices: [BufferSlice] = []
                for index in 0..<6 {
                    let slice = try ring.allocate(size: slot)
                    #expect(slice.offset % ring.sliceAlignment == 0)
                    try ring.map(slice).write(contentsOf: [UInt32](repeating: UInt32(frame << 8 | index), count: 64))
                    slices.append(slice)
                }
                frames.append(slices)
                try ring.endFrame(completion: .fence(fences[frame]))
            }
            #expect(ring.statistics.framesInFlight == 2 && ring.statistics.sliceCount == 12)

            // Frame 3 fills the rest, then finds the ring full of frames in flight.
            var third: [BufferSlice] = []
            while true {
                do throws(BufferArenaError) {
                    third.append(try ring.allocate(size: slot))
                } catch {
                    #expect(error == .ringFull(size: slot, alignment: ring.sliceAlignment, framesInFlight: 2))
                    break
                }
            }
            #expect(third.count == 4)
            let before = ring.statistics
            #expect(try ring.retireCompletedFrames() == 0, "no fence has signaled")
            #expect(ring.statistics == before)

            let oldView = try ring.map(frames[0][0])
            try Self.signal(fences[0], context)
            // The allocation that needs room retires frame 1 and wraps into its space.
            let wrapped = try ring.allocate(size: slot)
            #expect(frames[0].contains { $0.offset == wrapped.offset })
            #expect(ring.statistics.framesInFlight == 1)
            #expect(throws: MemoryError.viewEnded) { try oldView.read(UInt32.self) }
            #expect(throws: BufferArenaError.alreadyFreed) { try ring.map(frames[0][1]) }
            // Frame 2's bytes are untouched by the wrap.
            for (index, slice) in frames[1].enumerated() {
                #expect(try ring.map(slice).read(UInt32.self, count: 64).allSatisfy { $0 == UInt32(1 << 8 | index) })
            }
            try ring.endFrame(completion: .fence(fences[2]))
            try Self.signal(fences[1], context)
            try Self.signal(fences[2], context)
            #expect(try ring.retireCompletedFrames() == 2)
            #expect(ring.statistics.sliceCount == 0 && ring.statistics.framesInFlight == 0)
            ring.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// Frames ended with timeline semaphore values retire once the semaphore's counter
    /// (`vkGetSemaphoreCounterValue`) reaches them, in order.
    @Test func framesRetireWhenTheirTimelineValuePasses() throws {
        try withTestDevice(capabilities: [.timelineSemaphore]) { context in
            let device = context.device
            try #require(device.capabilities.contains(.timelineSemaphore), "lavapipe and the H200 offer timeline semaphores")
            let vk = device.commandFunctions
            var type = VkSemaphoreTypeCreateInfo()
            type.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO
            type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE
            var semaphore: VkSemaphore?
            try withUnsafePointer(to: &type) { typePointer in
                var info = VkSemaphoreCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO
                info.pNext = UnsafeRawPointer(typePointer)
                try SliceCompute.check(vk.createSemaphore(device.device, &info, nil, &semaphore), "vkCreateSemaphore")
            }
            defer { vk.destroySemaphore(device.device, semaphore, nil) }
            let timeline = try #require(semaphore)

            /// Signals `value` on the queue (an empty submission) and waits for the queue.
            func signal(_ value: UInt64) throws {
                var values = [value]
                var semaphores: [VkSemaphore?] = [timeline]
                try values.withUnsafeMutableBufferPointer { valuePointer in
                    var timelineInfo = VkTimelineSemaphoreSubmitInfo()
                    timelineInfo.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO
                    timelineInfo.signalSemaphoreValueCount = 1
                    timelineInfo.pSignalSemaphoreValues = UnsafePointer(valuePointer.baseAddress)
                    try withUnsafePointer(to: &timelineInfo) { timelinePointer in
                        try semaphores.withUnsafeMutableBufferPointer { semaphorePointer in
                            var submit = VkSubmitInfo()
                            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                            submit.pNext = UnsafeRawPointer(timelinePointer)
                            submit.signalSemaphoreCount = 1
                            submit.pSignalSemaphores = UnsafePointer(semaphorePointer.baseAddress)
                            try SliceCompute.check(vk.queueSubmit(context.queue.handle, 1, &submit, nil), "vkQueueSubmit")
                        }
                    }
                }
                try SliceCompute.check(vk.queueWaitIdle(context.queue.handle), "vkQueueWaitIdle")
            }

            let allocator = Allocator(device: device)
            let ring = try FrameRing(allocator: allocator, size: 64 << 10, usage: [.storageBuffer], name: "timeline")
            var views: [MappedMemory] = []
            for frame in 1...3 as ClosedRange<UInt64> {
                let slice = try ring.allocate(size: 1024)
                let view = try ring.map(slice)
                try view.write(frame)
                views.append(view)
                try ring.endFrame(completion: .timeline(timeline, value: frame))
            }
            #expect(ring.statistics.framesInFlight == 3)
            try signal(2)
            #expect(try ring.retireCompletedFrames() == 2, "values 1 and 2 have passed")
            #expect(!views[0].isValid && !views[1].isValid)
            #expect(try views[2].read(UInt64.self) == 3)
            try signal(3)
            #expect(try ring.retireCompletedFrames() == 1)
            #expect(ring.statistics.sliceCount == 0)
            ring.destroy()
        }
    }

    /// Several threads fill one frame at once: every slice is distinct, aligned, and keeps
    /// its bytes; the frame then retires whole.
    @Test func ringSlicesFromSeveralThreads() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let ring = try FrameRing(allocator: allocator, size: 1 << 20, usage: [.storageBuffer], name: "threads")
            let failures = Failures()
            let collected = Collected()
            runOnThreads(4) { thread in
                do {
                    var mine: [(BufferSlice, UInt32)] = []
                    for index in 0..<100 {
                        let slice = try ring.allocate(size: 4 * UInt64(1 + index % 16))
                        let value = UInt32(thread << 16 | index)
                        try ring.map(slice).write(contentsOf: [UInt32](repeating: value, count: Int(slice.size / 4)))
                        mine.append((slice, value))
                    }
                    for (slice, value) in mine where try !ring.map(slice).read(UInt32.self, count: Int(slice.size / 4))
                        .allSatisfy({ $0 == value }) {
                        failures.append("thread \(thread): \(slice) overwritten")
                    }
                    collected.add(mine.map(\.0))
                } catch {
                    failures.append("thread \(thread): \(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let slices = collected.all.sorted { $0.offset < $1.offset }
            #expect(slices.count == 400 && ring.statistics.sliceCount == 400)
            for (a, b) in zip(slices, slices.dropFirst()) { #expect(a.offset + a.size <= b.offset, "\(a) overlaps \(b)") }
            #expect(slices.allSatisfy { $0.offset % ring.sliceAlignment == 0 })
            let fence = try Self.makeFence(context.device)
            defer { context.device.commandFunctions.destroyFence(context.device.device, fence, nil) }
            try Self.signal(fence, context)
            try ring.endFrame(completion: .fence(fence))
            #expect(ring.statistics.sliceCount == 0, "the frame retired at its end: its fence had signaled")
            ring.destroy()
        }
    }

    /// Bad input and misuse get typed errors, never a crash.
    @Test func ringMisuseGetsTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: BufferArenaError.self) {
                _ = try FrameRing(allocator: allocator, size: 0, usage: [.uniformBuffer])
            }
            #expect(throws: BufferArenaError.self) {
                _ = try FrameRing(allocator: allocator, size: 4096, usage: [.uniformBuffer], minAlignment: 3)
            }
            let ring = try FrameRing(allocator: allocator, size: 4096, usage: [.storageBuffer])
            let other = try FrameRing(allocator: allocator, size: 4096, usage: [.storageBuffer])
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(usage: [.storageBuffer],
                                                                                          memoryUsage: .dynamic))
            #expect(throws: BufferArenaError.zeroSize) { try ring.allocate(size: 0) }
            #expect(throws: BufferArenaError.alignmentNotPowerOfTwo(6)) { try ring.allocate(size: 4, alignment: 6) }
            #expect(throws: BufferArenaError.sliceTooLarge(size: 8192, alignment: ring.sliceAlignment, capacity: 4096)) {
                try ring.allocate(size: 8192)
            }
            let foreign = try other.allocate(size: 16)
            let arenaSlice = try arena.allocate(size: 16)
            #expect(throws: BufferArenaError.foreignSlice) { try ring.map(foreign) }
            #expect(throws: BufferArenaError.foreignSlice) { try ring.map(arenaSlice) }
            #expect(throws: BufferArenaError.foreignSlice) { try arena.free(foreign) }
            let slice = try ring.allocate(size: 16)
            ring.destroy()
            #expect(throws: BufferArenaError.destroyed) { try ring.allocate(size: 16) }
            #expect(throws: BufferArenaError.destroyed) { try ring.map(slice) }
            #expect(throws: BufferArenaError.destroyed) { try ring.retireCompletedFrames() }
            #expect(throws: BufferArenaError.destroyed) { _ = try ring.deviceAddress(of: slice) }
            try arena.free(arenaSlice)
            // With device addresses: after destroy() the ring's VkBuffer is gone, and the
            // address is refused before any driver call (lavapipe crashed on it).
            if context.device.capabilities.contains(.bufferDeviceAddress) {
                let addressed = try FrameRing(allocator: allocator, size: 4096, usage: [.storageBuffer, .shaderDeviceAddress])
                let first = try addressed.allocate(size: 16)
                #expect(try addressed.deviceAddress(of: first) != 0)
                addressed.destroy()
                #expect(throws: BufferArenaError.destroyed) { _ = try addressed.deviceAddress(of: first) }
            }
        }
    }
}

/// Slices collected from several threads.
///
/// Behind `Locked`, not `Synchronization.Mutex`, for the thread sanitizer (see `Failures`).
final class Collected: Sendable {
    private let slices = Locked<[BufferSlice]>([])
    func add(_ more: [BufferSlice]) { slices.withLock { $0 += more } }
    var all: [BufferSlice] { slices.withLock { $0 } }
}
