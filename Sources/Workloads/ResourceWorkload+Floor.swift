import CVulkan
import Suballocation
import VulkanMemory

extension ResourceWorkload {
    /// The most bytes of the one memory `floorPairs` binds into: room for W3's live set
    /// (about 414 MB at its peak on the default draw, 455 MB for exact best fit) with the
    /// engine's slack; half the heap where that is smaller.
    static let floorMemoryBytes: UInt64 = 1 << 30

    /// Nanoseconds per pair of W3's steps with the TLSF engine and nothing else around
    /// it: each step destroys its victim's buffer and frees its range in one bare
    /// `VirtualBlock`, then creates the new buffer (`vkCreateBuffer`, its requirements),
    /// places a range of the requirements' size and alignment with the run's strategy,
    /// and binds it at that offset of one preallocated memory.
    ///
    /// The steps run in chunks of `chunk`, each after a chunk of `raw`'s steps, as the
    /// allocator's steps do in `run`: every switch leaves the caches full of the other
    /// side's data, and that refill is part of what `pairNanoseconds` pays (about 35 ns a
    /// pair on lavapipe with chunks of 5,000, measured against chunks of 50,000), so a
    /// floor timed in one unbroken pass would sit below the pair for a reason that is no
    /// allocator layer's.
    ///
    /// The least any allocator built on this engine can cost on this device in the same
    /// harness: what `pairNanoseconds` adds to it is the allocator's layers (type choice,
    /// validation, records, pages, the `Allocation` and `BoundBuffer`), with the driver's
    /// and the engine's interplay (caches) already counted here, unlike
    /// `rawPairNanoseconds` + `enginePairNanoseconds`.
    /// - Returns: nil when the device gives no memory of that size or the engine runs out
    ///   of room in it (a draw far larger than W3's default); nothing is left behind.
    func floorPairs(device: VulkanDevice, raw: inout RawSide, info: VkBufferCreateInfo, initialSizes: [UInt64],
                    stepSizes: [UInt64], victims: [Int]) -> Double? {
        let properties = MemoryProperties(device: device)
        let selection = MemoryTypeSelection(properties: properties, isDiscrete: device.info.type == .discreteGPU)
        guard let type = selection.bestType(for: .usage(.gpuOnly)) else { return nil }
        let heapBytes = properties.heaps[properties.types[type].heapIndex].size
        let size = min(Self.floorMemoryBytes, heapBytes / 2)
        guard let memory = try? DeviceMemory.allocate(on: device, size: size, memoryTypeIndex: type),
              var block = try? VirtualBlock(size: size, granularity: max(properties.limits.bufferImageGranularity, 1))
        else { return nil }
        let calls = RawBufferCalls(device: device)
        var info = info
        var live: [(buffer: VkBuffer, range: VirtualAllocationHandle)] = []
        live.reserveCapacity(initialSizes.count)
        defer {
            for entry in live { calls.destroy(entry.buffer) }
            try? memory.free()
        }
        /// One buffer created, placed by the engine alone and bound there; nil (with
        /// nothing left behind) when a call fails or the block is full.
        func create(_ bytes: UInt64) -> (buffer: VkBuffer, range: VirtualAllocationHandle)? {
            info.size = bytes
            guard let (buffer, requirements) = try? calls.create(&info) else { return nil }
            guard let placed = try? block.allocateIfRoom(size: requirements.size, alignment: requirements.alignment,
                                                        kind: .linear, strategy: strategy) else {
                calls.destroy(buffer)
                return nil
            }
            do { try calls.bind(buffer, memory: memory.handle, offset: placed.offset) } catch {
                try? block.free(placed.handle)
                return nil
            }
            return (buffer, placed.handle)
        }
        for bytes in initialSizes {
            guard let entry = create(bytes) else { return nil }
            live.append(entry)
        }
        var time = 0.0
        var first = 0
        while first < stepSizes.count {
            let range = first..<min(first + ResourceWorkload.chunk, stepSizes.count)
            // The raw side's buffers are all bound at one offset: running its steps again
            // needs nothing of the draw but the sizes and victims.
            guard (try? raw.steps(range, stepSizes: stepSizes, victims: victims)) != nil else { return nil }
            let start = ContinuousClock.now
            for step in range {
                let victim = victims[step]
                calls.destroy(live[victim].buffer)
                try? block.free(live[victim].range)
                guard let entry = create(stepSizes[step]) else {
                    live.remove(at: victim)
                    return nil
                }
                live[victim] = entry
            }
            time += nanoseconds(start)
            first = range.upperBound
        }
        return time / Double(stepSizes.count)
    }
}
