import CVulkan
import Foundation
import Testing
@testable import VulkanMemory
#if canImport(Glibc)
import Glibc
#endif

/// The per-allocation options VMA has beside its memory usage (issue 14): minimum
/// alignment, never-allocate, within-budget, all-or-nothing allocation of many, export and
/// a caller's `pNext` chain on dedicated memory, and buffer device addresses; each on
/// lavapipe under the validation layer, where any validation message fails the test.
@Suite("Per-allocation options")
struct AllocationOptionsTests {
    static let mebibyte: UInt64 = 1 << 20

    /// The allocator's totals without the history of `vkAllocateMemory` calls, which a
    /// failed call that allocated and gave back leaves higher.
    /// The memory types of one heap: a device with several heaps (the H200's device-local
    /// heap and its host heap) would otherwise serve a refused request from another heap.
    static func typeBits(onHeap heap: Int, of allocator: Allocator) -> UInt32 {
        allocator.properties.types.indices.reduce(UInt32(0)) { bits, index in
            allocator.properties.types[index].heapIndex == heap ? bits | 1 << UInt32(index) : bits
        }
    }

    static func state(_ allocator: Allocator) -> AllocatorUsage {
        var usage = allocator.usage
        usage.deviceMemoryAllocations = 0
        return usage
    }

    static func bufferInfo(size: UInt64 = 4096, usage: UInt32) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// `minAlignment` is the larger of it and the requirements' alignment on shared pages,
    /// in a pool and for buffers; dedicated memory starts at 0; anything but a power of
    /// two is refused before anything is allocated.
    @Test func minimumAlignmentAppliesOnEveryPath() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let alignment: UInt64 = 64 << 10
            let options = AllocationOptions(minAlignment: alignment)
            let small = MemoryRequirements(size: 100, alignment: 16)
            var made = try (0..<4).map { _ in try allocator.allocate(small, usage: .gpuOnly, options: options) }
            let pool = try allocator.makePool(PoolOptions(name: "aligned", pageSize: 4 * Self.mebibyte))
            made += try (0..<3).map { _ in try allocator.allocate(small, in: pool, options: options) }
            for allocation in made { #expect(allocation.offset % alignment == 0, "\(allocation)") }
            // A looser minimum leaves a stricter requirement alone.
            let strict = try allocator.allocate(MemoryRequirements(size: 100, alignment: 1 << 17), usage: .gpuOnly,
                                                options: AllocationOptions(minAlignment: 256))
            #expect(strict.offset % (1 << 17) == 0)
            let dedicated = try allocator.allocate(small, usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always, minAlignment: alignment))
            #expect(dedicated.isDedicated && dedicated.offset == 0)
            let buffers = try (0..<2).map { _ in
                try allocator.createBuffer(Self.bufferInfo(usage: VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT.rawValue),
                                           .usage(.dynamic), options: options)
            }
            for buffer in buffers { #expect(buffer.allocation.offset % alignment == 0) }
            let before = allocator.usage
            for bad: UInt64 in [0, 3, 96] {
                #expect(throws: AllocationError.alignmentNotPowerOfTwo(bad)) {
                    _ = try allocator.allocate(small, usage: .gpuOnly, options: AllocationOptions(minAlignment: bad))
                }
            }
            #expect(allocator.usage == before)
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            for allocation in made + [strict, dedicated] { try allocator.free(allocation) }
            try allocator.destroyPool(pool)
        }
    }

    /// `neverAllocate` places only in pages that exist: with none it fails saying why and
    /// changes nothing; once a page exists it succeeds there without `vkAllocateMemory`.
    /// Dedicated memory is never made: asked for, it is refused; wished for by size, the
    /// request goes to a page.
    @Test func neverAllocateUsesOnlyExistingPages() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let never = AllocationOptions(neverAllocate: true)
            let small = MemoryRequirements(size: 4096, alignment: 256)
            #expect {
                _ = try allocator.allocate(small, usage: .gpuOnly, options: never)
            } throws: { error in
                guard case let AllocationError.outOfMemory(_, _, _, _, reason) = error else { return false }
                return reason.contains("neverAllocate")
            }
            #expect(allocator.ledger.callCount == 0 && allocator.ledger.objectCount == 0)
            let first = try allocator.allocate(small, usage: .gpuOnly)
            let calls = allocator.ledger.callCount
            let second = try allocator.allocate(small, usage: .gpuOnly, options: never)
            #expect(second.memory == first.memory && !second.isDedicated)
            // The driver's wish for dedicated memory would be granted: here it shares the page.
            let large = try allocator.allocate(MemoryRequirements(size: 4096, prefersDedicated: true),
                                               usage: .gpuOnly, options: never)
            #expect(!large.isDedicated && large.memory == first.memory)
            #expect {
                _ = try allocator.allocate(small, usage: .gpuOnly,
                                           options: AllocationOptions(dedicated: .always, neverAllocate: true))
            } throws: { error in
                guard case let AllocationError.outOfMemory(_, _, _, _, reason) = error else { return false }
                return reason.contains("neverAllocate")
            }
            #expect(allocator.ledger.callCount == calls)
            // A custom pool: only its own pages count.
            let pool = try allocator.makePool(PoolOptions(name: "fixed", pageSize: Self.mebibyte))
            #expect(throws: AllocationError.self) { _ = try allocator.allocate(small, in: pool, options: never) }
            let inPool = try allocator.allocate(small, in: pool)
            let again = try allocator.allocate(small, in: pool, options: never)
            #expect(again.memory == inPool.memory)
            for allocation in [first, second, large, inPool, again] { try allocator.free(allocation) }
            try allocator.destroyPool(pool)
        }
    }

    /// `withinBudget` checks the budget for this allocation's new memory even though the
    /// allocator does not respect budgets: under pressure a new page or dedicated memory
    /// is refused naming the budget, the allocator unchanged, while a range of an
    /// existing page still comes, and an allocation without the option still succeeds.
    @Test func withinBudgetRefusesNewMemoryOverTheBudget() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(!allocator.options.respectBudget)
            let small = MemoryRequirements(size: 4096, alignment: 256)
            let held = try allocator.allocate(small, usage: .gpuOnly)
            let heap = allocator.properties.types[held.memoryTypeIndex].heapIndex
            let heapSize = allocator.properties.heaps[heap].size
            allocator.simulateBudgetPressure(heap: heap, bytes: heapSize)
            defer { allocator.simulateBudgetPressure(heap: heap, bytes: 0) }
            let before = allocator.usage
            let heapTypes = Self.typeBits(onHeap: heap, of: allocator)
            for dedicated in [AllocationOptions.DedicatedPolicy.always, .automatic] {
                let large = MemoryRequirements(size: dedicated == .always ? 4096 : 2 * allocator.pools[held.memoryTypeIndex].preferredPageSize,
                                               memoryTypeBits: heapTypes)
                #expect {
                    _ = try allocator.allocate(large, usage: .gpuOnly,
                                               options: AllocationOptions(dedicated: dedicated, withinBudget: true))
                } throws: { error in
                    guard case let AllocationError.outOfMemory(_, _, refused, _, reason) = error else { return false }
                    return refused == heap && reason.contains("budget")
                }
            }
            #expect(allocator.usage == before)
            // The page that exists has room: no new memory, no budget check.
            let inPage = try allocator.allocate(small, usage: .gpuOnly, options: AllocationOptions(withinBudget: true))
            #expect(inPage.memory == held.memory)
            let unchecked = try allocator.allocate(small, usage: .gpuOnly, options: AllocationOptions(dedicated: .always))
            #expect(unchecked.isDedicated)
            for allocation in [held, inPage, unchecked] { try allocator.free(allocation) }
        }
    }

    /// Many allocations at once: all made, or none, with the pages made for them released
    /// and the failing one named; the count form refuses a negative count.
    @Test func allocatingManyIsAllOrNothing() throws {
        try withTestDevice { context in
            let heap = 0
            var options = AllocatorOptions()
            options.heapSizeLimits[heap] = 5 * Self.mebibyte / 2
            let allocator = Allocator(device: context.device, options: options)
            let one = MemoryRequirements(size: Self.mebibyte, memoryTypeBits: Self.typeBits(onHeap: heap, of: allocator))
            let made = try allocator.allocate(one, count: 2, .usage(.gpuOnly), options: AllocationOptions(dedicated: .always))
            #expect(made.count == 2 && Set(made).count == 2 && made.allSatisfy(\.isDedicated))
            try made.forEach { try allocator.free($0) }
            let before = Self.state(allocator)
            // The third dedicated MiB passes the cap of 2.5 MiB.
            #expect {
                _ = try allocator.allocate(one, count: 4, .usage(.gpuOnly), options: AllocationOptions(dedicated: .always))
            } throws: { error in
                guard case let AllocationError.manyFailed(index, count, .outOfMemory(_, _, refused, _, _)) = error else {
                    return false
                }
                return index == 2 && count == 4 && refused == heap
            }
            #expect(Self.state(allocator) == before && allocator.ledger.objectCount == 0)
            // A bad request after a good one that made a page: the page goes too.
            let uncapped = Allocator(device: context.device)
            #expect(throws: AllocationError.manyFailed(index: 1, count: 2, error: .zeroSize)) {
                _ = try uncapped.allocate(many: [MemoryRequirements(size: 4096), MemoryRequirements(size: 0)], .usage(.gpuOnly))
            }
            #expect(uncapped.ledger.callCount == 1 && uncapped.ledger.objectCount == 0)
            #expect(uncapped.liveAllocations().isEmpty)
            #expect(throws: AllocationError.invalidCount(-1)) {
                _ = try allocator.allocate(one, count: -1, .usage(.gpuOnly))
            }
            #expect(try allocator.allocate(one, count: 0, .usage(.gpuOnly)).isEmpty)
            // In a pool: the second page cannot be made (maxPages 1).
            let pool = try allocator.makePool(PoolOptions(name: "one page", pageSize: Self.mebibyte, maxPages: 1))
            let quarter = MemoryRequirements(size: Self.mebibyte / 4)
            let four = try allocator.allocate(many: Array(repeating: quarter, count: 4), in: pool)
            #expect(Set(four.map(\.memory)).count == 1)
            try four.forEach { try allocator.free($0) }
            #expect {
                _ = try allocator.allocate(many: Array(repeating: quarter, count: 5), in: pool)
            } throws: { error in
                guard case let AllocationError.manyFailed(index, _, .outOfMemory) = error else { return false }
                return index == 4
            }
            #expect(allocator.liveAllocations().isEmpty)
            try allocator.destroyPool(pool)
        }
    }

    /// `exportHandleTypes` makes the allocation dedicated and exportable
    /// (`VkExportMemoryAllocateInfo`), in a pool too; where dedicated memory is ruled out it
    /// is refused.
    @Test func exportHandleTypesMakeExportableDedicatedMemory() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let small = MemoryRequirements(size: 64 << 10, alignment: 256)
            let exported = try allocator.allocate(small, usage: .gpuOnly,
                                                  options: AllocationOptions(exportHandleTypes: .opaqueFd))
            #expect(exported.isDedicated)
            let fd = try allocator.exportFileDescriptor(of: exported)
            #expect(fd >= 0)
            close(fd)
            let shared = try allocator.allocate(small, usage: .gpuOnly)
            #expect(throws: AllocationError.memory(.notExportable(requested: .opaqueFd, allocatedWith: []))) {
                _ = try allocator.exportFileDescriptor(of: shared)
            }
            #expect {
                _ = try allocator.allocate(small, usage: .gpuOnly,
                                           options: AllocationOptions(dedicated: .never, exportHandleTypes: .opaqueFd))
            } throws: { error in
                guard case AllocationError.needsDedicatedMemory(option: "exportHandleTypes", _) = error else { return false }
                return true
            }
            // In a pool, the export makes dedicated memory of the pool's type.
            let pool = try allocator.makePool(PoolOptions(name: "shared", pageSize: Self.mebibyte))
            let inPool = try allocator.allocate(small, in: pool, options: AllocationOptions(exportHandleTypes: .opaqueFd))
            #expect(inPool.isDedicated && inPool.memoryTypeIndex == pool.memoryTypeIndex)
            let poolFD = try allocator.exportFileDescriptor(of: inPool)
            #expect(poolFD >= 0)
            close(poolFD)
            try allocator.free(inPool)
            try allocator.free(exported)
            #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.exportFileDescriptor(of: exported) }
            try allocator.free(shared)
            try allocator.destroyPool(pool)
        }
    }

    /// A caller's raw chain reaches `vkAllocateMemory` of dedicated memory: memory made
    /// exportable only through the chain exports through the driver (the validation layer
    /// would report `vkGetMemoryFdKHR` on memory allocated without the structure).
    @Test func aCallersChainReachesDedicatedMemory() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var export = VkExportMemoryAllocateInfo()
            export.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO
            export.handleTypes = VkExternalMemoryHandleTypeFlags(VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT.rawValue)
            let allocation = try withUnsafePointer(to: &export) { pointer in
                try allocator.allocate(MemoryRequirements(size: 64 << 10), usage: .gpuOnly,
                                       options: AllocationOptions(memoryAllocateNext: DeviceMemory.NextChain(pointer)))
            }
            #expect(allocation.isDedicated)
            let getFd = try #require(context.device.deviceFunctions.getMemoryFd)
            var info = VkMemoryGetFdInfoKHR()
            info.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR
            info.memory = allocation.memory
            info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT
            var fd: Int32 = -1
            #expect(VulkanResult(getFd(context.device.device, &info, &fd)).isSuccess && fd >= 0)
            if fd >= 0 { close(fd) }
            try allocator.free(allocation)
        }
    }

    /// Buffer device addresses: nonzero, distinct, as far apart as the offsets of buffers
    /// in one page; a buffer without `.shaderDeviceAddress` usage, or a device without the
    /// capability, is a typed error.
    @Test func bufferDeviceAddresses() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let usage = VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT.rawValue | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue
            let buffers = try (0..<3).map { _ in try allocator.createBuffer(Self.bufferInfo(usage: usage), .usage(.gpuOnly)) }
            let addresses = try buffers.map { try allocator.deviceAddress(of: $0) }
            #expect(addresses.allSatisfy { $0 != 0 } && Set(addresses).count == 3)
            for (buffer, address) in zip(buffers, addresses) where buffer.allocation.memory == buffers[0].allocation.memory {
                #expect(Int64(bitPattern: address &- addresses[0])
                    == Int64(buffer.allocation.offset) - Int64(buffers[0].allocation.offset))
            }
            let batch = try ResourceBatch.buffer(size: 256, usage: [.shaderDeviceAddress, .storageBuffer])
                .bind(allocator, strategy: .contiguous)
            guard case let .buffer(batched)? = batch.first else { throw AllocationError.unknownAllocation }
            #expect(try allocator.deviceAddress(of: batched) != 0)
            let plain = try allocator.createBuffer(Self.bufferInfo(usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue),
                                                   .usage(.gpuOnly))
            #expect(throws: AllocationError.bufferUsageMissing(.shaderDeviceAddress, operation: "vkGetBufferDeviceAddress")) {
                _ = try allocator.deviceAddress(of: plain)
            }
            for buffer in buffers + [plain] { try allocator.destroyBuffer(buffer) }
            try allocator.destroy(many: batch)
            // A destroyed buffer's address is refused before any driver call (asking
            // lavapipe about a destroyed VkBuffer crashes it).
            #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.deviceAddress(of: buffers[0]) }
        }
        try withTestDevice(capabilities: [.memoryBudget]) { context in
            let allocator = Allocator(device: context.device)
            let buffer = try allocator.createBuffer(Self.bufferInfo(usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue),
                                                    .usage(.gpuOnly))
            #expect(throws: AllocationError.memory(.capabilityNotEnabled(.bufferDeviceAddress,
                                                                         operation: "vkGetBufferDeviceAddress"))) {
                _ = try allocator.deviceAddress(of: buffer)
            }
            try allocator.destroyBuffer(buffer)
        }
    }

    /// A recording writes `neverAllocate` and `withinBudget` as VMA 2.x's flag bits
    /// (0x2, 0x100), which replay maps back.
    @Test func recordingCarriesNeverAllocateAndWithinBudget() {
        let (fields, _) = CallRecorder.allocationCreateInfo(.usage(.gpuOnly),
                                                            AllocationOptions(neverAllocate: true, withinBudget: true))
        #expect(fields.first == String(0x2 | 0x100))
        #expect(CallRecorder.allocationCreateInfo(.usage(.gpuOnly), AllocationOptions()).fields.first == "0")
    }
}
