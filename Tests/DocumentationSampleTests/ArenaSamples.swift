import Testing
import VulkanMemory

// The samples of the DocC article "Buffer arenas and frame rings".

/// Per-draw uniforms as slices of one arena: allocate, write through the slice's view,
/// bind the shared buffer at the slice's offset, free.
func uniformSlices(_ allocator: Allocator) throws -> (slices: Int, buffers: Int, offsetsAligned: Bool) {
    // Sample: arena-slices
    let arena = try BufferArena(allocator: allocator, options: BufferArenaOptions(
        usage: [.uniformBuffer], memoryUsage: .dynamic, blockSize: 1 << 20, name: "per-draw uniforms"))
    var draws: [BufferSlice] = []
    for draw in 0..<100 {
        let slice = try arena.allocate(size: 256, name: "draw \(draw)")
        try arena.map(slice).write(SIMD4<Float>(Float(draw), 0, 0, 1))
        draws.append(slice)
    }
    // Bind draws[i].buffer at draws[i].offset: the offset is a multiple of
    // minUniformBufferOffsetAlignment already.
    let statistics = arena.statistics     // 100 slices in 1 buffer
    for slice in draws { try arena.free(slice) }
    // Sample: end
    let aligned = draws.allSatisfy { $0.offset % arena.sliceAlignment == 0 }
    arena.destroy()
    return (statistics.sliceCount, statistics.blockCount, aligned)
}

/// A frame's per-frame data in a ring, given back when the frame's fence has signaled.
func frameRing(_ allocator: Allocator, frameFence: VkFence) throws -> (inFlight: Int, retired: Int) {
    // Sample: frame-ring
    let ring = try FrameRing(allocator: allocator, size: 1 << 20, usage: [.uniformBuffer, .storageBuffer],
                             memoryUsage: .dynamic, name: "per-frame")
    let camera = try ring.allocate(size: 256)
    try ring.map(camera).write(SIMD4<Float>(0, 1, 0, 0))
    // … record and submit the frame's command buffers with frameFence …
    try ring.endFrame(completion: .fence(frameFence))
    let inFlight = ring.statistics.framesInFlight     // 1 until the fence signals
    // Later frames retire it once vkGetFenceStatus says the fence has signaled; so does:
    let retired = try ring.retireCompletedFrames()
    // Sample: end
    ring.destroy()
    return (inFlight, retired)
}

@Suite struct ArenaSamples {
    @Test func uniformSlicesShareOneBuffer() throws {
        try withSampleDevice { context in
            let result = try uniformSlices(Allocator(device: context.device))
            #expect(result.slices == 100 && result.buffers == 1 && result.offsetsAligned)
        }
    }

    @Test func frameRingRetiresWithItsFence() throws {
        try withSampleDevice { context in
            let device = context.device
            var info = VkFenceCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
            info.flags = VkFenceCreateFlags(VK_FENCE_CREATE_SIGNALED_BIT.rawValue)
            var fence: VkFence?
            #expect(device.commandFunctions.createFence(device.device, &info, nil, &fence) == VK_SUCCESS)
            defer { device.commandFunctions.destroyFence(device.device, fence, nil) }
            let result = try frameRing(Allocator(device: device), frameFence: try #require(fence))
            // The fence was made signaled, so the frame retires at its end already.
            #expect(result.inFlight == 0 && result.retired == 0)
        }
    }
}
