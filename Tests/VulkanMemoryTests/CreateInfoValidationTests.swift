import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// An image create that breaks one rule, the error it must get, and the same create
/// corrected, which must succeed.
private struct ImageCase {
    let name: String
    var bad: ImageDescription
    var badFlags: UInt32 = 0
    var fixed: ImageDescription
    var fixedFlags: UInt32 = 0
    let expected: CreateInfoError
}

/// A buffer create that breaks one rule, the error, and the corrected create.
private struct BufferCase {
    let name: String
    var bad: VkBufferCreateInfo
    var fixed: VkBufferCreateInfo
    let expected: CreateInfoError
}

private func image(_ width: UInt32 = 64, _ height: UInt32 = 64, depth: UInt32 = 1, usage: ImageUsage = .sampled,
                   format: VkFormat = VK_FORMAT_R8G8B8A8_UNORM, type: VkImageType = VK_IMAGE_TYPE_2D,
                   mipLevels: UInt32 = 1, arrayLayers: UInt32 = 1, samples: UInt32 = 1,
                   tiling: VkImageTiling = VK_IMAGE_TILING_OPTIMAL, layout: VkImageLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                   families: [UInt32] = []) -> ImageDescription {
    ImageDescription(width: width, height: height, depth: depth, usage: usage, format: format, type: type,
                     mipLevels: mipLevels, arrayLayers: arrayLayers, samples: VkSampleCountFlagBits(rawValue: samples),
                     tiling: tiling, initialLayout: layout, sharedQueueFamilies: families)
}

private func buffer(size: UInt64 = 4096, usage: UInt32 = 0x80, flags: UInt32 = 0) -> VkBufferCreateInfo {
    var info = VkBufferCreateInfo()
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
    info.size = size
    info.usage = usage
    info.flags = flags
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
    return info
}

/// What the allocator holds, to show a refused create changed nothing.
private func footprint(_ allocator: Allocator) -> [UInt64] {
    let usage = allocator.usage
    return [UInt64(usage.allocationCount), UInt64(usage.pageCount), usage.committedBytes, usage.liveBytes,
            UInt64(usage.deviceMemoryAllocations)]
}

/// Buffer and image create-infos that break Vulkan's valid usage or the device's limits
/// are refused before any Vulkan call with an error naming the field, the value and the
/// limit; the allocator is as before, the validation layer sees nothing (`withTestDevice`
/// fails on any message), and the corrected create succeeds.
@Suite("Create-info validation")
struct CreateInfoValidationTests {
    /// lavapipe creates this image and corrupts its heap (the process aborts later).
    @Test func a64x64ImageWith100MipLevelsIsATypedError() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bad = image(mipLevels: 100)
            #expect(throws: AllocationError.invalidCreateInfo(.tooManyMipLevelsForExtent(mipLevels: 100, maximum: 7))) {
                _ = try allocator.createImage(bad.exclusiveCreateInfo, .usage(.gpuOnly))
            }
            #expect(throws: AllocationError.invalidCreateInfo(.tooManyMipLevelsForExtent(mipLevels: 100, maximum: 7))) {
                _ = try ResourceBatch.image(bad).bind(allocator)
            }
            #expect(footprint(allocator) == [0, 0, 0, 0, 0])
            let fixed = try allocator.createImage(image(mipLevels: 7).exclusiveCreateInfo, .usage(.gpuOnly))
            try allocator.destroyImage(fixed)
        }
    }

    @Test func invalidImagesAreRefusedAndTheirCorrectionsCreated() throws {
        try withTestDevice { context in
            let device = context.device
            let allocator = Allocator(device: device)
            func limits(_ d: ImageDescription, flags: UInt32 = 0) throws -> ImageFormatLimits {
                try #require(try device.imageFormatLimits(format: d.format.rawValue, imageType: d.type.rawValue,
                                                          tiling: d.tiling.rawValue, usage: d.usage.rawValue, flags: flags))
            }
            let sampled = try limits(image())
            let attachment = try limits(image(usage: [.colorAttachment, .sampled]))
            // The smallest sample count above 1 the device lacks, and one it has.
            let missing = try #require([2, 4, 8, 16, 32, 64].first { attachment.sampleCounts & $0 == 0 })
            let present = try #require([2, 4, 8, 16, 32, 64].first { attachment.sampleCounts & $0 != 0 })
            let cube: UInt32 = 0x10, arrayCompatible: UInt32 = 0x20
            var cases: [ImageCase] = [
                ImageCase(name: "usage 0", bad: image(usage: []), fixed: image(), expected: .noUsage(.image)),
                ImageCase(name: "usage bit 0x80000000", bad: image(usage: ImageUsage(rawValue: 0x8000_0004)),
                          fixed: image(), expected: .unknownUsage(bits: 0x8000_0000, .image)),
                ImageCase(name: "undefined format", bad: image(format: VK_FORMAT_UNDEFINED), fixed: image(),
                          expected: .undefinedFormat),
                ImageCase(name: "format 999", bad: image(format: VkFormat(rawValue: 999)), fixed: image(),
                          expected: .unknownFormat(999)),
                ImageCase(name: "image type 5", bad: image(type: VkImageType(rawValue: 5)), fixed: image(),
                          expected: .unknownImageType(5)),
                ImageCase(name: "samples 3", bad: image(samples: 3), fixed: image(), expected: .invalidSampleCount(3)),
                ImageCase(name: "samples 128", bad: image(samples: 128), fixed: image(), expected: .invalidSampleCount(128)),
                ImageCase(name: "samples the format lacks",
                          bad: image(usage: [.colorAttachment, .sampled], samples: UInt32(missing)),
                          fixed: image(usage: [.colorAttachment, .sampled], samples: UInt32(present)),
                          expected: .sampleCountUnsupported(samples: UInt32(missing), supported: attachment.sampleCounts)),
                ImageCase(name: "multisampled with mip levels",
                          bad: image(usage: [.colorAttachment, .sampled], mipLevels: 2, samples: UInt32(present)),
                          fixed: image(usage: [.colorAttachment, .sampled], samples: UInt32(present)),
                          expected: .multisampleConflict(samples: UInt32(present), .mipmapped)),
                ImageCase(name: "multisampled 3D", bad: image(depth: 4, usage: .sampled, type: VK_IMAGE_TYPE_3D,
                                                              samples: UInt32(present)),
                          fixed: image(depth: 4, type: VK_IMAGE_TYPE_3D),
                          expected: .multisampleConflict(samples: UInt32(present), .notTwoDimensional)),
                ImageCase(name: "tiling 7", bad: image(tiling: VkImageTiling(rawValue: 7)), fixed: image(),
                          expected: .unknownTiling(7)),
                ImageCase(name: "DRM modifier tiling without its structure",
                          bad: image(tiling: VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT), fixed: image(),
                          expected: .drmTilingWithoutModifier),
                ImageCase(name: "100,000 layers", bad: image(arrayLayers: 100_000), fixed: image(arrayLayers: 4),
                          expected: .tooManyArrayLayers(arrayLayers: 100_000, maximum: sampled.maxArrayLayers)),
                ImageCase(name: "3D image with layers", bad: image(depth: 4, type: VK_IMAGE_TYPE_3D, arrayLayers: 2),
                          fixed: image(depth: 4, type: VK_IMAGE_TYPE_3D), expected: .layersOn3DImage(arrayLayers: 2)),
                ImageCase(name: "1D image with height", bad: image(64, 4, type: VK_IMAGE_TYPE_1D),
                          fixed: image(64, 1, type: VK_IMAGE_TYPE_1D),
                          expected: .extentExceedsType(imageType: 0, width: 64, height: 4, depth: 1)),
                ImageCase(name: "2D image with depth", bad: image(depth: 4), fixed: image(),
                          expected: .extentExceedsType(imageType: 1, width: 64, height: 64, depth: 4)),
                ImageCase(name: "initial layout GENERAL", bad: image(layout: VK_IMAGE_LAYOUT_GENERAL),
                          fixed: image(tiling: VK_IMAGE_TILING_LINEAR, layout: VK_IMAGE_LAYOUT_PREINITIALIZED),
                          expected: .invalidInitialLayout(VK_IMAGE_LAYOUT_GENERAL.rawValue)),
                ImageCase(name: "mip levels beyond the extent", bad: image(16, 8, mipLevels: 6), fixed: image(16, 8, mipLevels: 5),
                          expected: .tooManyMipLevelsForExtent(mipLevels: 6, maximum: 5)),
                ImageCase(name: "wider than maxExtent", bad: image(sampled.maxWidth + 1, 1), fixed: image(sampled.maxWidth, 1),
                          expected: .extentTooLarge(width: sampled.maxWidth + 1, height: 1, depth: 1, maxWidth: sampled.maxWidth,
                                                    maxHeight: sampled.maxHeight, maxDepth: sampled.maxDepth)),
                ImageCase(name: "transient and sampled", bad: image(usage: [.transientAttachment, .sampled]),
                          fixed: image(usage: [.transientAttachment, .colorAttachment]),
                          expected: .transientUsageConflict(usage: 0x44)),
                ImageCase(name: "transient alone", bad: image(usage: .transientAttachment),
                          fixed: image(usage: [.transientAttachment, .colorAttachment]),
                          expected: .transientUsageConflict(usage: 0x40)),
                ImageCase(name: "a compressed color attachment",
                          bad: image(usage: .colorAttachment, format: VK_FORMAT_BC1_RGB_UNORM_BLOCK),
                          fixed: image(usage: .colorAttachment),
                          expected: .formatUnsupported(format: VK_FORMAT_BC1_RGB_UNORM_BLOCK.rawValue, imageType: 1,
                                                       tiling: 0, usage: 0x10, flags: 0)),
                ImageCase(name: "cube-compatible, not square", bad: image(64, 32, arrayLayers: 6), badFlags: cube,
                          fixed: image(64, 64, arrayLayers: 6), fixedFlags: cube,
                          expected: .cubeCompatibleMismatch(imageType: 1, width: 64, height: 32, arrayLayers: 6)),
                ImageCase(name: "cube-compatible, 1 layer", bad: image(), badFlags: cube,
                          fixed: image(arrayLayers: 6), fixedFlags: cube,
                          expected: .cubeCompatibleMismatch(imageType: 1, width: 64, height: 64, arrayLayers: 1)),
                ImageCase(name: "2D-array-compatible 2D image", bad: image(), badFlags: arrayCompatible,
                          fixed: image(depth: 4, type: VK_IMAGE_TYPE_3D), fixedFlags: arrayCompatible,
                          expected: .arrayCompatibleNeeds3D(imageType: 1)),
                ImageCase(name: "sparse binding", bad: image(), badFlags: 0x1, fixed: image(),
                          expected: .unsupportedFlags(bits: 0x1, .image)),
                ImageCase(name: "disjoint", bad: image(), badFlags: 0x200, fixed: image(),
                          expected: .unsupportedFlags(bits: 0x200, .image)),
                ImageCase(name: "protected", bad: image(), badFlags: 0x800, fixed: image(),
                          expected: .unsupportedFlags(bits: 0x800, .image)),
                ImageCase(name: "flag bit 0x40000000", bad: image(), badFlags: 0x4000_0000, fixed: image(),
                          expected: .unknownFlags(bits: 0x4000_0000, .image)),
            ]
            // An image whose texels alone exceed maxResourceSize, within every other limit:
            // as many layers of the widest RGBA32F image as it takes.
            let wide = image(usage: .sampled, format: VK_FORMAT_R32G32B32A32_SFLOAT)
            let float = try limits(wide)
            let layerBytes = UInt64(float.maxWidth) * UInt64(float.maxHeight) * 16
            let layers = float.maxResourceSize / layerBytes + 1
            if layers <= UInt64(float.maxArrayLayers) {
                cases.append(ImageCase(
                    name: "beyond maxResourceSize",
                    bad: image(float.maxWidth, float.maxHeight, format: VK_FORMAT_R32G32B32A32_SFLOAT, arrayLayers: UInt32(layers)),
                    fixed: image(256, 256, format: VK_FORMAT_R32G32B32A32_SFLOAT, arrayLayers: UInt32(layers)),
                    expected: .imageTooLarge(bytes: layerBytes * layers, maxResourceSize: float.maxResourceSize)))
            }
            #expect(cases.count >= 30)
            for item in cases {
                var bad = item.bad.exclusiveCreateInfo
                bad.flags = item.badFlags
                let before = footprint(allocator)
                #expect(throws: AllocationError.invalidCreateInfo(item.expected), "\(item.name)") {
                    _ = try allocator.createImage(bad, .usage(.gpuOnly))
                }
                if item.badFlags == 0 {
                    // The batch refuses it before creating the buffer chained ahead of it.
                    #expect(throws: AllocationError.invalidCreateInfo(item.expected), "\(item.name) in a batch") {
                        _ = try ResourceBatch.buffer(size: 4096, usage: .vertexBuffer).nextImage(item.bad).bind(allocator)
                    }
                }
                #expect(footprint(allocator) == before, "\(item.name) changed the allocator")
                #expect(!item.expected.description.isEmpty)
                var fixed = item.fixed.exclusiveCreateInfo
                fixed.flags = item.fixedFlags
                do {
                    let created = try allocator.createImage(fixed, .usage(.gpuOnly))
                    try allocator.destroyImage(created)
                    if item.fixedFlags == 0 {
                        let bound = try ResourceBatch.image(item.fixed).bind(allocator)
                        try allocator.destroy(many: bound.resources)
                    }
                } catch {
                    Issue.record("\(item.name), corrected: \(error)")
                }
            }
            #expect(footprint(allocator)[0] == 0)
        }
    }

    @Test func invalidBuffersAreRefusedAndTheirCorrectionsCreated() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var cases: [BufferCase] = [
                BufferCase(name: "usage 0", bad: buffer(usage: 0), fixed: buffer(), expected: .noUsage(.buffer)),
                BufferCase(name: "usage bit 0x80000000", bad: buffer(usage: 0x8000_0080), fixed: buffer(),
                           expected: .unknownUsage(bits: 0x8000_0000, .buffer)),
                BufferCase(name: "sparse binding", bad: buffer(flags: 0x1), fixed: buffer(),
                           expected: .unsupportedFlags(bits: 0x1, .buffer)),
                BufferCase(name: "protected", bad: buffer(flags: 0x8), fixed: buffer(),
                           expected: .unsupportedFlags(bits: 0x8, .buffer)),
                BufferCase(name: "flag bit 0x100", bad: buffer(flags: 0x100), fixed: buffer(),
                           expected: .unknownFlags(bits: 0x100, .buffer)),
            ]
            var badMode = buffer()
            badMode.sharingMode = VkSharingMode(rawValue: 7)
            cases.append(BufferCase(name: "sharing mode 7", bad: badMode, fixed: buffer(),
                                    expected: .unknownSharingMode(7, .buffer)))
            var noFamilies = buffer()
            noFamilies.sharingMode = VK_SHARING_MODE_CONCURRENT
            noFamilies.queueFamilyIndexCount = 2
            cases.append(BufferCase(name: "concurrent without indices", bad: noFamilies, fixed: buffer(),
                                    expected: .concurrentSharingNeedsTwoFamilies(count: 0, .buffer)))
            // lavapipe (1.3) reports maxBufferSize; a device below 1.3 has none to check.
            if let maximum = context.device.resourceLimits.maxBufferSize, maximum < .max {
                cases.append(BufferCase(name: "beyond maxBufferSize", bad: buffer(size: maximum + 1), fixed: buffer(size: 1 << 20),
                                        expected: .bufferTooLarge(size: maximum + 1, maxBufferSize: maximum)))
            }
            for item in cases {
                let before = footprint(allocator)
                #expect(throws: AllocationError.invalidCreateInfo(item.expected), "\(item.name)") {
                    _ = try allocator.createBuffer(item.bad, .usage(.gpuOnly))
                }
                #expect(footprint(allocator) == before, "\(item.name) changed the allocator")
                do {
                    try allocator.destroyBuffer(try allocator.createBuffer(item.fixed, .usage(.gpuOnly)))
                } catch {
                    Issue.record("\(item.name), corrected: \(error)")
                }
            }
        }
    }

    /// Queue family lists: two or more distinct families the device has, or exclusive.
    @Test func queueFamilyListsAreChecked() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let families = context.device.resourceLimits.queueFamilyCount
            let cases: [([UInt32], CreateInfoError, CreateInfoError)] = [
                ([0, families], .queueFamilyOutOfRange(index: families, familyCount: families, .buffer),
                 .queueFamilyOutOfRange(index: families, familyCount: families, .image)),
                ([0, 0], .duplicateQueueFamily(index: 0, .buffer), .duplicateQueueFamily(index: 0, .image)),
            ]
            for (list, bufferError, imageError) in cases {
                #expect(throws: AllocationError.invalidCreateInfo(bufferError)) {
                    _ = try ResourceBatch().nextBuffer(BufferDescription(size: 4096, usage: .vertexBuffer, sharedQueueFamilies: list))
                        .bind(allocator)
                }
                #expect(throws: AllocationError.invalidCreateInfo(imageError)) {
                    _ = try ResourceBatch.image(image(families: list)).bind(allocator)
                }
            }
            // A raw concurrent create-info with one family.
            var one = image().exclusiveCreateInfo
            try [UInt32(0)].withUnsafeBufferPointer { indices in
                one.sharingMode = VK_SHARING_MODE_CONCURRENT
                one.queueFamilyIndexCount = 1
                one.pQueueFamilyIndices = indices.baseAddress
                #expect(throws: AllocationError.invalidCreateInfo(.concurrentSharingNeedsTwoFamilies(count: 1, .image))) {
                    _ = try allocator.createImage(one, .usage(.gpuOnly))
                }
                // With two families (where the device has them) the same list is accepted.
                if families >= 2 {
                    let bound = try ResourceBatch.image(image(families: [0, 1])).bind(allocator)
                    try allocator.destroy(many: bound.resources)
                }
            }
            // Corrected: exclusive (a one-family list is exclusive).
            let bound = try ResourceBatch().nextBuffer(BufferDescription(size: 4096, usage: .vertexBuffer, sharedQueueFamilies: [0]))
                .nextImage(image(families: [0])).bind(allocator)
            try allocator.destroy(many: bound.resources)
            #expect(footprint(allocator)[0] == 0)
        }
    }

    /// Zero sizes stay `.zeroSize`, as before the fuller check.
    @Test func zeroSizesStayZeroSize() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: AllocationError.zeroSize) { _ = try allocator.createBuffer(buffer(size: 0), .usage(.gpuOnly)) }
            #expect(throws: AllocationError.zeroSize) {
                _ = try allocator.createImage(image(mipLevels: 0).exclusiveCreateInfo, .usage(.gpuOnly))
            }
        }
    }

    /// Images made from many threads at once share the per-format answers: the cache
    /// is locked, and each combination is asked of the driver once it is known.
    @Test func formatAnswersAreSharedAcrossThreads() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let formats = [VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_R16G16B16A16_SFLOAT, VK_FORMAT_R32_SFLOAT, VK_FORMAT_R8_UNORM]
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                for step in 0..<40 {
                    let format = formats[(thread + step) % formats.count]
                    let bad = step % 3 == 0
                    let description = image(16, 16, format: format, mipLevels: bad ? 9 : 5)
                    do throws(AllocationError) {
                        let created = try allocator.createImage(description.exclusiveCreateInfo, .usage(.gpuOnly))
                        try allocator.destroyImage(created)
                        if bad { failures.withLock { $0.append("thread \(thread) step \(step): created") } }
                    } catch {
                        let expected = AllocationError.invalidCreateInfo(.tooManyMipLevelsForExtent(mipLevels: 9, maximum: 5))
                        if !bad || error != expected {
                            failures.withLock { $0.append("thread \(thread) step \(step): \(error)") }
                        }
                    }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty)
            #expect(allocator.usage.allocationCount == 0)
            for format in formats {
                let known = try context.device.imageFormatLimits(format: format.rawValue, imageType: 1, tiling: 0,
                                                                 usage: ImageUsage.sampled.rawValue, flags: 0)
                #expect(known != nil)
            }
        }
    }

    /// The texel estimate behind `.imageTooLarge` is a lower bound of what drivers ask:
    /// never above `vkGetImageMemoryRequirements`' size.
    @Test func leastImageBytesNeverExceedTheDriversSize() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let shapes: [ImageDescription] = [
                image(), image(37, 5, mipLevels: 6), image(64, 64, arrayLayers: 6),
                image(100, 60, format: VK_FORMAT_R32G32B32A32_SFLOAT, mipLevels: 7),
                image(64, 64, format: VK_FORMAT_BC1_RGB_UNORM_BLOCK, mipLevels: 7),
                image(16, 16, depth: 16, type: VK_IMAGE_TYPE_3D, mipLevels: 5),
                image(64, 64, usage: .depthStencilAttachment, format: VK_FORMAT_D32_SFLOAT_S8_UINT),
                image(64, 64, usage: .depthStencilAttachment, format: VK_FORMAT_D16_UNORM_S8_UINT),
            ]
            for shape in shapes {
                let least = try #require(FormatTable.leastImageBytes(
                    format: shape.format.rawValue, width: shape.extent.width, height: shape.extent.height,
                    depth: shape.extent.depth, mipLevels: shape.mipLevels, arrayLayers: shape.arrayLayers, samples: 1))
                do {
                    let created = try allocator.createImage(shape.exclusiveCreateInfo, .usage(.gpuOnly))
                    let needs = allocator.requirements(of: created.image, tiling: VK_IMAGE_TILING_OPTIMAL)
                    #expect(least <= needs.size, "\(shape.format) \(shape.extent.width)×\(shape.extent.height): \(least) > \(needs.size)")
                    try allocator.destroyImage(created)
                } catch AllocationError.invalidCreateInfo(.formatUnsupported) {
                    // Not every device has every format (BC on some, D16S8 on many).
                }
            }
        }
    }
}
