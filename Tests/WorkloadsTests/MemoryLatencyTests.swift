import Testing
import Workloads

@Suite("Memory latency probe")
struct MemoryLatencyTests {
    @Test(arguments: [1, 2, 3, 64, 1_000])
    func theChaseIsOneCycleThroughEveryEntry(count: Int) {
        let next = MemoryLatency.cycle(count: count, seed: 5)
        #expect(Set(next) == Set(0..<count))
        var seen = Set<Int>()
        var position = 0
        repeat {
            #expect(seen.insert(position).inserted, "entry \(position) visited twice before the cycle closed")
            position = next[position]
        } while position != 0
        #expect(seen.count == count)
    }

    @Test func aSmallWorkingSetIsNoSlowerThanAHugeOne() {
        let small = MemoryLatency.nanosecondsPerLoad(bytes: 16 << 10, loads: 200_000)
        let huge = MemoryLatency.nanosecondsPerLoad(bytes: 128 << 20, loads: 200_000)
        #expect(small > 0 && huge > 0)
        // 16 KiB lives in L1 on any machine; 128 MiB at best in a last-level cache.
        #expect(small < huge)
    }
}
