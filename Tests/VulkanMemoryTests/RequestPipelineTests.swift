import CVulkan
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

/// Regression tests for the defects found where the entry points once took different
/// paths down (issue 11), each run on lavapipe under the validation layer: a validation
/// message fails the test that caused it.
@Suite("One request pipeline")
struct RequestPipelineTests {
    static func bufferInfo(size: UInt64 = 64 << 10, usage: VkBufferUsageFlagBits = VK_BUFFER_USAGE_TRANSFER_DST_BIT)
        -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(usage.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// Every `VkDeviceMemory` the allocator holds, with the options it was allocated with.
    static func memoryOptions(_ allocator: Allocator) -> [DeviceMemory.Options] {
        var options: [DeviceMemory.Options] = []
        for pool in allocator.everyPagePool() {
            pool.state.withLock { state in
                for slot in state.active { if let memory = state.pages[Int(slot)].memory { options.append(memory.options) } }
            }
        }
        allocator.dedicated.withLock { table in for entry in table.live { options.append(entry.memory.options) } }
        return options
    }

    /// `VUID-vkBindBufferMemory-bufferDeviceAddress-03339`: a buffer with
    /// `.shaderDeviceAddress` usage needs memory allocated with the device-address flag,
    /// whichever way it comes in: createBuffer (shared page, dedicated), a pool, every
    /// batch strategy, and a bind to a held allocation.
    @Test func deviceAddressBuffersBindCleanlyOnEveryPath() throws {
        try withTestDevice { context in
            #expect(context.device.capabilities.contains(.bufferDeviceAddress))
            let allocator = Allocator(device: context.device)
            let info = Self.bufferInfo(usage: VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT)
            var buffers = [try allocator.createBuffer(info, .usage(.gpuOnly))]
            buffers.append(try allocator.createBuffer(info, .usage(.gpuOnly), options: AllocationOptions(dedicated: .always)))
            let pool = try allocator.makePool(PoolOptions(name: "addressable", pageSize: 1 << 20))
            buffers.append(try allocator.createBuffer(info, in: pool))
            let held = try allocator.allocate(allocator.requirements(of: buffers[0].buffer), usage: .gpuOnly)
            buffers.append(try allocator.createBuffer(info, boundTo: held))
            var batches: [BoundResources] = []
            for strategy in BindStrategy.allCases {
                batches.append(try ResourceBatch.buffer(size: 4096, usage: [.shaderDeviceAddress, .storageBuffer])
                    .nextBuffer(size: 8192, usage: .shaderDeviceAddress).bind(allocator, strategy: strategy))
            }
            for options in Self.memoryOptions(allocator) {
                if case .image = options.dedicated { continue }
                #expect(options.deviceAddress, "memory that may hold a buffer lacks the device-address flag")
            }
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            for batch in batches { try allocator.destroy(many: batch) }
            try allocator.destroyPool(pool)
        }
    }

    /// Memory dedicated to an image never carries the device-address flag: no buffer can
    /// be bound there.
    @Test func imageDedicatedMemoryIsNotAddressable() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let image = try allocator.createImage(ImageDescription(width: 64, height: 64, usage: .sampled).exclusiveCreateInfo,
                                                  .usage(.gpuOnly), options: AllocationOptions(dedicated: .always))
            let options = try #require(Self.memoryOptions(allocator).first)
            #expect(!options.deviceAddress)
            try allocator.destroyImage(image)
        }
    }

    /// The same priority is valid or invalid whatever the placement: refused before any
    /// Vulkan call for shared pages, dedicated memory, pools and batches alike.
    @Test(arguments: [Float(1.5), -0.25, .nan, .infinity])
    func anInvalidPriorityIsRefusedOnEveryPath(_ priority: Float) throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let requirements = MemoryRequirements(size: 4096, alignment: 256, kind: .linear)
            let pool = try allocator.makePool(PoolOptions(name: "p", pageSize: 1 << 20))
            let before = allocator.usage
            for dedicated in [AllocationOptions.DedicatedPolicy.never, .always, .automatic] {
                let options = AllocationOptions(dedicated: dedicated, priority: priority)
                #expect(throws: AllocationError.self) { _ = try allocator.allocate(requirements, usage: .gpuOnly, options: options) }
                #expect(throws: AllocationError.self) { _ = try allocator.allocate(requirements, in: pool, options: options) }
                #expect(throws: AllocationError.self) {
                    _ = try allocator.createBuffer(Self.bufferInfo(), .usage(.gpuOnly), options: options)
                }
                do throws(AllocationError) {
                    _ = try allocator.allocate(requirements, usage: .gpuOnly, options: options)
                } catch {
                    if case .invalidPriority(let refused) = error {
                        #expect(refused.bitPattern == priority.bitPattern)
                    } else {
                        Issue.record("expected .invalidPriority, got \(error)")
                    }
                }
            }
            #expect(allocator.usage == before)
            // The bounds themselves are valid on every path.
            for valid in [Float(0), 1] {
                let placed = try allocator.allocate(requirements, usage: .gpuOnly, options: AllocationOptions(priority: valid))
                let dedicated = try allocator.allocate(requirements, usage: .gpuOnly,
                                                       options: AllocationOptions(dedicated: .always, priority: valid))
                try allocator.free(placed)
                try allocator.free(dedicated)
            }
            try allocator.destroyPool(pool)
        }
    }

    /// An allocation belongs to one resource: a second bind to it is refused with the
    /// reason, and the refused resource is destroyed (the validation layer reports a leaked
    /// `VkBuffer` at teardown otherwise).
    @Test func anAllocationTakesOneResource() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let info = Self.bufferInfo()
            // Made by createBuffer: bound already.
            let first = try allocator.createBuffer(info, .usage(.gpuOnly))
            #expect(throws: AllocationError.requirementsNotMet(allocation: first.allocation.description, reason: .alreadyBound)) {
                _ = try allocator.createBuffer(info, boundTo: first.allocation)
            }
            // Held, then bound once.
            let held = try allocator.allocate(allocator.requirements(of: first.buffer), usage: .gpuOnly)
            let second = try allocator.createBuffer(info, boundTo: held)
            #expect(throws: AllocationError.requirementsNotMet(allocation: held.description, reason: .alreadyBound)) {
                _ = try allocator.createImage(ImageDescription(width: 8, height: 8, usage: .sampled, tiling: VK_IMAGE_TILING_LINEAR)
                    .exclusiveCreateInfo, boundTo: held)
            }
            // Dedicated memory held without a target, bound once.
            let dedicatedHeld = try allocator.allocate(allocator.requirements(of: first.buffer), usage: .gpuOnly,
                                                       options: AllocationOptions(dedicated: .always))
            let third = try allocator.createBuffer(info, boundTo: dedicatedHeld)
            #expect(throws: AllocationError.requirementsNotMet(allocation: dedicatedHeld.description, reason: .alreadyBound)) {
                _ = try allocator.createBuffer(info, boundTo: dedicatedHeld)
            }
            for buffer in [first, second, third] { try allocator.destroyBuffer(buffer) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// Two threads binding one held allocation: exactly one wins, the other is refused
    /// and its buffer destroyed.
    @Test func twoThreadsRaceToBindOneAllocation() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let info = Self.bufferInfo()
            for _ in 0..<50 {
                let held = try allocator.allocate(MemoryRequirements(size: info.size, alignment: 256, kind: .linear),
                                                  usage: .gpuOnly)
                let winners = Mutex<[BoundBuffer]>([])
                runOnThreads(2) { _ in
                    if let bound = try? allocator.createBuffer(Self.bufferInfo(), boundTo: held) {
                        winners.withLock { $0.append(bound) }
                    }
                }
                let won = winners.withLock { $0 }
                #expect(won.count == 1)
                for winner in won { try allocator.destroyBuffer(winner) }
            }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// An allocator of 1 MiB pages holding every fourth of `count` 64 KiB buffers: pages
    /// a defragmentation pass can empty.
    static func fragmentedBuffers(_ context: VulkanContext, count: Int) throws -> (Allocator, [BoundBuffer]) {
        var options = AllocatorOptions()
        options.setPageSize(1 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
        options.emptyPages = .keep(0)
        let allocator = Allocator(device: context.device, options: options)
        var buffers: [BoundBuffer] = []
        for _ in 0..<count { buffers.append(try allocator.createBuffer(Self.bufferInfo(size: 64 << 10), .usage(.gpuOnly))) }
        for index in stride(from: buffers.count - 1, through: 0, by: -1) where index % 4 != 0 {
            try allocator.destroyBuffer(buffers.remove(at: index))
        }
        return (allocator, buffers)
    }

    /// The README's defragmentation loop as it reads: copy, re-create on the destination,
    /// commit, then destroy the old buffer. The destroy succeeds (the commit freed the
    /// memory, the destroy the `VkBuffer`), once; a second destroy is `.alreadyFreed`.
    @Test func theOldBufferIsDestroyedAfterACommit() throws {
        try withTestDevice { context in
            var (allocator, buffers) = try Self.fragmentedBuffers(context, count: 48)
            var info = Self.bufferInfo(size: 64 << 10)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            var old: [BoundBuffer] = []
            for move in pass.moves {
                let position = try #require(buffers.firstIndex { $0.allocation == move.source })
                info.size = buffers[position].size
                old.append(buffers[position])
                buffers[position] = try allocator.createBuffer(info, boundTo: move.destination)
            }
            let result = pass.commit()
            #expect(result.releasedPages > 0)
            for buffer in old { try allocator.destroyBuffer(buffer) }
            for buffer in old {
                #expect(throws: AllocationError.alreadyFreed) { try allocator.destroyBuffer(buffer) }
            }
            // Raw allocations a pass moved are not resources: freeing one again stays an error.
            #expect(allocator.movedSources.withLock { $0.isEmpty })
            try allocator.destroy(many: buffers.map(Resource.buffer))
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// `destroy(many:)` takes resources a committed pass moved away, like `destroy(_:)`.
    @Test func destroyManyTakesMovedResources() throws {
        try withTestDevice { context in
            let (allocator, buffers) = try Self.fragmentedBuffers(context, count: 32)
            let info = Self.bufferInfo(size: 64 << 10)
            let pass = try allocator.beginDefragmentation()
            var moved: [BoundBuffer] = []
            for move in pass.moves { moved.append(try allocator.createBuffer(info, boundTo: move.destination)) }
            pass.commit()
            try allocator.destroy(many: (buffers + moved).map(Resource.buffer))
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// `freeUnusedPages()` releases a custom pool's empty pages beyond its `minPages`.
    @Test func freeUnusedPagesReachesCustomPools() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "grows", pageSize: 1 << 20, minPages: 1))
            var held: [Allocation] = []
            for _ in 0..<3 {
                held.append(try allocator.allocate(MemoryRequirements(size: 900 << 10, kind: .linear), in: pool))
            }
            #expect(allocator.statistics().pages.filter { $0.pool == "grows" }.count == 3)
            for allocation in held { try allocator.free(allocation) }
            #expect(allocator.statistics().pages.filter { $0.pool == "grows" }.count == 3, "a pool keeps its empty pages")
            let released = allocator.freeUnusedPages()
            #expect(released >= 2 << 20)
            #expect(allocator.statistics().pages.filter { $0.pool == "grows" }.count == 1, "minPages stay")
            try allocator.destroyPool(pool)
        }
    }

    /// A `.dedicated` batch whose third resource passes a heap cap fails with
    /// `.outOfMemory`, and the allocator is exactly as before: usage, statistics (the
    /// count of `vkAllocateMemory` calls made, history rather than state, aside) and the
    /// committed bytes of the ledger.
    @Test(arguments: BindStrategy.allCases)
    func aBatchPastAHeapCapChangesNothing(_ strategy: BindStrategy) throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            let heaps = MemoryProperties(device: context.device).heaps.indices
            for heap in heaps { options.heapSizeLimits[heap] = 8 << 20 }
            let allocator = Allocator(device: context.device, options: options)
            let warm = try allocator.createBuffer(Self.bufferInfo(size: 1 << 20), .usage(.gpuOnly))
            let before = allocator.statistics()
            let usage = allocator.usage
            let committed = allocator.ledger.committedBytes
            // Two 3 MiB buffers fit a capped heap: one more than every heap can take.
            var batch = ResourceBatch()
            for _ in 0..<(heaps.count * 2 + 1) { batch = batch.nextBuffer(size: 3 << 20, usage: .storageBuffer) }
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: strategy) }
            var after = allocator.usage
            after.deviceMemoryAllocations = usage.deviceMemoryAllocations
            #expect(after == usage)
            #expect(allocator.ledger.committedBytes == committed)
            #expect(allocator.statistics().sameAllocatorState(as: before))
            try allocator.destroyBuffer(warm)
        }
    }

    /// 16 threads map allocations that share pages while others create and bind buffers
    /// in the same pages: no `vkMapMemory` may meet another use of the same memory
    /// (the validation layer's thread checks report `UNASSIGNED-Threading-MultipleThreads`).
    @Test func mappingAndBindingFromManyThreadsIsSynchronized() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let requirements = MemoryRequirements(size: 4096, alignment: 256, kind: .linear)
            let failures = Failures()
            runOnThreads(16) { thread in
                for round in 0..<40 {
                    do {
                        if thread % 2 == 0 {
                            let allocation = try allocator.allocate(requirements, usage: .staging)
                            let view = try allocator.map(allocation)
                            try view.write(contentsOf: [UInt32(thread), UInt32(round)])
                            if try view.read(UInt32.self, count: 2) != [UInt32(thread), UInt32(round)] {
                                failures.append("thread \(thread) round \(round): read back something else")
                            }
                            try allocator.free(allocation)
                        } else {
                            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.staging))
                            try allocator.destroyBuffer(buffer)
                        }
                    } catch {
                        failures.append("thread \(thread) round \(round): \(error)")
                    }
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}

@Suite("Allocator identity")
struct AllocatorIdentityTests {
    /// A pool of a dead allocator is refused by a new allocator, even one made at the same
    /// address: ownership is the allocator's `id`, never reused, not its address.
    @Test func aDeadAllocatorsPoolIsRefusedByItsSuccessors() throws {
        try withTestDevice { context in
            var orphan: MemoryPool?
            var ids: Set<UInt64> = []
            do {
                var options = AllocatorOptions()
                options.reportLeaksAtTeardown = false
                let first = Allocator(device: context.device, options: options)
                ids.insert(first.id)
                orphan = try first.makePool(PoolOptions(name: "orphan", pageSize: 1 << 20))
                try first.destroyPool(orphan!)
            }
            for _ in 0..<20 {
                let next = Allocator(device: context.device)
                #expect(ids.insert(next.id).inserted, "an allocator id was reused")
                #expect(throws: AllocationError.unknownAllocation) { try next.destroyPool(orphan!) }
                #expect(throws: AllocationError.unknownAllocation) {
                    _ = try next.allocate(MemoryRequirements(size: 256), in: orphan!)
                }
                #expect(next.usage.allocationCount == 0)
            }
        }
    }
}
