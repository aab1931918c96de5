import ArgumentParser
import VulkanMemory
import Workloads

/// `vkmem bench resources`: W3, buffers created, bound and destroyed through the allocator
/// on a real device, against the same Vulkan calls with no allocator.
struct BenchResourcesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resources",
        abstract: "Time buffer create+bind+destroy through the allocator (W3) against raw Vulkan calls.",
        discussion: """
            Each figure is the median of --runs runs; --json prints one JSON object.

            Latency: after the timed steps, each run repeats them with a fresh allocator in a pass \
            of its own that times every destroyBuffer and createBuffer (and each raw Vulkan pair, \
            in alternating chunks) alone with clock_gettime(CLOCK_MONOTONIC), into log-linear \
            buckets (at most 1.6% above the true value): p50, p99, p99.9, max. The mean figures \
            come from passes without per-operation clocks; each percentile includes about one \
            clock read, whose cost is printed (clock_ns). --no-latency skips the pass.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Print a JSON object instead of a table.")
    var json = false

    @Option(help: "Runs; the median is reported.")
    var runs = 3

    @Option(help: "Destroy-then-create steps per run.")
    var steps = 100_000

    @Option(help: "Live buffers.")
    var live = 2_000

    @Option(help: "The generator's seed (sizes and victims).")
    var seed: UInt64 = 3

    @Option(name: .customLong("page-mib"), help: "Preferred page size for device-local types, in MiB (default 128).")
    var pageMiB: UInt64?

    @Option(name: .customLong("reserve-mib"), help: "MiB to reserve for GPU-only memory before the fill (default 0).")
    var reserveMiB: UInt64 = 0

    @Option(help: "TLSF strategy: best, first or lowest.")
    var strategy = "best"

    @Flag(inversion: .prefixedNo, help: "Time every create and destroy alone in a pass of its own (p50, p99, p99.9, max).")
    var latency = true

    @Option(help: "Defragmentation: full (after the steps, passes without limits until none moves anything), passes (after the steps, ten of 8 MiB each) or incremental (during the steps, a moving pass every --interval steps of at most --budget-mib, its copies submitted and timed).")
    var defragment = "full"

    @Option(help: "With --defragment incremental: steps between two moving passes.")
    var interval = 1_000

    @Option(name: .customLong("budget-mib"), help: "With --defragment incremental: the most MiB one pass moves.")
    var budgetMiB: UInt64 = 8

    @Option(name: .customLong("warm-up"), help: "With --defragment incremental: steps before the committed/live ratio counts.")
    var warmUp = 10_000

    func validate() throws {
        guard runs >= 1, steps >= 1, live >= 1 else {
            throw ValidationError("--runs, --steps and --live must be at least 1")
        }
        guard ResourceWorkload.Defragmentation(rawValue: defragment) != nil || defragment == "incremental" else {
            throw ValidationError("--defragment must be full, passes or incremental")
        }
        guard interval >= 1, budgetMiB >= 1, warmUp >= 0 else {
            throw ValidationError("--interval and --budget-mib must be at least 1, --warm-up at least 0")
        }
    }

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            if defragment == "incremental" { return try runIncremental(context) }
            var workload = ResourceWorkload(live: live, steps: steps, seed: seed)
            workload.strategy = VirtualWorkloadStrategy(rawValue: strategy)?.strategy ?? .bestFit
            workload.reservedBytes = reserveMiB << 20
            workload.defragmentation = ResourceWorkload.Defragmentation(rawValue: defragment) ?? .full
            workload.timingEachOperation = latency
            let clock = latency ? MonotonicClock.readCost() : 0
            let latencies = { (r: ResourceWorkloadResult) in
                [("create", r.createLatency), ("destroy", r.destroyLatency), ("pair", r.pairLatency),
                 ("raw_pair", r.rawPairLatency)]
            }
            var results: [ResourceWorkloadResult] = []
            var options = AllocatorOptions()
            if let pageMiB { options.deviceLocalPageSize = pageMiB << 20 }
            let progress = ProgressLine("bench resources", total: runs, quiet: json)
            for run in 0..<runs {
                progress.update(run, "runs, \(steps) steps each")
                results.append(try workload.run(on: context.device, options: options))
            }
            progress.finish()
            let r = ResourceWorkloadResult.median(results)
            if json {
                print("{\"workload\": \"\(r.workload)\", \"pair_ns\": \(oneDecimal(r.pairNanoseconds)), "
                      + "\"raw_pair_ns\": \(oneDecimal(r.rawPairNanoseconds)), \"allocate_calls\": \(r.allocateCalls), "
                      + "\"committed_bytes\": \(r.committedBytes), \"live_bytes\": \(r.liveBytes), "
                      + "\"pages\": \(r.pages), \"buffer_alignment\": \(r.bufferAlignment), \"allocator_pair_ns\": \(oneDecimal(r.allocatorPairNanoseconds)), "
                      + "\"engine_pair_ns\": \(oneDecimal(r.enginePairNanoseconds)), "
                      + "\"floor_pair_ns\": \(oneDecimal(r.floorPairNanoseconds)), "
                      + "\"raw_placed_pair_ns\": \(oneDecimal(r.rawPlacedPairNanoseconds)), "
                      + "\"replay_matched\": \(r.replayMatched), "
                      + "\"best_fit_peak_bytes\": \(r.bestFitPeakBytes), \"best_fit_end_bytes\": \(r.bestFitEndBytes), "
                      + "\"peak_live_bytes\": \(r.peakLiveBytes), "
                      + "\"defragmented_committed_bytes\": \(r.defragmentedCommittedBytes), "
                      + "\"defragmentation_moved_bytes\": \(r.defragmentationMovedBytes), "
                      + "\"defragmentation\": \"\(defragment)\", \"defragmentation_passes\": \(r.defragmentationPasses), "
                      + "\"defragmentation_ms\": \(oneDecimal(r.defragmentationNanoseconds / 1e6)), \"device\": \"\(context.device.info.name)\", \"runs\": \(runs)"
                      + (latency ? latencies(r).map { latencyJSON($0.0, $0.1) }.joined() + ", \"clock_ns\": \(oneDecimal(clock))" : "")
                      + "}")
            } else {
                print("W3 on \(context.device.info.name), median of \(runs) runs, \(steps) steps, \(live) live buffers")
                print("  pair (destroy + create + bind):  \(oneDecimal(r.pairNanoseconds)) ns")
                print("  raw Vulkan calls, no allocator:  \(oneDecimal(r.rawPairNanoseconds)) ns")
                print("  the same, bound where the allocator bound each buffer: \(oneDecimal(r.rawPlacedPairNanoseconds)) ns")
                print("  allocator overhead:              \(oneDecimal(r.pairNanoseconds - r.rawPairNanoseconds)) ns")
                print("  of which Allocator free+allocate: \(oneDecimal(r.allocatorPairNanoseconds)) ns (measured alone)")
                print("  of which placement in one bare VirtualBlock: \(oneDecimal(r.enginePairNanoseconds)) ns")
                print("  raw calls placed by that engine alone, no allocator layers: "
                      + (r.floorPairNanoseconds > 0 ? "\(oneDecimal(r.floorPairNanoseconds)) ns" : "not measured"))
                print("  vkAllocateMemory during steps:   \(r.allocateCalls)")
                let ratio = r.liveBytes == 0 ? 0 : Double(r.committedBytes) / Double(r.liveBytes) * 100
                print("  committed / live:                \(formatBytes(r.committedBytes)) / \(formatBytes(r.liveBytes)) (\(oneDecimal(ratio))%) in \(r.pages) pages, buffers aligned to \(r.bufferAlignment) bytes")
                let bound = r.liveBytes == 0 ? 0 : Double(r.bestFitPeakBytes) / Double(r.liveBytes) * 100
                let atEnd = r.liveBytes == 0 ? 0 : Double(r.bestFitEndBytes) / Double(r.liveBytes) * 100
                let peakLive = r.liveBytes == 0 ? 0 : Double(r.peakLiveBytes) / Double(r.liveBytes) * 100
                print("  live bytes at their peak:        \(formatBytes(r.peakLiveBytes)) (\(oneDecimal(peakLive))% of live at the end)")
                print("  exact best fit, one range, peak: \(formatBytes(r.bestFitPeakBytes)) (\(oneDecimal(bound))% of live), "
                      + "at the end \(formatBytes(r.bestFitEndBytes)) (\(oneDecimal(atEnd))%)")
                let defragmented = r.liveBytes == 0 ? 0 : Double(r.defragmentedCommittedBytes) / Double(r.liveBytes) * 100
                print("  defragmentation (\(defragment)), committed / live before: \(formatBytes(r.committedBytes)) / \(formatBytes(r.liveBytes)) (\(oneDecimal(ratio))%)")
                print("  after defragmentation:           \(formatBytes(r.defragmentedCommittedBytes)) / \(formatBytes(r.liveBytes)) (\(oneDecimal(defragmented))% of live), "
                      + "\(formatBytes(r.defragmentationMovedBytes)) moved in \(r.defragmentationPasses) passes, \(oneDecimal(r.defragmentationNanoseconds / 1e6)) ms")
                if latency {
                    print("  per-operation latency, ns (each timed alone in a pass of its own; a clock read, included, costs \(oneDecimal(clock)) ns):")
                    printLatencyTable(latencies(r))
                }
            }
            // With --validation, a message means the figures came from invalid usage.
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.prefix(20).forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}

/// `vkmem bench`: the benchmark workloads.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the benchmark workloads.",
        subcommands: [BenchVirtualCommand.self, BenchResourcesCommand.self, BenchLatencyCommand.self,
                      BenchViewsCommand.self, BenchThreadsCommand.self, BenchSlicesCommand.self])
}

/// The per-operation latency table of `bench resources` and `bench slices`: one row per
/// operation, p50, p99, p99.9 and max in nanoseconds.
func printLatencyTable(_ rows: [(String, LatencySummary)]) {
    print("    op              p50       p99     p99.9        max")
    for (op, s) in rows {
        print("    " + op.padding(toLength: 10, withPad: " ", startingAt: 0)
              + [s.p50, s.p99, s.p999].map { String(Int($0)).leftPadded(10) }.joined()
              + String(Int(s.max)).leftPadded(11))
    }
}

extension String {
    /// The string right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

/// One decimal place, for benchmark figures.
func oneDecimal(_ x: Double) -> String {
    let tenths = (x * 10).rounded()
    let sign = tenths < 0 ? "-" : ""
    let magnitude = Int(abs(tenths))
    return "\(sign)\(magnitude / 10).\(magnitude % 10)"
}
