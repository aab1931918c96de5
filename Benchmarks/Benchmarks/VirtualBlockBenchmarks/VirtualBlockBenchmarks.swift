import Benchmark
import Suballocation
import Workloads

/// The `vkmem bench virtual` workloads under package-benchmark: wall clock per run plus
/// the per-operation figures of each run as custom metrics.
let benchmarks: @Sendable () -> Void = {
    let perOperation: [BenchmarkMetric] = [
        .custom("alloc_ns"), .custom("free_ns"), .custom("step_ns"), .custom("failures"),
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
            }
        }
    }
}
