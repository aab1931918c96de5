import CVulkan
import Synchronization
import Testing
@testable import VulkanMemory

/// Collects every event it sees.
final class EventLog: AllocationObserver {
    private let events = Mutex<[AllocationEvent]>([])
    func observe(_ event: AllocationEvent, from allocator: UInt64) { events.withLock { $0.append(event) } }
    var all: [AllocationEvent] { events.withLock { $0 } }
    func clear() { events.withLock { $0.removeAll() } }

    var allocated: [AllocatedEvent] { all.compactMap { if case .allocated(let e) = $0 { e } else { nil } } }
    var freed: [FreedEvent] { all.compactMap { if case .freed(let e) = $0 { e } else { nil } } }
    var memoryAllocated: [DeviceMemoryEvent] {
        all.compactMap { if case .deviceMemoryAllocated(let e) = $0 { e } else { nil } }
    }
    var memoryFreed: [DeviceMemoryEvent] { all.compactMap { if case .deviceMemoryFreed(let e) = $0 { e } else { nil } } }
    var refusals: [RefusalEvent] { all.compactMap { if case .refused(let e) = $0 { e } else { nil } } }
}

/// Every way in reports through the one observer API: one `.allocated` a request, one
/// `.freed` a release, `VkDeviceMemory` both ways, refusals, and nothing for what a failed
/// call gave back.
@Suite("Allocation observers")
struct ObserverTests {
    static func bufferInfo(size: UInt64 = 4096) -> VkBufferCreateInfo {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        return info
    }

    @Test func everyEntryPointReportsOneEventWithItsCallSite() throws {
        try withTestDevice { context in
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            let allocator = Allocator(device: context.device, options: options)
            guard case .began(let device, _)? = log.all.first else {
                Issue.record("the first event is not .began")
                return
            }
            #expect(device === context.device)
            let requirements = MemoryRequirements(size: 1000, alignment: 256, kind: .linear)
            let line = #line + 1
            let raw = try allocator.allocate(requirements, usage: .staging, options: AllocationOptions(name: "raw"))
            let buffer = try allocator.createBuffer(Self.bufferInfo(), .usage(.gpuOnly))
            let image = try allocator.createImage(ImageDescription(width: 16, height: 16, usage: .sampled).exclusiveCreateInfo,
                                                  .usage(.gpuOnly))
            let pool = try allocator.makePool(PoolOptions(name: "pool", pageSize: 1 << 20))
            let pooled = try allocator.allocate(requirements, in: pool)
            let batch = try ResourceBatch.buffer(size: 4096, usage: .uniformBuffer).nextBuffer(size: 8192, usage: .storageBuffer)
                .bind(allocator, strategy: .contiguous)
            let allocated = log.allocated
            #expect(allocated.count == 6)
            #expect(allocated.map(\.allocation) == [raw, buffer.allocation, image.allocation, pooled] + batch.map(\.allocation))
            #expect(allocated[0].options.name == "raw" && allocated[0].line == UInt(line) && allocated[0].resource == nil)
            #expect("\(allocated[0].fileID)".hasSuffix("ObserverTests.swift"))
            #expect(allocated[1].resource == ResourceCreation(Self.bufferInfo()))
            if case .image(let fields)? = allocated[2].resource { #expect(fields.fields[3] == 16) } else {
                Issue.record("createImage reported no image")
            }
            #expect(allocated[3].pool == "pool" && allocated[3].request == nil)
            #expect(allocated[4].requirements.size >= 4096)
            _ = try allocator.map(raw)
            #expect(log.all.contains { if case .mapped(let mapped) = $0 { mapped == raw } else { false } })

            try allocator.free(raw)
            try allocator.destroyBuffer(buffer)
            try allocator.destroyImage(image)
            try allocator.free(pooled)
            try allocator.destroy(many: batch)
            #expect(log.freed.map(\.cause) == [.free, .destroyBuffer, .destroyImage, .free, .destroyBuffer, .destroyBuffer])
            try allocator.destroyPool(pool)
            allocator.freeUnusedPages()
            // Every VkDeviceMemory made was freed, and reported so.
            #expect(Set(log.memoryAllocated) == Set(log.memoryFreed))
            #expect(log.memoryAllocated.count == log.memoryFreed.count)
        }
    }

    @Test func aFailedCallReportsNoAllocationAndItsRefusal() throws {
        try withTestDevice { context in
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            let heaps = MemoryProperties(device: context.device).heaps.indices
            for heap in heaps { options.heapSizeLimits[heap] = 4 << 20 }
            let allocator = Allocator(device: context.device, options: options)
            log.clear()
            // One 3 MiB buffer fits a capped heap: one more than every heap can take.
            var batch = ResourceBatch()
            for _ in 0...heaps.count { batch = batch.nextBuffer(size: 3 << 20, usage: .storageBuffer) }
            #expect(throws: AllocationError.self) { _ = try batch.bind(allocator, strategy: .dedicated) }
            #expect(log.allocated.isEmpty && log.freed.isEmpty)
            #expect(!log.refusals.isEmpty)
            #expect(log.refusals.allSatisfy { $0.reason.contains("capped") })
            #expect(Set(log.memoryAllocated) == Set(log.memoryFreed))
        }
    }

    @Test func aCommittedPassReportsItsMovesAndFreedSources() throws {
        try withTestDevice { context in
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            options.setPageSize(1 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            options.emptyPages = .keep(0)
            let allocator = Allocator(device: context.device, options: options)
            var held: [Allocation] = []
            for _ in 0..<32 {
                held.append(try allocator.allocate(MemoryRequirements(size: 64 << 10, kind: .linear), usage: .gpuOnly))
            }
            for index in stride(from: held.count - 1, through: 0, by: -1) where index % 4 != 0 {
                try allocator.free(held.remove(at: index))
            }
            log.clear()
            let pass = try allocator.beginDefragmentation()
            let moves = pass.moves
            #expect(!moves.isEmpty)
            pass.commit()
            let moved = log.all.compactMap { if case .moved(let move) = $0 { move } else { nil } }
            #expect(moved == moves)
            #expect(log.freed.filter { $0.cause == .defragmentation }.map(\.allocation) == moves.map(\.source))
            for allocation in held where !moves.contains(where: { $0.source == allocation }) { try allocator.free(allocation) }
            for move in moves { try allocator.free(move.destination) }
        }
    }
}
