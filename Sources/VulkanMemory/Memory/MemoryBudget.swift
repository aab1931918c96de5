import CVulkan

/// Budget and usage of each heap, and where the figures come from.
public struct MemoryBudget: Sendable, Hashable {
    /// Where the figures come from.
    public enum Source: String, Sendable, Hashable {
        /// `VK_EXT_memory_budget`: the driver's view, including other processes' usage.
        case memoryBudgetExtension
        /// The extension is not enabled: usage is what this library has allocated on the
        /// device, budget is 80% of the heap's size.
        case estimated
    }

    /// One heap's figures.
    public struct Heap: Sendable, Hashable {
        /// The heap's index.
        public let heapIndex: Int
        /// Bytes the process may use before the driver starts evicting or failing.
        public let budget: UInt64
        /// Bytes in use.
        public let usage: UInt64
        /// `budget - usage`, or 0 when over budget.
        public var available: UInt64 { budget > usage ? budget - usage : 0 }
    }

    /// One entry per heap, in heap order.
    public let heaps: [Heap]
    /// Where the figures come from.
    public let source: Source

    /// The share of a heap's size used as its budget when the driver gives none.
    public static let estimatedBudgetFraction = 0.8

    /// Reads the budget of `device` now.
    ///
    /// With `VK_EXT_memory_budget` enabled this calls `vkGetPhysicalDeviceMemoryProperties2`
    /// with `VkPhysicalDeviceMemoryBudgetPropertiesEXT`; without it, it reports this
    /// library's own allocations against 80% of each heap.
    public init(device: VulkanDevice) {
        let counts = device.accounting.snapshot
        if device.capabilities.contains(.memoryBudget) {
            var budget = VkPhysicalDeviceMemoryBudgetPropertiesEXT()
            budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT
            var properties = VkPhysicalDeviceMemoryProperties2()
            properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2
            withUnsafeMutablePointer(to: &budget) { pointer in
                properties.pNext = UnsafeMutableRawPointer(pointer)
                device.instanceFunctions.getPhysicalDeviceMemoryProperties2(device.physicalDevice, &properties)
            }
            let count = Int(properties.memoryProperties.memoryHeapCount)
            let budgets = withUnsafeBytes(of: budget.heapBudget) { Array($0.bindMemory(to: UInt64.self).prefix(count)) }
            let usages = withUnsafeBytes(of: budget.heapUsage) { Array($0.bindMemory(to: UInt64.self).prefix(count)) }
            heaps = (0..<count).map { Heap(heapIndex: $0, budget: budgets[$0], usage: usages[$0]) }
            source = .memoryBudgetExtension
        } else {
            let properties = MemoryProperties(device: device)
            heaps = properties.heaps.map {
                Heap(heapIndex: $0.index,
                     budget: UInt64(Double($0.size) * Self.estimatedBudgetFraction),
                     usage: counts.bytes[$0.index])
            }
            source = .estimated
        }
    }
}
