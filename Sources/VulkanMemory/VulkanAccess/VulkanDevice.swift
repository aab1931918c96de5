import CVulkan
import Synchronization

/// A Vulkan device as the library uses it: the instance, physical device and device
/// handles, the function tables resolved for them, and what the device was created with.
///
/// Create one from your engine's own handles with
/// `init(instance:physicalDevice:device:apiVersion:capabilities:loader:)`; the library then
/// never creates or destroys a device of its own. `VulkanContext` creates one for users who
/// have no engine (the CLI, the tests).
///
/// Thread safety: immutable apart from internal counters that are locked; use from any
/// thread. Every object the library allocates holds a strong reference to its
/// `VulkanDevice`, so a device the library created is destroyed only after the last of them.
public final class VulkanDevice: @unchecked Sendable {
    /// The `VkInstance`.
    public let instance: VkInstance
    /// The `VkPhysicalDevice`.
    public let physicalDevice: VkPhysicalDevice
    /// The `VkDevice`.
    public let device: VkDevice
    /// The API version the device was created for: the lower of the instance's requested
    /// version and the device's `apiVersion`.
    public let apiVersion: VulkanVersion
    /// The memory-related extensions and features enabled on `device`.
    public let capabilities: DeviceCapabilities
    /// The physical device's name, type and versions.
    public let info: PhysicalDeviceInfo
    /// How functions are resolved.
    public let loader: VulkanLoader

    /// The instance-level functions the library resolved for `instance`.
    public let instanceFunctions: InstanceFunctions
    /// The device-level memory and resource functions the library resolved for `device`.
    public let deviceFunctions: DeviceFunctions
    /// The functions to record, submit and wait for work on `device` (command buffers,
    /// copies, barriers, fences, compute pipelines), resolved once for `device`.
    public let commandFunctions: CommandFunctions
    /// `vkGetPhysicalDeviceMemoryProperties`, read once: it does not change for the life
    /// of the device.
    let rawMemoryProperties: VkPhysicalDeviceMemoryProperties
    /// `VkPhysicalDeviceProperties::limits`, read once.
    let rawLimits: VkPhysicalDeviceLimits
    /// The queue family count and `maxBufferSize`, read once for checking create-infos.
    let resourceLimits: ResourceLimits
    /// `vkGetPhysicalDeviceImageFormatProperties` answers, asked once per combination.
    let imageFormats = ImageFormatCache()
    /// Bytes and `VkDeviceMemory` objects this library holds per heap: the usage reported
    /// when `VK_EXT_memory_budget` is absent, and the count checked against
    /// `maxMemoryAllocationCount`.
    let accounting: MemoryAccounting
    /// Destroys what the bootstrap created once the last user of this device is gone.
    private let owner: AnyObject?

    /// Wraps handles the caller created and keeps owning.
    ///
    /// - Parameters:
    ///   - instance: the caller's `VkInstance`.
    ///   - physicalDevice: the `VkPhysicalDevice` `device` was created on.
    ///   - device: the caller's `VkDevice`.
    ///   - apiVersion: the `apiVersion` the instance was created with (1.1 at least).
    ///   - capabilities: the memory-related extensions and features the caller enabled on
    ///     `device`; the library uses nothing beyond them.
    ///   - loader: the caller's `vkGetInstanceProcAddr`; by default the system loader.
    /// - Throws: `VulkanError` when the loader is missing, the version is below 1.1, or a
    ///   required function cannot be resolved.
    public convenience init(
        instance: VkInstance, physicalDevice: VkPhysicalDevice, device: VkDevice,
        apiVersion: VulkanVersion, capabilities: DeviceCapabilities,
        loader: VulkanLoader? = nil
    ) throws(VulkanError) {
        let resolvedLoader: VulkanLoader
        if let loader { resolvedLoader = loader } else { resolvedLoader = try VulkanLoader.system() }
        try self.init(instance: instance, physicalDevice: physicalDevice, device: device,
                      apiVersion: apiVersion, capabilities: capabilities,
                      loader: resolvedLoader, owner: nil)
    }

    init(instance: VkInstance, physicalDevice: VkPhysicalDevice, device: VkDevice,
         apiVersion: VulkanVersion, capabilities: DeviceCapabilities, loader: VulkanLoader,
         owner: AnyObject?) throws(VulkanError) {
        guard apiVersion >= .v1_1 else {
            throw .unsupportedVersion(found: apiVersion, required: .v1_1)
        }
        let instanceFunctions = try InstanceFunctions(loader: loader, instance: instance)
        var properties = VkPhysicalDeviceProperties()
        instanceFunctions.getPhysicalDeviceProperties(physicalDevice, &properties)
        var memoryProperties = VkPhysicalDeviceMemoryProperties()
        instanceFunctions.getPhysicalDeviceMemoryProperties(physicalDevice, &memoryProperties)
        self.instance = instance
        self.physicalDevice = physicalDevice
        self.device = device
        self.apiVersion = min(apiVersion, VulkanVersion(rawValue: properties.apiVersion))
        self.capabilities = capabilities
        self.info = PhysicalDeviceInfo(properties)
        self.loader = loader
        self.instanceFunctions = instanceFunctions
        self.deviceFunctions = try DeviceFunctions(
            instanceFunctions: instanceFunctions, device: device, capabilities: capabilities)
        self.commandFunctions = try CommandFunctions(
            getDeviceProcAddr: instanceFunctions.getDeviceProcAddr, device: device)
        self.rawMemoryProperties = memoryProperties
        self.rawLimits = properties.limits
        self.resourceLimits = ResourceLimits(functions: instanceFunctions, physicalDevice: physicalDevice,
                                             apiVersion: self.apiVersion)
        self.accounting = MemoryAccounting(heapCount: Int(memoryProperties.memoryHeapCount))
        self.owner = owner
    }
}

/// Per-heap bytes and allocation counts of the `VkDeviceMemory` objects this library holds.
///
/// Thread safety: locked; updated once per `vkAllocateMemory`/`vkFreeMemory`, which cost
/// far more than the lock.
final class MemoryAccounting: Sendable {
    struct Counts: Sendable {
        var bytes: [UInt64]
        var allocations: [UInt32]
        var totalAllocations: UInt32 = 0
    }
    private let counts: Locked<Counts>

    init(heapCount: Int) {
        counts = Locked(Counts(bytes: .init(repeating: 0, count: heapCount),
                              allocations: .init(repeating: 0, count: heapCount)))
    }

    /// Counts one more `VkDeviceMemory` object before `vkAllocateMemory` is called, if the
    /// device's `maxMemoryAllocationCount` allows it: checked and counted in one step, so two
    /// threads allocating at once cannot both pass a check for the last object the limit
    /// allows. `add(heap:bytes:)` completes the reservation, `cancelObject()` gives it back.
    func reserveObject(limit: UInt32) -> Bool {
        counts.withLock {
            guard $0.totalAllocations < limit else { return false }
            $0.totalAllocations += 1
            return true
        }
    }

    /// Gives back a reservation whose `vkAllocateMemory` failed.
    func cancelObject() {
        counts.withLock { $0.totalAllocations -= 1 }
    }

    /// Accounts an allocated object's heap and bytes; its object was counted by
    /// `reserveObject(limit:)`.
    func add(heap: Int, bytes: UInt64) {
        counts.withLock {
            $0.bytes[heap] &+= bytes
            $0.allocations[heap] += 1
        }
    }

    func remove(heap: Int, bytes: UInt64) {
        counts.withLock {
            $0.bytes[heap] &-= bytes
            $0.allocations[heap] -= 1
            $0.totalAllocations -= 1
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }
}
