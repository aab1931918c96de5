import CVulkan
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry point into Vulkan: `vkGetInstanceProcAddr`, from the system loader or from the
/// caller.
///
/// The library links no Vulkan library; it opens `libvulkan.so.1` with `dlopen` the first
/// time it is needed and keeps it open for the life of the process. An engine that has its
/// own loader (or a layer-wrapped one) passes its `vkGetInstanceProcAddr` instead.
///
/// Thread safety: immutable; use from any thread.
public struct VulkanLoader: @unchecked Sendable {
    /// `vkGetInstanceProcAddr`, through which every other function is resolved.
    public let getInstanceProcAddr: PFN_vkGetInstanceProcAddr

    /// Uses the caller's `vkGetInstanceProcAddr`.
    public init(getInstanceProcAddr: @escaping PFN_vkGetInstanceProcAddr) {
        self.getInstanceProcAddr = getInstanceProcAddr
    }

    /// The library names tried, in order, by `system()`.
    public static let libraryNames = ["libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib"]

    /// The system's Vulkan loader, opened once per process.
    ///
    /// - Throws: `VulkanError.loaderNotFound` naming the library and `dlerror()`'s reason.
    public static func system() throws(VulkanError) -> VulkanLoader {
        switch systemLoader {
        case .success(let loader): return loader
        case .failure(let error): throw error
        }
    }

    private static let systemLoader: Result<VulkanLoader, VulkanError> = open(libraryNames: libraryNames)

    /// Opens the first of `libraryNames` that loads and exports `vkGetInstanceProcAddr`.
    static func open(libraryNames: [String]) -> Result<VulkanLoader, VulkanError> {
        var reasons: [String] = []
        for name in libraryNames {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                reasons.append(dlerror().map { String(cString: $0) } ?? "\(name): not found")
                continue
            }
            guard let symbol = dlsym(handle, "vkGetInstanceProcAddr") else {
                reasons.append("\(name) has no vkGetInstanceProcAddr")
                dlclose(handle)
                continue
            }
            // The handle stays open for the life of the process: function pointers from it
            // are kept in tables that outlive any one caller.
            return .success(VulkanLoader(
                getInstanceProcAddr: unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)))
        }
        return .failure(.loaderNotFound(
            library: libraryNames.first ?? "libvulkan.so.1", reason: reasons.joined(separator: "; ")))
    }

    /// Resolves a global or instance-level function; nil when the loader does not know it.
    func load<Function>(_ name: String, instance: VkInstance?, as type: Function.Type) -> Function? {
        guard let pointer = getInstanceProcAddr(instance, name) else { return nil }
        return unsafeBitCast(pointer, to: Function.self)
    }

    /// The highest instance version the loader supports (`vkEnumerateInstanceVersion`);
    /// 1.0 when the loader predates that function.
    public func instanceVersion() -> VulkanVersion {
        guard let enumerate = load("vkEnumerateInstanceVersion", instance: nil,
                                   as: PFN_vkEnumerateInstanceVersion.self) else {
            return VulkanVersion(1, 0)
        }
        var version: UInt32 = 0
        guard enumerate(&version).rawValue >= 0 else { return VulkanVersion(1, 0) }
        return VulkanVersion(rawValue: version)
    }

    /// The names of the instance layers installed (`vkEnumerateInstanceLayerProperties`).
    public func instanceLayers() throws(VulkanError) -> [String] {
        guard let enumerate = load("vkEnumerateInstanceLayerProperties", instance: nil,
                                   as: PFN_vkEnumerateInstanceLayerProperties.self) else {
            throw .functionUnavailable(name: "vkEnumerateInstanceLayerProperties",
                                       reason: "the loader does not export it")
        }
        let layers = try enumerateArray("vkEnumerateInstanceLayerProperties",
                                        empty: VkLayerProperties()) { count, out in
            enumerate(count, out)
        }
        return layers.map { properties in
            withUnsafeBytes(of: properties.layerName) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
    }

    /// The names of the instance extensions available (`vkEnumerateInstanceExtensionProperties`).
    public func instanceExtensions() throws(VulkanError) -> [String] {
        guard let enumerate = load("vkEnumerateInstanceExtensionProperties", instance: nil,
                                   as: PFN_vkEnumerateInstanceExtensionProperties.self) else {
            throw .functionUnavailable(name: "vkEnumerateInstanceExtensionProperties",
                                       reason: "the loader does not export it")
        }
        return try enumerateArray("vkEnumerateInstanceExtensionProperties",
                                  empty: VkExtensionProperties()) { count, out in
            enumerate(nil, count, out)
        }.map(\.name)
    }
}

extension VkExtensionProperties {
    /// `extensionName` as a Swift string.
    var name: String {
        withUnsafeBytes(of: extensionName) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
    }
}

/// Runs Vulkan's two-call enumeration idiom (count, then fill), retrying on `VK_INCOMPLETE`.
func enumerateArray<Element>(
    _ function: StaticString, empty: Element,
    _ call: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<Element>?) -> VkResult
) throws(VulkanError) -> [Element] {
    while true {
        var count: UInt32 = 0
        try VulkanResult(call(&count, nil)).check(function)
        var elements = [Element](repeating: empty, count: Int(count))
        let result = VulkanResult(elements.withUnsafeMutableBufferPointer { call(&count, $0.baseAddress) })
        if result == .incomplete { continue }
        try result.check(function)
        return Array(elements.prefix(Int(count)))
    }
}
