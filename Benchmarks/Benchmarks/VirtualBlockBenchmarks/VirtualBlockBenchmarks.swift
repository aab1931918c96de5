import Benchmark
import Suballocation
import Workloads

/// The `vkmem bench virtual` workloads under package-benchmark: wall clock per run plus
/// the per-operation figures of each run as custom metrics.
let benchmarks: @Sendable () -> Void = {
    let perOperation: [BenchmarkMetric] = [
        .custom("alloc_ns"), .custom("free_ns"), .custom("step_ns"), .custom("failures"),
        .custom("alloc_p99_ns"), .custom("alloc_p999_ns"), .custom("free_p999_ns"), .custom("step_p999_ns"),
    ]
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident] + perOperation,
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 5
    )
    for workload in VirtualWorkload.allCases {
        for strategy in [VirtualWorkloadStrategy.best, .first] {
            Benchmark("\(workload.rawValue) \(strategy) fit", configuration: configuration) { benchmark in
                let result = runVirtualWorkload(workload, strategy: strategy)
                benchmark.measurement(.custom("alloc_ns"), Int(result.allocNanoseconds.rounded()))
                benchmark.measurement(.custom("free_ns"), Int(result.freeNanoseconds.rounded()))
                benchmark.measurement(.custom("step_ns"), Int(result.stepNanoseconds.rounded()))
                benchmark.measurement(.custom("failures"), result.failures)
                // The latency pass (every operation timed alone); W2 has no steps.
                benchmark.measurement(.custom("alloc_p99_ns"), Int(result.allocLatency.p99))
                benchmark.measurement(.custom("alloc_p999_ns"), Int(result.allocLatency.p999))
                benchmark.measurement(.custom("free_p999_ns"), Int(result.freeLatency.p999))
                benchmark.measurement(.custom("step_p999_ns"), Int(result.stepLatency.p999))
            }
        }
    }
}
