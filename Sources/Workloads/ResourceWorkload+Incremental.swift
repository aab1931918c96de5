import CVulkan
import VulkanMemory

/// What W3 with a moving defragmentation step every so many steps measured.
public struct IncrementalDefragmentationRun: Sendable {
    /// Steps between two defragmentation steps.
    public var interval: Int
    /// The most bytes one defragmentation step copies.
    public var budget: UInt64
    /// Steps not counted in `maxRatio`: the fill and the churn before the steps first reach a steady state.
    public var warmUpSteps: Int
    /// The highest committed / live ratio after any step past the warm-up.
    public var maxRatio = 0.0
    /// The step it was reached at.
    public var maxRatioStep = 0
    /// Committed / live after the last step.
    public var finalRatio = 0.0
    /// The lowest `maxRatio` any policy could reach that releases pages only at its
    /// passes: the most live bytes fall below their peak since the last pass, as a
    /// ratio (committed memory equal to the live bytes at every pass, and no page
    /// released between passes).
    public var liveDipBound = 0.0
    /// The highest ratio over the whole run, the warm-up included.
    public var maxRatioWithWarmUp = 0.0
    /// The most `VkDeviceMemory` objects (pages and dedicated allocations) held after any
    /// step past the warm-up: what small pages cost, on drivers that slow down with each.
    public var maxMemoryObjects = 0
    /// `VkDeviceMemory` objects held after the last step.
    public var finalMemoryObjects = 0
    /// Live buffers read back at the end, each filled on the GPU with a word of its own
    /// before any pass could move it.
    public var checkedBuffers = 0
    /// Of those, the buffers whose bytes were not their word: data a move lost or mixed.
    public var mismatchedBuffers = 0
    /// Defragmentation steps that moved something.
    public var passes = 0
    /// Defragmentation steps tried.
    public var stepsTried = 0
    /// Bytes all passes moved.
    public var movedBytes: UInt64 = 0
    /// The most one pass moved.
    public var maxMovedBytes: UInt64 = 0
    /// Pages the passes released.
    public var releasedPages = 0
    /// Nanoseconds from submitting a pass's command buffer to its fence, each pass.
    public var copyNanoseconds: [Double] = []
    /// Nanoseconds planning, re-creating and recording each pass (host side).
    public var planNanoseconds: [Double] = []

    /// Mean bytes per pass.
    public var meanMovedBytes: Double { passes == 0 ? 0 : Double(movedBytes) / Double(passes) }
}

extension ResourceWorkload {
    /// W3's steps with a moving defragmentation step (`IncrementalDefragmentation`) after
    /// every `interval` steps, of at most `budget` bytes, its copies submitted on
    /// `queue` and waited for (the GPU copy time is measured from the submit to the
    /// fence). Committed memory is compared with the live buffers' bytes after every step.
    /// Each buffer is filled on the GPU with a word of its own before the next pass, and
    /// every live buffer is read back and compared at the end (`checkedBuffers`,
    /// `mismatchedBuffers`).
    ///
    /// W3's buffers have no `TRANSFER_SRC` usage, so each move copies through a second
    /// buffer on the old memory, as any pass does for such buffers.
    /// - Throws: `AllocationError`, or `.vulkan` for a failed submission.
    public func runIncremental(on device: VulkanDevice, queue: VkQueue, queueFamilyIndex: UInt32, interval: Int = 1_000,
                               budget: UInt64 = 8 << 20, warmUpSteps: Int = 10_000,
                               options: AllocatorOptions = AllocatorOptions()) throws(AllocationError)
        -> IncrementalDefragmentationRun {
        let (initialSizes, stepSizes, victims) = draw()
        var info = ResourceWorkload.bufferInfo
        let frame: CommandSubmission
        do { frame = try CommandSubmission(device: device, queue: queue, queueFamilyIndex: queueFamilyIndex) } catch {
            throw .vulkan(error)
        }
        let allocator = Allocator(device: device, options: options)
        var buffers: [BoundBuffer] = []
        defer { for buffer in buffers { try? allocator.destroyBuffer(buffer) } }
        // The data check reads each buffer through an alias: dedicated memory is then made
        // without naming the buffer (`canAlias`), so the alias may bind to it.
        let allocationOptions = AllocationOptions(strategy: strategy, canAlias: true)
        var patterns = try BufferPatterns(allocator: allocator, queue: queue, queueFamilyIndex: queueFamilyIndex,
                                          slots: initialSizes.count)
        var live: UInt64 = 0
        for size in initialSizes {
            info.size = size
            buffers.append(try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions))
            patterns.created(buffers.count - 1)
            live += buffers[buffers.count - 1].allocation.size
        }
        let policy = IncrementalDefragmentation(maxBytesPerStep: budget)
        var run = IncrementalDefragmentationRun(interval: interval, budget: budget, warmUpSteps: warmUpSteps)
        var windowPeak: UInt64 = 0
        for step in 0..<steps {
            let victim = victims[step]
            live -= buffers[victim].allocation.size
            try allocator.destroyBuffer(buffers[victim])
            info.size = stepSizes[step]
            buffers[victim] = try allocator.createBuffer(info, .usage(.gpuOnly), options: allocationOptions)
            patterns.created(victim)
            live += buffers[victim].allocation.size
            if (step + 1) % interval == 0 {
                try patterns.fill(buffers)
                try defragmentationStep(policy, allocator, frame, &buffers, into: &run)
            }
            let usage = allocator.usage
            let ratio = Double(usage.committedBytes) / Double(live)
            run.finalMemoryObjects = usage.pageCount + usage.dedicatedCount
            if step >= warmUpSteps { run.maxMemoryObjects = max(run.maxMemoryObjects, run.finalMemoryObjects) }
            run.maxRatioWithWarmUp = max(run.maxRatioWithWarmUp, ratio)
            if step >= warmUpSteps, ratio > run.maxRatio {
                run.maxRatio = ratio
                run.maxRatioStep = step
            }
            run.finalRatio = ratio
            // Committed memory falls only when a page goes; if it equalled live memory at
            // each pass, the live bytes' own dips until the next pass would still raise
            // the ratio to this.
            if step % interval == 0 { windowPeak = live }
            windowPeak = max(windowPeak, live)
            if step >= warmUpSteps { run.liveDipBound = max(run.liveDipBound, Double(windowPeak) / Double(live)) }
        }
        try patterns.fill(buffers)
        (run.checkedBuffers, run.mismatchedBuffers) = try patterns.check(buffers)
        return run
    }

    /// One frame's defragmentation: the policy's pass recorded, submitted, waited for
    /// (timed), released, and the moved buffers replaced.
    private func defragmentationStep(_ policy: IncrementalDefragmentation, _ allocator: Allocator,
                                     _ frame: CommandSubmission, _ buffers: inout [BoundBuffer],
                                     into run: inout IncrementalDefragmentationRun) throws(AllocationError) {
        run.stepsTried += 1
        do throws(VulkanError) { try frame.begin() } catch { throw .vulkan(error) }
        let planStart = ContinuousClock.now
        let pass: MovingDefragmentationPass?
        do throws(MovingDefragmentationError) {
            pass = try policy.step(allocator, buffers: buffers, recordingInto: frame.commandBuffer)
        } catch {
            switch error {
            case .allocation(let error): throw error
            case .movesInFlight: throw .defragmentationPassOpen
            }
        }
        let planTime = nanoseconds(planStart)
        let result: MovingDefragmentationResult?
        switch consume pass {
        case .some(let pass): result = pass.finish(after: .fence(frame.fence))
        case .none: result = nil
        }
        let copyStart = ContinuousClock.now
        do throws(VulkanError) {
            try frame.submit()
            try frame.wait()
        } catch {
            throw .vulkan(error)
        }
        let copyTime = nanoseconds(copyStart)
        guard let result else { return }
        let released = try allocator.releaseCompletedMoves()
        for index in buffers.indices { if let new = result.buffers[buffers[index]] { buffers[index] = new } }
        run.passes += 1
        run.movedBytes += result.bytesMoved
        run.maxMovedBytes = max(run.maxMovedBytes, result.bytesMoved)
        run.releasedPages += released?.releasedPages ?? 0
        run.copyNanoseconds.append(copyTime)
        run.planNanoseconds.append(planTime)
    }
}
