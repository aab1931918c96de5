#if canImport(Glibc)
import Glibc
#endif

/// How long one dependent load takes when a working set of a given size is read in random
/// order: the yardstick for W5 against W1.
///
/// W1's engine tables (10,000 live allocations) fit in a few hundred KiB, W5's (100,000)
/// take about 5 MB; every step of either touches a few random records. Where the machine
/// serves 5 MB from a cache close to its L2 latency, W5 costs little more than W1; where
/// that working set comes from memory (a small or shared last-level cache), every step
/// pays for it. This measures the machine, not the allocator.
public enum MemoryLatency {
    /// One cache line per entry.
    static let lineBytes = 64

    /// A single cycle through `count` entries in random order (Sattolo's algorithm), so a
    /// chase from any entry visits every entry before it returns.
    public static func cycle(count: Int, seed: UInt64) -> [Int] {
        precondition(count >= 1, "a cycle needs one entry at least")
        var next = Array(0..<count)
        var random = WyRand(state: seed)
        var i = count - 1
        while i > 0 {
            next.swapAt(i, random.below(i))
            i -= 1
        }
        return next
    }

    /// Nanoseconds per load of a pointer chase over `bytes` bytes (cache lines in one
    /// random cycle), on 2 MiB-aligned memory offered huge pages like the engine's large
    /// tables, after one warm-up lap.
    /// - Complexity: O(bytes / 64 + loads).
    public static func nanosecondsPerLoad(bytes: Int, loads: Int = 4_000_000, seed: UInt64 = 1) -> Double {
        let count = max(bytes / lineBytes, 2)
        let words = lineBytes / MemoryLayout<Int>.stride
        let storage = UnsafeMutableRawPointer.allocate(byteCount: count * lineBytes, alignment: 2 << 20)
        defer { storage.deallocate() }
        #if os(Linux)
        _ = madvise(storage, count * lineBytes, MADV_HUGEPAGE)
        #endif
        let table = storage.bindMemory(to: Int.self, capacity: count * words)
        for (from, to) in cycle(count: count, seed: seed).enumerated() { table[from * words] = to * words }
        var position = 0
        for _ in 0..<count { position = table[position] }
        let start = ContinuousClock.now
        for _ in 0..<loads { position = table[position] }
        let elapsed = nanoseconds(start)
        // Keeps the chase from being optimised away.
        if position == -1 { print(position) }
        return elapsed / Double(loads)
    }
}
