import Testing
import Workloads
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Page fault counter")
struct PageFaultCounterTests {
    /// Fresh anonymous memory faults once per page on first write; reused memory does not.
    @Test func firstWritesToFreshMemoryAreCountedAndRewritesAreNot() throws {
        #if os(Linux)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = 2_048
        // mmap, not malloc: the memory is certainly fresh, whatever the heap holds.
        let mapped = mmap(nil, pages * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let base = try #require(mapped == MAP_FAILED ? nil : mapped)
        defer { munmap(base, pages * pageSize) }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let before = PageFaultCounter.minor()
        for page in 0..<pages { bytes[page * pageSize] = 1 }
        let first = PageFaultCounter.minor() - before
        // Transparent huge pages may serve several pages per fault, so at least one, at
        // most one a page (plus a few from elsewhere in the process).
        #expect(first >= 1 && first <= pages + 64, "first writes took \(first) faults for \(pages) pages")
        let again = PageFaultCounter.minor()
        for page in 0..<pages { bytes[page * pageSize] = 2 }
        #expect(PageFaultCounter.minor() - again < 64, "rewriting touched pages must not fault")
        #endif
    }

    /// W2's figures carry the faults its allocations took: none, or about one per 4 KiB of
    /// the record tables it wrote, never more (the count is this thread's, not the process's).
    @Test func fillThenDrainReportsItsPageFaults() {
        for _ in 0..<3 {
            let run = runVirtualWorkload(.w2, timingEachOperation: false)
            #expect(run.live == 100_000 && run.failures == 0)
            #if os(Linux)
            // The table doubles up to 131,072 records (4 MiB); where `realloc` cannot grow
            // it in place it copies into fresh memory, so the tables ever written add up to
            // under 8 MiB, 2,048 pages of 4 KiB. Other threads' faults are not counted.
            #expect(run.allocPageFaults >= 0 && run.allocPageFaults <= 2_200,
                    "a W2 run counted \(run.allocPageFaults) page faults")
            #endif
        }
    }
}
