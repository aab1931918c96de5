import CVulkan
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small bootstrap for programs without an engine of their own: creates an instance,
/// optionally with the Khronos validation layer and a messenger that collects its messages,
/// picks a physical device, and creates a device with one queue (`queue`: transfer-capable,
/// and compute-capable where the device allows) and the memory-related extensions the
/// device offers.
///
/// Portability: where the loader offers `VK_KHR_portability_enumeration` the instance is
/// created with it and `VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR`, without which
/// the loader hides MoltenVK and KosmicKrisp on Apple platforms; a device that lists
/// `VK_KHR_portability_subset` gets it enabled, as the specification requires.
///
/// Everything it creates is destroyed, device first, then messenger, then instance, when
/// the last reference to `device` (held by every object allocated from it) goes away. The
/// validation layer reports objects never destroyed (leaks) at that moment, after the
/// context itself may be gone: pass a `ValidationLog` of your own in
/// `Options.validationLog`, or give it a handler, to read them (see `ValidationLog`).
///
/// Thread safety: immutable after creation; use from any thread.
public final class VulkanContext: Sendable {
    /// How to treat the validation layer.
    public enum Validation: String, Sendable, Hashable {
        /// Do not enable it.
        case off
        /// Enable it when installed.
        case ifAvailable
        /// Enable it, or fail with `VulkanError.validationLayerUnavailable`.
        case required

        /// Reads `VKMEM_VALIDATION` (`off`, `on`/`ifAvailable`, `require`/`required`).
        public static func fromEnvironment(default fallback: Validation = .off) -> Validation {
            guard let value = getenv("VKMEM_VALIDATION").map({ String(cString: $0) }) else {
                return fallback
            }
            switch value.lowercased() {
            case "require", "required": return .required
            case "on", "1", "true", "ifavailable": return .ifAvailable
            case "off", "0", "false": return .off
            default: return fallback
            }
        }
    }

    /// Which physical device to use.
    public enum DeviceSelector: Sendable, Hashable, CustomStringConvertible {
        /// The n-th device `vkEnumeratePhysicalDevices` returns.
        case index(Int)
        /// The first device whose name contains this text (case-insensitive).
        case nameContaining(String)

        /// A number selects by index, anything else by name.
        public init(parsing text: String) {
            self = Int(text).map { .index($0) } ?? .nameContaining(text)
        }

        /// The selector as the user would type it.
        public var description: String {
            switch self {
            case .index(let i): "\(i)"
            case .nameContaining(let s): s
            }
        }
    }

    /// Options for `VulkanContext.init(options:)`.
    public struct Options: Sendable {
        /// Validation layer handling; by default from `VKMEM_VALIDATION`, else off.
        public var validation: Validation = .fromEnvironment()
        /// The device to pick; nil reads `VKMEM_DEVICE`, then prefers discrete, integrated,
        /// virtual, then CPU devices.
        public var device: DeviceSelector? = nil
        /// The highest API version to ask for (the loader's and device's limits apply).
        public var maximumVersion: VulkanVersion = .v1_3
        /// The capabilities to enable where the device offers them.
        ///
        /// ``DeviceCapabilities/memoryPriority`` is not among the defaults: on NVIDIA it
        /// makes every buffer's create, bind and destroy cost about twice as much (see its
        /// documentation). Add it when you set priorities.
        public var capabilities: DeviceCapabilities = [
            .memoryBudget, .bufferDeviceAddress, .externalMemoryFd,
        ]
        /// `VkApplicationInfo.pApplicationName`.
        public var applicationName = "swift-vulkan-memory"
        /// Where `vkGetInstanceProcAddr` comes from; nil for `VulkanLoader.system()`, which
        /// searches the platform's usual places or opens `VKMEM_VULKAN_LIBRARY`. Use
        /// `VulkanLoader.open(library:)` for a loader your application ships.
        public var loader: VulkanLoader? = nil
        /// The log the validation layer's messages go to, including those sent while the
        /// device and instance are destroyed (leak reports), which arrive after the last
        /// reference to the context may be gone. nil makes a new one. Used only when
        /// validation is enabled; `VulkanContext.validationLog` is this object.
        public var validationLog: ValidationLog? = nil
        /// Creates the default options.
        public init() {}
    }

    /// The device, for everything else in the library.
    public let device: VulkanDevice
    /// Messages from the validation layer (warnings and errors); nil when no messenger.
    public let validationLog: ValidationLog?
    /// Whether the Khronos validation layer is enabled.
    public let validationEnabled: Bool
    /// The device extensions enabled at creation.
    public let enabledExtensions: [String]
    /// The instance extensions enabled at creation (`VK_EXT_debug_utils` with validation,
    /// `VK_KHR_portability_enumeration` where the loader offers it).
    public let enabledInstanceExtensions: [String]
    /// The one queue the device was created with: queue 0 of a family that supports
    /// transfers, and compute where the device has such a family. Submitting to it needs
    /// the caller's own synchronization, as `VulkanQueue` says; a `TransferQueue` on it
    /// serializes its own submissions.
    public let queue: VulkanQueue
    /// The queue family of `queue`; it supports transfers.
    public var queueFamilyIndex: UInt32 { queue.familyIndex }
    /// `VkQueueFamilyProperties::queueFlags` of that family (`VK_QUEUE_COMPUTE_BIT` says
    /// whether `queue` can dispatch compute shaders).
    public let queueFlags: VkQueueFlags
    /// The loader's instance version.
    public let instanceVersion: VulkanVersion

    /// The devices the loader reports, in its order, portability drivers included.
    ///
    /// - Parameter loader: the loader to ask; nil for `VulkanLoader.system()`.
    /// - Throws: `VulkanError` when the loader is missing or no driver answers.
    public static func availableDevices(loader: VulkanLoader? = nil) throws(VulkanError) -> [PhysicalDeviceInfo] {
        var options = Options()
        options.validation = .off
        options.loader = loader
        let resources = try InstanceResources(options: options)
        return try resources.physicalDevices().map(\.info)
    }

    /// Creates an instance and a device as the options say.
    ///
    /// - Throws: `VulkanError` naming what is missing: the loader, a driver, the
    ///   validation layer, a matching device, or the Vulkan call that failed.
    public init(options: Options = Options()) throws(VulkanError) {
        let resources = try InstanceResources(options: options)
        let candidates = try resources.physicalDevices()
        let selector = options.device ?? getenv("VKMEM_DEVICE").map {
            DeviceSelector(parsing: String(cString: $0))
        }
        let chosen = try Self.select(candidates, selector)
        let apiVersion = min(resources.apiVersion, chosen.info.apiVersion.withoutPatch)
        let plan = try DevicePlan(resources: resources, physicalDevice: chosen.handle,
                                  info: chosen.info, apiVersion: apiVersion,
                                  wanted: options.capabilities)
        let handle = try plan.createDevice(resources: resources)
        resources.device = handle
        device = try VulkanDevice(
            instance: resources.instance, physicalDevice: chosen.handle, device: handle,
            apiVersion: apiVersion, capabilities: plan.capabilities, loader: resources.loader,
            owner: resources)
        validationLog = resources.log
        validationEnabled = resources.validationEnabled
        enabledExtensions = plan.extensions
        enabledInstanceExtensions = resources.enabledExtensions
        guard let queue = VulkanQueue.retrieve(from: device, familyIndex: plan.queueFamilyIndex, index: 0) else {
            throw .callFailed(function: "vkGetDeviceQueue", result: .errorInitializationFailed)
        }
        self.queue = queue
        queueFlags = plan.queueFlags
        instanceVersion = resources.loaderVersion
    }

    private static func select(
        _ candidates: [(handle: VkPhysicalDevice, info: PhysicalDeviceInfo)],
        _ selector: DeviceSelector?
    ) throws(VulkanError) -> (handle: VkPhysicalDevice, info: PhysicalDeviceInfo) {
        guard !candidates.isEmpty else { throw .noPhysicalDevice }
        let names = candidates.map(\.info.name)
        switch selector {
        case .index(let index):
            guard candidates.indices.contains(index) else {
                throw .deviceNotFound(selector: "\(index)", available: names)
            }
            return candidates[index]
        case .nameContaining(let text):
            guard let match = candidates.first(where: {
                $0.info.name.lowercased().contains(text.lowercased())
            }) else {
                throw .deviceNotFound(selector: text, available: names)
            }
            return match
        case nil:
            // Stable: among devices of one type the loader's order decides.
            return candidates.enumerated().min {
                ($0.element.info.type.preference, $0.offset)
                    < ($1.element.info.type.preference, $1.offset)
            }!.element
        }
    }
}
