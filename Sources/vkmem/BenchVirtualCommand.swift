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
            """)

    @Flag(help: "Print one JSON object per workload per line instead of a table.")
    var json = false

    @Option(help: "Runs per workload; the median is reported.")
    var runs = 3

    @Option(help: "One workload to run: W1, W2, W4 or W5 (default: all).")
    var workload: String?

    @Option(help: "TLSF strategy: best, first or lowest.")
    var strategy = "best"

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let workload, VirtualWorkload(rawValue: workload.uppercased()) == nil {
            throw ValidationError("unknown workload \(workload); use W1, W2, W4 or W5")
        }
        guard VirtualWorkloadStrategy(rawValue: strategy) != nil else {
            throw ValidationError("unknown strategy \(strategy); use best, first or lowest")
        }
    }

    func run() throws {
        let selected = workload.flatMap { VirtualWorkload(rawValue: $0.uppercased()) }.map { [$0] }
            ?? VirtualWorkload.allCases
        let chosen = VirtualWorkloadStrategy(rawValue: strategy) ?? .best
        if !json {
            print("workload  alloc_ns  free_ns  step_ns  failures     live  free_ranges  largest_free   (median of \(runs), \(strategy) fit)")
        }
        for w in selected {
            let result = VirtualWorkloadResult.median((0..<runs).map { _ in runVirtualWorkload(w, strategy: chosen) })
            print(json ? jsonLine(result) : tableRow(result))
        }
    }

    private func oneDecimal(_ x: Double) -> String {
        let tenths = (x * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }

    private func jsonLine(_ r: VirtualWorkloadResult) -> String {
        "{\"workload\": \"\(r.workload)\", \"alloc_ns\": \(oneDecimal(r.allocNanoseconds)), "
            + "\"free_ns\": \(oneDecimal(r.freeNanoseconds)), \"step_ns\": \(oneDecimal(r.stepNanoseconds)), "
            + "\"failures\": \(r.failures), \"live\": \(r.live), \"free_ranges\": \(r.freeRanges), "
            + "\"largest_free\": \(r.largestFree)}"
    }

    private func tableRow(_ r: VirtualWorkloadResult) -> String {
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        return pad(r.workload, 8) + pad(oneDecimal(r.allocNanoseconds), 10) + pad(oneDecimal(r.freeNanoseconds), 9)
            + pad(oneDecimal(r.stepNanoseconds), 9) + pad("\(r.failures)", 10) + pad("\(r.live)", 9)
            + pad("\(r.freeRanges)", 13) + pad("\(r.largestFree)", 14)
    }
}
