import CVulkan

/// What kind of device Vulkan reports (`VkPhysicalDeviceType`).
public enum PhysicalDeviceType: String, Sendable, Hashable, CaseIterable {
    /// `VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU`.
    case discreteGPU = "DISCRETE_GPU"
    /// `VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU`.
    case integratedGPU = "INTEGRATED_GPU"
    /// `VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU`.
    case virtualGPU = "VIRTUAL_GPU"
    /// `VK_PHYSICAL_DEVICE_TYPE_CPU`.
    case cpu = "CPU"
    /// `VK_PHYSICAL_DEVICE_TYPE_OTHER`.
    case other = "OTHER"

    init(_ type: VkPhysicalDeviceType) {
        switch type {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: self = .discreteGPU
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: self = .integratedGPU
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: self = .virtualGPU
        case VK_PHYSICAL_DEVICE_TYPE_CPU: self = .cpu
        default: self = .other
        }
    }

    /// The order in which the bootstrap prefers device types: discrete, integrated,
    /// virtual, CPU, other.
    var preference: Int {
        switch self {
        case .discreteGPU: 0
        case .integratedGPU: 1
        case .virtualGPU: 2
        case .cpu: 3
        case .other: 4
        }
    }
}

/// Identity and versions of a physical device (`VkPhysicalDeviceProperties`).
public struct PhysicalDeviceInfo: Sendable, Hashable {
    /// `deviceName`.
    public let name: String
    /// `deviceType`.
    public let type: PhysicalDeviceType
    /// `vendorID` (0x10DE NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa…).
    public let vendorID: UInt32
    /// `deviceID`.
    public let deviceID: UInt32
    /// `apiVersion`: the highest Vulkan version the device supports.
    public let apiVersion: VulkanVersion
    /// `driverVersion`, raw; its encoding is the vendor's.
    public let driverVersion: UInt32

    /// `driverVersion` decoded the way the vendor encodes it (NVIDIA: 10.8.8.6 bits;
    /// Intel on Windows: 18.14 bits; everyone else: Vulkan's major.minor.patch).
    public var driverVersionString: String {
        let v = driverVersion
        switch vendorID {
        case 0x10DE:
            return "\(v >> 22).\((v >> 14) & 0xFF).\((v >> 6) & 0xFF).\(v & 0x3F)"
        default:
            return VulkanVersion(rawValue: v).description
        }
    }

    init(_ properties: VkPhysicalDeviceProperties) {
        name = withUnsafeBytes(of: properties.deviceName) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        type = PhysicalDeviceType(properties.deviceType)
        vendorID = properties.vendorID
        deviceID = properties.deviceID
        apiVersion = VulkanVersion(rawValue: properties.apiVersion)
        driverVersion = properties.driverVersion
    }
}
