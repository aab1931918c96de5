import Foundation

/// A real device's memory properties as recorded in a profile file (the format of
/// `shared/gpu-profiles/devices.json`), so memory logic can be tested against GPUs that
/// are not present.
public struct DeviceProfile: Sendable, Hashable, Decodable {
    /// Errors reading a profile file.
    public enum LoadError: Error, CustomStringConvertible, Equatable {
        /// The file could not be read.
        case unreadable(path: String, reason: String)
        /// The JSON does not have the profile format.
        case malformed(path: String, reason: String)
        /// A flag name is not a Vulkan memory flag.
        case unknownFlag(device: String, flag: String)
        /// A type names a heap that does not exist.
        case badHeapIndex(device: String, typeIndex: Int, heapIndex: Int)
        /// More memory types than Vulkan allows (`VK_MAX_MEMORY_TYPES`, 32), or none.
        case memoryTypeCount(device: String, count: Int)
        /// More heaps than Vulkan allows (`VK_MAX_MEMORY_HEAPS`, 16), or none.
        case memoryHeapCount(device: String, count: Int)

        /// What is wrong with the file.
        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read profile file \(path): \(reason)"
            case let .malformed(path, reason): "\(path) is not a device profile list: \(reason)"
            case let .unknownFlag(device, flag): "profile \(device): unknown memory flag \(flag)"
            case let .badHeapIndex(device, type, heap):
                "profile \(device): memory type \(type) names heap \(heap), which does not exist"
            case let .memoryTypeCount(device, count):
                "profile \(device): \(count) memory types; a Vulkan device has 1 to \(MemoryProperties.maxMemoryTypes) "
                    + "(VK_MAX_MEMORY_TYPES)"
            case let .memoryHeapCount(device, count):
                "profile \(device): \(count) memory heaps; a Vulkan device has 1 to \(MemoryProperties.maxMemoryHeaps) "
                    + "(VK_MAX_MEMORY_HEAPS)"
            }
        }
    }

    struct Heap: Hashable, Sendable, Decodable { let size: UInt64; let flags: [String] }
    struct TypeEntry: Hashable, Sendable, Decodable { let heapIndex: Int; let propertyFlags: [String] }

    /// The device's name.
    public let name: String
    /// Its PCI vendor ID.
    public let vendorID: UInt32
    /// `DISCRETE_GPU`, `INTEGRATED_GPU`, `CPU`…
    public let deviceType: String
    /// Whether the device offers `VK_EXT_memory_budget`; nil when the source does not say.
    public let memoryBudgetExtension: Bool?
    let memoryHeaps: [Heap]
    let memoryTypes: [TypeEntry]
    let bufferImageGranularity: UInt64
    let nonCoherentAtomSize: UInt64
    let maxMemoryAllocationCount: UInt32
    /// nil where the source does not record it; Vulkan guarantees at least 64.
    let minMemoryMapAlignment: Int?

    /// Whether the device is a discrete GPU.
    public var isDiscrete: Bool { deviceType == "DISCRETE_GPU" }

    /// The profile as `MemoryProperties`.
    ///
    /// - Throws: `LoadError` on an unknown flag name, a type naming a missing heap, or
    ///   more types or heaps than `VkPhysicalDeviceMemoryProperties` can hold.
    public func memoryProperties() throws(LoadError) -> MemoryProperties {
        // Everything downstream (type bits, `VkPhysicalDeviceMemoryProperties`' fixed
        // arrays) relies on these bounds, so a profile past them is refused here.
        guard (1...MemoryProperties.maxMemoryHeaps).contains(memoryHeaps.count) else {
            throw .memoryHeapCount(device: name, count: memoryHeaps.count)
        }
        guard (1...MemoryProperties.maxMemoryTypes).contains(memoryTypes.count) else {
            throw .memoryTypeCount(device: name, count: memoryTypes.count)
        }
        var heaps: [MemoryHeap] = []
        for (index, heap) in memoryHeaps.enumerated() {
            guard let flags = MemoryHeapFlags(names: heap.flags) else {
                throw .unknownFlag(device: name, flag: heap.flags.joined(separator: ","))
            }
            heaps.append(MemoryHeap(index: index, size: heap.size, flags: flags))
        }
        var types: [MemoryType] = []
        for (index, type) in memoryTypes.enumerated() {
            guard let flags = MemoryPropertyFlags(names: type.propertyFlags) else {
                throw .unknownFlag(device: name, flag: type.propertyFlags.joined(separator: ","))
            }
            guard heaps.indices.contains(type.heapIndex) else {
                throw .badHeapIndex(device: name, typeIndex: index, heapIndex: type.heapIndex)
            }
            types.append(MemoryType(index: index, heapIndex: type.heapIndex, flags: flags))
        }
        return MemoryProperties(checked: heaps, types: types, limits: MemoryLimits(
            bufferImageGranularity: bufferImageGranularity,
            nonCoherentAtomSize: nonCoherentAtomSize,
            maxMemoryAllocationCount: maxMemoryAllocationCount,
            minMemoryMapAlignment: minMemoryMapAlignment ?? 64))
    }

    /// Reads every profile of a file.
    ///
    /// - Throws: `LoadError.unreadable` or `.malformed`.
    public static func load(path: String) throws(LoadError) -> [DeviceProfile] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        do { return try JSONDecoder().decode([DeviceProfile].self, from: data) } catch {
            throw .malformed(path: path, reason: "\(error)")
        }
    }
}
