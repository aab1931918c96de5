import CVulkan
import Testing
@testable import VulkanMemory

/// `BufferDescription.exclusiveCreateInfo` and `withCreateInfo(_:)`.
@Suite("Buffer descriptions as VkBufferCreateInfo")
struct BufferCreateInfoTests {
    @Test func theExclusiveCreateInfoCarriesTheDescriptionsFields() {
        let description = BufferDescription(size: 65_536, usage: [.storageBuffer, .transferDestination],
                                            sharedQueueFamilies: [0, 1])
        let info = description.exclusiveCreateInfo
        #expect(info.sType == VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO)
        #expect(info.pNext == nil && info.flags == 0)
        #expect(info.size == 65_536)
        #expect(info.usage == VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        #expect(info.sharingMode == VK_SHARING_MODE_EXCLUSIVE)
        #expect(info.queueFamilyIndexCount == 0 && info.pQueueFamilyIndices == nil)
    }

    @Test func sharedBuffersAreConcurrentOnlyForTwoFamiliesOrMore() {
        let shared = BufferDescription(size: 256, usage: .uniformBuffer, sharedQueueFamilies: [2, 0])
        shared.withCreateInfo { info in
            #expect(info.sharingMode == VK_SHARING_MODE_CONCURRENT)
            #expect(info.queueFamilyIndexCount == 2)
            #expect(info.pQueueFamilyIndices.map { Array(UnsafeBufferPointer(start: $0, count: 2)) } == [2, 0])
            #expect(info.size == 256 && info.usage == VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT.rawValue)
        }
        for families in [[], [3]] as [[UInt32]] {
            BufferDescription(size: 256, usage: .uniformBuffer, sharedQueueFamilies: families).withCreateInfo { info in
                #expect(info.sharingMode == VK_SHARING_MODE_EXCLUSIVE, "\(families)")
                #expect(info.queueFamilyIndexCount == 0 && info.pQueueFamilyIndices == nil, "\(families)")
            }
        }
        struct Refused: Error {}
        #expect(throws: Refused.self) { try shared.withCreateInfo { _ throws(Refused) in throw Refused() } }
    }

    @Test func theCreateInfoMakesARealBuffer() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let description = BufferDescription(size: 1 << 20, usage: [.vertexBuffer, .transferDestination],
                                                sharedQueueFamilies: [context.queueFamilyIndex], name: "vertices")
            let bound = try description.withCreateInfo { info throws(AllocationError) in
                try allocator.createBuffer(info, description.memory, options: AllocationOptions(name: description.name))
            }
            #expect(bound.size == description.size)
            #expect(allocator.requirements(of: bound.buffer).size >= description.size)
            try allocator.destroyBuffer(bound)
            let plain = try allocator.createBuffer(description.exclusiveCreateInfo, description.memory)
            try allocator.destroyBuffer(plain)
        }
    }
}
