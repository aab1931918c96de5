import Suballocation

/// The benchmark workloads of ``VirtualBlock``, shared by `vkmem bench virtual` and
/// the Benchmarks package.
public enum VirtualWorkload: String, CaseIterable, Sendable {
    /// 2 GiB, 10,000 live allocations (256 B–1 MiB, log-uniform, alignment 256);
    /// 1,000,000 steps of: free a random live allocation, allocate a new one.
    case w1 = "W1"
    /// 100,000 allocations of 64 KiB into a block that holds them exactly, then frees
    /// in random order.
    case w2 = "W2"
    /// W1 in a 1 GiB block: about 89% full, some allocations fail.
    case w4 = "W4"
    /// W1 with 100,000 live allocations in 16 GiB.
    case w5 = "W5"

    /// The parameters of the free-then-allocate workloads (all but W2).
    var steady: (blockSize: UInt64, live: Int)? {
        switch self {
        case .w1: return (2 << 30, 10_000)
        case .w2: return nil
        case .w4: return (1 << 30, 10_000)
        case .w5: return (16 << 30, 100_000)
        }
    }
}

/// The TLSF strategy a workload runs with, by the names the command line uses.
public enum VirtualWorkloadStrategy: String, CaseIterable, Sendable {
    /// ``AllocationStrategy/bestFit``, the default.
    case best
    /// ``AllocationStrategy/firstFit``.
    case first
    /// ``AllocationStrategy/lowestOffset``.
    case lowest

    /// The engine's strategy.
    public var strategy: AllocationStrategy {
        switch self {
        case .best: return .bestFit
        case .first: return .firstFit
        case .lowest: return .lowestOffset
        }
    }
}

/// What one run of a workload measured. Times are nanoseconds per operation.
public struct VirtualWorkloadResult: Sendable {
    /// The workload's name, `W1`…
    public var workload: String
    /// Mean time of one `allocate`.
    public var allocNanoseconds: Double
    /// Mean time of one `free`.
    public var freeNanoseconds: Double
    /// Mean time of one free-then-allocate step (W2: one allocate plus one free).
    public var stepNanoseconds: Double
    /// Allocations refused for lack of room.
    public var failures: Int
    /// Live allocations at the end.
    public var live: Int
    /// Free ranges at the end.
    public var freeRanges: Int
    /// The largest free range at the end, in bytes.
    public var largestFree: UInt64
    /// Minor page faults the process took during the timed allocations (W2 only; 0
    /// for the others): fresh pages of the engine's record table first written.
    public var allocPageFaults = 0
    /// W2 in `vkmem bench virtual`: the allocation time of a run made before the timed
    /// ones, on memory the process had not written yet.
    public var firstRunAllocNanoseconds = 0.0
    /// The minor page faults of that run's allocations.
    public var firstRunAllocPageFaults = 0
    /// Each `allocate` timed alone, in a pass of its own (`VirtualWorkloadLatency`).
    public var allocLatency = LatencySummary.none
    /// Each `free` timed alone.
    public var freeLatency = LatencySummary.none
    /// Each free-then-allocate step timed alone (none for W2, which has no steps).
    public var stepLatency = LatencySummary.none

    /// Creates a result from its figures.
    public init(workload: String, allocNanoseconds: Double, freeNanoseconds: Double, stepNanoseconds: Double,
                failures: Int, live: Int, freeRanges: Int, largestFree: UInt64) {
        self.workload = workload
        self.allocNanoseconds = allocNanoseconds
        self.freeNanoseconds = freeNanoseconds
        self.stepNanoseconds = stepNanoseconds
        self.failures = failures
        self.live = live
        self.freeRanges = freeRanges
        self.largestFree = largestFree
    }

    /// The per-figure median of several runs (counts from the median-step run).
    public static func median(_ runs: [VirtualWorkloadResult]) -> VirtualWorkloadResult {
        precondition(!runs.isEmpty, "no runs to summarise")
        func mid(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        var result = runs.sorted { $0.stepNanoseconds < $1.stepNanoseconds }[runs.count / 2]
        result.allocNanoseconds = mid(runs.map(\.allocNanoseconds))
        result.freeNanoseconds = mid(runs.map(\.freeNanoseconds))
        result.stepNanoseconds = mid(runs.map(\.stepNanoseconds))
        result.allocLatency = .median(runs.map(\.allocLatency))
        result.freeLatency = .median(runs.map(\.freeLatency))
        result.stepLatency = .median(runs.map(\.stepLatency))
        return result
    }
}

/// wyrand: a tiny deterministic generator, so every run draws the same work.
struct WyRand {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Log-uniform in `low...high` (powers of two), as allocation sizes are in practice.
    mutating func logUniform(_ low: UInt64, _ high: UInt64) -> UInt64 {
        let lowBits = Double(63 - low.leadingZeroBitCount)
        let highBits = Double(63 - high.leadingZeroBitCount)
        let unit = Double(next() >> 11) / Double(1 << 53)
        let exponent = lowBits + unit * (highBits - lowBits)
        return min(high, max(low, UInt64(exp2(exponent))))
    }
}

private func exp2(_ x: Double) -> Double {
    // 2^x = 2^floor(x) * 2^fraction; the fraction by a short series is plenty for sizes.
    let whole = x.rounded(.down)
    let f = (x - whole) * 0.693_147_180_559_945_3
    var term = 1.0
    var sum = 1.0
    for n in 1...12 {
        term *= f / Double(n)
        sum += term
    }
    return sum * Double(sign: .plus, exponent: Int(whole), significand: 1)
}

/// Nanoseconds on the monotonic clock.
@inline(__always)
func nanoseconds(_ since: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - since
    return Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
}

/// Runs one workload once. Random sizes and victims are drawn before any timing.
///
/// With `timingEachOperation`, a further pass over the same work times every operation
/// alone (`allocLatency`, `freeLatency`, `stepLatency`); the means come from the passes
/// without per-operation clocks either way.
public func runVirtualWorkload(_ workload: VirtualWorkload, strategy: VirtualWorkloadStrategy = .best,
                               seed: UInt64 = 1, timingEachOperation: Bool = true) -> VirtualWorkloadResult {
    let strategy = strategy.strategy
    if let (blockSize, live) = workload.steady {
        return runSteady(workload, blockSize: blockSize, live: live, steps: 1_000_000, strategy: strategy, seed: seed,
                         timingEachOperation: timingEachOperation)
    }
    return runFillThenDrain(count: 100_000, size: 64 << 10, strategy: strategy, seed: seed,
                            timingEachOperation: timingEachOperation)
}

/// Marks a slot whose last allocation failed.
let emptySlot = VirtualAllocationHandle(index: .max, generation: .max)

/// One drawn step of a free-then-allocate workload: which slot's allocation to free,
/// and the size to allocate (at most 1 MiB, so 32 bits).
struct SteadyStep {
    var victim: UInt32
    var size: UInt32
}

/// The draws of a free-then-allocate workload, in the generator's order: the live set's
/// sizes, then each step's size, then each step's victim (a slot below `live`).
/// `Tools/VMASideBySide/workload_draws.hpp` draws the same for VMA's side.
func drawSteady(live: Int, steps: Int, seed: UInt64) -> (initial: [UInt64], work: [SteadyStep]) {
    var rng = WyRand(state: seed)
    let initial = (0..<live).map { _ in rng.logUniform(256, 1 << 20) }
    // Drawn in the same order as ever, then packed into one 8-byte entry per step: the
    // timed loops stream this array, and with 12 bytes a step in two arrays the stream
    // pushed out of the caches a third more of the block's records than it must (W5's
    // records do not fit in L2). VMA's benchmark draws its victims while it runs.
    let sizes = (0..<steps).map { _ in UInt32(rng.logUniform(256, 1 << 20)) }
    let victims = (0..<steps).map { _ in UInt32(rng.below(live)) }
    return (initial, zip(victims, sizes).map { SteadyStep(victim: $0, size: $1) })
}

/// W2's order of frees: a Fisher–Yates shuffle of `0..<count` from the end.
func drawFreeOrder(count: Int, seed: UInt64) -> [Int] {
    var rng = WyRand(state: seed)
    var order = Array(0..<count)
    for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
    return order
}

/// The free-then-allocate workloads.
///
/// Two passes over the same drawn work: one interleaves free and allocate and times
/// the whole (step time); one times the frees and the allocations of each batch of 256
/// steps separately (free and allocate times), which keeps the clock's cost below
/// 0.2 ns per operation and the live count within 256 of its target.
func runSteady(_ workload: VirtualWorkload, blockSize: UInt64, live: Int, steps: Int,
               strategy: AllocationStrategy, seed: UInt64, timingEachOperation: Bool = false) -> VirtualWorkloadResult {
    let (initial, work) = drawSteady(live: live, steps: steps, seed: seed)

    func fill() -> (VirtualBlock, [VirtualAllocationHandle], Int) {
        // The sizes are constants above zero: creation cannot fail.
        var block = try! VirtualBlock(size: blockSize)
        var failures = 0
        let slots = initial.map { size in
            if let a = try? block.allocate(size: size, alignment: 256, strategy: strategy) { return a.handle }
            failures += 1
            return emptySlot
        }
        return (block, slots, failures)
    }

    // Pass 1: interleaved steps.
    var (block, slots, _) = fill()
    var failures = 0
    let start = ContinuousClock.now
    slots.withUnsafeMutableBufferPointer { slots in
        for step in work {
            let v = Int(step.victim)
            if slots[v] != emptySlot { try? block.free(slots[v]) }
            if let a = try? block.allocate(size: UInt64(step.size), alignment: 256, strategy: strategy) {
                slots[v] = a.handle
            } else {
                slots[v] = emptySlot
                failures += 1
            }
        }
    }
    let stepNanoseconds = nanoseconds(start) / Double(steps)
    let stats = block.statistics

    // Pass 2: the same steps, frees and allocations timed apart per batch. Assigning
    // over `block` drops pass 1's block, so mutations stay in place.
    (block, slots, _) = fill()
    var freeTime = 0.0
    var allocTime = 0.0
    var frees = 0
    let batch = 256
    var batchVictims = [Int](repeating: 0, count: batch)
    // A victim drawn twice in one batch: its older allocation is freed next batch.
    var displaced: [VirtualAllocationHandle] = []
    slots.withUnsafeMutableBufferPointer { slots in
        var step = 0
        while step < steps {
            let n = min(batch, steps - step)
            var t = ContinuousClock.now
            for h in displaced { try? block.free(h) }
            frees += displaced.count
            for k in 0..<n {
                let v = Int(work[step + k].victim)
                batchVictims[k] = v
                if slots[v] != emptySlot {
                    try? block.free(slots[v])
                    slots[v] = emptySlot
                    frees += 1
                }
            }
            freeTime += nanoseconds(t)
            displaced.removeAll(keepingCapacity: true)
            t = ContinuousClock.now
            for k in 0..<n {
                if let a = try? block.allocate(size: UInt64(work[step + k].size), alignment: 256, strategy: strategy) {
                    let v = batchVictims[k]
                    if slots[v] != emptySlot { displaced.append(slots[v]) }
                    slots[v] = a.handle
                }
            }
            allocTime += nanoseconds(t)
            step += n
        }
    }
    var result = VirtualWorkloadResult(
        workload: workload.rawValue, allocNanoseconds: allocTime / Double(steps),
        freeNanoseconds: freeTime / Double(max(frees, 1)), stepNanoseconds: stepNanoseconds,
        failures: failures, live: stats.allocationCount, freeRanges: stats.freeRangeCount,
        largestFree: stats.largestFreeRange)
    if timingEachOperation {
        // Pass 3: the same steps again, every one timed alone. Dropping pass 2's block
        // first keeps two large blocks from being live at once.
        block = try! VirtualBlock(size: 1 << 20)
        let latency = VirtualWorkloadLatency.steady(blockSize: blockSize, initial: initial, work: work,
                                                    strategy: strategy)
        result.allocLatency = latency.alloc.summary
        result.freeLatency = latency.free.summary
        result.stepLatency = latency.step.summary
    }
    return result
}

/// W2: `count` allocations of `size` bytes into a block that holds them exactly, then
/// every one freed in random order.
func runFillThenDrain(count: Int, size: UInt64, strategy: AllocationStrategy, seed: UInt64,
                      timingEachOperation: Bool = false) -> VirtualWorkloadResult {
    let order = drawFreeOrder(count: count, seed: seed)
    var block = try! VirtualBlock(size: UInt64(count) * size)
    var handles = [VirtualAllocationHandle](repeating: emptySlot, count: count)
    var failures = 0

    let faultsBefore = PageFaultCounter.minor()
    var t = ContinuousClock.now
    handles.withUnsafeMutableBufferPointer { handles in
        for i in 0..<count {
            if let a = try? block.allocate(size: size, alignment: 256, strategy: strategy) {
                handles[i] = a.handle
            } else {
                failures += 1
            }
        }
    }
    let allocNanoseconds = nanoseconds(t) / Double(count)
    let allocPageFaults = PageFaultCounter.minor() - faultsBefore
    let stats = block.statistics
    t = ContinuousClock.now
    for i in order where handles[i] != emptySlot { try? block.free(handles[i]) }
    let freeNanoseconds = nanoseconds(t) / Double(count)
    precondition(block.isEmpty, "W2 left allocations behind")
    var result = VirtualWorkloadResult(
        workload: VirtualWorkload.w2.rawValue, allocNanoseconds: allocNanoseconds, freeNanoseconds: freeNanoseconds,
        stepNanoseconds: allocNanoseconds + freeNanoseconds, failures: failures, live: stats.allocationCount,
        freeRanges: stats.freeRangeCount, largestFree: stats.largestFreeRange)
    result.allocPageFaults = allocPageFaults
    if timingEachOperation {
        let latency = VirtualWorkloadLatency.fillThenDrain(count: count, size: size, order: order, strategy: strategy)
        result.allocLatency = latency.alloc.summary
        result.freeLatency = latency.free.summary
    }
    return result
}
