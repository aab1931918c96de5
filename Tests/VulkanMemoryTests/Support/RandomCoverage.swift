import Foundation

/// How many cases the seeded random suites run. `make test` runs the first half of each
/// suite's seeds, which keeps the whole `make test` within its 15 minutes on the 2-core CI
/// machine (these suites were 670 of the debug suite's 740 serial seconds); `make
/// test-long` sets `VKMEM_RANDOM_CASES=all` and runs every seed. The seeds are fixed, so a
/// run of either size is repeatable.
enum RandomCoverage {
    /// Every case when `VKMEM_RANDOM_CASES` is `all`, else the first `full / 2`.
    static func cases(_ full: UInt64) -> Range<UInt64> {
        0..<(ProcessInfo.processInfo.environment["VKMEM_RANDOM_CASES"] == "all" ? full : full / 2)
    }
}
