import CVulkan
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

// A "profiled device": lavapipe's real device, presented to the library with the memory
// heaps, memory types and memory limits of a real GPU from the fixture profiles.
//
// The library resolves every Vulkan function through the `vkGetInstanceProcAddr` of its
// `VulkanLoader`. `withProfiledDevice` creates a `VulkanContext` on lavapipe as
// `withTestDevice` does (validation layer on as `VKMEM_VALIDATION` says), then wraps the
// same instance, physical device and device handles in a second `VulkanDevice` whose
// loader is `ProfiledDevice.getInstanceProcAddr`. That function, and the
// `vkGetDeviceProcAddr` it hands out, return the interceptors below for the memory
// queries and memory calls and the real function (loader → validation layer → lavapipe)
// for everything else. The interceptors translate: the profile's memory type indices
// become lavapipe's one host-visible type, so real lavapipe memory backs every
// allocation and the validation layer sees, and checks, every call as lavapipe knows it.
// What only the profile knows (its type bits, heap sizes, atom size, granularity,
// allocation count, which types are host-visible) the wrapper checks itself and records
// as violations, which fail the test.
//
// C function pointers cannot capture context, so the state lives in `profiledDevices`, a
// table keyed by physical-device, device and queue handle behind a `Mutex`. Each
// `withProfiledDevice` makes its own instance, so handles never collide; the entries go
// when the last reference to the wrapped `VulkanDevice` goes.

// MARK: - Choosing profiles

/// Why `realProfile(_:where:)` found no single profile.
struct ProfileLookupError: Error, CustomStringConvertible {
    let name: String
    let matches: [String]
    var description: String {
        matches.isEmpty ? "no fixture profile is named or contains '\(name)'"
            : "'\(name)' matches \(matches.count) profiles (\(matches.joined(separator: "; "))); narrow it with `where:`"
    }
}

/// The fixture profile called `name`: the one whose name is exactly `name`, else the only
/// one whose name contains it, ignoring case, among those `predicate` accepts.
///
/// Two profiles share the name "AMD Radeon(TM) Graphics"; tell them apart with
/// `where: { $0.memoryHeaps.count == 2 }` (or `== 3`).
/// - Throws: `ProfileLookupError` when no profile or more than one matches.
func realProfile(_ name: String, where predicate: (DeviceProfile) -> Bool = { _ in true }) throws -> DeviceProfile {
    let candidates = realProfiles.filter(predicate)
    let exact = candidates.filter { $0.name == name }
    if exact.count == 1 { return exact[0] }
    let containing = exact.isEmpty ? candidates.filter { $0.name.lowercased().contains(name.lowercased()) } : exact
    guard containing.count == 1 else {
        throw ProfileLookupError(name: name, matches: containing.map(\.name))
    }
    return containing[0]
}

/// The fixture profiles whose name contains any of `names` (ignoring case), in file order.
func realProfiles(matching names: [String]) -> [DeviceProfile] {
    realProfiles.filter { profile in names.contains { profile.name.lowercased().contains($0.lowercased()) } }
}

// MARK: - The helper

/// Runs `body` with a `VulkanDevice` that presents `profile`'s memory heaps and types over
/// lavapipe, with the validation layer on as `VKMEM_VALIDATION` says (`make test`
/// requires it), and fails the test on any validation message, any violation of the
/// profile's rules the wrapper saw (see `ProfiledDevice`), and any `VkDeviceMemory`,
/// `VkBuffer` or `VkImage` made through the device and still alive when `body` returns.
///
/// `Allocator(device:)` on the device sees the profile's heaps, types,
/// `bufferImageGranularity`, `nonCoherentAtomSize`, `maxMemoryAllocationCount`,
/// `minMemoryMapAlignment` and device type; memory comes from lavapipe. Use it as:
///
/// ```swift
/// let profile = try realProfile("NVIDIA GeForce RTX 4070")
/// try withProfiledDevice(profile, heapSizeOverride: 64 << 20) { device in
///     let allocator = Allocator(device: device)
///     let buffer = try allocator.createBuffer(info, .usage(.dynamic))
///     // allocator.properties.types[buffer.allocation.memoryTypeIndex] is DEVICE_LOCAL|HOST_VISIBLE
///     try allocator.destroyBuffer(buffer)
///     // ProfiledDevice.of(device)! shows heap usage, flush counts, and can inject faults.
/// }
/// ```
///
/// Everything made from the device (allocators, allocations, resources) must be gone when
/// `body` returns.
/// - Parameters:
///   - profile: the device to present, such as `realProfile("H100")`.
///   - heapSizeOverride: when given, every heap is presented (and enforced) as at most
///     this many bytes, so a heap can be filled with little real memory.
///   - failingAllocateCalls: `vkAllocateMemory` calls (1 for the first through this
///     device) that fail with `VK_ERROR_OUT_OF_DEVICE_MEMORY`; more can be planned with
///     `ProfiledDevice.failAllocateMemory(calls:)`.
///   - presentedCapabilities: capabilities the wrapped device claims beyond lavapipe's,
///     for what only the profile's memory table needs: `.deviceCoherentMemory` lets its
///     `DEVICE_COHERENT_AMD` types be allocated (backed by lavapipe's memory like any
///     other) without the violation recorded otherwise.
/// - Throws: what `body` throws; `VulkanError` when no lavapipe device can be made.
@discardableResult
func withProfiledDevice<R>(
    _ profile: DeviceProfile, heapSizeOverride: UInt64? = nil, failingAllocateCalls: Set<Int> = [],
    presentedCapabilities: DeviceCapabilities = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (VulkanDevice) throws -> R
) throws -> R {
    var options = VulkanContext.Options()
    options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
    options.capabilities = [.memoryBudget, .memoryPriority, .bufferDeviceAddress, .externalMemoryFd]
    options.applicationName = "VulkanMemoryTests (profiled)"
    // The wrapper backs every profile type with lavapipe's host-visible memory.
    options.device = .nameContaining("llvmpipe")
    let context = try VulkanContext(options: options)
    let (device, profiled) = try ProfiledDevice.wrap(context, profile: profile, heapSizeOverride: heapSizeOverride,
                                                    failingAllocateCalls: failingAllocateCalls,
                                                    presentedCapabilities: presentedCapabilities)
    let outcome = Result { try body(device) }
    let messages = context.validationLog?.drain() ?? []
    #expect(messages.isEmpty, "\(profile.name): validation messages: \(messages)", sourceLocation: sourceLocation)
    let violations = profiled.takeViolations()
    #expect(violations.isEmpty, "\(profile.name): the library broke the profile's rules: \(violations)",
            sourceLocation: sourceLocation)
    let live = profiled.liveObjects
    #expect(live.memories == 0 && live.buffers == 0 && live.images == 0,
            "\(profile.name): still alive after the body: \(live)", sourceLocation: sourceLocation)
    return try outcome.get()
}

// MARK: - The wrapper's state

/// Registered profiled devices, by `VkPhysicalDevice`, `VkDevice` and `VkQueue` handle.
private let profiledDevices = Mutex<[UInt: ProfiledDevice]>([:])

private func key(_ handle: OpaquePointer?) -> UInt { UInt(bitPattern: handle) }

/// One profile presented over one lavapipe device: what it presents, the real functions
/// it forwards to, and what it has seen.
///
/// What each interceptor does:
/// - `vkGetPhysicalDeviceMemoryProperties(2)`: the profile's heaps (each at most
///   `heapSizeOverride`) and types, in the profile's order; with
///   `VkPhysicalDeviceMemoryBudgetPropertiesEXT` chained, each heap's budget is its
///   presented size and its usage the bytes allocated through the wrapper on it (the
///   structure is answered here and kept from lavapipe, which may not offer the
///   extension). Other chained structures are lavapipe's. The wrapped device has the
///   `.memoryBudget` capability exactly when the profile's `memoryBudgetExtension` is true.
/// - `vkGetPhysicalDeviceProperties(2)`: lavapipe's, with the profile's `deviceType`,
///   `vendorID`, `bufferImageGranularity`, `nonCoherentAtomSize`,
///   `maxMemoryAllocationCount`, `minMemoryMapAlignment` (64 where the profile has none),
///   and the name "<profile> (profiled over <lavapipe>)".
/// - `vkGetInstanceProcAddr` / `vkGetDeviceProcAddr`: these interceptors where the real
///   function exists, the real function otherwise.
/// - `vkAllocateMemory`: counts the call, fails it if the fault plan says so; records a
///   violation (and fails the call) for a type index outside the profile, a size above
///   the type's heap, or one allocation past `maxMemoryAllocationCount`; records one (and
///   goes on) for a `PROTECTED` or `DEVICE_COHERENT_AMD` type, which need the
///   `protectedMemory` / `deviceCoherentMemory` features the device does not have; returns
///   `VK_ERROR_OUT_OF_DEVICE_MEMORY` when the heap's presented size would be exceeded;
///   otherwise allocates lavapipe's host-visible type with the same `pNext` chain and
///   accounts the bytes to the profile type's heap.
/// - `vkFreeMemory`: gives the bytes back; a handle it does not know is a violation.
/// - `vkMapMemory`: a type the profile does not make `HOST_VISIBLE` is a violation and
///   fails with `VK_ERROR_MEMORY_MAP_FAILED`; otherwise counted and passed through.
/// - `vkFlushMappedMemoryRanges` / `vkInvalidateMappedMemoryRanges`: a range not aligned
///   to the profile's `nonCoherentAtomSize` (offset a multiple, size a multiple or
///   reaching the end) is a violation; counted per type; passed through widened to
///   lavapipe's atom (lavapipe's memory is coherent, so this changes nothing).
/// - `vkGet{Buffer,Image}MemoryRequirements(2)`, `vkGetDevice{Buffer,Image}MemoryRequirements`:
///   lavapipe's size; `memoryTypeBits` widened from lavapipe's backing type to every
///   profile type a resource of that kind could use on such a GPU (buffers: all but
///   `LAZILY_ALLOCATED` and `PROTECTED`; images: all but `PROTECTED`, and
///   `LAZILY_ALLOCATED` only with `TRANSIENT_ATTACHMENT` usage); an optimal-tiling image's
///   alignment raised to the profile's `bufferImageGranularity`, as real GPUs align tiled
///   images at least that much (sizes stay lavapipe's: a dedicated allocation must have
///   exactly the size the validation layer knows).
/// - `vkCreateImage` / `vkDestroyImage`, `vkCreateBuffer` / `vkDestroyBuffer`: pass
///   through, remembering images' usage and tiling and counting live objects.
/// - `vkAllocateCommandBuffers`, `vkCreateFence`, `vkQueueSubmit`: fail with
///   `VK_ERROR_OUT_OF_DEVICE_MEMORY` while `failCommands(_:)` plans it, so the callers'
///   rollback can be tested; otherwise passed through. The context's queue is registered
///   beside the device, so `vkQueueSubmit` finds the wrapper by it.
/// - `vkBind{Buffer,Image}Memory(2)`: checks the binding against the presented
///   requirements (type bit, alignment, size within the memory) and against the other
///   live bindings of the memory: overlapping one, or a linear and an optimal resource
///   within one `bufferImageGranularity` page, is a violation. Then passes through.
final class ProfiledDevice: Sendable {
    /// The profile presented.
    let profile: DeviceProfile
    /// The heaps (after `heapSizeOverride`), types and limits presented.
    let presented: MemoryProperties
    /// Memory-type bits presented for buffers, for images, for transient-attachment images.
    let bufferTypeBits: UInt32, imageTypeBits: UInt32, transientImageTypeBits: UInt32
    /// lavapipe's type that backs every profile type: host-visible and coherent.
    let backingTypeIndex: UInt32
    private let deviceType: UInt32
    private let deviceName: String
    private let realAtom: UInt64
    /// The device claims `deviceCoherentMemory`: allocating `DEVICE_COHERENT_AMD` is valid.
    private let presentsDeviceCoherentMemory: Bool
    private let real: RealFunctions
    private let state: Mutex<State>

    /// A live `VkDeviceMemory` made through the wrapper.
    struct MemoryRecord: Sendable {
        var typeIndex: Int
        var heapIndex: Int
        var size: UInt64
    }

    /// A resource bound through the wrapper, with its presented requirements.
    struct Binding: Sendable {
        var memory: UInt
        var offset: UInt64
        var size: UInt64
        var optimal: Bool
        var label: String
    }

    /// A `vkAllocateMemory` held at its start: it signals `entered`, then waits for
    /// `resume`.
    struct AllocateGate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let resume = DispatchSemaphore(value: 0)
    }

    /// Holds the next `vkAllocateMemory` through the wrapper at its start, before anything
    /// is counted or checked, until the test signals the gate's `resume`: a test can then
    /// run another call while one is inside the driver.
    func pauseNextAllocateMemory() -> AllocateGate {
        let gate = AllocateGate()
        state.withLock { $0.allocateGate = gate }
        return gate
    }

    /// A command-path call `failCommands(_:)` can make fail.
    enum CommandFault: String, Sendable, Hashable, CaseIterable {
        case allocateCommandBuffers = "vkAllocateCommandBuffers"
        case createFence = "vkCreateFence"
        case queueSubmit = "vkQueueSubmit"
    }

    private struct State: Sendable {
        var heapUsage: [UInt64]
        var memories: [UInt: MemoryRecord] = [:]
        /// Optimal tiling and transient-attachment usage, by image.
        var images: [UInt: (optimal: Bool, transient: Bool)] = [:]
        var buffers: Set<UInt> = []
        /// Keyed by resource handle (buffers and images are distinct objects).
        var bindings: [UInt: Binding] = [:]
        var allocateCalls = 0
        var failingCalls: Set<Int>
        var failEveryAllocation = false
        var injectedFailures = 0
        var failingCommands: Set<CommandFault> = []
        /// Where the next `vkAllocateMemory` waits (see `pauseNextAllocateMemory()`).
        var allocateGate: AllocateGate?
        var injectedCommandFailures = 0
        var heapFullRefusals = 0
        var violations: [String] = []
        var maps: [Int]
        var flushes: [Int]
        var invalidates: [Int]
        /// `vkFlushMappedMemoryRanges` / `vkInvalidateMappedMemoryRanges` calls, whatever
        /// their range count.
        var syncCalls = 0
    }

    /// The wrapper behind a device `withProfiledDevice` made (found by its `VkDevice`
    /// handle), while that device lives; nil for a device no wrapper was made for.
    static func of(_ device: VulkanDevice) -> ProfiledDevice? {
        profiledDevices.withLock { $0[key(device.device)] }
    }

    private static func registered(_ handle: OpaquePointer?, _ function: StaticString) -> ProfiledDevice {
        guard let found = profiledDevices.withLock({ $0[key(handle)] }) else {
            fatalError("\(function) on a handle no profiled device owns: the wrapped device was used after its end")
        }
        return found
    }

    private init(profile: DeviceProfile, presented: MemoryProperties, backingTypeIndex: UInt32, realName: String,
                 realAtom: UInt64, real: RealFunctions, failingAllocateCalls: Set<Int>,
                 presentsDeviceCoherentMemory: Bool) {
        self.profile = profile
        self.presentsDeviceCoherentMemory = presentsDeviceCoherentMemory
        self.presented = presented
        self.backingTypeIndex = backingTypeIndex
        self.realAtom = max(realAtom, 1)
        self.real = real
        func bits(_ accepts: (MemoryType) -> Bool) -> UInt32 {
            presented.types.filter(accepts).reduce(0) { $0 | (1 << UInt32($1.index)) }
        }
        bufferTypeBits = bits { !$0.isLazilyAllocated && !$0.isProtected }
        imageTypeBits = bits { !$0.isLazilyAllocated && !$0.isProtected }
        transientImageTypeBits = bits { !$0.isProtected }
        switch profile.deviceType {
        case "DISCRETE_GPU": deviceType = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU.rawValue
        case "INTEGRATED_GPU": deviceType = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU.rawValue
        case "VIRTUAL_GPU": deviceType = VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU.rawValue
        case "CPU": deviceType = VK_PHYSICAL_DEVICE_TYPE_CPU.rawValue
        default: deviceType = VK_PHYSICAL_DEVICE_TYPE_OTHER.rawValue
        }
        deviceName = "\(profile.name) (profiled over \(realName))"
        let typeCount = presented.types.count
        state = Mutex(State(heapUsage: .init(repeating: 0, count: presented.heaps.count),
                            failingCalls: failingAllocateCalls,
                            maps: .init(repeating: 0, count: typeCount),
                            flushes: .init(repeating: 0, count: typeCount),
                            invalidates: .init(repeating: 0, count: typeCount)))
    }

    /// Builds the wrapper for `context`'s device and the `VulkanDevice` that uses it; the
    /// device keeps `context` alive and unregisters the wrapper when it goes.
    static func wrap(_ context: VulkanContext, profile: DeviceProfile, heapSizeOverride: UInt64?,
                     failingAllocateCalls: Set<Int>,
                     presentedCapabilities: DeviceCapabilities = []) throws -> (VulkanDevice, ProfiledDevice) {
        let base = context.device
        let real = try RealFunctions(instance: base.instance, device: base.device)
        var realMemory = VkPhysicalDeviceMemoryProperties()
        real.getPhysicalDeviceMemoryProperties(base.physicalDevice, &realMemory)
        var realProperties = VkPhysicalDeviceProperties()
        real.getPhysicalDeviceProperties(base.physicalDevice, &realProperties)
        let coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let realTypes = withUnsafeBytes(of: realMemory.memoryTypes) {
            Array($0.bindMemory(to: VkMemoryType.self).prefix(Int(realMemory.memoryTypeCount)))
        }
        guard let backing = realTypes.firstIndex(where: { $0.propertyFlags & coherent == coherent }) else {
            throw RealFunctions.Missing(name: "a host-visible, coherent memory type on \(base.info.name)")
        }
        let original = try profile.memoryProperties()
        let heaps = original.heaps.map { heap in
            MemoryHeap(index: heap.index, size: heapSizeOverride.map { min($0, heap.size) } ?? heap.size, flags: heap.flags)
        }
        let presented = try MemoryProperties(heaps: heaps, types: original.types, limits: original.limits)
        let profiled = ProfiledDevice(
            profile: profile, presented: presented, backingTypeIndex: UInt32(backing), realName: base.info.name,
            realAtom: realProperties.limits.nonCoherentAtomSize, real: real,
            failingAllocateCalls: failingAllocateCalls,
            presentsDeviceCoherentMemory: presentedCapabilities.contains(.deviceCoherentMemory))
        let keys = [key(base.physicalDevice), key(base.device), key(context.queue.handle)]
        profiledDevices.withLock { table in
            for handle in keys {
                precondition(table[handle] == nil, "two profiled devices share handle \(handle)")
                table[handle] = profiled
            }
        }
        let lifetime = Lifetime(context: context, keys: keys)
        // VK_EXT_memory_budget as the profile's device has it (the wrapper answers it, with
        // or without lavapipe's); where the source does not say, the library's estimate.
        var capabilities = base.capabilities.union(presentedCapabilities)
        if profile.memoryBudgetExtension == true {
            capabilities.insert(.memoryBudget)
        } else {
            capabilities.remove(.memoryBudget)
        }
        let device = try VulkanDevice(
            instance: base.instance, physicalDevice: base.physicalDevice, device: base.device,
            apiVersion: base.apiVersion, capabilities: capabilities,
            loader: VulkanLoader(getInstanceProcAddr: ProfiledDevice.getInstanceProcAddr), owner: lifetime)
        return (device, profiled)
    }

    /// Keeps the context alive for the wrapped device and unregisters the wrapper with it.
    private final class Lifetime: Sendable {
        let context: VulkanContext
        let keys: [UInt]
        init(context: VulkanContext, keys: [UInt]) {
            self.context = context
            self.keys = keys
        }
        deinit {
            let keys = keys
            profiledDevices.withLock { table in for handle in keys { table[handle] = nil } }
        }
    }

    // MARK: What tests read and plan

    /// Bytes allocated through the wrapper per presented heap.
    var heapUsage: [UInt64] { state.withLock { $0.heapUsage } }
    /// Live `VkDeviceMemory` objects, buffers and images made through the wrapper.
    var liveObjects: (memories: Int, buffers: Int, images: Int) {
        state.withLock { ($0.memories.count, $0.buffers.count, $0.images.count) }
    }
    /// The live `VkDeviceMemory` objects, with their profile type, heap and size.
    var liveMemories: [MemoryRecord] { state.withLock { Array($0.memories.values) } }
    /// `vkAllocateMemory` calls so far, failed ones included.
    var allocateMemoryCalls: Int { state.withLock { $0.allocateCalls } }
    /// `vkAllocateMemory` calls the fault plan failed so far.
    var injectedFailures: Int { state.withLock { $0.injectedFailures } }
    /// `vkAllocateMemory` calls refused because the heap's presented size was reached.
    var heapFullRefusals: Int { state.withLock { $0.heapFullRefusals } }
    /// `vkMapMemory`, `vkFlushMappedMemoryRanges` and `vkInvalidateMappedMemoryRanges`
    /// calls per profile type (a flush of several ranges counts each range).
    var mapCounts: [Int] { state.withLock { $0.maps } }
    var flushCounts: [Int] { state.withLock { $0.flushes } }
    var invalidateCounts: [Int] { state.withLock { $0.invalidates } }
    /// Flush and invalidate calls, each counted once however many ranges it carries.
    var syncCallCount: Int { state.withLock { $0.syncCalls } }

    /// Plans failures: the `vkAllocateMemory` calls numbered `ordinals` (1 is the first
    /// through this device; see `allocateMemoryCalls`) fail with
    /// `VK_ERROR_OUT_OF_DEVICE_MEMORY`.
    func failAllocateMemory<S: Sequence<Int>>(calls ordinals: S) {
        state.withLock { $0.failingCalls.formUnion(ordinals) }
    }

    /// From now on, every call of `faults` fails with `VK_ERROR_OUT_OF_DEVICE_MEMORY`
    /// (none, with an empty set).
    func failCommands(_ faults: Set<CommandFault>) {
        state.withLock { $0.failingCommands = faults }
    }

    /// Command-path calls `failCommands(_:)` made fail so far.
    var injectedCommandFailures: Int { state.withLock { $0.injectedCommandFailures } }

    /// Whether a planned fault fails this call of `function`, counting it if so.
    private func failsCommand(_ function: CommandFault) -> Bool {
        state.withLock { state in
            guard state.failingCommands.contains(function) else { return false }
            state.injectedCommandFailures += 1
            return true
        }
    }

    /// While `on`, every `vkAllocateMemory` fails with `VK_ERROR_OUT_OF_DEVICE_MEMORY`.
    func failEveryAllocateMemory(_ on: Bool) {
        state.withLock { $0.failEveryAllocation = on }
    }

    /// The violations recorded so far, which are then forgotten (a test that provokes one
    /// on purpose takes it so that `withProfiledDevice` does not fail).
    func takeViolations() -> [String] {
        state.withLock { state in
            defer { state.violations.removeAll() }
            return state.violations
        }
    }

    // MARK: Presenting

    private func present(_ memory: inout VkPhysicalDeviceMemoryProperties) {
        memory = VkPhysicalDeviceMemoryProperties()
        memory.memoryHeapCount = UInt32(presented.heaps.count)
        memory.memoryTypeCount = UInt32(presented.types.count)
        withUnsafeMutableBytes(of: &memory.memoryHeaps) { raw in
            let heaps = raw.bindMemory(to: VkMemoryHeap.self)
            for heap in presented.heaps {
                heaps[heap.index] = VkMemoryHeap(size: heap.size, flags: heap.flags.rawValue)
            }
        }
        withUnsafeMutableBytes(of: &memory.memoryTypes) { raw in
            let types = raw.bindMemory(to: VkMemoryType.self)
            for type in presented.types {
                types[type.index] = VkMemoryType(propertyFlags: type.flags.rawValue, heapIndex: UInt32(type.heapIndex))
            }
        }
    }

    private func present(_ budget: inout VkPhysicalDeviceMemoryBudgetPropertiesEXT) {
        let usage = heapUsage
        withUnsafeMutableBytes(of: &budget.heapBudget) { raw in
            let values = raw.bindMemory(to: UInt64.self)
            for index in values.indices { values[index] = index < presented.heaps.count ? presented.heaps[index].size : 0 }
        }
        withUnsafeMutableBytes(of: &budget.heapUsage) { raw in
            let values = raw.bindMemory(to: UInt64.self)
            for index in values.indices { values[index] = index < usage.count ? usage[index] : 0 }
        }
    }

    private func present(_ properties: inout VkPhysicalDeviceProperties) {
        properties.deviceType = VkPhysicalDeviceType(rawValue: deviceType)
        properties.vendorID = profile.vendorID
        properties.limits.bufferImageGranularity = presented.limits.bufferImageGranularity
        properties.limits.nonCoherentAtomSize = presented.limits.nonCoherentAtomSize
        properties.limits.maxMemoryAllocationCount = presented.limits.maxMemoryAllocationCount
        properties.limits.minMemoryMapAlignment = presented.limits.minMemoryMapAlignment
        withUnsafeMutableBytes(of: &properties.deviceName) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            let bytes = Array(deviceName.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
    }

    private func presentBuffer(_ requirements: inout VkMemoryRequirements) {
        requirements.memoryTypeBits = requirements.memoryTypeBits & (1 << backingTypeIndex) != 0 ? bufferTypeBits : 0
    }

    private func presentImage(_ requirements: inout VkMemoryRequirements, optimal: Bool, transient: Bool) {
        let bits = transient ? transientImageTypeBits : imageTypeBits
        requirements.memoryTypeBits = requirements.memoryTypeBits & (1 << backingTypeIndex) != 0 ? bits : 0
        if optimal {
            requirements.alignment = max(requirements.alignment, presented.limits.bufferImageGranularity)
        }
    }

    private func imageTraits(_ image: VkImage?) -> (optimal: Bool, transient: Bool) {
        state.withLock { $0.images[key(image)] } ?? (optimal: true, transient: false)
    }

    private static func traits(of info: VkImageCreateInfo) -> (optimal: Bool, transient: Bool) {
        (info.tiling == VK_IMAGE_TILING_OPTIMAL,
         info.usage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT.rawValue != 0)
    }

    // MARK: Memory calls

    private func allocateMemory(_ device: VkDevice?, _ info: UnsafePointer<VkMemoryAllocateInfo>?,
                                _ callbacks: UnsafePointer<VkAllocationCallbacks>?,
                                _ memory: UnsafeMutablePointer<VkDeviceMemory?>?) -> VkResult {
        guard let info, let memory else { return VK_ERROR_INITIALIZATION_FAILED }
        if let gate = state.withLock({ state in defer { state.allocateGate = nil }; return state.allocateGate }) {
            gate.entered.signal()
            gate.resume.wait()
        }
        let typeIndex = Int(info.pointee.memoryTypeIndex)
        let size = info.pointee.allocationSize
        let refusal: VkResult? = state.withLock { state in
            state.allocateCalls += 1
            if state.failEveryAllocation || state.failingCalls.contains(state.allocateCalls) {
                state.injectedFailures += 1
                return VK_ERROR_OUT_OF_DEVICE_MEMORY
            }
            guard presented.types.indices.contains(typeIndex) else {
                state.violations.append("vkAllocateMemory: memoryTypeIndex \(typeIndex) but the profile has "
                                        + "\(presented.types.count) types (VUID-vkAllocateMemory-pAllocateInfo-01714)")
                return VK_ERROR_UNKNOWN
            }
            // Neither feature is enabled on the device withProfiledDevice makes (nor offered
            // by lavapipe): a real driver may fail or misbehave; the call goes through here
            // so the library's state stays as it would be, and the test fails.
            let flags = presented.types[typeIndex].flags
            if flags.contains(.protected) {
                state.violations.append("vkAllocateMemory of PROTECTED type \(typeIndex) without the protectedMemory "
                                        + "feature (VUID-VkMemoryAllocateInfo-memoryTypeIndex-01872)")
            }
            if flags.contains(.deviceCoherentAMD), !presentsDeviceCoherentMemory {
                state.violations.append("vkAllocateMemory of DEVICE_COHERENT_AMD type \(typeIndex) without the "
                                        + "deviceCoherentMemory feature (VUID-vkAllocateMemory-deviceCoherentMemory-02790)")
            }
            let heap = presented.types[typeIndex].heapIndex
            let heapSize = presented.heaps[heap].size
            guard size <= heapSize else {
                state.violations.append("vkAllocateMemory: \(size) bytes of type \(typeIndex) exceed heap \(heap)'s "
                                        + "\(heapSize) (VUID-vkAllocateMemory-pAllocateInfo-01713)")
                return VK_ERROR_OUT_OF_DEVICE_MEMORY
            }
            guard state.memories.count < Int(presented.limits.maxMemoryAllocationCount) else {
                state.violations.append("vkAllocateMemory: a \(state.memories.count + 1)th allocation past "
                                        + "maxMemoryAllocationCount \(presented.limits.maxMemoryAllocationCount) "
                                        + "(VUID-vkAllocateMemory-maxMemoryAllocationCount-04101)")
                return VK_ERROR_TOO_MANY_OBJECTS
            }
            // Not a rule the library can break: a full heap is the driver's answer.
            guard state.heapUsage[heap] <= heapSize, size <= heapSize - state.heapUsage[heap] else {
                state.heapFullRefusals += 1
                return VK_ERROR_OUT_OF_DEVICE_MEMORY
            }
            state.heapUsage[heap] += size
            return nil
        }
        if let refusal { return refusal }
        let heap = presented.types[typeIndex].heapIndex
        var translated = info.pointee
        translated.memoryTypeIndex = backingTypeIndex
        let result = real.allocateMemory(device, &translated, callbacks, memory)
        state.withLock { state in
            if result == VK_SUCCESS, let handle = memory.pointee {
                state.memories[key(handle)] = MemoryRecord(typeIndex: typeIndex, heapIndex: heap, size: size)
            } else {
                state.heapUsage[heap] -= size
            }
        }
        return result
    }

    private func freeMemory(_ device: VkDevice?, _ memory: VkDeviceMemory?,
                            _ callbacks: UnsafePointer<VkAllocationCallbacks>?) {
        if let memory {
            state.withLock { state in
                guard let record = state.memories.removeValue(forKey: key(memory)) else {
                    state.violations.append("vkFreeMemory of memory the device did not allocate or already freed")
                    return
                }
                state.heapUsage[record.heapIndex] -= record.size
                // Resources still bound to it are dead for aliasing purposes.
                state.bindings = state.bindings.filter { $0.value.memory != key(memory) }
            }
        }
        real.freeMemory(device, memory, callbacks)
    }

    private func mapMemory(_ device: VkDevice?, _ memory: VkDeviceMemory?, _ offset: VkDeviceSize,
                           _ size: VkDeviceSize, _ flags: VkMemoryMapFlags,
                           _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> VkResult {
        let refused: Bool = state.withLock { state in
            guard let record = state.memories[key(memory)] else { return false }
            let type = presented.types[record.typeIndex]
            guard type.isHostVisible else {
                state.violations.append("vkMapMemory of memory type \(record.typeIndex) (\(type.flags)), which the "
                                        + "profile does not make HOST_VISIBLE (VUID-vkMapMemory-memory-00682)")
                return true
            }
            state.maps[record.typeIndex] += 1
            return false
        }
        if refused { return VK_ERROR_MEMORY_MAP_FAILED }
        return real.mapMemory(device, memory, offset, size, flags, data)
    }

    private func syncRanges(_ device: VkDevice?, _ count: UInt32, _ ranges: UnsafePointer<VkMappedMemoryRange>?,
                            flush: Bool) -> VkResult {
        guard let ranges, count > 0 else {
            return flush ? real.flushMappedMemoryRanges(device, count, ranges)
                : real.invalidateMappedMemoryRanges(device, count, ranges)
        }
        let function = flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges"
        let atom = presented.limits.nonCoherentAtomSize
        var widened = Array(UnsafeBufferPointer(start: ranges, count: Int(count)))
        state.withLock { state in
            state.syncCalls += 1
            for index in widened.indices {
                let range = widened[index]
                guard let record = state.memories[key(range.memory)] else { continue }
                if flush { state.flushes[record.typeIndex] += 1 } else { state.invalidates[record.typeIndex] += 1 }
                if range.offset % atom != 0 {
                    state.violations.append("\(function): offset \(range.offset) is not a multiple of the profile's "
                                            + "nonCoherentAtomSize \(atom) (VUID-VkMappedMemoryRange-offset-00687)")
                }
                if range.size != VK_WHOLE_SIZE, range.size % atom != 0, range.offset + range.size != record.size {
                    state.violations.append("\(function): size \(range.size) at \(range.offset) is neither a multiple "
                                            + "of \(atom) nor reaches the end (\(record.size)) "
                                            + "(VUID-VkMappedMemoryRange-size-01390)")
                }
                // lavapipe's atom may be coarser than the profile's.
                let start = range.offset / realAtom * realAtom
                widened[index].offset = start
                if range.size != VK_WHOLE_SIZE {
                    let end = range.offset + range.size
                    let rounded = (end + realAtom - 1) / realAtom * realAtom
                    widened[index].size = min(rounded, record.size) - start
                }
            }
        }
        return widened.withUnsafeBufferPointer {
            flush ? real.flushMappedMemoryRanges(device, count, $0.baseAddress)
                : real.invalidateMappedMemoryRanges(device, count, $0.baseAddress)
        }
    }

    // MARK: Resource calls

    private func createBuffer(_ device: VkDevice?, _ info: UnsafePointer<VkBufferCreateInfo>?,
                              _ callbacks: UnsafePointer<VkAllocationCallbacks>?,
                              _ buffer: UnsafeMutablePointer<VkBuffer?>?) -> VkResult {
        let result = real.createBuffer(device, info, callbacks, buffer)
        if result == VK_SUCCESS, let handle = buffer?.pointee {
            state.withLock { _ = $0.buffers.insert(key(handle)) }
        }
        return result
    }

    private func destroyBuffer(_ device: VkDevice?, _ buffer: VkBuffer?, _ callbacks: UnsafePointer<VkAllocationCallbacks>?) {
        if let buffer {
            state.withLock { state in
                state.buffers.remove(key(buffer))
                state.bindings[key(buffer)] = nil
            }
        }
        real.destroyBuffer(device, buffer, callbacks)
    }

    private func createImage(_ device: VkDevice?, _ info: UnsafePointer<VkImageCreateInfo>?,
                             _ callbacks: UnsafePointer<VkAllocationCallbacks>?,
                             _ image: UnsafeMutablePointer<VkImage?>?) -> VkResult {
        let result = real.createImage(device, info, callbacks, image)
        if result == VK_SUCCESS, let handle = image?.pointee, let info {
            state.withLock { $0.images[key(handle)] = Self.traits(of: info.pointee) }
        }
        return result
    }

    private func destroyImage(_ device: VkDevice?, _ image: VkImage?, _ callbacks: UnsafePointer<VkAllocationCallbacks>?) {
        if let image {
            state.withLock { state in
                state.images[key(image)] = nil
                state.bindings[key(image)] = nil
            }
        }
        real.destroyImage(device, image, callbacks)
    }

    private func bufferRequirements(_ device: VkDevice?, _ buffer: VkBuffer?) -> VkMemoryRequirements {
        var requirements = VkMemoryRequirements()
        real.getBufferMemoryRequirements(device, buffer, &requirements)
        presentBuffer(&requirements)
        return requirements
    }

    private func imageRequirements(_ device: VkDevice?, _ image: VkImage?) -> VkMemoryRequirements {
        var requirements = VkMemoryRequirements()
        real.getImageMemoryRequirements(device, image, &requirements)
        let traits = imageTraits(image)
        presentImage(&requirements, optimal: traits.optimal, transient: traits.transient)
        return requirements
    }

    /// Checks one binding against the presented requirements and the memory's other
    /// bindings; returns the binding to record, or nil when the memory is unknown.
    private func check(_ requirements: VkMemoryRequirements, resource: UInt, label: String, optimal: Bool,
                       memory: VkDeviceMemory?, offset: UInt64, function: String) -> Binding? {
        state.withLock { state in
            guard let record = state.memories[key(memory)] else { return nil }
            var problems: [String] = []
            if requirements.memoryTypeBits & (1 << UInt32(record.typeIndex)) == 0 {
                problems.append("memory type \(record.typeIndex) is not in memoryTypeBits "
                                + "0x\(String(requirements.memoryTypeBits, radix: 16))")
            }
            if offset % max(requirements.alignment, 1) != 0 {
                problems.append("offset \(offset) is not a multiple of the alignment \(requirements.alignment)")
            }
            if offset > record.size || requirements.size > record.size - offset {
                problems.append("\(requirements.size) bytes at \(offset) do not fit in \(record.size)")
            }
            let binding = Binding(memory: key(memory), offset: offset, size: requirements.size, optimal: optimal,
                                  label: label)
            let granularity = max(presented.limits.bufferImageGranularity, 1)
            for (other, existing) in state.bindings where existing.memory == binding.memory && other != resource {
                let (low, high) = existing.offset <= binding.offset ? (existing, binding) : (binding, existing)
                if low.offset + low.size > high.offset {
                    problems.append("\(binding.label) [\(binding.offset), +\(binding.size)) overlaps live "
                                    + "\(existing.label) [\(existing.offset), +\(existing.size))")
                } else if low.optimal != high.optimal, granularity > 1,
                          (low.offset + low.size - 1) / granularity == high.offset / granularity {
                    problems.append("\(binding.label) at \(binding.offset) and \(existing.label) at "
                                    + "\(existing.offset) (one linear, one optimal) share a "
                                    + "bufferImageGranularity page of \(granularity) bytes")
                }
            }
            for problem in problems { state.violations.append("\(function): \(problem)") }
            return binding
        }
    }

    private func bindBuffer(_ device: VkDevice?, _ buffer: VkBuffer?, _ memory: VkDeviceMemory?,
                            _ offset: VkDeviceSize) -> VkResult {
        let binding = check(bufferRequirements(device, buffer), resource: key(buffer), label: "buffer", optimal: false,
                            memory: memory, offset: offset, function: "vkBindBufferMemory")
        let result = real.bindBufferMemory(device, buffer, memory, offset)
        if result == VK_SUCCESS, let binding { state.withLock { $0.bindings[key(buffer)] = binding } }
        return result
    }

    private func bindImage(_ device: VkDevice?, _ image: VkImage?, _ memory: VkDeviceMemory?,
                           _ offset: VkDeviceSize) -> VkResult {
        let optimal = imageTraits(image).optimal
        let binding = check(imageRequirements(device, image), resource: key(image),
                            label: optimal ? "optimal image" : "linear image", optimal: optimal,
                            memory: memory, offset: offset, function: "vkBindImageMemory")
        let result = real.bindImageMemory(device, image, memory, offset)
        if result == VK_SUCCESS, let binding { state.withLock { $0.bindings[key(image)] = binding } }
        return result
    }

    private func bindBuffers(_ device: VkDevice?, _ count: UInt32, _ infos: UnsafePointer<VkBindBufferMemoryInfo>?) -> VkResult {
        let list = infos.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
        let bindings = list.map {
            check(bufferRequirements(device, $0.buffer), resource: key($0.buffer), label: "buffer", optimal: false,
                  memory: $0.memory, offset: $0.memoryOffset, function: "vkBindBufferMemory2")
        }
        let result = real.bindBufferMemory2(device, count, infos)
        if result == VK_SUCCESS {
            state.withLock { state in
                for (info, binding) in zip(list, bindings) { if let binding { state.bindings[key(info.buffer)] = binding } }
            }
        }
        return result
    }

    private func bindImages(_ device: VkDevice?, _ count: UInt32, _ infos: UnsafePointer<VkBindImageMemoryInfo>?) -> VkResult {
        let list = infos.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
        let bindings = list.map { info in
            let optimal = imageTraits(info.image).optimal
            return check(imageRequirements(device, info.image), resource: key(info.image),
                         label: optimal ? "optimal image" : "linear image", optimal: optimal,
                         memory: info.memory, offset: info.memoryOffset, function: "vkBindImageMemory2")
        }
        let result = real.bindImageMemory2(device, count, infos)
        if result == VK_SUCCESS {
            state.withLock { state in
                for (info, binding) in zip(list, bindings) { if let binding { state.bindings[key(info.image)] = binding } }
            }
        }
        return result
    }

    // MARK: The interceptors

    /// The loader the wrapped `VulkanDevice` resolves everything through: an interceptor
    /// where there is one and the real function exists, the system loader's answer
    /// otherwise.
    static var getInstanceProcAddr: PFN_vkGetInstanceProcAddr {
        { instance, name in
            guard let name, let system = try? VulkanLoader.system(),
                  let realFunction = system.getInstanceProcAddr(instance, name) else { return nil }
            let text = String(cString: name)
            return ProfiledDevice.instanceInterceptor(text) ?? ProfiledDevice.deviceInterceptor(text) ?? realFunction
        }
    }

    /// Calls `body` with the `VkPhysicalDeviceMemoryBudgetPropertiesEXT` structures
    /// unlinked from `properties`' `pNext` chain, restores the chain, and returns them.
    private static func withoutBudgetStructures(_ properties: UnsafeMutablePointer<VkPhysicalDeviceMemoryProperties2>,
                                                _ body: () -> Void) -> [UnsafeMutableRawPointer] {
        // Every chained structure starts with sType and pNext, as VkBaseOutStructure does.
        let pNextOffset = MemoryLayout<VkBaseOutStructure>.offset(of: \VkBaseOutStructure.pNext)!
        func nextOf(_ node: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
            node.load(fromByteOffset: pNextOffset, as: UnsafeMutableRawPointer?.self)
        }
        var chain: [UnsafeMutableRawPointer] = []
        var next = properties.pointee.pNext
        while let node = next {
            chain.append(node)
            next = nextOf(node)
        }
        let isBudget = { (node: UnsafeMutableRawPointer) in
            node.load(as: VkStructureType.self) == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT
        }
        let budgets = chain.filter(isBudget)
        guard !budgets.isEmpty else {
            body()
            return []
        }
        let original = chain.map(nextOf)
        let head = properties.pointee.pNext
        let kept = chain.filter { !isBudget($0) }
        properties.pointee.pNext = kept.first
        for (position, node) in kept.enumerated() {
            node.storeBytes(of: position + 1 < kept.count ? kept[position + 1] : nil, toByteOffset: pNextOffset,
                            as: UnsafeMutableRawPointer?.self)
        }
        body()
        properties.pointee.pNext = head
        for (node, next) in zip(chain, original) {
            node.storeBytes(of: next, toByteOffset: pNextOffset, as: UnsafeMutableRawPointer?.self)
        }
        return budgets
    }

    private static func erase<F>(_ function: F) -> PFN_vkVoidFunction {
        unsafeBitCast(function, to: PFN_vkVoidFunction.self)
    }

    private static func instanceInterceptor(_ name: String) -> PFN_vkVoidFunction? {
        switch name {
        case "vkGetInstanceProcAddr":
            return erase(getInstanceProcAddr)
        case "vkGetDeviceProcAddr":
            return erase(getDeviceProcAddr)
        case "vkGetPhysicalDeviceMemoryProperties":
            let function: PFN_vkGetPhysicalDeviceMemoryProperties = { physicalDevice, properties in
                guard let properties else { return }
                ProfiledDevice.registered(physicalDevice, "vkGetPhysicalDeviceMemoryProperties").present(&properties.pointee)
            }
            return erase(function)
        case "vkGetPhysicalDeviceMemoryProperties2", "vkGetPhysicalDeviceMemoryProperties2KHR":
            let function: PFN_vkGetPhysicalDeviceMemoryProperties2 = { physicalDevice, properties in
                let profiled = ProfiledDevice.registered(physicalDevice, "vkGetPhysicalDeviceMemoryProperties2")
                guard let properties else { return }
                // lavapipe may not offer VK_EXT_memory_budget: its structures are answered
                // here and unlinked from the chain lavapipe and the validation layer see.
                let budgets = ProfiledDevice.withoutBudgetStructures(properties) {
                    profiled.real.getPhysicalDeviceMemoryProperties2(physicalDevice, properties)
                }
                profiled.present(&properties.pointee.memoryProperties)
                for budget in budgets {
                    profiled.present(&budget.assumingMemoryBound(to: VkPhysicalDeviceMemoryBudgetPropertiesEXT.self).pointee)
                }
            }
            return erase(function)
        case "vkGetPhysicalDeviceProperties":
            let function: PFN_vkGetPhysicalDeviceProperties = { physicalDevice, properties in
                let profiled = ProfiledDevice.registered(physicalDevice, "vkGetPhysicalDeviceProperties")
                guard let properties else { return }
                profiled.real.getPhysicalDeviceProperties(physicalDevice, properties)
                profiled.present(&properties.pointee)
            }
            return erase(function)
        case "vkGetPhysicalDeviceProperties2", "vkGetPhysicalDeviceProperties2KHR":
            let function: PFN_vkGetPhysicalDeviceProperties2 = { physicalDevice, properties in
                let profiled = ProfiledDevice.registered(physicalDevice, "vkGetPhysicalDeviceProperties2")
                guard let properties else { return }
                profiled.real.getPhysicalDeviceProperties2(physicalDevice, properties)
                profiled.present(&properties.pointee.properties)
            }
            return erase(function)
        default:
            return nil
        }
    }

    private static var getDeviceProcAddr: PFN_vkGetDeviceProcAddr {
        { device, name in
            guard let name else { return nil }
            let profiled = ProfiledDevice.registered(device, "vkGetDeviceProcAddr")
            guard let realFunction = profiled.real.getDeviceProcAddr(device, name) else { return nil }
            return ProfiledDevice.deviceInterceptor(String(cString: name)) ?? realFunction
        }
    }

    private static func deviceInterceptor(_ name: String) -> PFN_vkVoidFunction? {
        switch name {
        case "vkGetDeviceProcAddr":
            return erase(getDeviceProcAddr)
        case "vkAllocateMemory":
            let function: PFN_vkAllocateMemory = { device, info, callbacks, memory in
                ProfiledDevice.registered(device, "vkAllocateMemory").allocateMemory(device, info, callbacks, memory)
            }
            return erase(function)
        case "vkFreeMemory":
            let function: PFN_vkFreeMemory = { device, memory, callbacks in
                ProfiledDevice.registered(device, "vkFreeMemory").freeMemory(device, memory, callbacks)
            }
            return erase(function)
        case "vkMapMemory":
            let function: PFN_vkMapMemory = { device, memory, offset, size, flags, data in
                ProfiledDevice.registered(device, "vkMapMemory").mapMemory(device, memory, offset, size, flags, data)
            }
            return erase(function)
        case "vkFlushMappedMemoryRanges":
            let function: PFN_vkFlushMappedMemoryRanges = { device, count, ranges in
                ProfiledDevice.registered(device, "vkFlushMappedMemoryRanges").syncRanges(device, count, ranges, flush: true)
            }
            return erase(function)
        case "vkInvalidateMappedMemoryRanges":
            let function: PFN_vkInvalidateMappedMemoryRanges = { device, count, ranges in
                ProfiledDevice.registered(device, "vkInvalidateMappedMemoryRanges").syncRanges(device, count, ranges, flush: false)
            }
            return erase(function)
        case "vkCreateBuffer":
            let function: PFN_vkCreateBuffer = { device, info, callbacks, buffer in
                ProfiledDevice.registered(device, "vkCreateBuffer").createBuffer(device, info, callbacks, buffer)
            }
            return erase(function)
        case "vkDestroyBuffer":
            let function: PFN_vkDestroyBuffer = { device, buffer, callbacks in
                ProfiledDevice.registered(device, "vkDestroyBuffer").destroyBuffer(device, buffer, callbacks)
            }
            return erase(function)
        case "vkCreateImage":
            let function: PFN_vkCreateImage = { device, info, callbacks, image in
                ProfiledDevice.registered(device, "vkCreateImage").createImage(device, info, callbacks, image)
            }
            return erase(function)
        case "vkDestroyImage":
            let function: PFN_vkDestroyImage = { device, image, callbacks in
                ProfiledDevice.registered(device, "vkDestroyImage").destroyImage(device, image, callbacks)
            }
            return erase(function)
        case "vkGetBufferMemoryRequirements":
            let function: PFN_vkGetBufferMemoryRequirements = { device, buffer, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetBufferMemoryRequirements")
                requirements?.pointee = profiled.bufferRequirements(device, buffer)
            }
            return erase(function)
        case "vkGetImageMemoryRequirements":
            let function: PFN_vkGetImageMemoryRequirements = { device, image, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetImageMemoryRequirements")
                requirements?.pointee = profiled.imageRequirements(device, image)
            }
            return erase(function)
        case "vkGetBufferMemoryRequirements2", "vkGetBufferMemoryRequirements2KHR":
            let function: PFN_vkGetBufferMemoryRequirements2 = { device, info, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetBufferMemoryRequirements2")
                profiled.real.getBufferMemoryRequirements2(device, info, requirements)
                if let requirements { profiled.presentBuffer(&requirements.pointee.memoryRequirements) }
            }
            return erase(function)
        case "vkGetImageMemoryRequirements2", "vkGetImageMemoryRequirements2KHR":
            let function: PFN_vkGetImageMemoryRequirements2 = { device, info, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetImageMemoryRequirements2")
                profiled.real.getImageMemoryRequirements2(device, info, requirements)
                if let requirements {
                    let traits = profiled.imageTraits(info?.pointee.image)
                    profiled.presentImage(&requirements.pointee.memoryRequirements, optimal: traits.optimal,
                                          transient: traits.transient)
                }
            }
            return erase(function)
        case "vkGetDeviceBufferMemoryRequirements", "vkGetDeviceBufferMemoryRequirementsKHR":
            let function: PFN_vkGetDeviceBufferMemoryRequirements = { device, info, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetDeviceBufferMemoryRequirements")
                guard let real = profiled.real.getDeviceBufferMemoryRequirements else { return }
                real(device, info, requirements)
                if let requirements { profiled.presentBuffer(&requirements.pointee.memoryRequirements) }
            }
            return erase(function)
        case "vkGetDeviceImageMemoryRequirements", "vkGetDeviceImageMemoryRequirementsKHR":
            let function: PFN_vkGetDeviceImageMemoryRequirements = { device, info, requirements in
                let profiled = ProfiledDevice.registered(device, "vkGetDeviceImageMemoryRequirements")
                guard let real = profiled.real.getDeviceImageMemoryRequirements else { return }
                real(device, info, requirements)
                if let requirements, let create = info?.pointee.pCreateInfo?.pointee {
                    let traits = ProfiledDevice.traits(of: create)
                    profiled.presentImage(&requirements.pointee.memoryRequirements, optimal: traits.optimal,
                                          transient: traits.transient)
                }
            }
            return erase(function)
        case "vkAllocateCommandBuffers":
            let function: PFN_vkAllocateCommandBuffers = { device, info, commandBuffers in
                let profiled = ProfiledDevice.registered(device, "vkAllocateCommandBuffers")
                if profiled.failsCommand(.allocateCommandBuffers) { return VK_ERROR_OUT_OF_DEVICE_MEMORY }
                return profiled.real.allocateCommandBuffers(device, info, commandBuffers)
            }
            return erase(function)
        case "vkCreateFence":
            let function: PFN_vkCreateFence = { device, info, callbacks, fence in
                let profiled = ProfiledDevice.registered(device, "vkCreateFence")
                if profiled.failsCommand(.createFence) { return VK_ERROR_OUT_OF_DEVICE_MEMORY }
                return profiled.real.createFence(device, info, callbacks, fence)
            }
            return erase(function)
        case "vkQueueSubmit":
            let function: PFN_vkQueueSubmit = { queue, count, submits, fence in
                let profiled = ProfiledDevice.registered(queue, "vkQueueSubmit")
                if profiled.failsCommand(.queueSubmit) { return VK_ERROR_OUT_OF_DEVICE_MEMORY }
                return profiled.real.queueSubmit(queue, count, submits, fence)
            }
            return erase(function)
        case "vkBindBufferMemory":
            let function: PFN_vkBindBufferMemory = { device, buffer, memory, offset in
                ProfiledDevice.registered(device, "vkBindBufferMemory").bindBuffer(device, buffer, memory, offset)
            }
            return erase(function)
        case "vkBindImageMemory":
            let function: PFN_vkBindImageMemory = { device, image, memory, offset in
                ProfiledDevice.registered(device, "vkBindImageMemory").bindImage(device, image, memory, offset)
            }
            return erase(function)
        case "vkBindBufferMemory2", "vkBindBufferMemory2KHR":
            let function: PFN_vkBindBufferMemory2 = { device, count, infos in
                ProfiledDevice.registered(device, "vkBindBufferMemory2").bindBuffers(device, count, infos)
            }
            return erase(function)
        case "vkBindImageMemory2", "vkBindImageMemory2KHR":
            let function: PFN_vkBindImageMemory2 = { device, count, infos in
                ProfiledDevice.registered(device, "vkBindImageMemory2").bindImages(device, count, infos)
            }
            return erase(function)
        default:
            return nil
        }
    }
}

/// The real functions the interceptors forward to, resolved through the system loader
/// (so the validation layer is in the chain).
private struct RealFunctions: @unchecked Sendable {
    let getDeviceProcAddr: PFN_vkGetDeviceProcAddr
    let getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
    let getPhysicalDeviceMemoryProperties2: PFN_vkGetPhysicalDeviceMemoryProperties2
    let getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties
    let getPhysicalDeviceProperties2: PFN_vkGetPhysicalDeviceProperties2
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let mapMemory: PFN_vkMapMemory
    let flushMappedMemoryRanges: PFN_vkFlushMappedMemoryRanges
    let invalidateMappedMemoryRanges: PFN_vkInvalidateMappedMemoryRanges
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let createImage: PFN_vkCreateImage
    let destroyImage: PFN_vkDestroyImage
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let getImageMemoryRequirements: PFN_vkGetImageMemoryRequirements
    let getBufferMemoryRequirements2: PFN_vkGetBufferMemoryRequirements2
    let getImageMemoryRequirements2: PFN_vkGetImageMemoryRequirements2
    let getDeviceBufferMemoryRequirements: PFN_vkGetDeviceBufferMemoryRequirements?
    let getDeviceImageMemoryRequirements: PFN_vkGetDeviceImageMemoryRequirements?
    let bindBufferMemory: PFN_vkBindBufferMemory
    let bindImageMemory: PFN_vkBindImageMemory
    let bindBufferMemory2: PFN_vkBindBufferMemory2
    let bindImageMemory2: PFN_vkBindImageMemory2
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let createFence: PFN_vkCreateFence
    let queueSubmit: PFN_vkQueueSubmit

    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "the profiled device found no \(name)" }
    }

    init(instance: VkInstance, device: VkDevice) throws {
        let system = try VulkanLoader.system()
        func instanceLevel<F>(_ name: String, _: F.Type) throws -> F {
            guard let pointer = system.getInstanceProcAddr(instance, name) else { throw Missing(name: name) }
            return unsafeBitCast(pointer, to: F.self)
        }
        let getDeviceProcAddr = try instanceLevel("vkGetDeviceProcAddr", PFN_vkGetDeviceProcAddr.self)
        func optional<F>(_ name: String, _: F.Type) -> F? {
            getDeviceProcAddr(device, name).map { unsafeBitCast($0, to: F.self) }
        }
        func deviceLevel<F>(_ name: String, _ type: F.Type) throws -> F {
            guard let function = optional(name, type) else { throw Missing(name: name) }
            return function
        }
        self.getDeviceProcAddr = getDeviceProcAddr
        getPhysicalDeviceMemoryProperties = try instanceLevel("vkGetPhysicalDeviceMemoryProperties",
                                                              PFN_vkGetPhysicalDeviceMemoryProperties.self)
        getPhysicalDeviceMemoryProperties2 = try instanceLevel("vkGetPhysicalDeviceMemoryProperties2",
                                                               PFN_vkGetPhysicalDeviceMemoryProperties2.self)
        getPhysicalDeviceProperties = try instanceLevel("vkGetPhysicalDeviceProperties",
                                                        PFN_vkGetPhysicalDeviceProperties.self)
        getPhysicalDeviceProperties2 = try instanceLevel("vkGetPhysicalDeviceProperties2",
                                                         PFN_vkGetPhysicalDeviceProperties2.self)
        allocateMemory = try deviceLevel("vkAllocateMemory", PFN_vkAllocateMemory.self)
        freeMemory = try deviceLevel("vkFreeMemory", PFN_vkFreeMemory.self)
        mapMemory = try deviceLevel("vkMapMemory", PFN_vkMapMemory.self)
        flushMappedMemoryRanges = try deviceLevel("vkFlushMappedMemoryRanges", PFN_vkFlushMappedMemoryRanges.self)
        invalidateMappedMemoryRanges = try deviceLevel("vkInvalidateMappedMemoryRanges",
                                                       PFN_vkInvalidateMappedMemoryRanges.self)
        createBuffer = try deviceLevel("vkCreateBuffer", PFN_vkCreateBuffer.self)
        destroyBuffer = try deviceLevel("vkDestroyBuffer", PFN_vkDestroyBuffer.self)
        createImage = try deviceLevel("vkCreateImage", PFN_vkCreateImage.self)
        destroyImage = try deviceLevel("vkDestroyImage", PFN_vkDestroyImage.self)
        getBufferMemoryRequirements = try deviceLevel("vkGetBufferMemoryRequirements",
                                                      PFN_vkGetBufferMemoryRequirements.self)
        getImageMemoryRequirements = try deviceLevel("vkGetImageMemoryRequirements",
                                                     PFN_vkGetImageMemoryRequirements.self)
        getBufferMemoryRequirements2 = try deviceLevel("vkGetBufferMemoryRequirements2",
                                                       PFN_vkGetBufferMemoryRequirements2.self)
        getImageMemoryRequirements2 = try deviceLevel("vkGetImageMemoryRequirements2",
                                                      PFN_vkGetImageMemoryRequirements2.self)
        getDeviceBufferMemoryRequirements = optional("vkGetDeviceBufferMemoryRequirements",
                                                     PFN_vkGetDeviceBufferMemoryRequirements.self)
        getDeviceImageMemoryRequirements = optional("vkGetDeviceImageMemoryRequirements",
                                                    PFN_vkGetDeviceImageMemoryRequirements.self)
        bindBufferMemory = try deviceLevel("vkBindBufferMemory", PFN_vkBindBufferMemory.self)
        bindImageMemory = try deviceLevel("vkBindImageMemory", PFN_vkBindImageMemory.self)
        bindBufferMemory2 = try deviceLevel("vkBindBufferMemory2", PFN_vkBindBufferMemory2.self)
        bindImageMemory2 = try deviceLevel("vkBindImageMemory2", PFN_vkBindImageMemory2.self)
        allocateCommandBuffers = try deviceLevel("vkAllocateCommandBuffers", PFN_vkAllocateCommandBuffers.self)
        createFence = try deviceLevel("vkCreateFence", PFN_vkCreateFence.self)
        queueSubmit = try deviceLevel("vkQueueSubmit", PFN_vkQueueSubmit.self)
    }
}

/// Whether lavapipe is installed: the profiled device presents a profile over it. The GPU
/// machine has no Mesa, and there the profiled tests say they were skipped.
let lavapipePresent: Bool = {
    guard let devices = try? VulkanContext.availableDevices() else { return false }
    return devices.contains { $0.name.contains("llvmpipe") }
}()

/// The trait of a test or suite that runs on profiled devices.
let needsLavapipe = Testing.ConditionTrait.enabled(
    if: lavapipePresent, "skipped: profiled devices run over lavapipe, which is not installed here")

