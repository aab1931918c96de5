import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// Regressions of the second bad-input audit (2026-12-06): values a user passes through the
/// public API that used to end the process (a division by zero, a `Double` too large for
/// `Int`, an array of a count no host can hold) and now get a typed error, or are drawn
/// clamped where the call cannot throw.
@Suite("Public input that used to trap")
struct PublicInputTrapTests {
    /// Page sizes of 0 are taken as the least page: a custom pool's page count divided by
    /// the computed page size.
    @Test func zeroDefaultPageSizesMakeUsablePools() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.deviceLocalPageSize = 0
            options.hostPageSize = 0
            let allocator = Allocator(device: context.device, options: options)
            let pool = try allocator.makePool(PoolOptions(name: "zero pages", usage: .gpuOnly))
            // Pages of the least size the granularity allows, too small for the worst-case
            // alignment of a range: a request is refused by name, not a trap.
            #expect {
                _ = try allocator.allocate(MemoryRequirements(size: 16), in: pool)
            } throws: { error in
                guard case .outOfMemory(_, _, _, _, let reason) = error as? AllocationError else { return false }
                return reason.contains("pool 'zero pages' has pages of")
            }
            try allocator.destroyPool(pool)
            // The allocator's own pages take the same sizes: one allocation still lands.
            let own = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            try allocator.free(own)
        }
    }

    /// A manual time too large for `Int` (or not a number) draws at the chart's edge.
    @Test func timelinesWithExtremeTimesDraw() {
        let recorder = TimelineRecorder(timeSource: .manual)
        recorder.setTime(seconds: 1e15)
        recorder.setTime(seconds: .infinity)
        recorder.setTime(seconds: .nan)
        recorder.markEnd()
        let svg = recorder.timeline().svg()
        #expect(svg.hasPrefix("<svg") && svg.contains("</svg>"))
        #expect(!svg.contains("inf") && !svg.contains("nan"))
    }

    /// A recording's time must be a finite number of seconds at or after 0.
    @Test(arguments: ["inf", "nan", "-1", "1e400"])
    func recordingsWithUnusableTimesAreRefused(time: String) {
        let text = ["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin", "Config,End",
                    "1,0.000,0,vmaCreateAllocator", "1,\(time),0,vmaSetCurrentFrameIndex,1",
                    "1,9.000,0,vmaDestroyAllocator"].joined(separator: "\n")
        #expect {
            _ = try VMARecording(parsing: text)
        } throws: { error in
            guard case .malformedLine(line: 6, let reason) = error as? VMARecordingError else { return false }
            return reason.contains("not a finite number")
        }
    }

    /// Values read from an allocation: the count is checked against the allocation before
    /// any array is made.
    @Test func valueCopiesPastTheAllocationAreRefusedFirst() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging)
            defer { try? allocator.free(allocation) }
            for count in [1 << 48, Int.max / 8, 65] {
                #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: 0, size: UInt64(count) * 4,
                                                                         limit: allocation.size))) {
                    _ = try allocator.copyMemory(from: allocation, as: UInt32.self, count: count)
                }
            }
            #expect(throws: AllocationError.memory(.rangeOutOfBounds(offset: allocation.size + 1, size: 4,
                                                                     limit: allocation.size))) {
                _ = try allocator.copyMemory(from: allocation, at: allocation.size + 1, as: UInt32.self, count: 1)
            }
            #expect(try allocator.copyMemory(from: allocation, as: UInt32.self, count: 64).count == 64)
        }
    }

    /// An image described far larger than the real one: the region's bytes overflow, or
    /// the staging buffer cannot get them; either way a typed error and nothing left alive.
    @Test func imageDownloadsOfAbsurdRegionsAreTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let transfer = try TransferQueue(context: context, allocator: allocator)
            let description = TransferTests.imageDescription(width: 4, height: 4)
            let bound = try allocator.createImage(description.exclusiveCreateInfo, description.memory)
            defer { try? allocator.destroyImage(bound) }
            var huge = description.exclusiveCreateInfo
            huge.extent = VkExtent3D(width: .max, height: .max, depth: 1)
            #expect {
                _ = try transfer.download(UInt8.self, from: TransferImage(image: bound.image, createInfo: huge),
                                          in: VK_IMAGE_LAYOUT_UNDEFINED, leaving: VK_IMAGE_LAYOUT_GENERAL)
            } throws: { error in
                guard case .sizeMismatch(operation: "download from image", _, _) = error as? TransferError else { return false }
                return true
            }
            // 4 TiB: no heap of lavapipe holds a staging buffer of it.
            huge.extent = VkExtent3D(width: 1 << 20, height: 1 << 20, depth: 1)
            #expect {
                _ = try transfer.download(UInt32.self, from: TransferImage(image: bound.image, createInfo: huge),
                                          in: VK_IMAGE_LAYOUT_UNDEFINED, leaving: VK_IMAGE_LAYOUT_GENERAL)
            } throws: { error in
                guard case .allocation(operation: "download from image", _) = error as? TransferError else { return false }
                return true
            }
            TransferTests.expectNoStaging(allocator)
        }
    }

    /// Heaps and types that no device reports are refused by name.
    @Test func memoryPropertiesNoDeviceHasAreRefused() {
        let limits = MemoryLimits(bufferImageGranularity: 1, nonCoherentAtomSize: 1, maxMemoryAllocationCount: 4096,
                                  minMemoryMapAlignment: 64)
        let heap = MemoryHeap(index: 0, size: 1 << 30, flags: .deviceLocal)
        let type = MemoryType(index: 0, heapIndex: 0, flags: .deviceLocal)
        #expect(throws: MemoryPropertiesError.heapCount(0)) {
            _ = try MemoryProperties(heaps: [], types: [type], limits: limits)
        }
        #expect(throws: MemoryPropertiesError.typeCount(33)) {
            _ = try MemoryProperties(heaps: [heap], types: (0..<33).map { MemoryType(index: $0, heapIndex: 0, flags: []) },
                                     limits: limits)
        }
        #expect(throws: MemoryPropertiesError.heapOutOfOrder(position: 0, index: 3)) {
            _ = try MemoryProperties(heaps: [MemoryHeap(index: 3, size: 1, flags: [])], types: [type], limits: limits)
        }
        #expect(throws: MemoryPropertiesError.typeOutOfOrder(position: 0, index: -1)) {
            _ = try MemoryProperties(heaps: [heap], types: [MemoryType(index: -1, heapIndex: 0, flags: [])], limits: limits)
        }
        #expect(throws: MemoryPropertiesError.missingHeap(typeIndex: 0, heapIndex: 99, heapCount: 1)) {
            _ = try MemoryProperties(heaps: [heap], types: [MemoryType(index: 0, heapIndex: 99, flags: [])], limits: limits)
        }
        #expect(MemoryPropertiesError.missingHeap(typeIndex: 0, heapIndex: 99, heapCount: 1).description
            == "memory type 0 draws from heap 99, but there are only 1 heap(s)")
    }

    /// A `MemoryType` made by hand is no candidate of a real device's selection, and has no heap.
    @Test func handMadeTypesAreNoCandidates() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let properties = allocator.properties
            for type in [MemoryType(index: -1, heapIndex: 0, flags: .deviceLocal),
                         MemoryType(index: 0, heapIndex: 99, flags: .deviceLocal),
                         MemoryType(index: 40, heapIndex: 0, flags: .deviceLocal)] {
                #expect(allocator.selection.cost(of: type, for: .usage(.gpuOnly)) == nil)
            }
            #expect(properties.heap(of: MemoryType(index: 0, heapIndex: 99, flags: [])) == nil)
            #expect(properties.heap(of: properties.types[0]) == properties.heaps[properties.types[0].heapIndex])
        }
    }

    /// Statistics decoded from a file may place a range anywhere: the map draws it clamped.
    @Test func decodedStatisticsWithFarRangesDraw() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            defer { try? allocator.free(allocation) }
            var json = try #require(JSONSerialization.jsonObject(with: Data(allocator.statistics().json().utf8))
                as? [String: Any])
            var pages = try #require(json["pages"] as? [[String: Any]])
            var ranges = try #require(pages[0]["ranges"] as? [[String: Any]])
            ranges[0]["offset"] = UInt64.max
            ranges[0]["size"] = UInt64.max
            pages[0]["ranges"] = ranges
            pages[0]["size"] = 1
            json["pages"] = pages
            let statistics = try JSONDecoder().decode(Statistics.self, from: JSONSerialization.data(withJSONObject: json))
            #expect(statistics.pages[0].ranges[0].offset == .max)
            let svg = statistics.svg()
            #expect(svg.contains("<svg") && svg.contains("</svg>") && svg.contains("1000000000"))
            #expect(statistics.html().contains("</html>"))
        }
    }

    /// More allocations than the device's heaps could hold at their size are refused
    /// before any is made.
    @Test func countsNoHeapCouldHoldAreRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            for count in [Int.max, 1 << 50] {
                #expect(throws: AllocationError.invalidCount(count)) {
                    _ = try allocator.allocate(MemoryRequirements(size: 1 << 20), count: count, .usage(.gpuOnly))
                }
            }
            #expect(AllocationError.invalidCount(5).description.contains("more than all the device's heaps"))
            #expect(allocator.usage.liveBytes == 0)
            let three = try allocator.allocate(MemoryRequirements(size: 256), count: 3, .usage(.gpuOnly))
            #expect(three.count == 3)
            for allocation in three { try allocator.free(allocation) }
        }
    }
}
