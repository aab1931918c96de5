import CVulkan
import VulkanMemory

extension ResourceWorkload {
    /// W3's latency pass: a fresh allocator fills and runs the same steps, timing each
    /// `destroyBuffer` and `createBuffer` alone with `MonotonicClock`; the raw Vulkan
    /// calls run the same steps in alternating chunks, each pair timed alone. A pass of
    /// its own so that the mean `pairNanoseconds` never pays for the clock reads.
    func latencyPass(device: VulkanDevice, options: AllocatorOptions, info: VkBufferCreateInfo, initialSizes: [UInt64],
                     stepSizes: [UInt64], victims: [Int],
                     into result: inout ResourceWorkloadResult) throws(AllocationError) {
        var info = info
        var raw = try RawSide(device: device, info: info, initialSizes: initialSizes)
        defer { raw.tearDown() }
        let allocator = Allocator(device: device, options: options)
        let placement = AllocationOptions(strategy: strategy)
        var buffers: [BoundBuffer] = []
        buffers.reserveCapacity(live)
        defer { for buffer in buffers { try? allocator.destroyBuffer(buffer) } }
        for size in initialSizes {
            info.size = size
            buffers.append(try allocator.createBuffer(info, .usage(.gpuOnly), options: placement))
        }
        var create = LatencyHistogram()
        var destroy = LatencyHistogram()
        var pair = LatencyHistogram()
        var rawPair = LatencyHistogram()
        var first = 0
        while first < stepSizes.count {
            let range = first..<min(first + ResourceWorkload.chunk, stepSizes.count)
            try raw.timedSteps(range, stepSizes: stepSizes, victims: victims, into: &rawPair)
            for step in range {
                let victim = victims[step]
                info.size = stepSizes[step]
                let start = MonotonicClock.now()
                try allocator.destroyBuffer(buffers[victim])
                let destroyed = MonotonicClock.now()
                let created = try allocator.createBuffer(info, .usage(.gpuOnly), options: placement)
                let end = MonotonicClock.now()
                buffers[victim] = created
                destroy.record(destroyed &- start)
                create.record(end &- destroyed)
                pair.record(end &- start)
            }
            first = range.upperBound
        }
        result.createLatency = create.summary
        result.destroyLatency = destroy.summary
        result.pairLatency = pair.summary
        result.rawPairLatency = rawPair.summary
    }
}

extension RawSide {
    /// The steps in `range`, each destroy-then-create-and-bind pair timed alone into
    /// `histogram`.
    mutating func timedSteps(_ range: Range<Int>, stepSizes: [UInt64], victims: [Int],
                             into histogram: inout LatencyHistogram) throws(AllocationError) {
        for step in range {
            info.size = stepSizes[step]
            let start = MonotonicClock.now()
            calls.destroy(buffers[victims[step]])
            do {
                buffers[victims[step]] = try calls.createAndBind(&info, memory: memory.handle)
            } catch {
                // The destroyed buffer must not be destroyed again by `tearDown`.
                buffers.remove(at: victims[step])
                throw error
            }
            histogram.record(MonotonicClock.now() &- start)
        }
    }
}
