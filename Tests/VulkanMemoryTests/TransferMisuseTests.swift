import CVulkan
import Testing
@testable import VulkanMemory

/// Transfers asked of resources that cannot take them get a typed error before any
/// command is recorded; each of these used to reach the driver, where the validation
/// layer reported it (or, for another device's allocation, the helper trapped). Found by
/// an audit of the transfer helper; `withTestDevice` fails a test on any validation
/// message.
@Suite("Transfer misuse")
struct TransferMisuseTests {
    static let words = [UInt32](repeating: 7, count: 64)
    static let texels = [UInt32](repeating: 0xFF00_FF00, count: 16 * 16)

    static func image(_ allocator: Allocator, usage: ImageUsage,
                      samples: VkSampleCountFlagBits = VK_SAMPLE_COUNT_1_BIT) throws -> (BoundImage, TransferImage) {
        let description = ImageDescription(width: 16, height: 16, usage: usage, samples: samples)
        let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
        return (bound, TransferImage(bound, description))
    }

    /// A copy through staging needs the buffer's transfer usage of its direction.
    @Test func stagedBufferCopiesNeedTheTransferUsage() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let transfer = try TransferQueue(context: context, allocator: allocator, staging: .always)
            let storageOnly = try allocator.createBuffer(TransferTests.bufferInfo(size: 256, usage: [.storageBuffer]),
                                                         .usage(.gpuOnly))
            #expect(throws: TransferError.allocation(operation: "upload to buffer",
                                                     .bufferUsageMissing(.transferDestination, operation: "vkCmdCopyBuffer"))) {
                try transfer.upload(Self.words, to: storageOnly)
            }
            #expect(throws: TransferError.allocation(operation: "download from buffer",
                                                     .bufferUsageMissing(.transferSource, operation: "vkCmdCopyBuffer"))) {
                _ = try transfer.download(UInt32.self, count: 4, from: storageOnly)
            }
            TransferTests.expectNoStaging(allocator)
            try allocator.destroyBuffer(storageOnly)
        }
    }

    /// An image copy needs the image's transfer usage, one sample per texel, and a usage
    /// that allows the layouts it is said to be in or asked to be left in; an unknown
    /// layout value is refused.
    @Test func imageCopiesNeedWhatTheirCommandsNeed() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let transfer = try TransferQueue(context: context, allocator: allocator)
            let readOnly = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
            func refused(_ body: () throws(TransferError) -> Void) -> Bool {
                do throws(TransferError) { try body() } catch {
                    if case .imageNotTransferable = error { return true }
                    Issue.record("expected .imageNotTransferable, got \(error)")
                    return false
                }
                Issue.record("the transfer went through")
                return false
            }
            let (noDestination, noDestinationImage) = try Self.image(allocator, usage: [.sampled, .transferSource])
            #expect(refused { () throws(TransferError) in try transfer.upload(Self.texels, to: noDestinationImage, leaving: readOnly) })
            let (noSource, noSourceImage) = try Self.image(allocator, usage: [.sampled, .transferDestination])
            #expect(refused { () throws(TransferError) in _ = try transfer.download(UInt32.self, from: noSourceImage, in: readOnly) })
            let (unsampled, unsampledImage) = try Self.image(allocator, usage: [.transferSource, .transferDestination])
            #expect(refused { () throws(TransferError) in try transfer.upload(Self.texels, to: unsampledImage, leaving: readOnly) })
            #expect(throws: TransferError.invalidLayout(operation: "upload to image", layout: 999)) {
                try transfer.upload(Self.texels, to: unsampledImage, leaving: VkImageLayout(rawValue: 999))
            }
            let (multisampled, multisampledImage) = try Self.image(
                allocator, usage: [.colorAttachment, .transferSource, .transferDestination], samples: VK_SAMPLE_COUNT_4_BIT)
            #expect(refused { () throws(TransferError) in
                try transfer.upload(Self.texels, to: multisampledImage, leaving: VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL)
            })
            TransferTests.expectNoStaging(allocator)
            // The same images round-trip where their usage allows it.
            try transfer.upload(Self.texels, to: unsampledImage, leaving: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
            #expect(try transfer.download(UInt32.self, from: unsampledImage, in: VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
                == Self.texels)
            for image in [noDestination, noSource, unsampled, multisampled] { try allocator.destroyImage(image) }
        }
    }

    /// A queue family past the device's is refused before `vkCreateCommandPool`.
    @Test func aQueueFamilyPastTheDevicesIsRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let count = context.device.resourceLimits.queueFamilyCount
            #expect(throws: TransferError.invalidQueueFamily(operation: "create the transfer queue's command pool",
                                                             index: count + 6, count: count)) {
                _ = try TransferQueue(allocator: allocator, queue: context.queue.handle, queueFamilyIndex: count + 6)
            }
        }
    }

    /// An allocation whose memory type index is past this device's types (another
    /// device's allocator: a profiled RTX 4070's) is no host-visible memory here; the
    /// lookup used to trap on the index.
    @Test(needsLavapipe) func anotherDevicesAllocationDoesNotTrap() throws {
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070")) { profiledDevice in
            let foreignAllocator = Allocator(device: profiledDevice)
            let buffer = try foreignAllocator.createBuffer(TransferTests.bufferInfo(size: 256), .usage(.gpuOnly))
            try withTestDevice { context in
                let allocator = Allocator(device: context.device)
                let transfer = try TransferQueue(context: context, allocator: allocator)
                #expect(buffer.allocation.memoryTypeIndex >= allocator.properties.types.count)
                #expect(!transfer.accessesDirectly(buffer.allocation))
            }
            try foreignAllocator.destroyBuffer(buffer)
        }
    }

    /// `BLOCK_TEXEL_VIEW_COMPATIBLE` needs a block-compressed format and `MUTABLE_FORMAT`
    /// (VUID-VkImageCreateInfo-flags-01572/01573); both are refused before `vkCreateImage`.
    @Test func blockTexelViewsNeedACompressedMutableImage() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let blockTexel = VK_IMAGE_CREATE_BLOCK_TEXEL_VIEW_COMPATIBLE_BIT.rawValue
            let mutable = VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT.rawValue
            var uncompressed = ImageDescription(width: 16, height: 16, usage: .sampled).exclusiveCreateInfo
            uncompressed.flags = blockTexel | mutable
            #expect(throws: AllocationError.invalidCreateInfo(.blockTexelViewMismatch(
                format: VK_FORMAT_R8G8B8A8_UNORM.rawValue, flags: blockTexel | mutable))) {
                _ = try allocator.createImage(uncompressed, .usage(.gpuOnly))
            }
            var immutable = ImageDescription(width: 16, height: 16, usage: .sampled,
                                             format: VK_FORMAT_BC1_RGBA_UNORM_BLOCK).exclusiveCreateInfo
            immutable.flags = blockTexel
            #expect(throws: AllocationError.invalidCreateInfo(.blockTexelViewMismatch(
                format: VK_FORMAT_BC1_RGBA_UNORM_BLOCK.rawValue, flags: blockTexel))) {
                _ = try allocator.createImage(immutable, .usage(.gpuOnly))
            }
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
