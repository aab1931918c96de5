import CVulkan
import Testing
@testable import VulkanMemory

/// Views that outlive their memory: every access through one is `MemoryError.viewEnded`,
/// never a write into another allocation's bytes or into unmapped memory.
@Suite("Mapped views outliving their memory")
struct ViewLifetimeTests {
    static let stale = MemoryError.viewEnded

    /// Every way in through a view throws `viewEnded`, and `body` of the closure forms
    /// never runs.
    static func expectEnded(_ view: MappedMemory, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!view.isValid, sourceLocation: sourceLocation)
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.write(UInt32(0xDEAD_BEEF), at: 0) }
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.write(contentsOf: [UInt8](repeating: 1, count: 8)) }
        #expect(throws: stale, sourceLocation: sourceLocation) { _ = try view.read(UInt32.self, at: 0) }
        #expect(throws: stale, sourceLocation: sourceLocation) { _ = try view.read(UInt8.self, count: 4) }
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.flush() }
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.invalidate() }
        var ran = false
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.withUnsafeMutableBytes { _ in ran = true } }
        #expect(throws: stale, sourceLocation: sourceLocation) { try view.withUnsafeBytes { _ in ran = true } }
        #expect(!ran, sourceLocation: sourceLocation)
    }

    @Test func aFreedAllocationsViewCannotWriteIntoTheRangeItsSuccessorTook() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let keeper = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging)
            let first = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            let staleView = try allocator.map(first)
            try staleView.write(UInt32(1), at: 0)
            try allocator.free(first)
            // The page stays (the keeper holds it): the same range goes to the next request.
            let second = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            #expect(second.memory == first.memory && second.offset == first.offset)
            let view = try allocator.map(second)
            try view.write(contentsOf: [UInt32](repeating: 0xA5A5_A5A5, count: 1024))
            Self.expectEnded(staleView)
            #expect(try view.read(UInt32.self, count: 1024).allSatisfy { $0 == 0xA5A5_A5A5 })
            #expect(view.isValid)
            try allocator.free(second)
            try allocator.free(keeper)
        }
    }

    @Test func aViewOfReleasedMemoryThrowsInsteadOfFaulting() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let only = try allocator.allocate(MemoryRequirements(size: 1 << 16), usage: .staging)
            let view = try allocator.map(only)
            try allocator.free(only)
            #expect(allocator.freeUnusedPages() > 0)
            #expect(allocator.statistics().totals.deviceMemoryCount == 0)
            Self.expectEnded(view)
        }
    }

    @Test func dedicatedGroupAndResourceViewsEndWithTheirAllocations() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging,
                                                   options: AllocationOptions(dedicated: .always, mapped: true))
            let dedicatedView = try allocator.map(dedicated)
            try dedicatedView.write(UInt64(7))
            try allocator.free(dedicated)
            Self.expectEnded(dedicatedView)

            let group = try ResourceBatch
                .buffer(size: 4096, usage: .transferSource, memory: .usage(.staging))
                .nextBuffer(size: 4096, usage: .transferSource, memory: .usage(.staging))
                .bind(allocator, strategy: .contiguous)
            let memberView = try allocator.map(group[1])
            try memberView.write(UInt32(3))
            try allocator.destroy(many: group)
            Self.expectEnded(memberView)

            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = 1000
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            let buffer = try allocator.createBuffer(info, .usage(.staging))
            let bufferView = try allocator.map(.buffer(buffer))
            #expect(bufferView.size == 1000)
            try allocator.destroyBuffer(buffer)
            Self.expectEnded(bufferView)
        }
    }

    @Test func viewsEndWithTheAllocatorAndItsMemoryIsFreedThen() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.reportLeaksAtTeardown = false
            var allocator: Allocator? = Allocator(device: context.device, options: options)
            let page = try allocator!.allocate(MemoryRequirements(size: 4096), usage: .staging)
            let dedicated = try allocator!.allocate(MemoryRequirements(size: 4096), usage: .staging,
                                                    options: AllocationOptions(dedicated: .always))
            let views = [try allocator!.map(page), try allocator!.map(dedicated)]
            let before = context.device.accounting.snapshot.totalAllocations
            #expect(before == 2)
            allocator = nil
            // The views hold the memory objects, yet the allocator freed them: a view must
            // not keep a VkDeviceMemory past its allocator (nor write into it).
            #expect(context.device.accounting.snapshot.totalAllocations == 0)
            for view in views { Self.expectEnded(view) }
        }
    }

    @Test func rawMemoryViewsEndAtTheLastUnmapAndAtFree() throws {
        try withTestDevice { context in
            let type = try DeviceMemoryTests.mappableType(context.device)
            let memory = try DeviceMemory.allocate(on: context.device, size: 8192, memoryTypeIndex: type.index)
            let first = try memory.map()
            let second = try memory.map(offset: 4096, size: 4096)
            try memory.unmap()
            // Maps are counted: the mapping, and both views, last until the second unmap.
            #expect(first.isValid && second.isValid)
            try second.write(UInt32(9))
            try memory.unmap()
            Self.expectEnded(first)
            Self.expectEnded(second)
            // A new mapping gives new views; the old ones stay ended.
            let third = try memory.map()
            try third.write(UInt32(1))
            #expect(!first.isValid)
            try memory.free()
            Self.expectEnded(third)
        }
    }

    @Test func aDefragmentationMoveEndsTheMovedAllocationsView() throws {
        try withTestDevice { context in
            let (allocator, before) = try DefragmentationTests.fragmented(context)
            let views = try before.mapValues { try allocator.map($0) }
            let pass = try allocator.beginDefragmentation()
            let moves = pass.moves
            #expect(!moves.isEmpty)
            let live = try DefragmentationTests.copy(pass, allocator, before)
            pass.commit()
            for (index, view) in views {
                if moves.contains(where: { $0.source == before[index] }) {
                    Self.expectEnded(view)
                } else {
                    #expect(view.isValid)
                    #expect(try view.read(UInt64.self) == UInt64(index))
                }
                #expect(try allocator.map(live[index]!).read(UInt64.self) == UInt64(index))
            }
            for allocation in live.values { try allocator.free(allocation) }
        }
    }
}
