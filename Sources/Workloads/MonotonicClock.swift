#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock that times single operations: `clock_gettime(CLOCK_MONOTONIC)`, read
/// through the vDSO on Linux (no system call).
///
/// Why not `ContinuousClock.now` as the mean timings use: that reads `CLOCK_BOOTTIME`
/// and builds a `Duration` of 128-bit attoseconds, arithmetic that costs more than a
/// W2 allocation; timing every operation wants the cheapest read there is. Each value
/// recorded from two reads includes about one read's cost (`readCost()`), which the
/// commands print beside the percentiles.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary start, monotonic.
    @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(truncatingIfNeeded: time.tv_sec) &* 1_000_000_000 &+ UInt64(truncatingIfNeeded: time.tv_nsec)
    }

    /// Nanoseconds one read costs: the median over 32 batches of 4,096 back-to-back reads.
    public static func readCost() -> Double {
        var batches: [Double] = []
        var sink: UInt64 = 0
        for _ in 0..<32 {
            let start = now()
            for _ in 0..<4_096 { sink &+= now() }
            batches.append(Double(now() - start) / 4_096)
        }
        // Keeps the reads from being optimised away.
        if sink == 1 { print(sink) }
        return batches.sorted()[batches.count / 2]
    }
}
