import Testing
import Workloads

/// `BestFitReference` against a brute-force model that recomputes every gap from the
/// live ranges at each step.
@Suite("Best-fit reference")
struct BestFitReferenceTests {
    /// The brute force: the gaps between live ranges (sorted by offset), the smallest
    /// gap that holds the size (lowest among equals), else the end of the last live range.
    private static func bruteForcePlacement(_ size: UInt64, live: [(offset: UInt64, size: UInt64)]) -> UInt64 {
        let sorted = live.sorted { $0.offset < $1.offset }
        var cursor: UInt64 = 0
        var best: (offset: UInt64, size: UInt64)?
        for range in sorted {
            let gap = range.offset - cursor
            if gap >= size, best.map({ gap < $0.size }) ?? true { best = (cursor, gap) }
            cursor = range.offset + range.size
        }
        return best?.offset ?? cursor
    }

    @Test("offsets, top and free ranges equal the brute force over 200 seeds",
          arguments: 0..<200)
    func matchesBruteForce(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var reference = BestFitReference()
        var live: [(offset: UInt64, size: UInt64)] = []
        var peak: UInt64 = 0
        for _ in 0..<400 {
            if !live.isEmpty, next() % 100 < 45 {
                let victim = Int(next() % UInt64(live.count))
                reference.free(offset: live[victim].offset, size: live[victim].size)
                live.remove(at: victim)
            } else {
                let size = 1 + next() % (next() % 2 == 0 ? 16 : 4_096)
                let expected = Self.bruteForcePlacement(size, live: live)
                let offset = reference.allocate(size)
                #expect(offset == expected)
                live.append((offset, size))
            }
            let top = live.map { $0.offset + $0.size }.max() ?? 0
            peak = max(peak, top)
            #expect(reference.top == top)
            #expect(reference.peak == peak)
            // Free ranges: sorted, not adjacent, below the top, and with the live
            // ranges they tile 0..<top exactly.
            let free = reference.freeRanges
            for (a, b) in zip(free, free.dropFirst()) { #expect(a.offset + a.size < b.offset) }
            #expect(free.allSatisfy { $0.size > 0 && $0.offset + $0.size < top })
            let tiles = (free + live).sorted { $0.offset < $1.offset }
            var cursor: UInt64 = 0
            for tile in tiles {
                #expect(tile.offset == cursor)
                cursor = tile.offset + tile.size
            }
            #expect(cursor == top)
        }
    }

    @Test("a W3-shaped run: the peak covers the live bytes at every step and reuses freed space")
    func peakOfAShortRun() {
        // Slot 0 (8 bytes) freed, then 8 bytes placed again: the hole is reused, the peak
        // stays at 8 + 4 + 2.
        let peak = BestFitReference.peakExtent(initialSizes: [8, 4, 2][...], stepSizes: [8, 2][...],
                                               victims: [0, 2])
        #expect(peak == 14)
        // A larger request than any hole goes to the top.
        let grown = BestFitReference.peakExtent(initialSizes: [8, 4][...], stepSizes: [16][...], victims: [0])
        #expect(grown == 8 + 4 + 16)
    }
}
