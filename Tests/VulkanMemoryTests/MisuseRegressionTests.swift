import CVulkan
import Foundation
import Testing
import Yams
@testable import VulkanMemory

/// Regressions of a bad-input run: hostile names, foreign and freed handles, limits that
/// were reported as something else, profiles past Vulkan's array sizes.
@Suite("Misuse and hostile names")
struct MisuseRegressionTests {
    static let hostileNames = [
        "nul\u{0}inside", "line\nbreak", "carriage\rreturn", "tab\there", "bom\u{FEFF}inside",
        "separator\u{2028}here", "override\u{202E}txt.exe", "del\u{7F}", "c1\u{85}next", "plain, with commas",
    ]

    @Test func escapingKeepsEveryNameOnOneLineAndLeavesPlainNamesAlone() {
        for name in Self.hostileNames {
            let escaped = name.escapingControlCharacters
            #expect(!escaped.unicodeScalars.contains { $0.properties.generalCategory == .control })
            #expect(!escaped.contains("\n") && !escaped.contains("\u{0}") && !escaped.contains("\u{2028}"))
        }
        #expect("line\nbreak".escapingControlCharacters == "line\\u{A}break")
        #expect("nul\u{0}".escapingControlCharacters == "nul\\u{0}")
        let plain = "ünïcødé ✓ and a, comma"
        #expect(plain.escapingControlCharacters == plain)
    }

    /// A NUL or a line break in a name can neither end a recorded line early nor glue
    /// the next call onto it: every call is one line, and the recording replays.
    @Test func hostileNamesKeepTheRecordingOneCallALine() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            var options = AllocatorOptions()
            options.recorder = recorder
            options.reportLeaksAtTeardown = false
            let allocator = Allocator(device: context.device, options: options)
            var allocations: [Allocation] = []
            for name in Self.hostileNames {
                allocations.append(try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                                          options: AllocationOptions(name: name)))
            }
            for allocation in allocations { try allocator.free(allocation) }
            let text = recorder.text
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            let calls = lines.filter { $0.contains(",vmaAllocateMemory,") || $0.contains(",vmaFreeMemory,") }
            #expect(calls.count == 2 * Self.hostileNames.count, "\(lines)")
            #expect(!text.contains("\u{0}"))
            let parsed = try VMARecording(parsing: text)
            #expect(parsed.calls.filter { $0.function.name == "vmaAllocateMemory" }.count == Self.hostileNames.count)
            let report = Allocator(device: context.device).replay(parsed)
            #expect(report.failures.isEmpty, "\(report.failures)")
        }
    }

    /// A leak report and a pool's error are one line whatever the name holds.
    @Test func reportsAndErrorsNeverCarryARawLineBreak() throws {
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.reportLeaksAtTeardown = false
            let allocator = Allocator(device: context.device, options: options)
            let forged = "x\nleak: 'forged' 1 bytes in memory type 0"
            let allocation = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                                    options: AllocationOptions(name: forged))
            let reports = allocator.liveAllocations()
            #expect(reports.count == 1)
            // The API value keeps the name as given; its text form escapes it.
            #expect(reports[0].name == forged)
            #expect(!reports[0].description.contains("\n"))
            #expect(reports[0].description.contains("\\u{A}leak"))
            let pool = try allocator.makePool(PoolOptions(name: "pool\r\nforged", memoryTypeIndex: allocation.memoryTypeIndex,
                                                          pageSize: 1 << 16))
            let inPool = try allocator.allocate(MemoryRequirements(size: 64), in: pool)
            do throws(AllocationError) {
                try allocator.destroyPool(pool)
                Issue.record("a pool holding an allocation was destroyed")
            } catch {
                #expect(!error.description.contains("\n") && !error.description.contains("\r"))
                #expect(error.description.contains("pool\\u{D}\\u{A}forged"))
            }
            try allocator.free(inPool)
            try allocator.destroyPool(pool)
            try allocator.free(allocation)
        }
    }

    /// Errors and descriptions name an allocation by the allocator's numbers, never by the
    /// `VkDeviceMemory` handle (a heap address on some drivers).
    @Test func errorsNameAllocationsWithoutRawHandles() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let small = try allocator.allocate(MemoryRequirements(size: 64), usage: .staging)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging,
                                                   options: AllocationOptions(dedicated: .always))
            for allocation in [small, dedicated] {
                let handle = String(describing: allocation.memory)
                #expect(!allocation.description.contains(handle), "\(allocation.description)")
                #expect(!allocation.description.contains("0x"))
            }
            #expect(small.description.contains("page 0"))
            #expect(dedicated.description.contains("dedicated memory 0"))
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = 1 << 20
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            do throws(AllocationError) {
                _ = try allocator.createBuffer(info, boundTo: small)
                Issue.record("a 1 MiB buffer was bound to 64 bytes")
            } catch {
                guard case .requirementsNotMet = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(!error.description.contains(String(describing: small.memory)), "\(error.description)")
            }
            try allocator.free(small)
            try allocator.free(dedicated)
        }
    }

    /// Another allocator's dedicated allocation is unknown here, even when this allocator
    /// freed one in the same slot before (its generation was then "older").
    @Test func aForeignDedicatedAllocationIsUnknownNotFreed() throws {
        try withTestDevice { context in
            let a = Allocator(device: context.device)
            let b = Allocator(device: context.device)
            let options = AllocationOptions(dedicated: .always)
            for _ in 0..<3 { try a.free(try a.allocate(MemoryRequirements(size: 4096), usage: .staging, options: options)) }
            let foreign = try b.allocate(MemoryRequirements(size: 4096), usage: .staging, options: options)
            let ours = try a.allocate(MemoryRequirements(size: 4096), usage: .staging, options: options)
            #expect(throws: AllocationError.unknownAllocation) { try a.free(foreign) }
            #expect(throws: AllocationError.unknownAllocation) { _ = try a.map(foreign) }
            #expect(!a.isLive(foreign))
            try a.free(ours)
            #expect(throws: AllocationError.alreadyFreed) { try a.free(ours) }
            try b.free(foreign)
            #expect(throws: AllocationError.alreadyFreed) { try b.free(foreign) }
        }
    }

    @Test func exportingFreedMemorySaysFreed() throws {
        try withTestDevice { context in
            let type = try DeviceMemoryTests.mappableType(context.device)
            for exportable in [ExternalMemoryHandleTypes.opaqueFd, []] {
                let memory = try DeviceMemory.allocate(on: context.device, size: 65536, memoryTypeIndex: type.index,
                                                       options: DeviceMemory.Options(exportHandleTypes: exportable))
                try memory.free()
                #expect(throws: MemoryError.alreadyFreed) { _ = try memory.exportFileDescriptor() }
            }
        }
    }

    @Test func profilesPastVulkansArraySizesAreRefused() throws {
        func profile(heaps: Int, types: Int) -> String {
            let heapList = (0..<heaps).map { _ in #"{"size": 268435456, "flags": ["DEVICE_LOCAL"]}"# }
            let typeList = (0..<types).map { _ in #"{"heapIndex": 0, "propertyFlags": ["DEVICE_LOCAL"]}"# }
            return #"[{"name": "made up", "vendorID": 1, "deviceType": "DISCRETE_GPU", "memoryBudgetExtension": true, "#
                + #""memoryHeaps": [\#(heapList.joined(separator: ","))], "memoryTypes": [\#(typeList.joined(separator: ","))], "#
                + #""bufferImageGranularity": 1024, "nonCoherentAtomSize": 64, "maxMemoryAllocationCount": 4096}]"#
        }
        func load(_ text: String) throws -> DeviceProfile {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("vkmem-profile-\(UUID()).json")
            try Data(text.utf8).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            return try #require(try DeviceProfile.load(path: url.path).first)
        }
        #expect(try load(profile(heaps: 16, types: 32)).memoryProperties().types.count == 32)
        #expect(throws: DeviceProfile.LoadError.memoryTypeCount(device: "made up", count: 33)) {
            _ = try load(profile(heaps: 1, types: 33)).memoryProperties()
        }
        #expect(throws: DeviceProfile.LoadError.memoryHeapCount(device: "made up", count: 17)) {
            _ = try load(profile(heaps: 17, types: 1)).memoryProperties()
        }
        #expect(throws: DeviceProfile.LoadError.memoryTypeCount(device: "made up", count: 0)) {
            _ = try load(profile(heaps: 1, types: 0)).memoryProperties()
        }
        #expect(throws: DeviceProfile.LoadError.memoryHeapCount(device: "made up", count: 0)) {
            _ = try load(profile(heaps: 0, types: 0)).memoryProperties()
        }
    }

    /// YAML statistics read back equal for names holding characters YAML treats
    /// specially; a name that begins with a byte-order mark, which YAML readers drop, is
    /// refused up front (for allocations and pools alike) rather than lost on the way back.
    @Test func yamlRoundTripsNamesYAMLTreatsSpecially() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            #expect(throws: AllocationError.self) {
                _ = try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                           options: AllocationOptions(name: "\u{FEFF}bom first"))
            }
            #expect(throws: AllocationError.self) {
                _ = try allocator.makePool(PoolOptions(name: "\u{FEFF}pool", memoryTypeIndex: 0, pageSize: 1 << 16))
            }
            #expect(allocator.statistics().totals.deviceMemoryCount == 0)
            let names = ["bom\u{FEFF}inside", "line\nbreak", "nul\u{0}x", " leading space",
                         "trailing ", "- dash", "null", "~", "a: b", "# c", "'quoted'", "\"double\"", "\u{85}c1"]
            var allocations: [Allocation] = []
            for name in names {
                allocations.append(try allocator.allocate(MemoryRequirements(size: 256), usage: .staging,
                                                          options: AllocationOptions(name: name)))
            }
            let statistics = allocator.statistics()
            let yaml = try statistics.yaml()
            let decoded = try YAMLDecoder().decode(Statistics.self, from: yaml)
            let read = Set(decoded.pages.flatMap(\.ranges).compactMap(\.name))
            for name in names { #expect(read.contains(name), "\(name.debugDescription) did not survive YAML") }
            #expect(decoded == statistics)
            for allocation in allocations { try allocator.free(allocation) }
        }
    }
}

/// Apart from the misuse suite so the sanitizer runs, which it would slow by minutes
/// (4,087 pools, each with its arena), leave it out.
@Suite("Pool capacity")
struct PoolCapacityTests {
    /// The pool past the registry's capacity is refused as too many pools, not as the
    /// device's memory-object limit, and destroying one makes room again.
    @Test func thePoolPastTheCapacityIsTooManyPools() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let options = PoolOptions(name: "many", memoryTypeIndex: 0, pageSize: 1 << 16)
            var pools: [MemoryPool] = []
            for _ in 0..<PoolRegistry.capacity { pools.append(try allocator.makePool(options)) }
            #expect(throws: AllocationError.tooManyPools(limit: PoolRegistry.capacity)) {
                _ = try allocator.makePool(options)
            }
            try allocator.destroyPool(pools.removeLast())
            pools.append(try allocator.makePool(options))
            for pool in pools { try allocator.destroyPool(pool) }
        }
    }
}
