// vkmem-example: a GPU round trip with swift-vulkan-memory, readable top to bottom.
//
// 1. Open a device (VulkanContext) and make an allocator and a transfer helper.
// 2. Upload a mesh (vertex + index buffer) and a texture (an image) through the helper
//    into device-local memory, and read all three back to check them.
// 3. Run a compute shader over a storage buffer the allocator placed, read the result
//    back and check every value.
//
// Every Vulkan function is called through the tables the library loaded
// (`device.commandFunctions`), so nothing links against libvulkan and a statically linked
// build runs wherever a Vulkan loader can be opened.
//
// Usage: vkmem-example [--validation] [--always-stage]
//        (or VKMEM_VALIDATION=require, VKMEM_DEVICE=<name>)
// Exits 1, saying what failed, on any error, wrong value or validation message.

import CVulkan
import VulkanMemory
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong, in words; the example prints it and exits 1.
struct ExampleFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Throws `ExampleFailure` naming the Vulkan call when `result` is an error code.
func check(_ result: VkResult, _ function: String) throws {
    let code = VulkanResult(result)
    guard code.isSuccess else { throw ExampleFailure("\(function) failed with \(code)") }
}

/// A vertex as a vertex shader would read it: position and color, 32 bytes.
struct Vertex: Equatable {
    var position: SIMD4<Float>
    var color: SIMD4<Float>
}

/// A unit cube: 8 corners and 12 triangles.
func cubeMesh() -> (vertices: [Vertex], indices: [UInt16]) {
    var vertices: [Vertex] = []
    for corner in 0..<8 {
        let x = Float(corner & 1), y = Float(corner >> 1 & 1), z = Float(corner >> 2 & 1)
        vertices.append(Vertex(position: SIMD4(x - 0.5, y - 0.5, z - 0.5, 1), color: SIMD4(x, y, z, 1)))
    }
    let faces: [[UInt16]] = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    let indices = faces.flatMap { f in [f[0], f[1], f[2], f[0], f[2], f[3]] }
    return (vertices, indices)
}

/// A 64×64 RGBA8 checkerboard of 8-texel squares, one UInt32 per texel (R in the low byte).
func checkerboard(size: Int) -> [UInt32] {
    (0..<(size * size)).map { texel in
        let (x, y) = (texel % size, texel / size)
        return (x / 8 + y / 8) % 2 == 0 ? 0xFFFF_FFFF : 0xFF20_4080 | UInt32(x) << 8
    }
}

func run(validation: VulkanContext.Validation, staging: TransferQueue.Staging) throws {
    // 1. A device (with the validation layer when asked for), then the round trip.
    var options = VulkanContext.Options()
    options.validation = validation
    options.applicationName = "vkmem-example"
    let context = try VulkanContext(options: options)
    let outcome = Result { try roundTrip(context, staging: staging) }
    // Checked after the round trip's resources are destroyed, so their destruction is
    // validated too, and reported even when the round trip failed.
    if let log = context.validationLog {
        let messages = log.drain()
        guard messages.isEmpty else {
            throw ExampleFailure("validation messages:\n" + messages.map { "  \($0)" }.joined(separator: "\n"))
        }
        print("validation layer: no messages")
    }
    try outcome.get()
    print("OK")
}

/// Steps 1 to 3 on `context`; every resource is destroyed when it returns or throws.
func roundTrip(_ context: VulkanContext, staging: TransferQueue.Staging) throws {
    let device = context.device
    print("device: \(device.info.name) (Vulkan \(device.apiVersion)), validation "
          + "\(context.validationEnabled ? "on" : "off"), staging \(staging == .always ? "always" : "where not host-visible")")
    guard context.queueFlags & VK_QUEUE_COMPUTE_BIT.rawValue != 0 else {
        throw ExampleFailure("the device's queue family \(context.queueFamilyIndex) cannot run compute shaders")
    }
    // The allocator places every buffer and image; the transfer helper copies into and
    // out of them on the context's queue.
    let allocator = Allocator(device: device)
    let transfer = try TransferQueue(context: context, allocator: allocator, staging: staging)

    // 2a. The mesh: a vertex and an index buffer in device-local memory (.gpuOnly), filled
    // through the helper (a staging buffer where the host cannot see that memory).
    let mesh = cubeMesh()
    let vertexBytes = UInt64(MemoryLayout<Vertex>.stride * mesh.vertices.count)
    let indexBytes = UInt64(MemoryLayout<UInt16>.stride * mesh.indices.count)
    let vertexBuffer = try allocator.createBuffer(
        bufferInfo(size: vertexBytes, usage: [.vertexBuffer, .transferDestination, .transferSource]), .usage(.gpuOnly),
        options: AllocationOptions(name: "cube vertices"))
    defer { try? allocator.destroyBuffer(vertexBuffer) }
    let indexBuffer = try allocator.createBuffer(
        bufferInfo(size: indexBytes, usage: [.indexBuffer, .transferDestination, .transferSource]), .usage(.gpuOnly),
        options: AllocationOptions(name: "cube indices"))
    defer { try? allocator.destroyBuffer(indexBuffer) }
    try transfer.upload(mesh.vertices, to: vertexBuffer)
    try transfer.upload(mesh.indices, to: indexBuffer)
    print("mesh: \(mesh.vertices.count) vertices (\(vertexBytes) bytes, \(describe(vertexBuffer.allocation, allocator))), "
          + "\(mesh.indices.count) indices (\(indexBytes) bytes, \(describe(indexBuffer.allocation, allocator)))")

    // 2b. The texture: an optimal-tiling RGBA8 image, uploaded and left ready for sampling.
    let textureSize = 64
    let textureDescription = ImageDescription(width: UInt32(textureSize), height: UInt32(textureSize),
                                              usage: [.sampled, .transferDestination, .transferSource],
                                              name: "checkerboard")
    let textureImage = try allocator.createImage(textureDescription.exclusiveCreateInfo, textureDescription.memory,
                                                 options: AllocationOptions(name: "checkerboard"))
    defer { try? allocator.destroyImage(textureImage) }
    let texture = TransferImage(textureImage, textureDescription)
    let texels = checkerboard(size: textureSize)
    try transfer.upload(texels, to: texture, leaving: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
    print("texture: \(textureSize)x\(textureSize) RGBA8 (\(texels.count * 4) bytes, \(describe(textureImage.allocation, allocator))), "
          + "left in SHADER_READ_ONLY_OPTIMAL")

    // 2c. Read all three back and compare with what was sent.
    guard try transfer.download(Vertex.self, count: mesh.vertices.count, from: vertexBuffer) == mesh.vertices else {
        throw ExampleFailure("the vertices read back differ from those uploaded")
    }
    guard try transfer.download(UInt16.self, count: mesh.indices.count, from: indexBuffer) == mesh.indices else {
        throw ExampleFailure("the indices read back differ from those uploaded")
    }
    guard try transfer.download(UInt32.self, from: texture, in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL) == texels else {
        throw ExampleFailure("the texels read back differ from those uploaded")
    }
    print("mesh and texture read back: every vertex, index and texel matches")

    // 3a. The data: 4096 values in a storage buffer the allocator placed.
    let count = 4096
    let add: UInt32 = 7
    let input = (0..<count).map { UInt32($0) * 3 + 1 }
    let storage = try allocator.createBuffer(
        bufferInfo(size: UInt64(count * 4), usage: [.storageBuffer, .transferDestination, .transferSource]),
        .usage(.gpuOnly), options: AllocationOptions(name: "values"))
    defer { try? allocator.destroyBuffer(storage) }
    try transfer.upload(input, to: storage)
    print("storage buffer: \(count) values (\(describe(storage.allocation, allocator)))")

    // 3b. The compute pipeline: shader module, descriptor set layout, pipeline layout with
    // the push constants, pipeline, and a descriptor set naming the storage buffer.
    let pipeline = try ComputePipeline(device: device, spirv: squareShaderSPIRV, storageBuffer: storage)
    defer { pipeline.destroy() }

    // 3c. Dispatch 64 workgroups of 64 invocations, one value each, and wait.
    try transfer.submit { commandBuffer in pipeline.record(commandBuffer, count: UInt32(count), add: add) }

    // 3d. Read the result back and check every value. The download waits for the
    // dispatch's writes (its command buffer starts with a barrier for them).
    let output = try transfer.download(UInt32.self, count: count, from: storage)
    for (index, value) in output.enumerated() {
        let expected = input[index] &* input[index] &+ add
        guard value == expected else {
            throw ExampleFailure("value \(index) is \(value) after the dispatch; expected \(expected)")
        }
    }
    print("compute: \(count) values squared plus \(add) on the device; every one checked "
          + "(first \(output[0]), last \(output[count - 1]))")
}

/// A `VkBufferCreateInfo` for an exclusive buffer.
func bufferInfo(size: UInt64, usage: BufferUsage) -> VkBufferCreateInfo {
    var info = VkBufferCreateInfo()
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
    info.size = size
    info.usage = VkBufferUsageFlags(usage.rawValue)
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
    return info
}

/// "memory type T (FLAGS)" for an allocation.
func describe(_ allocation: Allocation, _ allocator: Allocator) -> String {
    "memory type \(allocation.memoryTypeIndex) (\(allocator.properties.types[allocation.memoryTypeIndex].flags))"
}

let arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print("usage: vkmem-example [--validation] [--always-stage]\n"
          + "Uploads a mesh and a texture, runs a compute shader, reads everything back and checks it.\n"
          + "--validation    requires the Khronos validation layer and fails on any message it reports\n"
          + "--always-stage  copies buffers through staging buffers even where the host can map them\n"
          + "                (as on a discrete GPU's device-local memory)")
    exit(0)
}
let validation: VulkanContext.Validation = arguments.contains("--validation")
    ? .required : VulkanContext.Validation.fromEnvironment()
do {
    try run(validation: validation,
            staging: arguments.contains("--always-stage") ? .always : .whenNotHostVisible)
} catch {
    // Written to file descriptor 2 directly: Glibc's `stderr` is a global var that
    // Swift 6 refuses to touch outside an actor.
    let message = "vkmem-example: \(error)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(1)
}
