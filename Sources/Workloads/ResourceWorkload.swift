import CVulkan
import Suballocation
import VulkanMemory

/// W3: 2,000 live buffers (log-uniform 4 KiB–1 MiB, vertex + transfer-dst usage, GPU-only
/// intent); each step destroys a random live buffer with its memory, then creates a new
/// one and binds it. Sizes and victims are drawn before anything is timed.
public struct ResourceWorkload: Sendable {
    /// Live buffers.
    public var live = 2_000
    /// Destroy-then-create steps.
    public var steps = 100_000
    /// The generator's seed.
    public var seed: UInt64 = 3
    /// How pages are searched.
    public var strategy: AllocationStrategy = .bestFit
    /// Bytes reserved (`Allocator.reserve`) for the GPU-only intent before the fill; 0,
    /// the default and the W3, reserves nothing.
    public var reservedBytes: UInt64 = 0
    /// The defragmentation run after the steps.
    public var defragmentation: Defragmentation = .full
    /// After the run, the same steps again with a fresh allocator, every create and
    /// destroy timed alone (`createLatency`…); the mean figures never take those clocks.
    public var timingEachOperation = true

    /// How W3 defragments after its steps.
    public enum Defragmentation: String, Sendable, Hashable, CaseIterable {
        /// Passes without limits until one has nothing to move (at most 64).
        case full
        /// Ten passes of at most 8 MiB each (fewer if one has nothing to move): the
        /// incremental pattern, a bounded copy per frame.
        case passes
    }

    /// Creates the workload with the parameters.
    public init(live: Int = 2_000, steps: Int = 100_000, seed: UInt64 = 3) {
        self.live = live
        self.steps = steps
        self.seed = seed
    }
}

/// What one run of W3 measured.
public struct ResourceWorkloadResult: Sendable {
    /// "W3".
    public var workload = "W3"
    /// Nanoseconds per destroy+create+bind pair through the allocator.
    public var pairNanoseconds: Double
    /// Nanoseconds per pair of the same Vulkan calls with no allocator (all buffers bound
    /// to one preallocated memory at offset 0), timed in chunks alternating with the
    /// allocator's.
    public var rawPairNanoseconds: Double
    /// `vkAllocateMemory` calls the allocator made during the timed steps.
    public var allocateCalls: Int
    /// `VkDeviceMemory` bytes the allocator holds at the end.
    public var committedBytes: UInt64
    /// Bytes in live allocations at the end.
    public var liveBytes: UInt64
    /// Shared pages at the end.
    public var pages: Int
    /// The `VkMemoryRequirements.alignment` the driver gives W3's buffers (the same for
    /// every buffer of one usage): offsets between buffers are rounded to it, so a large
    /// one (a real GPU's) adds padding to committed memory that no size shows.
    public var bufferAlignment: UInt64 = 0
    /// Nanoseconds per free+allocate pair of the same sizes through `Allocator.allocate`
    /// alone, no Vulkan object involved: the allocator's own share of `pairNanoseconds`.
    public var allocatorPairNanoseconds: Double = 0
    /// Nanoseconds per pair of the raw Vulkan calls with each buffer bound at the memory
    /// and offset the allocator chose for it (timed in one pass after the steps, in the
    /// pages of an untimed replay of them, `ResourceWorkload.placementPass`; steps whose
    /// memory is no longer held skipped): `pairNanoseconds` less this is the
    /// allocator's own cost; this less `rawPairNanoseconds` is what the driver charges
    /// for binding across many memories and offsets instead of offset 0 of one.
    public var rawPlacedPairNanoseconds: Double = 0
    /// Whether the untimed replay of the steps that the placement figures
    /// (`rawPlacedPairNanoseconds`, `bestFitPeakBytes`, `peakLiveBytes`) come from ended
    /// with the timed run's committed bytes, live bytes and page count, as a deterministic
    /// allocator must.
    public var replayMatched = true
    /// Nanoseconds per free+allocate pair of the same sizes in one bare `VirtualBlock`
    /// (the engine under every page, with the device's granularity): the part of
    /// `allocatorPairNanoseconds` that placement itself costs.
    public var enginePairNanoseconds: Double = 0
    /// Nanoseconds per pair of the raw Vulkan calls with the engine alone placing each
    /// buffer in one preallocated memory (`ResourceWorkload.floorPairs`), in chunks
    /// alternating with the raw calls as `pairNanoseconds` is timed: the least an
    /// allocator on this engine can cost in this harness, so `pairNanoseconds` less this
    /// is what the allocator's layers add. 0 when it could not be measured (no memory of
    /// that size).
    public var floorPairNanoseconds: Double = 0
    /// The reference for `committedBytes`: the highest address that exact best fit
    /// reaches on the same sizes and victims in one unbounded range
    /// (`BestFitReference`), with no page boundaries or growth steps. Placements that
    /// never move anything land within a few points of it on W3's churn (its victims
    /// are uniform, so when a buffer dies says nothing about its size or age).
    public var bestFitPeakBytes: UInt64 = 0
    /// The most bytes live at once during the run (after the fill or after any step):
    /// an allocator that never moves anything and releases no page that still holds an
    /// allocation (with uniform victims, pages hardly ever empty) commits at least this
    /// at the end, however tightly it packs.
    public var peakLiveBytes: UInt64 = 0
    /// Where exact best fit's top is at the end of the same run: the bytes it would
    /// still span, against `committedBytes` held at the end.
    public var bestFitEndBytes: UInt64 = 0
    /// `committedBytes` after defragmentation passes that move buffers into the holes of
    /// other pages and release the pages they empty.
    public var defragmentedCommittedBytes: UInt64 = 0
    /// Bytes those passes moved.
    public var defragmentationMovedBytes: UInt64 = 0
    /// The passes' time: planning, re-creating each moved buffer on its destination,
    /// committing (no copies: W3's buffers hold nothing).
    public var defragmentationNanoseconds: Double = 0
    /// Passes that moved something.
    public var defragmentationPasses = 0
    /// Each `createBuffer` (create, requirements, placement, bind) timed alone, in a
    /// latency pass of its own after the run (`ResourceWorkload.timingEachOperation`).
    public var createLatency = LatencySummary.none
    /// Each `destroyBuffer` timed alone.
    public var destroyLatency = LatencySummary.none
    /// Each destroy-then-create pair timed alone.
    public var pairLatency = LatencySummary.none
    /// Each pair of the raw Vulkan calls (no allocator) timed alone, in chunks
    /// alternating with the allocator's: how much of the tail is the driver's.
    public var rawPairLatency = LatencySummary.none

    /// The run with the median `pairNanoseconds`; other fields from that run.
    public static func median(_ runs: [ResourceWorkloadResult]) -> ResourceWorkloadResult {
        let sorted = runs.sorted { $0.pairNanoseconds < $1.pairNanoseconds }
        var result = sorted[sorted.count / 2]
        result.rawPairNanoseconds = runs.map(\.rawPairNanoseconds).sorted()[runs.count / 2]
        result.allocatorPairNanoseconds = runs.map(\.allocatorPairNanoseconds).sorted()[runs.count / 2]
        result.enginePairNanoseconds = runs.map(\.enginePairNanoseconds).sorted()[runs.count / 2]
        result.floorPairNanoseconds = runs.map(\.floorPairNanoseconds).sorted()[runs.count / 2]
        result.rawPlacedPairNanoseconds = runs.map(\.rawPlacedPairNanoseconds).sorted()[runs.count / 2]
        result.replayMatched = runs.allSatisfy(\.replayMatched)
        result.createLatency = .median(runs.map(\.createLatency))
        result.destroyLatency = .median(runs.map(\.destroyLatency))
        result.pairLatency = .median(runs.map(\.pairLatency))
        result.rawPairLatency = .median(runs.map(\.rawPairLatency))
        return result
    }
}

extension ResourceWorkload {
    /// Steps timed in one go before the harness switches between the raw calls and the
    /// allocator: alternating keeps a host whose speed drifts (a shared GPU machine)
    /// from favouring whichever loop ran in its quiet moment.
    static let chunk = 5_000

    /// W3's buffers: vertex and transfer-destination usage, exclusive; the size is set
    /// per buffer.
    static var bufferInfo: VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue
                                            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// The run's random draw, in the generator's order: the initial sizes, each step's
    /// size and each step's victim (a slot below `live`). Every run of the same
    /// workload draws the same.
    public func draw() -> (initialSizes: [UInt64], stepSizes: [UInt64], victims: [Int]) {
        var random = WyRand(state: seed)
        let initialSizes = (0..<live).map { _ in random.logUniform(4 << 10, 1 << 20) }
        let stepSizes = (0..<steps).map { _ in random.logUniform(4 << 10, 1 << 20) }
        let victims = (0..<steps).map { _ in random.below(live) }
        return (initialSizes, stepSizes, victims)
    }

    /// Runs W3 once on a device with a fresh allocator.
    ///
    /// The raw Vulkan calls and the allocator's steps run in alternating chunks of
    /// `chunk` steps, each side keeping its own live buffers.
    /// - Throws: `AllocationError` if the device runs out of memory.
    public func run(on device: VulkanDevice, options: AllocatorOptions = AllocatorOptions()) throws(AllocationError) -> ResourceWorkloadResult {
        let (initialSizes, stepSizes, victims) = draw()
        var info = ResourceWorkload.bufferInfo

        var raw = try RawSide(device: device, info: info, initialSizes: initialSizes)
        defer { raw.tearDown() }

        let allocator = Allocator(device: device, options: options)
        if reservedBytes > 0 { try allocator.reserve(reservedBytes, usage: .gpuOnly) }
        // Made once, as VMA's side passes one `VmaAllocationCreateInfo` to every call.
        let allocationOptions = AllocationOptions(strategy: strategy)
        var buffers: [BoundBuffer] = []
        buffers.reserveCapacity(live)
        // On any error below, the buffers go with their memory (the allocator's teardown
        // frees only memory, not the VkBuffers bound to it).
        var finished = false
        defer { if !finished { for buffer in buffers { try? allocator.destroyBuffer(buffer) } } }
        for size in initialSizes {
            info.size = size
            buffers.append(try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions))
        }
        let callsBefore = allocator.usage.deviceMemoryAllocations

        // The timed loop holds the calls and nothing else, as VMA's side does: what the
        // figures below need of each step (its size and place) comes from a replay
        // (`placementPass`), since storing it here cost the pair about 10 ns.
        var rawTime = 0.0
        var allocatorTime = 0.0
        var first = 0
        while first < steps {
            let range = first..<min(first + ResourceWorkload.chunk, steps)
            rawTime += try raw.steps(range, stepSizes: stepSizes, victims: victims)
            let start = ContinuousClock.now
            for step in range {
                let victim = victims[step]
                try allocator.destroyBuffer(buffers[victim])
                info.size = stepSizes[step]
                buffers[victim] = try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions)
            }
            allocatorTime += nanoseconds(start)
            first = range.upperBound
        }
        let usage = allocator.usage
        var result = ResourceWorkloadResult(
            pairNanoseconds: allocatorTime / Double(steps), rawPairNanoseconds: rawTime / Double(steps),
            allocateCalls: usage.deviceMemoryAllocations - callsBefore, committedBytes: usage.committedBytes,
            liveBytes: usage.liveBytes, pages: usage.pageCount)
        result.bufferAlignment = buffers.first.map { allocator.requirements(of: $0.buffer).alignment } ?? 0
        try defragment(allocator, &buffers, info: info, into: &result)
        finished = true
        for buffer in buffers { try allocator.destroyBuffer(buffer) }
        // The replay's allocator makes its own pages and reservation: these go first, so
        // the two runs never hold the heap together.
        allocator.releaseReservations()
        allocator.freeUnusedPages()
        let replay = try placementPass(device: device, options: options, raw: raw, info: info,
                                       initialSizes: initialSizes, stepSizes: stepSizes, victims: victims)
        result.rawPlacedPairNanoseconds = replay.rawPlacedPairNanoseconds
        result.replayMatched = replay.committedBytes == usage.committedBytes && replay.pages == usage.pageCount
            && replay.liveBytes == usage.liveBytes
        result.allocatorPairNanoseconds = try allocatorPairs(device: device, options: options,
                                                             initialSizes: initialSizes, stepSizes: stepSizes,
                                                             victims: victims)
        result.enginePairNanoseconds = enginePairs(granularity: MemoryProperties(device: device).limits.bufferImageGranularity,
                                                   initialSizes: initialSizes, stepSizes: stepSizes, victims: victims)
        result.floorPairNanoseconds = floorPairs(device: device, raw: &raw, info: info, initialSizes: initialSizes,
                                                 stepSizes: stepSizes, victims: victims) ?? 0
        let placedSizes = replay.placedSizes
        let reference = BestFitReference.extents(initialSizes: placedSizes[..<live], stepSizes: placedSizes[live...],
                                                 victims: victims)
        if timingEachOperation {
            try latencyPass(device: device, options: options, info: info, initialSizes: initialSizes,
                            stepSizes: stepSizes, victims: victims, into: &result)
        }
        result.bestFitPeakBytes = reference.peak
        result.bestFitEndBytes = reference.end
        result.peakLiveBytes = ResourceWorkload.peakLive(initialSizes: placedSizes[..<live],
                                                         stepSizes: placedSizes[live...], victims: victims)
        return result
    }

    /// The most bytes live at once: after the initial sizes are placed, or after any step
    /// (slot `victims[step]` freed, then `stepSizes[step]` placed in it).
    /// - Complexity: O(initial sizes + steps).
    static func peakLive(initialSizes: ArraySlice<UInt64>, stepSizes: ArraySlice<UInt64>, victims: [Int]) -> UInt64 {
        var slots = Array(initialSizes)
        var live = slots.reduce(0, +)
        var peak = live
        for (step, size) in stepSizes.enumerated() {
            live = live - slots[victims[step]] + size
            slots[victims[step]] = size
            peak = max(peak, live)
        }
        return peak
    }

    /// After the steps: defragmentation passes as `defragmentation` says (until one has
    /// nothing to move, or ten of 8 MiB), each buffer that moves re-created on its
    /// destination. W3's buffers hold nothing,
    /// so no bytes are copied; an application adds its copies to the time measured here.
    private func defragment(_ allocator: Allocator, _ buffers: inout [BoundBuffer], info: VkBufferCreateInfo,
                            into result: inout ResourceWorkloadResult) throws(AllocationError) {
        var info = info
        let start = ContinuousClock.now
        let (passes, budget): (Int, UInt64) = defragmentation == .full ? (64, .max) : (10, 8 << 20)
        for _ in 0..<passes {
            let pass = try allocator.beginDefragmentation(maxBytesToMove: budget)
            guard !pass.moves.isEmpty else {
                pass.cancel()
                break
            }
            var positions: [Allocation: Int] = [:]
            for (position, buffer) in buffers.enumerated() { positions[buffer.allocation] = position }
            var failure: AllocationError?
            for move in pass.moves {
                guard failure == nil, let position = positions[move.source] else {
                    // Not made: the buffer stays on its source.
                    pass.ignore(move)
                    continue
                }
                info.size = buffers[position].size
                do {
                    let moved = try allocator.createBuffer(info, boundTo: move.destination)
                    try allocator.destroyBuffer(buffers[position])
                    buffers[position] = moved
                    result.defragmentationMovedBytes += move.source.size
                } catch {
                    failure = error
                    pass.ignore(move)
                }
            }
            pass.commit()
            result.defragmentationPasses += 1
            if let failure { throw failure }
        }
        result.defragmentationNanoseconds = nanoseconds(start)
        result.defragmentedCommittedBytes = allocator.usage.committedBytes
    }

    /// Free-then-allocate pairs of the W3 sizes through the allocator only.
    private func allocatorPairs(device: VulkanDevice, options: AllocatorOptions, initialSizes: [UInt64],
                                stepSizes: [UInt64], victims: [Int]) throws(AllocationError) -> Double {
        let allocator = Allocator(device: device, options: options)
        let allocationOptions = AllocationOptions(strategy: strategy)
        var live = try initialSizes.map { (size) throws(AllocationError) in
            try allocator.allocate(MemoryRequirements(size: size, alignment: 64, kind: .linear), usage: .gpuOnly,
                                   options: allocationOptions)
        }
        let start = ContinuousClock.now
        for step in 0..<stepSizes.count {
            try allocator.free(live[victims[step]])
            live[victims[step]] = try allocator.allocate(
                MemoryRequirements(size: stepSizes[step], alignment: 64, kind: .linear), usage: .gpuOnly,
                options: allocationOptions)
        }
        let elapsed = nanoseconds(start)
        for allocation in live { try allocator.free(allocation) }
        return elapsed / Double(stepSizes.count)
    }
}

extension ResourceWorkload {
    /// Free-then-allocate pairs of the W3 sizes in one bare `VirtualBlock` of 4 GiB (room
    /// to spare, as the arena has), alignment 64 as in `allocatorPairs`.
    func enginePairs(granularity: UInt64, initialSizes: [UInt64], stepSizes: [UInt64], victims: [Int]) -> Double {
        // 4 GiB and sizes of at most 1 MiB: neither creation nor any allocation can fail.
        var block = try! VirtualBlock(size: 4 << 30, granularity: max(granularity, 1))
        var live = initialSizes.map { try! block.allocate(size: $0, alignment: 64, kind: .linear, strategy: strategy).handle }
        let start = ContinuousClock.now
        for step in 0..<stepSizes.count {
            try! block.free(live[victims[step]])
            live[victims[step]] = try! block.allocate(size: stepSizes[step], alignment: 64, kind: .linear,
                                                      strategy: strategy).handle
        }
        return nanoseconds(start) / Double(stepSizes.count)
    }
}

/// The same Vulkan calls as a W3 step (create, requirements with the dedicated chain,
/// bind, destroy) with no allocator: every buffer is bound to one memory at offset 0.
struct RawSide {
    let calls: RawBufferCalls
    let memory: DeviceMemory
    var info: VkBufferCreateInfo
    var buffers: [VkBuffer] = []

    init(device: VulkanDevice, info: VkBufferCreateInfo, initialSizes: [UInt64]) throws(AllocationError) {
        let properties = MemoryProperties(device: device)
        let selection = MemoryTypeSelection(properties: properties, isDiscrete: device.info.type == .discreteGPU)
        guard let type = selection.bestType(for: .usage(.gpuOnly)) else {
            throw .noSuitableMemoryType(required: [], memoryTypeBits: .max, usage: .gpuOnly)
        }
        do { memory = try DeviceMemory.allocate(on: device, size: 2 << 20, memoryTypeIndex: type) } catch {
            throw .memory(error)
        }
        calls = RawBufferCalls(device: device)
        self.info = info
        for size in initialSizes {
            self.info.size = size
            do { buffers.append(try calls.createAndBind(&self.info, memory: memory.handle)) } catch {
                tearDown()
                throw error
            }
        }
    }

    /// Runs the steps in `range`; returns the nanoseconds they took.
    mutating func steps(_ range: Range<Int>, stepSizes: [UInt64], victims: [Int]) throws(AllocationError) -> Double {
        let start = ContinuousClock.now
        for step in range {
            calls.destroy(buffers[victims[step]])
            info.size = stepSizes[step]
            do {
                buffers[victims[step]] = try calls.createAndBind(&info, memory: memory.handle)
            } catch {
                // The destroyed buffer must not be destroyed again by `tearDown`.
                buffers.remove(at: victims[step])
                throw error
            }
        }
        return nanoseconds(start)
    }

    mutating func tearDown() {
        buffers.forEach(calls.destroy)
        buffers = []
        try? memory.free()
    }
}
