import CVulkan
import Synchronization

/// One `VkDeviceMemory` object: the raw unit the driver hands out.
///
/// Every `vkAllocateMemory` is expensive (100 µs to 80 ms on real GPUs) and counted against
/// `maxMemoryAllocationCount`; most programs should suballocate through the allocator and
/// use `DeviceMemory` only for pages, dedicated allocations and external memory.
///
/// Mapping is counted: Vulkan forbids mapping one `VkDeviceMemory` twice, so the first
/// `map` maps the whole object and later ones share that mapping; the last `unmap` unmaps.
///
/// Thread safety: every method may be called from any thread; map state is locked.
/// Memory not freed explicitly is freed when the object is deinitialized.
public final class DeviceMemory: @unchecked Sendable {
    /// What to dedicate an allocation to (`VkMemoryDedicatedAllocateInfo`).
    public enum DedicatedTarget: @unchecked Sendable, Hashable {
        /// The allocation backs exactly this buffer.
        case buffer(VkBuffer)
        /// The allocation backs exactly this image.
        case image(VkImage)
    }

    /// Options for `allocate`.
    public struct Options: Sendable, Hashable {
        /// `VkMemoryDedicatedAllocateInfo`: the one resource this memory is for.
        public var dedicated: DedicatedTarget?
        /// `VkMemoryPriorityAllocateInfoEXT::priority` in 0…1; ignored when the device
        /// does not have `VK_EXT_memory_priority` enabled, as the extension is only a hint.
        public var priority: Float?
        /// `VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT`, for buffers used with
        /// `vkGetBufferDeviceAddress`; needs the `bufferDeviceAddress` capability.
        public var deviceAddress: Bool
        /// `VkExportMemoryAllocateInfo::handleTypes`: how the memory may be exported.
        public var exportHandleTypes: ExternalMemoryHandleTypes
        /// A chain of the caller's, linked after the structures these options add.
        public var next: NextChain?

        /// Creates options; every parameter defaults to "not used".
        public init(dedicated: DedicatedTarget? = nil, priority: Float? = nil,
                    deviceAddress: Bool = false, exportHandleTypes: ExternalMemoryHandleTypes = [],
                    next: NextChain? = nil) {
            self.dedicated = dedicated
            self.priority = priority
            self.deviceAddress = deviceAddress
            self.exportHandleTypes = exportHandleTypes
            self.next = next
        }
    }

    /// A `pNext` chain of the caller's own for `VkMemoryAllocateInfo` (VMA's
    /// `pMemoryAllocateNext`): the escape hatch for structures the options have no field
    /// for (`VkImportMemoryHostPointerInfoEXT`, a vendor's extension…).
    ///
    /// Only the pointer is kept, unchecked: the caller keeps the chain alive and unchanged
    /// until the call that takes it returns, and makes it valid for `vkAllocateMemory`
    /// together with what the allocator adds (no structure the options add a second time).
    /// The one unchecked `Sendable` of the options, so the compiler still checks theirs.
    public struct NextChain: @unchecked Sendable, Hashable {
        /// The first structure of the chain (it starts with `sType` and `pNext`).
        public let pointer: UnsafeRawPointer

        /// Wraps the first structure of a chain the caller keeps alive.
        /// - Parameter pointer: the chain's first structure.
        public init(_ pointer: UnsafeRawPointer) { self.pointer = pointer }
    }

    struct MapState {
        var freed = false
        var mapCount = 0
        var pointer: UnsafeMutableRawPointer?
        /// Shared by the views of the current mapping; ended when it ends.
        var lifetime: ViewLifetime?

        /// Ends the current mapping's views.
        mutating func endViews() {
            lifetime?.end()
            lifetime = nil
        }
    }

    /// The device the memory belongs to.
    public let device: VulkanDevice
    /// The `VkDeviceMemory` handle.
    public let handle: VkDeviceMemory
    /// `allocationSize` in bytes.
    public let size: UInt64
    /// `memoryTypeIndex`.
    public let memoryTypeIndex: Int
    /// The heap the type draws from.
    public let heapIndex: Int
    /// The type's property flags.
    public let flags: MemoryPropertyFlags
    /// The options it was allocated with.
    public let options: Options
    let state = Locked(MapState())

    /// Allocates memory (`vkAllocateMemory`).
    ///
    /// - Throws: `MemoryError` for a type index out of range, a size of 0 or beyond the
    ///   heap, a priority outside 0…1, a capability the device lacks, the device's
    ///   allocation count limit, or the driver's failure (out of memory).
    public static func allocate(
        on device: VulkanDevice, size: UInt64, memoryTypeIndex: Int,
        options: Options = Options()
    ) throws(MemoryError) -> DeviceMemory {
        try allocate(on: device, size: size, memoryTypeIndex: memoryTypeIndex, options: options) { _ in }
    }

    /// Validates, builds the `pNext` chain of `options` plus whatever `extend` adds (an
    /// import), calls `vkAllocateMemory` and wraps the result.
    static func allocate(on device: VulkanDevice, size: UInt64, memoryTypeIndex: Int, options: Options,
                         extend: (inout AllocateChain) -> Void) throws(MemoryError) -> DeviceMemory {
        let heapIndex = try validate(device: device, size: size, memoryTypeIndex: memoryTypeIndex,
                                     options: options)
        var chain = AllocateChain(options: options, capabilities: device.capabilities)
        defer { chain.release() }
        extend(&chain)
        var info = VkMemoryAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        info.pNext = chain.head
        info.allocationSize = size
        info.memoryTypeIndex = UInt32(memoryTypeIndex)
        let limit = device.rawLimits.maxMemoryAllocationCount
        guard device.accounting.reserveObject(limit: limit) else { throw .tooManyAllocations(limit: limit) }
        var handle: VkDeviceMemory?
        let result = VulkanResult(device.deviceFunctions.allocateMemory(device.device, &info, nil, &handle))
        guard result.isSuccess, let handle else {
            device.accounting.cancelObject()
            throw .allocationFailed(size: info.allocationSize, typeIndex: Int(info.memoryTypeIndex),
                                    heapIndex: heapIndex, result: result)
        }
        device.accounting.add(heap: heapIndex, bytes: info.allocationSize)
        return DeviceMemory(device: device, handle: handle, size: info.allocationSize,
                            memoryTypeIndex: Int(info.memoryTypeIndex), heapIndex: heapIndex,
                            options: options)
    }

    /// The device feature a memory type with `flags` needs and a device with
    /// `capabilities` lacks: `protectedMemory` for `PROTECTED` (which the library never
    /// enables), `deviceCoherentMemory` for `DEVICE_COHERENT_AMD` unless the device has
    /// `DeviceCapabilities.deviceCoherentMemory`; nil when nothing is missing.
    static func featureNeeded(by flags: MemoryPropertyFlags, capabilities: DeviceCapabilities) -> String? {
        if flags.contains(.protected) { return "protectedMemory" }
        if flags.contains(.deviceCoherentAMD), !capabilities.contains(.deviceCoherentMemory) {
            return "deviceCoherentMemory"
        }
        return nil
    }

    /// Checks everything Vulkan's valid usage rules demand of an allocation but the
    /// object limit (counted with the call, in `allocate`), so the driver and validation
    /// layer never see a bad request. Returns the type's heap index.
    static func validate(device: VulkanDevice, size: UInt64, memoryTypeIndex: Int,
                         options: Options) throws(MemoryError) -> Int {
        let properties = device.rawMemoryProperties
        let typeCount = Int(properties.memoryTypeCount)
        guard (0..<typeCount).contains(memoryTypeIndex) else {
            throw .invalidMemoryType(index: memoryTypeIndex, typeCount: typeCount)
        }
        guard size > 0 else { throw .zeroSize }
        let type = withUnsafeBytes(of: properties.memoryTypes) { $0.bindMemory(to: VkMemoryType.self)[memoryTypeIndex] }
        let heapIndex = Int(type.heapIndex)
        let flags = MemoryPropertyFlags(rawValue: type.propertyFlags)
        if let feature = featureNeeded(by: flags, capabilities: device.capabilities) {
            throw .featureNotEnabled(typeIndex: memoryTypeIndex, flags: flags, feature: feature)
        }
        let heapSize = withUnsafeBytes(of: properties.memoryHeaps) {
            $0.bindMemory(to: VkMemoryHeap.self)[heapIndex].size
        }
        guard size <= heapSize else {
            throw .sizeExceedsHeap(size: size, heapIndex: heapIndex, heapSize: heapSize)
        }
        if let priority = options.priority, !(0...1).contains(priority) {
            throw .invalidPriority(priority)
        }
        if options.deviceAddress, !device.capabilities.contains(.bufferDeviceAddress) {
            throw .capabilityNotEnabled(.bufferDeviceAddress, operation: "a device-address allocation")
        }
        if !options.exportHandleTypes.isEmpty, !device.capabilities.contains(.externalMemoryFd) {
            throw .capabilityNotEnabled(.externalMemoryFd, operation: "an exportable allocation")
        }
        // The device's object limit is checked, and the object counted, in the same step
        // (`MemoryAccounting.reserveObject`), just before `vkAllocateMemory`.
        return heapIndex
    }

    init(device: VulkanDevice, handle: VkDeviceMemory, size: UInt64, memoryTypeIndex: Int,
         heapIndex: Int, options: Options) {
        self.device = device
        self.handle = handle
        self.size = size
        self.memoryTypeIndex = memoryTypeIndex
        self.heapIndex = heapIndex
        self.options = options
        self.flags = withUnsafeBytes(of: device.rawMemoryProperties.memoryTypes) {
            MemoryPropertyFlags(rawValue: $0.bindMemory(to: VkMemoryType.self)[memoryTypeIndex].propertyFlags)
        }
    }

    /// Whether `free()` has been called.
    public var isFreed: Bool { state.withLock { $0.freed } }

    /// Frees the memory (`vkFreeMemory`), unmapping it if mapped.
    ///
    /// The caller must make sure the device no longer uses it, and that no resource bound
    /// to it is used again.
    /// - Throws: `MemoryError.alreadyFreed` on a second call.
    public func free() throws(MemoryError) {
        let wasFreed = state.withLock { state in
            defer { state.freed = true; state.pointer = nil; state.mapCount = 0; state.endViews() }
            return state.freed
        }
        if wasFreed { throw .alreadyFreed }
        release()
    }

    private func release() {
        device.deviceFunctions.freeMemory(device.device, handle, nil)
        device.accounting.remove(heap: heapIndex, bytes: size)
    }

    deinit {
        if !state.withLock({ $0.freed }) { release() }
    }
}

/// The `pNext` structures of one `vkAllocateMemory` call, in heap storage so their
/// addresses stay valid while the chain is built and used.
struct AllocateChain {
    private(set) var head: UnsafeRawPointer?
    private var blocks: [UnsafeMutableRawPointer] = []

    init(options: DeviceMemory.Options, capabilities: DeviceCapabilities) {
        // The caller's chain ends the list: each structure below is put in front of it.
        head = options.next.map(\.pointer)
        if let dedicated = options.dedicated {
            var info = VkMemoryDedicatedAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO
            switch dedicated {
            case .buffer(let buffer): info.buffer = buffer
            case .image(let image): info.image = image
            }
            push(info) { $0.pNext = $1 }
        }
        if let priority = options.priority, capabilities.contains(.memoryPriority) {
            var info = VkMemoryPriorityAllocateInfoEXT()
            info.sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT
            info.priority = priority
            push(info) { $0.pNext = $1 }
        }
        if options.deviceAddress {
            var info = VkMemoryAllocateFlagsInfo()
            info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO
            info.flags = VkMemoryAllocateFlags(VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT.rawValue)
            push(info) { $0.pNext = $1 }
        }
        if !options.exportHandleTypes.isEmpty {
            var info = VkExportMemoryAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO
            info.handleTypes = VkExternalMemoryHandleTypeFlags(options.exportHandleTypes.rawValue)
            push(info) { $0.pNext = $1 }
        }
    }

    /// Prepends a structure to the chain.
    mutating func push<S>(_ value: S, link: (inout S, UnsafeRawPointer?) -> Void) {
        var value = value
        link(&value, head)
        let pointer = UnsafeMutablePointer<S>.allocate(capacity: 1)
        pointer.initialize(to: value)
        blocks.append(UnsafeMutableRawPointer(pointer))
        head = UnsafeRawPointer(pointer)
    }

    /// Frees the structures; the chain must not be used afterwards.
    func release() { blocks.forEach { $0.deallocate() } }
}
