import Testing
import VulkanMemory

// The samples of the migration articles (VMA, gpu-allocator; vulkano's raw memory is the
// README's `rawMemory(_:)`) and of the Suballocation catalog's virtual-block article.

// MARK: From VMA

/// VMA's usual calls, each followed by its counterpart here.
func vmaStyleFrame(_ allocator: Allocator) throws -> [Float] {
    let uniformInfo = BufferDescription(size: 256, usage: .uniformBuffer).exclusiveCreateInfo
    let textureInfo = ImageDescription(width: 256, height: 256, usage: [.sampled, .transferDestination])
        .exclusiveCreateInfo
    // Sample: vma
    // vmaCreateBuffer with VMA_MEMORY_USAGE_AUTO,
    // VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT | VMA_ALLOCATION_CREATE_MAPPED_BIT:
    let uniforms = try allocator.createBuffer(uniformInfo, .usage(.dynamic),
                                              options: AllocationOptions(mapped: true, name: "uniforms"))
    // vmaCreateImage with VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE:
    let texture = try allocator.createImage(textureInfo, .usage(.gpuOnly))
    // vmaCopyMemoryToAllocation, then vmaCopyAllocationToMemory:
    try allocator.copyMemory([Float](repeating: 1, count: 4), to: uniforms.allocation)
    let check = try allocator.copyMemory(from: uniforms.allocation, as: Float.self, count: 4)
    // vmaDestroyImage, vmaDestroyBuffer:
    try allocator.destroyImage(texture)
    try allocator.destroyBuffer(uniforms)
    // Sample: end
    return check
}

// MARK: From gpu-allocator

/// gpu-allocator's flow: the application creates the buffer, asks the allocator for
/// memory by its requirements and a location, binds, and later frees.
func gpuAllocatorStyleBuffer(_ allocator: Allocator) throws -> UInt64 {
    let device = allocator.device
    // Sample: gpuallocator
    var info = BufferDescription(size: 4096, usage: .uniformBuffer).exclusiveCreateInfo
    var buffer: VkBuffer?
    _ = device.deviceFunctions.createBuffer(device.device, &info, nil, &buffer)         // vkCreateBuffer

    // allocator.allocate(&AllocationCreateDesc { requirements, location: CpuToGpu, linear: true, .. })
    let requirements = allocator.requirements(of: buffer!)                             // kind: .linear
    let allocation = try allocator.allocate(requirements, usage: .dynamic,
                                            options: AllocationOptions(mapped: true, name: "uniforms"))
    _ = device.deviceFunctions.bindBufferMemory(device.device, buffer, allocation.memory, allocation.offset)

    // allocator.free(allocation), then vkDestroyBuffer
    try allocator.free(allocation)
    device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
    // Sample: end
    return requirements.size
}

// MARK: Virtual blocks

/// A TLSF block, a ring buffer and placement at an offset.
func virtualBlocks() throws -> (VirtualBlockStatistics, ring: [UInt64], placed: UInt64, noRoom: Bool) {
    // Sample: virtual
    var heap = try VirtualBlock(size: 1 << 20)                      // TLSF over 1 MiB of anything
    let a = try heap.allocate(size: 4096, alignment: 256)
    let b = try heap.allocate(size: 1000, userData: 42)
    try heap.setName("descriptor table", for: b.handle)
    try heap.free(a.handle)                                          // a.handle is stale from here on
    let statistics = heap.statistics                                 // counts, free bytes, largest range

    var ring = try VirtualBlock(size: 64 << 10, algorithm: .linear(.ringBuffer))
    var offsets: [UInt64] = []
    var inFlight: [VirtualAllocation] = []
    for _ in 0..<6 {                                                 // 16 KiB a frame, three in flight
        if inFlight.count == 3 { try ring.free(inFlight.removeFirst().handle) }   // the oldest frame is done
        let frame = try ring.allocate(size: 16 << 10)
        offsets.append(frame.offset)                                 // wraps back to 0 after the end
        inFlight.append(frame)
    }

    let placed = try heap.allocate(at: 65_536, size: 512)           // exactly there, or an error
    let noRoom = try heap.allocateIfRoom(size: 2 << 20) == nil      // nil, not an error, when full
    // Sample: end
    return (statistics, offsets, placed.offset, noRoom)
}

@Suite struct MigrationSamples {
    @Test func vmaCallsHaveTheirCounterparts() throws {
        try withSampleDevice { context in
            let value = try vmaStyleFrame(Allocator(device: context.device))
            #expect(value == [1, 1, 1, 1])
        }
    }

    @Test func gpuAllocatorFlowBinds() throws {
        try withSampleDevice { context in
            let value = try gpuAllocatorStyleBuffer(Allocator(device: context.device))
            #expect(value >= 4096)
        }
    }

    @Test func virtualBlocksPlaceRanges() throws {
        let (statistics, ring, placed, noRoom) = try virtualBlocks()
        #expect(statistics.allocationCount == 1 && statistics.allocatedBytes == 1000)
        #expect(ring == [0, 16 << 10, 32 << 10, 48 << 10, 0, 16 << 10])
        #expect(placed == 65_536)
        #expect(noRoom)
    }
}
