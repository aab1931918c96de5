import Testing
@testable import VulkanMemory

/// Whether this machine's test device offers `VK_EXT_pageable_device_local_memory` (the
/// NVIDIA H200's driver does; lavapipe does not).
let pageableMemoryPresent: Bool = {
    var options = VulkanContext.Options()
    options.validation = .off
    options.capabilities = [.pageableDeviceLocalMemory]
    options.applicationName = "VulkanMemoryTests probe"
    guard let context = try? VulkanContext(options: options) else { return false }
    return context.device.capabilities.contains(.pageableDeviceLocalMemory)
}()

/// `Allocator.setPriority`: `vkSetDeviceMemoryPriorityEXT` on a dedicated allocation, a
/// custom pool's pages, a memory type's pages.
@Suite("Memory priority changes")
struct MemoryPriorityChangeTests {
    @Test("without VK_EXT_pageable_device_local_memory every change is refused, bad priorities first")
    func refusedWithoutCapability() throws {
        // withTestDevice does not ask for the capability, so no device has it here.
        try withTestDevice { context in
            #expect(context.device.deviceFunctions.setDeviceMemoryPriority == nil)
            let allocator = Allocator(device: context.device)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 65536), usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always))
            let pool = try allocator.makePool(PoolOptions(name: "priorities", pageSize: 1 << 20, minPages: 1))
            let refusal = AllocationError.memory(.capabilityNotEnabled(.pageableDeviceLocalMemory,
                                                                       operation: "vkSetDeviceMemoryPriorityEXT"))
            #expect(throws: refusal) { try allocator.setPriority(0.9, of: dedicated) }
            #expect(throws: refusal) { try allocator.setPriority(0.9, of: pool) }
            #expect(throws: refusal) { try allocator.setPriority(0.9, ofPagesOfMemoryType: dedicated.memoryTypeIndex) }
            #expect(throws: AllocationError.invalidPriority(1.5)) { try allocator.setPriority(1.5, of: dedicated) }
            #expect(throws: AllocationError.invalidPriority(-0.25)) { try allocator.setPriority(-0.25, of: pool) }
            #expect(throws: AllocationError.self) { try allocator.setPriority(.nan, of: dedicated) }
            #expect(throws: MemoryError.capabilityNotEnabled(.pageableDeviceLocalMemory,
                                                              operation: "vkSetDeviceMemoryPriorityEXT")) {
                let memory = try DeviceMemory.allocate(on: context.device, size: 4096, memoryTypeIndex: dedicated.memoryTypeIndex)
                defer { try? memory.free() }
                try memory.setPriority(0.5)
            }
            try allocator.destroyPool(pool)
            try allocator.free(dedicated)
        }
    }

    @Test("with VK_EXT_pageable_device_local_memory a dedicated allocation's and a pool's priorities change",
          .enabled(if: pageableMemoryPresent,
                   "skipped: no device here offers VK_EXT_pageable_device_local_memory (lavapipe lacks it; the NVIDIA H200 has it)"))
    func changesWhereOffered() throws {
        try withTestDevice(capabilities: [.memoryBudget, .pageableDeviceLocalMemory]) { context in
            // The extension needs VK_EXT_memory_priority, enabled with it.
            #expect(context.device.capabilities.isSuperset(of: [.pageableDeviceLocalMemory, .memoryPriority]))
            let allocator = Allocator(device: context.device)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 1 << 20), usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always))
            try allocator.setPriority(1, of: dedicated)
            try allocator.setPriority(0, of: dedicated)

            let pool = try allocator.makePool(PoolOptions(name: "priorities", pageSize: 1 << 20, minPages: 2))
            #expect(try allocator.setPriority(0.25, of: pool) == 2)

            let shared = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                                options: AllocationOptions(dedicated: .never))
            #expect(throws: AllocationError.sharedMemory(operation: "changing a memory priority")) {
                try allocator.setPriority(0.5, of: shared)
            }
            #expect(try allocator.setPriority(0.75, ofPagesOfMemoryType: shared.memoryTypeIndex) >= 1)
            #expect(throws: AllocationError.invalidPriority(2)) { try allocator.setPriority(2, of: pool) }

            try allocator.free(shared)
            try allocator.destroyPool(pool)
            try allocator.free(dedicated)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.setPriority(0.5, of: dedicated) }
        }
    }
}
