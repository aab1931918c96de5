import CVulkan
import Foundation
import Testing
@testable import VulkanMemory

/// The VMA call recordings shipped beside the project (`../shared/traces`).
func tracePath(_ name: String) -> String {
    sharedDirectory.appendingPathComponent("traces").appendingPathComponent(name).path
}

/// Whether the recordings are there: CI keeps `shared/` beside the clone; a fresh clone
/// alone has none, and the tests that read them say they were skipped.
let tracesPresent = FileManager.default.fileExists(atPath: tracePath(inexorTrace))
    && FileManager.default.fileExists(atPath: tracePath(vegaTrace))

/// The trait of a test that reads the recordings.
let needsTraces = Testing.ConditionTrait.enabled(
    if: tracesPresent, "skipped: the VMA recordings (../shared/traces) are not beside the project")

let inexorTrace = "inexor_vulkan-renderer_GTX660M_vma_recording.csv"
let vegaTrace = "vma_docs_example_RadeonRXVega_vma_recording.csv"

/// A recording with `calls` after a minimal header and config.
private func recording(_ calls: [String]) -> String {
    (["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin", "PhysicalDevice,deviceName,Test GPU",
      "Config,End", "1,0.000,0,vmaCreateAllocator"] + calls + ["1,9.000,0,vmaDestroyAllocator"])
        .joined(separator: "\n")
}

@Suite("VMA recordings: reading")
struct VMARecordingParsingTests {
    @Test(needsTraces) func theInexorTraceReadsWhole() throws {
        let recording = try VMARecording(contentsOfFile: tracePath(inexorTrace))
        #expect(recording.version == (1, 8))
        #expect(recording.device.name == "GeForce GTX 660M")
        #expect(recording.device.isDiscrete)
        let memory = try #require(recording.device.memory)
        #expect(memory.heaps.count == 2 && memory.types.count == 11)
        #expect(memory.types[7].flags == .deviceLocal && memory.types[7].heapIndex == 0)
        #expect(memory.types[10].flags == [.hostVisible, .hostCoherent, .hostCached])
        #expect(recording.calls.count == 36)
        #expect(recording.calls.first?.function == .createAllocator)
        #expect(recording.calls.last?.function == .destroyAllocator)
        // Line 57: the depth buffer, 800×600 D32_SFLOAT, optimal, depth attachment, GPU only.
        let depth = try #require(recording.calls.first { $0.line == 57 })
        guard case let .createImage(image, create, handle, userData) = depth.function else {
            Issue.record("line 57 is \(depth.function)")
            return
        }
        #expect(image.format == 126 && image.width == 800 && image.height == 600 && image.tiling == 0)
        #expect(image.usage == 32)
        #expect(create.usage == 1 && create.userDataIsString && !create.usesPool)
        #expect(handle == "0000000007F66FA0")
        #expect(userData == "Depth buffer image.")
        #expect(depth.time == 0.134)
    }

    @Test(needsTraces) func theVegaTraceReadsWhole() throws {
        let recording = try VMARecording(contentsOfFile: tracePath(vegaTrace))
        #expect(recording.device.name == "Radeon RX Vega")
        #expect(recording.device.memory?.limits.nonCoherentAtomSize == 128)
        #expect(recording.device.memory?.heaps.map(\.size) == [8_304_721_920, 8_286_175_232, 268_435_456])
        #expect(recording.calls.count == 19)
        let names = recording.calls.map(\.function.name)
        #expect(names.filter { $0 == "vmaCreateBuffer" }.count == 4)
        #expect(names.filter { $0 == "vmaSetAllocationUserData" }.count == 1)
        guard case let .createBuffer(buffer, create, _, userData) = recording.calls[5].function else {
            Issue.record("call 6 is \(recording.calls[5].function)")
            return
        }
        #expect(buffer.size == 768 && buffer.usage == 1 && create.wantsMapping && create.usage == 2)
        #expect(userData.isEmpty)
    }

    @Test func userDataKeepsItsCommasAndUnknownFunctionsAreKept() throws {
        let recording = try VMARecording(parsing: recording([
            "1,0.100,0,vmaCreateBuffer,0,4096,128,0,32,1,0,0,0,0000000000000000,00000000000000A0,a, b,c",
            "1,0.200,3,vmaCalculateStats",
        ]))
        guard case let .createBuffer(_, _, _, userData) = recording.calls[1].function else {
            Issue.record("not a buffer: \(recording.calls[1].function)")
            return
        }
        #expect(userData == "a, b,c")
        #expect(recording.calls[2].function == .other(name: "vmaCalculateStats", parameters: []))
        #expect(recording.calls[2].frameIndex == 3)
        #expect(recording.device.memory == nil)
    }

    @Test func badFilesGetErrorsThatNameTheLine() {
        #expect(throws: VMARecordingError.notARecording(firstLine: "hello")) { try VMARecording(parsing: "hello\n1,8") }
        #expect(throws: VMARecordingError.unsupportedVersion("1,5")) {
            try VMARecording(parsing: "Vulkan Memory Allocator,Calls recording\n1,5\n")
        }
        // Line 7: the buffer's size is not a number.
        #expect(throws: VMARecordingError.malformedLine(line: 7, reason: "vmaCreateBuffer parameter 2 is 'big', not a 64-bit number")) {
            try VMARecording(parsing: recording(["1,0.1,0,vmaCreateBuffer,0,big,128,0,0,1,0,0,0,0,00A0,"]))
        }
        do {
            _ = try VMARecording(parsing: recording(["1,0.1,0,vmaDestroyBuffer"]))
            Issue.record("a destroy without a handle was read")
        } catch {
            guard case let .malformedLine(line, reason) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(line == 7)
            #expect(reason.contains("vmaDestroyBuffer") && reason.contains("missing"))
        }
        #expect(throws: VMARecordingError.self) {
            try VMARecording(parsing: "Vulkan Memory Allocator,Calls recording\n1,8\nConfig,Begin\nPhysicalDevice,deviceID,7")
        }
        #expect(throws: VMARecordingError.self) {
            try VMARecording(parsing: recording(["1,0.1,0,notAFunction,1"]))
        }
        #expect(throws: VMARecordingError.unreadable(path: "/no/such/file.csv", reason: "No such file or directory")) {
            try VMARecording(contentsOfFile: "/no/such/file.csv")
        }
    }
}

@Suite("VMA recordings: replay on lavapipe")
struct ReplayTests {
    @Test(needsTraces) func theInexorTraceReplaysAndItsLeakedDepthBuffersAreReported() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let report = allocator.replay(try VMARecording(contentsOfFile: tracePath(inexorTrace)))
            #expect(report.calls == 36)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.adjustments.isEmpty, "\(report.adjustments)")
            #expect(report.replayed["vmaCreateBuffer"] == 15 && report.replayed["vmaDestroyBuffer"] == 15)
            #expect(report.replayed["vmaCreateImage"] == 3 && report.replayed["vmaDestroyImage"] == 1)
            // The recording never destroyed its two depth buffers.
            #expect(report.leftAlive.map(\.line) == [57, 79])
            #expect(report.leftAlive.allSatisfy { $0.name == "Depth buffer image." && $0.size >= 800 * 600 * 4 })
            #expect(report.peakLiveBytes >= 4 << 20)
            #expect(report.peakCommittedBytes >= report.peakLiveBytes)
            // What was left alive was freed after the replay.
            #expect(allocator.usage.allocationCount == 0)
            #expect(allocator.leaks().isEmpty)
        }
    }

    @Test(needsTraces) func theVegaTraceReplaysWithItsLinearMappedImage() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let report = allocator.replay(try VMARecording(contentsOfFile: tracePath(vegaTrace)))
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.replayed.values.reduce(0, +) == 19)
            #expect(report.leftAlive.isEmpty)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    @Test func failingCallsAreReportedAndTheReplayGoesOn() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let text = recording([
                // A buffer in a custom pool: replayed in the default pages.
                "1,0.1,0,vmaCreateBuffer,0,65536,128,0,32,1,0,0,0,00000000000000F0,00000000000000A0,pooled",
                // The same handle again while it is live.
                "1,0.2,0,vmaCreateBuffer,0,4096,128,0,0,1,0,0,0,0000000000000000,00000000000000A0,",
                // A handle never created.
                "1,0.3,0,vmaDestroyBuffer,00000000000000B0",
                // Lazily allocated memory: lavapipe has no such type.
                "1,0.4,0,vmaAllocateMemory,65536,256,4294967295,0,6,0,0,0,0000000000000000,00000000000000C0,",
                // A format lavapipe cannot sample (ASTC 4x4): skipped without a validation message.
                "1,0.5,0,vmaCreateImage,0,1,157,64,64,1,1,1,1,0,4,0,0,0,1,0,0,0,0000000000000000,00000000000000D0,",
                // Raw memory for a buffer, mapped, freed.
                "1,0.6,0,vmaAllocateMemoryForBuffer,8192,64,4294967295,0,0,4,2,0,0,0,0000000000000000,00000000000000E0,",
                "1,0.7,0,vmaMapMemory,00000000000000E0",
                "1,0.8,0,vmaUnmapMemory,00000000000000E0",
                "1,0.9,0,vmaFreeMemory,00000000000000E0",
                "1,1.0,0,vmaDestroyBuffer,00000000000000A0",
                "1,1.1,0,vmaDefragmentationBegin,0,0",
                // Images no device can create: skipped before vkCreateImage sees them.
                "1,1.2,0,vmaCreateImage,0,1,37,0,64,1,1,1,1,0,4,0,0,0,1,0,0,0,0000000000000000,0000000000000100,",
                "1,1.3,0,vmaCreateImage,0,1,37,64,64,1,1,1,3,0,4,0,0,0,1,0,0,0,0000000000000000,0000000000000110,",
                "1,1.4,0,vmaCreateImage,0,1,37,64,64,1,9,1,1,0,4,0,0,0,1,0,0,0,0000000000000000,0000000000000120,",
            ])
            let report = allocator.replay(try VMARecording(parsing: text))
            #expect(report.failures.map(\.line) == [8, 9, 10])
            #expect(report.failures[0].reason.contains("still live from line 7"))
            #expect(report.failures[1].reason.contains("00000000000000B0"))
            #expect(report.failures[2].reason.contains("memory type"), "\(report.failures[2].reason)")
            #expect(report.adjustments.map(\.line) == [7, 11, 18, 19, 20])
            // Skipped with the reason of the allocator's own check of the create-info.
            #expect(report.adjustments.dropFirst(1).allSatisfy { $0.reason.hasPrefix("skipped: ") })
            #expect(report.adjustments[0].reason.contains("custom pool"))
            #expect(report.adjustments[1].reason.contains("this device cannot create an image of format 157"))
            #expect(report.adjustments[2].reason.contains("a size of 0 bytes"))
            #expect(report.adjustments[3].reason.contains("samples 3 is not one of"))
            #expect(report.adjustments[4].reason.contains("mipLevels 9 exceeds 7"))
            #expect(report.replayed["vmaAllocateMemoryForBuffer"] == 1 && report.replayed["vmaMapMemory"] == 1)
            #expect(report.replayed["vmaFreeMemory"] == 1 && report.replayed["vmaDestroyBuffer"] == 1)
            #expect(report.notReplayed == ["vmaDefragmentationBegin": 1])
            #expect(report.leftAlive.isEmpty)
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
        }
    }
}

@Suite("VMA recordings: recording")
struct CallRecorderTests {
    /// A session recorded here reads back as VMA's format and replays on a fresh allocator,
    /// with the one buffer it never destroyed reported by name.
    @Test func aRecordedSessionReadsBackAndReplays() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            var options = AllocatorOptions()
            options.recorder = recorder
            options.reportLeaksAtTeardown = false
            try Self.session(on: context, options: options)
            let recording = try VMARecording(parsing: recorder.text)
            #expect(recording.device.name == context.device.info.name)
            let memory = try #require(recording.device.memory)
            let here = MemoryProperties(device: context.device)
            #expect(memory.heaps == here.heaps && memory.types == here.types)
            #expect(memory.limits.bufferImageGranularity == here.limits.bufferImageGranularity)
            #expect(recording.calls.map(\.function.name) == [
                "vmaCreateAllocator", "vmaCreateBuffer", "vmaCreateBuffer", "vmaCreateImage",
                "vmaAllocateMemoryForBuffer", "vmaMapMemory", "vmaCreateBuffer", "vmaDestroyBuffer", "vmaFreeMemory",
                "vmaDestroyImage", "vmaDestroyBuffer", "vmaDestroyAllocator",
            ])
            guard case let .createBuffer(buffer, create, _, name) = recording.calls[2].function else {
                Issue.record("call 3 is \(recording.calls[2].function)")
                return
            }
            #expect(buffer.size == 4096 && create.usage == 2 && create.wantsMapping && name == "staging")
            guard case let .allocateMemory(_, raw, rawCreate, _, userData) = recording.calls[4].function else {
                Issue.record("call 5 is \(recording.calls[4].function)")
                return
            }
            #expect(raw.size == 4096 && raw.alignment == 256 && rawCreate.usage == 4)
            #expect(UInt64(userData, radix: 16) == 0xABCD && !rawCreate.userDataIsString)
            guard case let .createBuffer(_, dedicated, _, _) = recording.calls[6].function else {
                Issue.record("call 7 is \(recording.calls[6].function)")
                return
            }
            #expect(dedicated.wantsDedicatedMemory)

            let replayer = Allocator(device: context.device)
            let report = replayer.replay(recording)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.adjustments.isEmpty, "\(report.adjustments)")
            #expect(report.replayed.values.reduce(0, +) == recording.calls.count)
            #expect(report.leftAlive.map(\.name) == ["vertices, part 1"])
            #expect(replayer.usage.allocationCount == 0)
        }
    }

    @Test func aRecorderWritesItsFileAsItGoes() throws {
        try withTestDevice { context in
            let path = "/tmp/vkmem-recording-\(getpid())-\(UInt32.random(in: 0 ... .max)).csv"
            defer { unlink(path) }
            var options = AllocatorOptions()
            options.recorder = try CallRecorder(path: path)
            options.reportLeaksAtTeardown = false
            try Self.session(on: context, options: options)
            let recording = try VMARecording(contentsOfFile: path)
            #expect(recording.calls.count == 12)
            #expect(options.recorder?.text == "")
            #expect(throws: VMARecordingError.self) { _ = try CallRecorder(path: "/no/such/directory/file.csv") }
        }
    }

    /// Creates, maps and destroys a little of everything the recorder records; leaves one
    /// buffer's memory alive (its `VkBuffer` destroyed directly) for the allocator's teardown.
    private static func session(on context: VulkanContext, options: AllocatorOptions) throws {
        let allocator = Allocator(device: context.device, options: options)
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = 65536
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let vertices = try allocator.createBuffer(info, .usage(.gpuOnly), options: AllocationOptions(name: "vertices, part 1"))
        var stagingInfo = info
        stagingInfo.size = 4096
        stagingInfo.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
        let staging = try allocator.createBuffer(stagingInfo, .usage(.staging),
                                                 options: AllocationOptions(mapped: true, name: "staging"))
        let image = try allocator.createImage(ImageDescription(width: 64, height: 64, usage: .sampled).exclusiveCreateInfo,
                                              .usage(.gpuOnly), options: AllocationOptions(name: "texture"))
        let raw = try allocator.allocate(MemoryRequirements(size: 4096, alignment: 256, kind: .linear), usage: .readback,
                                         options: AllocationOptions(userData: 0xABCD))
        _ = try allocator.map(raw)
        let dedicated = try allocator.createBuffer(info, .usage(.gpuOnly), options: AllocationOptions(dedicated: .always))
        try allocator.destroyBuffer(staging)
        try allocator.free(raw)
        try allocator.destroyImage(image)
        try allocator.destroyBuffer(dedicated)
        context.device.deviceFunctions.destroyBuffer(context.device.device, vertices.buffer, nil)
    }
}
