import CVulkan
import Testing
@testable import VulkanMemory

@Suite("Resource batches")
struct ResourceBatchTests {
    /// A uniform buffer, an optimal image and a vertex buffer: the demo's chain.
    static let scene = ResourceBatch
        .buffer(size: 256, usage: .uniformBuffer, memory: .usage(.dynamic), name: "camera")
        .nextImage(width: 64, height: 32, usage: [.sampled, .transferDestination], name: "albedo")
        .nextBuffer(size: 10_000, usage: [.vertexBuffer, .transferDestination], name: "mesh")
        .nextBuffer(size: 3_000, usage: [.indexBuffer, .transferDestination], name: "indices")

    @Test(arguments: BindStrategy.allCases)
    func everyStrategyBindsTheScene(_ strategy: BindStrategy) throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try Self.scene.bind(allocator, strategy: strategy)
            #expect(bound.count == 4 && bound.buffers.count == 3 && bound.images.count == 1)
            let allocations = bound.map(\.allocation)
            // Each resource in the best type for its intent that it accepts.
            for (resource, request) in zip(bound, [MemoryRequest.usage(.dynamic)] + Array(repeating: .usage(.gpuOnly), count: 3)) {
                let bits = switch resource {
                case .buffer(let buffer): allocator.requirements(of: buffer.buffer).memoryTypeBits
                case .image(let image): allocator.requirements(of: image.image, tiling: VK_IMAGE_TILING_OPTIMAL).memoryTypeBits
                }
                let best = allocator.rankedTypes(for: request).first { bits & (1 << UInt32($0)) != 0 }
                #expect(resource.allocation.memoryTypeIndex == best, "\(resource.allocation)")
            }
            // Ranges in one memory never overlap.
            for (i, a) in allocations.enumerated() {
                for b in allocations[(i + 1)...] where a.memory == b.memory {
                    #expect(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset, "\(a) and \(b)")
                }
            }
            switch strategy {
            case .dedicated:
                let allDedicated = allocations.allSatisfy { $0.isDedicated }
                #expect(allDedicated)
                #expect(Set(allocations.map(\.memory)).count == 4)
            case .contiguous:
                // One range of one page per memory type: the whole group on lavapipe's one
                // type; on a discrete GPU the camera (dynamic) is in host-visible VRAM, the
                // rest in VRAM.
                let types = Dictionary(grouping: allocations, by: \.memoryTypeIndex)
                for members in types.values {
                    #expect(Set(members.map(\.memory)).count == 1)
                    let sorted = members.sorted { $0.offset < $1.offset }
                    let span = sorted.last!.offset + sorted.last!.size - sorted.first!.offset
                    let granularity = allocator.properties.limits.bufferImageGranularity
                    #expect(span <= members.reduce(0) { $0 + $1.size } + UInt64(members.count - 1) * max(granularity, 256))
                }
                #expect(allocator.liveAllocations().count == types.count)
            case .privatePage:
                // A page of its own per memory type.
                let types = Set(allocations.map(\.memoryTypeIndex))
                #expect(Set(allocations.map(\.memory)).count == types.count)
                #expect(allocator.usage.pageCount == types.count)
                #expect(allocator.liveAllocations().count == 4)
            case .scatter:
                let anyDedicated = allocations.contains { $0.isDedicated }
                #expect(!anyDedicated)
            }
            // Typed access through a buffer's mapping, bounds-checked against the buffer.
            let camera = try allocator.map(bound[0])
            #expect(camera.size == bound[0].allocation.size)
            try camera.write(SIMD4<Float>(1, 2, 3, 4), at: 16)
            #expect(try camera.read(SIMD4<Float>.self, at: 16) == SIMD4<Float>(1, 2, 3, 4))
            #expect(throws: MemoryError.self) { try camera.write(UInt8(1), at: camera.size) }
            try allocator.destroy(many: bound)
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.destroy(bound[0]) }
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    @Test(arguments: BindStrategy.allCases)
    func aFailurePartWayLeavesNothingBehind(_ strategy: BindStrategy) throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            // Every heap: a resource that does not fit VRAM falls back to host memory on a
            // discrete GPU.
            options.capEveryHeap(at: 12 << 20, of: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            // Something already there, to see that it is untouched.
            let existing = try allocator.allocate(MemoryRequirements(size: 1 << 20), usage: .gpuOnly)
            let before = allocator.usage
            let statsBefore = allocator.liveAllocations()
            // Five resources; the third cannot fit the heap cap.
            let batch = ResourceBatch
                .buffer(size: 64 << 10, usage: .storageBuffer, name: "one")
                .nextBuffer(size: 64 << 10, usage: .storageBuffer, name: "two")
                .nextBuffer(size: 64 << 20, usage: .storageBuffer, name: "three, too big")
                .nextImage(width: 16, height: 16, usage: .sampled, name: "four")
                .nextBuffer(size: 4096, usage: .uniformBuffer, name: "five")
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: strategy) }
            // Everything but the count of vkAllocateMemory calls made along the way.
            var after = allocator.usage
            after.deviceMemoryAllocations = before.deviceMemoryAllocations
            #expect(after == before)
            #expect(allocator.liveAllocations() == statsBefore)
            try allocator.free(existing)
            // On a fresh allocator the failed call must not leave the page it made either.
            let fresh = Allocator(device: context.device, options: options)
            #expect(throws: AllocationError.self) { _ = try batch.bind(fresh, strategy: strategy) }
            var freshAfter = fresh.usage
            freshAfter.deviceMemoryAllocations = 0
            #expect(freshAfter == AllocatorUsage())
            // Any VkBuffer or VkImage left behind would be reported by the validation layer
            // when the device is destroyed, failing this test.
        }
    }

    @Test func contiguousGroupGoesBackWithItsLastMember() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try Self.scene.bind(allocator, strategy: .contiguous)
            // One group per memory type (one on lavapipe; on a discrete GPU the camera's
            // group of one in host-visible VRAM, the rest in VRAM): the albedo's group stays
            // with its other members.
            let groups = { (members: [Int]) in Set(members.map { bound[$0].allocation.memoryTypeIndex }).count }
            #expect(allocator.liveAllocations().count == groups([0, 1, 2, 3]))
            try allocator.destroy(bound[1])
            #expect(allocator.liveAllocations().count == groups([0, 2, 3]))
            #expect(throws: AllocationError.alreadyFreed) { try allocator.destroy(bound[1]) }
            #expect(throws: AllocationError.duplicateResource) { try allocator.destroy(many: [bound[0], bound[0]]) }
            // A list with a destroyed resource destroys nothing.
            #expect(throws: AllocationError.alreadyFreed) { try allocator.destroy(many: [bound[0], bound[1]]) }
            #expect(allocator.isLive(bound[0].allocation))
            try allocator.destroy(many: [bound[0], bound[2], bound[3]])
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    @Test func privatePageServesOthersAfterwards() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try Self.scene.bind(allocator, strategy: .privatePage)
            let pageSize = allocator.usage.committedBytes
            try allocator.destroy(many: bound)
            // The emptied pages are kept (one empty page per type) and reused: the page of the
            // type GPU-only memory goes to (all four resources' on lavapipe; the mesh's,
            // not the camera's, on a discrete GPU).
            let reuse = try allocator.allocate(MemoryRequirements(size: 1024), usage: .gpuOnly)
            let sameType = bound.map(\.allocation).filter { $0.memoryTypeIndex == reuse.memoryTypeIndex }
            #expect(!sameType.isEmpty && sameType.allSatisfy { $0.memory == reuse.memory })
            #expect(allocator.usage.committedBytes == pageSize)
            try allocator.free(reuse)
            #expect(allocator.freeUnusedPages() == pageSize)
        }
    }

    @Test func mappingIsBoundedByTheBufferNotItsPadding() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try ResourceBatch.buffer(size: 100, usage: .uniformBuffer, memory: .usage(.dynamic))
                .bind(allocator)
            let view = try allocator.map(bound[0])
            #expect(view.size == 100)
            #expect(bound.buffers[0].size == 100 && bound[0].allocation.size >= 100)
            try view.write(UInt32(7), at: 96)
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 97, size: 4, limit: 100)) {
                try view.write(UInt32(7), at: 97)
            }
            try allocator.destroy(many: bound)
        }
    }

    @Test func layoutKeepsAlignmentAndGranularity() {
        let members = [
            MemoryRequirements(size: 100, alignment: 16, kind: .linear),
            MemoryRequirements(size: 5000, alignment: 256, kind: .optimal),
            MemoryRequirements(size: 10, alignment: 4, kind: .optimal),
            MemoryRequirements(size: 64, alignment: 64, kind: .linear),
        ]
        for granularity in [UInt64(1), 64, 1024, 65536] {
            let layout = GroupLayout(members, granularity: granularity, atom: 1)
            for (index, member) in members.enumerated() {
                #expect(layout.offsets[index] % member.alignment == 0)
                if index > 0 {
                    #expect(layout.offsets[index] >= layout.offsets[index - 1] + layout.sizes[index - 1])
                    if members[index - 1].kind != member.kind {
                        let previousEnd = layout.offsets[index - 1] + layout.sizes[index - 1] - 1
                        #expect(previousEnd / granularity < layout.offsets[index] / granularity)
                    }
                }
            }
            #expect(layout.alignment % granularity == 0 || granularity == 1)
            #expect(layout.kind == .unknown)
        }
        let atoms = GroupLayout([MemoryRequirements(size: 10), MemoryRequirements(size: 70)], granularity: 1, atom: 64)
        #expect(atoms.offsets == [0, 64] && atoms.sizes == [64, 128] && atoms.size == 192)
    }
}
