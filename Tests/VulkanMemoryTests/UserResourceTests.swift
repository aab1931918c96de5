import CVulkan
import Testing
@testable import VulkanMemory

/// Memory for buffers and images the caller created (`allocateMemory(forBuffer:)`,
/// `allocateMemory(forImage:)`) and binding them (`bind(buffer:to:offset:)`,
/// `bind(image:tiling:to:offset:)`).
@Suite("Memory for resources the caller created")
struct UserResourceTests {
    private static func bufferInfo(size: UInt64 = 4096) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// `vkCreateBuffer` as a user calls it, outside the allocator.
    private static func makeBuffer(_ device: VulkanDevice, size: UInt64 = 4096) throws -> VkBuffer {
        var info = bufferInfo(size: size)
        var buffer: VkBuffer?
        let result = VulkanResult(device.deviceFunctions.createBuffer(device.device, &info, nil, &buffer))
        try #require(result.isSuccess)
        return try #require(buffer)
    }

    /// `vkCreateImage` of a 16×16 sampled optimal-tiling image, outside the allocator.
    private static func makeImage(_ device: VulkanDevice) throws -> VkImage {
        var info = ImageDescription(width: 16, height: 16, usage: .sampled).exclusiveCreateInfo
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        var image: VkImage?
        let result = VulkanResult(device.deviceFunctions.createImage(device.device, &info, nil, &image))
        try #require(result.isSuccess)
        return try #require(image)
    }

    private static func destroy(_ buffer: VkBuffer, _ device: VulkanDevice) {
        device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
    }

    /// The GPU reads what the host wrote through the allocation's mapped view: the buffer is
    /// bound where the allocation says, `offset` bytes in. Copied through a staging buffer
    /// (`vkCmdCopyBuffer` from the user's buffer), so the check does not go through the
    /// same mapping it wrote.
    private static func expectGPUReads(_ words: [UInt32], buffer: VkBuffer, size: UInt64, allocation: Allocation,
                                       context: VulkanContext, allocator: Allocator) throws {
        let transfer = try TransferQueue(context: context, allocator: allocator, staging: .always)
        let bound = BoundBuffer(buffer: buffer, allocation: allocation, size: size)
        #expect(try transfer.download(UInt32.self, count: words.count, from: bound) == words)
    }

    @Test func aUserBufferGetsMemoryAndIsBoundOnce() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let buffer = try Self.makeBuffer(context.device)
            let allocation = try allocator.allocateMemory(forBuffer: buffer, .usage(.dynamic),
                                                          options: AllocationOptions(name: "user buffer"))
            #expect(allocation.size >= allocator.requirements(of: buffer).size)
            #expect(allocator.liveAllocations().map(\.name) == ["user buffer"])
            try allocator.bind(buffer: buffer, to: allocation)

            let words = (0..<1024).map { UInt32($0) &* 2_654_435_761 }
            let view = try allocator.map(allocation)
            try view.write(contentsOf: words)
            try view.flush()
            try Self.expectGPUReads(words, buffer: buffer, size: 4096, allocation: allocation,
                                    context: context, allocator: allocator)

            // A second bind, of this buffer or another, is refused: the allocation is claimed.
            let other = try Self.makeBuffer(context.device)
            for candidate in [buffer, other] {
                #expect(throws: AllocationError.requirementsNotMet(allocation: allocation.description,
                                                                   reason: .alreadyBound)) {
                    try allocator.bind(buffer: candidate, to: allocation)
                }
            }
            Self.destroy(other, context.device)
            Self.destroy(buffer, context.device)
            try allocator.free(allocation)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// `vmaBindBufferMemory2`'s local offset: the buffer sits in the second half of a larger
    /// allocation, and the GPU reads the bytes written there, not those at the start.
    @Test func aBufferBindsAtALocalOffset() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let buffer = try Self.makeBuffer(context.device)
            let needs = allocator.requirements(of: buffer)
            let half = (needs.size + needs.alignment - 1) / needs.alignment * needs.alignment
            let allocation = try allocator.allocate(
                MemoryRequirements(size: 2 * half, alignment: needs.alignment, memoryTypeBits: needs.memoryTypeBits,
                                   kind: .linear), usage: .dynamic)
            // Not a multiple of the alignment, and past the end: refused, nothing claimed.
            if needs.alignment > 1 {
                #expect(throws: AllocationError.requirementsNotMet(
                    allocation: allocation.description,
                    reason: .alignment(needed: needs.alignment, offset: allocation.offset + 1))) {
                    try allocator.bind(buffer: buffer, to: allocation, offset: 1)
                }
            }
            #expect(throws: AllocationError.requirementsNotMet(
                allocation: allocation.description, reason: .size(needed: 2 * half + needs.size, available: allocation.size))) {
                try allocator.bind(buffer: buffer, to: allocation, offset: 2 * half)
            }
            try allocator.bind(buffer: buffer, to: allocation, offset: half)

            let view = try allocator.map(allocation)
            let front = [UInt32](repeating: 0xDEAD_BEEF, count: Int(half / 4))
            let words = (0..<1024).map { UInt32($0) ^ 0x5A5A_0000 }
            try view.write(contentsOf: front)
            try view.write(contentsOf: words, at: half)
            try view.flush()
            try Self.expectGPUReads(words, buffer: buffer, size: 4096, allocation: allocation,
                                    context: context, allocator: allocator)
            Self.destroy(buffer, context.device)
            try allocator.free(allocation)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func aUserImageGetsMemoryAndIsBoundOnce() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let image = try Self.makeImage(context.device)
            let allocation = try allocator.allocateMemory(forImage: image, tiling: VK_IMAGE_TILING_OPTIMAL, .usage(.gpuOnly))
            #expect(allocation.size >= allocator.requirements(of: image, tiling: VK_IMAGE_TILING_OPTIMAL).size)
            try allocator.bind(image: image, tiling: VK_IMAGE_TILING_OPTIMAL, to: allocation)
            #expect(throws: AllocationError.requirementsNotMet(allocation: allocation.description, reason: .alreadyBound)) {
                try allocator.bind(image: image, tiling: VK_IMAGE_TILING_OPTIMAL, to: allocation)
            }
            context.device.deviceFunctions.destroyImage(context.device.device, image, nil)
            try allocator.free(allocation)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// Dedicated memory allocated for the user's buffer takes that buffer, at offset 0
    /// only, and no other buffer.
    @Test func dedicatedMemoryForAUserBufferTakesThatBufferAlone() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let buffer = try Self.makeBuffer(context.device)
            let other = try Self.makeBuffer(context.device)
            let allocation = try allocator.allocateMemory(forBuffer: buffer, .usage(.gpuOnly),
                                                          options: AllocationOptions(dedicated: .always))
            #expect(allocation.isDedicated)
            #expect(throws: AllocationError.requirementsNotMet(allocation: allocation.description,
                                                               reason: .dedicatedToAnotherResource)) {
                try allocator.bind(buffer: other, to: allocation)
            }
            try allocator.bind(buffer: buffer, to: allocation)
            #expect(throws: AllocationError.requirementsNotMet(allocation: allocation.description, reason: .alreadyBound)) {
                try allocator.bind(buffer: buffer, to: allocation)
            }
            Self.destroy(other, context.device)
            Self.destroy(buffer, context.device)
            try allocator.free(allocation)
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.committedBytes == 0)
        }
    }

    /// Wrong requirements, a freed allocation, another allocator's, a bad name: each is a
    /// typed error, and afterwards the buffer and the allocation are as they were (the same
    /// buffer then binds to a fitting allocation, the same allocation takes a fitting buffer).
    @Test func wrongRequirementsAreRefusedAndNothingLeaks() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let theirs = Allocator(device: context.device)
            let buffer = try Self.makeBuffer(context.device)

            let small = try allocator.allocate(MemoryRequirements(size: 256, kind: .linear), usage: .gpuOnly)
            let before = allocator.usage
            #expect(throws: AllocationError.requirementsNotMet(
                allocation: small.description, reason: .size(needed: allocator.requirements(of: buffer).size,
                                                             available: small.size))) {
                try allocator.bind(buffer: buffer, to: small)
            }
            let image = try allocator.allocate(MemoryRequirements(size: 1 << 16, alignment: 4096, kind: .optimal), usage: .gpuOnly)
            #expect(throws: AllocationError.requirementsNotMet(
                allocation: image.description, reason: .kind(placed: .optimal, needed: .linear))) {
                try allocator.bind(buffer: buffer, to: image)
            }
            let freed = try allocator.allocateMemory(forBuffer: buffer, .usage(.gpuOnly))
            try allocator.free(freed)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.bind(buffer: buffer, to: freed) }
            let foreign = try theirs.allocateMemory(forBuffer: buffer, .usage(.gpuOnly))
            #expect(throws: AllocationError.unknownAllocation) { try allocator.bind(buffer: buffer, to: foreign) }
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocateMemory(forBuffer: buffer, .usage(.gpuOnly),
                                                 options: AllocationOptions(name: "\u{FEFF}bom"))
            }
            #expect(throws: AllocationError.zeroSize) {
                _ = try allocator.allocate(MemoryRequirements(size: 0), usage: .gpuOnly)
            }
            #expect(allocator.usage.allocationCount == before.allocationCount + 1)

            // Nothing was claimed by the refusals: the buffer and the small allocation are free to bind.
            let fitting = try allocator.allocateMemory(forBuffer: buffer, .usage(.gpuOnly))
            try allocator.bind(buffer: buffer, to: fitting)
            let tiny = try Self.makeBuffer(context.device, size: 64)
            try allocator.bind(buffer: tiny, to: small)

            Self.destroy(tiny, context.device)
            Self.destroy(buffer, context.device)
            for allocation in [small, image, fitting] { try allocator.free(allocation) }
            try theirs.free(foreign)
            #expect(allocator.usage.allocationCount == 0 && theirs.usage.allocationCount == 0)
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// The allocation goes down the one request path: one `.allocated` event, recorded as
    /// VMA's `vmaAllocateMemoryForBuffer` / `…ForImage`.
    @Test func allocatingForAUserResourceIsRecordedAsVMADoes() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            let log = EventLog()
            var options = AllocatorOptions()
            options.recorder = recorder
            options.observers = [log]
            let allocator = Allocator(device: context.device, options: options)
            let buffer = try Self.makeBuffer(context.device)
            let image = try Self.makeImage(context.device)
            let forBuffer = try allocator.allocateMemory(forBuffer: buffer, .usage(.gpuOnly))
            let forImage = try allocator.allocateMemory(forImage: image, tiling: VK_IMAGE_TILING_OPTIMAL, .usage(.gpuOnly))
            #expect(log.allocated.map(\.allocation) == [forBuffer, forImage])
            #expect(log.allocated.map(\.requirements.kind) == [.linear, .optimal])
            let functions = try VMARecording(parsing: recorder.text).calls.map(\.function.name)
            #expect(functions.contains("vmaAllocateMemoryForBuffer") && functions.contains("vmaAllocateMemoryForImage"),
                    "\(functions)")
            try allocator.bind(buffer: buffer, to: forBuffer)
            try allocator.bind(image: image, tiling: VK_IMAGE_TILING_OPTIMAL, to: forImage)
            Self.destroy(buffer, context.device)
            context.device.deviceFunctions.destroyImage(context.device.device, image, nil)
            try allocator.free(forBuffer)
            try allocator.free(forImage)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
