import Dispatch
import Foundation
import Synchronization
import Testing
import VulkanMemory

// The samples of the DocC articles "Defragmentation", "Statistics", "Threads",
// "Recording and replay" and "Transfers", and of the README's defragmentation and
// transfer sections.

// MARK: Defragmentation

/// One defragmentation pass over buffers that share one create-info, with the copies made
/// on the GPU: `buffers` maps each live allocation to the buffer bound to it, the table an
/// engine keeps, and is updated to the buffers' new homes.
func defragment(_ allocator: Allocator, _ transfer: TransferQueue, buffers: inout [Allocation: BoundBuffer],
                createInfo: VkBufferCreateInfo) throws -> DefragmentationResult {
    let commands = allocator.device.commandFunctions
    // README: defragmentation
    let pass = try allocator.beginDefragmentation(maxBytesToMove: 64 << 20)
    var copies: [(from: BoundBuffer, to: BoundBuffer)] = []
    for move in pass.moves {                         // the least-used pages, emptied into the others' holes
        let old = buffers.removeValue(forKey: move.source)!
        let moved = try allocator.createBuffer(createInfo, boundTo: move.destination)
        buffers[moved.allocation] = moved            // replace the old buffer with `moved` in your tables
        copies.append((old, moved))
    }
    try transfer.submit { commandBuffer in           // copy each source's bytes to its destination
        for copy in copies {
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: createInfo.size)
            commands.cmdCopyBuffer(commandBuffer, copy.from.buffer, copy.to.buffer, 1, &region)
        }
    }                                                // returns once the GPU is done with the sources
    let result = pass.commit()                       // sources freed, emptied pages back to the driver
    for copy in copies { try allocator.destroyBuffer(copy.from) }   // the VkBuffer; its memory went with the commit
    // README: end
    return result
}

/// Fragments small pages, then defragments them and checks every buffer's contents.
func fragmentThenDefragment(_ context: VulkanContext) throws -> (before: AllocatorUsage, after: AllocatorUsage,
                                                                 result: DefragmentationResult, intact: Bool) {
    var options = AllocatorOptions()
    options.deviceLocalPageSize = 4 << 20
    options.hostPageSize = 4 << 20
    let allocator = Allocator(device: context.device, options: options)
    let transfer = try TransferQueue(context: context, allocator: allocator)
    let createInfo = BufferDescription(size: 64 << 10, usage: [.storageBuffer, .transferSource, .transferDestination])
        .exclusiveCreateInfo
    var all: [BoundBuffer] = []
    for index in 0..<96 {
        let buffer = try allocator.createBuffer(createInfo, .usage(.gpuOnly))
        try transfer.upload([UInt32](repeating: UInt32(index), count: 16), to: buffer)
        all.append(buffer)
    }
    var buffers: [Allocation: BoundBuffer] = [:]
    var expected: [Allocation: UInt32] = [:]
    for (index, buffer) in all.enumerated() {
        if index % 3 == 0 {
            buffers[buffer.allocation] = buffer
            expected[buffer.allocation] = UInt32(index)
        } else {
            try allocator.destroyBuffer(buffer)
        }
    }
    let before = allocator.usage
    let values = expected
    var contents: [BoundBuffer: UInt32] = [:]
    for (allocation, buffer) in buffers { contents[buffer] = values[allocation] }
    let result = try defragment(allocator, transfer, buffers: &buffers, createInfo: createInfo)
    let after = allocator.usage
    // Each buffer that moved has a new BoundBuffer: look its value up by the old one.
    var intact = buffers.count == values.count
    var remaining = Set(contents.values)
    for buffer in buffers.values {
        let value = try transfer.download(UInt32.self, count: 16, from: buffer)
        intact = intact && value.allSatisfy { $0 == value[0] } && remaining.remove(value[0]) != nil
    }
    for buffer in buffers.values { try allocator.destroyBuffer(buffer) }
    return (before, after, result, intact)
}

// MARK: Statistics

/// A snapshot, its two text forms, and the live allocations.
func statisticsSnapshot(_ allocator: Allocator) throws -> (Statistics, decoded: Statistics, reports: [AllocationReport]) {
    let mesh = try allocator.createBuffer(BufferDescription(size: 1 << 20, usage: .vertexBuffer).exclusiveCreateInfo,
                                          .usage(.gpuOnly), options: AllocationOptions(name: "mesh"))
    // Sample: statistics
    let statistics = allocator.statistics()           // totals, heaps, types, pages with their ranges
    let yaml = try statistics.yaml()                  // for people: summary first, page maps after
    let json = try statistics.json()                  // for tools: sorted keys, diffs line by line
    let decoded = try JSONDecoder().decode(Statistics.self, from: Data(json.utf8))   // == statistics
    let totals = allocator.usage                      // the cheap totals, no page maps
    let reports = allocator.liveAllocations()         // name, size, type, file:line of each
    // Sample: end
    #expect(yaml.contains("mesh") && totals.allocationCount == 1)
    try allocator.destroyBuffer(mesh)
    return (statistics, decoded, reports)
}

// MARK: Threads

/// Four threads allocate and free at once; a VirtualBlock shared behind a Mutex.
func allocateOnManyThreads(_ allocator: Allocator) throws -> Int {
    // Sample: threads
    let failures = Mutex<[AllocationError]>([])
    DispatchQueue.concurrentPerform(iterations: 4) { worker in
        let usage: MemoryUsage = worker % 2 == 0 ? .gpuOnly : .staging   // two types: two locks
        do throws(AllocationError) {
            for _ in 0..<200 {
                let allocation = try allocator.allocate(MemoryRequirements(size: 4096, alignment: 256), usage: usage)
                try allocator.free(allocation)
            }
        } catch {
            failures.withLock { $0.append(error) }
        }
    }
    // Sample: end
    return failures.withLock { $0.count }
}

/// A `VirtualBlock` is a value: share one behind a lock.
func sharedVirtualBlock() throws -> Int {
    // Sample: sharedblock
    let block = Mutex(try VirtualBlock(size: 1 << 20))
    DispatchQueue.concurrentPerform(iterations: 4) { _ in
        for _ in 0..<100 {
            block.withLock { block in
                if let range = try? block.allocate(size: 256, alignment: 16) { try? block.free(range.handle) }
            }
        }
    }
    // Sample: end
    return block.withLock { $0.allocationCount }
}

// MARK: Recording and replay

/// Counts events by kind: an observer such as a profiler would install.
final class EventCounts: AllocationObserver {
    private let counts = Mutex<[String: Int]>([:])

    func observe(_ event: AllocationEvent, from allocator: UInt64) {
        let kind = switch event {
        case .began: "began"
        case .allocated: "allocated"
        case .freed: "freed"
        case .mapped: "mapped"
        case .moved: "moved"
        case .deviceMemoryAllocated: "vkAllocateMemory"
        case .deviceMemoryFreed: "vkFreeMemory"
        case .refused: "refused"
        case .labelChanged: "labelChanged"
        case .ended: "ended"
        }
        counts.withLock { $0[kind, default: 0] += 1 }
    }

    var snapshot: [String: Int] { counts.withLock { $0 } }
}

/// Records a short session in VMA's format, then replays it on a second allocator.
func recordThenReplay(_ context: VulkanContext) throws -> (counts: [String: Int], report: ReplayReport, text: String) {
    // Sample: recording
    let recorder = CallRecorder()                      // or CallRecorder(path: "session.csv")
    let counts = EventCounts()
    var options = AllocatorOptions()
    options.recorder = recorder
    options.observers = [counts]
    do {
        let allocator = Allocator(device: context.device, options: options)
        let uniforms = try allocator.createBuffer(BufferDescription(size: 4096, usage: .uniformBuffer).exclusiveCreateInfo,
                                                  .usage(.dynamic), options: AllocationOptions(name: "uniforms"))
        let texture = ImageDescription(width: 128, height: 128, usage: [.sampled, .transferDestination])
        let image = try allocator.createImage(texture.exclusiveCreateInfo, texture.memory)
        try allocator.destroyImage(image)
        try allocator.destroyBuffer(uniforms)
    }                                                  // the allocator ends: vmaDestroyAllocator

    let recording = try VMARecording(parsing: recorder.text)
    let report = Allocator(device: context.device).replay(recording)
    // report.failures is empty; report.replayed counts each VMA function made again
    // Sample: end
    return (counts.snapshot, report, recorder.text)
}

// MARK: Transfers

/// Uploads and downloads through `TransferQueue` (README, "Uploads and downloads"; the
/// transfers article).
func uploadsAndDownloads(_ context: VulkanContext, vertices: [Vertex]) throws -> (vertices: [Vertex], texels: [UInt32], read: [Float]) {
    let allocator = Allocator(device: context.device)
    let vertexBufferInfo = BufferDescription(size: UInt64(MemoryLayout<Vertex>.stride * vertices.count),
                                             usage: [.vertexBuffer, .transferDestination, .transferSource])
        .exclusiveCreateInfo
    let imageDescription = ImageDescription(width: 64, height: 64, usage: [.sampled, .transferDestination, .transferSource])
    let boundImage = try allocator.createImage(imageDescription.exclusiveCreateInfo, imageDescription.memory)
    let texels = (0..<64 * 64).map { UInt32($0) }
    let hostVisibleAllocation = try allocator.allocate(MemoryRequirements(size: 64), usage: .readback)
    let values = [Float](repeating: 0.25, count: 16)
    // README: transfers
    let transfer = try TransferQueue(context: context, allocator: allocator)   // or (allocator:queue:queueFamilyIndex:)
    let mesh = try allocator.createBuffer(vertexBufferInfo, .usage(.gpuOnly))  // TRANSFER_DST | TRANSFER_SRC
    try transfer.upload(vertices, to: mesh)                  // any BitwiseCopyable array, or raw bytes, at an offset
    let back = try transfer.download(Vertex.self, count: vertices.count, from: mesh)

    let texture = TransferImage(boundImage, imageDescription) // the image and the facts a copy needs
    try transfer.upload(texels, to: texture, leaving: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
    let texelsBack = try transfer.download(UInt32.self, from: texture, in: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)

    try transfer.submit { commandBuffer in /* your own commands: a dispatch, a fill */ }

    try allocator.copyMemory(values, to: hostVisibleAllocation)   // vmaCopyMemoryToAllocation, flushed if not coherent
    let read = try allocator.copyMemory(from: hostVisibleAllocation, as: Float.self, count: 16)  // vmaCopyAllocationToMemory
    // README: end
    try transfer.submit { commandBuffer in
        allocator.device.commandFunctions.cmdFillBuffer(commandBuffer, mesh.buffer, 0, vertexBufferInfo.size, 0)
    }
    let cleared = try transfer.download(UInt32.self, count: 4, from: mesh)
    #expect(cleared == [0, 0, 0, 0])
    try allocator.destroyBuffer(mesh)
    try allocator.destroyImage(boundImage)
    try allocator.free(hostVisibleAllocation)
    return (back, texelsBack, read)
}

@Suite struct OperationsSamples {
    @Test func aPassEmptiesPagesAndKeepsContents() throws {
        try withSampleDevice { context in
            let (before, after, result, intact) = try fragmentThenDefragment(context)
            #expect(result.releasedPages > 0)
            #expect(after.committedBytes < before.committedBytes)
            #expect(intact)
        }
    }

    @Test func statisticsParseBack() throws {
        try withSampleDevice { context in
            let (statistics, decoded, reports) = try statisticsSnapshot(Allocator(device: context.device))
            #expect(decoded == statistics)
            #expect(reports.map(\.name) == ["mesh"])
        }
    }

    /// Not named for `make test-tsan`'s "Thread" filter: the sample shares its
    /// `VirtualBlock` behind `Synchronization.Mutex`, whose lock the toolchain builds
    /// without the thread sanitizer's instrumentation, so TSan cannot see it order the
    /// threads and reported races between accesses the mutex serializes (once in three
    /// runs, always inside `withLock`). The allocator's own thread tests run under TSan.
    @Test func concurrentCallersAllocateAtOnce() throws {
        try withSampleDevice { context in
            let allocator = Allocator(device: context.device)
            let value = try allocateOnManyThreads(allocator)
            #expect(value == 0)
            #expect(allocator.usage.allocationCount == 0)
            let blockCount = try sharedVirtualBlock()
            #expect(blockCount == 0)
        }
    }

    @Test func aRecordingReplays() throws {
        try withSampleDevice { context in
            let (counts, report, text) = try recordThenReplay(context)
            #expect(counts["allocated"] == 2 && counts["freed"] == 2 && counts["ended"] == 1)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.replayed["vmaCreateBuffer"] == 1 && report.replayed["vmaCreateImage"] == 1)
            #expect(text.contains("vmaCreateBuffer"))
        }
    }

    @Test func uploadsComeBack() throws {
        try withSampleDevice { context in
            let vertices = (0..<100).map { Vertex(position: [Float($0), 1, 2], uv: [0.5, Float($0) / 100]) }
            let (back, texels, read) = try uploadsAndDownloads(context, vertices: vertices)
            #expect(back == vertices)
            #expect(texels == (0..<64 * 64).map { UInt32($0) })
            #expect(read == [Float](repeating: 0.25, count: 16))
        }
    }
}
