import Testing
@testable import Workloads

/// The latency histogram against exact percentiles of the same values.
@Suite("Latency histogram")
struct LatencyHistogramTests {
    /// Every value lands in a bucket whose bounds hold it, and no bucket is wider than
    /// 1/64 of its values.
    @Test func bucketsHoldTheirValuesWithinOneSixtyFourth() {
        var values: [UInt64] = Array(0..<1_000) + [UInt64.max, UInt64.max - 1, 1 << 40, (1 << 40) - 1]
        var random = WyRand(state: 7)
        for _ in 0..<10_000 { values.append(random.next() >> UInt64(random.below(64))) }
        for value in values {
            let bucket = LatencyHistogram.bucket(of: value)
            #expect(bucket >= 0 && bucket < LatencyHistogram.bucketCount)
            let upper = LatencyHistogram.upperBound(of: bucket)
            let lower = bucket == 0 ? 0 : LatencyHistogram.upperBound(of: bucket - 1) + 1
            #expect(lower <= value && value <= upper, "\(value) not in bucket \(bucket): \(lower)...\(upper)")
            #expect(Double(upper - lower) <= Double(lower) / 64 + 1)
        }
    }

    /// p50, p99, p99.9 are never below the exact percentile and at most 1/64 above it;
    /// max, count and mean are exact.
    @Test func percentilesAreWithinOneSixtyFourthAbove() {
        var random = WyRand(state: 3)
        var histogram = LatencyHistogram()
        var values: [UInt64] = []
        for _ in 0..<20_000 {
            // Mostly 50-200 ns with a tail up to milliseconds, as the workloads see.
            let value = random.below(100) == 0 ? random.logUniform(1_000, 4_000_000) : 50 + UInt64(random.below(150))
            values.append(value)
            histogram.record(value)
        }
        values.sort()
        for fraction in [0.5, 0.99, 0.999, 1.0] {
            let exact = values[Int((fraction * Double(values.count)).rounded(.up)) - 1]
            let reported = histogram.percentile(fraction)
            #expect(reported >= exact && Double(reported) <= Double(exact) * (1 + 1.0 / 64), "p\(fraction * 100)")
        }
        #expect(histogram.max == values.last)
        #expect(histogram.count == UInt64(values.count))
        #expect(histogram.mean == Double(values.reduce(0, +)) / Double(values.count))
        #expect(LatencyHistogram().percentile(0.5) == 0)
    }

    /// Merging two histograms counts as recording both sets into one.
    @Test func mergeEqualsRecordingTogether() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        var both = LatencyHistogram()
        for value in [UInt64(3), 130, 9_999, 1 << 33] { a.record(value); both.record(value) }
        for value in [UInt64(1), 131, 77, 1 << 20] { b.record(value); both.record(value) }
        a.merge(b)
        #expect(a == both)
    }

    /// The latency pass of a small free-then-allocate run times every step and free.
    @Test func theSteadyLatencyPassTimesEveryOperation() {
        let work = (0..<500).map { SteadyStep(victim: UInt32($0 % 50), size: UInt32(256 << ($0 % 8))) }
        let histograms = VirtualWorkloadLatency.steady(blockSize: 64 << 20, initial: Array(repeating: 4096, count: 50),
                                                       work: work, strategy: .bestFit)
        #expect(histograms.step.count == 500)
        #expect(histograms.alloc.count == 500)
        #expect(histograms.free.count == 500)
        let drain = VirtualWorkloadLatency.fillThenDrain(count: 64, size: 1 << 16, order: Array((0..<64).reversed()),
                                                         strategy: .bestFit)
        #expect(drain.alloc.count == 64 && drain.free.count == 64 && drain.step.count == 0)
    }
}
