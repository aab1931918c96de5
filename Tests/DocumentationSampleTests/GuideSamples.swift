import Foundation
import Testing
import VulkanMemory

// The samples of the DocC articles "Choosing memory", "Pages and the arena", "Binding
// strategies", "Mapping and coherency", "Budget and reservations" and "Custom pools".

// MARK: Choosing memory

/// The GeForce GTX 1080's memory table (from the test fixture's gpu-profiles.json), and
/// the type each intent gets on it.
func intentsOnAGTX1080() throws -> [MemoryUsage: Int] {
    // Sample: choosing
    let properties = try MemoryProperties(
        heaps: [
            MemoryHeap(index: 0, size: 8 << 30, flags: .deviceLocal),          // VRAM
            MemoryHeap(index: 1, size: 12_520_691_712, flags: []),             // system memory
            MemoryHeap(index: 2, size: 246 << 20, flags: .deviceLocal),        // the BAR window
        ],
        types: (0..<7).map { MemoryType(index: $0, heapIndex: 1, flags: []) } + [
            MemoryType(index: 7, heapIndex: 0, flags: .deviceLocal),
            MemoryType(index: 8, heapIndex: 1, flags: [.hostVisible, .hostCoherent]),
            MemoryType(index: 9, heapIndex: 1, flags: [.hostVisible, .hostCoherent, .hostCached]),
            MemoryType(index: 10, heapIndex: 2, flags: [.deviceLocal, .hostVisible, .hostCoherent]),
        ],
        limits: MemoryLimits(bufferImageGranularity: 1024, nonCoherentAtomSize: 64,
                             maxMemoryAllocationCount: .max, minMemoryMapAlignment: 64))
    let selection = MemoryTypeSelection(properties: properties, isDiscrete: true)
    var best: [MemoryUsage: Int] = [:]
    for usage in MemoryUsage.allCases {
        best[usage] = selection.bestType(for: .usage(usage))
    }
    // best == [.gpuOnly: 7, .staging: 8, .dynamic: 10, .readback: 9, .transientAttachment: 7]
    // Sample: end
    return best
}

/// Explicit flags, with and without an intent.
func explicitRequests(_ allocator: Allocator) throws -> [Allocation] {
    // Sample: explicit
    // Host-visible, cached if possible: VMA's requiredFlags / preferredFlags.
    let cachedRead = MemoryRequest(required: .hostVisible, preferred: .hostCached)
    // The .dynamic intent, but never device-local (keep the BAR for something else).
    let notInVRAM = MemoryRequest(usage: .dynamic, notPreferred: .deviceLocal)
    let ranked = allocator.selection.rankedTypes(for: notInVRAM)     // candidates, best first
    let a = try allocator.allocate(MemoryRequirements(size: 4096), cachedRead)
    let b = try allocator.allocate(MemoryRequirements(size: 4096), notInVRAM)
    // Sample: end
    #expect(b.memoryTypeIndex == ranked.first)
    return [a, b]
}

// MARK: Pages and the arena

/// Pages grow with what a type holds; large requests get memory of their own.
func pagesAndDedicatedMemory(_ context: VulkanContext) throws -> (small: AllocatorUsage, dedicated: Bool, end: AllocatorUsage) {
    // Sample: pages
    var options = AllocatorOptions()
    options.deviceLocalPageSize = 64 << 20    // grow towards 64 MiB pages (the default is 128 MiB)
    options.emptyPages = .keep(0)             // give wholly free pages back at once
    let allocator = Allocator(device: context.device, options: options)

    var textures: [Allocation] = []
    for _ in 0..<64 {
        textures.append(try allocator.allocate(MemoryRequirements(size: 256 << 10, alignment: 256, kind: .optimal),
                                               usage: .gpuOnly))
    }
    let small = allocator.usage               // a few pages hold all 64: usage.pageCount
    let video = try allocator.allocate(MemoryRequirements(size: 48 << 20), usage: .gpuOnly)
    // video.isDedicated: larger than half a page, so it has a VkDeviceMemory of its own

    for texture in textures { try allocator.free(texture) }
    try allocator.free(video)
    let end = allocator.usage                 // end.pageCount == 0, end.committedBytes == 0
    // Sample: end
    return (small, video.isDedicated, end)
}

// MARK: Binding strategies

/// One batch bound each of the four ways.
func bindEachWay(_ allocator: Allocator) throws -> [BindStrategy: BoundResources] {
    // Sample: strategies
    let terrain = ResourceBatch
        .buffer(size: 16 << 10, usage: .uniformBuffer, memory: .usage(.dynamic), name: "terrain constants")
        .nextBuffer(size: 1 << 20, usage: [.vertexBuffer, .transferDestination], name: "terrain vertices")
        .nextBuffer(size: 256 << 10, usage: [.indexBuffer, .transferDestination], name: "terrain indices")
        .nextImage(width: 512, height: 512, usage: [.sampled, .transferDestination], name: "terrain albedo")

    var bound: [BindStrategy: BoundResources] = [:]
    for strategy in BindStrategy.allCases {          // .scatter, .contiguous, .privatePage, .dedicated
        bound[strategy] = try terrain.bind(allocator, strategy: strategy)
    }
    // bound[.contiguous]!.buffers[1] and .buffers[2] lie in one range of one page;
    // every resource of bound[.dedicated]! has allocation.isDedicated.
    // Sample: end
    return bound
}

// MARK: Mapping and coherency

/// A persistently mapped allocation, a view, a raw pointer, and the view's end.
func mappingAndItsLifetime(_ allocator: Allocator, camera: Camera) throws -> (Camera, Bool, MemoryError?) {
    // Sample: mapping
    let uniforms = try allocator.allocate(MemoryRequirements(size: 256, alignment: 64), usage: .dynamic,
                                          options: AllocationOptions(mapped: true, name: "per-frame uniforms"))
    let view = try allocator.map(uniforms)
    try view.write(camera)                                   // flushed if the type is not HOST_COHERENT
    try view.write(contentsOf: [Float](repeating: 0.5, count: 8), at: 64)
    let back = try view.read(Camera.self)                    // invalidated first if not coherent

    // The raw pointer: no bounds, no flush, no lifetime check.
    uniforms.mappedPointer!.storeBytes(of: Float(2), toByteOffset: 128, as: Float.self)
    if view.needsSynchronization { try view.flush(at: 128, size: 4) }

    try allocator.free(uniforms)
    // view.isValid is now false, and every use of the view throws instead of writing
    // into memory another allocation may already hold:
    var ended: MemoryError?
    do throws(MemoryError) { try view.write(camera) } catch { ended = error }   // .viewEnded
    // Sample: end
    return (back, view.isValid, ended)
}

/// `vmaCopyMemoryToAllocation` and `vmaCopyAllocationToMemory`.
func hostCopies(_ allocator: Allocator) throws -> [Float] {
    // Sample: hostcopy
    let readback = try allocator.allocate(MemoryRequirements(size: 64), usage: .readback)
    try allocator.copyMemory([Float](repeating: 1.5, count: 16), to: readback)   // flushed if not coherent
    let values = try allocator.copyMemory(from: readback, as: Float.self, count: 16)  // invalidated first
    try allocator.free(readback)
    // Sample: end
    return values
}

/// A `DeviceMemory` view ends with the mapping that made it.
func rawMappingEnds(_ context: VulkanContext) throws -> (counted: Int, ended: MemoryError?) {
    let hostType = MemoryProperties(device: context.device).types.first { $0.isHostVisible }!.index
    // Sample: rawmapping
    let memory = try DeviceMemory.allocate(on: context.device, size: 1 << 16, memoryTypeIndex: hostType)
    let first = try memory.map()                  // vkMapMemory of the whole object
    let second = try memory.map(offset: 4096)     // shares the mapping; memory.mapCount == 2
    let counted = memory.mapCount
    try memory.unmap()                            // one map left: both views still work
    try second.write(UInt32(7))
    try memory.unmap()                            // vkUnmapMemory: the views end
    var ended: MemoryError?
    do throws(MemoryError) { _ = try first.read(UInt32.self) } catch { ended = error }   // .viewEnded
    try memory.free()
    // Sample: end
    return (counted, ended)
}

// MARK: Budget and reservations

/// Heap caps, the budget, and a reservation that spares `vkAllocateMemory` later.
func budgetAndReservation(_ context: VulkanContext) throws -> (budget: MemoryBudget, callsDuringFrame: Int, refused: AllocationError?) {
    // Sample: budget
    let budget = MemoryBudget(device: context.device)     // VK_EXT_memory_budget, or an estimate
    // budget.source, and per heap: budget.heaps[i].budget, .usage, .available

    let properties = MemoryProperties(device: context.device)
    var options = AllocatorOptions()
    options.respectBudget = true                          // refuse what would pass the budget
    options.heapSizeLimits = Dictionary(uniqueKeysWithValues: properties.heaps.map { ($0.index, UInt64(256 << 20)) })
    let allocator = Allocator(device: context.device, options: options)

    try allocator.reserve(32 << 20, usage: .gpuOnly)      // the pages are made now
    let before = allocator.usage.deviceMemoryAllocations
    var frame: [Allocation] = []
    for _ in 0..<64 {
        frame.append(try allocator.allocate(MemoryRequirements(size: 256 << 10), usage: .gpuOnly))
    }
    let callsDuringFrame = allocator.usage.deviceMemoryAllocations - before   // 0

    var refused: AllocationError?
    do throws(AllocationError) {
        _ = try allocator.allocate(MemoryRequirements(size: 512 << 20), usage: .gpuOnly)
    } catch {
        refused = error                                   // .outOfMemory: past every heap's cap
    }
    for allocation in frame { try allocator.free(allocation) }
    allocator.releaseReservations()                       // the pages follow the usual rules again
    // Sample: end
    return (budget, callsDuringFrame, refused)
}

// MARK: Custom pools

/// A pool of two 4 MiB pages, full, refused, emptied and destroyed.
func particlePool(_ allocator: Allocator) throws -> (count: Int, full: AllocationError?, busy: AllocationError?) {
    // Sample: pools
    let particles = try allocator.makePool(PoolOptions(name: "particles", usage: .dynamic,
                                                       pageSize: 4 << 20, minPages: 1, maxPages: 2))
    let emitterInfo = BufferDescription(size: 1 << 20, usage: .storageBuffer).exclusiveCreateInfo
    var emitters: [BoundBuffer] = []
    var full: AllocationError?
    while full == nil {
        do throws(AllocationError) {
            emitters.append(try allocator.createBuffer(emitterInfo, in: particles))
        } catch {
            full = error                         // .outOfMemory naming the pool: two pages are full
        }
    }
    var busy: AllocationError?
    do throws(AllocationError) { try allocator.destroyPool(particles) } catch { busy = error }   // .poolNotEmpty
    for emitter in emitters { try allocator.destroyBuffer(emitter) }
    try allocator.destroyPool(particles)
    // Sample: end
    return (emitters.count, full, busy)
}

@Suite struct GuideSamples {
    @Test func intentsLandWhereTheArticleSays() throws {
        #expect(try intentsOnAGTX1080() == [.gpuOnly: 7, .staging: 8, .dynamic: 10, .readback: 9,
                                        .transientAttachment: 7])
    }

    @Test func explicitRequestsAllocate() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            for allocation in try explicitRequests(allocator) { try allocator.free(allocation) }
        }
    }

    @Test func pagesGrowAndGoBack() throws {
        try withSampleDevice { context in
            let (small, dedicated, end) = try pagesAndDedicatedMemory(context)
            #expect(small.pageCount >= 1 && small.allocationCount == 64)
            #expect(dedicated)
            #expect(end.pageCount == 0 && end.committedBytes == 0)
        }
    }

    @Test func eachStrategyBindsTheBatch() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let bound = try bindEachWay(allocator)
            let contiguous = bound[.contiguous]!.buffers
            #expect(contiguous[1].allocation.memory == contiguous[2].allocation.memory)
            #expect(bound[.dedicated]!.allSatisfy { $0.allocation.isDedicated })
            for resources in bound.values { try allocator.destroy(many: resources) }
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    @Test func aViewEndsWithItsAllocation() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let camera = Camera(position: [4, 3, 2, 1], direction: [1, 0, 0, 0])
            let (back, valid, ended) = try mappingAndItsLifetime(allocator, camera: camera)
            #expect(back == camera && !valid && ended == .viewEnded)
            let value = try hostCopies(allocator)
            #expect(value == [Float](repeating: 1.5, count: 16))
        }
    }

    @Test func aRawViewEndsWithTheLastUnmap() throws {
        try withSampleDevice { context in
            let (counted, ended) = try rawMappingEnds(context)
            #expect(counted == 2 && ended == .viewEnded)
        }
    }

    @Test func aReservationSparesDeviceAllocations() throws {
        try withSampleDevice { context in
            let (budget, calls, refused) = try budgetAndReservation(context)
            #expect(!budget.heaps.isEmpty)
            #expect(calls == 0)
            guard case .outOfMemory? = refused else {
                Issue.record("expected .outOfMemory, got \(String(describing: refused))")
                return
            }
        }
    }

    @Test func aPoolFillsAndEmpties() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let (count, full, busy) = try particlePool(allocator)
            #expect(count == 8)
            guard case .outOfMemory? = full, case .poolNotEmpty? = busy else {
                Issue.record("full: \(String(describing: full)), busy: \(String(describing: busy))")
                return
            }
        }
    }
}
