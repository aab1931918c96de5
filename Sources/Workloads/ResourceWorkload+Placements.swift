import CVulkan
import VulkanMemory

extension ResourceWorkload {
    /// What `placementPass` found: each buffer's placed size, in placement order (the
    /// initial buffers, then one per step), the raw calls' time at those places, and the
    /// replay's own totals, which must equal the timed run's.
    struct PlacementReplay {
        var placedSizes: [UInt64]
        var rawPlacedPairNanoseconds: Double
        var committedBytes: UInt64
        var liveBytes: UInt64
        var pages: Int
    }

    /// W3's steps again, untimed, with a fresh allocator of the same options, storing
    /// each buffer's size and place as it is made; then, while that allocator's pages are
    /// held, the same Vulkan calls as `raw` with each buffer bound where the allocator
    /// bound it (`rawPlacedPairNanoseconds`).
    ///
    /// The allocator decides alone from the sizes and the order of the calls, so the
    /// replay places every buffer where the timed run did: `ResourceWorkloadResult.replayMatched`
    /// checks that its totals agree. Each step's place is stored as it is made: a slot can
    /// be a victim twice in one chunk, so reading the slots afterwards would give the
    /// best-fit reference a different, easier sequence.
    /// - Throws: `AllocationError` when the device runs out of memory; the replay's buffers
    ///   are destroyed then.
    func placementPass(device: VulkanDevice, options: AllocatorOptions, raw: RawSide, info: VkBufferCreateInfo,
                       initialSizes: [UInt64], stepSizes: [UInt64], victims: [Int]) throws(AllocationError) -> PlacementReplay {
        var info = info
        let allocator = Allocator(device: device, options: options)
        if reservedBytes > 0 { try allocator.reserve(reservedBytes, usage: .gpuOnly) }
        let allocationOptions = AllocationOptions(strategy: strategy)
        var buffers: [BoundBuffer] = []
        buffers.reserveCapacity(live)
        defer { for buffer in buffers { try? allocator.destroyBuffer(buffer) } }
        for size in initialSizes {
            info.size = size
            buffers.append(try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions))
        }
        var placedSizes = buffers.map(\.allocation.size)
        placedSizes.reserveCapacity(live + stepSizes.count)
        var placements = buffers.map(Placement.init)
        placements.reserveCapacity(live + stepSizes.count)
        for step in stepSizes.indices {
            let victim = victims[step]
            try allocator.destroyBuffer(buffers[victim])
            info.size = stepSizes[step]
            let created = try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions)
            buffers[victim] = created
            placedSizes.append(created.allocation.size)
            placements.append(Placement(created))
        }
        let usage = allocator.usage
        Placement.keepCurrent(&placements, live: live, victims: victims)
        let placedTime = try raw.placedSteps(info: info, initialSizes: initialSizes, stepSizes: stepSizes,
                                             victims: victims, placements: placements)
        return PlacementReplay(placedSizes: placedSizes, rawPlacedPairNanoseconds: placedTime,
                               committedBytes: usage.committedBytes, liveBytes: usage.liveBytes, pages: usage.pageCount)
    }
}

/// Where a buffer was bound; no memory for one the placed pass must leave out.
struct Placement {
    var memory: VkDeviceMemory?
    var offset: UInt64 = 0

    init() {}

    /// Where `buffer` is bound; none for dedicated memory, which takes no other buffer
    /// (VUID-vkBindBufferMemory-memory-01508).
    init(_ buffer: BoundBuffer) {
        if !buffer.allocation.isDedicated { memory = buffer.allocation.memory }
        offset = buffer.allocation.offset
    }

    /// Clears every placement whose memory may have been released after it was made.
    ///
    /// A page whose last buffer goes may be released, and a later page may get the same
    /// `VkDeviceMemory` value: a placement in the old page would then bind into the new
    /// one. Replaying the run's live counts per memory value after the fact (nothing in
    /// the timed loops), each time a count falls to zero starts a new epoch for that
    /// value; placements of an older epoch than the value's last are cleared.
    /// - Complexity: O(placements) expected.
    static func keepCurrent(_ placements: inout [Placement], live: Int, victims: [Int]) {
        var count: [VkDeviceMemory: Int] = [:]
        var epoch: [VkDeviceMemory: Int] = [:]
        var placedEpoch = [Int](repeating: 0, count: placements.count)
        var slot = Array(0..<live)
        func place(_ index: Int) {
            guard let memory = placements[index].memory else { return }
            count[memory, default: 0] += 1
            placedEpoch[index] = epoch[memory, default: 0]
        }
        func remove(_ index: Int) {
            guard let memory = placements[index].memory else { return }
            count[memory, default: 0] -= 1
            if count[memory] == 0 { epoch[memory, default: 0] += 1 }
        }
        for index in 0..<live { place(index) }
        for (step, victim) in victims.enumerated() where live + step < placements.count {
            remove(slot[victim])
            slot[victim] = live + step
            place(live + step)
        }
        for index in placements.indices {
            guard let memory = placements[index].memory, placedEpoch[index] != epoch[memory, default: 0] else { continue }
            placements[index].memory = nil
        }
    }
}

extension RawSide {
    /// The steps' calls with every buffer bound at `placements[i]` (the initial buffers
    /// first, then one per step), all in one timed pass; placements with no memory are
    /// left out. Returns nanoseconds per step made.
    func placedSteps(info: VkBufferCreateInfo, initialSizes: [UInt64], stepSizes: [UInt64], victims: [Int],
                     placements: [Placement]) throws(AllocationError) -> Double {
        var info = info
        var live: [VkBuffer?] = []
        defer { live.forEach { $0.map(calls.destroy) } }
        for (index, size) in initialSizes.enumerated() {
            guard let memory = placements[index].memory else {
                live.append(nil)
                continue
            }
            info.size = size
            live.append(try calls.createAndBind(&info, memory: memory, offset: placements[index].offset))
        }
        var made = 0
        let start = ContinuousClock.now
        for step in stepSizes.indices {
            let placement = placements[initialSizes.count + step]
            guard let memory = placement.memory else { continue }
            let victim = victims[step]
            if let old = live[victim] { calls.destroy(old) }
            live[victim] = nil
            info.size = stepSizes[step]
            live[victim] = try calls.createAndBind(&info, memory: memory, offset: placement.offset)
            made += 1
        }
        return nanoseconds(start) / Double(max(made, 1))
    }

}
