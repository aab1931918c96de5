import CVulkan
import Testing
@testable import VulkanMemory

/// `VulkanContext.queue`: the queue the bootstrap creates is handed out and usable.
@Suite("The bootstrap's queue")
struct ContextQueueTests {
    @Test func theQueueIsTheOneTheDeviceWasCreatedWith() throws {
        try withTestDevice { context in
            let device = context.device
            let queue = context.queue
            #expect(queue.index == 0)
            #expect(queue.familyIndex == context.queueFamilyIndex)
            // Its family can transfer, as the documentation promises.
            let families = try enumerateArray("vkGetPhysicalDeviceQueueFamilyProperties",
                                              empty: VkQueueFamilyProperties()) { count, out in
                device.instanceFunctions.getPhysicalDeviceQueueFamilyProperties(device.physicalDevice, count, out)
                return VK_SUCCESS
            }
            let family = try #require(families.indices.contains(Int(queue.familyIndex)) ? families[Int(queue.familyIndex)] : nil)
            let transfer = VK_QUEUE_GRAPHICS_BIT.rawValue | VK_QUEUE_COMPUTE_BIT.rawValue | VK_QUEUE_TRANSFER_BIT.rawValue
            #expect(family.queueFlags & transfer != 0)
            #expect(family.queueCount >= 1)
            // The same handle vkGetDeviceQueue gives.
            var handle: VkQueue?
            device.deviceFunctions.getDeviceQueue(device.device, queue.familyIndex, 0, &handle)
            #expect(handle == queue.handle)
            // A real queue: an empty submission and a wait pass, under the validation layer.
            let submit = try #require(device.instanceFunctions.getDeviceProcAddr(device.device, "vkQueueSubmit"))
            let wait = try #require(device.instanceFunctions.getDeviceProcAddr(device.device, "vkQueueWaitIdle"))
            #expect(unsafeBitCast(submit, to: PFN_vkQueueSubmit.self)(queue.handle, 0, nil, nil) == VK_SUCCESS)
            #expect(unsafeBitCast(wait, to: PFN_vkQueueWaitIdle.self)(queue.handle) == VK_SUCCESS)
        }
    }

    @Test func aQueueValueNamesWhatItWasRetrievedBy() throws {
        try withTestDevice { context in
            let copy = VulkanQueue(familyIndex: context.queue.familyIndex, index: 0, handle: context.queue.handle)
            #expect(copy == context.queue)
            #expect(VulkanQueue.retrieve(from: context.device, familyIndex: context.queue.familyIndex, index: 0)
                    == context.queue)
        }
    }
}
