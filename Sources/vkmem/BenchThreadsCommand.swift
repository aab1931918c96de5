import ArgumentParser
import VulkanMemory
import Workloads

/// `vkmem bench threads`: W6, threads allocating and freeing on one shared allocator.
struct BenchThreadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threads",
        abstract: "Time threads allocating and freeing on one shared allocator (W6).",
        discussion: """
            Each thread keeps its own live allocations and runs its own seeded steps (free a \
            random one, allocate a new one); all start together at a barrier. Modes: one-type \
            (every thread in the one memory type .gpuOnly ranks first, through memoryTypeBits), \
            own-pool (each thread in a custom pool of its own, same type), buffers (W3's \
            destroyBuffer + createBuffer pairs), raw-buffers (the same Vulkan calls without the \
            allocator, each thread binding at offset 0 of one memory of its own). Throughput counts frees and allocations of all \
            threads over the time from the start to the last thread's end; speedup is the median \
            over rounds of throughput over the smallest thread count's in the same round. Rounds \
            alternate every mode and thread count; each figure is the median of --runs rounds, \
            with the lowest and highest throughput.

            Latency: one step in --sample-every (default 8) has its free and its allocation \
            timed alone with clock_gettime(CLOCK_MONOTONIC) into log-linear buckets (at most \
            1.6% above the true value): p50, p99, p99.9, max, all threads merged. Sampling \
            keeps the clock's cost (clock_ns, about one read in each value) to a fraction of a \
            read per operation. With --json, one JSON object per mode and thread count per line.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Print one JSON object per mode and thread count per line instead of a table.")
    var json = false

    @Option(help: "Rounds; the median is reported.")
    var runs = 3

    @Option(help: "Thread counts, comma-separated.")
    var threads = "1,2,4,8,16"

    @Option(help: "Modes, comma-separated: one-type, own-pool, buffers, raw-buffers.")
    var modes = "one-type,own-pool,buffers,raw-buffers"

    @Option(help: "Steps per thread (default 100,000; 25,000 for the buffer modes).")
    var steps: Int?

    @Option(help: "Live allocations per thread (default 1,000; 256 for the buffer modes).")
    var live: Int?

    @Option(name: .customLong("sample-every"), help: "Time one step in this many (a power of two).")
    var sampleEvery = 8

    private var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters()) } }
    private var selectedModes: [ThreadWorkload.Mode] {
        modes.split(separator: ",").compactMap { ThreadWorkload.Mode(rawValue: $0.trimmingCharacters()) }
    }

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        let counts = threads.split(separator: ",")
        guard !counts.isEmpty, counts.allSatisfy({ Int($0.trimmingCharacters()).map { $0 >= 1 && $0 <= 256 } ?? false }) else {
            throw ValidationError("--threads must list counts from 1 to 256, e.g. 1,2,4,8,16")
        }
        let names = modes.split(separator: ",")
        guard !names.isEmpty, names.allSatisfy({ ThreadWorkload.Mode(rawValue: $0.trimmingCharacters()) != nil }) else {
            throw ValidationError("--modes must list one-type, own-pool, buffers or raw-buffers")
        }
        guard sampleEvery >= 1, sampleEvery & (sampleEvery - 1) == 0 else {
            throw ValidationError("--sample-every must be a power of two")
        }
        guard (steps ?? 1) >= 1, (live ?? 1) >= 1 else { throw ValidationError("--steps and --live must be at least 1") }
    }

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            let counts = threadCounts
            let chosen = selectedModes
            let clock = MonotonicClock.readCost()
            var rounds: [String: [ThreadWorkloadResult]] = [:]
            let progress = ProgressLine("bench threads", total: runs * counts.count * chosen.count, quiet: json)
            var done = 0
            for _ in 0..<runs {
                for mode in chosen {
                    for count in counts {
                        progress.update(done, "\(mode.rawValue), \(count) threads")
                        var workload = ThreadWorkload(mode: mode, threads: count, live: live, steps: steps)
                        workload.sampleEvery = sampleEvery
                        rounds["\(mode.rawValue)/\(count)", default: []].append(try workload.run(on: context.device))
                        done += 1
                    }
                }
            }
            progress.finish()
            if !json {
                print("W6 on \(context.device.info.name), median of \(runs) alternating rounds; "
                      + "one step in \(sampleEvery) timed (a clock read costs \(oneDecimal(clock)) ns, about one is in each value)")
                print("mode       threads     Mops/s (min-max)      speedup  spread   alloc p50/p99/p99.9/max ns      free p50/p99/p99.9/max ns")
            }
            for mode in chosen {
                let base = rounds["\(mode.rawValue)/\(counts.min() ?? 1)"] ?? []
                for count in counts {
                    let runsOf = rounds["\(mode.rawValue)/\(count)"] ?? []
                    let throughput = runsOf.map(\.operationsPerSecond)
                    let speedup = median(zip(runsOf, base).map { $0.operationsPerSecond / $1.operationsPerSecond })
                    let spread = median(runsOf.map(\.threadSpread))
                    let alloc = LatencySummary.median(runsOf.map(\.allocLatency))
                    let free = LatencySummary.median(runsOf.map(\.freeLatency))
                    if json {
                        print("{\"workload\": \"W6\", \"mode\": \"\(mode.rawValue)\", \"threads\": \(count), "
                              + "\"ops_per_s\": \(Int(median(throughput))), \"ops_per_s_min\": \(Int(throughput.min() ?? 0)), "
                              + "\"ops_per_s_max\": \(Int(throughput.max() ?? 0)), \"speedup\": \(twoDecimals(speedup)), "
                              + "\"thread_spread\": \(twoDecimals(spread))" + latencyJSON("alloc", alloc) + latencyJSON("free", free)
                              + ", \"sample_every\": \(sampleEvery), \"clock_ns\": \(oneDecimal(clock)), "
                              + "\"device\": \"\(context.device.info.name)\", \"runs\": \(runs)}")
                    } else {
                        let mops = "\(twoDecimals(median(throughput) / 1e6)) (\(twoDecimals((throughput.min() ?? 0) / 1e6))-\(twoDecimals((throughput.max() ?? 0) / 1e6)))"
                        func figures(_ s: LatencySummary) -> String {
                            "\(Int(s.p50))/\(Int(s.p99))/\(Int(s.p999))/\(Int(s.max))".padding(toLength: 32, withPad: " ", startingAt: 0)
                        }
                        print(mode.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(count)".leftPadded(8)
                              + "   " + mops.padding(toLength: 22, withPad: " ", startingAt: 0)
                              + "\(twoDecimals(speedup))×".leftPadded(7) + "\(twoDecimals(spread))".leftPadded(8) + "   "
                              + figures(alloc) + figures(free))
                    }
                }
            }
            if !json, chosen.contains(.oneType), counts.contains(8), counts.contains(1),
               let eight = rounds["one-type/8"], let one = rounds["one-type/1"] {
                // The issue's target for one memory type.
                let speedup = median(zip(eight, one).map { $0.operationsPerSecond / $1.operationsPerSecond })
                let alloc = LatencySummary.median(eight.map(\.allocLatency))
                let met = speedup >= 4 && alloc.p99 < 10 * alloc.p50
                print("target, one-type at 8 threads: speedup ≥ 4× and alloc p99 < 10 × p50: "
                      + "\(twoDecimals(speedup))×, p99/p50 \(twoDecimals(alloc.p99 / max(alloc.p50, 1))): \(met ? "met" : "not met")")
            }
        }
    }

    private func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func twoDecimals(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}

extension Substring {
    /// Without surrounding spaces: `--threads "1, 2"` reads as `1,2`.
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
