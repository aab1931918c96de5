import CVulkan
import Testing
@testable import VulkanMemory

/// The non-copyable owners: `OwnedAllocation`, `OwnedBuffer`, `OwnedImage` free at the end
/// of their scope, on `release()`, or never once `take()` gave the plain value back.
@Suite("Owned allocations, buffers and images")
struct OwnedResourceTests {
    private static func bufferInfo(size: UInt64 = 4096) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    private static var imageInfo: VkImageCreateInfo { ImageDescription(width: 16, height: 16, usage: .sampled).exclusiveCreateInfo }

    /// Checks at compile time that a non-copyable type is `Sendable`.
    private static func isSendable<T: Sendable & ~Copyable>(_: T.Type) -> Bool { true }

    @Test func ownersFreeAtTheEndOfTheirScope() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let before = allocator.usage
            do {
                let memory = try allocator.allocateOwned(MemoryRequirements(size: 4096), .usage(.dynamic))
                let buffer = try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.dynamic))
                let image = try allocator.createOwnedImage(Self.imageInfo, .usage(.gpuOnly))
                let dedicated = try allocator.allocateOwned(MemoryRequirements(size: 4096), .usage(.gpuOnly),
                                                            options: AllocationOptions(dedicated: .always))
                #expect(allocator.usage.allocationCount == before.allocationCount + 4)
                #expect(allocator.isLive(memory.allocation) && allocator.isLive(buffer.allocation)
                        && allocator.isLive(image.allocation) && dedicated.allocation.isDedicated)
                // Borrowing accessors: the bytes through each owner's view.
                try memory.map().write(UInt32(42))
                #expect(try memory.map().read(UInt32.self) == 42)
                let view = try buffer.map()
                #expect(view.size == buffer.size)
                try view.write(contentsOf: [UInt8](repeating: 7, count: 4096))
                #expect(buffer.buffer == buffer.bound.buffer && image.image == image.bound.image)
                #expect(memory.allocator === allocator)
            }
            #expect(allocator.usage.allocationCount == before.allocationCount)
            #expect(allocator.liveAllocations().isEmpty)
            #expect(Self.isSendable(OwnedAllocation.self) && Self.isSendable(OwnedBuffer.self)
                    && Self.isSendable(OwnedImage.self))
        }
    }

    @Test func ownersReleaseExplicitlyWithErrorsThrown() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let memory = try allocator.allocateOwned(MemoryRequirements(size: 4096), .usage(.gpuOnly))
            let buffer = try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.gpuOnly))
            let image = try allocator.createOwnedImage(Self.imageInfo, .usage(.gpuOnly))
            #expect(allocator.usage.allocationCount == 3)
            try memory.release()
            #expect(allocator.usage.allocationCount == 2)
            try buffer.release()
            try image.release()
            #expect(allocator.usage.allocationCount == 0)

            // Freed behind the owner's back: release() throws, and the owner is gone anyway.
            let stale = try allocator.allocateOwned(MemoryRequirements(size: 4096), .usage(.gpuOnly))
            try allocator.free(stale.allocation)
            do throws(AllocationError) {
                try stale.release()
                Issue.record("release of freed memory succeeded")
            } catch {
                #expect(error == .alreadyFreed)
            }
            // The same in deinit is logged, not thrown or trapped.
            do {
                let logged = try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.gpuOnly))
                try allocator.destroyBuffer(logged.bound)
            }
            #expect(allocator.usage.allocationCount == 0)

            // Still aliased: release() refuses with .aliasesLive and destroys nothing; the
            // buffer read before the call is the caller's again, as the docs say.
            let aliased = try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.gpuOnly))
            let bound = aliased.bound
            let alias = try allocator.createAliasingBuffer(Self.bufferInfo(), aliasing: aliased.allocation)
            do throws(AllocationError) {
                try aliased.release()
                Issue.record("release of an aliased buffer succeeded")
            } catch {
                #expect(error == .aliasesLive(count: 1))
            }
            #expect(allocator.isLive(bound.allocation))
            try allocator.destroyAliasingBuffer(alias)
            try allocator.destroyBuffer(bound)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func takeGivesThePlainValueBack() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation: Allocation
            let bound: BoundBuffer
            let image: BoundImage
            do {
                allocation = try allocator.allocateOwned(MemoryRequirements(size: 4096), .usage(.gpuOnly)).take()
                bound = try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.gpuOnly)).take()
                image = try allocator.createOwnedImage(Self.imageInfo, .usage(.gpuOnly)).take()
            }
            #expect(allocator.usage.allocationCount == 3)
            #expect(allocator.isLive(allocation) && allocator.isLive(bound.allocation) && allocator.isLive(image.allocation))

            // Owned again, and freed at the end of the scope.
            do {
                let owned = try allocator.own(allocation)
                let ownedBuffer = try allocator.own(bound)
                let ownedImage = try allocator.own(image)
                #expect(owned.allocation == allocation && ownedBuffer.bound == bound && ownedImage.bound == image)
            }
            #expect(allocator.usage.allocationCount == 0)
            #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.own(allocation) }
            let theirs = Allocator(device: context.device)
            let foreign = try theirs.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            #expect(throws: AllocationError.unknownAllocation) { _ = try allocator.own(foreign) }
            try theirs.free(foreign)
        }
    }

    /// An owner keeps its allocator alive: with no other reference, the allocator goes
    /// only after the owner freed its memory.
    @Test func anOwnerKeepsItsAllocatorAlive() throws {
        try withTestDevice { context in
            weak var weakAllocator: Allocator?
            var owner: OwnedBuffer? = try {
                let allocator = Allocator(device: context.device)
                weakAllocator = allocator
                return try allocator.createOwnedBuffer(Self.bufferInfo(), .usage(.gpuOnly))
            }()
            #expect(weakAllocator != nil)
            #expect(weakAllocator?.usage.allocationCount == 1)
            owner = nil
            #expect(weakAllocator == nil)
        }
    }
}
