import CVulkan
import Dispatch
import Testing
@testable import VulkanMemory

/// Custom pools (`Allocator.makePool`): pages of one type and size, within bounds.
@Suite("Custom pools")
struct PoolTests {
    private static func bufferInfo(size: UInt64) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue | VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    @Test func aPoolKeepsItsPagesApartAndWithinItsBounds() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "particles", pageSize: 4 << 20, minPages: 1, maxPages: 2))
            // minPages: one page made now, counted reserved, before any allocation.
            var pages = try allocator.statistics().pages
            #expect(pages.count == 1 && pages[0].pool == "particles" && pages[0].reserved && pages[0].size == 4 << 20)
            var live = try (0..<12).map { _ throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: 600 << 10, alignment: 256), in: pool)
            }
            // 12 × 600 KiB need both pages; the allocator's own pages are untouched.
            pages = try allocator.statistics().pages
            #expect(pages.count == 2 && pages.allSatisfy { $0.pool == "particles" && $0.size == 4 << 20 })
            // A third page would pass maxPages: refused, naming the pool, nothing changed.
            let before = allocator.usage
            do throws(AllocationError) {
                _ = try allocator.allocate(MemoryRequirements(size: 3 << 20), in: pool)
                Issue.record("a third page was made")
            } catch {
                guard case let .outOfMemory(_, _, _, _, reason) = error else { Issue.record("got \(error)"); return }
                #expect(reason.contains("'particles'") && reason.contains("maximum of 2 pages"))
            }
            // Larger than a page: refused, naming the pool.
            #expect(throws: AllocationError.self) { _ = try allocator.allocate(MemoryRequirements(size: 5 << 20), in: pool) }
            #expect(allocator.usage.committedBytes == before.committedBytes)
            #expect(allocator.liveAllocations().count == 12)
            // A pool still holding allocations is not destroyed.
            #expect(throws: AllocationError.poolNotEmpty(name: "particles", allocations: 12)) { try allocator.destroyPool(pool) }
            for allocation in live { try allocator.free(allocation) }
            live = []
            // Emptied, its pages stay until the pool goes (as VMA keeps a pool's blocks).
            #expect(allocator.usage.pageCount == 2)
            try allocator.destroyPool(pool)
            #expect(allocator.usage.committedBytes == 0 && allocator.usage.pageCount == 0)
            #expect(throws: AllocationError.unknownAllocation) { try allocator.destroyPool(pool) }
            // A destroyed pool makes nothing more, and no memory is left behind trying.
            #expect(throws: AllocationError.self) { _ = try allocator.allocate(MemoryRequirements(size: 4096), in: pool) }
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    @Test func buffersAndImagesLiveInAPoolAndGoBackWithTheirMemory() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "level", pageSize: 8 << 20))
            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 64 << 10), in: pool,
                                                    options: AllocationOptions(name: "level vertices"))
            let image = try allocator.createImage(ImageDescription(width: 64, height: 64, usage: .sampled).exclusiveCreateInfo,
                                                  in: pool)
            let outside = try allocator.createBuffer(Self.bufferInfo(size: 64 << 10), .usage(.gpuOnly))
            #expect(buffer.allocation.memory == image.allocation.memory)
            #expect(outside.allocation.memory != buffer.allocation.memory)
            #expect(allocator.liveAllocations().contains { $0.name == "level vertices" })
            #expect(allocator.isLive(buffer.allocation) && allocator.isLive(image.allocation))
            // The granularity rule holds in a pool's pages too: an optimal image is refused a linear range.
            let linear = try allocator.allocate(MemoryRequirements(size: 64 << 10, alignment: 256, kind: .linear), in: pool)
            let info = ImageDescription(width: 64, height: 64, usage: .sampled).exclusiveCreateInfo
            #expect(throws: AllocationError.self) { _ = try allocator.createImage(info, boundTo: linear) }
            try allocator.free(linear)
            try allocator.destroyBuffer(buffer)
            try allocator.destroyImage(image)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(buffer.allocation) }
            try allocator.destroyBuffer(outside)
            try allocator.destroyPool(pool)
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0 && allocator.usage.allocationCount == 0)
        }
    }

    @Test func mappedPoolMemoryAndBadOptions() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: AllocationError.zeroSize) { _ = try allocator.makePool(PoolOptions(name: "x", pageSize: 0)) }
            #expect(throws: AllocationError.self) {
                _ = try allocator.makePool(PoolOptions(name: "x", pageSize: 1 << 20, minPages: 3, maxPages: 2))
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.makePool(PoolOptions(name: "x", memoryTypeIndex: 99, pageSize: 1 << 20))
            }
            #expect(allocator.usage.committedBytes == 0)
            let staging = try allocator.makePool(PoolOptions(name: "uploads", usage: .staging, pageSize: 2 << 20))
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), in: staging,
                                                    options: AllocationOptions(mapped: true))
            let view = try allocator.map(allocation)
            try view.write(UInt64(0xC0FFEE))
            #expect(try view.read(UInt64.self) == 0xC0FFEE)
            try allocator.free(allocation)
            try allocator.destroyPool(staging)
        }
    }

    /// Four threads allocating and freeing in one pool and in the allocator's own pages.
    @Test func poolsFromSeveralThreads() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "shared", pageSize: 4 << 20, maxPages: 8))
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { thread in
                var generator = SplitMix(seed: UInt64(thread) + 7)
                var live: [Allocation] = []
                for _ in 0..<2_000 {
                    if generator.next() % 2 == 0 || live.isEmpty {
                        let size = 256 + generator.next() % (64 << 10)
                        do {
                            live.append(generator.next() % 2 == 0
                                ? try allocator.allocate(MemoryRequirements(size: size, alignment: 256), in: pool)
                                : try allocator.allocate(MemoryRequirements(size: size, alignment: 256), usage: .gpuOnly))
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    } else {
                        do { try allocator.free(live.remove(at: Int(generator.next() % UInt64(live.count)))) } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
                for allocation in live { try? allocator.free(allocation) }
            }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
            #expect(allocator.usage.allocationCount == 0)
            try allocator.destroyPool(pool)
        }
    }

    /// Bad input and misuse: typed errors, never a trap, nothing left behind.
    @Test func misuseIsRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let other = Allocator(device: context.device)
            #expect(throws: AllocationError.self) { _ = try allocator.makePool(PoolOptions(name: "huge", pageSize: .max)) }
            let pool = try allocator.makePool(PoolOptions(name: "mine", pageSize: 1 << 20))
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: .max - 256, alignment: 256), in: pool)
            }
            // Another allocator neither allocates in the pool nor destroys it.
            #expect(throws: AllocationError.unknownAllocation) {
                _ = try other.allocate(MemoryRequirements(size: 4096), in: pool)
            }
            #expect(throws: AllocationError.unknownAllocation) { try other.destroyPool(pool) }
            #expect(other.usage.committedBytes == 0 && allocator.usage.committedBytes == 0)
            // minPages are whole pages of exactly the pool's size.
            let odd = try allocator.makePool(PoolOptions(name: "odd", pageSize: 1_310_720, minPages: 4, maxPages: 4))
            #expect(try allocator.statistics().pages.filter { $0.pool == "odd" }.map(\.size) == Array(repeating: 1_310_720, count: 4))
            try allocator.destroyPool(odd)
            try allocator.destroyPool(pool)
        }
    }

    /// A pool's number is reused after it is destroyed; an allocation of the old pool is
    /// still told from the new pool's, even at the same memory and offset.
    @Test func aStaleAllocationOfADestroyedPoolStaysStale() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let first = try allocator.makePool(PoolOptions(name: "first", pageSize: 1 << 20))
            let stale = try allocator.allocate(MemoryRequirements(size: 4096), in: first)
            try allocator.free(stale)
            try allocator.destroyPool(first)
            let second = try allocator.makePool(PoolOptions(name: "second", pageSize: 1 << 20))
            #expect(second.index == first.index, "the number is reused")
            let live = try allocator.allocate(MemoryRequirements(size: 4096), in: second)
            #expect(!allocator.isLive(stale))
            #expect(throws: AllocationError.self) { try allocator.free(stale) }
            #expect(allocator.isLive(live))
            try allocator.free(live)
            try allocator.destroyPool(second)
        }
    }

    /// Pools made from eight threads at once get eight numbers, and all go back.
    @Test func poolsMadeFromSeveralThreads() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let made = Locked<[MemoryPool]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                if let pool = try? allocator.makePool(PoolOptions(name: "p\(thread)", pageSize: 1 << 20, minPages: 2)) {
                    made.withLock { $0.append(pool) }
                }
            }
            let pools = made.withLock { $0 }
            #expect(pools.count == 8 && Set(pools.map(\.index)).count == 8)
            #expect(allocator.usage.pageCount == 16)
            for pool in pools { try allocator.destroyPool(pool) }
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    /// A pool with a defragmentation pass open over it is not destroyed: its pages are
    /// still being emptied and their fences are in the arena. It used to close anyway and
    /// trip a precondition putting a page's fence back (found by an audit); it is
    /// `.defragmentationPassOpen` now, and the pool goes once the pass ends.
    @Test func aPoolIsNotDestroyedUnderAnOpenPass() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "moving", pageSize: 1 << 20, maxPages: 4))
            let first = try allocator.allocate(MemoryRequirements(size: 600 << 10, alignment: 256), in: pool)
            let second = try allocator.allocate(MemoryRequirements(size: 600 << 10, alignment: 256), in: pool)
            try allocator.free(first)
            let small = try allocator.allocate(MemoryRequirements(size: 64 << 10, alignment: 256), in: pool)
            let pass = try allocator.beginDefragmentation(in: pool)
            try #require(pass.pagesToRelease > 0)
            // Everything freed, the pass's own allocations included (against its rules).
            for move in pass.moves {
                try allocator.free(move.source)
                try allocator.free(move.destination)
            }
            for allocation in [second, small] where allocator.isLive(allocation) { try allocator.free(allocation) }
            #expect(throws: AllocationError.defragmentationPassOpen) { try allocator.destroyPool(pool) }
            pass.cancel()
            try allocator.destroyPool(pool)
            #expect(allocator.usage.committedBytes == 0)
            allocator._checkInvariants()
        }
    }

    /// A destroyed pool's priority is refused as its name is (`.unknownAllocation`); it
    /// used to answer 0 pages changed. Through the pool's own step, since lavapipe has no
    /// `VK_EXT_pageable_device_local_memory` for the public call's check to pass.
    @Test func aDestroyedPoolsPriorityIsRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let pool = try allocator.makePool(PoolOptions(name: "gone", pageSize: 1 << 20, minPages: 1))
            try allocator.destroyPool(pool)
            #expect(try allocator.poolPages(pool).setPriority(0.5) == nil)
            #expect(throws: AllocationError.unknownAllocation) { try allocator.setName("again", of: pool) }
        }
    }
}
