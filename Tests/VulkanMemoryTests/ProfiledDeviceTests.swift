import CVulkan
import Dispatch
import Synchronization
import Foundation
import Testing
@testable import VulkanMemory

/// A fixture profile as a test argument, shown as its index and name (two profiles share
/// a name).
struct ProfileCase: Sendable, CustomTestStringConvertible {
    let index: Int
    var profile: DeviceProfile { realProfiles[index] }
    var testDescription: String { "#\(index) \(realProfiles[index].name)" }

    /// Every fixture profile.
    static let all = realProfiles.indices.map(ProfileCase.init)

    /// The profile `realProfile(name, where:)` finds.
    static func named(_ name: String, where predicate: (DeviceProfile) -> Bool = { _ in true }) -> ProfileCase {
        do {
            let profile = try realProfile(name, where: predicate)
            return ProfileCase(index: realProfiles.firstIndex(of: profile)!)
        } catch {
            fatalError("\(error)")
        }
    }

    /// Layouts that differ in what matters to type choice: NVIDIA with and without
    /// host-visible VRAM, AMD with a small BAR, an APU whose device-local heap is heap 1,
    /// Intel with cached non-coherent types, Mali with lazily allocated memory, the
    /// measured H100, and the odd ones (host heap first, Dozen, memoryless, protected,
    /// PowerVR's limits, 64 KiB granularity, an atom of 1).
    static let varied: [ProfileCase] = [
        named("GeForce GTX 1080 Ti"),                   // NVIDIA discrete, no host-visible VRAM
        named("NVIDIA GeForce RTX 4070"),               // NVIDIA, resizable BAR on the VRAM heap
        named("AMD Radeon RX 6600"),                    // AMD, 256 MiB BAR heap, AMD-special types
        named("AMD Radeon(TM) Graphics") { $0.memoryHeaps.count == 2 }, // APU, device-local heap is heap 1
        named("Intel(R) HD Graphics 500 (APL 2)"),      // HOST_CACHED types that are not coherent
        named("Mali-T760"),                             // LAZILY_ALLOCATED, granularity 4 KiB
        named("NVIDIA H100 80GB HBM3"),                 // measured
        named("AMD Radeon RX 6700 XT"),                 // SAM, host heap is heap 0
        named("Microsoft Direct3D12"),                  // Dozen: heap 0 is the host heap
        named("Apple M1"),                              // memoryless, cached non-coherent
        named("Intel(R) Iris(R) Xe Graphics (RPL-U)"),  // PROTECTED type
        named("PowerVR Rogue GE8300"),                  // atom 128, 9999 allocations
        named("GeForce 940M"),                          // granularity 64 KiB
        named("Adreno (TM) 540"),                       // atom 1, cached non-coherent
    ]
}

@Suite("Profiled devices: real GPUs' memory layouts over lavapipe", needsLavapipe)
struct ProfiledDeviceTests {
    static let kibibyte: UInt64 = 1 << 10
    static let mebibyte: UInt64 = 1 << 20

    static func bufferInfo(size: UInt64,
                           usage: BufferUsage = [.transferSource, .transferDestination, .storageBuffer])
        -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(usage.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        return info
    }

    static var optimalImage: VkImageCreateInfo {
        ImageDescription(width: 64, height: 64, usage: [.sampled, .transferDestination]).exclusiveCreateInfo
    }
    static var linearImage: VkImageCreateInfo {
        ImageDescription(width: 32, height: 32, usage: [.transferSource, .transferDestination],
                         tiling: VK_IMAGE_TILING_LINEAR).exclusiveCreateInfo
    }
    static var transientImage: VkImageCreateInfo {
        ImageDescription(width: 64, height: 64, usage: [.colorAttachment, .transientAttachment]).exclusiveCreateInfo
    }

    // MARK: Presentation

    @Test("the wrapper presents the profile exactly", arguments: ProfileCase.all)
    func presentsTheProfile(_ profileCase: ProfileCase) throws {
        let profile = profileCase.profile
        let expected = try profile.memoryProperties()
        try withProfiledDevice(profile) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            #expect(allocator.properties == expected)
            #expect(allocator.properties.limits == expected.limits)
            #expect(device.info.type.rawValue == profile.deviceType)
            #expect(device.info.vendorID == profile.vendorID)
            #expect(device.info.name.hasPrefix(profile.name))
            // The allocator chooses as the pure selection does on the profile.
            #expect(allocator.selection == MemoryTypeSelection(properties: expected, isDiscrete: profile.isDiscrete))

            let budget = MemoryBudget(device: device)
            #expect(budget.heaps.count == expected.heaps.count)
            if profile.memoryBudgetExtension != true {
                #expect(budget.source == .estimated)
                #expect(!device.capabilities.contains(.memoryBudget))
            } else {
                #expect(budget.source == .memoryBudgetExtension)
                #expect(budget.heaps.map(\.budget) == expected.heaps.map(\.size))
                #expect(budget.heaps.allSatisfy { $0.usage == 0 })
            }

            // A buffer may use every type but lazily allocated and protected ones; an
            // optimal image is aligned to the granularity at least.
            let buffer = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.staging))
            let bufferBits = allocator.requirements(of: buffer.buffer).memoryTypeBits
            #expect(bufferBits == profiled.bufferTypeBits)
            for type in expected.types {
                let allowed = bufferBits & (1 << UInt32(type.index)) != 0
                #expect(allowed == !(type.isLazilyAllocated || type.isProtected), "type \(type.index) \(type.flags)")
            }
            let image = try allocator.createImage(Self.optimalImage, .usage(.gpuOnly))
            let imageNeeds = allocator.requirements(of: image.image, tiling: VK_IMAGE_TILING_OPTIMAL)
            #expect(imageNeeds.alignment >= expected.limits.bufferImageGranularity)
            #expect(imageNeeds.alignment.nonzeroBitCount == 1)
            #expect(image.allocation.offset % expected.limits.bufferImageGranularity == 0)
            try allocator.destroyImage(image)
            try allocator.destroyBuffer(buffer)
        }
    }

    // MARK: Every intent, every profile

    /// One resource of each kind per intent, written and read back through `map` where
    /// host-visible (all written before any is read, so overlapping ranges would show),
    /// then destroyed. Checks that each lands in the type the allocator's own ranking
    /// puts first for its type bits, with the flags the intent requires and none of the
    /// special-purpose ones. Returns the type chosen per intent for buffers and images.
    @discardableResult
    static func exerciseEveryIntent(on device: VulkanDevice,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws
        -> [MemoryUsage: (buffer: Int, image: Int)] {
        let allocator = Allocator(device: device)
        let properties = allocator.properties
        var made: [(usage: MemoryUsage, label: String, allocation: Allocation, bits: UInt32)] = []
        var buffers: [BoundBuffer] = []
        var images: [BoundImage] = []
        for usage in MemoryUsage.allCases {
            for size in [96 * kibibyte, 1000] {
                let bound = try allocator.createBuffer(bufferInfo(size: size), .usage(usage),
                                                       options: AllocationOptions(name: "\(usage) buffer \(size)"))
                buffers.append(bound)
                made.append((usage, "buffer of \(size)", bound.allocation,
                             allocator.requirements(of: bound.buffer).memoryTypeBits))
            }
            for (label, info) in [("optimal image", optimalImage), ("linear image", linearImage)] {
                let bound = try allocator.createImage(info, .usage(usage), options: AllocationOptions(name: "\(usage) \(label)"))
                images.append(bound)
                made.append((usage, label, bound.allocation,
                             allocator.requirements(of: bound.image, tiling: info.tiling).memoryTypeBits))
            }
        }
        var chosen: [MemoryUsage: (buffer: Int, image: Int)] = [:]
        var patterns: [(MappedMemory, [UInt32], String)] = []
        for (seed, entry) in made.enumerated() {
            let type = properties.types[entry.allocation.memoryTypeIndex]
            let what = "\(entry.usage) \(entry.label) in type \(type.index) (\(type.flags))"
            let required = allocator.selection.flags(for: .usage(entry.usage)).required
            #expect(type.flags.isSuperset(of: required), "\(what) lacks \(required)", sourceLocation: sourceLocation)
            #expect(type.flags.isDisjoint(with: MemoryTypeSelection.specialPurposeFlags), "\(what)",
                    sourceLocation: sourceLocation)
            let best = allocator.selection.rankedTypes(for: .usage(entry.usage, memoryTypeBits: entry.bits)).first
            #expect(entry.allocation.memoryTypeIndex == best, "\(what): the ranking puts \(best.map(String.init) ?? "none") first",
                    sourceLocation: sourceLocation)
            if entry.label == "buffer of 1000" { chosen[entry.usage, default: (-1, -1)].buffer = type.index }
            if entry.label == "optimal image" { chosen[entry.usage, default: (-1, -1)].image = type.index }
            if type.isHostVisible {
                let view = try allocator.map(entry.allocation)
                #expect(view.size == entry.allocation.size, sourceLocation: sourceLocation)
                let count = Int(min(view.size, 16 * kibibyte)) / 4
                let pattern = (0..<count).map { UInt32(truncatingIfNeeded: seed &* 0x9E37_79B9 &+ $0) }
                try view.write(contentsOf: pattern)
                patterns.append((view, pattern, what))
            } else {
                #expect(throws: AllocationError.memory(.notHostVisible(typeIndex: type.index, flags: type.flags)),
                        sourceLocation: sourceLocation) {
                    _ = try allocator.map(entry.allocation)
                }
            }
        }
        for (view, pattern, what) in patterns {
            #expect(try view.read(UInt32.self, count: pattern.count) == pattern, "\(what) read back other bytes",
                    sourceLocation: sourceLocation)
        }
        for bound in buffers { try allocator.destroyBuffer(bound) }
        for bound in images { try allocator.destroyImage(bound) }
        #expect(allocator.usage.allocationCount == 0, sourceLocation: sourceLocation)
        allocator.freeUnusedPages()
        #expect(ProfiledDevice.of(device)?.heapUsage.allSatisfy { $0 == 0 } == true, sourceLocation: sourceLocation)
        return chosen
    }

    @Test("buffers and images of every intent on every profile", arguments: ProfileCase.all)
    func everyIntentOnEveryProfile(_ profileCase: ProfileCase) throws {
        try withProfiledDevice(profileCase.profile) { device in
            try Self.exerciseEveryIntent(on: device)
        }
    }

    @Test("NVIDIA without host-visible VRAM: device-local for the GPU, host types for the host")
    func nvidiaWithoutHostVisibleVRAM() throws {
        try withProfiledDevice(try realProfile("GeForce GTX 1080 Ti")) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 7 && chosen[.gpuOnly]?.image == 7)
            #expect(chosen[.staging]?.buffer == 9)
            // No type is both: dynamic data lives in host memory, uncached.
            #expect(chosen[.dynamic]?.buffer == 9)
            #expect(chosen[.readback]?.buffer == 10)
            let profiled = try #require(ProfiledDevice.of(device))
            #expect(profiled.mapCounts[7] == 0 && profiled.mapCounts[8] == 0)
        }
    }

    @Test("NVIDIA with resizable BAR: dynamic data in host-visible VRAM, the rest left alone")
    func nvidiaResizableBAR() throws {
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070")) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 1)
            #expect(chosen[.dynamic]?.buffer == 4)
            #expect(chosen[.staging]?.buffer == 2)
            #expect(chosen[.readback]?.buffer == 3)
        }
    }

    @Test("AMD with a 256 MiB BAR heap: dynamic data in the BAR, AMD-special types never")
    func amdSmallBAR() throws {
        try withProfiledDevice(try realProfile("AMD Radeon RX 6600")) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 0)
            #expect(chosen[.dynamic]?.buffer == 2)
            #expect(chosen[.staging]?.buffer == 1)
            #expect(chosen[.readback]?.buffer == 3)
        }
    }

    @Test("AMD APU whose device-local heap is heap 1: bytes are accounted to the right heap")
    func amdAPUHeapOne() throws {
        let profile = try realProfile("AMD Radeon(TM) Graphics") { $0.memoryHeaps.count == 2 }
        try withProfiledDevice(profile) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 0)
            #expect(chosen[.dynamic]?.buffer == 2)
            #expect(chosen[.readback]?.buffer == 3)
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let vram = try allocator.createBuffer(Self.bufferInfo(size: 8 * Self.mebibyte), .usage(.gpuOnly),
                                                  options: AllocationOptions(dedicated: .always))
            #expect(profiled.heapUsage == [0, 8 * Self.mebibyte])
            #expect(MemoryBudget(device: device).heaps.map(\.usage) == [0, 8 * Self.mebibyte])
            let host = try allocator.createBuffer(Self.bufferInfo(size: 4 * Self.mebibyte), .usage(.readback),
                                                  options: AllocationOptions(dedicated: .always))
            #expect(profiled.heapUsage == [4 * Self.mebibyte, 8 * Self.mebibyte])
            #expect(allocator.statistics().heaps.map(\.committedBytes) == [4 * Self.mebibyte, 8 * Self.mebibyte])
            try allocator.destroyBuffer(vram)
            try allocator.destroyBuffer(host)
        }
    }

    @Test("Intel with cached non-coherent types: read-back memory is flushed and invalidated in whole atoms")
    func intelNonCoherentCached() throws {
        try withProfiledDevice(try realProfile("Intel(R) HD Graphics 500 (APL 2)")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.readback]?.buffer == 1)
            #expect(chosen[.staging]?.buffer == 0 && chosen[.dynamic]?.buffer == 0)
            // The writes and reads of the read-back resources went through flush and
            // invalidate (the wrapper checked every range against the profile's atom).
            #expect(profiled.flushCounts[1] > 0 && profiled.invalidateCounts[1] > 0)
            #expect(profiled.flushCounts[0] == 0 && profiled.invalidateCounts[0] == 0)

            let allocator = Allocator(device: device)
            let atom = allocator.properties.limits.nonCoherentAtomSize
            var live: [Allocation] = []
            for size in [1, 63, 64, 65, 1000, 4096 + 3] as [UInt64] {
                let allocation = try allocator.allocate(MemoryRequirements(size: size, alignment: 4), usage: .readback)
                #expect(allocation.memoryTypeIndex == 1)
                #expect(allocation.offset % atom == 0 && allocation.size % atom == 0, "\(allocation)")
                let view = try allocator.map(allocation)
                try view.write(UInt8(truncatingIfNeeded: size), at: size - 1)
                #expect(try view.read(UInt8.self, at: size - 1) == UInt8(truncatingIfNeeded: size))
                live.append(allocation)
            }
            for allocation in live { try allocator.free(allocation) }
        }
    }

    @Test("Mali: LAZILY_ALLOCATED only for transient attachments that ask for it")
    func maliLazilyAllocated() throws {
        try withProfiledDevice(try realProfile("Mali-T760")) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 0 && chosen[.gpuOnly]?.image == 0)
            #expect(chosen[.readback]?.buffer == 1)
            let allocator = Allocator(device: device)
            let lazy = MemoryRequest(usage: .gpuOnly, preferred: .lazilyAllocated)
            let transient = try allocator.createImage(Self.transientImage, lazy)
            #expect(transient.allocation.memoryTypeIndex == 2)
            #expect(throws: AllocationError.memory(.notHostVisible(typeIndex: 2, flags: [.deviceLocal, .lazilyAllocated]))) {
                _ = try allocator.map(transient.allocation)
            }
            // A sampled image may not live in lazily allocated memory: preferring it
            // changes nothing, requiring it finds no type.
            let sampled = try allocator.createImage(Self.optimalImage, lazy)
            #expect(sampled.allocation.memoryTypeIndex != 2)
            #expect(throws: AllocationError.self) {
                _ = try allocator.createImage(Self.optimalImage, MemoryRequest(required: .lazilyAllocated))
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.createBuffer(Self.bufferInfo(size: 4096), MemoryRequest(required: .lazilyAllocated))
            }
            try allocator.destroyImage(sampled)
            try allocator.destroyImage(transient)
        }
    }

    @Test("the measured H100: device-local for the GPU, its BAR type for dynamic data")
    func h100() throws {
        try withProfiledDevice(try realProfile("H100")) { device in
            let chosen = try Self.exerciseEveryIntent(on: device)
            #expect(chosen[.gpuOnly]?.buffer == 1 && chosen[.gpuOnly]?.image == 1)
            #expect(chosen[.dynamic]?.buffer == 4)
            #expect(chosen[.staging]?.buffer == 2)
            #expect(chosen[.readback]?.buffer == 3)
        }
    }

    @Test("a seeded churn of every intent, with host data checked until each free",
          arguments: ProfileCase.varied)
    func seededChurn(_ profileCase: ProfileCase) throws {
        // Heaps of 96 MiB: large resources fill them, so full heaps are part of the run.
        try withProfiledDevice(profileCase.profile, heapSizeOverride: 96 * Self.mebibyte) { device in
            let allocator = Allocator(device: device)
            var generator = SplitMix(seed: 0x5EED ^ UInt64(profileCase.index))
            var live: [(buffer: BoundBuffer, stamp: UInt32?)] = []
            var refusals = 0
            func verify(_ entry: (buffer: BoundBuffer, stamp: UInt32?)) throws {
                guard let stamp = entry.stamp else { return }
                let view = try allocator.map(entry.buffer.allocation)
                #expect(try view.read(UInt32.self, at: 0) == stamp)
                #expect(try view.read(UInt32.self, at: entry.buffer.size - 4) == ~stamp)
            }
            for step in 0..<400 {
                if !live.isEmpty, generator.next() % 3 == 0 {
                    let entry = live.remove(at: Int(generator.next() % UInt64(live.count)))
                    try verify(entry)
                    try allocator.destroyBuffer(entry.buffer)
                    continue
                }
                let usage = MemoryUsage.allCases[Int(generator.next() % 4)]
                let size = generator.next() % 8 == 0 ? 4 * Self.mebibyte + generator.next() % (12 * Self.mebibyte)
                    : 256 + generator.next() % (256 * Self.kibibyte)
                let bound: BoundBuffer
                do throws(AllocationError) {
                    bound = try allocator.createBuffer(Self.bufferInfo(size: size / 4 * 4), .usage(usage),
                                                       options: AllocationOptions(name: "step \(step)"))
                } catch {
                    guard case .outOfMemory = error else { throw error }
                    refusals += 1
                    continue
                }
                var stamp: UInt32?
                if allocator.properties.types[bound.allocation.memoryTypeIndex].isHostVisible {
                    let value = UInt32(truncatingIfNeeded: generator.next())
                    let view = try allocator.map(bound.allocation)
                    try view.write(value, at: 0)
                    try view.write(~value, at: bound.size - 4)
                    stamp = value
                }
                live.append((bound, stamp))
            }
            #expect(live.count > 50, "\(refusals) refusals")
            for entry in live {
                try verify(entry)
                try allocator.destroyBuffer(entry.buffer)
            }
            #expect(allocator.usage.allocationCount == 0)
            allocator.freeUnusedPages()
            #expect(ProfiledDevice.of(device)?.heapUsage.allSatisfy { $0 == 0 } == true)
        }
    }

    // MARK: Granularity

    @Test("linear and optimal resources never share a bufferImageGranularity page",
          arguments: [ProfileCase.named("GeForce 940M"), ProfileCase.named("Mali-T760"),
                      ProfileCase.named("GeForce GTX 1080 Ti"), ProfileCase.named("SwiftShader")])
    func granularityIsKept(_ profileCase: ProfileCase) throws {
        try withProfiledDevice(profileCase.profile) { device in
            let allocator = Allocator(device: device)
            var generator = SplitMix(seed: 11)
            var buffers: [BoundBuffer] = []
            var images: [BoundImage] = []
            // Small resources of both kinds, interleaved, with frees making holes: the
            // wrapper checks every bind against the live bindings of its memory.
            for step in 0..<300 {
                switch generator.next() % 8 {
                case 0 where !buffers.isEmpty:
                    try allocator.destroyBuffer(buffers.remove(at: Int(generator.next() % UInt64(buffers.count))))
                case 1 where !images.isEmpty:
                    try allocator.destroyImage(images.remove(at: Int(generator.next() % UInt64(images.count))))
                case 2, 3, 4:
                    let size = 256 + generator.next() % (12 * Self.kibibyte)
                    buffers.append(try allocator.createBuffer(Self.bufferInfo(size: size), .usage(.gpuOnly),
                                                              options: AllocationOptions(name: "buffer \(step)")))
                default:
                    let side = UInt32(8 << (generator.next() % 4))
                    let info = ImageDescription(width: side, height: side, usage: [.sampled, .transferDestination])
                        .exclusiveCreateInfo
                    images.append(try allocator.createImage(info, .usage(.gpuOnly),
                                                            options: AllocationOptions(name: "image \(step)")))
                }
            }
            #expect(buffers.count > 20 && images.count > 10)
            #expect(allocator.usage.dedicatedCount == 0)
            for bound in buffers { try allocator.destroyBuffer(bound) }
            for bound in images { try allocator.destroyImage(bound) }
        }
    }

    @Test("defragmentation moves keep the granularity and the type bits",
          arguments: [ProfileCase.named("GeForce 940M"), ProfileCase.named("Mali-T760"),
                      ProfileCase.named("AMD Radeon RX 6600")])
    func defragmentationOnProfiles(_ profileCase: ProfileCase) throws {
        try withProfiledDevice(profileCase.profile, heapSizeOverride: 64 * Self.mebibyte) { device in
            let allocator = Allocator(device: device)
            var generator = SplitMix(seed: 5)
            enum Resource { case buffer(BoundBuffer, VkBufferCreateInfo), image(BoundImage, VkImageCreateInfo) }
            var resources: [Resource] = []
            for index in 0..<150 {
                if index % 3 == 2 {
                    let side = UInt32(16 << (generator.next() % 3))
                    let info = ImageDescription(width: side, height: side, usage: [.sampled, .transferDestination])
                        .exclusiveCreateInfo
                    resources.append(.image(try allocator.createImage(info, .usage(.gpuOnly)), info))
                } else {
                    let info = Self.bufferInfo(size: 1024 + generator.next() % (40 * Self.kibibyte))
                    resources.append(.buffer(try allocator.createBuffer(info, .usage(.gpuOnly)), info))
                }
            }
            func destroy(_ resource: Resource) throws {
                switch resource {
                case .buffer(let bound, _): try allocator.destroyBuffer(bound)
                case .image(let bound, _): try allocator.destroyImage(bound)
                }
            }
            func allocation(of resource: Resource) -> Allocation {
                switch resource {
                case .buffer(let bound, _): bound.allocation
                case .image(let bound, _): bound.allocation
                }
            }
            try keepEveryThird(&resources, release: destroy)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.isEmpty)
            for move in pass.moves {
                guard let index = resources.firstIndex(where: { allocation(of: $0) == move.source }) else {
                    Issue.record("a move's source is no resource's memory")
                    continue
                }
                // The new resource is bound while the old one still lives: the wrapper
                // checks it against every live binding of the destination's memory.
                switch resources[index] {
                case .buffer(let old, let info):
                    let moved = try allocator.createBuffer(info, boundTo: move.destination)
                    try allocator.destroyBuffer(old)
                    resources[index] = .buffer(moved, info)
                case .image(let old, let info):
                    let moved = try allocator.createImage(info, boundTo: move.destination)
                    try allocator.destroyImage(old)
                    resources[index] = .image(moved, info)
                }
            }
            try pass.commit()
            for resource in resources { try destroy(resource) }
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test("respecting the budget: refused by the allocator before the heap refuses")
    func budgetIsRespected() throws {
        let profile = try realProfile("AMD Radeon RX 6600")
        #expect(profile.memoryBudgetExtension == true)
        try withProfiledDevice(profile, heapSizeOverride: 64 * Self.mebibyte) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            var options = AllocatorOptions()
            options.respectBudget = true
            let allocator = Allocator(device: device, options: options)
            var live: [BoundBuffer] = []
            var failure: AllocationError?
            for _ in 0..<200 {
                do throws(AllocationError) {
                    live.append(try allocator.createBuffer(Self.bufferInfo(size: 5 * Self.mebibyte), .usage(.gpuOnly)))
                } catch {
                    failure = error
                    break
                }
            }
            guard case let .outOfMemory(_, _, _, _, reason)? = failure else {
                Issue.record("expected .outOfMemory, got \(String(describing: failure))")
                return
            }
            #expect(reason.contains("budget"), "\(reason)")
            // The budget is the heap: the driver never had to refuse.
            #expect(profiled.heapFullRefusals == 0)
            let budget = MemoryBudget(device: device)
            #expect(budget.source == .memoryBudgetExtension)
            #expect(budget.heaps.map(\.usage) == profiled.heapUsage)
            for bound in live { try allocator.destroyBuffer(bound) }
        }
    }

    /// Buffers and optimal images alternating, of two intents, so a group per memory type
    /// packs linear next to optimal resources.
    static let mixedBatch: ResourceBatch = {
        var batch = ResourceBatch.buffer(size: 3_000, usage: [.vertexBuffer, .transferDestination], name: "b0")
        for index in 1..<12 {
            if index % 2 == 1 {
                batch = batch.nextImage(width: UInt32(16 << (index % 3)), height: 16, usage: [.sampled, .transferDestination],
                                        name: "i\(index)")
            } else {
                batch = batch.nextBuffer(size: 256 + UInt64(index) * 700, usage: [.uniformBuffer],
                                         memory: .usage(index % 4 == 0 ? .dynamic : .gpuOnly), name: "b\(index)")
            }
        }
        return batch
    }()

    @Test("resource batches with every strategy keep the profile's rules",
          arguments: [ProfileCase.named("GeForce 940M"), ProfileCase.named("Mali-T760"),
                      ProfileCase.named("AMD Radeon RX 6600"), ProfileCase.named("NVIDIA H100 80GB HBM3"),
                      ProfileCase.named("Intel(R) HD Graphics 500 (APL 2)")],
          BindStrategy.allCases)
    func batchesKeepTheRules(_ profileCase: ProfileCase, _ strategy: BindStrategy) throws {
        try withProfiledDevice(profileCase.profile) { device in
            let allocator = Allocator(device: device)
            // Twice, the second beside the first, so groups meet other groups' neighbours.
            let first = try Self.mixedBatch.bind(allocator, strategy: strategy)
            let second = try Self.mixedBatch.bind(allocator, strategy: strategy)
            #expect(first.count == 12 && second.count == 12)
            try allocator.destroy(many: first)
            let third = try Self.mixedBatch.bind(allocator, strategy: strategy)
            try allocator.destroy(many: second)
            try allocator.destroy(many: third)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    // MARK: Full heaps

    @Test("a full device-local heap: the next type, then .outOfMemory, and nothing changed",
          arguments: [ProfileCase.named("GeForce GTX 1080 Ti"), ProfileCase.named("AMD Radeon RX 6600"),
                      ProfileCase.named("NVIDIA GeForce RTX 4070"), ProfileCase.named("Mali-T760")])
    func fullHeapFallsBackThenFails(_ profileCase: ProfileCase) throws {
        let heapSize = 64 * Self.mebibyte
        let request = 3 * Self.mebibyte
        try withProfiledDevice(profileCase.profile, heapSizeOverride: heapSize) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let properties = allocator.properties
            let ranking = allocator.selection.rankedTypes(for: .usage(.gpuOnly, memoryTypeBits: profiled.bufferTypeBits))
            var buffers: [BoundBuffer] = []
            var failure: AllocationError?
            // How full the heap of the type in use was when the allocator moved on from it.
            var usageAtFallback: [Int: UInt64] = [:]
            for _ in 0..<200 {
                let before = profiled.heapUsage
                do throws(AllocationError) {
                    let bound = try allocator.createBuffer(Self.bufferInfo(size: request), .usage(.gpuOnly))
                    if let last = buffers.last?.allocation.memoryTypeIndex, last != bound.allocation.memoryTypeIndex {
                        let heap = properties.types[last].heapIndex
                        usageAtFallback[heap] = usageAtFallback[heap] ?? before[heap]
                    }
                    buffers.append(bound)
                } catch {
                    failure = error
                    break
                }
            }
            let positions = buffers.map { ranking.firstIndex(of: $0.allocation.memoryTypeIndex) ?? -1 }
            #expect(!positions.contains(-1))
            #expect(positions == positions.sorted(), "types used out of rank order: \(positions)")
            #expect(properties.types[buffers[0].allocation.memoryTypeIndex].isDeviceLocal)
            let heapsUsed = Set(buffers.map { properties.types[$0.allocation.memoryTypeIndex].heapIndex })
            #expect(heapsUsed.count == Set(ranking.map { properties.types[$0].heapIndex }).count,
                    "every heap a candidate type draws from was used: \(heapsUsed)")
            // A heap was left only when it could not take another request.
            for (heap, used) in usageAtFallback {
                #expect(used + request > properties.heaps[heap].size, "left heap \(heap) at \(used) bytes")
            }
            let error = try #require(failure)
            guard case .outOfMemory = error else {
                Issue.record("expected .outOfMemory, got \(error)")
                return
            }
            // Pages are an eighth of a heap this small (8 MiB): each holds two 3 MiB
            // buffers, so up to a quarter of a full heap is free in holes too small for one.
            for heap in heapsUsed {
                let live = buffers.filter { properties.types[$0.allocation.memoryTypeIndex].heapIndex == heap }
                #expect(UInt64(live.count) * request * 4 >= properties.heaps[heap].size * 3,
                        "heap \(heap) holds only \(live.count) buffers")
            }

            // Failing again changes nothing: not the statistics, the usage, the driver's
            // memory or the objects alive.
            let statistics = allocator.statistics()
            let usage = allocator.usage
            let heapUsage = profiled.heapUsage
            let live = profiled.liveObjects
            let calls = profiled.allocateMemoryCalls
            #expect(throws: AllocationError.self) {
                _ = try allocator.createBuffer(Self.bufferInfo(size: request), .usage(.gpuOnly))
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.createImage(ImageDescription(width: 1024, height: 1024, usage: [.sampled]).exclusiveCreateInfo,
                                              .usage(.gpuOnly))
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: request), usage: .readback)
            }
            // The ledger knows the heap is full: the driver is not asked again.
            #expect(profiled.allocateMemoryCalls == calls)
            #expect(allocator.statistics() == statistics)
            #expect(allocator.usage == usage)
            #expect(profiled.heapUsage == heapUsage)
            #expect(profiled.liveObjects == live)

            for bound in buffers { try allocator.destroyBuffer(bound) }
            allocator.freeUnusedPages()
            #expect(profiled.heapUsage.allSatisfy { $0 == 0 })
        }
    }

    // MARK: Injected failures

    @Test("a refused vkAllocateMemory: a smaller page, another type, or a clean .outOfMemory")
    func injectedFailuresRollBack() throws {
        let profile = try realProfile("NVIDIA GeForce RTX 4070")
        // The first call of all fails: the first page is retried at half its size.
        try withProfiledDevice(profile, failingAllocateCalls: [1]) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let bound = try allocator.createBuffer(Self.bufferInfo(size: 64 * Self.kibibyte), .usage(.gpuOnly))
            #expect(profiled.injectedFailures == 1)
            #expect(bound.allocation.memoryTypeIndex == 1)
            #expect(allocator.usage.deviceMemoryAllocations == profiled.liveObjects.memories)
            try allocator.destroyBuffer(bound)
        }
        try withProfiledDevice(profile) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let ranking = allocator.selection.rankedTypes(for: .usage(.gpuOnly, memoryTypeBits: profiled.bufferTypeBits))
            // A dedicated allocation refused: the next type in the ranking.
            profiled.failAllocateMemory(calls: [profiled.allocateMemoryCalls + 1])
            let dedicated = try allocator.createBuffer(Self.bufferInfo(size: Self.mebibyte), .usage(.gpuOnly),
                                                       options: AllocationOptions(dedicated: .always))
            #expect(profiled.injectedFailures == 1)
            #expect(dedicated.allocation.memoryTypeIndex == ranking[1])

            // Every call refused: .outOfMemory, and the allocator, the driver's memory
            // and the live objects are as they were.
            let keep = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.staging))
            let statistics = allocator.statistics()
            let live = profiled.liveObjects
            profiled.failEveryAllocateMemory(true)
            #expect {
                _ = try allocator.createBuffer(Self.bufferInfo(size: 64 * Self.mebibyte), .usage(.gpuOnly))
            } throws: { error in
                guard case AllocationError.outOfMemory = error else { return false }
                return true
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.createImage(Self.optimalImage, .usage(.gpuOnly), options: AllocationOptions(dedicated: .always))
            }
            profiled.failEveryAllocateMemory(false)
            #expect(allocator.statistics() == statistics)
            #expect(profiled.liveObjects == live)
            let after = try allocator.createBuffer(Self.bufferInfo(size: 4096), .usage(.gpuOnly))
            for bound in [dedicated, keep, after] { try allocator.destroyBuffer(bound) }
        }
    }

    // MARK: The wrapper's own checks

    @Test("the wrapper catches what only the profile forbids")
    func wrapperCatchesProfileViolations() throws {
        try withProfiledDevice(try realProfile("GeForce 940M"), heapSizeOverride: 64 * Self.mebibyte) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let functions = device.deviceFunctions
            // Mapping a type the profile does not make host-visible fails, and is recorded.
            let vram = try DeviceMemory.allocate(on: device, size: 4 * Self.mebibyte, memoryTypeIndex: 7)
            #expect(throws: MemoryError.notHostVisible(typeIndex: 7, flags: .deviceLocal)) { _ = try vram.map() }
            #expect(profiled.takeViolations().isEmpty)
            var pointer: UnsafeMutableRawPointer?
            #expect(functions.mapMemory(device.device, vram.handle, 0, VK_WHOLE_SIZE, 0, &pointer)
                    == VK_ERROR_MEMORY_MAP_FAILED)
            #expect(profiled.takeViolations().contains { $0.contains("vkMapMemory") && $0.contains("HOST_VISIBLE") })

            // Resources: the profile's granularity (64 KiB) between a buffer and an optimal image.
            var bufferHandle: VkBuffer?
            var bufferInfo = Self.bufferInfo(size: 4096)
            #expect(functions.createBuffer(device.device, &bufferInfo, nil, &bufferHandle) == VK_SUCCESS)
            var imageHandle: VkImage?
            var imageInfo = Self.optimalImage
            #expect(functions.createImage(device.device, &imageInfo, nil, &imageHandle) == VK_SUCCESS)
            #expect(functions.bindImageMemory(device.device, imageHandle, vram.handle, 0) == VK_SUCCESS)
            #expect(profiled.takeViolations().isEmpty)
            #expect(functions.bindBufferMemory(device.device, bufferHandle, vram.handle, 32 * Self.kibibyte) == VK_SUCCESS)
            #expect(profiled.takeViolations().contains { $0.contains("bufferImageGranularity") })
            functions.destroyBuffer(device.device, bufferHandle, nil)
            functions.destroyImage(device.device, imageHandle, nil)

            // An optimal image's presented alignment is the profile's granularity (64 KiB):
            // 4 KiB is enough for lavapipe, and so for the validation layer, but not here.
            let host = try DeviceMemory.allocate(on: device, size: Self.mebibyte, memoryTypeIndex: 9)
            #expect(functions.createImage(device.device, &imageInfo, nil, &imageHandle) == VK_SUCCESS)
            #expect(functions.bindImageMemory(device.device, imageHandle, host.handle, 4096) == VK_SUCCESS)
            #expect(profiled.takeViolations().contains { $0.contains("alignment") })
            functions.destroyImage(device.device, imageHandle, nil)

            // Flush ranges are checked against the profile's atom.
            let mapped = try host.map()
            var range = VkMappedMemoryRange()
            range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE
            range.memory = host.handle
            range.offset = 32
            range.size = 64
            #expect(functions.flushMappedMemoryRanges(device.device, 1, &range) == VK_SUCCESS)
            #expect(profiled.takeViolations().contains { $0.contains("nonCoherentAtomSize") })
            _ = mapped
            try host.unmap()

            // The heap's presented size is enforced: a driver refusal, not a violation.
            let big = try DeviceMemory.allocate(on: device, size: 40 * Self.mebibyte, memoryTypeIndex: 8)
            #expect {
                _ = try DeviceMemory.allocate(on: device, size: 40 * Self.mebibyte, memoryTypeIndex: 7)
            } throws: { error in
                guard case MemoryError.allocationFailed(_, _, _, let result) = error else { return false }
                return result == .errorOutOfDeviceMemory
            }
            #expect(profiled.heapUsage == [44 * Self.mebibyte, Self.mebibyte])
            #expect(profiled.takeViolations().isEmpty)
            try big.free()
            try host.free()
            try vram.free()
        }
    }

    @Test("a lazily allocated type is outside a buffer's bits, and binding there is caught")
    func wrapperCatchesWrongTypeBits() throws {
        try withProfiledDevice(try realProfile("Mali-T760")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let functions = device.deviceFunctions
            let lazy = try DeviceMemory.allocate(on: device, size: Self.mebibyte, memoryTypeIndex: 2)
            var bufferHandle: VkBuffer?
            var info = Self.bufferInfo(size: 4096)
            #expect(functions.createBuffer(device.device, &info, nil, &bufferHandle) == VK_SUCCESS)
            #expect(functions.bindBufferMemory(device.device, bufferHandle, lazy.handle, 0) == VK_SUCCESS)
            #expect(profiled.takeViolations().contains { $0.contains("memoryTypeBits") })
            functions.destroyBuffer(device.device, bufferHandle, nil)
            try lazy.free()
        }
    }

    // MARK: Library defects the profiles showed

    /// A `PROTECTED` type needs the `protectedMemory` feature and a `DEVICE_COHERENT_AMD`
    /// type the `deviceCoherentMemory` feature (VUID-VkMemoryAllocateInfo-memoryTypeIndex-01872,
    /// VUID-vkAllocateMemory-deviceCoherentMemory-02790). The profiled device has neither,
    /// so the library can never allocate them validly there: a request naming the flag and
    /// `DeviceMemory.allocate` are refused before `vkAllocateMemory` (once allocated, found
    /// by these profiles). `DeviceCoherentMemoryTests` covers the AMD opt-in.
    @Test("types that need a feature the device lacks are refused, not allocated",
          arguments: [(ProfileCase.named("Intel(R) Iris(R) Xe Graphics (RPL-U)"), MemoryPropertyFlags.protected),
                      (ProfileCase.named("AMD Radeon RX 6600"), MemoryPropertyFlags([.deviceCoherentAMD, .deviceUncachedAMD]))])
    func featureGatedTypesAreRefused(_ profileCase: ProfileCase, _ flags: MemoryPropertyFlags) throws {
        try withProfiledDevice(profileCase.profile) { device in
            let allocator = Allocator(device: device)
            let type = try #require(allocator.properties.types.first { $0.flags.isSuperset(of: flags) })
            #expect(throws: AllocationError.self) {
                let allocation = try allocator.allocate(MemoryRequirements(size: 4096), MemoryRequest(required: flags))
                try allocator.free(allocation)
            }
            #expect(throws: MemoryError.self) {
                try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: type.index).free()
            }
            // A pool of such a type could hold nothing: refused when it is made.
            #expect(throws: AllocationError.self) {
                try allocator.destroyPool(try allocator.makePool(PoolOptions(name: "gated", memoryTypeIndex: type.index,
                                                                               pageSize: 1 << 20)))
            }
        }
    }

    @Test("the profile's maxMemoryAllocationCount (4096) is never exceeded")
    func allocationCountLimit() throws {
        let profile = try realProfile("GeForce GTX 1080 Ti")
        let limit = try profile.memoryProperties().limits.maxMemoryAllocationCount
        #expect(limit == 4096)
        try withProfiledDevice(profile) { device in
            let allocator = Allocator(device: device)
            var live: [Allocation] = []
            var failure: AllocationError?
            while live.count <= Int(limit) {
                do throws(AllocationError) {
                    live.append(try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                                       options: AllocationOptions(dedicated: .always)))
                } catch {
                    failure = error
                    break
                }
            }
            // The wrapper records a violation if a 4097th object is asked of the driver.
            #expect(failure == .tooManyAllocations(limit: limit))
            #expect(live.count == Int(limit))
            #expect(ProfiledDevice.of(device)?.liveObjects.memories == Int(limit))
            for allocation in live { try allocator.free(allocation) }
        }
    }

    /// Two threads asking for the last object the limit allows: one gets it, the other
    /// `.tooManyAllocations`. The check and the count used to be apart, with the driver
    /// call between them, so both passed the check and the driver was asked for one
    /// object too many (which the wrapper records as a violation). One call is held inside
    /// the driver while the other is made.
    @Test("the last object under maxMemoryAllocationCount goes to one of two threads")
    func lastObjectUnderTheLimitGoesToOneThread() throws {
        let profile = try realProfile("GeForce GTX 1080 Ti")
        let limit = try profile.memoryProperties().limits.maxMemoryAllocationCount
        try withProfiledDevice(profile) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let allocator = Allocator(device: device)
            let options = AllocationOptions(dedicated: .always)
            var live = try (0..<(Int(limit) - 1)).map { _ in
                try allocator.allocate(MemoryRequirements(size: 256), usage: .staging, options: options)
            }
            let gate = profiled.pauseNextAllocateMemory()
            let held = Mutex<Result<Allocation, AllocationError>?>(nil)
            let done = DispatchSemaphore(value: 0)
            Thread {
                let result = Result { () throws(AllocationError) in
                    try allocator.allocate(MemoryRequirements(size: 256), usage: .staging, options: options)
                }
                held.withLock { $0 = result }
                done.signal()
            }.start()
            gate.entered.wait()
            let second = Result { () throws(AllocationError) in
                try allocator.allocate(MemoryRequirements(size: 256), usage: .staging, options: options)
            }
            gate.resume.signal()
            done.wait()
            let first = try #require(held.withLock { $0 })
            let outcomes = [first, second]
            let made = outcomes.compactMap { try? $0.get() }
            #expect(made.count == 1, "\(outcomes)")
            #expect(outcomes.contains { if case .failure(.tooManyAllocations(limit)) = $0 { true } else { false } })
            live += made
            for allocation in live { try allocator.free(allocation) }
        }
    }
}
