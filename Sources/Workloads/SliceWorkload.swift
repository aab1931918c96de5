import CVulkan
import Suballocation
import VulkanMemory

/// W7: 2,000 live 256-byte uniform slices of a `BufferArena` (`.dynamic` memory); each step
/// frees a random live slice and allocates a new one, as W3 does with buffers. Against
/// the same steps in one bare TLSF `VirtualBlock` (the engine under each arena buffer,
/// with the slices' alignment) and a `VkBuffer` per allocation through the allocator
/// (`createBuffer`/`destroyBuffer`). Victims are drawn before anything is timed.
public struct SliceWorkload: Sendable {
    /// Live slices.
    public var live = 2_000
    /// Free-then-allocate steps.
    public var steps = 100_000
    /// Bytes of each slice.
    public var sliceSize: UInt64 = 256
    /// The generator's seed.
    public var seed: UInt64 = 7
    /// After the mean passes, the same steps again with every pair timed alone.
    public var timingEachOperation = true

    /// Creates the workload with the parameters.
    public init(live: Int = 2_000, steps: Int = 100_000, seed: UInt64 = 7) {
        self.live = live
        self.steps = steps
        self.seed = seed
    }

    /// Each step's victim, a slot below `live`; the same for every run of the workload.
    func victims() -> [Int] {
        var random = WyRand(state: seed)
        return (0..<steps).map { _ in random.below(live) }
    }
}

/// What one run of W7 measured.
public struct SliceWorkloadResult: Sendable {
    /// "W7".
    public var workload = "W7"
    /// Nanoseconds per free+allocate pair of arena slices.
    public var sliceNanoseconds: Double
    /// Nanoseconds per free+allocate pair in one bare `VirtualBlock`.
    public var engineNanoseconds: Double
    /// Nanoseconds per destroyBuffer+createBuffer pair through the allocator.
    public var pairNanoseconds: Double
    /// Arena buffers at the end (`VkBuffer`s the slices share).
    public var arenaBuffers: Int
    /// The slices' offset alignment on this device.
    public var sliceAlignment: UInt64
    /// Each slice pair timed alone.
    public var sliceLatency = LatencySummary.none
    /// Each createBuffer+destroyBuffer pair timed alone.
    public var pairLatency = LatencySummary.none

    /// The run with the median `sliceNanoseconds`, the other means their own medians.
    public static func median(_ runs: [SliceWorkloadResult]) -> SliceWorkloadResult {
        var result = runs.sorted { $0.sliceNanoseconds < $1.sliceNanoseconds }[runs.count / 2]
        result.engineNanoseconds = runs.map(\.engineNanoseconds).sorted()[runs.count / 2]
        result.pairNanoseconds = runs.map(\.pairNanoseconds).sorted()[runs.count / 2]
        result.sliceLatency = .median(runs.map(\.sliceLatency))
        result.pairLatency = .median(runs.map(\.pairLatency))
        return result
    }
}

extension SliceWorkload {
    /// Runs W7 once on a device with a fresh allocator: the arena's steps, the engine's,
    /// and the buffer-per-allocation steps, then (`timingEachOperation`) the latency pass.
    /// - Throws: `BufferArenaError` when the device runs out of memory.
    public func run(on device: VulkanDevice) throws(BufferArenaError) -> SliceWorkloadResult {
        let victims = victims()
        let allocator = Allocator(device: device)
        let arena = try makeArena(allocator)
        defer { arena.destroy() }
        var slices = try (0..<live).map { (_) throws(BufferArenaError) in try arena.allocate(size: sliceSize) }
        var start = ContinuousClock.now
        for victim in victims {
            try arena.free(slices[victim])
            slices[victim] = try arena.allocate(size: sliceSize)
        }
        let sliceTime = nanoseconds(start) / Double(steps)
        let buffers = arena.statistics.blockCount
        for slice in slices { try arena.free(slice) }

        let engineTime = enginePairs(alignment: arena.sliceAlignment, victims: victims)

        let info = bufferInfo()
        var bound: [BoundBuffer] = []
        defer { for buffer in bound { try? allocator.destroyBuffer(buffer) } }
        do throws(AllocationError) {
            for _ in 0..<live { bound.append(try allocator.createBuffer(info, .usage(.dynamic))) }
            start = ContinuousClock.now
            for victim in victims {
                try allocator.destroyBuffer(bound[victim])
                bound[victim] = try allocator.createBuffer(info, .usage(.dynamic))
            }
        } catch {
            throw .allocation(error)
        }
        let pairTime = nanoseconds(start) / Double(steps)
        var result = SliceWorkloadResult(sliceNanoseconds: sliceTime, engineNanoseconds: engineTime,
                                         pairNanoseconds: pairTime, arenaBuffers: buffers,
                                         sliceAlignment: arena.sliceAlignment)
        if timingEachOperation {
            try latencyPass(arena: arena, allocator: allocator, bound: &bound, victims: victims, into: &result)
        }
        return result
    }

    /// The arena W7 runs in: uniform slices in `.dynamic` memory, 1 MiB buffers.
    func makeArena(_ allocator: Allocator) throws(BufferArenaError) -> BufferArena {
        try BufferArena(allocator: allocator, options: BufferArenaOptions(
            usage: [.uniformBuffer], memoryUsage: .dynamic, blockSize: 1 << 20, name: "W7"))
    }

    /// A 256-byte uniform buffer's create-info.
    func bufferInfo() -> VkBufferCreateInfo {
        BufferDescription(size: sliceSize, usage: [.uniformBuffer]).exclusiveCreateInfo
    }

    /// The same steps in one bare TLSF `VirtualBlock` with room for every slice.
    func enginePairs(alignment: UInt64, victims: [Int]) -> Double {
        // Room for twice the live slices at their alignment: neither creation nor any
        // allocation can fail.
        let stride = max(sliceSize, alignment)
        var block = try! VirtualBlock(size: UInt64(live) * stride * 2)
        var handles = (0..<live).map { _ in try! block.allocate(size: sliceSize, alignment: alignment).handle }
        let start = ContinuousClock.now
        for victim in victims {
            try! block.free(handles[victim])
            handles[victim] = try! block.allocate(size: sliceSize, alignment: alignment).handle
        }
        return nanoseconds(start) / Double(victims.count)
    }
}
