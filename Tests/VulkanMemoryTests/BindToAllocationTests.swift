import CVulkan
import Testing
@testable import VulkanMemory

/// Binding resources to allocations the caller holds, and what a failed bulk bind leaves.
@Suite("Binding to held allocations and rollbacks")
struct BindToAllocationTests {
    private static func bufferInfo(size: UInt64 = 4096) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// A scatter bind that fails on its third resource must leave the empty page the
    /// allocator kept before the call, not release it while rolling back.
    @Test func aFailedBindKeepsTheEmptyPageThatWasThere() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            try allocator.free(try allocator.allocate(MemoryRequirements(size: 64 << 10), usage: .gpuOnly))
            let before = allocator.usage
            #expect(before.pageCount == 1 && before.emptyPageCount == 1)
            // r1 needs a new page, r2 goes to the kept empty page, r3 cannot be placed at all.
            let batch = ResourceBatch
                .buffer(size: 3 << 19, usage: .transferDestination, name: "r1")
                .nextBuffer(size: 3 << 18, usage: .transferDestination, name: "r2")
                .nextBuffer(size: 256, usage: .transferDestination, memory: MemoryRequest(required: .protected), name: "r3")
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: .scatter) }
            let after = allocator.usage
            #expect(after.pageCount == before.pageCount)
            #expect(after.emptyPageCount == before.emptyPageCount)
            #expect(after.committedBytes == before.committedBytes)
            #expect(after.allocationCount == 0)
        }
    }

    /// Memory allocated for one buffer with `VkMemoryDedicatedAllocateInfo` takes no other
    /// (VUID-vkBindBufferMemory-memory-01508): refused with the reason, nothing created.
    @Test func memoryDedicatedToAnotherBufferIsRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let info = Self.bufferInfo()
            let owner = try ResourceObject.create(info, on: context.device).buffer
            let allocation = try allocator.allocate(
                allocator.requirements(of: owner), usage: .gpuOnly,
                options: AllocationOptions(dedicated: .always, dedicatedTarget: .buffer(owner)))
            do throws(AllocationError) {
                let other = try allocator.createBuffer(info, boundTo: allocation)
                Issue.record("bound to memory dedicated to another buffer")
                context.device.deviceFunctions.destroyBuffer(context.device.device, other.buffer, nil)
            } catch {
                #expect(error == .requirementsNotMet(allocation: allocation.description, reason: .dedicatedToAnotherResource))
                #expect(error.description.contains("allocated for another resource"), "\(error)")
            }
            // The allocation is still the caller's and still live.
            #expect(allocator.isLive(allocation))
            try allocator.free(allocation)
            context.device.deviceFunctions.destroyBuffer(context.device.device, owner, nil)
        }
    }

    /// A member of a contiguous group belongs to the resource the batch bound to it: a
    /// second resource is refused with the reason, whatever its kind, and nothing is left
    /// behind; destroying the group's resources frees the range.
    @Test func aGroupMemberBelongsToItsResource() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try ResourceBatch.buffer(size: 64 << 10, usage: .transferDestination, name: "a")
                .nextBuffer(size: 64 << 10, usage: .transferDestination, name: "b")
                .bind(allocator, strategy: .contiguous)
            let member = bound.buffers[1]
            let image = ImageDescription(width: 16, height: 16, usage: .sampled).exclusiveCreateInfo
            #expect(throws: AllocationError.requirementsNotMet(allocation: member.allocation.description,
                                                               reason: .alreadyBound)) {
                _ = try allocator.createImage(image, boundTo: member.allocation)
            }
            #expect(throws: AllocationError.requirementsNotMet(allocation: member.allocation.description,
                                                               reason: .alreadyBound)) {
                _ = try allocator.createBuffer(Self.bufferInfo(size: 64 << 10), boundTo: member.allocation)
            }
            try allocator.destroyBuffer(member)
            try allocator.destroyBuffer(bound.buffers[0])
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// Another allocator's allocation is unknown here, a freed one already freed.
    @Test func foreignAndFreedAllocationsAreToldApart() throws {
        try withTestDevice { context in
            let mine = Allocator(device: context.device)
            let theirs = Allocator(device: context.device)
            let info = Self.bufferInfo()
            let probe = try ResourceObject.create(info, on: context.device).buffer
            let foreign = try theirs.allocate(theirs.requirements(of: probe), usage: .gpuOnly)
            context.device.deviceFunctions.destroyBuffer(context.device.device, probe, nil)
            #expect(throws: AllocationError.unknownAllocation) { _ = try mine.createBuffer(info, boundTo: foreign) }
            let freed = try mine.allocate(MemoryRequirements(size: 4096, kind: .linear), usage: .gpuOnly)
            try mine.free(freed)
            #expect(throws: AllocationError.alreadyFreed) { _ = try mine.createBuffer(info, boundTo: freed) }
            try theirs.free(foreign)
            #expect(mine.usage.allocationCount == 0 && theirs.usage.allocationCount == 0)
        }
    }
}
