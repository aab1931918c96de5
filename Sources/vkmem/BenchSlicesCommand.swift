import ArgumentParser
import VulkanMemory
import Workloads

/// `vkmem bench slices`: W7, 256-byte uniform slices of a buffer arena freed and
/// allocated in steady state, against the bare TLSF engine and a buffer per allocation.
struct BenchSlicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slices",
        abstract: "Time arena slice free+allocate (W7) against the bare engine and createBuffer/destroyBuffer.",
        discussion: """
            Each mean is the median of --runs runs; --json prints one JSON object. slice_ns is a \
            BufferArena free+allocate pair, engine_ns the same steps in one bare VirtualBlock, \
            pair_ns a destroyBuffer+createBuffer pair through the allocator (a VkBuffer each). \
            The latency pass times every slice pair and buffer pair alone (p50, p99, p99.9, max).
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Print a JSON object instead of a table.")
    var json = false

    @Option(help: "Runs; the median is reported.")
    var runs = 3

    @Option(help: "Free-then-allocate steps per run.")
    var steps = 100_000

    @Option(help: "Live slices.")
    var live = 2_000

    @Option(help: "The generator's seed (victims).")
    var seed: UInt64 = 7

    @Flag(inversion: .prefixedNo, help: "Time every pair alone in a pass of its own (p50, p99, p99.9, max).")
    var latency = true

    func validate() throws {
        guard runs >= 1, steps >= 1, live >= 1 else {
            throw ValidationError("--runs, --steps and --live must be at least 1")
        }
    }

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            var workload = SliceWorkload(live: live, steps: steps, seed: seed)
            workload.timingEachOperation = latency
            var results: [SliceWorkloadResult] = []
            let progress = ProgressLine("bench slices", total: runs, quiet: json)
            for run in 0..<runs {
                progress.update(run, "runs, \(steps) steps each")
                results.append(try workload.run(on: context.device))
            }
            progress.finish()
            let r = SliceWorkloadResult.median(results)
            let latencies = [("slice", r.sliceLatency), ("pair", r.pairLatency)]
            if json {
                print("{\"workload\": \"\(r.workload)\", \"slice_ns\": \(oneDecimal(r.sliceNanoseconds)), "
                      + "\"engine_ns\": \(oneDecimal(r.engineNanoseconds)), \"pair_ns\": \(oneDecimal(r.pairNanoseconds)), "
                      + "\"slice_over_engine\": \(twoDecimals(r.sliceNanoseconds / r.engineNanoseconds)), "
                      + "\"pair_over_slice\": \(twoDecimals(r.pairNanoseconds / r.sliceNanoseconds)), "
                      + "\"arena_buffers\": \(r.arenaBuffers), \"slice_alignment\": \(r.sliceAlignment), "
                      + "\"device\": \"\(context.device.info.name)\", \"runs\": \(runs)"
                      + (latency ? latencies.map { latencyJSON($0.0, $0.1) }.joined() : "")
                      + "}")
            } else {
                print("W7 on \(context.device.info.name), median of \(runs) runs, \(steps) steps, \(live) live 256-byte slices "
                      + "(alignment \(r.sliceAlignment), \(r.arenaBuffers) arena buffer(s))")
                print("  slice (arena free + allocate):        \(oneDecimal(r.sliceNanoseconds)) ns")
                print("  engine (bare VirtualBlock, same steps): \(oneDecimal(r.engineNanoseconds)) ns "
                      + "(slice / engine \(twoDecimals(r.sliceNanoseconds / r.engineNanoseconds)))")
                print("  pair (destroyBuffer + createBuffer):  \(oneDecimal(r.pairNanoseconds)) ns "
                      + "(pair / slice \(twoDecimals(r.pairNanoseconds / r.sliceNanoseconds)))")
                if latency {
                    print("  per-pair latency, ns (each timed alone in a pass of its own):")
                    printLatencyTable(latencies)
                }
            }
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.prefix(20).forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}

/// Two decimal places, for ratios.
func twoDecimals(_ x: Double) -> String {
    guard x.isFinite else { return "0.00" }
    let hundredths = Int((x * 100).rounded())
    let cents = hundredths % 100
    return "\(hundredths / 100).\(cents < 10 ? "0" : "")\(cents)"
}
