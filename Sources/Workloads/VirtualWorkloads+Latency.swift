import Suballocation

/// The latency pass of the virtual workloads: the same drawn work as the timed passes,
/// every operation timed alone with `MonotonicClock` into a `LatencyHistogram`.
///
/// A pass of its own because two clock reads per step (about 2 × 20 ns) would add a
/// third to W1's mean step if the mean passes took them; here they cost only the
/// pass's own time, and each recorded value includes about one read (`readCost()`).
enum VirtualWorkloadLatency {
    /// The histograms of one pass.
    struct Histograms {
        var alloc = LatencyHistogram()
        var free = LatencyHistogram()
        var step = LatencyHistogram()
    }

    /// W1, W4, W5: fill with `initial`, then each step frees its victim (timed, when the
    /// slot holds an allocation) and allocates its size (timed, refused ones too: a
    /// refusal that searches long is a slow allocation to its caller).
    static func steady(blockSize: UInt64, initial: [UInt64], work: [SteadyStep],
                       strategy: AllocationStrategy) -> Histograms {
        // The sizes are constants above zero: creation cannot fail.
        var block = try! VirtualBlock(size: blockSize)
        var slots = initial.map { size in
            (try? block.allocate(size: size, alignment: 256, strategy: strategy))?.handle ?? emptySlot
        }
        var histograms = Histograms()
        slots.withUnsafeMutableBufferPointer { slots in
            for step in work {
                let v = Int(step.victim)
                let start = MonotonicClock.now()
                var freed = start
                let occupied = slots[v] != emptySlot
                if occupied {
                    try? block.free(slots[v])
                    freed = MonotonicClock.now()
                }
                slots[v] = (try? block.allocate(size: UInt64(step.size), alignment: 256, strategy: strategy))?.handle
                    ?? emptySlot
                let end = MonotonicClock.now()
                // Recorded after the last read, so no bucket update is inside a timed span.
                if occupied { histograms.free.record(freed &- start) }
                histograms.alloc.record(end &- freed)
                histograms.step.record(end &- start)
            }
        }
        return histograms
    }

    /// W2: `count` allocations of `size`, each timed, then frees in `order`, each timed.
    static func fillThenDrain(count: Int, size: UInt64, order: [Int], strategy: AllocationStrategy) -> Histograms {
        var block = try! VirtualBlock(size: UInt64(count) * size)
        var handles = [VirtualAllocationHandle](repeating: emptySlot, count: count)
        var histograms = Histograms()
        handles.withUnsafeMutableBufferPointer { handles in
            var last = MonotonicClock.now()
            for i in 0..<count {
                handles[i] = (try? block.allocate(size: size, alignment: 256, strategy: strategy))?.handle ?? emptySlot
                let now = MonotonicClock.now()
                histograms.alloc.record(now &- last)
                last = now
            }
            last = MonotonicClock.now()
            for i in order where handles[i] != emptySlot {
                try? block.free(handles[i])
                let now = MonotonicClock.now()
                histograms.free.record(now &- last)
                last = now
            }
        }
        return histograms
    }
}
