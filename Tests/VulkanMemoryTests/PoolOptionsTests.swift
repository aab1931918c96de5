import Glibc
import Testing
@testable import VulkanMemory

/// What a custom pool can be made with beyond its pages' bounds (VMA's `VmaPoolCreateInfo`
/// and `vmaSetPoolName`): a default page size, a name set later, a priority, a minimum
/// alignment, dedicated allocations, and pages that can be exported.
@Suite("Pool options")
struct PoolOptionsTests {
    @Test func withoutAPageSizeAPoolTakesTheAllocatorsForItsType() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.pageSizeByType = [0: 3 << 20]
            let allocator = Allocator(device: context.device, options: options)
            let pool = try allocator.makePool(PoolOptions(name: "default size", memoryTypeIndex: 0, minPages: 1))
            #expect(pool.pageSize == 3 << 20)
            #expect(try allocator.statistics().pages.map(\.size) == [3 << 20])
            #expect(throws: AllocationError.zeroSize) { _ = try allocator.makePool(PoolOptions(name: "zero", pageSize: 0)) }
            try allocator.destroyPool(pool)
        }
    }

    @Test func aPoolsNameCanChangeAndEveryReportUsesTheNewOne() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "before", pageSize: 1 << 20, maxPages: 1))
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), in: pool)
            try allocator.setName("after\nline", of: pool)
            #expect(pool.name == "after\nline" && pool.options.name == "before")
            #expect(pool.description.contains("'after\\u{A}line'"))
            let statistics = try allocator.statistics()
            #expect(statistics.pools.map(\.name) == ["after\nline"])
            #expect(statistics.pages.first?.pool == "after\nline")
            do throws(AllocationError) {
                _ = try allocator.allocate(MemoryRequirements(size: 2 << 20), in: pool)
                Issue.record("a request larger than the pool's pages was placed")
            } catch {
                guard case let .outOfMemory(_, _, _, _, reason) = error else { Issue.record("got \(error)"); return }
                #expect(reason.contains("'after\nline'"))
            }
            #expect(throws: AllocationError.poolNotEmpty(name: "after\nline", allocations: 1)) {
                try allocator.destroyPool(pool)
            }
            #expect(throws: AllocationError.self) { try allocator.setName("\u{FEFF}bom", of: pool) }
            #expect(pool.name == "after\nline")
            try allocator.free(allocation)
            try allocator.destroyPool(pool)
            #expect(throws: AllocationError.unknownAllocation) { try allocator.setName("gone", of: pool) }
            let other = Allocator(device: context.device)
            let foreign = try other.makePool(PoolOptions(name: "foreign", pageSize: 1 << 20))
            #expect(throws: AllocationError.unknownAllocation) { try allocator.setName("stolen", of: foreign) }
        }
    }

    @Test func priorityAndMinimumAlignmentAreCheckedAndKept() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            for bad: Float in [-0.1, 1.5, .nan] {
                do throws(AllocationError) {
                    _ = try allocator.makePool(PoolOptions(name: "bad", pageSize: 1 << 20, priority: bad))
                    Issue.record("priority \(bad) was taken")
                } catch {
                    guard case .invalidPriority = error else { Issue.record("got \(error)"); continue }
                }
            }
            for bad: UInt64 in [0, 3, 96] {
                #expect(throws: AllocationError.alignmentNotPowerOfTwo(bad)) {
                    _ = try allocator.makePool(PoolOptions(name: "bad", pageSize: 1 << 20, minAlignment: bad))
                }
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.makePool(PoolOptions(name: "too aligned", pageSize: 1 << 20, minAlignment: 2 << 20))
            }
            #expect(allocator.usage.committedBytes == 0)
            // VkMemoryPriorityAllocateInfoEXT on each page: the validation layer checks the chain.
            let pool = try allocator.makePool(PoolOptions(name: "aligned", pageSize: 1 << 20, minPages: 1, priority: 0.9,
                                                          minAlignment: 64 << 10))
            let allocations = try (0..<8).map { _ in
                try allocator.allocate(MemoryRequirements(size: 100, alignment: 4), in: pool)
            }
            #expect(allocations.allSatisfy { $0.offset % (64 << 10) == 0 })
            #expect(Set(allocations.map(\.offset)).count == 8)
            let buffer = try allocator.createBuffer(BufferDescription(size: 256, usage: .uniformBuffer).exclusiveCreateInfo,
                                                    in: pool)
            #expect(buffer.allocation.offset % (64 << 10) == 0)
            allocator._checkInvariants()
            try allocator.destroyBuffer(buffer)
            for allocation in allocations { try allocator.free(allocation) }
            try allocator.destroyPool(pool)
        }
    }

    @Test func dedicatedAllocationsInAPoolUseItsTypeAndKeepItAlive() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "with dedicated", pageSize: 1 << 20, maxPages: 1,
                                                          priority: 0.25))
            // Asked for: dedicated, larger than the pages, in the pool's type.
            let large = try allocator.allocate(MemoryRequirements(size: 3 << 20), in: pool,
                                               options: AllocationOptions(dedicated: .always))
            #expect(large.isDedicated && large.memoryTypeIndex == pool.memoryTypeIndex)
            // Not asked for: a pool never makes dedicated memory on its own.
            let small = try allocator.allocate(MemoryRequirements(size: 4096, prefersDedicated: true), in: pool)
            #expect(!small.isDedicated)
            #expect(try allocator.statistics().pools.first?.dedicatedCount == 1)
            #expect(throws: AllocationError.poolNotEmpty(name: "with dedicated", allocations: 2)) {
                try allocator.destroyPool(pool)
            }
            try allocator.free(small)
            #expect(throws: AllocationError.poolNotEmpty(name: "with dedicated", allocations: 1)) {
                try allocator.destroyPool(pool)
            }
            try allocator.free(large)
            try allocator.destroyPool(pool)
            // A destroyed pool makes no dedicated memory either.
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: 4096), in: pool,
                                           options: AllocationOptions(dedicated: .always))
            }
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    @Test func aPoolsPagesAreExportableAndTheImportSeesTheirBytes() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "shared", usage: .dynamic, pageSize: 1 << 20,
                                                          exportHandleTypes: .opaqueFd))
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), in: pool,
                                                    options: AllocationOptions(mapped: true))
            let pointer = try #require(allocation.mappedPointer)
            pointer.storeBytes(of: UInt64(0xFEED_FACE_CAFE_BEEF), as: UInt64.self)
            let fd = try allocator.exportFileDescriptor(of: allocation)
            #expect(fd >= 0)
            // The whole page comes back through the descriptor: the allocation at its offset.
            let imported = try DeviceMemory.importFileDescriptor(fd, on: context.device, size: 1 << 20,
                                                                 memoryTypeIndex: pool.memoryTypeIndex)
            #expect(try imported.map().read(UInt64.self, at: allocation.offset) == 0xFEED_FACE_CAFE_BEEF)
            try imported.free()
            // Dedicated memory of the pool is exportable too.
            let dedicated = try allocator.allocate(MemoryRequirements(size: 8192), in: pool,
                                                   options: AllocationOptions(dedicated: .always))
            let dedicatedFD = try allocator.exportFileDescriptor(of: dedicated)
            #expect(dedicatedFD >= 0)
            close(dedicatedFD)
            // The allocator's own pages are not exportable.
            let plain = try allocator.allocate(MemoryRequirements(size: 4096), .usage(.gpuOnly))
            #expect(throws: AllocationError.memory(.notExportable(requested: .opaqueFd, allocatedWith: []))) {
                _ = try allocator.exportFileDescriptor(of: plain)
            }
            try allocator.free(plain)
            #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.exportFileDescriptor(of: plain) }
            try allocator.free(dedicated)
            try allocator.free(allocation)
            try allocator.destroyPool(pool)
        }
    }

    @Test func exportNeedsTheCapability() throws {
        try withTestDevice(capabilities: []) { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: AllocationError.self) {
                _ = try allocator.makePool(PoolOptions(name: "shared", pageSize: 1 << 20, exportHandleTypes: .opaqueFd))
            }
        }
    }

    /// Allocations made many at a time in a renamed pool report its new name, as single
    /// ones do; they used to report the name it was made with.
    @Test func batchAllocationsReportTheCurrentPoolName() throws {
        try withTestDevice { context in
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            let allocator = Allocator(device: context.device, options: options)
            let pool = try allocator.makePool(PoolOptions(name: "before", pageSize: 1 << 20))
            try allocator.setName("after", of: pool)
            let one = try allocator.allocate(MemoryRequirements(size: 4096), in: pool)
            let many = try allocator.allocate(many: [MemoryRequirements(size: 4096)], in: pool)
            #expect(log.allocated.map(\.pool) == ["after", "after"])
            for allocation in [one] + many { try allocator.free(allocation) }
            try allocator.destroyPool(pool)
        }
    }
}
