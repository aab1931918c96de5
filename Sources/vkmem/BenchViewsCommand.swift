import ArgumentParser
import VulkanMemory

/// `vkmem bench views`: what a checked `MappedMemory` access costs against a raw pointer,
/// so the view's bounds and lifetime checks are a measured price, not a guess.
struct BenchViewsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "views",
        abstract: "Time 4-byte writes and reads through a mapped view against a raw pointer.",
        discussion: """
            Each round writes then reads --accesses 4-byte values through a view of a 64 KiB \
            host-visible allocation (bounds and lifetime checked on every access, no flush on \
            coherent memory), then the same through the raw pointer. Prints the median of the \
            rounds in ns per access; with --json, one JSON object.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Accesses timed per round and kind.")
    var accesses = 10_000_000

    @Option(help: "Rounds; the median is printed.")
    var rounds = 5

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard accesses >= 1024, rounds >= 1 else { throw ValidationError("--accesses must be at least 1024, --rounds at least 1") }
    }

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 1 << 16), usage: .staging,
                                                    options: AllocationOptions(mapped: true))
            let view = try allocator.map(allocation)
            guard view.needsSynchronization == false, let raw = allocation.mappedPointer else {
                throw ValidationError("the staging type is not host-coherent here; the comparison would time flushes")
            }
            var viewTimes: [Double] = [], rawTimes: [Double] = []
            var sink: UInt32 = 0
            for _ in 0..<rounds {
                let viewStart = ContinuousClock.now
                for index in 0..<accesses {
                    let offset = UInt64(index & 16383) &* 4
                    try view.write(UInt32(truncatingIfNeeded: index), at: offset)
                    sink &+= try view.read(UInt32.self, at: offset)
                }
                viewTimes.append(Self.nanoseconds(since: viewStart) / Double(2 * accesses))
                let rawStart = ContinuousClock.now
                for index in 0..<accesses {
                    let offset = (index & 16383) &* 4
                    raw.storeBytes(of: UInt32(truncatingIfNeeded: index), toByteOffset: offset, as: UInt32.self)
                    sink &+= raw.load(fromByteOffset: offset, as: UInt32.self)
                }
                rawTimes.append(Self.nanoseconds(since: rawStart) / Double(2 * accesses))
            }
            let viewNs = viewTimes.sorted()[rounds / 2], rawNs = rawTimes.sorted()[rounds / 2]
            if json {
                print("{\"view_ns_per_access\": \((viewNs * 100).rounded() / 100), "
                      + "\"raw_ns_per_access\": \((rawNs * 100).rounded() / 100), \"checksum\": \(sink)}")
            } else {
                print("view  \((viewNs * 100).rounded() / 100) ns per access (bounds and lifetime checked)")
                print("raw   \((rawNs * 100).rounded() / 100) ns per access (checksum \(sink))")
            }
            try allocator.free(allocation)
        }
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    }
}
