import Testing
import VulkanMemory

// The README's "Using the library" samples. Each function is the README's code, word for
// word between the `// README:` markers; the tests below run them on lavapipe.

/// The tour (README, "Using the library"; also the getting-started article).
func tour(_ context: VulkanContext, camera: Camera) throws -> (camera: Camera, yaml: String) {
    // README: tour
    let allocator = Allocator(device: context.device)

    // nobs-vkmem's chained builders, bound in bulk: .scatter, .contiguous, .privatePage, .dedicated
    let scene = try ResourceBatch
        .buffer(size: UInt64(MemoryLayout<Camera>.stride), usage: .uniformBuffer,
                memory: .usage(.dynamic), name: "camera")
        .nextImage(width: 256, height: 256, usage: [.sampled, .transferDestination], name: "albedo")
        .nextBuffer(size: 64 * 1024, usage: [.vertexBuffer, .transferDestination], name: "mesh")
        .bind(allocator, strategy: .scatter)

    // A bounds-checked view of exactly the buffer's range; flushed/invalidated when non-coherent.
    let view = try allocator.map(scene[0])
    try view.write(camera)                          // host_to_device
    let back = try view.read(Camera.self)           // device_to_host

    let yaml = try allocator.statistics().yaml()    // or .json(), .vmaJSON(), .svg(), .html(): one model
    try allocator.destroy(many: scene)              // ranges merge with free neighbours
    allocator.freeUnusedPages()                     // wholly free pages go back to the driver
    // README: end
    return (back, yaml)
}

/// Single allocations, descriptions, a mapped staging allocation, a reservation and a
/// custom pool (README, "Single allocations").
func singleAllocations(_ context: VulkanContext, bytes: UnsafeRawBufferPointer,
                       families: [UInt32]) throws -> [AllocationReport] {
    let allocator = Allocator(device: context.device)
    let bufferCreateInfo = BufferDescription(size: 4096, usage: [.storageBuffer, .transferDestination])
        .exclusiveCreateInfo
    // README: single
    let bound = try allocator.createBuffer(bufferCreateInfo, .usage(.gpuOnly))   // create + allocate + bind
    try allocator.destroyBuffer(bound)

    // Descriptions yield their create-info; a buffer shared by queue families gets its
    // family array only for the length of the call.
    let mesh = BufferDescription(size: 64 << 10, usage: [.vertexBuffer, .transferDestination])
    let vertices = try allocator.createBuffer(mesh.exclusiveCreateInfo, mesh.memory)
    let shared = try BufferDescription(size: 1 << 20, usage: .storageBuffer, sharedQueueFamilies: families)
        .withCreateInfo { info in try allocator.createBuffer(info, .usage(.gpuOnly)) }

    let staging = try allocator.allocate(MemoryRequirements(size: 1 << 20), usage: .staging,
                                         options: AllocationOptions(mapped: true, name: "upload"))
    staging.mappedPointer!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    try allocator.free(staging)                      // a second free throws .alreadyFreed
    let live = allocator.leaks()                     // live allocations with name, size, type, file:line
    try allocator.reserve(64 << 20, usage: .gpuOnly) // commit up front: no vkAllocateMemory until it is used up

    // A custom pool (VMA's VmaPool): one memory type, pages of one size, 1 to 4 of them.
    let particles = try allocator.makePool(PoolOptions(name: "particles", pageSize: 16 << 20, minPages: 1, maxPages: 4))
    let emitter = try allocator.createBuffer(bufferCreateInfo, in: particles)
    try allocator.destroyBuffer(emitter)
    try allocator.destroyPool(particles)             // refused while it holds allocations
    // README: end
    try allocator.destroyBuffer(vertices)
    try allocator.destroyBuffer(shared)
    allocator.releaseReservations()
    return live
}

/// A transient depth attachment (README, "transient attachments").
func transientDepthBuffer(_ allocator: Allocator) throws -> BoundImage {
    // README: transient
    let depth = ImageDescription(width: 1920, height: 1080,
                                 usage: [.depthStencilAttachment, .transientAttachment],
                                 format: VK_FORMAT_D32_SFLOAT, memory: .usage(.transientAttachment))
    let image = try allocator.createImage(depth.exclusiveCreateInfo, depth.memory)
    // Mali-T760, Apple M1/M2/M3: a LAZILY_ALLOCATED type; desktop GPUs: device-local VRAM.
    // README: end
    return image
}

/// Raw memory as vulkano offers it (README; the vulkano migration article).
func rawMemory(_ context: VulkanContext) throws -> SIMD4<Float> {
    let hostType = MemoryProperties(device: context.device).types.first { $0.isHostVisible }!.index
    // README: raw
    let memory = try DeviceMemory.allocate(on: context.device, size: 65_536, memoryTypeIndex: hostType)
    let view = try memory.map()                      // a second map shares the first, counted
    try view.write(SIMD4<Float>(1, 2, 3, 4), at: 256)
    let value = try view.read(SIMD4<Float>.self, at: 256)
    try memory.unmap()
    try memory.free()
    // README: end
    return value
}

/// The bootstrap's queue (README, "The bootstrap's queue").
func bootstrapQueue(_ context: VulkanContext) -> VulkanQueue {
    // README: queue
    let queue = context.queue            // VulkanQueue: familyIndex, index (0), handle (VkQueue)
    // vkQueueSubmit(queue.handle, …): Vulkan requires your own lock if threads share it.
    // README: end
    return queue
}

/// What a renderer does between making its context and dropping it.
func runRenderer(_ options: VulkanContext.Options) throws {
    let context = try VulkanContext(options: options)
    let allocator = Allocator(device: context.device)
    let buffer = try allocator.createBuffer(BufferDescription(size: 1024, usage: .uniformBuffer).exclusiveCreateInfo,
                                            .usage(.dynamic))
    try allocator.destroyBuffer(buffer)
}

/// Reading the validation layer's messages, leak reports included (README, "Validation
/// messages, leaks included").
func validationMessages() throws -> ValidationLog {
    // README: validation
    let log = ValidationLog { message in print("vulkan: \(message)") }   // the handler is optional
    var options = VulkanContext.Options()
    options.validation = .required
    options.validationLog = log
    try runRenderer(options)            // makes the context, allocators, resources, and drops them
    assert(log.isFinished)              // the device and instance are destroyed
    assert(log.messages.isEmpty, "\(log.messages)")
    // README: end
    return log
}

@Suite struct ReadmeSamples {
    @Test func theTourWritesAndReadsTheCamera() throws {
        try withSampleDevice { context in
            let camera = Camera(position: [1, 2, 3, 1], direction: [0, 0, -1, 0])
            let result = try tour(context, camera: camera)
            #expect(result.camera == camera)
            #expect(result.yaml.contains("camera"))
        }
    }

    @Test func singleAllocationsLeaveNothingBehind() throws {
        try withSampleDevice { context in
            let bytes = [UInt8](repeating: 7, count: 4096)
            let live = try bytes.withUnsafeBytes { bytes in
                try singleAllocations(context, bytes: bytes, families: [context.queueFamilyIndex])
            }
            #expect(live.count == 2)
        }
    }

    @Test func aTransientDepthBufferBinds() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let image = try transientDepthBuffer(allocator)
            try allocator.destroyImage(image)
        }
    }

    @Test func rawMemoryRoundTrips() throws {
        try withSampleDevice { context in
            let value = try rawMemory(context)
            #expect(value == SIMD4<Float>(1, 2, 3, 4))
        }
    }

    @Test func theBootstrapQueueIsTheContexts() throws {
        try withSampleDevice { context in
            #expect(bootstrapQueue(context).familyIndex == context.queueFamilyIndex)
        }
    }

    @Test func aValidationLogIsFinishedAndEmpty() throws {
        let log = try validationMessages()
        #expect(log.isFinished)
        #expect(log.messages.isEmpty)
    }
}
