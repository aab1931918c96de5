import CVulkan

/// What `Allocator.replay(_:)` did with a recording.
public struct ReplayReport: Sendable, Hashable, Codable {
    /// A recorded call that did not go as recorded, or was changed to run here.
    public struct Note: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The recording's line.
        public var line: Int
        /// The VMA function.
        public var function: String
        /// What happened, in words.
        public var reason: String

        /// `line N: function: reason`.
        public var description: String { "line \(line): \(function): \(reason)" }
    }

    /// A resource or allocation the recording created and never destroyed.
    public struct LeftAlive: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The line that created it.
        public var line: Int
        /// The function that created it.
        public var function: String
        /// Its name (VMA's string user data), if it had one.
        public var name: String?
        /// Bytes allocated for it here.
        public var size: UInt64

        /// `'name' size bytes, created at line N by function`.
        public var description: String {
            "\(name.map { "'\($0)'" } ?? "unnamed") \(size) bytes, created at line \(line) by \(function)"
        }
    }

    /// Calls in the recording.
    public var calls = 0
    /// Calls replayed, by VMA function.
    public var replayed: [String: Int] = [:]
    /// Calls this replay does not perform, by VMA function (custom pools, defragmentation,
    /// statistics queries…).
    public var notReplayed: [String: Int] = [:]
    /// Calls that failed here, with the allocator's error.
    public var failures: [Note] = []
    /// Calls replayed with a change: a custom pool replaced by the default pages,
    /// concurrent sharing replayed as exclusive (no queue families are recorded), a
    /// resource this device cannot create skipped.
    public var adjustments: [Note] = []
    /// What the recording left alive at its end; the replay frees it afterwards.
    public var leftAlive: [LeftAlive] = []
    /// The most `VkDeviceMemory` bytes the allocator held after any call.
    public var peakCommittedBytes: UInt64 = 0
    /// The most bytes in live allocations after any call.
    public var peakLiveBytes: UInt64 = 0
    /// `vkAllocateMemory` calls the allocator made during the replay.
    public var deviceMemoryAllocations = 0
    /// Nanoseconds spent in the allocator's create, allocate, destroy and free calls.
    public var nanoseconds: Double = 0
    /// Failures and adjustments beyond the first `maximumNotes` of each, counted and not
    /// kept: a recording of a million bad calls must not make a report of a million notes.
    public var omittedNotes = 0

    /// The most failures, and the most adjustments, a report keeps (1,000 each).
    public static let maximumNotes = 1_000
    /// The most distinct function names `notReplayed` keeps (100); the calls of further
    /// names are counted under `otherFunctions`.
    public static let maximumNotReplayedNames = 100
    /// The `notReplayed` key of the calls beyond `maximumNotReplayedNames` names.
    public static let otherFunctions = "(other functions)"
}

extension Allocator {
    /// Runs a VMA call recording through this allocator: every buffer and image it
    /// created is created here with the same create-info and an equivalent request,
    /// every raw allocation allocated, and each destroyed or freed where the recording
    /// did it. VMA's usages map to intents (GPU only → `.gpuOnly`, CPU only and CPU copy
    /// → `.staging`, CPU to GPU → `.dynamic`, GPU to CPU → `.readback`, lazily allocated
    /// → a required `LAZILY_ALLOCATED` type), its flags to options (dedicated, mapped,
    /// `neverAllocate`, `withinBudget`, the string user data as the name).
    ///
    /// A failing call is reported and the replay goes on. What the recording leaves
    /// alive is reported and then destroyed, so the allocator ends as it started.
    ///
    /// Thread safety: call from one thread; the allocator stays usable from others.
    /// - Complexity: O(calls × memory types), for the peak figures after each call.
    public func replay(_ recording: VMARecording) -> ReplayReport {
        var session = ReplaySession(allocator: self)
        let allocationsBefore = usage.deviceMemoryAllocations
        for call in recording.calls { step(&session, call) }
        return finish(&session, allocationsBefore: allocationsBefore)
    }

    /// `replay(_:)` of the recording in the file at `path`, run as the file is read: the
    /// calls of each 64 KiB chunk are replayed before the next is read, so memory holds
    /// one chunk, one line (at most `VMARecording.maximumLineLength` bytes), the report
    /// (at most `ReplayReport.maximumNotes` notes of each kind) and what the recording
    /// keeps alive, however long the file.
    ///
    /// - Parameters:
    ///   - path: the recording (VMA 2.x's calls-recording CSV, format 1,8).
    ///   - observe: sees each call as it is read, before it runs (`vkmem replay`
    ///     collects the distinct memory requests there), without the file being kept.
    /// - Returns: the report, and the device the recording was made on (its `Config`
    ///   section).
    /// - Throws: `VMARecordingError` when the file cannot be read or a line is malformed;
    ///   what the calls before it made is destroyed first, so the allocator is as before.
    public func replay(contentsOfFile path: String, observe: (VMARecording.Call) -> Void = { _ in })
        throws(VMARecordingError) -> (report: ReplayReport, recordedDevice: VMARecording.RecordedDevice) {
        try replay(contentsOfFile: path, observe: observe, beforeCleanup: {})
    }

    /// `replay(contentsOfFile:observe:)`, calling `beforeCleanup` after the recording's
    /// last call and before what it left alive is freed: a `TimelineRecorder` marks the
    /// leaks there, which the cleanup's frees would otherwise hide.
    func replay(contentsOfFile path: String, observe: (VMARecording.Call) -> Void, beforeCleanup: () -> Void)
        throws(VMARecordingError) -> (report: ReplayReport, recordedDevice: VMARecording.RecordedDevice) {
        var session = ReplaySession(allocator: self)
        let allocationsBefore = usage.deviceMemoryAllocations
        // The pages there were before: a file that breaks part-way leaves none of the
        // pages its calls made, although the empty-page policy would keep some.
        let pagesBefore = pageSnapshot()
        var parser = RecordingParser()
        let rest: VMARecording
        do throws(VMARecordingError) {
            try VMARecording.read(path) { (chunk) throws(VMARecordingError) in
                try parser.feed(chunk)
                for call in parser.takeCalls() {
                    observe(call)
                    step(&session, call)
                }
            }
            rest = try parser.finish()
        } catch {
            session.finish()
            releasePagesAdded(since: pagesBefore)
            throw error
        }
        for call in rest.calls {
            observe(call)
            step(&session, call)
        }
        beforeCleanup()
        return (finish(&session, allocationsBefore: allocationsBefore), rest.device)
    }

    /// Runs one call and updates the peak figures.
    private func step(_ session: inout ReplaySession, _ call: VMARecording.Call) {
        session.report.calls += 1
        session.run(call)
        let now = usage
        session.report.peakCommittedBytes = max(session.report.peakCommittedBytes, now.committedBytes)
        session.report.peakLiveBytes = max(session.report.peakLiveBytes, now.liveBytes)
    }

    /// Frees what the recording left alive and completes the report.
    private func finish(_ session: inout ReplaySession, allocationsBefore: Int) -> ReplayReport {
        session.finish()
        session.report.deviceMemoryAllocations = usage.deviceMemoryAllocations - allocationsBefore
        return session.report
    }
}

/// A replay in progress: the recording's handles mapped to what was made here.
private struct ReplaySession {
    enum Made {
        case buffer(BoundBuffer)
        case image(BoundImage)
        case memory(Allocation)

        var allocation: Allocation {
            switch self {
            case let .buffer(buffer): return buffer.allocation
            case let .image(image): return image.allocation
            case let .memory(allocation): return allocation
            }
        }
    }

    struct Entry {
        var made: Made
        var line: Int
        var function: String
        var name: String?
    }

    let allocator: Allocator
    var report = ReplayReport()
    var live: [String: Entry] = [:]

    init(allocator: Allocator) { self.allocator = allocator }

    mutating func run(_ call: VMARecording.Call) {
        let function = call.function.name
        // A local copy: the closures below run inside a mutating method.
        let allocator = self.allocator
        switch call.function {
        case .createAllocator, .destroyAllocator:
            // Markers of the recording's span; this allocator already exists.
            replayed(function)
        case let .createBuffer(parameters, create, handle, userData):
            guard isFree(handle, call) else { return }
            let info = bufferInfo(parameters, call)
            make(call, create, handle: handle, userData: userData) { (request, options) throws(AllocationError) in
                .buffer(try allocator.createBuffer(info, request, options: options))
            }
        case let .createImage(parameters, create, handle, userData):
            guard isFree(handle, call) else { return }
            guard let info = imageInfo(parameters, call) else { return }
            make(call, create, handle: handle, userData: userData) { (request, options) throws(AllocationError) in
                .image(try allocator.createImage(info, request, options: options))
            }
        case let .allocateMemory(_, memory, create, handle, userData):
            guard isFree(handle, call) else { return }
            let kind: SuballocationKind = function == "vmaAllocateMemoryForBuffer" ? .linear
                : function == "vmaAllocateMemoryForImage" ? .optimal : .unknown
            let requirements = MemoryRequirements(
                size: memory.size, alignment: memory.alignment,
                memoryTypeBits: memory.memoryTypeBits == 0 ? .max : memory.memoryTypeBits,
                prefersDedicated: memory.prefersDedicated, requiresDedicated: memory.requiresDedicated, kind: kind)
            make(call, create, handle: handle, userData: userData) { (request, options) throws(AllocationError) in
                .memory(try allocator.allocate(requirements, request, options: options))
            }
        case let .destroyBuffer(handle), let .destroyImage(handle), let .freeMemory(handle):
            destroy(handle, call)
        case let .setAllocationUserData(handle, userData):
            guard let entry = live[handle] else { return failed(call, "no live allocation has handle \(handle)") }
            // VMA's user data is the allocation's name here, as at creation: the
            // allocator's reports and the replay's own report of what is left alive
            // show the new one.
            let name = userData.isEmpty ? nil : userData
            do {
                try allocator.setName(name, of: entry.made.allocation)
                live[handle]?.name = name
                replayed(function)
            } catch {
                failed(call, error.description)
            }
        case let .mapMemory(handle):
            guard let entry = live[handle] else { return failed(call, "no live allocation has handle \(handle)") }
            do {
                _ = try allocator.map(entry.made.allocation)
                replayed(function)
            } catch {
                failed(call, error.description)
            }
        case let .unmapMemory(handle):
            // Pages stay mapped once mapped: unmapping an allocation is a no-op here.
            guard live[handle] != nil else { return failed(call, "no live allocation has handle \(handle)") }
            replayed(function)
        case .other:
            let key = report.notReplayed[function] != nil
                || report.notReplayed.count < ReplayReport.maximumNotReplayedNames ? function : ReplayReport.otherFunctions
            report.notReplayed[key, default: 0] += 1
        }
    }

    /// Creates through `make` with the request and options the recording's
    /// `VmaAllocationCreateInfo` translates to, timing the call.
    private mutating func make(_ call: VMARecording.Call, _ info: VMARecording.AllocationCreateInfo, handle: String,
                                 userData: String,
                                 _ body: (MemoryRequest, AllocationOptions) throws(AllocationError) -> Made) {
        let function = call.function.name
        guard let request = request(for: info, call) else { return }
        if info.usesPool { adjusted(call, "custom pool \(info.pool) replaced by the default pages") }
        let name = info.userDataIsString && !userData.isEmpty ? userData : nil
        // VMA_ALLOCATION_CREATE_NEVER_ALLOCATE_BIT (0x2) and _WITHIN_BUDGET_BIT (0x100) have
        // options of their own; VMA refuses DEDICATED_MEMORY with NEVER_ALLOCATE, and here
        // the dedicated wish is dropped instead.
        let neverAllocate = info.flags & 0x2 != 0
        let options = AllocationOptions(
            dedicated: info.wantsDedicatedMemory && !neverAllocate ? .always : .automatic, mapped: info.wantsMapping,
            name: name, userData: info.userDataIsString ? 0 : VMARecording.pointerValue(userData) ?? 0,
            neverAllocate: neverAllocate, withinBudget: info.flags & 0x100 != 0)
        let start = ContinuousClock.now
        do throws(AllocationError) {
            let made = try body(request, options)
            report.nanoseconds += elapsed(since: start)
            live[handle] = Entry(made: made, line: call.line, function: function, name: name)
            replayed(function)
        } catch {
            switch error {
            // A buffer or image this device cannot create was refused by the allocator's
            // own check before Vulkan saw it: the recording asks for what cannot be made
            // here, which is an adjustment, not a failure of the allocator.
            case .invalidCreateInfo,
                 .zeroSize where call.function.createsResource:
                adjusted(call, "skipped: \(error.description)")
            default:
                failed(call, error.description)
            }
        }
    }

    private mutating func destroy(_ handle: String, _ call: VMARecording.Call) {
        // Destroying or freeing null does nothing, in VMA as in Vulkan.
        if VMARecording.isNull(handle) { return replayed(call.function.name) }
        guard let entry = live.removeValue(forKey: handle) else {
            return failed(call, "no live allocation has handle \(handle)")
        }
        let start = ContinuousClock.now
        do {
            switch entry.made {
            case let .buffer(buffer): try allocator.destroyBuffer(buffer)
            case let .image(image): try allocator.destroyImage(image)
            case let .memory(allocation): try allocator.free(allocation)
            }
            report.nanoseconds += elapsed(since: start)
            replayed(call.function.name)
        } catch {
            // Still alive here: freed (or reported) at the end.
            live[handle] = entry
            failed(call, error.description)
        }
    }

    /// Reports what the recording left alive, oldest first, and frees it.
    mutating func finish() {
        for (_, entry) in live.sorted(by: { $0.value.line < $1.value.line }) {
            report.leftAlive.append(ReplayReport.LeftAlive(line: entry.line, function: entry.function, name: entry.name,
                                                           size: entry.made.allocation.size))
            switch entry.made {
            case let .buffer(buffer): try? allocator.destroyBuffer(buffer)
            case let .image(image): try? allocator.destroyImage(image)
            case let .memory(allocation): try? allocator.free(allocation)
            }
        }
        live = [:]
    }

    /// The request of a `VmaAllocationCreateInfo`; nil (reported) for a usage VMA 2.x
    /// did not have.
    private mutating func request(for info: VMARecording.AllocationCreateInfo,
                                  _ call: VMARecording.Call) -> MemoryRequest? {
        guard let request = info.memoryRequest else {
            failed(call, "VmaMemoryUsage \(info.usage) is not one of VMA 2.x's (0 to 6)")
            return nil
        }
        return request
    }

    /// Core buffer usages (`VK_BUFFER_USAGE_TRANSFER_SRC_BIT` … `INDIRECT_BUFFER_BIT`):
    /// the ones a replay can create a buffer with on any device.
    static let replayableBufferUsage: UInt32 = 0x1FF
    /// Core image usages (`VK_IMAGE_USAGE_TRANSFER_SRC_BIT` … `INPUT_ATTACHMENT_BIT`).
    static let replayableImageUsage: UInt32 = 0xFF
    /// `VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT` and `CUBE_COMPATIBLE_BIT` (checked below):
    /// image flags that need nothing but the create-info.
    static let replayableImageFlags: UInt32 = 0x8 | 0x10

    /// The buffer's create-info as it can be replayed here. Flags (sparse, protected,
    /// capture-replay…) are dropped, and usages beyond Vulkan 1.0's (device address needs
    /// memory allocated for it; extensions may be off here), both reported: the memory it
    /// needs stays close to what it needed. What is left is checked by `createBuffer`
    /// (`ResourceObject.validate`) before any Vulkan call; a create it refuses is skipped.
    private mutating func bufferInfo(_ parameters: VMARecording.BufferParameters,
                                     _ call: VMARecording.Call) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = parameters.size
        info.usage = parameters.usage & Self.replayableBufferUsage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        if parameters.flags != 0 { adjusted(call, "buffer flags 0x\(String(parameters.flags, radix: 16)) dropped") }
        if info.usage != parameters.usage {
            adjusted(call, "usage bits 0x\(String(parameters.usage & ~Self.replayableBufferUsage, radix: 16)) dropped")
        }
        if parameters.sharingMode != 0 { adjusted(call, "concurrent sharing replayed as exclusive") }
        return info
    }

    /// The image's create-info as it can be replayed here, or nil (reported) for a format
    /// beyond Vulkan 1.0's core: extension formats need extensions this device may not
    /// have enabled, multi-planar ones a conversion the recording does not describe.
    /// Usages and flags beyond the core ones are dropped, a cube-compatible flag the
    /// image cannot have and a transient usage with no attachment too, and sharing is
    /// exclusive. The rest (type, extent, levels, layers, samples, tiling, layout, and what
    /// `vkGetPhysicalDeviceImageFormatProperties` allows) is checked by `createImage`
    /// (`ResourceObject.validate`) before any Vulkan call; a create it refuses is skipped.
    private mutating func imageInfo(_ p: VMARecording.ImageParameters, _ call: VMARecording.Call) -> VkImageCreateInfo? {
        // Core formats: VK_FORMAT_R4G4_UNORM_PACK8 … ASTC_12x12_SRGB_BLOCK.
        guard (1...184).contains(p.format) else {
            adjusted(call, "skipped: format \(p.format) is not one of Vulkan 1.0's core formats (1 to 184)")
            return nil
        }
        var usage = p.usage & Self.replayableImageUsage
        // TRANSIENT_ATTACHMENT only goes with an attachment usage (VUID-VkImageCreateInfo-usage-00966).
        if usage & 0x40 != 0, usage & (0x10 | 0x20 | 0x80) == 0 { usage &= ~0x40 }
        var flags = p.flags & Self.replayableImageFlags
        // A cube-compatible image is a square 2D image with six layers or more.
        if flags & 0x10 != 0, !(p.imageType == 1 && p.width == p.height && p.arrayLayers >= 6) { flags &= ~0x10 }
        if flags != p.flags { adjusted(call, "image flags 0x\(String(p.flags & ~flags, radix: 16)) dropped") }
        if usage != p.usage { adjusted(call, "usage bits 0x\(String(p.usage & ~usage, radix: 16)) dropped") }
        var info = VkImageCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        info.flags = flags
        info.imageType = VkImageType(rawValue: p.imageType)
        info.format = VkFormat(rawValue: p.format)
        info.extent = VkExtent3D(width: p.width, height: p.height, depth: p.depth)
        info.mipLevels = p.mipLevels
        info.arrayLayers = p.arrayLayers
        info.samples = VkSampleCountFlagBits(rawValue: p.samples)
        info.tiling = VkImageTiling(rawValue: p.tiling)
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        if p.sharingMode != 0 { adjusted(call, "concurrent sharing replayed as exclusive") }
        // Only these two layouts are valid at creation.
        let preinitialized = VK_IMAGE_LAYOUT_PREINITIALIZED.rawValue
        info.initialLayout = p.initialLayout == preinitialized ? VK_IMAGE_LAYOUT_PREINITIALIZED : VK_IMAGE_LAYOUT_UNDEFINED
        if p.initialLayout != preinitialized && p.initialLayout != 0 {
            adjusted(call, "initial layout \(p.initialLayout) replayed as UNDEFINED")
        }
        return info
    }

    /// Whether a create may go ahead under `handle`: not when the recording's own call
    /// failed (VMA recorded it with a null allocation), nor when the handle is live.
    private mutating func isFree(_ handle: String, _ call: VMARecording.Call) -> Bool {
        if VMARecording.isNull(handle) {
            adjusted(call, "skipped: the call failed when it was recorded (no allocation)")
            return false
        }
        guard live[handle] == nil else {
            failed(call, "handle \(handle) is still live from line \(live[handle]!.line)")
            return false
        }
        return true
    }

    private mutating func replayed(_ function: String) { report.replayed[function, default: 0] += 1 }

    private mutating func failed(_ call: VMARecording.Call, _ reason: String) {
        guard report.failures.count < ReplayReport.maximumNotes else { return report.omittedNotes += 1 }
        report.failures.append(ReplayReport.Note(line: call.line, function: call.function.name, reason: reason))
    }

    private mutating func adjusted(_ call: VMARecording.Call, _ reason: String) {
        guard report.adjustments.count < ReplayReport.maximumNotes else { return report.omittedNotes += 1 }
        report.adjustments.append(ReplayReport.Note(line: call.line, function: call.function.name, reason: reason))
    }

    private func elapsed(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
    }
}

extension VMARecording.Function {
    /// Whether the call creates a buffer or an image (whose zero sizes are create-infos
    /// this device cannot create, not allocator failures).
    var createsResource: Bool {
        switch self {
        case .createBuffer, .createImage: true
        default: false
        }
    }
}
