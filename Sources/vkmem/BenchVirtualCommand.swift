import ArgumentParser
import Workloads

/// `vkmem bench virtual`: times the suballocation engine on the virtual workloads.
struct BenchVirtualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virtual",
        abstract: "Time VirtualBlock (TLSF) allocate and free on workloads W1, W2, W4 and W5.",
        discussion: """
            Sizes and victims are drawn before timing. Each figure is the median of --runs runs. \
            With --json, one JSON object per workload is printed per line (JSON Lines).

            Latency: after its mean passes, each run repeats the same work in a pass of its own \
            that times every operation alone (clock_gettime(CLOCK_MONOTONIC), two reads a step), \
            into log-linear buckets (at most 1.6% above the true value): p50, p99, p99.9 and max of \
            alloc, free and step (alloc + free; none for W2). The means above come from passes \
            without per-operation clocks, so the timing does not distort them; each percentile \
            includes about one clock read, whose cost is measured and printed (clock_ns). \
            Each percentile is the median of the runs' percentiles. --no-latency skips the pass.

            W2 fills memory the process may never have written: its first run pays the kernel's \
            page faults (alloc_page_faults), so it runs once before the timed runs and is \
            reported on its own (first_run_alloc_ns, first_run_page_faults).
            """)

    @Flag(help: "Print one JSON object per workload per line instead of a table.")
    var json = false

    @Option(help: "Runs per workload; the median is reported.")
    var runs = 3

    @Option(help: "One workload to run: W1, W2, W4 or W5 (default: all).")
    var workload: String?

    @Option(help: "TLSF strategy: best, first or lowest.")
    var strategy = "best"

    @Flag(inversion: .prefixedNo, help: "Time every operation alone in a pass of its own (p50, p99, p99.9, max).")
    var latency = true

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let workload, VirtualWorkload(rawValue: workload.uppercased()) == nil {
            throw ValidationError("unknown workload \(workload); use W1, W2, W4 or W5")
        }
        guard VirtualWorkloadStrategy(rawValue: strategy) != nil else {
            throw ValidationError("unknown strategy \(strategy); use best, first or lowest")
        }
    }

    @Flag(inversion: .prefixedNo, help: "Keep freed heap memory in the process (glibc), so runs after the first reuse it.")
    var keepFreedMemory = true

    func run() throws {
        if keepFreedMemory { HeapRetention.keepFreedMemory() }
        let selected = workload.flatMap { VirtualWorkload(rawValue: $0.uppercased()) }.map { [$0] }
            ?? VirtualWorkload.allCases
        let chosen = VirtualWorkloadStrategy(rawValue: strategy) ?? .best
        if !json {
            print("workload  alloc_ns  free_ns  step_ns  failures     live  free_ranges  largest_free   (median of \(runs), \(strategy) fit)")
        }
        // W1 and W5 run in alternating rounds when both are asked for: W5's cost against
        // W1's is then taken from runs minutes apart at most, not from runs the whole
        // benchmark apart, on a host whose memory latency drifts (see `bench latency`).
        // On a terminal, standard error shows which workload runs and how far the whole is.
        let progress = ProgressLine("bench virtual", total: runs * selected.count + (selected.contains(.w2) ? 1 : 0),
                                    quiet: json)
        var done = 0
        func timed(_ w: VirtualWorkload) -> VirtualWorkloadResult {
            progress.update(done, "running \(w.rawValue)")
            defer { done += 1 }
            return runVirtualWorkload(w, strategy: chosen, timingEachOperation: latency)
        }
        var rounds: [VirtualWorkload: [VirtualWorkloadResult]] = [:]
        if selected.contains(.w1) && selected.contains(.w5) {
            for _ in 0..<runs {
                for w in [VirtualWorkload.w1, .w5] { rounds[w, default: []].append(timed(w)) }
            }
        }
        defer { progress.finish() }
        let clock = latency ? MonotonicClock.readCost() : 0
        var latencyRows: [String] = []
        for w in selected {
            // W2 writes 3 MB of records into memory the process has not written before:
            // a cold run pays a page fault per 4 KiB (1.4 µs on this project's VMs, more in
            // a microVM whose memory grows as it is used), about 11 ns an allocation, and
            // glibc serves the next block's table from fresh heap pages once more. One run
            // first, reported on its own (`first_run_*`), so that the median is of the
            // engine, not of the kernel's page zeroing.
            let firstRun = w == .w2 ? timed(w) : nil
            let runsOfW = rounds[w] ?? (0..<runs).map { _ in timed(w) }
            var result = VirtualWorkloadResult.median(runsOfW)
            if let firstRun {
                result.firstRunAllocNanoseconds = firstRun.allocNanoseconds
                result.firstRunAllocPageFaults = firstRun.allocPageFaults
            }
            var ratio: Double?
            if w == .w5, let w1 = rounds[.w1], let w5 = rounds[.w5] {
                let ratios = zip(w5, w1).map { $0.stepNanoseconds / $1.stepNanoseconds }.sorted()
                ratio = ratios.count % 2 == 1 ? ratios[ratios.count / 2]
                    : (ratios[ratios.count / 2 - 1] + ratios[ratios.count / 2]) / 2
            }
            progress.clear()
            print(json ? jsonLine(result, w1Ratio: ratio, clock: clock) : tableRow(result))
            if !json, let ratio { print("W5 step / W1 step, median over alternating rounds: \(twoDecimals(ratio))") }
            if !json, firstRun != nil {
                print("W2 first run (fresh memory, before the timed runs): alloc \(oneDecimal(result.firstRunAllocNanoseconds)) ns, "
                      + "\(result.firstRunAllocPageFaults) page faults; timed runs: \(result.allocPageFaults) page faults")
            }
            if latency {
                latencyRows += [("alloc", result.allocLatency), ("free", result.freeLatency), ("step", result.stepLatency)]
                    .filter { $0.1.count > 0 }
                    .map { latencyRow(result.workload, $0.0, $0.1) }
            }
        }
        if !json, latency {
            progress.clear()
            print("")
            print("per-operation latency, ns (every operation timed in a pass of its own; a clock read, "
                  + "included in each, costs \(oneDecimal(clock)) ns)")
            print("workload  op          p50       p99     p99.9        max      mean")
            latencyRows.forEach { print($0) }
        }
    }

    private func latencyRow(_ workload: String, _ op: String, _ s: LatencySummary) -> String {
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        return pad(workload, 8) + "  " + op.padding(toLength: 6, withPad: " ", startingAt: 0)
            + pad("\(Int(s.p50))", 9) + pad("\(Int(s.p99))", 10) + pad("\(Int(s.p999))", 10) + pad("\(Int(s.max))", 11)
            + pad(oneDecimal(s.mean), 10)
    }

    private func twoDecimals(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        return "\(hundredths / 100).\(String(repeating: "0", count: hundredths % 100 < 10 ? 1 : 0))\(hundredths % 100)"
    }

    private func oneDecimal(_ x: Double) -> String {
        let tenths = (x * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }

    /// The issue's keys, and for W5 run alternately with W1, `w1_ratio`: the median over
    /// rounds of W5's step time over W1's in the same round.
    /// With the latency pass, `<op>_p50_ns`, `<op>_p99_ns`, `<op>_p999_ns`, `<op>_max_ns`
    /// for alloc, free and step (not W2's step) and `clock_ns`.
    private func jsonLine(_ r: VirtualWorkloadResult, w1Ratio: Double?, clock: Double) -> String {
        var line = "{\"workload\": \"\(r.workload)\", \"alloc_ns\": \(oneDecimal(r.allocNanoseconds)), "
            + "\"free_ns\": \(oneDecimal(r.freeNanoseconds)), \"step_ns\": \(oneDecimal(r.stepNanoseconds)), "
            + "\"failures\": \(r.failures), \"live\": \(r.live), \"free_ranges\": \(r.freeRanges), "
            + "\"largest_free\": \(r.largestFree)"
            + (r.workload == VirtualWorkload.w2.rawValue
                ? ", \"alloc_page_faults\": \(r.allocPageFaults), \"first_run_alloc_ns\": "
                    + "\(oneDecimal(r.firstRunAllocNanoseconds)), \"first_run_page_faults\": \(r.firstRunAllocPageFaults)"
                : "")
            + (w1Ratio.map { ", \"w1_ratio\": \(twoDecimals($0))" } ?? "")
        if latency {
            for (op, s) in [("alloc", r.allocLatency), ("free", r.freeLatency), ("step", r.stepLatency)] where s.count > 0 {
                line += latencyJSON(op, s)
            }
            line += ", \"clock_ns\": \(oneDecimal(clock))"
        }
        return line + "}"
    }

    private func tableRow(_ r: VirtualWorkloadResult) -> String {
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        return pad(r.workload, 8) + pad(oneDecimal(r.allocNanoseconds), 10) + pad(oneDecimal(r.freeNanoseconds), 9)
            + pad(oneDecimal(r.stepNanoseconds), 9) + pad("\(r.failures)", 10) + pad("\(r.live)", 9)
            + pad("\(r.freeRanges)", 13) + pad("\(r.largestFree)", 14)
    }
}

/// `, "<op>_p50_ns": …, "<op>_p99_ns": …, "<op>_p999_ns": …, "<op>_max_ns": …`: one
/// kind of operation's percentiles as JSON members, for every bench command.
func latencyJSON(_ op: String, _ s: LatencySummary) -> String {
    ", \"\(op)_p50_ns\": \(Int(s.p50)), \"\(op)_p99_ns\": \(Int(s.p99)), \"\(op)_p999_ns\": \(Int(s.p999)), "
        + "\"\(op)_max_ns\": \(Int(s.max))"
}
