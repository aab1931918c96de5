@testable import Suballocation
import Testing

/// Deferred merging against the same block with every deferred free settled: at every
/// step of seeded random runs the two must look the same to every observer, and no
/// call may fail, or `.lowestOffset` and `allocate(at:)` land elsewhere, where the
/// settled block succeeds. Copies taken before a step must not change.
@Suite struct DeferredFreeDifferentialTests {
    typealias Ranges = [[UInt64]]

    static func ranges(_ b: VirtualBlock) -> Ranges {
        var r: Ranges = []
        b.forEachFreeRange { o, s in r.append([o, s]) }
        return r
    }

    static func settled(_ b: VirtualBlock) -> VirtualBlock {
        var s = b
        s.makeUnique()
        s.box.core.settleDeferredFrees()
        return s
    }

    static func observe(_ b: VirtualBlock) -> (Ranges, VirtualBlockStatistics, [UInt64]) {
        (ranges(b), b.statistics, b.allocations.map(\.offset))
    }

    /// 160 seeds; `make test` runs the first 80 (`RandomCoverage`).
    @Test("deferred and settled blocks look the same", arguments: RandomCoverage.cases(160))
    func observersCannotTellDeferredFromSettled(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9 &+ 7)
        let gs: [UInt64] = [1, 64, 1024, 65536]
        let g = gs[Int(seed % 4)]
        let bits = UInt64(max(12, g.trailingZeroBitCount + 4)) + rng.below(6)
        let size: UInt64 = (1 << bits) + (rng.chance(50) ? rng.below(1 << bits) : 0)
        var block = try VirtualBlock(size: size, granularity: g)
        // Mostly deferred from the first free; some blocks switch to deferring mid-run.
        block.setDeferralThreshold(Int(rng.below(3) == 0 ? rng.below(40) : 0))
        let tiny = rng.chance(40)
        var live: [VirtualAllocation] = []
        var dead: [VirtualAllocationHandle] = []
        let target = 3 + Int(rng.below(tiny ? 300 : 30))
        for step in 0..<2000 {
            let ctx = "seed \(seed) step \(step) g \(g) size \(size)"
            let before = Self.observe(block)
            let snapshot = block
            let settledBefore = Self.settled(block)
            #expect(Self.observe(settledBefore) == before, "observers differ from settled copy, \(ctx)")
            let op = rng.below(100)
            let wantsAlloc = live.isEmpty || (live.count < target ? rng.chance(60) : rng.chance(35))
            if op < 3 {
                block.reset(); live.removeAll()
            } else if wantsAlloc {
                let sz = tiny ? 1 + rng.below(rng.chance(50) ? 64 : max(1, size / 64)) : rng.chance(10) ? max(1, size / 100 * (10 + rng.below(80))) : rng.logUniform(max: size / 4)
                let al: UInt64 = 1 << (rng.chance(70) ? rng.below(9) : rng.below(17))
                let kind = SuballocationKind.allCases[Int(rng.below(3))]
                let strat = AllocationStrategy.allCases[Int(rng.below(3))]
                var other = settledBefore
                let expected = try other.allocateIfRoom(size: sz, alignment: al, kind: kind, strategy: strat)
                if rng.chance(25) {
                    // allocate(at:) mostly inside a reported free range, else anywhere.
                    var offset: UInt64
                    if let r = before.0.randomElement(using: &rng), rng.chance(80) {
                        offset = r[0] + rng.below(r[1])
                    } else { offset = rng.below(size) }
                    let a2 = UInt64(1) << rng.below(7)
                    offset = offset / a2 * a2
                    let psz = 1 + rng.below(max(1, min(size - offset, sz)))
                    var other2 = settledBefore
                    let exp = try? other2.allocate(at: offset, size: psz, alignment: a2, kind: kind)
                    do {
                        let a = try block.allocate(at: offset, size: psz, alignment: a2, kind: kind)
                        #expect(exp?.offset == a.offset, "allocate(at:) succeeded, settled copy did not, \(ctx)")
                        live.append(a)
                    } catch {
                        #expect(exp == nil, "allocate(at: \(offset), \(psz)) failed (\(error)) but settled copy placed it, \(ctx)")
                        #expect(Self.observe(block) == before, "failed allocate(at:) changed block, \(ctx)")
                    }
                } else if rng.chance(50) {
                    do {
                        let a = try block.allocate(size: sz, alignment: al, kind: kind, strategy: strat)
                        if strat == .lowestOffset { #expect(expected?.offset == a.offset, "lowestOffset differs, \(ctx)") }
                        live.append(a)
                    } catch .outOfRoom(_, _, let largest) {
                        #expect(expected == nil, "allocate failed but settled copy placed it, \(ctx)")
                        #expect(largest == before.1.largestFreeRange, "error largest \(largest) vs stats \(before.1.largestFreeRange), \(ctx)")
                        #expect(Self.observe(block) == before, "failed allocate changed block, \(ctx)")
                    }
                } else {
                    if let a = try block.allocateIfRoom(size: sz, alignment: al, kind: kind, strategy: strat) {
                        if strat == .lowestOffset { #expect(expected?.offset == a.offset, "lowestOffset differs, \(ctx)") }
                        live.append(a)
                    } else {
                        #expect(expected == nil, "allocateIfRoom nil but settled copy placed it, \(ctx)")
                        #expect(Self.observe(block) == before, "failed allocateIfRoom changed block, \(ctx)")
                    }
                }
            } else {
                let k = Int(rng.below(UInt64(live.count)))
                let v = live[k]
                if rng.chance(20) {
                    let r = try block.free(v.handle, at: v.offset + 1)
                    #expect(r == nil)
                    #expect(Self.observe(block) == before, "\(ctx)")
                }
                if rng.chance(50) {
                    #expect(try block.free(v.handle, at: v.offset) == v.size)
                } else {
                    try block.free(v.handle)
                }
                live.remove(at: k)
                dead.append(v.handle)
            }
            block._checkInvariants()
            // Copy-on-write: the copy taken before the step is as it was.
            #expect(Self.observe(snapshot) == before, "snapshot changed, \(ctx)")
            snapshot._checkInvariants()
            #expect(Set(block.allocations.map(\.offset)) == Set(live.map(\.offset)), "\(ctx)")
            for h in dead.suffix(3) {
                #expect(throws: VirtualBlockError.staleHandle(h)) { try block.allocation(h) }
            }
        }
    }
}

/// The default threshold: a block that grows past it defers on its own, and stays
/// indistinguishable from its settled copy under churn.
@Suite struct DeferredFreeLargeBlockTests {
    @Test(arguments: [1, 1024] as [UInt64])
    func churnPastTheThreshold(granularity g: UInt64) throws {
        var rng = SplitMix64(seed: 42 &+ g)
        var block = try VirtualBlock(size: 1 << 34, granularity: g)
        var live: [VirtualAllocation] = []
        for _ in 0..<17_000 {
            live.append(try block.allocate(size: 1 + rng.below(1 << 16), alignment: 1 << rng.below(10),
                                           kind: SuballocationKind.allCases[Int(rng.below(3))]))
        }
        for step in 0..<12_000 {
            if rng.chance(50), !live.isEmpty {
                let k = Int(rng.below(UInt64(live.count)))
                try block.free(live[k].handle)
                live.swapAt(k, live.count - 1); live.removeLast()
            } else {
                let strat = AllocationStrategy.allCases[Int(rng.below(rng.chance(2) ? 3 : 2))]
                live.append(try block.allocate(size: 1 + rng.below(1 << 16), alignment: 1 << rng.below(10),
                                               kind: SuballocationKind.allCases[Int(rng.below(3))], strategy: strat))
            }
            if step % 1500 == 0 {
                block._checkInvariants()
                #expect(DeferredFreeDifferentialTests.observe(block) == DeferredFreeDifferentialTests.observe(DeferredFreeDifferentialTests.settled(block)))
            }
        }
        #expect(block.box.core.hasDeferredFrees)
        block._checkInvariants()
    }
}

/// The smallest block, and granularity against deferred neighbours.
@Suite struct DeferredFreeEdgeTests {
    @Test func aOneByteBlockDefersAndSettles() throws {
        var b = try VirtualBlock(size: 1)
        b.setDeferralThreshold(0)
        let a = try b.allocate(size: 1)
        try b.free(a.handle)
        b._checkInvariants()
        #expect(DeferredFreeDifferentialTests.ranges(b) == [[0, 1]])
        #expect(b.statistics.freeRangeCount == 1 && b.statistics.largestFreeRange == 1)
        let c = try b.allocate(at: 0, size: 1)
        #expect(try b.free(c.handle, at: 0) == 1)
        let d = try b.allocate(size: 1, strategy: .firstFit)
        #expect(d.offset == 0)
        b._checkInvariants()
    }

    @Test func aDeferredNeighbourStillKeepsTheGranularityRule() throws {
        // Optimal allocations with two deferred ones among them: a linear request
        // must not share their granularity page.
        var b = try VirtualBlock(size: 1 << 16, granularity: 1024)
        b.setDeferralThreshold(0)
        let l = try b.allocate(size: 100, kind: .optimal)
        let d = try b.allocate(size: 100, kind: .optimal)
        let f = try b.allocate(size: 100, kind: .optimal)
        let g = try b.allocate(size: 2000, kind: .optimal)
        try b.free(f.handle)
        try b.free(d.handle)
        #expect(b.box.core.hasDeferredFrees)
        _ = (l, g)
        let x = try b.allocate(size: 50, kind: .linear)
        #expect(x.offset >= 1024)
        b._checkInvariants()
    }
}
