import CVulkan
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif os(Windows)
import ucrt
import WinSDK
#endif

/// The entry point into Vulkan: `vkGetInstanceProcAddr`, from the system loader or from the
/// caller.
///
/// The library links no Vulkan library; `system()` opens the platform's loader with
/// `dlopen` (`LoadLibraryA` on Windows) the first time it is needed, trying
/// `searchOrder(platform:environment:)`, and keeps it open for the life of the process.
/// An engine that has its own loader (or a layer-wrapped one) passes its
/// `vkGetInstanceProcAddr` instead, or names a library with `open(library:)` or the
/// `VKMEM_VULKAN_LIBRARY` environment variable.
///
/// Thread safety: immutable; use from any thread.
public struct VulkanLoader: @unchecked Sendable {
    /// `vkGetInstanceProcAddr`, through which every other function is resolved.
    public let getInstanceProcAddr: PFN_vkGetInstanceProcAddr

    /// Uses the caller's `vkGetInstanceProcAddr`.
    public init(getInstanceProcAddr: @escaping PFN_vkGetInstanceProcAddr) {
        self.getInstanceProcAddr = getInstanceProcAddr
    }

    /// The environment variable that names the one library `system()` opens, as a path or
    /// a name the platform's library search resolves; when set, nothing else is tried, so
    /// a wrong path is an error rather than a silent fall back to another loader.
    public static let libraryOverrideVariable = "VKMEM_VULKAN_LIBRARY"

    /// The library names `system()` tries in this process, in order.
    public static var libraryNames: [String] {
        searchOrder(platform: .current, environment: loaderEnvironment())
    }

    /// The libraries to try for `platform`, in order: a pure function of the platform and
    /// the environment, so that every platform's order is tested on any one.
    ///
    /// - `VKMEM_VULKAN_LIBRARY`, when set and not empty, alone.
    /// - Linux and other Unix: `libvulkan.so.1`, then the unversioned `libvulkan.so` (a
    ///   development symlink, present where only `-dev` packages put it).
    /// - Apple: `libvulkan.1.dylib` and `libvulkan.dylib` on the dynamic linker's search
    ///   path (`DYLD_LIBRARY_PATH`, `/usr/local/lib`), `$VULKAN_SDK/lib/libvulkan.1.dylib`
    ///   (the LunarG SDK's setup script sets `VULKAN_SDK`), Homebrew's
    ///   `/opt/homebrew/lib/libvulkan.1.dylib` (not on the default search path), a loader
    ///   or `vulkan.framework` bundled in the app's `Frameworks`, and last MoltenVK itself
    ///   (`libMoltenVK.dylib`, `MoltenVK.framework`), which exports `vkGetInstanceProcAddr`
    ///   and serves as a loader-less driver, as on iOS.
    /// - Windows: `vulkan-1.dll`, which the Vulkan runtime installs in the system directory.
    public static func searchOrder(platform: Platform, environment: [String: String]) -> [String] {
        if let override = environment[libraryOverrideVariable], !override.isEmpty {
            return [override]
        }
        switch platform {
        case .linux:
            return ["libvulkan.so.1", "libvulkan.so"]
        case .apple:
            var names = ["libvulkan.1.dylib", "libvulkan.dylib"]
            if let sdk = environment["VULKAN_SDK"], !sdk.isEmpty {
                let root = sdk.hasSuffix("/") ? String(sdk.dropLast()) : sdk
                names.append("\(root)/lib/libvulkan.1.dylib")
            }
            names += [
                "/opt/homebrew/lib/libvulkan.1.dylib",
                "@executable_path/../Frameworks/libvulkan.1.dylib",
                "vulkan.framework/vulkan",
                "@executable_path/../Frameworks/vulkan.framework/vulkan",
                "libMoltenVK.dylib",
                "@executable_path/../Frameworks/libMoltenVK.dylib",
                "MoltenVK.framework/MoltenVK",
                "@executable_path/Frameworks/MoltenVK.framework/MoltenVK",
            ]
            return names
        case .windows:
            return ["vulkan-1.dll"]
        }
    }

    /// The operating-system families whose loaders are found differently.
    public enum Platform: String, Sendable, Hashable, CaseIterable {
        /// Linux, Android and the BSDs: `libvulkan.so.1`.
        case linux
        /// macOS, iOS, tvOS and visionOS: the LunarG or Homebrew loader over MoltenVK or
        /// KosmicKrisp, or MoltenVK alone.
        case apple
        /// Windows: `vulkan-1.dll`.
        case windows

        /// The platform this process runs on.
        public static var current: Platform {
            #if canImport(Darwin)
            return .apple
            #elseif os(Windows)
            return .windows
            #else
            return .linux
            #endif
        }
    }

    /// The system's Vulkan loader, opened once per process from `libraryNames`.
    ///
    /// - Throws: `VulkanError.loaderNotFound` naming the libraries tried and why each failed.
    public static func system() throws(VulkanError) -> VulkanLoader {
        switch systemLoader {
        case .success(let loader): return loader
        case .failure(let error): throw error
        }
    }

    /// Opens one library, a path or a name the platform's search resolves, and takes its
    /// `vkGetInstanceProcAddr`: a loader the application ships or a wrapped one. The
    /// library stays open for the life of the process.
    ///
    /// - Throws: `VulkanError.loaderNotFound` when it does not load or has no
    ///   `vkGetInstanceProcAddr`.
    public static func open(library: String) throws(VulkanError) -> VulkanLoader {
        try open(libraryNames: [library]).get()
    }

    private static let systemLoader: Result<VulkanLoader, VulkanError> = open(libraryNames: libraryNames)

    /// The variables `searchOrder` reads, from this process's environment.
    static func loaderEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in [libraryOverrideVariable, "VULKAN_SDK"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }

    /// Opens the first of `libraryNames` that loads and exports `vkGetInstanceProcAddr`.
    static func open(libraryNames: [String]) -> Result<VulkanLoader, VulkanError> {
        var reasons: [String] = []
        for name in libraryNames {
            switch openLibrary(name) {
            case .success(let symbol):
                // The library stays open for the life of the process: function pointers
                // from it are kept in tables that outlive any one caller.
                return .success(VulkanLoader(
                    getInstanceProcAddr: unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)))
            case .failure(let failure):
                reasons.append(failure.reason)
            }
        }
        return .failure(.loaderNotFound(
            library: libraryNames.first ?? "libvulkan.so.1", reason: reasons.joined(separator: "; ")))
    }

    /// Loads one library and finds `vkGetInstanceProcAddr` in it, or says why not.
    private static func openLibrary(_ name: String) -> Result<UnsafeMutableRawPointer, LoadFailure> {
        #if os(Windows)
        guard let module = LoadLibraryA(name) else {
            return .failure(LoadFailure("\(name): LoadLibrary failed with error \(GetLastError())"))
        }
        guard let symbol = GetProcAddress(module, "vkGetInstanceProcAddr") else {
            FreeLibrary(module)
            return .failure(LoadFailure("\(name) has no vkGetInstanceProcAddr"))
        }
        return .success(unsafeBitCast(symbol, to: UnsafeMutableRawPointer.self))
        #else
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(LoadFailure(dlerror().map { String(cString: $0) } ?? "\(name): not found"))
        }
        guard let symbol = dlsym(handle, "vkGetInstanceProcAddr") else {
            dlclose(handle)
            return .failure(LoadFailure("\(name) has no vkGetInstanceProcAddr"))
        }
        return .success(symbol)
        #endif
    }

    /// Why one library was passed over, for `VulkanError.loaderNotFound`'s reason.
    private struct LoadFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
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
