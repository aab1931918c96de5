import CVulkan
import Testing
@testable import VulkanMemory

/// `TransferQueue` and `Allocator.copyMemory` on lavapipe (every type host-visible) and on
/// profiled devices whose device-local memory the host cannot see, with real command
/// buffers, under the validation layer.
@Suite("TransferTests")
struct TransferTests {
    /// Three bytes with a stride of 3.
    struct RGB: Equatable {
        var r, g, b: UInt8
    }

    /// A vertex as a shader reads it: 16 + 8 bytes, stride 32.
    struct Vertex: Equatable {
        var position: SIMD4<Float>
        var uv: SIMD2<Float>
    }

    static func bufferInfo(size: UInt64, usage: BufferUsage = [.transferSource, .transferDestination, .storageBuffer])
        -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(usage.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    static func imageDescription(width: UInt32, height: UInt32, format: VkFormat = VK_FORMAT_R8G8B8A8_UNORM,
                                 mipLevels: UInt32 = 1, arrayLayers: UInt32 = 1) -> ImageDescription {
        ImageDescription(width: width, height: height, usage: [.transferSource, .transferDestination, .sampled],
                         format: format, mipLevels: mipLevels, arrayLayers: arrayLayers)
    }

    /// The lavapipe queue: the profiled device wraps lavapipe, whose only family is 0.
    static func lavapipeQueue(_ device: VulkanDevice) -> VkQueue {
        var queue: VkQueue?
        device.commandFunctions.getDeviceQueue(device.device, 0, 0, &queue)
        return queue!
    }

    /// No staging buffer is alive: every call gave its own back.
    static func expectNoStaging(_ allocator: Allocator, sourceLocation: SourceLocation = #_sourceLocation) {
        let staging = allocator.liveAllocations().filter { $0.name == TransferQueue.stagingBufferName }
        #expect(staging.isEmpty, "staging buffers left behind: \(staging)", sourceLocation: sourceLocation)
    }

    @Test("Buffers round-trip bytes and typed values, directly on host-visible memory and through staging")
    func bufferRoundTrips() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            for policy in [TransferQueue.Staging.whenNotHostVisible, .always] {
                let transfer = try TransferQueue(context: context, allocator: allocator, staging: policy)
                for usage in [MemoryUsage.gpuOnly, .dynamic, .readback] {
                    let buffer = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(usage))
                    let words = (0..<1024).map { UInt32($0) &* 2_654_435_761 }
                    try transfer.upload(words, to: buffer)
                    #expect(try transfer.download(UInt32.self, count: 1024, from: buffer) == words, "\(policy) \(usage)")

                    // Bytes at an odd offset replace exactly their range.
                    let bytes: [UInt8] = (0..<37).map { UInt8($0 + 200) }
                    try bytes.withUnsafeBytes { try transfer.upload($0, to: buffer, at: 1001) }
                    var back = [UInt8](repeating: 0, count: 41)
                    try back.withUnsafeMutableBytes { try transfer.download(from: buffer, at: 999, into: $0) }
                    let expected = words.withUnsafeBytes { Array($0[999..<1001]) } + bytes
                        + words.withUnsafeBytes { Array($0[1038..<1040]) }
                    #expect(back == expected, "\(policy) \(usage)")

                    // Typed structs at an offset, read back with their stride.
                    let vertices = (0..<10).map { Vertex(position: SIMD4(Float($0), 1, 2, 1), uv: SIMD2(0.5, Float($0))) }
                    try transfer.upload(vertices, to: buffer, at: 512)
                    #expect(try transfer.download(Vertex.self, count: 10, from: buffer, at: 512) == vertices)
                    try allocator.destroyBuffer(buffer)
                }
            }
            Self.expectNoStaging(allocator)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    @Test("A compute-style write by the device before a download is what the download reads")
    func submitThenDownload() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            for policy in [TransferQueue.Staging.whenNotHostVisible, .always] {
                let transfer = try TransferQueue(context: context, allocator: allocator, staging: policy)
                let buffer = try allocator.createBuffer(Self.bufferInfo(size: 256), .usage(.gpuOnly))
                try transfer.upload([UInt32](repeating: 7, count: 64), to: buffer)
                // vkCmdFillBuffer through the public command table: a device write the
                // download's leading barrier must wait for.
                try transfer.submit { commandBuffer in
                    context.device.commandFunctions.cmdFillBuffer(commandBuffer, buffer.buffer, 64, 128, 0xABCD_0123)
                }
                let back = try transfer.download(UInt32.self, count: 64, from: buffer)
                #expect(back == [UInt32](repeating: 7, count: 16) + [UInt32](repeating: 0xABCD_0123, count: 32)
                        + [UInt32](repeating: 7, count: 16), "\(policy)")
                try allocator.destroyBuffer(buffer)
            }
        }
    }

    @Test("Threads share one TransferQueue: each thread's buffer round-trips its own values")
    func threadsShareOneTransferQueue() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let transfer = try TransferQueue(context: context, allocator: allocator, staging: .always)
            let failures = Failures()
            runOnThreads(4) { thread in
                do {
                    let buffer = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.gpuOnly))
                    for round in 0..<10 {
                        let values = (0..<1024).map { UInt32(thread << 24 | round << 16 | $0) }
                        try transfer.upload(values, to: buffer)
                        let back = try transfer.download(UInt32.self, count: 1024, from: buffer)
                        if back != values { failures.append("thread \(thread) round \(round): values differ") }
                    }
                    try allocator.destroyBuffer(buffer)
                } catch {
                    failures.append("thread \(thread): \(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            Self.expectNoStaging(allocator)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    @Test("Images round-trip every mip level and layer, left in the layout the caller names")
    func imageRoundTrips() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let transfer = try TransferQueue(context: context, allocator: allocator)
            let description = Self.imageDescription(width: 16, height: 8, mipLevels: 2, arrayLayers: 3)
            let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
            let image = TransferImage(bound, description)
            #expect(try transfer.byteCount(of: image) == 16 * 8 * 4 * 3)
            #expect(try transfer.byteCount(of: image, mipLevel: 1, layers: 1..<2) == 8 * 4 * 4)

            let level0 = (0..<(16 * 8 * 3)).map { UInt32($0) &* 0x0101_0107 }
            try transfer.upload(level0, to: image, leaving: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
            let level1Layer1 = (0..<(8 * 4)).map { 0xFF00_0000 | UInt32($0) }
            try transfer.upload(level1Layer1, to: image, mipLevel: 1, layers: 1..<2,
                                leaving: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
            #expect(try transfer.download(UInt32.self, from: image, in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
                    == level0)
            // A layer of level 0 alone, leaving the image in another layout, then read from it.
            let layer2 = try transfer.download(UInt32.self, from: image, layers: 2..<3,
                                               in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                                               leaving: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
            #expect(layer2 == Array(level0[(16 * 8 * 2)...]))
            var bytes = [UInt8](repeating: 0, count: 8 * 4 * 4)
            try bytes.withUnsafeMutableBytes {
                try transfer.download(from: image, mipLevel: 1, layers: 1..<2, in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                                      into: $0)
            }
            #expect(bytes == level1Layer1.withUnsafeBytes { Array($0) })
            // Layer 2 was left in TRANSFER_SRC_OPTIMAL; upload from that layout.
            let replaced = [UInt32](repeating: 0x1234_5678, count: 16 * 8)
            try transfer.upload(replaced, to: image, layers: 2..<3, from: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                leaving: VK_IMAGE_LAYOUT_GENERAL)
            #expect(try transfer.download(UInt32.self, from: image, layers: 2..<3, in: VK_IMAGE_LAYOUT_GENERAL) == replaced)

            // A float format: R32G32B32A32_SFLOAT texels as SIMD4<Float>.
            let floatDescription = Self.imageDescription(width: 5, height: 3, format: VK_FORMAT_R32G32B32A32_SFLOAT)
            let floatBound = try allocator.createImage(floatDescription.exclusiveCreateInfo, floatDescription.memory)
            let floatImage = TransferImage(floatBound, floatDescription)
            let texels = (0..<15).map { SIMD4<Float>(Float($0), -Float($0), 0.25, 1) }
            try transfer.upload(texels, to: floatImage, leaving: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
            #expect(try transfer.download(SIMD4<Float>.self, from: floatImage, in: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
                    == texels)
            try allocator.destroyImage(floatBound)
            try allocator.destroyImage(bound)
            Self.expectNoStaging(allocator)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    @Test("Zero-length, out-of-range and mismatched transfers are typed errors that leave nothing behind")
    func typedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            for policy in [TransferQueue.Staging.whenNotHostVisible, .always] {
                let transfer = try TransferQueue(context: context, allocator: allocator, staging: policy)
                let buffer = try allocator.createBuffer(Self.bufferInfo(size: 100), .usage(.gpuOnly))
                try transfer.upload([UInt8](repeating: 1, count: 100), to: buffer)

                #expect(throws: TransferError.emptyTransfer(operation: "upload to buffer")) {
                    try transfer.upload([UInt32](), to: buffer)
                }
                #expect(throws: TransferError.emptyTransfer(operation: "download from buffer")) {
                    _ = try transfer.download(UInt32.self, count: 0, from: buffer)
                }
                #expect(throws: TransferError.outOfRange(operation: "upload to buffer", offset: 98, size: 4, limit: 100)) {
                    try transfer.upload([UInt32(9)], to: buffer, at: 98)
                }
                #expect(throws: TransferError.outOfRange(operation: "download from buffer", offset: 101, size: 1,
                                                         limit: 100)) {
                    _ = try transfer.download(UInt8.self, count: 1, from: buffer, at: 101)
                }
                // The buffer's memory is padded past 100 bytes; the padding is not the buffer's.
                #expect(throws: TransferError.outOfRange(operation: "download from buffer", offset: 0, size: 104,
                                                         limit: 100)) {
                    _ = try transfer.download(UInt32.self, count: 26, from: buffer)
                }
                // Nothing was written by the refused calls.
                #expect(try transfer.download(UInt8.self, count: 100, from: buffer) == [UInt8](repeating: 1, count: 100))
                try allocator.destroyBuffer(buffer)
            }

            let transfer = try TransferQueue(context: context, allocator: allocator)
            let description = Self.imageDescription(width: 4, height: 4, mipLevels: 2, arrayLayers: 2)
            let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
            let image = TransferImage(bound, description)
            let ready = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
            #expect(throws: TransferError.emptyTransfer(operation: "upload to image")) {
                try transfer.upload([UInt32](), to: image, leaving: ready)
            }
            #expect(throws: TransferError.imageSubresourceOutOfRange(operation: "upload to image", mipLevel: 2,
                                                                     layers: 0..<2, mipLevels: 2, arrayLayers: 2)) {
                try transfer.upload([UInt32](repeating: 0, count: 4), to: image, mipLevel: 2, leaving: ready)
            }
            #expect(throws: TransferError.imageSubresourceOutOfRange(operation: "download from image", mipLevel: 0,
                                                                     layers: 1..<3, mipLevels: 2, arrayLayers: 2)) {
                _ = try transfer.download(UInt32.self, from: image, layers: 1..<3, in: ready)
            }
            #expect(throws: TransferError.sizeMismatch(operation: "upload to image", expected: 128, given: 64)) {
                try transfer.upload([UInt32](repeating: 0, count: 16), to: image, leaving: ready)
            }
            #expect(throws: TransferError.invalidLayout(operation: "upload to image",
                                                        layout: UInt32(VK_IMAGE_LAYOUT_UNDEFINED.rawValue))) {
                try transfer.upload([UInt32](repeating: 0, count: 32), to: image, leaving: VK_IMAGE_LAYOUT_UNDEFINED)
            }
            // Downloading an image never written, leaving it UNDEFINED, is refused before any command.
            #expect(throws: TransferError.invalidLayout(operation: "download from image",
                                                        layout: UInt32(VK_IMAGE_LAYOUT_UNDEFINED.rawValue))) {
                _ = try transfer.download(UInt32.self, from: image, in: VK_IMAGE_LAYOUT_UNDEFINED)
            }
            // 128 bytes are not a whole number of 3-byte values (refused before any command,
            // so reading the never-written image is not attempted).
            #expect(throws: TransferError.sizeMismatch(operation: "download from image", expected: 128, given: 126)) {
                _ = try transfer.download(RGB.self, from: image, in: ready)
            }
            // The helper still works after the refusals, and they made nothing.
            let texels = (0..<32).map { UInt32($0) }
            try transfer.upload(texels, to: image, leaving: ready)
            #expect(try transfer.download(UInt32.self, from: image, in: ready) == texels)
            try allocator.destroyImage(bound)
            Self.expectNoStaging(allocator)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    @Test("Device-local memory the host cannot see goes through staging (NVIDIA profile over lavapipe)", needsLavapipe)
    func notHostVisible() throws {
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070")) { device in
            let allocator = Allocator(device: device)
            let transfer = try TransferQueue(allocator: allocator, queue: Self.lavapipeQueue(device), queueFamilyIndex: 0)
            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 1 << 16), .usage(.gpuOnly))
            // The profile's rules are checked by the wrapper: mapping this type would be a violation.
            #expect(!allocator.properties.types[buffer.allocation.memoryTypeIndex].isHostVisible)
            let values = (0..<(1 << 14)).map { Float($0) * 0.5 }
            try transfer.upload(values, to: buffer)
            #expect(try transfer.download(Float.self, count: values.count, from: buffer) == values)
            #expect(throws: AllocationError.memory(.notHostVisible(
                typeIndex: buffer.allocation.memoryTypeIndex,
                flags: allocator.properties.types[buffer.allocation.memoryTypeIndex].flags))) {
                try allocator.copyMemory(values, to: buffer.allocation)
            }

            let description = Self.imageDescription(width: 32, height: 32)
            let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
            #expect(!allocator.properties.types[bound.allocation.memoryTypeIndex].isHostVisible)
            let image = TransferImage(bound, description)
            let texels = (0..<(32 * 32)).map { UInt32($0) | 0xFF00_0000 }
            try transfer.upload(texels, to: image, leaving: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
            #expect(try transfer.download(UInt32.self, from: image, in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL) == texels)
            try allocator.destroyImage(bound)
            try allocator.destroyBuffer(buffer)
            Self.expectNoStaging(allocator)
            allocator.freeUnusedPages()
            // withProfiledDevice then checks that no memory, buffer or image is alive.
        }
    }

    @Test("A staging buffer that cannot get memory is a typed error, and nothing is left alive", needsLavapipe)
    func stagingOutOfMemory() throws {
        // Call 1 makes the destination's page; every later vkAllocateMemory fails for a while.
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070"), failingAllocateCalls: Set(2...12)) { device in
            let allocator = Allocator(device: device)
            let transfer = try TransferQueue(allocator: allocator, queue: Self.lavapipeQueue(device), queueFamilyIndex: 0)
            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.gpuOnly))
            do throws(TransferError) {
                try transfer.upload([UInt32](repeating: 5, count: 1024), to: buffer)
                Issue.record("the upload succeeded although no staging memory could be allocated")
            } catch {
                guard case .allocation(let operation, let cause) = error else {
                    Issue.record("expected .allocation, got \(error)")
                    return
                }
                #expect(operation == "upload to buffer")
                guard case .outOfMemory = cause else {
                    Issue.record("expected .outOfMemory, got \(cause)")
                    return
                }
            }
            Self.expectNoStaging(allocator)
            try allocator.destroyBuffer(buffer)
            allocator.freeUnusedPages()
            // withProfiledDevice checks that the staging VkBuffer was destroyed too.
        }
    }

    @Test("Allocator.copyMemory: host bytes into and out of an allocation, flushed and invalidated where not coherent",
          needsLavapipe)
    func hostCopy() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 256, alignment: 16), usage: .staging)
            let values = (0..<32).map { UInt64($0) << 33 | 0x55 }
            try allocator.copyMemory(values, to: allocation)
            #expect(try allocator.copyMemory(from: allocation, as: UInt64.self, count: 32) == values)
            let bytes: [UInt8] = [1, 2, 3, 4, 5]
            try bytes.withUnsafeBytes { try allocator.copyMemory($0, to: allocation, at: 251) }
            var back = [UInt8](repeating: 0, count: 5)
            try back.withUnsafeMutableBytes { try allocator.copyMemory(from: allocation, at: 251, into: $0) }
            #expect(back == bytes)
            #expect(throws: AllocationError.zeroSize) { try allocator.copyMemory([UInt32](), to: allocation) }
            #expect(throws: AllocationError.zeroSize) {
                _ = try allocator.copyMemory(from: allocation, as: UInt32.self, count: 0)
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 252, size: 8, limit: allocation.size))) {
                try allocator.copyMemory([UInt64(1)], to: allocation, at: 252)
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 0, size: 264, limit: allocation.size))) {
                _ = try allocator.copyMemory(from: allocation, as: UInt64.self, count: 33)
            }
            try allocator.free(allocation)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.copyMemory(values, to: allocation) }
        }

        // Intel's read-back type is cached and not coherent: the copies flush and invalidate.
        try withProfiledDevice(try realProfile("Intel(R) HD Graphics 500 (APL 2)")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 1000, alignment: 4), usage: .readback)
            let type = allocation.memoryTypeIndex
            #expect(!allocator.properties.types[type].isHostCoherent)
            let (flushes, invalidates) = (profiled.flushCounts[type], profiled.invalidateCounts[type])
            let values = (0..<250).map { Float($0) / 3 }
            try allocator.copyMemory(values, to: allocation)
            #expect(profiled.flushCounts[type] == flushes + 1)
            #expect(try allocator.copyMemory(from: allocation, as: Float.self, count: 250) == values)
            #expect(profiled.invalidateCounts[type] == invalidates + 1)

            // A download through a staging buffer of that type invalidates it too.
            let transfer = try TransferQueue(allocator: allocator, queue: Self.lavapipeQueue(device), queueFamilyIndex: 0,
                                             staging: .always)
            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 1000), .usage(.gpuOnly))
            try transfer.upload(values, to: buffer)
            let before = profiled.invalidateCounts[type]
            #expect(try transfer.download(Float.self, count: 250, from: buffer) == values)
            #expect(profiled.invalidateCounts[type] == before + 1)
            try allocator.destroyBuffer(buffer)
            try allocator.free(allocation)
            allocator.freeUnusedPages()
        }
    }
}
