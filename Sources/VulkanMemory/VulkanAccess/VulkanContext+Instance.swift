import CVulkan
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns what `VulkanContext` creates and destroys it in reverse order: device, messenger,
/// instance. Kept alive by the `VulkanDevice` built on it.
final class InstanceResources: @unchecked Sendable {
    static let validationLayerName = "VK_LAYER_KHRONOS_validation"
    static let debugUtilsExtensionName = "VK_EXT_debug_utils"
    static let portabilityEnumerationExtensionName = "VK_KHR_portability_enumeration"

    let loader: VulkanLoader
    let loaderVersion: VulkanVersion
    /// The version the instance was created for.
    let apiVersion: VulkanVersion
    let instance: VkInstance
    let functions: InstanceFunctions
    let log: ValidationLog?
    let validationEnabled: Bool
    /// The instance extensions enabled at creation.
    let enabledExtensions: [String]
    private var messenger: VkDebugUtilsMessengerEXT?
    /// Set once by `VulkanContext.init` before the object is shared.
    var device: VkDevice?

    init(options: VulkanContext.Options) throws(VulkanError) {
        let loader: VulkanLoader
        if let given = options.loader { loader = given } else { loader = try VulkanLoader.system() }
        let loaderVersion = loader.instanceVersion()
        guard loaderVersion >= .v1_1 else {
            throw .unsupportedVersion(found: loaderVersion, required: .v1_1)
        }
        let apiVersion = min(loaderVersion.withoutPatch, options.maximumVersion)
        self.loader = loader
        self.loaderVersion = loaderVersion
        self.apiVersion = apiVersion

        var layers: [String] = []
        var extensions: [String] = []
        let validation: Bool
        switch options.validation {
        case .off:
            validation = false
        case .ifAvailable, .required:
            let available = try loader.instanceLayers().contains(Self.validationLayerName)
            if !available && options.validation == .required {
                throw .validationLayerUnavailable
            }
            validation = available
        }
        let offered = Set(try loader.instanceExtensions())
        let hasDebugUtils = offered.contains(Self.debugUtilsExtensionName)
        // Required validation must be heard: without VK_EXT_debug_utils nothing would be.
        if validation && !hasDebugUtils && options.validation == .required { throw .validationLayerUnavailable }
        if validation { layers.append(Self.validationLayerName) }
        let log: ValidationLog? = validation && hasDebugUtils ? (options.validationLog ?? ValidationLog()) : nil
        if log != nil { extensions.append(Self.debugUtilsExtensionName) }
        // Apple's drivers (MoltenVK, KosmicKrisp) implement only part of Vulkan: the loader
        // lists them only to an instance that says it can handle that. Asked for wherever
        // the loader offers it, since it changes nothing where no such driver is installed.
        let portability = offered.contains(Self.portabilityEnumerationExtensionName)
        if portability { extensions.append(Self.portabilityEnumerationExtensionName) }

        guard let createInstance = loader.load(
            "vkCreateInstance", instance: nil, as: PFN_vkCreateInstance.self) else {
            throw .functionUnavailable(name: "vkCreateInstance", reason: "the loader does not export it")
        }
        var messengerInfo = Self.messengerCreateInfo(log: log)
        var created: VkInstance?
        let result: VkResult = options.applicationName.withCString { appName in
            "swift-vulkan-memory".withCString { engineName in
                withCStringArray(layers) { layerNames in
                    withCStringArray(extensions) { extensionNames in
                        withUnsafeMutablePointer(to: &messengerInfo) { messengerPointer in
                            var app = VkApplicationInfo()
                            app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
                            app.pApplicationName = appName
                            app.pEngineName = engineName
                            app.apiVersion = apiVersion.rawValue
                            return withUnsafePointer(to: &app) { appPointer in
                                var info = VkInstanceCreateInfo()
                                info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                                // Chained so that instance creation and destruction are
                                // validated too.
                                info.pNext = log == nil ? nil : UnsafeRawPointer(messengerPointer)
                                if portability {
                                    info.flags = VkInstanceCreateFlags(
                                        VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR.rawValue)
                                }
                                info.pApplicationInfo = appPointer
                                info.enabledLayerCount = UInt32(layers.count)
                                info.ppEnabledLayerNames = layerNames
                                info.enabledExtensionCount = UInt32(extensions.count)
                                info.ppEnabledExtensionNames = extensionNames
                                return createInstance(&info, nil, &created)
                            }
                        }
                    }
                }
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER {
            throw .noPhysicalDevice
        }
        try VulkanResult(result).check("vkCreateInstance")
        guard let created else {
            throw .callFailed(function: "vkCreateInstance", result: .errorInitializationFailed)
        }
        instance = created
        do {
            functions = try InstanceFunctions(loader: loader, instance: created)
        } catch {
            if let destroy = loader.load("vkDestroyInstance", instance: created,
                                         as: PFN_vkDestroyInstance.self) {
                destroy(created, nil)
            }
            throw error
        }
        validationEnabled = validation
        enabledExtensions = extensions
        // A log with no messenger behind it would report "no messages" for a run nobody
        // listened to: required validation fails instead, optional goes on without a log.
        var listening = false
        if let log, let create = functions.createDebugUtilsMessenger {
            var info = Self.messengerCreateInfo(log: log)
            var handle: VkDebugUtilsMessengerEXT?
            if create(created, &info, nil, &handle) == VK_SUCCESS, let handle {
                messenger = handle
                listening = true
            }
        }
        if log != nil && !listening {
            if options.validation == .required {
                functions.destroyInstance(created, nil)
                throw .callFailed(function: "vkCreateDebugUtilsMessengerEXT", result: .errorInitializationFailed)
            }
            self.log = nil
        } else {
            self.log = log
        }
    }

    private static func messengerCreateInfo(log: ValidationLog?) -> VkDebugUtilsMessengerCreateInfoEXT {
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity = VkDebugUtilsMessageSeverityFlagsEXT(
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
                | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue)
        info.messageType = VkDebugUtilsMessageTypeFlagsEXT(
            VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue
                | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
                | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue)
        info.pfnUserCallback = ValidationLog.callback
        // Unretained: this object holds the log for as long as the messenger exists.
        info.pUserData = log.map { Unmanaged.passUnretained($0).toOpaque() }
        return info
    }

    /// The physical devices with their properties, in the loader's order.
    func physicalDevices() throws(VulkanError) -> [(handle: VkPhysicalDevice, info: PhysicalDeviceInfo)] {
        let handles = try enumerateArray("vkEnumeratePhysicalDevices", empty: VkPhysicalDevice?.none) {
            functions.enumeratePhysicalDevices(instance, $0, $1)
        }
        return handles.compactMap { $0 }.map { handle in
            var properties = VkPhysicalDeviceProperties()
            functions.getPhysicalDeviceProperties(handle, &properties)
            return (handle, PhysicalDeviceInfo(properties))
        }
    }

    deinit {
        if let device, let destroy = functions.getDeviceProcAddr(device, "vkDestroyDevice") {
            unsafeBitCast(destroy, to: PFN_vkDestroyDevice.self)(device, nil)
        }
        if let messenger, let destroy = functions.destroyDebugUtilsMessenger {
            destroy(instance, messenger, nil)
        }
        functions.destroyInstance(instance, nil)
        // Every message of the teardown, leak reports included, has now been delivered.
        log?.finish()
    }
}

/// Calls `body` with a C array of C strings that lives for the duration of the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let constant = duplicates.map { UnsafePointer($0) }
    return constant.withUnsafeBufferPointer { body(strings.isEmpty ? nil : $0.baseAddress) }
}
