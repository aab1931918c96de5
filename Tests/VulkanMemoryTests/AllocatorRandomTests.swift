import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// Seeded random runs of the allocator's whole surface against a reference model, with
/// `Allocator._checkInvariants()` after every step and the validation layer watching every
/// Vulkan call.
///
/// Each seed draws heap caps small enough that `.outOfMemory` is frequent, page sizes, the
/// empty-page rule and whether the budget is respected, then runs 2,000 operations:
/// allocations (sizes, alignments, kinds, intents, type bits, dedicated policies, mapped,
/// names, priorities, strategies, and invalid requests), frees, buffers and images made
/// and destroyed, batches bound with every `BindStrategy` and destroyed with
/// `destroy(many:)`, binds to allocations held (`createBuffer(_:boundTo:)`), custom pools,
/// reservations, defragmentation passes (moves re-created, ignored, or their sources
/// freed; committed or cancelled; allocations made while a pass is open) and
/// `freeUnusedPages()`. See `AllocatorRandomRun` for what is checked after each step.
@Suite("Allocator: seeded random operations against a reference model")
struct AllocatorRandomTests {
    /// Seeds per test case: each case makes one device (instance, validation layer and
    /// all), which costs more than a seed's operations on lavapipe.
    static let seedsPerCase: UInt64 = 4

    /// 50 cases × 4 seeds × 2,000 operations on lavapipe (one heap, one memory type);
    /// `make test` runs the first 25 cases (`RandomCoverage`).
    @Test("random operations on lavapipe", arguments: RandomCoverage.cases(50))
    func lavapipe(_ testCase: UInt64) throws {
        try withTestDevice { context in
            for seed in testCase * Self.seedsPerCase..<(testCase + 1) * Self.seedsPerCase {
                let tally = try AllocatorRandomRun.run(device: context.device, seed: seed, steps: 2_000)
                // The caps are meant to bite, and most operations still to succeed.
                #expect(tally.outOfMemory >= 10, "seed \(seed): only \(tally.outOfMemory) out-of-memory failures")
                #expect(tally.succeeded >= 1_000, "seed \(seed): only \(tally.succeeded) operations succeeded")
            }
        }
    }

    /// Memory layouts unlike lavapipe's one type: several heaps and types, type fallback,
    /// non-coherent atoms, large granularities, lazily allocated memory.
    static let profiles: [(ProfileCase, heapSizeOverride: UInt64?)] = [
        (.named("NVIDIA GeForce RTX 4070"), nil),                                  // NVIDIA discrete, BAR on VRAM
        (.named("GeForce 940M"), 512 << 20),                                       // granularity 64 KiB, small heaps
        (.named("AMD Radeon RX 6600"), nil),                                       // 256 MiB BAR heap, atom 128
        (.named("Intel(R) HD Graphics 500 (APL 2)"), nil),                         // integrated, cached non-coherent
        (.named("AMD Radeon(TM) Graphics") { $0.memoryHeaps.count == 2 }, nil),    // APU, VRAM is heap 1
    ]

    /// 5 profiles × 5 cases × 4 seeds × 1,000 operations on profiled devices over lavapipe: 20
    /// seeds a profile; `make test` runs the first 2 cases of each (`RandomCoverage`).
    @Test("random operations on profiled devices", needsLavapipe,
          arguments: profiles.indices, RandomCoverage.cases(5))
    func profiled(_ profile: Int, _ testCase: UInt64) throws {
        let (profileCase, heapSizeOverride) = Self.profiles[profile]
        try withProfiledDevice(profileCase.profile, heapSizeOverride: heapSizeOverride) { device in
            for seed in testCase * Self.seedsPerCase..<(testCase + 1) * Self.seedsPerCase {
                let tally = try AllocatorRandomRun.run(device: device, seed: 1_000_000 * UInt64(profile + 1) + seed,
                                                       steps: 1_000)
                #expect(tally.outOfMemory >= 5, "\(profileCase.profile.name), seed \(seed): \(tally)")
                #expect(tally.succeeded >= 500, "\(profileCase.profile.name), seed \(seed): \(tally)")
            }
        }
    }

    /// Replays one seed: `VKMEM_RANDOM_SEED=172 swift test --filter oneSeed` (with
    /// `VKMEM_RANDOM_STEPS` to change the 2,000 steps).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VKMEM_RANDOM_SEED"] != nil))
    func oneSeed() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = UInt64(environment["VKMEM_RANDOM_SEED"] ?? "") ?? 0
        let steps = Int(environment["VKMEM_RANDOM_STEPS"] ?? "") ?? 2_000
        try withTestDevice { context in
            let tally = try AllocatorRandomRun.run(device: context.device, seed: seed, steps: steps)
            print("seed \(seed): \(tally)")
        }
    }

    /// Found by the random runs: a buffer bound later (`createBuffer(_:boundTo:)`) to an
    /// allocation placed with alignment 1 met its 64-byte alignment only where the range
    /// happened to lie; a defragmentation move placed the destination with alignment 1
    /// again, at an odd offset, and the buffer could not be re-created there. The move now
    /// keeps the bound resource's alignment.
    /// The scenario needs exact placements: a device with a `bufferImageGranularity` of at
    /// most 64 (lavapipe); the random runs cover the property on every device.
    @Test(.enabled(if: granularityIsSmall, "skipped: the placements it needs assume a bufferImageGranularity of at most 64"))
    func aMoveKeepsTheAlignmentOfAResourceBoundLater() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.setPageSize(1 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            func linear(_ size: UInt64) -> MemoryRequirements { MemoryRequirements(size: size, alignment: 1, kind: .linear) }
            let shared = AllocationOptions(dedicated: .never)
            // Page 0 full; the allocation to move alone at the start of page 1, then page 1 full.
            let first = try allocator.allocate(linear((1 << 20) - 128), usage: .gpuOnly, options: shared)
            let rest = try allocator.allocate(linear(128), usage: .gpuOnly, options: shared)
            let moved = try allocator.allocate(linear(64), usage: .gpuOnly, options: shared)
            #expect(moved.memory != first.memory && moved.offset == 0)
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = 64
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            let buffer = try allocator.createBuffer(info, boundTo: moved)
            let alignment = allocator.requirements(of: buffer.buffer).alignment
            #expect(alignment > 4, "the test needs a buffer alignment above 4 (the device gives \(alignment))")
            let filler = try allocator.allocate(linear((1 << 20) - 64), usage: .gpuOnly, options: shared)
            #expect(filler.memory == moved.memory)
            // Page 0 again: 3 bytes, then all but a hole of 100 bytes at an offset that is a
            // multiple of 4 only. Page 1 then holds the buffer's 64 bytes alone.
            try allocator.free(first)
            try allocator.free(rest)
            let low = try allocator.allocate(linear(3), usage: .gpuOnly, options: shared)
            let high = try allocator.allocate(linear((1 << 20) - 103), usage: .gpuOnly, options: shared)
            #expect(low.memory == first.memory && high.memory == first.memory && high.offset == 3)
            try allocator.free(filler)
            allocator._checkInvariants()
            let pass = try allocator.beginDefragmentation()
            #expect(pass.moves.count == 1 && pass.moves.first?.source == moved)
            guard let move = pass.moves.first else { return }
            #expect(move.destination.memory == first.memory)
            #expect(move.destination.offset % alignment == 0, "destination at \(move.destination.offset)")
            let recreated = try allocator.createBuffer(info, boundTo: move.destination)
            allocator._checkInvariants()
            pass.commit()
            try allocator.destroyBuffer(buffer)
            try allocator.destroyBuffer(recreated)
            try allocator.free(low)
            try allocator.free(high)
            allocator._checkInvariants()
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}

/// One seeded run: the allocator, the generator and the reference model.
///
/// The model is what the test expects to be live: every allocation (plain, or the memory of
/// a buffer or image) with the bytes written through `Allocator.map` into its head and
/// tail where the memory is host-visible, the custom pools and what they hold, and the
/// contiguous groups with the size of their shared range. After each step:
/// - `allocator._checkInvariants()`;
/// - `usage.allocationCount`, `liveBytes` and `dedicatedCount` equal the model's (a
///   contiguous group counts once, with its whole range; page allocations are rounded to
///   whole non-coherent atoms, dedicated ones are exactly the size asked for);
/// - no two live allocations of one `VkDeviceMemory` overlap (each new or moved one is
///   checked against all others when it comes, all pairs every 64 steps);
/// - a freed allocation is not `isLive` (checked when it is freed, and the last 48 every
///   16 steps); every live one is (when made, and all of them every 32 steps);
/// - a call that may fail and throws leaves `statistics()` equal to what it was before the
///   call, and `usage` equal but for `deviceMemoryAllocations`, and throws an error its
///   inputs allow; calls that must succeed (freeing and destroying what the model holds,
///   binding a move's destination) take no snapshot.
/// Each allocation is checked when made (type bits, alignment, size, dedicated or not,
/// mapping) and its bytes when it is freed, destroyed or moved.
final class AllocatorRandomRun {
    /// Stops a run after its first failed expectation (already recorded).
    struct Stopped: Error {}

    /// What the memory is for, and how to give it back.
    enum Owner {
        case plain
        case buffer(BoundBuffer, VkBufferCreateInfo)
        case image(BoundImage, VkImageCreateInfo)

        var resource: Resource? {
            switch self {
            case .plain: nil
            case .buffer(let buffer, _): .buffer(buffer)
            case .image(let image, _): .image(image)
            }
        }
    }

    /// One live allocation of the model.
    struct Tracked {
        var allocation: Allocation
        var owner: Owner
        /// The seed of the bytes written at its head and tail; nil when nothing was written.
        var tag: UInt64?
        /// The custom pool it was made in.
        var pool: ObjectIdentifier?
    }

    /// A contiguous group: (slot, generation) of its `GroupEntry`.
    struct GroupKey: Hashable {
        let slot: UInt32
        let generation: UInt32
    }

    /// What a run did, for the test's sanity checks.
    struct Tally {
        var succeeded = 0
        var outOfMemory = 0
        var otherFailures = 0
        /// Failures by error case.
        var failures: [String: Int] = [:]
        var passes = 0
        var moves = 0
    }

    let allocator: Allocator
    let properties: MemoryProperties
    let seed: UInt64
    var rng: SplitMix64
    var tracked: [Tracked] = []
    var pools: [MemoryPool] = []
    /// Live contiguous groups: their range's size and live members.
    var groups: [GroupKey: (size: UInt64, live: Int)] = [:]
    /// Live allocations outside the model: a defragmentation pass's destinations (and the
    /// sources of moves taken) while the pass is open.
    var extra: [Allocation] = []
    var recentlyFreed: [Allocation] = []
    var step = 0
    /// What the step does, for failure messages: built only when one is recorded.
    var operation: () -> String = { "setup" }
    var targetLive: Int
    var tally = Tally()
    let addressable: Bool
    /// Whether the heaps' budget and usage in `statistics()` are this process's state alone:
    /// on lavapipe and profiled devices (a CPU device underneath) they are; a real GPU's
    /// driver counts other processes too, so there they may change between two snapshots.
    let driverBudgetIsState: Bool
    let allTypeBits: UInt32

    private init(device: VulkanDevice, seed: UInt64) {
        self.seed = seed
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491)
        let properties = MemoryProperties(device: device)
        var options = AllocatorOptions()
        options.reportLeaksAtTeardown = false
        for heap in properties.heaps {
            options.heapSizeLimits[heap.index] = min(heap.size, UInt64(rng.int(8...64)) << 20)
        }
        if rng.chance(70) {
            for heap in properties.heaps {
                options.pageSizeByHeap[heap.index] = rng.pick([1, 2, 3, 4, 6, 8, 16]) << 20
            }
        }
        if rng.chance(20) {
            options.pageSizeByType[rng.int(0...properties.types.count - 1)] = rng.pick([1, 2, 5]) << 20
        }
        options.emptyPages = .keep(rng.int(0...2))
        options.respectBudget = rng.chance(20)
        // Half the seeds look for a sparse page every 16 frees, so 2,000 steps drain pages
        // (drawn from the seed, not the generator, whose sequence the cases' tallies rest on).
        if seed % 2 == 0 { options.sparseCheckInterval = 16 }
        allocator = Allocator(device: device, options: options)
        self.properties = properties
        targetLive = rng.int(8...128)
        addressable = device.capabilities.contains(.bufferDeviceAddress)
        driverBudgetIsState = device.info.type == .cpu || ProfiledDevice.of(device) != nil
        allTypeBits = properties.types.count >= 32 ? .max : (1 << UInt32(properties.types.count)) - 1
        self.rng = rng
    }

    /// Runs `steps` random operations on a fresh allocator of `device`, then frees
    /// everything and checks that nothing is left.
    static func run(device: VulkanDevice, seed: UInt64, steps: Int) throws -> Tally {
        let run = AllocatorRandomRun(device: device, seed: seed)
        do {
            for step in 0..<steps {
                run.step = step
                try run.randomStep()
                try run.verify()
            }
            try run.tearDown()
        } catch is Stopped {
            // Recorded already. Give back what can be, so the failure stands alone (the
            // allocator's deinit frees the memory; buffers and images are the test's).
            run.abandon()
        }
        return run.tally
    }

    // MARK: - Expectations

    func expect(_ condition: Bool, _ message: @autoclosure () -> String,
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard !condition else { return }
        Issue.record("seed \(seed), step \(step), \(operation()): \(message())", sourceLocation: sourceLocation)
        throw Stopped()
    }

    /// Runs an allocator call; when it throws, checks that it changed nothing.
    func attempt<T>(_ body: () throws(AllocationError) -> T,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Result<T, AllocationError> {
        let statistics = allocator.statistics()
        let usage = allocator.usage
        do throws(AllocationError) {
            let value = try body()
            tally.succeeded += 1
            return .success(value)
        } catch {
            if case .outOfMemory = error { tally.outOfMemory += 1 } else { tally.otherFailures += 1 }
            tally.failures[Self.name(of: error), default: 0] += 1
            var after = allocator.usage
            after.deviceMemoryAllocations = usage.deviceMemoryAllocations
            try expect(after == usage, "threw \(error) but usage went from \(usage) to \(after)",
                       sourceLocation: sourceLocation)
            let now = allocator.statistics()
            try expect(now == statistics || (!driverBudgetIsState && Self.sameIgnoringDriverBudget(now, statistics)),
                       "threw \(error) but statistics changed: \(Self.difference(statistics, now))",
                       sourceLocation: sourceLocation)
            return .failure(error)
        }
    }

    static func name(of error: AllocationError) -> String {
        switch error {
        case .zeroSize: "zeroSize"
        case .alignmentNotPowerOfTwo: "alignmentNotPowerOfTwo"
        case .sizeOverflow: "sizeOverflow"
        case .invalidPriority: "invalidPriority"
        case .noSuitableMemoryType: "noSuitableMemoryType"
        case .outOfMemory: "outOfMemory"
        case .tooManyAllocations: "tooManyAllocations"
        case .unknownAllocation: "unknownAllocation"
        case .alreadyFreed: "alreadyFreed"
        case .groupTooLarge: "groupTooLarge"
        case .duplicateResource: "duplicateResource"
        case .defragmentationPassOpen: "defragmentationPassOpen"
        case .tooManyPools: "tooManyPools"
        case .invalidName: "invalidName"
        case .poolNotEmpty: "poolNotEmpty"
        case .requirementsNotMet: "requirementsNotMet"
        case .aliasesLive: "aliasesLive"
        case .corruptionDetectionNotEnabled: "corruptionDetectionNotEnabled"
        case .invalidCreateInfo: "invalidCreateInfo"
        case .upperAddressUnavailable: "upperAddressUnavailable"
        case .unsupportedForLinearPool: "unsupportedForLinearPool"
        case .needsDedicatedMemory: "needsDedicatedMemory"
        case .manyFailed: "manyFailed"
        case .invalidCount: "invalidCount"
        case .bufferUsageMissing: "bufferUsageMissing"
        case .memory: "memory"
        case .sharedMemory: "sharedMemory"
        case .vulkan: "vulkan"
        }
    }

    /// Whether two snapshots agree in everything but the heaps' budget and usage as the
    /// driver reports them.
    static func sameIgnoringDriverBudget(_ a: Statistics, _ b: Statistics) -> Bool {
        a.device == b.device && a.totals == b.totals && a.types == b.types && a.pages == b.pages
            && a.dedicated == b.dedicated && a.heaps.count == b.heaps.count
            && zip(a.heaps, b.heaps).allSatisfy {
                $0.index == $1.index && $0.size == $1.size && $0.flags == $1.flags && $0.committedBytes == $1.committedBytes
            }
    }

    /// Runs an allocator call that must succeed (freeing or destroying what the model
    /// holds, binding a move's destination): no snapshot is taken before it.
    @discardableResult
    func mustSucceed<T>(_ body: () throws(AllocationError) -> T,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        do throws(AllocationError) {
            let value = try body()
            tally.succeeded += 1
            return value
        } catch {
            try expect(false, "threw \(error)", sourceLocation: sourceLocation)
            throw Stopped()
        }
    }

    /// The first difference between two snapshots, for a failure message.
    static func difference(_ a: Statistics, _ b: Statistics) -> String {
        if a.totals != b.totals { return "totals \(a.totals) → \(b.totals)" }
        if a.heaps != b.heaps { return "heaps \(a.heaps) → \(b.heaps)" }
        if a.types != b.types { return "types \(a.types) → \(b.types)" }
        if a.pages.count != b.pages.count { return "\(a.pages.count) pages → \(b.pages.count)" }
        for (index, (p, q)) in zip(a.pages, b.pages).enumerated() where p != q { return "page \(index): \(p) → \(q)" }
        return "dedicated \(a.dedicated) → \(b.dedicated)"
    }

    /// Whether an error is one a valid request may meet: a full heap, pool or device, no
    /// type for the bits and flags asked, or a group no page can hold.
    func expectCapacityFailure(_ error: AllocationError, sourceLocation: SourceLocation = #_sourceLocation) throws {
        switch error {
        case .outOfMemory, .tooManyAllocations, .noSuitableMemoryType, .groupTooLarge: return
        case let .memory(.featureNotEnabled(typeIndex, _, _))
            where properties.types.indices.contains(typeIndex)
                && !properties.types[typeIndex].flags.intersection([.protected, .deviceCoherentAMD]).isEmpty:
            // A custom pool of a type whose feature the library never enables: its pages
            // cannot be made.
            return
        default: try expect(false, "unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - The model after each step

    func isMember(_ allocation: Allocation) -> GroupKey? {
        if case let .member(slot, generation, _) = allocation.location { return GroupKey(slot: slot, generation: generation) }
        return nil
    }

    func verify(sourceLocation: SourceLocation = #_sourceLocation) throws {
        allocator._checkInvariants()
        let usage = allocator.usage
        var count = groups.count + extra.count
        var bytes = groups.values.reduce(0) { $0 + $1.size } + extra.reduce(0) { $0 + $1.size }
        var dedicatedCount = 0
        for entry in tracked where isMember(entry.allocation) == nil {
            count += 1
            bytes += entry.allocation.size
            if entry.allocation.isDedicated { dedicatedCount += 1 }
        }
        try expect(usage.allocationCount == count && usage.liveBytes == bytes && usage.dedicatedCount == dedicatedCount,
                   "usage holds \(usage.allocationCount) allocations (\(usage.dedicatedCount) dedicated) of "
                       + "\(usage.liveBytes) bytes; the model \(count) (\(dedicatedCount)) of \(bytes)",
                   sourceLocation: sourceLocation)
        // No two live allocations of one memory overlap: each new or moved allocation is
        // checked against the others when it comes (`checkNoOverlap`), and all of them
        // every 64 steps.
        if step % 64 == 0 { try checkNoOverlaps(sourceLocation: sourceLocation) }
        // Checking liveness throws inside the allocator for freed handles, and Swift
        // Testing takes a backtrace of every throw: the lately freed are checked when freed
        // and every 16 steps, the live every 32.
        if step % 16 == 0 {
            for allocation in recentlyFreed {
                try expect(!allocator.isLive(allocation), "freed \(allocation) is live", sourceLocation: sourceLocation)
            }
        }
        if step % 32 == 0 {
            for entry in tracked {
                try expect(allocator.isLive(entry.allocation), "\(entry.allocation) is not live",
                           sourceLocation: sourceLocation)
            }
        }
    }

    struct Span {
        let memory: UInt
        let start: UInt64
        let end: UInt64
        init(_ allocation: Allocation) {
            memory = UInt(bitPattern: allocation.memory)
            start = allocation.offset
            end = allocation.offset + allocation.size
        }
    }

    func checkNoOverlaps(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let all = tracked.map(\.allocation) + extra
        let order = all.indices.sorted { a, b in
            let x = Span(all[a]), y = Span(all[b])
            return x.memory != y.memory ? x.memory < y.memory : x.start < y.start
        }
        for (low, high) in zip(order, order.dropFirst()) {
            let x = Span(all[low]), y = Span(all[high])
            try expect(x.memory != y.memory || x.end <= y.start, "\(all[low]) overlaps \(all[high])",
                       sourceLocation: sourceLocation)
        }
    }

    /// Checks a new (or moved) allocation against every other live one.
    func checkNoOverlap(_ allocation: Allocation, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let new = Span(allocation)
        for other in tracked.lazy.map(\.allocation) + extra where other != allocation {
            let span = Span(other)
            try expect(span.memory != new.memory || span.end <= new.start || new.end <= span.start,
                       "new \(allocation) overlaps \(other)", sourceLocation: sourceLocation)
        }
    }

    func forget(_ entry: Tracked) throws {
        if let key = isMember(entry.allocation), let group = groups[key] {
            groups[key] = group.live > 1 ? (group.size, group.live - 1) : nil
        }
        try freed(entry.allocation)
    }

    /// Records a freed allocation, which must no longer be live.
    func freed(_ allocation: Allocation, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expect(!allocator.isLive(allocation), "freed \(allocation) is live", sourceLocation: sourceLocation)
        recentlyFreed.append(allocation)
        if recentlyFreed.count > 48 { recentlyFreed.removeFirst(recentlyFreed.count - 48) }
    }

    // MARK: - Bytes written through mappings

    func isHostVisible(_ allocation: Allocation) -> Bool { properties.types[allocation.memoryTypeIndex].isHostVisible }

    func atom(_ typeIndex: Int) -> UInt64 {
        let type = properties.types[typeIndex]
        return type.isHostVisible && !type.isHostCoherent ? max(properties.limits.nonCoherentAtomSize, 1) : 1
    }

    /// Where the pattern goes: the first and the last up to 192 bytes.
    static func patternRanges(_ size: UInt64) -> [(offset: UInt64, count: Int)] {
        let head = min(size, 192)
        guard size > head else { return [(0, Int(head))] }
        let tail = max(head, size - 192)
        return [(0, Int(head)), (tail, Int(size - tail))]
    }

    static func patternBytes(tag: UInt64, offset: UInt64, count: Int) -> [UInt8] {
        var generator = SplitMix64(seed: tag ^ offset)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    func writePattern(_ entry: inout Tracked) throws {
        guard isHostVisible(entry.allocation) else {
            entry.tag = nil
            return
        }
        let tag = rng.next()
        let view = try allocator.map(entry.allocation)
        for range in Self.patternRanges(entry.allocation.size) {
            try view.write(contentsOf: Self.patternBytes(tag: tag, offset: range.offset, count: range.count), at: range.offset)
        }
        entry.tag = tag
    }

    func checkPattern(_ entry: Tracked, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let tag = entry.tag else { return }
        let view = try allocator.map(entry.allocation)
        for range in Self.patternRanges(entry.allocation.size) {
            let bytes = try view.read(UInt8.self, count: range.count, at: range.offset)
            try expect(bytes == Self.patternBytes(tag: tag, offset: range.offset, count: range.count),
                       "the bytes at \(range.offset) of \(entry.allocation) were overwritten", sourceLocation: sourceLocation)
        }
    }

    /// Copies what the pattern covers from one allocation to another, as a move's copy.
    func copyPattern(from source: Allocation, to destination: Allocation) throws {
        guard isHostVisible(source) else { return }
        let from = try allocator.map(source)
        let to = try allocator.map(destination)
        for range in Self.patternRanges(source.size) {
            try to.write(contentsOf: try from.read(UInt8.self, count: range.count, at: range.offset), at: range.offset)
        }
    }

    // MARK: - Random inputs

    func randomRequirements() -> MemoryRequirements {
        let size: UInt64 = rng.chance(5) ? (4 << 20) + rng.below(60 << 20) : rng.logUniform(max: 4 << 20)
        let alignment: UInt64 = 1 << (rng.chance(90) ? rng.below(13) : rng.below(17))
        let bits: UInt32 = rng.chance(88) ? .max : randomTypeBits()
        return MemoryRequirements(size: size, alignment: alignment, memoryTypeBits: bits,
                                  prefersDedicated: rng.chance(5), requiresDedicated: rng.chance(2),
                                  kind: rng.pick(SuballocationKind.allCases))
    }

    /// Some memory types, now and then none.
    func randomTypeBits() -> UInt32 {
        let bits = UInt32(truncatingIfNeeded: rng.next()) & allTypeBits
        return bits != 0 || rng.chance(20) ? bits : 1 << UInt32(rng.int(0...properties.types.count - 1))
    }

    func randomRequest() -> MemoryRequest {
        let usage = rng.pick(MemoryUsage.allCases)
        switch rng.below(100) {
        case 0..<80: return .usage(usage)
        case 80..<90: return .usage(usage, memoryTypeBits: randomTypeBits())
        default:
            let flags: [MemoryPropertyFlags] = [[], .deviceLocal, .hostVisible, [.hostVisible, .hostCoherent],
                                                [.hostVisible, .hostCached]]
            return MemoryRequest(usage: rng.chance(50) ? usage : nil,
                                 required: rng.chance(5) ? .lazilyAllocated : rng.pick(flags),
                                 preferred: rng.pick(flags), notPreferred: rng.chance(30) ? .deviceLocal : [])
        }
    }

    /// In a custom pool, `.always` (dedicated memory of the pool's type) is left to
    /// `PoolOptionsTests`: this model keeps a pool's allocations on its pages.
    func randomOptions(inPool: Bool = false) -> AllocationOptions {
        AllocationOptions(dedicated: rng.pick(inPool ? [.automatic, .automatic, .never] : [.automatic, .automatic, .automatic, .never, .always]),
                          mapped: rng.chance(40), name: rng.chance(20) ? "s\(step)" : nil, userData: rng.next(),
                          priority: rng.chance(10) ? Float(rng.below(101)) / 100 : nil,
                          strategy: rng.pick(AllocationStrategy.allCases))
    }

    func randomBufferUsage() -> BufferUsage {
        var usage: BufferUsage = rng.pick([.transferSource, .transferDestination, .uniformBuffer, .storageBuffer,
                                           [.vertexBuffer, .transferDestination], [.indexBuffer, .storageBuffer],
                                           .indirectBuffer])
        if addressable, rng.chance(20) { usage.insert(.shaderDeviceAddress) }
        return usage
    }

    func randomBufferInfo(maxSize: UInt64 = 4 << 20) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = rng.chance(4) && maxSize == 4 << 20 ? (8 << 20) + rng.below(40 << 20) : rng.logUniform(max: maxSize)
        info.usage = VkBufferUsageFlags(randomBufferUsage().rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    func randomImageDescription() -> ImageDescription {
        let width = UInt32(rng.logUniform(max: 1024))
        let height = UInt32(rng.logUniform(max: 1024))
        if rng.chance(15) {
            return ImageDescription(width: width, height: height, usage: [.transferSource, .transferDestination],
                                    tiling: VK_IMAGE_TILING_LINEAR, memory: randomRequest(),
                                    name: rng.chance(20) ? "i\(step)" : nil)
        }
        let levels = UInt32(32 - max(width, height).leadingZeroBitCount)
        return ImageDescription(width: width, height: height,
                                usage: rng.pick([[.sampled, .transferDestination], [.colorAttachment, .sampled],
                                                 [.storage, .transferSource]]),
                                mipLevels: UInt32(rng.int(1...Int(min(levels, 4)))),
                                arrayLayers: rng.chance(10) ? 2 : 1, memory: randomRequest(),
                                name: rng.chance(20) ? "i\(step)" : nil)
    }

    // MARK: - Checks of a new allocation

    /// Checks where a new allocation went against what was asked: a type the bits allow,
    /// dedicated exactly when it must be (in a custom pool only when required), the size (rounded to
    /// whole atoms on a page), the alignment, the mapping.
    func checkPlaced(_ a: Allocation, size: UInt64, alignment: UInt64, bits: UInt32, mapped: Bool?, pool: MemoryPool?,
                     mustBeDedicated: Bool, mayBeDedicated: Bool) throws {
        try expect(properties.types.indices.contains(a.memoryTypeIndex) && bits & (1 << UInt32(a.memoryTypeIndex)) != 0,
                   "\(a) is of a type outside the bits \(String(bits, radix: 2))")
        if let pool {
            // Dedicated in a pool only where the driver requires it (the model never asks).
            try expect(a.memoryTypeIndex == pool.memoryTypeIndex && (!a.isDedicated || mayBeDedicated), "\(a) is not of \(pool)")
        }
        if mustBeDedicated { try expect(a.isDedicated, "\(a) is not dedicated") }
        if !mayBeDedicated { try expect(!a.isDedicated, "\(a) is dedicated") }
        if a.isDedicated {
            try expect(a.size == size && a.offset == 0, "dedicated \(a) for \(size) bytes")
        } else {
            let atom = atom(a.memoryTypeIndex)
            try expect(a.size == (size + atom - 1) / atom * atom, "\(a) for \(size) bytes (atom \(atom))")
            try expect(a.offset % max(alignment, 1) == 0, "\(a) is not aligned to \(alignment)")
        }
        if let mapped {
            if mapped, isHostVisible(a) {
                let view = try allocator.map(a)
                try expect(a.mappedPointer == view.baseAddress, "\(a) mapped at \(String(describing: a.mappedPointer)), "
                           + "map says \(view.baseAddress)")
            } else {
                try expect(a.mappedPointer == nil, "\(a) has a mapping it did not ask for or cannot have")
            }
        }
        try expect(allocator.isLive(a), "new \(a) is not live")
        try checkNoOverlap(a)
    }

    // MARK: - Operations

    func randomStep() throws {
        let more = tracked.count < targetLive
        let weights: [(Int, () throws -> Void)] = [
            (more ? 300 : 120, opAllocate),
            (more ? 120 : 300, opFree),
            (more ? 110 : 50, opCreateResource),
            (more ? 50 : 110, opDestroyResource),
            (more ? 45 : 20, opBindBatch),
            (more ? 20 : 45, opDestroyMany),
            (25, opBindExisting),
            (8, opMakePool),
            (8, opDestroyPool),
            (8, opReserve),
            (6, opReleaseReservations),
            (8, opFreeUnusedPages),
            (10, opDefragment),
            (15, opDoubleFree),
        ]
        var roll = Int(rng.below(UInt64(weights.reduce(0) { $0 + $1.0 })))
        for (weight, chosen) in weights {
            if roll < weight { return try chosen() }
            roll -= weight
        }
    }

    func opAllocate() throws {
        let pool = !pools.isEmpty && rng.chance(25) ? rng.pick(pools) : nil
        var requirements = randomRequirements()
        var options = randomOptions(inPool: pool != nil)
        let request = randomRequest()
        var expected: ((AllocationError) -> Bool)?
        switch rng.below(100) {
        case 0:
            requirements.size = 0
            expected = { $0 == .zeroSize }
        case 1:
            requirements.alignment = rng.pick([3, 6, 12, 96])
            expected = { if case .alignmentNotPowerOfTwo = $0 { true } else { false } }
        case 2:
            options.priority = rng.pick([1.5, -0.25, .nan, .infinity])
            expected = { if case .invalidPriority = $0 { true } else { false } }
        default: break
        }
        operation = { "allocate \(requirements) \(request) \(options)" + (pool.map { " in \($0)" } ?? "") }
        let result = try attempt { () throws(AllocationError) -> Allocation in
            if let pool { return try allocator.allocate(requirements, in: pool, options: options) }
            return try allocator.allocate(requirements, request, options: options)
        }
        switch result {
        case .success(let allocation):
            try expect(expected == nil, "an invalid request succeeded: \(allocation)")
            let bits = requirements.memoryTypeBits & (pool == nil ? request.memoryTypeBits : .max)
            try checkPlaced(allocation, size: requirements.size, alignment: requirements.alignment, bits: bits,
                            mapped: options.mapped, pool: pool,
                            mustBeDedicated: (pool == nil && options.dedicated == .always) || requirements.requiresDedicated,
                            mayBeDedicated: pool == nil ? options.dedicated != .never || requirements.requiresDedicated
                                : requirements.requiresDedicated)
            var entry = Tracked(allocation: allocation, owner: .plain, pool: pool.map(ObjectIdentifier.init))
            try writePattern(&entry)
            tracked.append(entry)
        case .failure(let error):
            if let expected {
                try expect(expected(error), "an invalid request threw \(error)")
            } else if pool != nil, case .requirementsNotMet(_, .requiresDedicatedMemory) = error {
                try expect(requirements.requiresDedicated, "threw \(error)")
            } else {
                try expectCapacityFailure(error)
            }
        }
    }

    /// A random entry whose owner passes `filter`; nil when there is none.
    func pickIndex(_ filter: (Tracked) -> Bool) -> Int? {
        let candidates = tracked.indices.filter { filter(tracked[$0]) }
        return candidates.isEmpty ? nil : rng.pick(candidates)
    }

    func isPlain(_ entry: Tracked) -> Bool { if case .plain = entry.owner { true } else { false } }

    func opFree() throws {
        guard let index = pickIndex(isPlain) else { return try opAllocate() }
        let entry = tracked[index]
        operation = { "free \(entry.allocation)" }
        try checkPattern(entry)
        try mustSucceed { () throws(AllocationError) in try allocator.free(entry.allocation) }
        tracked.swapAt(index, tracked.count - 1)
        tracked.removeLast()
        try forget(entry)
    }

    /// Frees again something freed lately, binds a second resource to a bound allocation,
    /// destroys a pool twice: each must throw the error it is documented to and change
    /// nothing.
    func opDoubleFree() throws {
        if let allocation = recentlyFreed.last, rng.chance(60) {
            operation = { "free \(allocation) again" }
            let result = try attempt { () throws(AllocationError) in try allocator.free(allocation) }
            guard case .failure(let error) = result else { return try expect(false, "a second free succeeded") }
            // A custom pool's page may have gone with its pool: then it is unknown.
            let pooled: Bool = if case let .page(slot, _, _) = allocation.location {
                slot >> MemoryTypePool.slotTagShift != 0
            } else { false }
            try expect(error == .alreadyFreed || (pooled && error == .unknownAllocation), "threw \(error)")
        } else if let index = pickIndex({ !self.isPlain($0) }) {
            let allocation = tracked[index].allocation
            var info = randomBufferInfo(maxSize: allocation.size)
            info.usage = VkBufferUsageFlags(BufferUsage.transferDestination.rawValue)
            operation = { "bind a second buffer of \(info.size) bytes to \(allocation)" }
            let result = try attempt { () throws(AllocationError) in try allocator.createBuffer(info, boundTo: allocation) }
            guard case .failure(let error) = result else { return try expect(false, "a second bind succeeded") }
            guard case .requirementsNotMet = error else { return try expect(false, "threw \(error)") }
        }
    }

    func opCreateResource() throws {
        let pool = !pools.isEmpty && rng.chance(20) ? rng.pick(pools) : nil
        let options = randomOptions(inPool: pool != nil)
        let request = randomRequest()
        let bits = pool == nil ? request.memoryTypeBits : UInt32.max
        let mustBeDedicated = pool == nil && options.dedicated == .always
        if rng.chance(60) {
            let info = randomBufferInfo()
            operation = { "createBuffer \(info.size) bytes, \(request) \(options)" + (pool.map { " in \($0)" } ?? "") }
            let result = try attempt { () throws(AllocationError) -> BoundBuffer in
                if let pool { return try allocator.createBuffer(info, in: pool, options: options) }
                return try allocator.createBuffer(info, request, options: options)
            }
            switch result {
            case .success(let buffer):
                let needs = allocator.requirements(of: buffer.buffer)
                try expect(buffer.size == info.size, "buffer of \(buffer.size) bytes for \(info.size)")
                try checkPlaced(buffer.allocation, size: needs.size, alignment: needs.alignment,
                                bits: needs.memoryTypeBits & bits, mapped: options.mapped, pool: pool,
                                mustBeDedicated: mustBeDedicated || needs.requiresDedicated,
                                mayBeDedicated: pool == nil ? options.dedicated != .never || needs.requiresDedicated
                                    : needs.requiresDedicated)
                var entry = Tracked(allocation: buffer.allocation, owner: .buffer(buffer, info),
                                    pool: pool.map(ObjectIdentifier.init))
                try writePattern(&entry)
                tracked.append(entry)
            case .failure(let error):
                try expectResourceFailure(error, pooled: pool != nil)
            }
        } else {
            let description = randomImageDescription()
            let info = description.exclusiveCreateInfo
            operation = { "createImage \(info.extent.width)×\(info.extent.height), \(info.mipLevels) levels, tiling "
                + "\(info.tiling.rawValue), \(request) \(options)" + (pool.map { " in \($0)" } ?? "") }
            let result = try attempt { () throws(AllocationError) -> BoundImage in
                if let pool { return try allocator.createImage(info, in: pool, options: options) }
                return try allocator.createImage(info, request, options: options)
            }
            switch result {
            case .success(let image):
                let needs = allocator.requirements(of: image.image, tiling: info.tiling)
                try checkPlaced(image.allocation, size: needs.size, alignment: needs.alignment,
                                bits: needs.memoryTypeBits & bits, mapped: options.mapped, pool: pool,
                                mustBeDedicated: mustBeDedicated || needs.requiresDedicated,
                                mayBeDedicated: pool == nil ? options.dedicated != .never || needs.requiresDedicated
                                    : needs.requiresDedicated)
                var entry = Tracked(allocation: image.allocation, owner: .image(image, info),
                                    pool: pool.map(ObjectIdentifier.init))
                try writePattern(&entry)
                tracked.append(entry)
            case .failure(let error):
                try expectResourceFailure(error, pooled: pool != nil)
            }
        }
    }

    func expectResourceFailure(_ error: AllocationError, pooled: Bool) throws {
        if pooled, case .requirementsNotMet(_, .requiresDedicatedMemory) = error { return }
        try expectCapacityFailure(error)
    }

    /// Gives one entry's memory back the way its owner says.
    func release(_ entry: Tracked) throws(AllocationError) {
        switch entry.owner {
        case .plain: try allocator.free(entry.allocation)
        case .buffer(let buffer, _): try allocator.destroyBuffer(buffer)
        case .image(let image, _): try allocator.destroyImage(image)
        }
    }

    func opDestroyResource() throws {
        guard let index = pickIndex({ !self.isPlain($0) }) else { return try opCreateResource() }
        let entry = tracked[index]
        operation = { "destroy \(entry.owner.resource!)" }
        try checkPattern(entry)
        try mustSucceed { () throws(AllocationError) in try release(entry) }
        tracked.swapAt(index, tracked.count - 1)
        tracked.removeLast()
        try forget(entry)
    }

    func opBindBatch() throws {
        var batch = ResourceBatch()
        var infos: [VkBufferCreateInfo?] = []
        for _ in 0..<rng.int(1...6) {
            if rng.chance(60) {
                let info = randomBufferInfo(maxSize: 2 << 20)
                batch = batch.nextBuffer(BufferDescription(
                    size: info.size, usage: BufferUsage(rawValue: info.usage), memory: randomRequest(),
                    name: rng.chance(20) ? "b\(step)" : nil))
                infos.append(info)
            } else {
                batch = batch.nextImage(randomImageDescription())
                infos.append(nil)
            }
        }
        let strategy = rng.pick(BindStrategy.allCases)
        operation = { "bind a batch of \(batch.entries.count) with \(strategy)" }
        let result = try attempt { () throws(AllocationError) in try allocator.bind(batch, strategy: strategy) }
        guard case .success(let resources) = result else {
            if case .failure(let error) = result { try expectCapacityFailure(error) }
            return
        }
        try expect(resources.count == batch.entries.count, "\(resources.count) resources bound")
        var added: [Tracked] = []
        var memories = Set(tracked.map { UInt(bitPattern: $0.allocation.memory) })
        var spans: [GroupKey: (start: UInt64, end: UInt64, count: Int, memory: VkDeviceMemory)] = [:]
        for (index, (entry, resource)) in zip(batch.entries, resources).enumerated() {
            let allocation = resource.allocation
            let owner: Owner
            let needs: MemoryRequirements
            switch (resource, entry) {
            case let (.buffer(buffer), .buffer(description)):
                needs = allocator.requirements(of: buffer.buffer)
                try expect(buffer.size == description.size, "buffer of \(buffer.size) bytes for \(description.size)")
                owner = .buffer(buffer, infos[index]!)
            case let (.image(image), .image(description)):
                needs = allocator.requirements(of: image.image, tiling: description.tiling)
                owner = .image(image, description.exclusiveCreateInfo)
            default:
                return try expect(false, "resource \(index) is not of its entry's kind")
            }
            try checkPlaced(allocation, size: needs.size, alignment: needs.alignment,
                            bits: needs.memoryTypeBits & entry.memory.memoryTypeBits, mapped: false, pool: nil,
                            mustBeDedicated: strategy == .dedicated || needs.requiresDedicated,
                            mayBeDedicated: strategy != .contiguous && strategy != .privatePage || needs.requiresDedicated)
            switch strategy {
            case .contiguous where !needs.requiresDedicated:
                guard let key = isMember(allocation) else { return try expect(false, "\(allocation) is not a group member") }
                let span = spans[key] ?? (allocation.offset, allocation.offset, 0, allocation.memory)
                try expect(span.memory == allocation.memory && allocation.offset >= span.end,
                           "group member \(allocation) out of order or in another memory")
                spans[key] = (span.start, allocation.offset + allocation.size, span.count + 1, span.memory)
            case .privatePage where !needs.requiresDedicated:
                // A page of the group's own: nothing the model held before is in it.
                try expect(!memories.contains(UInt(bitPattern: allocation.memory)),
                           "\(allocation) is in a page that held other allocations")
            default:
                break
            }
            var tracked = Tracked(allocation: allocation, owner: owner)
            try writePattern(&tracked)
            added.append(tracked)
        }
        for (key, span) in spans { groups[key] = (span.end - span.start, span.count) }
        for entry in added { memories.insert(UInt(bitPattern: entry.allocation.memory)) }
        tracked += added
    }

    func opDestroyMany() throws {
        let candidates = tracked.indices.filter { !isPlain(tracked[$0]) }
        guard !candidates.isEmpty else { return try opBindBatch() }
        var chosen: [Int] = []
        for _ in 0..<rng.int(1...min(5, candidates.count)) {
            let index = rng.pick(candidates)
            if !chosen.contains(index) { chosen.append(index) }
        }
        var list = chosen.map { tracked[$0].owner.resource! }
        if rng.chance(10) {
            list.append(list[0])
            operation = { "destroy(many:) of \(list.count) with a duplicate" }
            let result = try attempt { () throws(AllocationError) in try allocator.destroy(many: list) }
            try expect({ if case .failure(.duplicateResource) = result { true } else { false } }(),
                       "destroy(many:) with a duplicate gave \(result)")
            return
        }
        operation = { "destroy(many:) of \(list.count)" }
        for index in chosen { try checkPattern(tracked[index]) }
        try mustSucceed { () throws(AllocationError) in try allocator.destroy(many: list) }
        for index in chosen.sorted(by: >) {
            try forget(tracked[index])
            tracked.swapAt(index, tracked.count - 1)
            tracked.removeLast()
        }
    }

    /// Binds a new buffer to a plain allocation the model holds.
    func opBindExisting() throws {
        guard let index = pickIndex(isPlain) else { return try opAllocate() }
        let allocation = tracked[index].allocation
        let info = randomBufferInfo(maxSize: allocation.size)
        operation = { "createBuffer \(info.size) bytes bound to \(allocation)" }
        switch try attempt({ () throws(AllocationError) in try allocator.createBuffer(info, boundTo: allocation) }) {
        case .success(let buffer):
            let needs = allocator.requirements(of: buffer.buffer)
            try expect(needs.size <= allocation.size && allocation.offset % max(needs.alignment, 1) == 0
                           && needs.memoryTypeBits & (1 << UInt32(allocation.memoryTypeIndex)) != 0,
                       "a buffer needing \(needs) was bound to \(allocation)")
            tracked[index].owner = .buffer(buffer, info)
        case .failure(let error):
            guard case .requirementsNotMet = error else { return try expect(false, "threw \(error)") }
        }
    }

    func opMakePool() throws {
        guard pools.count < 2 else { return try opDestroyPool() }
        var options = PoolOptions(name: "pool\(step)", usage: rng.pick(MemoryUsage.allCases),
                                  pageSize: UInt64(rng.int(16...128)) << 16,
                                  minPages: rng.int(0...2), maxPages: rng.chance(50) ? .max : rng.int(1...4))
        if rng.chance(25) { options.memoryTypeIndex = rng.int(0...properties.types.count) }
        let zero = rng.chance(3)
        if zero { options.pageSize = 0 }
        operation = { "makePool \(options)" }
        switch try attempt({ () throws(AllocationError) in try allocator.makePool(options) }) {
        case .success(let pool):
            try expect(!zero && (options.memoryTypeIndex ?? pool.memoryTypeIndex) == pool.memoryTypeIndex
                           && options.minPages <= options.maxPages, "made \(pool)")
            pools.append(pool)
        case .failure(let error):
            if zero { return try expect(error == .zeroSize, "threw \(error)") }
            try expectCapacityFailure(error)
        }
    }

    func opDestroyPool() throws {
        guard !pools.isEmpty else { return try opMakePool() }
        let position = Int(rng.below(UInt64(pools.count)))
        let pool = pools[position]
        let id = ObjectIdentifier(pool)
        if rng.chance(40) {
            // Empty it first.
            operation = { "empty \(pool)" }
            while let index = tracked.firstIndex(where: { $0.pool == id }) {
                let entry = tracked[index]
                try checkPattern(entry)
                try mustSucceed { () throws(AllocationError) in try release(entry) }
                tracked.remove(at: index)
                try forget(entry)
            }
        }
        let live = tracked.filter { $0.pool == id }.count
        operation = { "destroyPool \(pool) holding \(live)" }
        let result = try attempt { () throws(AllocationError) in try allocator.destroyPool(pool) }
        if live > 0 {
            try expect({ if case .failure(.poolNotEmpty(pool.options.name, live)) = result { true } else { false } }(),
                       "gave \(result)")
            return
        }
        if case .failure(let error) = result { try expect(false, "threw \(error)") }
        pools.remove(at: position)
        if rng.chance(30) {
            operation = { "use destroyed \(pool)" }
            let again = try attempt { () throws(AllocationError) in try allocator.destroyPool(pool) }
            try expect({ if case .failure(.unknownAllocation) = again { true } else { false } }(), "gave \(again)")
            let allocated = try attempt { () throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: 256), in: pool)
            }
            try expect((try? allocated.get()) == nil, "a destroyed pool allocated")
        }
    }

    func opReserve() throws {
        let bytes: UInt64 = rng.chance(3) ? 0 : rng.logUniform(max: 24 << 20)
        let usage = rng.pick(MemoryUsage.allCases)
        operation = { "reserve \(bytes) bytes for \(usage)" }
        if case .failure(let error) = try attempt({ () throws(AllocationError) in try allocator.reserve(bytes, usage: usage) }) {
            if bytes == 0 { return try expect(error == .zeroSize, "threw \(error)") }
            try expectCapacityFailure(error)
        } else {
            try expect(bytes > 0, "reserved 0 bytes")
        }
    }

    func opReleaseReservations() throws {
        operation = { "releaseReservations" }
        allocator.releaseReservations()
        // Custom pools' `minPages` stay reserved; nothing else does.
        try expect(!pools.isEmpty || allocator.usage.reservedBytes == 0, "\(allocator.usage.reservedBytes) bytes stay reserved")
    }

    func opFreeUnusedPages() throws {
        operation = { "freeUnusedPages" }
        let before = allocator.usage.committedBytes
        let released = allocator.freeUnusedPages()
        let usage = allocator.usage
        try expect(usage.emptyPageCount == 0 && usage.committedBytes == before - released,
                   "\(usage.emptyPageCount) empty pages left, \(released) of \(before) bytes released")
    }

    /// One defragmentation pass: moves re-created, copied, ignored or with their sources
    /// freed, allocations made while it is open, then committed (75%) or cancelled.
    func opDefragment() throws {
        let maxBytes: UInt64 = rng.chance(70) ? .max : rng.logUniform(max: 64 << 20)
        let maxMoves = rng.chance(70) ? Int.max : rng.int(0...40)
        operation = { "beginDefragmentation(maxBytesToMove: \(maxBytes), maxMoves: \(maxMoves))" }
        try run(try beginPass(maxBytes: maxBytes, maxMoves: maxMoves), maxBytes: maxBytes, maxMoves: maxMoves)
    }

    func beginPass(maxBytes: UInt64, maxMoves: Int) throws -> DefragmentationPass {
        do throws(AllocationError) {
            return try allocator.beginDefragmentation(maxBytesToMove: maxBytes, maxMoves: maxMoves)
        } catch {
            try expect(false, "threw \(error)")
            throw Stopped()
        }
    }

    func run(_ pass: consuming DefragmentationPass, maxBytes: UInt64, maxMoves: Int) throws {
        tally.passes += 1
        let moves = pass.moves
        tally.moves += moves.count
        try expect(pass.bytesToMove == moves.reduce(0) { $0 + $1.source.size } && pass.bytesToMove <= maxBytes
                       // Pages go back only through moves; moves that empty no page are
                       // allowed (a limited pass moves what fits towards fuller pages).
                       && moves.count <= maxMoves && (pass.pagesToRelease == 0 || !moves.isEmpty),
                   "\(moves.count) moves of \(pass.bytesToMove) bytes, \(pass.pagesToRelease) pages")
        let pagesToRelease = pass.pagesToRelease
        // A second pass is refused while this one is open.
        let statistics = allocator.statistics()
        var second: AllocationError?
        do throws(AllocationError) {
            _ = try allocator.beginDefragmentation()
        } catch {
            second = error
        }
        let after = allocator.statistics()
        try expect(second == .defragmentationPassOpen
                       && (after == statistics || (!driverBudgetIsState && Self.sameIgnoringDriverBudget(after, statistics))),
                   "a second pass gave \(String(describing: second))")
        var position: [Allocation: Int] = [:]
        for (index, entry) in tracked.enumerated() { position[entry.allocation] = index }
        let sources = Set(moves.map { UInt(bitPattern: $0.source.memory) })
        for move in moves {
            guard let index = position[move.source] else { return try expect(false, "source \(move.source) is not live") }
            let entry = tracked[index]
            try expect(isMember(move.source) == nil && !move.source.isDedicated && entry.pool == nil,
                       "\(move.source) moves although pinned, dedicated or in a pool")
            try expect(move.destination.size == move.source.size && move.destination.memoryTypeIndex == move.source.memoryTypeIndex
                           && !sources.contains(UInt(bitPattern: move.destination.memory))
                           && allocator.isLive(move.destination),
                       "\(move.source) moves to \(move.destination)")
            try checkPattern(entry)
            try checkNoOverlap(move.destination)
            extra.append(move.destination)
        }
        try verify()
        let commit = rng.chance(75)
        var ignored = Set<DefragmentationMove>()
        var freedByUs = Set<Allocation>()
        var oldResources: [Resource] = []
        var rewrite: [Int] = []
        for move in moves {
            let index = position[move.source]!
            let entry = tracked[index]
            operation = { "move \(move.source) to \(move.destination) (\(commit ? "commit" : "cancel"))" }
            let roll = rng.below(100)
            if !commit {
                if roll < 20, let resource = entry.owner.resource {
                    // Re-created, then given up before the cancel.
                    let made = try recreate(resource, entry.owner, on: move.destination)
                    try mustSucceed { () throws(AllocationError) in try allocator.destroy(made) }
                    extra.removeAll { $0 == move.destination }
                    try freed(move.destination)
                } else if roll < 35 {
                    try allocator.free(move.destination)
                    extra.removeAll { $0 == move.destination }
                    try freed(move.destination)
                }
                continue
            }
            if roll < 15 {
                pass.ignore(move)
                ignored.insert(move)
            } else if roll < 30, case .plain = entry.owner {
                // The source freed now; the destination is ours after the commit.
                try allocator.free(move.source)
                freedByUs.insert(move.source)
                try freed(move.source)
                tracked[index].allocation = move.destination
                extra.removeAll { $0 == move.destination }
                rewrite.append(index)
            } else {
                try copyPattern(from: move.source, to: move.destination)
                tracked[index].allocation = move.destination
                extra.removeAll { $0 == move.destination }
                if let resource = entry.owner.resource {
                    let made = try recreate(resource, entry.owner, on: move.destination)
                    switch made {
                    case .buffer(let buffer):
                        guard case let .buffer(_, info) = entry.owner else { break }
                        tracked[index].owner = .buffer(buffer, info)
                    case .image(let image):
                        guard case let .image(_, info) = entry.owner else { break }
                        tracked[index].owner = .image(image, info)
                    }
                    if rng.chance(50) {
                        // The old resource goes before the commit, freeing the source.
                        try allocator.destroy(resource)
                        freedByUs.insert(move.source)
                        try freed(move.source)
                    } else {
                        oldResources.append(resource)
                        extra.append(move.source)
                    }
                } else {
                    extra.append(move.source)
                }
            }
            try verify()
        }
        // Allocations made while the pass is open stay out of the pages it empties (those
        // whose every allocation moves; a limited pass may also move some of a page it does
        // not empty), but for the room of sources freed meanwhile.
        let movedSources = Set(moves.map(\.source))
        let emptied = sources.filter { page in
            tracked.allSatisfy { UInt(bitPattern: $0.allocation.memory) != page || movedSources.contains($0.allocation)
                || freedByUs.contains($0.allocation) }
                && extra.allSatisfy { UInt(bitPattern: $0.memory) != page || movedSources.contains($0) }
        }
        let blocked = emptied.subtracting(freedByUs.map { UInt(bitPattern: $0.memory) })
        for _ in 0..<rng.int(0...3) {
            let count = tracked.count
            try opAllocate()
            if tracked.count > count, case let .page(slot, _, _) = tracked[count].allocation.location,
               slot >> MemoryTypePool.slotTagShift == 0 {
                try expect(!blocked.contains(UInt(bitPattern: tracked[count].allocation.memory)),
                           "\(tracked[count].allocation) was placed in a page being emptied")
            }
            try verify()
        }
        operation = { commit ? "commit" : "cancel" }
        if commit {
            let result = pass.commit()
            let expectedFreed = moves.filter { !ignored.contains($0) && !freedByUs.contains($0.source) }
                .reduce(0) { $0 + $1.source.size }
            try expect(result.freedBytes == expectedFreed && result.releasedPages <= pagesToRelease,
                       "commit freed \(result.freedBytes) bytes (expected \(expectedFreed)), released "
                           + "\(result.releasedPages) pages of \(pagesToRelease)")
            for move in moves {
                if ignored.contains(move) {
                    try expect(!allocator.isLive(move.destination) && allocator.isLive(move.source),
                               "ignored \(move) is not undone")
                    try freed(move.destination)
                } else {
                    try expect(!allocator.isLive(move.source), "source \(move.source) outlived the commit")
                    try freed(move.source)
                }
            }
            extra.removeAll()
            // The old resources go now: their memory was freed by the commit.
            if !oldResources.isEmpty {
                operation = { "destroy \(oldResources.count) moved resources after the commit" }
                if rng.chance(50) {
                    try mustSucceed { () throws(AllocationError) in
                        try allocator.destroy(many: oldResources)
                    }
                } else {
                    for resource in oldResources {
                        try mustSucceed { () throws(AllocationError) in
                            try allocator.destroy(resource)
                        }
                    }
                }
                if rng.chance(20) {
                    let again = try attempt { () throws(AllocationError) in try allocator.destroy(oldResources[0]) }
                    try expect({ if case .failure(.alreadyFreed) = again { true } else { false } }(),
                               "a second destroy of a moved resource gave \(again)")
                }
            }
            for index in rewrite { try writePattern(&tracked[index]) }
        } else {
            pass.cancel()
            for move in moves {
                try expect(!allocator.isLive(move.destination) && allocator.isLive(move.source), "cancelled \(move) remains")
                try freed(move.destination)
            }
            extra.removeAll()
        }
    }

    /// Creates a resource like `resource` bound to `destination`; the model's owner has its
    /// create info.
    func recreate(_ resource: Resource, _ owner: Owner, on destination: Allocation) throws -> Resource {
        switch owner {
        case let .buffer(_, info):
            return .buffer(try mustSucceed { () throws(AllocationError) in
                try allocator.createBuffer(info, boundTo: destination)
            })
        case let .image(_, info):
            return .image(try mustSucceed { () throws(AllocationError) in
                try allocator.createImage(info, boundTo: destination)
            })
        case .plain:
            break
        }
        try expect(false, "\(resource) has no create info")
        throw Stopped()
    }

    /// After a failure: destroys every resource and frees every allocation it can, ignoring
    /// errors, and ends the custom pools and reservations.
    func abandon() {
        for entry in tracked { try? release(entry) }
        tracked = []
        for pool in pools { try? allocator.destroyPool(pool) }
        allocator.releaseReservations()
        allocator.freeUnusedPages()
    }

    /// Gives everything back and checks that nothing is left.
    func tearDown() throws {
        step += 1
        operation = { "teardown" }
        while !tracked.isEmpty {
            let entry = tracked.remove(at: Int(rng.below(UInt64(tracked.count))))
            try checkPattern(entry)
            do throws(AllocationError) { try release(entry) } catch { try expect(false, "\(entry.allocation): threw \(error)") }
            try forget(entry)
        }
        for pool in pools {
            do throws(AllocationError) { try allocator.destroyPool(pool) } catch { try expect(false, "\(pool): threw \(error)") }
        }
        pools = []
        allocator.releaseReservations()
        allocator.freeUnusedPages()
        try verify()
        var usage = allocator.usage
        usage.deviceMemoryAllocations = 0
        try expect(usage == AllocatorUsage() && allocator.ledger.committedBytes.allSatisfy { $0 == 0 }
                       && allocator.ledger.objectCount == 0 && groups.isEmpty,
                   "left behind: \(usage), ledger \(allocator.ledger.committedBytes)")
    }
}

/// Whether the test device's `bufferImageGranularity` is at most 64 (lavapipe's), so that
/// a request of 1 MiB less 128 bytes fills a page of 1 MiB.
let granularityIsSmall: Bool = {
    var options = VulkanContext.Options()
    options.validation = .off
    options.capabilities = []
    guard let context = try? VulkanContext(options: options) else { return false }
    return MemoryProperties(device: context.device).limits.bufferImageGranularity <= 64
}()

