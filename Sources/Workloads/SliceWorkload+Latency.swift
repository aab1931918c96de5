import CVulkan
import VulkanMemory

extension SliceWorkload {
    /// W7's latency pass: the same steps again, each slice pair and each buffer pair
    /// timed alone with `MonotonicClock`, so the mean figures never pay for clock reads.
    func latencyPass(arena: BufferArena, allocator: Allocator, bound: inout [BoundBuffer], victims: [Int],
                     into result: inout SliceWorkloadResult) throws(BufferArenaError) {
        var slices = try (0..<live).map { (_) throws(BufferArenaError) in try arena.allocate(size: sliceSize) }
        defer { for slice in slices { try? arena.free(slice) } }
        var slicePairs = LatencyHistogram()
        for victim in victims {
            let start = MonotonicClock.now()
            try arena.free(slices[victim])
            slices[victim] = try arena.allocate(size: sliceSize)
            slicePairs.record(MonotonicClock.now() &- start)
        }
        let info = bufferInfo()
        var bufferPairs = LatencyHistogram()
        do throws(AllocationError) {
            for victim in victims {
                let start = MonotonicClock.now()
                try allocator.destroyBuffer(bound[victim])
                bound[victim] = try allocator.createBuffer(info, .usage(.dynamic))
                bufferPairs.record(MonotonicClock.now() &- start)
            }
        } catch {
            throw .allocation(error)
        }
        result.sliceLatency = slicePairs.summary
        result.pairLatency = bufferPairs.summary
    }
}
