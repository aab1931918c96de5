import CVulkan
import Testing
import VulkanMemory
import Workloads

/// W3's harness on lavapipe, under the validation layer as `VKMEM_VALIDATION` says.
@Suite("W3 harness")
struct ResourceWorkloadTests {
    /// Lavapipe, with the validation layer as `VKMEM_VALIDATION` says.
    static func context() throws -> VulkanContext {
        var options = VulkanContext.Options()
        options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
        options.applicationName = "WorkloadsTests"
        return try VulkanContext(options: options)
    }

    /// The best-fit yardstick must replay exactly the sizes placed, in placement order.
    /// With 12 live buffers and 600 steps most slots are victims several times within one
    /// timed chunk, which is where reading the slots after each chunk went wrong.
    @Test func theBestFitReferenceReplaysEverySizeInTheOrderPlaced() throws {
        let context = try Self.context()
        let workload = ResourceWorkload(live: 12, steps: 600, seed: 11)
        let result = try workload.run(on: context.device)

        // The driver's size for each drawn buffer size, asked independently of the run.
        let allocator = Allocator(device: context.device)
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue
                                            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        func placedSize(_ size: UInt64) throws -> UInt64 {
            info.size = size
            let buffer = try allocator.createBuffer(info, .usage(.gpuOnly))
            defer { try? allocator.destroyBuffer(buffer) }
            return buffer.allocation.size
        }
        let (initialSizes, stepSizes, victims) = workload.draw()
        let initial = try initialSizes.map(placedSize)
        let steps = try stepSizes.map(placedSize)
        let expected = BestFitReference.extents(initialSizes: initial[...], stepSizes: steps[...], victims: victims)

        #expect(result.bestFitPeakBytes == expected.peak)
        #expect(result.bestFitEndBytes == expected.end)
        // The live bytes at the end are the last size placed in each slot.
        var last = initial
        for (step, victim) in victims.enumerated() { last[victim] = steps[step] }
        #expect(result.liveBytes == last.reduce(0, +))
        // The peak of live bytes, recounted from scratch after every step.
        var slots = initial
        var peak = slots.reduce(0, +)
        for (step, victim) in victims.enumerated() {
            slots[victim] = steps[step]
            peak = max(peak, slots.reduce(0, +))
        }
        #expect(result.peakLiveBytes == peak)
        #expect(result.peakLiveBytes >= result.liveBytes)
        #expect(allocator.leaks().isEmpty)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages)")
    }

    /// With 1 MiB pages, buffers over half a page get dedicated memory: the pass that
    /// binds raw buffers where the allocator bound them must leave those out
    /// (VUID-vkBindBufferMemory-memory-01508), and pages released during the steps too.
    @Test func thePlacedPassBindsOnlyToSharedMemoryStillHeld() throws {
        let context = try Self.context()
        var allocatorOptions = AllocatorOptions()
        allocatorOptions.deviceLocalPageSize = 1 << 20
        allocatorOptions.emptyPages = .keep(0)
        let result = try ResourceWorkload(live: 60, steps: 3_000, seed: 5).run(on: context.device, options: allocatorOptions)
        #expect(result.rawPlacedPairNanoseconds > 0)
        #expect(result.replayMatched)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages.prefix(3))")
    }

    /// The placement figures come from an untimed replay of the steps, which must place
    /// as the timed run did: its totals agree on every seed here, with pages made, drained
    /// and released along the way (1 MiB pages, none kept empty).
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func theReplayEndsAsTheTimedRunDid(seed: UInt64) throws {
        let context = try Self.context()
        var allocatorOptions = AllocatorOptions()
        allocatorOptions.deviceLocalPageSize = 1 << 20
        allocatorOptions.emptyPages = .keep(0)
        var workload = ResourceWorkload(live: 200, steps: 2_000, seed: seed)
        workload.timingEachOperation = false
        let result = try workload.run(on: context.device, options: allocatorOptions)
        #expect(result.replayMatched)
        #expect(result.peakLiveBytes >= result.liveBytes && result.bestFitPeakBytes >= result.peakLiveBytes)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages.prefix(3))")
    }

    /// The floor pass (the raw calls, each buffer placed by one bare engine in one memory)
    /// binds every buffer inside that memory at an offset its requirements allow (the
    /// validation layer checks each bind) and reports a time.
    @Test func theFloorPassBindsWhereTheEngineAlonePlaces() throws {
        let context = try Self.context()
        let result = try ResourceWorkload(live: 200, steps: 2_000, seed: 7).run(on: context.device)
        #expect(result.floorPairNanoseconds > 0)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages.prefix(3))")
    }

    /// W3 with a moving pass every 1,000 steps of at most 8 MiB, in 1 MiB pages: every
    /// live buffer reads back as the GPU wrote it, committed memory stays within 110% of
    /// live after the warm-up, and no pass moves more than its budget.
    @Test func incrementalMovesKeepEveryBuffersDataNearLiveMemory() throws {
        let context = try Self.context()
        var allocatorOptions = AllocatorOptions()
        allocatorOptions.deviceLocalPageSize = 1 << 20
        let run = try ResourceWorkload(live: 2_000, steps: 6_000, seed: 3)
            .runIncremental(on: context.device, queue: context.queue.handle, queueFamilyIndex: context.queueFamilyIndex,
                            warmUpSteps: 2_000, options: allocatorOptions)
        #expect(run.checkedBuffers == 2_000 && run.mismatchedBuffers == 0)
        #expect(run.passes > 0 && run.maxMovedBytes <= 8 << 20)
        #expect(run.maxRatio <= 1.10, "committed reached \(run.maxRatio * 100)% of live after the warm-up")
        #expect(run.maxMemoryObjects > 0 && run.finalMemoryObjects > 0)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages)")
    }
}
