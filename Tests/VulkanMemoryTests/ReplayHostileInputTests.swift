import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// A recording with `config` lines and `calls` after a minimal header.
private func recording(_ config: [String], _ calls: [String], separator: String = "\n") -> String {
    (["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin"] + config
        + ["Config,End", "1,0.000,0,vmaCreateAllocator"] + calls + ["1,9.000,0,vmaDestroyAllocator"])
        .joined(separator: separator)
}

private let oneHeapOneType = ["PhysicalDeviceMemory,HeapCount,1", "PhysicalDeviceMemory,Heap,0,size,1073741824",
                              "PhysicalDeviceMemory,Heap,0,flags,1", "PhysicalDeviceMemory,TypeCount,1",
                              "PhysicalDeviceMemory,Type,0,propertyFlags,1"]

/// Recordings from other platforms, broken files and creates no device accepts: typed
/// errors or skipped calls, never a trap, a validation message or a leak.
@Suite("VMA recordings: hostile and foreign input")
struct ReplayHostileInputTests {
    @Test func windowsLineEndsRead() throws {
        let parsed = try VMARecording(parsing: recording(["PhysicalDevice,deviceName,X"], ["1,0.1,0,vmaDestroyBuffer,00A0"],
                                                         separator: "\r\n"))
        #expect(parsed.calls.count == 3)
        #expect(parsed.device.name == "X")
    }

    /// glibc's `%p` prints a null pointer as `(nil)` and others with `0x`.
    @Test func linuxPointersRead() throws {
        let parsed = try VMARecording(parsing: recording([], [
            "1,0.1,0,vmaCreateBuffer,0,4096,128,0,0,1,0,0,0,(nil),0x55d0c0a0,0x1234",
        ]))
        guard case let .createBuffer(_, create, handle, userData) = parsed.calls[1].function else {
            Issue.record("not a buffer: \(parsed.calls[1].function)")
            return
        }
        #expect(!create.usesPool)
        #expect(VMARecording.pointerValue(handle) == 0x55d0_c0a0 && !VMARecording.isNull(handle))
        #expect(VMARecording.pointerValue(userData) == 0x1234)
        #expect(VMARecording.isNull("(nil)") && VMARecording.isNull("0000000000000000") && VMARecording.isNull("0x0"))
    }

    @Test func impossibleMemoryLayoutsAreTypedErrors() {
        // A negative heap index once reached MemoryProperties' precondition.
        #expect(throws: VMARecordingError.self) {
            try VMARecording(parsing: recording(oneHeapOneType + ["PhysicalDeviceMemory,Type,0,heapIndex,-1"], []))
        }
        #expect(throws: VMARecordingError.self) {
            try VMARecording(parsing: recording(["PhysicalDeviceMemory,TypeCount,40"], []))
        }
        #expect(throws: VMARecordingError.self) {
            try VMARecording(parsing: recording(["PhysicalDeviceMemory,HeapCount,1000000000"], []))
        }
        #expect(throws: VMARecordingError.self) { try VMARecording(parsing: "Vulkan Memory Allocator,Calls recording\n1,x,8") }
    }

    /// 3,000 seeded mutations of both shared recordings (fields replaced with junk, lines
    /// cut or dropped): each reads or throws a `VMARecordingError`, and a device read
    /// from one ranks its types without trapping.
    @Test(needsTraces) func mutatedRecordingsNeverTrap() throws {
        let text = try String(contentsOfFile: tracePath(inexorTrace), encoding: .utf8) + "\n"
            + (try String(contentsOfFile: tracePath(vegaTrace), encoding: .utf8))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let junk = ["", "-1", "-9223372036854775808", "99999999999999999999999", "18446744073709551615", "4294967296",
                    "nan", "inf", "1e308", "0x10", ",", "\u{0}", "é", "\r", "Config,End", "Config,Begin", " 1", "(nil)"]
        var generator = SplitMix(seed: 17)
        var read = 0
        for _ in 0..<3_000 {
            var copy = Array(lines.prefix(2)) + lines.dropFirst(2).shuffled(using: &generator).prefix(40)
            if Bool.random(using: &generator) { copy = Array(lines.prefix(60)) }
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 2..<copy.count, using: &generator)
                var fields = copy[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: fields[Int.random(in: 0..<fields.count, using: &generator)] = junk.randomElement(using: &generator)!
                case 1: fields = Array(fields.prefix(Int.random(in: 0...fields.count, using: &generator)))
                case 2: fields.append(junk.randomElement(using: &generator)!)
                default: copy.remove(at: index); continue
                }
                copy[index] = fields.joined(separator: ",")
            }
            do throws(VMARecordingError) {
                let parsed = try VMARecording(parsing: copy.joined(separator: "\n"))
                read += 1
                if let memory = parsed.device.memory {
                    _ = MemoryTypeSelection(properties: memory, isDiscrete: parsed.device.isDiscrete)
                        .rankedTypes(for: .usage(.staging))
                }
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        // Some mutations leave a readable file: the reader is not simply refusing everything.
        #expect(read > 100)
    }

    /// Creates no device accepts are skipped (reported) before Vulkan sees them; creates
    /// the recording's own VMA failed (null handle) are not made. `withTestDevice` fails
    /// on any validation message.
    @Test func invalidCreatesAreSkippedBeforeVulkanSeesThem() throws {
        try withTestDevice { context in
            // image: flags,type,format,w,h,d,mips,layers,samples,tiling,usage,sharing,layout, then 6 allocation fields
            let images = [
                "0,1,37,0,64,1,1,1,1,0,4,0,0",            // zero width
                "0,1,37,64,64,1,0,1,1,0,4,0,0",           // no levels
                "0,1,37,64,64,1,1,0,1,0,4,0,0",           // no layers
                "0,1,37,64,64,1,1,1,5,0,16,0,0",          // samples not one bit
                "0,1,37,4,4,1,10,1,1,0,4,0,0",            // more levels than 4×4 has
                "0,9,37,4,4,1,1,1,1,0,4,0,0",             // no such image type
                "0,1,37,64,64,1,1,1,1,0,0,0,0",           // no usage
                "0,1,126,800,600,1,1,1,1,1000158000,32,0,0", // DRM modifier tiling (needs a pNext chain)
                "0,1,37,64,64,4,1,1,1,0,4,0,0",           // a 2D image with depth 4
            ]
            var calls = images.enumerated().map { index, image in
                "1,0.1,0,vmaCreateImage,\(image),0,1,0,0,0,0000000000000000,00000000000001\(index)0,"
            }
            // buffer: flags,size,usage,sharing
            calls += [
                "1,0.2,0,vmaCreateBuffer,0,4096,0,0,0,1,0,0,0,0000000000000000,0000000000000200,",            // no usage
                "1,0.2,0,vmaCreateBuffer,1,4096,128,0,0,1,0,0,0,0000000000000000,0000000000000210,",          // sparse flag
                "1,0.2,0,vmaCreateBuffer,0,4096,2147483776,0,0,1,0,0,0,0000000000000000,0000000000000220,",   // unknown usage bit
                "1,0.2,0,vmaCreateBuffer,0,18446744073709551615,128,0,0,1,0,0,0,0000000000000000,0000000000000230,",
                "1,0.3,0,vmaAllocateMemory,4096,9223372036854775808,0,0,1,0,0,0,0000000000000000,0000000000000300,",
                "1,0.3,0,vmaAllocateMemory,18446744073709551615,1,0,0,1,0,0,0,0000000000000000,0000000000000310,",
                // Two creates VMA itself failed: recorded with a null allocation.
                "1,0.4,0,vmaCreateBuffer,0,4096,128,0,0,1,0,0,0,0000000000000000,0000000000000000,",
                "1,0.4,0,vmaCreateBuffer,0,4096,128,0,0,1,0,0,0,0000000000000000,(nil),",
                "1,0.5,0,vmaDestroyBuffer,0000000000000000",
                "1,0.6,0,vmaDestroyBuffer,0000000000000210",
                "1,0.6,0,vmaDestroyBuffer,0000000000000220",
            ]
            let allocator = Allocator(device: context.device)
            let report = allocator.replay(try VMARecording(parsing: recording([], calls)))
            let skipped = report.adjustments.filter { $0.reason.hasPrefix("skipped") }.map(\.line)
            // Lines 6-14: the images; 15: the buffer with no usage; 18: the buffer beyond
            // maxBufferSize (lavapipe is 1.3 and reports one); 21-22: the null creates.
            #expect(skipped == Array(6...15) + [18, 21, 22], "\(report.adjustments)")
            #expect(report.adjustments.contains { $0.line == 18 && $0.reason.contains("maxBufferSize") })
            #expect(report.adjustments.contains { $0.line == 10 && $0.reason.contains("mipLevels 10 exceeds 3") })
            #expect(report.adjustments.contains { $0.line == 16 && $0.reason.contains("flags 0x1 dropped") })
            #expect(report.adjustments.contains { $0.line == 17 && $0.reason.contains("0x80000000 dropped") })
            // The two impossible raw allocations fail with the allocator's error.
            #expect(report.failures.map(\.line) == [19, 20], "\(report.failures)")
            #expect(report.replayed["vmaDestroyBuffer"] == 3)
            #expect(report.leftAlive.isEmpty)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// 60 seeded mutations of the Inexor recording's numeric fields, replayed under the
    /// validation layer: whatever the fields say, nothing reaches Vulkan that it refuses,
    /// and nothing stays allocated.
    @Test(needsTraces) func mutatedRecordingsReplayWithoutValidationMessages() throws {
        try withTestDevice { context in
            let lines = try String(contentsOfFile: tracePath(inexorTrace), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let junk = ["0", "1", "2", "3", "6", "7", "16", "64", "4294967295", "18446744073709551615", "1000001000",
                        "1000158000"]
            let firstCall = lines.firstIndex { $0.hasSuffix("vmaCreateAllocator") }! + 1
            var generator = SplitMix(seed: UInt64(ProcessInfo.processInfo.environment["REPLAY_FUZZ_SEED"] ?? "") ?? 23)
            let allocator = Allocator(device: context.device)
            for _ in 0..<(Int(ProcessInfo.processInfo.environment["REPLAY_FUZZ"] ?? "") ?? 60) {
                var copy = lines
                for _ in 0..<3 {
                    let index = Int.random(in: firstCall..<copy.count - 1, using: &generator)
                    var fields = copy[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    guard fields.count > 6 else { continue }
                    fields[Int.random(in: 4..<min(fields.count, 23), using: &generator)] = junk.randomElement(using: &generator)!
                    copy[index] = fields.joined(separator: ",")
                }
                guard let parsed = try? VMARecording(parsing: copy.joined(separator: "\n")) else { continue }
                _ = allocator.replay(parsed)
                #expect(allocator.usage.allocationCount == 0)
            }
        }
    }

    /// A bulk bind is recorded as one create a resource, so mapping and destroying its
    /// resources later names handles the recording knows, and it replays without a failure.
    @Test func bulkBindsAreRecordedAsOneCreateAResource() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            var options = AllocatorOptions()
            options.recorder = recorder
            let allocator = Allocator(device: context.device, options: options)
            let group = try ResourceBatch.buffer(size: 4096, usage: .transferSource, memory: .usage(.staging), name: "a")
                .nextBuffer(size: 4096, usage: .transferSource, memory: .usage(.staging), name: "b")
                .bind(allocator, strategy: .contiguous)
            _ = try allocator.map(group.resources[1])
            let scattered = try ResourceBatch.buffer(size: 65536, usage: .vertexBuffer, name: "vertices")
                .nextImage(width: 32, height: 32, usage: .sampled, name: "texture")
                .bind(allocator, strategy: .scatter)
            for resource in group.resources + scattered.resources { try allocator.destroy(resource) }
            let parsed = try VMARecording(parsing: recorder.text)
            #expect(parsed.calls.map(\.function.name) == [
                "vmaCreateAllocator", "vmaCreateBuffer", "vmaCreateBuffer", "vmaMapMemory", "vmaCreateBuffer",
                "vmaCreateImage", "vmaDestroyBuffer", "vmaDestroyBuffer", "vmaDestroyBuffer", "vmaDestroyImage",
            ])
            let report = Allocator(device: context.device).replay(parsed)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.leftAlive.isEmpty)
        }
    }

    /// Every bind strategy records each resource once, and `destroy(many:)` each destroy;
    /// a batch that fails records nothing.
    @Test(arguments: BindStrategy.allCases)
    func everyBindStrategyRecordsEachResourceOnce(strategy: BindStrategy) throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            var options = AllocatorOptions()
            options.recorder = recorder
            let allocator = Allocator(device: context.device, options: options)
            #expect(throws: AllocationError.self) {
                _ = try ResourceBatch.buffer(size: 4096, usage: .vertexBuffer)
                    .nextBuffer(size: 4096, usage: .vertexBuffer, memory: MemoryRequest(memoryTypeBits: 0))
                    .bind(allocator, strategy: strategy)
            }
            let bound = try ResourceBatch.buffer(size: 4096, usage: .vertexBuffer, name: "a")
                .nextImage(width: 16, height: 16, usage: .sampled)
                .nextBuffer(size: 1 << 16, usage: .transferSource, memory: .usage(.staging))
                .bind(allocator, strategy: strategy)
            try allocator.destroy(many: bound.resources)
            #expect(try VMARecording(parsing: recorder.text).calls.map(\.function.name) == [
                "vmaCreateAllocator", "vmaCreateBuffer", "vmaCreateImage", "vmaCreateBuffer",
                "vmaDestroyBuffer", "vmaDestroyImage", "vmaDestroyBuffer",
            ])
        }
    }

    /// The recorder writes a destroy, free or map only for a handle it recorded creating.
    @Test func theRecorderNamesOnlyHandlesItCreated() throws {
        let recorder = CallRecorder()
        recorder.recordCreation("vmaAllocateMemory", ["4096", "1", "1", "0", "1", "0", "0", "0", "0", "A", ""], handle: "A")
        recorder.recordUse("vmaMapMemory", handle: "B")
        recorder.recordRelease("vmaFreeMemory", handle: "B")
        recorder.recordUse("vmaMapMemory", handle: "A")
        recorder.recordRelease("vmaFreeMemory", handle: "A")
        recorder.recordRelease("vmaFreeMemory", handle: "A")
        let lines = recorder.text.split(separator: "\n").map { $0.split(separator: ",")[3] }
        #expect(lines == ["vmaAllocateMemory", "vmaMapMemory", "vmaFreeMemory"])
    }

    @Test func aNegativeFileDescriptorIsRefusedBeforeVulkan() throws {
        try withTestDevice { context in
            #expect(throws: MemoryError.invalidFileDescriptor(-1)) {
                _ = try DeviceMemory.importFileDescriptor(-1, on: context.device, size: 65536, memoryTypeIndex: 0)
            }
        }
    }
}
