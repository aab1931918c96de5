import CVulkan
import Testing
@testable import VulkanMemory

/// A transfer whose command path fails (`vkAllocateCommandBuffers`, `vkCreateFence` or
/// `vkQueueSubmit` refused by the profiled device) after its staging buffer was made:
/// the error names the call, and the allocator is as it was before the call, the page
/// the staging buffer made included (the empty-page policy would keep it after a transfer
/// that worked). The queue still works afterwards.
@Suite("Transfer rollback", needsLavapipe)
struct TransferRollbackTests {
    /// What a failed call must leave as it found: the allocator's totals less its call
    /// count, the live objects behind the profiled device, and the live allocations.
    struct Snapshot: Equatable {
        var usage: AllocatorUsage
        var memories: Int
        var buffers: Int
        var allocations: Int

        init(_ allocator: Allocator, _ profiled: ProfiledDevice) {
            usage = allocator.usage
            // History, not state: a failed call may have made and given back memory.
            usage.deviceMemoryAllocations = 0
            let live = profiled.liveObjects
            memories = live.memories
            buffers = live.buffers
            allocations = allocator.liveAllocations().count
        }
    }

    /// The transfers through staging, each with its operation's name.
    enum Direction: String, CaseIterable, CustomStringConvertible {
        case upload = "upload to buffer"
        case download = "download from buffer"
        case imageUpload = "upload to image"
        case imageDownload = "download from image"
        var description: String { rawValue }
    }

    static let words = 4096
    /// A 64 × 64 RGBA8 image: as many bytes as the buffer.
    static let side: UInt32 = 64

    @Test(arguments: ProfiledDevice.CommandFault.allCases, Direction.allCases)
    func aFailedCommandLeavesTheAllocatorAsItWas(fault: ProfiledDevice.CommandFault, direction: Direction) throws {
        // The RTX 4070's device-local type is not host-visible: every transfer stages.
        try withProfiledDevice(try realProfile("NVIDIA GeForce RTX 4070")) { device in
            let profiled = try #require(ProfiledDevice.of(device))
            let log = EventLog()
            var options = AllocatorOptions()
            options.observers = [log]
            let allocator = Allocator(device: device, options: options)
            let transfer = try TransferQueue(allocator: allocator, queue: TransferTests.lavapipeQueue(device),
                                             queueFamilyIndex: 0)
            let buffer = try allocator.createBuffer(TransferTests.bufferInfo(size: UInt64(Self.words * 4)),
                                                    .usage(.gpuOnly))
            let description = TransferTests.imageDescription(width: Self.side, height: Self.side)
            let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
            let image = TransferImage(bound, description)
            let layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
            let values = (0..<Self.words).map { UInt32($0) &* 2_654_435_761 }
            let before = Snapshot(allocator, profiled)
            let eventsBefore = log.all.count

            profiled.failCommands([fault])
            do throws(TransferError) {
                switch direction {
                case .upload: try transfer.upload(values, to: buffer)
                case .download: _ = try transfer.download(UInt32.self, count: Self.words, from: buffer)
                case .imageUpload: try transfer.upload(values, to: image, leaving: layout)
                case .imageDownload: _ = try transfer.download(UInt32.self, from: image, in: layout)
                }
                Issue.record("the \(direction) succeeded although \(fault.rawValue) failed")
            } catch {
                guard case .vulkan(let operation, .callFailed(let function, let result)) = error else {
                    Issue.record("expected .vulkan naming \(fault.rawValue), got \(error)")
                    return
                }
                #expect(operation == direction.rawValue)
                #expect(function == fault.rawValue)
                #expect(result == VulkanResult(VK_ERROR_OUT_OF_DEVICE_MEMORY))
            }
            profiled.failCommands([])
            #expect(profiled.injectedCommandFailures == 1)

            let after = Snapshot(allocator, profiled)
            #expect(after == before, "the failed \(direction) changed the allocator: \(before) → \(after)")
            TransferTests.expectNoStaging(allocator)
            // Observers saw the staging buffer come and go with the page it made (no page
            // of the staging type existed before): every allocation they were told of
            // was freed, every page made was released.
            let events = log.all.dropFirst(eventsBefore)
            let allocated = events.filter { if case .allocated = $0 { true } else { false } }.count
            let freed = events.filter { if case .freed = $0 { true } else { false } }.count
            let madeMemory = events.filter { if case .deviceMemoryAllocated = $0 { true } else { false } }.count
            let releasedMemory = events.filter { if case .deviceMemoryFreed = $0 { true } else { false } }.count
            #expect(allocated == 1 && freed == 1, "\(allocated) allocated, \(freed) freed")
            #expect(madeMemory == 1 && releasedMemory == 1, "\(madeMemory) pages made, \(releasedMemory) released")
            allocator._checkInvariants()

            // The queue and the allocator work on: the same transfer now goes through.
            try transfer.upload(values, to: buffer)
            #expect(try transfer.download(UInt32.self, count: Self.words, from: buffer) == values)
            try transfer.upload(values, to: image, leaving: layout)
            #expect(try transfer.download(UInt32.self, from: image, in: layout) == values)
            TransferTests.expectNoStaging(allocator)
            try allocator.destroyImage(bound)
            try allocator.destroyBuffer(buffer)
            allocator.freeUnusedPages()
        }
    }
}
