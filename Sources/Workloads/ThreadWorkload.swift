import CVulkan
import Foundation
import Synchronization
import VulkanMemory

/// W6: threads allocating and freeing on one shared `Allocator` at once.
///
/// Each thread keeps `live` allocations and runs `steps` steps of: free a random one of
/// its own, allocate a new one in its slot; every thread draws its own fixed, seeded
/// sizes and victims before the start. The threads are real OS threads (`Thread`); each
/// fills its slots, then all wait at a barrier and start together. Throughput is the
/// operations of all threads (a free and an allocation per step) over the time from the
/// start to the last thread's end.
public struct ThreadWorkload: Sendable {
    /// Where the threads allocate.
    public enum Mode: String, CaseIterable, Sendable {
        /// (a) Every thread in one memory type: requirements whose `memoryTypeBits` name
        /// only the type `.gpuOnly` ranks first, so all share that type's pages and lock.
        case oneType = "one-type"
        /// (b) Each thread in a custom pool of its own (`makePool`), all of that one type.
        case ownPool = "own-pool"
        /// (c) W3's steps: `destroyBuffer`, then `createBuffer` (create, requirements,
        /// placement, bind) of a vertex + transfer-destination buffer, GPU-only intent.
        case buffers
        /// (c) without the allocator: each thread binds its buffers at offset 0 of one
        /// `VkDeviceMemory` of its own (`RawBufferCalls`), so what the driver's own
        /// `vkCreateBuffer`/`vkBindBufferMemory`/`vkDestroyBuffer` cost under threads shows
        /// apart from the allocator's.
        case rawBuffers = "raw-buffers"

        /// Sizes of the mode's allocations: 256 B–64 KiB log-uniform for (a) and (b),
        /// W3's 4 KiB–1 MiB for the buffer modes.
        var sizes: (low: UInt64, high: UInt64) { isBuffers ? (4 << 10, 1 << 20) : (256, 64 << 10) }

        /// Whether the mode makes buffers rather than bare allocations.
        var isBuffers: Bool { self == .buffers || self == .rawBuffers }
    }

    /// Where the threads allocate.
    public var mode: Mode
    /// Threads running at once.
    public var threads: Int
    /// Live allocations per thread.
    public var live: Int
    /// Steps per thread.
    public var steps: Int
    /// The generator's seed; thread `t` draws from a seed derived from it and `t`.
    public var seed: UInt64 = 6
    /// One step in this many (a power of two) has its free and its allocation timed
    /// alone for the percentiles: timing every step would add two clock reads to each
    /// and slow every thread alike, flattering the lock.
    public var sampleEvery = 8

    /// The workload of `mode` on `threads` threads; (a) and (b) keep 1,000 live
    /// allocations and run 100,000 steps per thread, (c) 256 buffers and 25,000 steps
    /// (W3's sizes: 16 threads hold about 800 MB).
    public init(mode: Mode, threads: Int, live: Int? = nil, steps: Int? = nil) {
        self.mode = mode
        self.threads = threads
        self.live = live ?? (mode.isBuffers ? 256 : 1_000)
        self.steps = steps ?? (mode.isBuffers ? 25_000 : 100_000)
    }
}

/// What one run of W6 measured.
public struct ThreadWorkloadResult: Sendable {
    /// The mode's name.
    public var mode: String
    /// Threads that ran.
    public var threads: Int
    /// Frees and allocations (destroys and creates for `buffers`) of all threads.
    public var operations: Int
    /// From the start to the last thread's end.
    public var seconds: Double
    /// The slowest thread's time over the fastest's: 1 when the lock serves all alike.
    public var threadSpread: Double
    /// Sampled allocations (`createBuffer` for `buffers`), each timed alone.
    public var allocLatency: LatencySummary
    /// Sampled frees (`destroyBuffer`).
    public var freeLatency: LatencySummary

    /// Operations per second, all threads together.
    public var operationsPerSecond: Double { Double(operations) / seconds }
}

extension ThreadWorkload {
    /// Runs W6 once on `device` with a fresh allocator.
    /// - Throws: the first `AllocationError` any thread met (the others finish first).
    public func run(on device: VulkanDevice, options: AllocatorOptions = AllocatorOptions()) throws(AllocationError) -> ThreadWorkloadResult {
        precondition(threads >= 1 && live >= 1 && steps >= 1, "W6 needs a thread, a live allocation and a step")
        precondition(sampleEvery >= 1 && sampleEvery & (sampleEvery - 1) == 0, "sampleEvery must be a power of two")
        let allocator = Allocator(device: device, options: options)
        let selection = MemoryTypeSelection(properties: MemoryProperties(device: device),
                                            isDiscrete: device.info.type == .discreteGPU)
        guard let type = selection.bestType(for: .usage(.gpuOnly)) else {
            throw .noSuitableMemoryType(required: [], memoryTypeBits: .max, usage: .gpuOnly)
        }
        var pools: [MemoryPool] = []
        if mode == .ownPool {
            for thread in 0..<threads {
                pools.append(try allocator.makePool(PoolOptions(name: "w6-thread-\(thread)", memoryTypeIndex: type,
                                                                pageSize: 32 << 20)))
            }
        }
        defer { for pool in pools { try? allocator.destroyPool(pool) } }

        let start = ThreadStart(threads: threads)
        let outcomes = ThreadOutcomes(count: threads)
        for thread in 0..<threads {
            let body = ThreadBody(workload: self, thread: thread, allocator: allocator, type: type,
                                  pool: pools.isEmpty ? nil : pools[thread], start: start, outcomes: outcomes)
            // The thread drops its body (and with it the allocator) before it reports: a
            // `Thread` keeps its closure until the thread exits, which may be after this
            // run and the device are gone.
            let slot = Mutex<ThreadBody?>(body)
            let os = Thread {
                let outcome = slot.withLock { body in
                    defer { body = nil }
                    return body
                }?.run() ?? ThreadOutcome()
                outcomes.store(outcome, at: thread)
            }
            os.stackSize = 1 << 20
            os.start()
        }
        let go = start.release()
        outcomes.waitForAll()
        var alloc = LatencyHistogram()
        var free = LatencyHistogram()
        var ends: [UInt64] = []
        for outcome in outcomes.all {
            if let error = outcome.error { throw error }
            alloc.merge(outcome.alloc)
            free.merge(outcome.free)
            ends.append(outcome.end)
        }
        let durations = ends.map { Double($0 &- go) }
        return ThreadWorkloadResult(mode: mode.rawValue, threads: threads, operations: 2 * steps * threads,
                                    seconds: (durations.max() ?? 0) / 1e9,
                                    threadSpread: (durations.max() ?? 1) / max(durations.min() ?? 1, 1),
                                    allocLatency: alloc.summary, freeLatency: free.summary)
    }
}

/// One thread's share of W6: its draw, its fill, the barrier, its timed steps, its cleanup.
private struct ThreadBody: @unchecked Sendable {
    // @unchecked: `Allocator` and `MemoryPool` are Sendable; the rest is immutable here.
    let workload: ThreadWorkload
    let thread: Int
    let allocator: Allocator
    let type: Int
    let pool: MemoryPool?
    let start: ThreadStart
    let outcomes: ThreadOutcomes

    /// This thread's share, returning what it measured for `outcomes`.
    func run() -> ThreadOutcome {
        var outcome = ThreadOutcome()
        do throws(AllocationError) {
            switch workload.mode {
            case .oneType:
                let requirements = { (size: UInt64) in
                    MemoryRequirements(size: size, alignment: 256, memoryTypeBits: 1 << UInt32(type))
                }
                try steps(&outcome) { (size) throws(AllocationError) in
                    try allocator.allocate(requirements(size), usage: .gpuOnly)
                } drop: { (allocation) throws(AllocationError) in try allocator.free(allocation) }
            case .ownPool:
                guard let pool else { preconditionFailure("own-pool mode without pools") }
                try steps(&outcome) { (size) throws(AllocationError) in
                    try allocator.allocate(MemoryRequirements(size: size, alignment: 256), in: pool)
                } drop: { (allocation) throws(AllocationError) in try allocator.free(allocation) }
            case .buffers:
                var info = Self.bufferInfo
                try steps(&outcome) { (size) throws(AllocationError) in
                    info.size = size
                    return try allocator.createBuffer(info, .usage(.gpuOnly))
                } drop: { (buffer) throws(AllocationError) in try allocator.destroyBuffer(buffer) }
            case .rawBuffers:
                let memory: DeviceMemory
                do { memory = try DeviceMemory.allocate(on: allocator.device, size: 2 << 20, memoryTypeIndex: type) } catch {
                    throw .memory(error)
                }
                defer { try? memory.free() }
                let calls = RawBufferCalls(device: allocator.device)
                var info = Self.bufferInfo
                try steps(&outcome) { (size) throws(AllocationError) in
                    info.size = size
                    return try calls.createAndBind(&info, memory: memory.handle)
                } drop: { (buffer) throws(AllocationError) in calls.destroy(buffer) }
            }
        } catch {
            outcome.error = error
            // A thread that failed before the barrier must still pass it, or none starts.
            start.arriveIfNotYet()
        }
        return outcome
    }

    /// W3's buffers: vertex and transfer destination, one queue family.
    private static var bufferInfo: VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    /// Draws, fills, waits at the barrier, runs the steps timing one in `sampleEvery`,
    /// stamps its end, then drops what it holds (untimed).
    private func steps<Item>(_ outcome: inout ThreadOutcome, make: (UInt64) throws(AllocationError) -> Item,
                             drop: (Item) throws(AllocationError) -> Void) throws(AllocationError) {
        var random = WyRand(state: workload.seed &+ UInt64(thread + 1) &* 0x9E37_79B9_7F4A_7C15)
        let (low, high) = workload.mode.sizes
        let initial = (0..<workload.live).map { _ in random.logUniform(low, high) }
        let sizes = (0..<workload.steps).map { _ in random.logUniform(low, high) }
        let victims = (0..<workload.steps).map { _ in random.below(workload.live) }
        var slots: [Item] = []
        slots.reserveCapacity(workload.live)
        var finished = false
        defer {
            // On an error mid-run, what the thread holds goes back too (a slot whose drop
            // threw is dropped again and fails again, harmlessly).
            if !finished { for item in slots { try? drop(item) } }
        }
        for size in initial { slots.append(try make(size)) }
        start.arriveAndWait()
        let mask = workload.sampleEvery - 1
        for step in 0..<workload.steps {
            let victim = victims[step]
            if step & mask == 0 {
                let begin = MonotonicClock.now()
                try drop(slots[victim])
                let dropped = MonotonicClock.now()
                slots[victim] = try make(sizes[step])
                let end = MonotonicClock.now()
                outcome.free.record(dropped &- begin)
                outcome.alloc.record(end &- dropped)
            } else {
                try drop(slots[victim])
                slots[victim] = try make(sizes[step])
            }
        }
        outcome.end = MonotonicClock.now()
        finished = true
        for item in slots { try drop(item) }
    }
}

/// What one thread hands back.
private struct ThreadOutcome {
    var alloc = LatencyHistogram()
    var free = LatencyHistogram()
    /// `MonotonicClock` when its last step ended.
    var end: UInt64 = 0
    var error: AllocationError?
}

/// The start barrier: threads arrive after their fill and spin (yielding their core, as
/// this machine has fewer cores than threads) until the main thread lets them go.
private final class ThreadStart: Sendable {
    let threads: Int
    private let arrived = Atomic<Int>(0)
    private let go = Atomic<Bool>(false)

    init(threads: Int) { self.threads = threads }

    func arriveAndWait() {
        arrived.add(1, ordering: .releasing)
        while !go.load(ordering: .acquiring) { sched_yield() }
    }

    /// For a thread that failed before arriving.
    func arriveIfNotYet() {
        if !go.load(ordering: .acquiring) { arrived.add(1, ordering: .releasing) }
    }

    /// Waits until every thread arrived, then starts them; returns the start's clock.
    func release() -> UInt64 {
        while arrived.load(ordering: .acquiring) < threads { usleep(100) }
        let now = MonotonicClock.now()
        go.store(true, ordering: .releasing)
        return now
    }
}

/// One slot per thread for its outcome; a counter, read with acquire ordering, says how
/// many are written (atomics the thread sanitizer sees, unlike a prebuilt lock's).
private final class ThreadOutcomes: @unchecked Sendable {
    // @unchecked: slot `t` is written only by thread `t`, before its `done` increment,
    // and read only after `waitForAll` saw every increment.
    private let slots: UnsafeMutableBufferPointer<ThreadOutcome>
    private let done = Atomic<Int>(0)

    init(count: Int) {
        slots = .allocate(capacity: count)
        _ = slots.initialize(from: repeatElement(ThreadOutcome(), count: count))
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    func store(_ outcome: ThreadOutcome, at index: Int) {
        slots[index] = outcome
        done.add(1, ordering: .releasing)
    }

    func waitForAll() {
        while done.load(ordering: .acquiring) < slots.count { usleep(200) }
    }

    var all: [ThreadOutcome] { Array(slots) }
}
