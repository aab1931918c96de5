/// A Vulkan API version, as packed by `VK_MAKE_API_VERSION`.
public struct VulkanVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The packed 32-bit value (`VK_MAKE_API_VERSION(variant, major, minor, patch)`).
    public let rawValue: UInt32

    /// Wraps a packed version.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Packs a version (`VK_MAKE_API_VERSION(0, major, minor, patch)`).
    public init(_ major: UInt32, _ minor: UInt32, _ patch: UInt32 = 0) {
        rawValue = (major << 22) | (minor << 12) | patch
    }

    /// `VK_API_VERSION_MAJOR`.
    public var major: UInt32 { (rawValue >> 22) & 0x7F }
    /// `VK_API_VERSION_MINOR`.
    public var minor: UInt32 { (rawValue >> 12) & 0x3FF }
    /// `VK_API_VERSION_PATCH`.
    public var patch: UInt32 { rawValue & 0xFFF }
    /// The version without its patch number, as used for `apiVersion` requests.
    public var withoutPatch: VulkanVersion { VulkanVersion(major, minor) }

    /// "major.minor.patch".
    public var description: String { "\(major).\(minor).\(patch)" }

    /// Orders by packed value, which orders by major, minor, then patch.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Vulkan 1.1, the least this library runs on.
    public static let v1_1 = VulkanVersion(1, 1)
    /// Vulkan 1.2.
    public static let v1_2 = VulkanVersion(1, 2)
    /// Vulkan 1.3, the highest the bootstrap asks for.
    public static let v1_3 = VulkanVersion(1, 3)
}
