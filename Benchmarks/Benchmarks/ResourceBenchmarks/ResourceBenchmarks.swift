import Benchmark
import VulkanMemory
import Workloads

/// W3 (`vkmem bench resources`) under package-benchmark, on the default Vulkan device:
/// buffers created, bound and destroyed through the allocator, against the same Vulkan
/// calls with no allocator. W7 (`vkmem bench slices`): 256-byte uniform slices of a buffer
/// arena freed and allocated, against the bare engine and a buffer per allocation.
let benchmarks: @Sendable () -> Void = {
    let perPair: [BenchmarkMetric] = [
        .custom("pair_ns"), .custom("raw_pair_ns"), .custom("raw_placed_pair_ns"), .custom("allocator_pair_ns"), .custom("engine_pair_ns"),
        .custom("allocate_calls"),
        .custom("committed_percent_of_live"), .custom("pair_percent_of_raw"),
        .custom("create_p99_ns"), .custom("create_p999_ns"), .custom("pair_p999_ns"), .custom("raw_pair_p999_ns"),
    ]
    // Times move by up to 60% between runs minutes apart on the 2-core CI-kind VM (its
    // host's clock), tails by more; the page policy is deterministic, so committed memory
    // may grow by 3 points of live at most and device allocations during the steps by one.
    let means = BenchmarkThresholds(relative: [.p90: 60])
    let tails = BenchmarkThresholds(relative: [.p90: 200])
    // Heap allocations per run (the driver's included: lavapipe allocates each VkBuffer)
    // do not move with the host's clock: a create or destroy that starts allocating an
    // object adds 100,000 a run and fails this check on any machine, however slow.
    let mallocs = BenchmarkThresholds(relative: [.p90: 5])
    var thresholds: [BenchmarkMetric: BenchmarkThresholds] = [
        .wallClock: means, .mallocCountTotal: mallocs,
        .custom("allocate_calls"): BenchmarkThresholds(absolute: [.p90: 1]),
        .custom("committed_percent_of_live"): BenchmarkThresholds(absolute: [.p90: 3]),
    ]
    for metric in ["pair_ns", "allocator_pair_ns", "engine_pair_ns"] { thresholds[.custom(metric)] = means }
    // The pair as a share of the driver's own calls, timed in alternating chunks of the same
    // run: a slow host slows both, so this moves far less than the times above. On
    // 2026-12-05 the pair took 436-907 ns in one slow hour against 282 ns when the
    // thresholds were taken, while this stayed at 306-318% (288% then).
    thresholds[.custom("pair_percent_of_raw")] = BenchmarkThresholds(relative: [.p90: 25])
    // The driver's own calls (lavapipe's here), not this library's: only a gross change.
    for metric in ["raw_pair_ns", "raw_placed_pair_ns"] { thresholds[.custom(metric)] = tails }
    for metric in ["create_p99_ns", "create_p999_ns", "pair_p999_ns", "raw_pair_p999_ns"] { thresholds[.custom(metric)] = tails }
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal] + perPair,
        warmupIterations: 0,
        maxDuration: .seconds(60),
        maxIterations: 3,
        thresholds: thresholds
    )
    Benchmark("W3 buffers through the allocator", configuration: configuration) { benchmark in
        let context: VulkanContext
        do { context = try VulkanContext() } catch {
            fatalError("W3 needs a Vulkan device: \(error)")
        }
        let result: ResourceWorkloadResult
        do { result = try ResourceWorkload().run(on: context.device) } catch {
            fatalError("W3 failed: \(error)")
        }
        benchmark.measurement(.custom("pair_ns"), Int(result.pairNanoseconds.rounded()))
        benchmark.measurement(.custom("raw_pair_ns"), Int(result.rawPairNanoseconds.rounded()))
        benchmark.measurement(.custom("raw_placed_pair_ns"), Int(result.rawPlacedPairNanoseconds.rounded()))
        benchmark.measurement(.custom("allocator_pair_ns"), Int(result.allocatorPairNanoseconds.rounded()))
        benchmark.measurement(.custom("engine_pair_ns"), Int(result.enginePairNanoseconds.rounded()))
        benchmark.measurement(.custom("pair_percent_of_raw"),
                              Int((result.pairNanoseconds / max(result.rawPairNanoseconds, 1) * 100).rounded()))
        benchmark.measurement(.custom("allocate_calls"), result.allocateCalls)
        benchmark.measurement(.custom("create_p99_ns"), Int(result.createLatency.p99))
        benchmark.measurement(.custom("create_p999_ns"), Int(result.createLatency.p999))
        benchmark.measurement(.custom("pair_p999_ns"), Int(result.pairLatency.p999))
        benchmark.measurement(.custom("raw_pair_p999_ns"), Int(result.rawPairLatency.p999))
        benchmark.measurement(.custom("committed_percent_of_live"),
                              Int(Double(result.committedBytes) / Double(max(result.liveBytes, 1)) * 100))
        benchmark.measurement(.custom("defragmented_committed_percent_of_live"),
                              Int(Double(result.defragmentedCommittedBytes) / Double(max(result.liveBytes, 1)) * 100))
        benchmark.measurement(.custom("best_fit_peak_percent_of_live"),
                              Int(Double(result.bestFitPeakBytes) / Double(max(result.liveBytes, 1)) * 100))
        benchmark.measurement(.custom("peak_live_percent_of_live"),
                              Int(Double(result.peakLiveBytes) / Double(max(result.liveBytes, 1)) * 100))
        benchmark.measurement(.custom("best_fit_end_percent_of_live"),
                              Int(Double(result.bestFitEndBytes) / Double(max(result.liveBytes, 1)) * 100))
    }

    let slicePairs: [BenchmarkMetric] = [
        .custom("slice_ns"), .custom("engine_ns"), .custom("pair_ns"), .custom("slice_p999_ns"), .custom("pair_p999_ns"),
    ]
    var sliceThresholds: [BenchmarkMetric: BenchmarkThresholds] = [.wallClock: means, .mallocCountTotal: mallocs]
    for metric in ["slice_ns", "engine_ns", "pair_ns"] { sliceThresholds[.custom(metric)] = means }
    for metric in ["slice_p999_ns", "pair_p999_ns"] { sliceThresholds[.custom(metric)] = tails }
    let sliceConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal] + slicePairs,
        warmupIterations: 0,
        maxDuration: .seconds(60),
        maxIterations: 3,
        thresholds: sliceThresholds
    )
    Benchmark("W7 slices of a buffer arena", configuration: sliceConfiguration) { benchmark in
        let context: VulkanContext
        do { context = try VulkanContext() } catch {
            fatalError("W7 needs a Vulkan device: \(error)")
        }
        let result: SliceWorkloadResult
        do { result = try SliceWorkload().run(on: context.device) } catch {
            fatalError("W7 failed: \(error)")
        }
        benchmark.measurement(.custom("slice_ns"), Int(result.sliceNanoseconds.rounded()))
        benchmark.measurement(.custom("engine_ns"), Int(result.engineNanoseconds.rounded()))
        benchmark.measurement(.custom("pair_ns"), Int(result.pairNanoseconds.rounded()))
        benchmark.measurement(.custom("slice_p999_ns"), Int(result.sliceLatency.p999))
        benchmark.measurement(.custom("pair_p999_ns"), Int(result.pairLatency.p999))
    }
}
