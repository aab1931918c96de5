/// Per-operation latencies in nanoseconds, counted in log-linear buckets: exact below
/// 128 ns, then 64 buckets per power of two, so any percentile it reports is at most
/// 1/64 (1.6%) above the true value, from 0 to 2^64 ns, in a fixed 30 KiB of counters.
///
/// Why our own and not HdrHistogram's Swift package: this is all the workloads need
/// (record, merge, percentile) in under a hundred lines, and a dependency of the
/// `VulkanMemoryWorkloads` product is one every user of the package would fetch and
/// build; its two significant digits (1%) buy nothing over 1.6% at p99.9 of a few
/// thousand samples.
///
/// Recording is one index computation (a leading-zero count and two shifts) and four
/// stores, cheap beside the clock read that produced the value.
public struct LatencyHistogram: Sendable, Equatable {
    /// Bits of each value kept exactly: 7, so values below 128 have a bucket each and
    /// every bucket above is at most 1/64 of its lower bound wide.
    static let precisionBits = 7
    /// Values below this have a bucket each.
    static let linearCount = 1 << precisionBits
    /// Buckets per power of two above `linearCount`.
    static let perOctave = linearCount / 2
    /// Every bucket up to 2^64 - 1.
    static let bucketCount = linearCount + (64 - precisionBits) * perOctave

    /// Values recorded, by bucket.
    private(set) var counts = [UInt64](repeating: 0, count: bucketCount)
    /// Values recorded.
    public private(set) var count: UInt64 = 0
    /// Their sum, for the mean.
    public private(set) var sum: UInt64 = 0
    /// The largest value recorded, exactly.
    public private(set) var max: UInt64 = 0

    /// An empty histogram.
    public init() {}

    /// The bucket that counts `value`.
    @inline(__always)
    static func bucket(of value: UInt64) -> Int {
        if value < UInt64(linearCount) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - (precisionBits - 1)
        let top = Int(truncatingIfNeeded: value >> UInt64(shift))
        return linearCount + (shift - 1) * perOctave + (top - perOctave)
    }

    /// The largest value that falls in `bucket`.
    static func upperBound(of bucket: Int) -> UInt64 {
        if bucket < linearCount { return UInt64(bucket) }
        let k = bucket - linearCount
        let shift = UInt64(k / perOctave + 1)
        let top = UInt64(k % perOctave + perOctave)
        let (next, overflow) = (top + 1).multipliedReportingOverflow(by: 1 << shift)
        return overflow ? .max : next - 1
    }

    /// Counts one latency of `nanoseconds`.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        counts[Self.bucket(of: nanoseconds)] &+= 1
        count &+= 1
        sum &+= nanoseconds
        if nanoseconds > max { max = nanoseconds }
    }

    /// Adds every value `other` counted.
    /// - Complexity: O(buckets).
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        count &+= other.count
        sum &+= other.sum
        max = Swift.max(max, other.max)
    }

    /// The value at or below which `fraction` (0...1) of the recorded values lie: the
    /// upper bound of the bucket that holds it, so never below the true percentile and at
    /// most 1.6% above it, and never above `max`. 0 when nothing was recorded.
    /// - Complexity: O(buckets).
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        // The rank of the value asked for, 1-based: p50 of 10 values is the 5th.
        let rank = Swift.max(1, UInt64((fraction * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (bucket, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank { return Swift.min(Self.upperBound(of: bucket), max) }
        }
        return max
    }

    /// The mean of the recorded values; 0 when there are none.
    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// p50, p99, p99.9, max and mean.
    public var summary: LatencySummary {
        LatencySummary(p50: Double(percentile(0.5)), p99: Double(percentile(0.99)), p999: Double(percentile(0.999)),
                       max: Double(max), mean: mean, count: Int(count))
    }
}

/// The percentiles a workload reports of one kind of operation, in nanoseconds.
public struct LatencySummary: Sendable, Equatable {
    /// The median.
    public var p50: Double
    /// The 99th percentile.
    public var p99: Double
    /// The 99.9th percentile.
    public var p999: Double
    /// The slowest operation.
    public var max: Double
    /// The mean of the timed operations (each including one clock read).
    public var mean: Double
    /// Operations timed; 0 when this kind of operation was not timed.
    public var count: Int

    /// Creates a summary from its figures.
    public init(p50: Double, p99: Double, p999: Double, max: Double, mean: Double, count: Int) {
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
        self.count = count
    }

    /// Nothing timed.
    public static let none = LatencySummary(p50: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0)

    /// The figure-by-figure median of several runs' summaries (`max` too: one run's
    /// preemption should not stand for all), counts from the first.
    public static func median(_ runs: [LatencySummary]) -> LatencySummary {
        guard let first = runs.first else { return .none }
        func mid(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        return LatencySummary(p50: mid(runs.map(\.p50)), p99: mid(runs.map(\.p99)), p999: mid(runs.map(\.p999)),
                              max: mid(runs.map(\.max)), mean: mid(runs.map(\.mean)), count: first.count)
    }
}
