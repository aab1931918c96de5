import CVulkan
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Records an allocator's calls in VMA's call-recording format (CSV, 1,8), so that a
/// session can be read back with `VMARecording` and replayed (`Allocator.replay(_:)`,
/// `vkmem replay`) on this or any other device, or by VMA 2.x's own replay tool.
///
/// Give one to one allocator through `AllocatorOptions.recorder`. It writes the device
/// and, for each successful call, one line: `allocate` (as `vmaAllocateMemory`, or
/// `vmaAllocateMemoryForBuffer`/`…ForImage` when the requirements say a linear or an
/// optimal resource), `free`, `createBuffer`, `createImage`, `destroyBuffer`,
/// `destroyImage`, `map`, and `setName`/`setUserData` (as `vmaSetAllocationUserData`);
/// and `vmaDestroyAllocator` when the allocator goes away.
/// A bulk bind (`ResourceBatch`) is recorded as one `vmaCreateBuffer` or `vmaCreateImage`
/// a resource, whatever its strategy (VMA had no bulk binds). The resources made `boundTo:`
/// an allocation and allocations in custom pools are not recorded, nor is anything done
/// later to an allocation the recording did not create: it only names allocations it
/// created. A committed defragmentation pass freeing a recorded allocation reads as its
/// destroy or free, VMA 2.x having no defragmentation moves.
///
/// It is an `AllocationObserver`: the allocator reports to it as to any other observer.
///
/// Thread safety: any thread may record; lines are written whole, in the order their
/// calls finished, under one lock. Recording is a debugging aid: that lock is taken on
/// every recorded call.
public final class CallRecorder: @unchecked Sendable {
    private struct State {
        var file: UnsafeMutablePointer<FILE>?
        var text = ""
        /// The `Allocator.id` of the allocator recorded; nil before one began.
        var recorded: UInt64?
        /// The function each live handle was created by, to free it as VMA would.
        var creators: [String: String] = [:]
        var start = ContinuousClock.now
        /// Handles of the allocations the recording created and has not released: a
        /// destroy, free or map of any other (a bulk-bound resource, a defragmentation
        /// destination) is left out, so the recording never names a handle it did not make.
        var live: Set<String> = []
    }

    private let state: Locked<State>
    /// The file written to; nil for a recorder that keeps its text in memory.
    public let path: String?

    /// A recorder that writes to `path` (created or truncated), flushing every line so
    /// that a crash loses nothing already recorded.
    /// - Throws: `VMARecordingError.unwritable` when the file cannot be opened.
    public init(path: String) throws(VMARecordingError) {
        guard let file = fopen(path, "w") else {
            throw .unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        state = Locked(State(file: file))
    }

    /// A recorder that keeps the recording in memory (`text`).
    public init() {
        path = nil
        state = Locked(State())
    }

    deinit {
        state.withLock { state in
            if let file = state.file { fclose(file) }
            state.file = nil
        }
    }

    /// The recording so far, for an in-memory recorder; empty for one writing a file.
    public var text: String { state.withLock { $0.text } }

    /// Writes the header, the device's `Config` section and `vmaCreateAllocator`, and
    /// takes `allocator` as the one it records. Only the first allocator given this
    /// recorder is recorded.
    func begin(allocator: UInt64, device: VulkanDevice, properties: MemoryProperties) -> Bool {
        let info = device.info
        var lines = ["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin",
                     "VulkanApiVersion,\(device.apiVersion.major),\(device.apiVersion.minor)",
                     "PhysicalDevice,apiVersion,\(info.apiVersion.rawValue)",
                     "PhysicalDevice,driverVersion,\(info.driverVersion)",
                     "PhysicalDevice,vendorID,\(info.vendorID)",
                     "PhysicalDevice,deviceID,\(info.deviceID)",
                     "PhysicalDevice,deviceType,\(CallRecorder.vulkanDeviceType(info.type))",
                     "PhysicalDevice,deviceName,\(info.name)",
                     "PhysicalDeviceLimits,maxMemoryAllocationCount,\(properties.limits.maxMemoryAllocationCount)",
                     "PhysicalDeviceLimits,bufferImageGranularity,\(properties.limits.bufferImageGranularity)",
                     "PhysicalDeviceLimits,nonCoherentAtomSize,\(properties.limits.nonCoherentAtomSize)",
                     "PhysicalDeviceMemory,HeapCount,\(properties.heaps.count)"]
        for heap in properties.heaps {
            lines.append("PhysicalDeviceMemory,Heap,\(heap.index),size,\(heap.size)")
            lines.append("PhysicalDeviceMemory,Heap,\(heap.index),flags,\(heap.flags.rawValue)")
        }
        lines.append("PhysicalDeviceMemory,TypeCount,\(properties.types.count)")
        for type in properties.types {
            lines.append("PhysicalDeviceMemory,Type,\(type.index),heapIndex,\(type.heapIndex)")
            lines.append("PhysicalDeviceMemory,Type,\(type.index),propertyFlags,\(type.flags.rawValue)")
        }
        lines.append("Config,End")
        return state.withLock { state in
            guard state.recorded == nil else { return false }
            state.recorded = allocator
            state.start = ContinuousClock.now
            CallRecorder.write(lines.joined(separator: "\n") + "\n", to: &state)
            CallRecorder.write(CallRecorder.line("vmaCreateAllocator", [], since: state.start), to: &state)
            return true
        }
    }

    /// Records a call that creates `handle` (its last parameters are the handle and the
    /// user data, as VMA printed them).
    func recordCreation(_ function: String, _ parameters: [String], handle: String) {
        state.withLock { state in
            state.live.insert(handle)
            state.creators[handle] = function
            CallRecorder.write(CallRecorder.line(function, parameters, since: state.start), to: &state)
        }
    }

    /// Records a call that destroys or frees `handle`, if the recording created it.
    func recordRelease(_ function: String, handle: String) {
        state.withLock { state in
            guard state.live.remove(handle) != nil else { return }
            state.creators[handle] = nil
            CallRecorder.write(CallRecorder.line(function, [handle], since: state.start), to: &state)
        }
    }

    /// Records the release of `handle` with the call that undoes the one that created it
    /// (`vmaDestroyBuffer`, `vmaDestroyImage` or `vmaFreeMemory`), if the recording
    /// created it: how a defragmentation pass's freeing of a moved resource's memory reads
    /// in a format that has no defragmentation.
    func recordReleaseAsCreated(handle: String) {
        let function: String? = state.withLock { state in
            switch state.creators[handle] {
            case nil: return nil
            case "vmaCreateBuffer": return "vmaDestroyBuffer"
            case "vmaCreateImage": return "vmaDestroyImage"
            default: return "vmaFreeMemory"
            }
        }
        if let function { recordRelease(function, handle: handle) }
    }

    /// Whether `allocator` is the allocator this recorder records.
    func records(_ allocator: UInt64) -> Bool { state.withLock { $0.recorded == allocator } }

    /// Records a call on `handle` (a map, a change of user data) with `parameters` after
    /// the handle, if the recording created it.
    func recordUse(_ function: String, handle: String, _ parameters: [String] = []) {
        state.withLock { state in
            guard state.live.contains(handle) else { return }
            CallRecorder.write(CallRecorder.line(function, [handle] + parameters, since: state.start), to: &state)
        }
    }

    /// Records a call with no handle (`vmaDestroyAllocator`).
    func record(_ function: String) {
        state.withLock { state in
            CallRecorder.write(CallRecorder.line(function, [], since: state.start), to: &state)
        }
    }

    private static func line(_ function: String, _ parameters: [String], since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let milliseconds = Int((seconds * 1000).rounded())
        let time = "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - String(milliseconds % 1000).count))\(milliseconds % 1000)"
        return ([String(threadID()), time, "0", function] + parameters).joined(separator: ",") + "\n"
    }

    private static func write(_ text: String, to state: inout State) {
        if let file = state.file {
            fputs(text, file)
            fflush(file)
        } else {
            state.text += text
        }
    }

    /// A number for the calling thread, where VMA printed `GetCurrentThreadId()`: the
    /// thread's `pthread_t` folded to 32 bits (distinct threads get distinct numbers in
    /// practice; the replay only groups calls by it).
    private static func threadID() -> UInt32 {
        #if canImport(Darwin)
        let value = UInt64(UInt(bitPattern: pthread_self()))
        #else
        let value = UInt64(pthread_self())
        #endif
        return UInt32(truncatingIfNeeded: value ^ value >> 32)
    }

    /// `VkPhysicalDeviceType`'s value for a device type.
    private static func vulkanDeviceType(_ type: PhysicalDeviceType) -> UInt32 {
        switch type {
        case .other: return VK_PHYSICAL_DEVICE_TYPE_OTHER.rawValue
        case .integratedGPU: return VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU.rawValue
        case .discreteGPU: return VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU.rawValue
        case .virtualGPU: return VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU.rawValue
        case .cpu: return VK_PHYSICAL_DEVICE_TYPE_CPU.rawValue
        }
    }
}

extension CallRecorder {
    /// The handle an allocation is recorded under: 16 hex digits, unique among the live
    /// allocations of one allocator (memory type, kind of location, slot, generation).
    static func handle(of allocation: Allocation) -> String {
        let type = UInt64(allocation.memoryTypeIndex & 0x3F) << 58
        let value: UInt64
        switch allocation.location {
        case let .page(slot, _, handle):
            // The pool's number (0: the type's own pages), then the arena's handle: unique
            // among the live allocations of one pool.
            value = type | UInt64(slot >> MemoryTypePool.slotTagShift & 0xFFF) << 44 | UInt64(handle.index) << 12
                | UInt64(handle.generation & 0xFFF)
        case let .dedicated(slot, generation):
            value = type | 1 << 56 | UInt64(slot) << 24 | UInt64(generation & 0xFF_FFFF)
        case let .member(slot, generation, index):
            // 20 bits each of slot and member index, 16 of generation: a million groups of
            // a million members before two live members could share a handle.
            value = type | 2 << 56 | UInt64(slot & 0xF_FFFF) << 36 | UInt64(index & 0xF_FFFF) << 16
                | UInt64(generation & 0xFFFF)
        }
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A request and options as VMA 2.x's `VmaAllocationCreateInfo` fields (flags,
    /// usage, requiredFlags, preferredFlags, memoryTypeBits, pool) and user data. Intents
    /// become VMA's usages; `notPreferred` flags and `.never` dedicated have no VMA 2.x
    /// counterpart and are left out.
    static func allocationCreateInfo(_ request: MemoryRequest, _ options: AllocationOptions) -> (fields: [String], userData: String) {
        var flags: UInt32 = 0
        if options.dedicated == .always { flags |= 0x1 }
        if options.mapped { flags |= 0x4 }
        if options.name != nil { flags |= 0x20 }
        // VMA 2.x's NEVER_ALLOCATE and WITHIN_BUDGET bits; the host-access bits came with
        // VMA 3, which records no calls.
        if options.neverAllocate { flags |= 0x2 }
        if options.withinBudget { flags |= 0x100 }
        let usage: UInt32
        var preferred = request.preferred
        switch request.usage {
        case nil: usage = 0
        case .gpuOnly: usage = 1
        case .staging: usage = 2
        case .dynamic: usage = 3
        case .readback: usage = 4
        case .transientAttachment:
            // VMA's own lazily allocated usage (6) requires the type and would fail on a
            // desktop GPU at replay; GPU only with the flag preferred chooses as this intent does.
            usage = 1
            preferred.insert(.lazilyAllocated)
        }
        let fields = [String(flags), String(usage), String(request.required.rawValue), String(preferred.rawValue),
                      String(request.memoryTypeBits == .max ? 0 : request.memoryTypeBits), "0000000000000000"]
        return (fields, userDataField(name: options.name, userData: options.userData))
    }

    /// The user data as VMA 2.x printed it, the last field of its line: the name when there
    /// is one (a copied string), else the value as a pointer's 16 hex digits, or nothing
    /// for 0.
    static func userDataField(name: String?, userData: UInt64) -> String {
        // A name may hold commas, never a line break or a NUL (which would end the line
        // early or glue the next call onto it).
        if let name { return name.escapingControlCharacters }
        guard userData != 0 else { return "" }
        let digits = String(userData, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
