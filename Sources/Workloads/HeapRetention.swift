#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed heap memory in the process for the benchmarks, as a long-running program's
/// heap is after its first minutes.
///
/// Why: a `VirtualBlock`'s record table of 100,000 allocations is 3.2 MB, which glibc
/// gives back to the kernel when it is freed (an `mmap` chunk, or the heap's top trimmed),
/// so the next block's table is written into fresh pages and every 4 KiB costs a page
/// fault (1.4 µs here, 2.1 µs in the H200's microVM: 11–17 ns per allocation). Which run
/// of a benchmark pays that depended on what else the process had freed (W2's latency pass
/// made every run pay it). Benchmarks call this once, so every run after the first reuses
/// memory and the figures are the engine's; W2 still reports its first run, and the page
/// faults of each (`PageFaultCounter`).
public enum HeapRetention {
    /// glibc: chunks up to 32 MiB (its largest allowed threshold) come from the heap rather
    /// than their own mapping, and the heap's free top is never trimmed. Elsewhere nothing.
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which Swift's Glibc module leaves out: looked
        // up by name instead, with glibc's option numbers (M_TRIM_THRESHOLD -1,
        // M_MMAP_THRESHOLD -3). Where it is missing (another C library) nothing changes.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-3, 32 << 20)
        _ = mallopt(-1, Int32.max)
        #endif
    }
}
