import CVulkan
import Testing
@testable import VulkanMemory

/// Many slices of one arena written by the host through their views and by a compute
/// shader (slices.comp), the jobs handed over in a frame-ring slice retired by the
/// submission's fence; every word read back and checked.
@Suite("Buffer arena compute")
struct BufferArenaComputeTests {
    @Test func computeShaderTransformsSlices() throws {
        try withTestDevice { context in
            guard context.queueFlags & VK_QUEUE_COMPUTE_BIT.rawValue != 0 else {
                Issue.record("the test device's queue cannot run compute shaders")
                return
            }
            let allocator = Allocator(device: context.device)
            let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
                usage: [.storageBuffer], memoryUsage: .dynamic, blockSize: 1 << 20, minAlignment: 4, name: "compute"))
            let ring = try FrameRing(allocator: allocator, size: 64 << 10, usage: [.storageBuffer], name: "jobs")
            var random = SplitMix64(seed: 17)

            // Sources and destinations between fillers, half of which are freed, so the
            // pairs land in holes of the buffer as well as at its end.
            var pairs: [(source: BufferSlice, destination: BufferSlice, salt: UInt32)] = []
            var fillers: [BufferSlice] = []
            for index in 0..<300 {
                let words = 1 + random.below(200)
                let source = try arena.allocate(size: words * 4, name: "source \(index)")
                fillers.append(try arena.allocate(size: 4 * (1 + random.below(64))))
                let destination = try arena.allocate(size: words * 4, name: "destination \(index)")
                pairs.append((source, destination, UInt32(index) &* 7919))
                if index.isMultiple(of: 2) { try arena.free(fillers.removeLast()) }
            }
            try #require(arena.statistics.blockCount == 1, "the shader binds one arena buffer")
            let buffer = pairs[0].source.buffer

            for (index, pair) in pairs.enumerated() {
                let words = Int(pair.source.size / 4)
                try arena.map(pair.source).write(contentsOf: (0..<words).map { UInt32(index << 12 | $0) })
                try arena.map(pair.destination).write(contentsOf: [UInt32](repeating: 0xDEAD_BEEF, count: words))
            }
            let jobs = try ring.allocate(size: UInt64(pairs.count * MemoryLayout<SIMD4<UInt32>>.stride))
            try ring.map(jobs).write(contentsOf: pairs.map { pair in
                SIMD4<UInt32>(UInt32(pair.source.offset / 4), UInt32(pair.destination.offset / 4),
                              UInt32(pair.source.size / 4), pair.salt)
            })

            let compute = try SliceCompute(device: context.device, queueFamily: context.queueFamilyIndex)
            defer { compute.destroy() }
            compute.bind(arena: buffer, jobs: jobs)
            try ring.endFrame(completion: .fence(compute.fence!))
            try compute.submit(jobCount: UInt32(pairs.count), queue: context.queue.handle)
            try compute.wait()
            #expect(try ring.retireCompletedFrames() == 1, "the frame retires once its fence signaled")
            #expect(throws: BufferArenaError.alreadyFreed) { try ring.map(jobs) }
            #expect(ring.statistics.sliceCount == 0)

            var checked = 0
            for (index, pair) in pairs.enumerated() {
                let words = Int(pair.source.size / 4)
                let source = try arena.map(pair.source).read(UInt32.self, count: words)
                let result = try arena.map(pair.destination).read(UInt32.self, count: words)
                for word in 0..<words {
                    let input = UInt32(index << 12 | word)
                    #expect(source[word] == input, "source \(index) word \(word) changed")
                    #expect(result[word] == input &* 3 &+ pair.salt, "destination \(index) word \(word): \(result[word])")
                    checked += 1
                }
            }
            #expect(checked > pairs.count)

            for pair in pairs {
                try arena.free(pair.source)
                try arena.free(pair.destination)
            }
            for filler in fillers { try arena.free(filler) }
            #expect(arena.destroy().isEmpty)
            ring.destroy()
            #expect(allocator.liveAllocations().isEmpty)
        }
    }
}
