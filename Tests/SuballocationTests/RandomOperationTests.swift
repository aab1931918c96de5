@testable import Suballocation
import Testing

/// Seeded random runs against ``ReferenceModel``, the invariant checker after every step.
@Suite struct RandomOperationTests {
    enum FreeOrder: CaseIterable { case random, fifo, lifo }

    struct Configuration: CustomStringConvertible {
        var algorithm: VirtualBlock.Algorithm
        var granularity: UInt64
        var blockSize: UInt64
        var order: FreeOrder
        var targetLive: Int

        var description: String {
            "\(algorithm), granularity \(granularity), size \(blockSize), \(order) frees, ~\(targetLive) live"
        }
    }

    static let algorithms: [VirtualBlock.Algorithm] = [
        .tlsf, .tlsf, .tlsf, .tlsf,
        .linear(.automatic), .linear(.freeAtOnce), .linear(.stack), .linear(.doubleStack), .linear(.ringBuffer),
    ]
    static let granularities: [UInt64] = [1, 64, 1024, 65536]

    static func configuration(_ rng: inout SplitMix64) -> Configuration {
        let algorithm = algorithms[Int(rng.below(UInt64(algorithms.count)))]
        let granularity = granularities[Int(rng.below(UInt64(granularities.count)))]
        // Large enough for several granularity pages; not always a power of two.
        let minimumBits = UInt64(max(16, granularity.trailingZeroBitCount + 4))
        let bits = minimumBits + rng.below(27 - minimumBits)
        let blockSize = (1 << bits) + (rng.chance(50) ? rng.below(1 << bits) : 0)
        var order = FreeOrder.allCases[Int(rng.below(3))]
        if case .linear(let mode) = algorithm {
            switch mode {
            case .stack, .doubleStack: order = .lifo
            case .ringBuffer: order = .fifo
            case .automatic, .freeAtOnce: break
            }
        }
        return Configuration(algorithm: algorithm, granularity: granularity, blockSize: blockSize, order: order,
                             targetLive: 4 + Int(rng.below(45)))
    }

    /// 200 seeds; `make test` runs the first 100 (`RandomCoverage`).
    @Test("random operations agree with the reference model", arguments: RandomCoverage.cases(200))
    func randomOperations(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        let config = Self.configuration(&rng)
        var block = try VirtualBlock(size: config.blockSize, algorithm: config.algorithm, granularity: config.granularity)
        // Odd seeds defer TLSF merges from the first free, as blocks of many records do;
        // their statistics and free ranges, where deferred ranges show, are checked more often.
        let defers = seed % 2 == 1
        if defers { block.setDeferralThreshold(0) }
        var model = ReferenceModel(blockSize: config.blockSize, granularity: config.granularity)
        var linearMode: VirtualBlock.LinearMode?
        if case .linear(let mode) = config.algorithm { linearMode = mode }
        var sequence = 0
        var failures = 0

        for step in 0..<10_000 {
            let wantsAllocation = model.count == 0 || (model.count < config.targetLive ? rng.chance(65) : rng.chance(35))
            if rng.below(2000) == 0 {
                // Every mode may be reset; the records are then recycled.
                block.reset()
                model.removeAll()
            } else if linearMode == .freeAtOnce && !wantsAllocation {
                // The only way this mode releases anything.
                if rng.chance(10) {
                    block.reset()
                    model.removeAll()
                }
            } else if wantsAllocation {
                let size = rng.chance(5)
                    ? max(1, config.blockSize / 100 * (50 + rng.below(46)))
                    : rng.logUniform(max: config.blockSize)
                let alignment: UInt64 = 1 << (rng.chance(70) ? rng.below(9) : rng.below(17))
                let kind = SuballocationKind.allCases[Int(rng.below(3))]
                let strategy = AllocationStrategy.allCases[Int(rng.below(3))]
                let upper = (linearMode == .doubleStack || linearMode == .automatic) && rng.chance(30)
                let userData = rng.next()
                let mustFit = model.mustFit(size: size, alignment: alignment, linear: linearMode != nil, upper: upper)
                do {
                    let a = try block.allocate(size: size, alignment: alignment, kind: kind, strategy: strategy,
                                               upperAddress: upper, userData: userData)
                    #expect(a.size == size)
                    model.add(.init(offset: a.offset, size: size, kind: kind, handle: a.handle, sequence: sequence,
                                    upper: upper), alignment: alignment)
                    sequence += 1
                    #expect(try block.userData(of: a.handle) == userData)
                } catch .outOfRoom(let s, let al, let largest) {
                    failures += 1
                    #expect(s == size && al == alignment)
                    #expect(largest == freeRanges(block).map(\.size).max() ?? 0)
                    #expect(!mustFit, "seed \(seed) step \(step): \(size) B aligned \(alignment) refused, \(config)")
                } catch .upperAddressUnavailable {
                    // An automatic linear block currently wrapped as a ring.
                    #expect(upper && linearMode == .automatic)
                } catch {
                    Issue.record("seed \(seed) step \(step): unexpected \(error)")
                }
            } else {
                let victim = chooseVictim(model.byOffset, order: config.order, mode: linearMode, rng: &rng)
                let before = try block.allocation(victim.handle)
                #expect(before.offset == victim.offset && before.size == victim.size)
                try block.free(victim.handle)
                _ = model.remove(victim.handle)
                #expect(throws: VirtualBlockError.staleHandle(victim.handle)) { try block.free(victim.handle) }
            }
            block._checkInvariants()
            #expect(block.allocationCount == model.count)
            if step % (defers ? 7 : 97) == 0 {
                let stats = block.statistics
                let ranges = freeRanges(block)
                #expect(stats.allocatedBytes == model.allocatedBytes)
                #expect(stats.freeBytes == config.blockSize - model.allocatedBytes)
                #expect(stats.freeRangeCount == ranges.count)
                #expect(stats.largestFreeRange == ranges.map(\.size).max() ?? 0)
                #expect(block.allocations.map(\.offset) == model.byOffset.map(\.offset))
                model.checkFreeRanges(ranges, tlsf: linearMode == nil)
            }
        }
        #expect(sequence > 100, "seed \(seed) placed only \(sequence) allocations (\(failures) refused)")
        let survivors = model.byOffset.map(\.handle)
        block.reset()
        block._checkInvariants()
        #expect(block.isEmpty && block.statistics.largestFreeRange == config.blockSize)
        for h in survivors {
            #expect(throws: VirtualBlockError.staleHandle(h)) { try block.allocation(h) }
        }
    }

    func freeRanges(_ block: VirtualBlock) -> [(offset: UInt64, size: UInt64)] {
        var ranges: [(offset: UInt64, size: UInt64)] = []
        block.forEachFreeRange { offset, size in ranges.append((offset, size)) }
        return ranges
    }

    /// The allocation to free next, in an order the block's mode accepts.
    func chooseVictim(_ live: [ReferenceModel.Entry], order: FreeOrder, mode: VirtualBlock.LinearMode?,
                      rng: inout SplitMix64) -> ReferenceModel.Entry {
        if mode == .doubleStack {
            // The most recent allocation of a random side.
            let side = rng.chance(50)
            let candidates = live.filter { $0.upper == side }
            let pool = candidates.isEmpty ? live.filter { $0.upper != side } : candidates
            return pool.max { $0.sequence < $1.sequence }!
        }
        switch order {
        case .random: return live[Int(rng.below(UInt64(live.count)))]
        case .fifo: return live.min { $0.sequence < $1.sequence }!
        case .lifo: return live.max { $0.sequence < $1.sequence }!
        }
    }
}
