import ArgumentParser
import Workloads

/// `vkmem bench latency`: the machine's load latency by working-set size, to read W5
/// against W1 with.
struct BenchLatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Measure one dependent load's latency by working-set size (a pointer chase).",
        discussion: """
            W1's engine tables take a few hundred KiB, W5's about 5 MB: where this machine's \
            latency at 4-8 MiB is far above its latency at 512 KiB, W5 costs more than W1 per \
            step whatever the allocator does. With --json, one JSON object per size per line.
            """)

    @Flag(help: "Print one JSON object per size per line instead of a table.")
    var json = false

    @Option(help: "Dependent loads timed per size.")
    var loads = 4_000_000

    func validate() throws {
        guard loads >= 1 else { throw ValidationError("--loads must be at least 1") }
    }

    func run() throws {
        let sizes = [256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 32 << 20, 128 << 20]
        if !json { print("working set  ns per load") }
        for bytes in sizes {
            let ns = MemoryLatency.nanosecondsPerLoad(bytes: bytes, loads: loads)
            if json {
                print("{\"bytes\": \(bytes), \"ns_per_load\": \(oneDecimal(ns))}")
            } else {
                let label = bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
                print(label.padding(toLength: 11, withPad: " ", startingAt: 0) + "  " + oneDecimal(ns))
            }
        }
    }
}
