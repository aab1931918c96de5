import CVulkan
import Testing
import VulkanMemory

/// Memory for a buffer and an image the caller created with Vulkan directly (README).
func memoryForUserResources(_ context: VulkanContext, _ allocator: Allocator) throws {
    let device = context.device
    var bufferCreateInfo = BufferDescription(size: 4096, usage: .uniformBuffer).exclusiveCreateInfo
    var imageInfo = ImageDescription(width: 64, height: 64, usage: .sampled).exclusiveCreateInfo
    var created: VkImage?
    #expect(device.deviceFunctions.createImage(device.device, &imageInfo, nil, &created) == VK_SUCCESS)
    let image = try #require(created)
    // README: user-resources
    var buffer: VkBuffer?                            // your vkCreateBuffer, your VkBuffer
    device.deviceFunctions.createBuffer(device.device, &bufferCreateInfo, nil, &buffer)
    let memory = try allocator.allocateMemory(forBuffer: buffer!, .usage(.dynamic))  // its requirements, dedicated wishes included
    try allocator.bind(buffer: buffer!, to: memory)  // offset: n binds n bytes in; a second bind is refused
    // … vkDestroyBuffer, then:
    try allocator.free(memory)

    let texture = try allocator.allocateMemory(forImage: image, tiling: VK_IMAGE_TILING_OPTIMAL, .usage(.gpuOnly))
    try allocator.bind(image: image, tiling: VK_IMAGE_TILING_OPTIMAL, to: texture)
    // README: end
    // Freeing memory before destroying what was bound to it is valid Vulkan, as long as
    // the resource is not used in between.
    device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
    device.deviceFunctions.destroyImage(device.device, image, nil)
    try allocator.free(texture)
}

/// Names and user data changed after allocation (README).
func renaming(_ allocator: Allocator, _ allocation: Allocation, entityID: UInt64) throws -> String? {
    // README: rename
    try allocator.setName("terrain LOD 2", of: allocation)   // nil takes it away; U+FEFF first is .invalidName
    try allocator.setUserData(entityID, of: allocation)
    let name = try allocator.name(of: allocation)             // userData(of:) likewise; a freed allocation throws
    // README: end
    return name
}

/// The owned, non-copyable forms (README).
func ownedForms(_ allocator: Allocator, vertexBufferInfo: VkBufferCreateInfo, imageInfo: VkImageCreateInfo,
                mesh: [Vertex]) throws -> BoundImage {
    // README: owned
    do {
        let vertices = try allocator.createOwnedBuffer(vertexBufferInfo, .usage(.dynamic))
        try vertices.map().write(contentsOf: mesh)    // borrowing: buffer, allocation, bound, map()
        let scratch = try allocator.allocateOwned(MemoryRequirements(size: 1 << 20), .usage(.gpuOnly))
        try scratch.release()                         // now, with the error thrown
    }                                                 // vertices destroyed and freed here
    let plain: BoundImage = try allocator.createOwnedImage(imageInfo, .usage(.gpuOnly)).take()  // yours to destroy again
    let owned = try allocator.own(plain)              // and owned again
    // README: end
    return owned.take()
}

@Suite("README samples: ownership and labels")
struct OwnershipSampleTests {
    @Test func userCreatedResourcesGetMemoryAndBind() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            try memoryForUserResources(context, allocator)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func renamingShowsInReports() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 256), usage: .gpuOnly)
            #expect(try renaming(allocator, allocation, entityID: 42) == "terrain LOD 2")
            #expect(try allocator.userData(of: allocation) == 42)
            #expect(allocator.liveAllocations().first?.name == "terrain LOD 2")
            try allocator.free(allocation)
        }
    }

    @Test func ownedFormsFreeAtTheEndOfTheirScope() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let mesh = [Vertex(position: [0, 0, 0], uv: [0, 0]), Vertex(position: [1, 0, 0], uv: [1, 0])]
            let info = BufferDescription(size: 4096, usage: .vertexBuffer).exclusiveCreateInfo
            let image = try ownedForms(allocator, vertexBufferInfo: info,
                                       imageInfo: ImageDescription(width: 32, height: 32, usage: .sampled).exclusiveCreateInfo,
                                       mesh: mesh)
            #expect(allocator.usage.allocationCount == 1)
            try allocator.destroyImage(image)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
