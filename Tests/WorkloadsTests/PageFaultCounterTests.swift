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

    /// W2's figures carry the faults its allocations took; a run in a process whose heap
    /// already served such a table takes few or none.
    @Test func fillThenDrainReportsItsPageFaults() {
        _ = runVirtualWorkload(.w2, timingEachOperation: false)
        _ = runVirtualWorkload(.w2, timingEachOperation: false)
        let warm = runVirtualWorkload(.w2, timingEachOperation: false)
        #expect(warm.allocPageFaults >= 0)
        #expect(warm.live == 100_000 && warm.failures == 0)
        #if os(Linux)
        // 100,000 records of 32 bytes are 780 pages of 4 KiB: a warm run reuses them.
        #expect(warm.allocPageFaults < 400, "a third W2 run took \(warm.allocPageFaults) faults")
        #endif
    }
}
