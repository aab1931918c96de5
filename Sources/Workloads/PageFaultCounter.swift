#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's page faults so far, from `getrusage(RUSAGE_THREAD)` on Linux
/// (the process's, `RUSAGE_SELF`, elsewhere), so that other threads' faults do not count.
///
/// Why the benchmarks count them: the first write to a page of fresh memory traps into
/// the kernel, and in a virtual machine whose memory grows as it is used (the H200
/// host is a Firecracker microVM) that trap can cost microseconds. W2's allocations
/// write 3 MB of records they never wrote before, so its figure depends on the machine's
/// fault cost as much as on the engine: the count says how many of those a run paid.
public enum PageFaultCounter {
    /// Minor faults (served without I/O: fresh or cached pages) so far.
    public static func minor() -> Int {
        var usage = rusage()
        #if canImport(Glibc)
        // RUSAGE_THREAD (1): glibc declares it only under _GNU_SOURCE, which Swift's
        // import of the headers does not define.
        let who = __rusage_who_t(1)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        return Int(usage.ru_minflt)
    }
}
