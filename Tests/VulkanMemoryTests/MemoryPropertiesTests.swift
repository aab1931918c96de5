import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

@Suite("Memory properties")
struct MemoryPropertiesTests {
    /// Checks any device; lavapipe's one heap and one type in detail.
    @Test func lavapipeHasOneHeapAndOneType() throws {
        try withTestDevice { context in
            let properties = MemoryProperties(device: context.device)
            #expect(properties.heaps.count >= 1)
            #expect(properties.types.count >= 1)
            #expect(properties.types.allSatisfy { properties.heaps.indices.contains($0.heapIndex) })
            #expect(properties.limits.nonCoherentAtomSize > 0)
            #expect(properties.limits.bufferImageGranularity > 0)
            #expect(properties.limits.maxMemoryAllocationCount > 0)
            if context.device.info.name.contains("llvmpipe") {
                let type = try #require(properties.types.first)
                #expect(type.isDeviceLocal && type.isHostVisible && type.isHostCoherent && type.isHostCached)
                #expect(!type.isLazilyAllocated && !type.isProtected)
                #expect(properties.heaps[0].isDeviceLocal && !properties.heaps[0].isMultiInstance)
                #expect(properties.limits.bufferImageGranularity == 64)
                #expect(properties.limits.nonCoherentAtomSize == 64)
            }
        }
    }

    @Test func flagNamesRoundTrip() {
        let all = MemoryPropertyFlags.named.reduce(MemoryPropertyFlags()) { $0.union($1.flag) }
        #expect(MemoryPropertyFlags(names: all.names) == all)
        #expect(MemoryPropertyFlags(names: ["HOST_VISIBLE", "HOST_COHERENT"]) == [.hostVisible, .hostCoherent])
        #expect(MemoryPropertyFlags(names: ["NOT_A_FLAG"]) == nil)
        #expect(MemoryPropertyFlags([.deviceLocal, .deviceUncachedAMD]).description == "DEVICE_LOCAL|DEVICE_UNCACHED_AMD")
        #expect(MemoryPropertyFlags(rawValue: 0x1001).names == ["DEVICE_LOCAL", "0x1000"])
        #expect(MemoryPropertyFlags().description == "NONE")
        #expect(MemoryHeapFlags(names: ["DEVICE_LOCAL", "MULTI_INSTANCE"]) == [.deviceLocal, .multiInstance])
    }

    @Test func everyRealProfileDecodes() throws {
        #expect(realProfiles.count == 46)
        for profile in realProfiles {
            let properties = try profile.memoryProperties()
            #expect(!properties.heaps.isEmpty, "\(profile.name)")
            #expect(!properties.types.isEmpty, "\(profile.name)")
            #expect(properties.limits.nonCoherentAtomSize.nonzeroBitCount == 1, "\(profile.name)")
            #expect(properties.limits.bufferImageGranularity.nonzeroBitCount == 1, "\(profile.name)")
        }
    }

    @Test func h100ProfileHasTwoHeapsAndFiveTypes() throws {
        let h100 = try #require(realProfiles.first { $0.name.contains("H100") })
        let properties = try h100.memoryProperties()
        #expect(properties.heaps.count == 2)
        #expect(properties.types.count == 5)
        #expect(properties.heaps[0].isDeviceLocal)
        #expect(properties.types[4].flags == [.deviceLocal, .hostVisible, .hostCoherent])
        #expect(properties.heap(of: properties.types[4])?.index == 0)
        #expect(properties.limits.bufferImageGranularity == 1024)
        #expect(h100.memoryBudgetExtension == true)
    }

    @Test func badProfilesAreTypedErrors() {
        #expect(throws: DeviceProfile.LoadError.self) {
            _ = try DeviceProfile.load(path: "/nonexistent/devices.json")
        }
    }

    @Test func budgetWithoutTheExtensionCountsOurAllocations() throws {
        try withTestDevice(capabilities: [.externalMemoryFd]) { context in
            let device = context.device
            let before = MemoryBudget(device: device)
            #expect(before.source == .estimated)
            let properties = MemoryProperties(device: device)
            #expect(before.heaps.count == properties.heaps.count)
            for heap in properties.heaps {
                #expect(before.heaps[heap.index].budget == UInt64(Double(heap.size) * 0.8))
            }
            // Type 0's heap: lavapipe's only one, host memory (heap 1) on the H200.
            let heap = properties.types[0].heapIndex
            let memory = try DeviceMemory.allocate(on: device, size: 1 << 20, memoryTypeIndex: 0)
            let during = MemoryBudget(device: device)
            for other in properties.heaps.indices {
                #expect(during.heaps[other].usage == before.heaps[other].usage + (other == heap ? 1 << 20 : 0))
            }
            try memory.free()
            #expect(MemoryBudget(device: device).heaps[heap].usage == before.heaps[heap].usage)
        }
    }
}

/// What the other tests read from the device, printed so a run on another machine says what
/// it ran on, and the rules of the Vulkan spec they rely on.
@Suite("The device at hand")
struct DeviceAtHandTests {
    @Test func factsTheTestsReadAndTheRulesTheyRelyOn() throws {
        try withTestDevice { context in
            let device = context.device
            let properties = MemoryProperties(device: device)
            let budget = MemoryBudget(device: device)
            var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
            maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
            var properties2 = VkPhysicalDeviceProperties2()
            properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
            withUnsafeMutablePointer(to: &maintenance3) { pointer in
                properties2.pNext = UnsafeMutableRawPointer(pointer)
                device.instanceFunctions.getPhysicalDeviceProperties2(device.physicalDevice, &properties2)
            }
            let allocator = Allocator(device: device)
            var lines = ["device \(device.info.name), Vulkan \(device.apiVersion), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                         "budget from \(budget.source.rawValue); maxMemoryAllocationSize \(maintenance3.maxMemoryAllocationSize); "
                             + "bufferImageGranularity \(properties.limits.bufferImageGranularity); "
                             + "nonCoherentAtomSize \(properties.limits.nonCoherentAtomSize); "
                             + "maxMemoryAllocationCount \(properties.limits.maxMemoryAllocationCount)"]
            for heap in properties.heaps {
                lines.append("heap \(heap.index): \(heap.size) bytes \(heap.flags), budget \(budget.heaps[heap.index].budget), "
                             + "usage \(budget.heaps[heap.index].usage)")
                // The budget tests rely on this (VkPhysicalDeviceMemoryBudgetPropertiesEXT).
                #expect(budget.heaps[heap.index].budget <= heap.size)
            }
            for type in properties.types {
                lines.append("type \(type.index): heap \(type.heapIndex) \(type.flags)")
            }
            for usage in MemoryUsage.allCases {
                lines.append("\(usage): \(allocator.rankedTypes(for: .usage(usage)))")
            }
            print(lines.map { "[device] " + $0 }.joined(separator: "\n"))
            #expect(properties.mappableType != nil, "no host-visible type: the mapping tests cannot run")
        }
    }
}
