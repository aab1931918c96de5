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

// MARK: - Input that would amplify: huge lines, endless blank lines, huge fields

/// The process's resident set: `VmRSS` and its peak `VmHWM`, in bytes (0 where
/// `/proc/self/status` is missing).
private func residentBytes() -> (current: UInt64, peak: UInt64) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> UInt64 {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return (UInt64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
    return (field("VmRSS"), field("VmHWM"))
}

/// Writes `head`, then `count` bytes of `filler`, then `tail` to a new file, 1 MiB at a
/// time (so the test itself never holds the 100 MB).
private func writeHostileFile(head: String, filler: UInt8, count: Int, tail: String) -> String {
    let path = NSTemporaryDirectory() + "vkmem-hostile-\(getpid())-\(filler).csv"
    let file = fopen(path, "wb")!
    defer { fclose(file) }
    _ = head.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
    let block = [UInt8](repeating: filler, count: 1 << 20)
    var left = count
    while left > 0 {
        let n = min(left, block.count)
        _ = block.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, n, file) }
        left -= n
    }
    _ = tail.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
    return path
}

/// Reads the file at `path` with the peak resident set reset first (`/proc/self/clear_refs`),
/// and prints and checks how far the peak grew and how long it took: at most 64 MiB and
/// 10 s. Runs in its own process (an exit test), so other tests' memory is not counted.
private func readMeasured(_ path: String, label: String) -> (VMARecordingError?, growth: UInt64, seconds: Double) {
    // "5" resets VmHWM to the current RSS (Linux 4.0+). Where it cannot be reset, the
    // earlier peak could hide the growth, so the RSS after the read is compared instead.
    var reset = false
    if let clear = fopen("/proc/self/clear_refs", "w") {
        reset = fputs("5", clear) >= 0 && fflush(clear) == 0
        fclose(clear)
    }
    let before = residentBytes()
    let start = ContinuousClock.now
    var failure: VMARecordingError?
    do { _ = try VMARecording(contentsOfFile: path) } catch { failure = error }
    let elapsed = ContinuousClock.now - start
    let after = residentBytes()
    let growth = (reset ? after.peak : after.current) &- before.current
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("\(label): \(failure.map { "\($0)" } ?? "read"); peak RSS growth \(growth / 1024) KiB "
          + "(peak reset: \(reset)), \(String(format: "%.6f", seconds)) s")
    return (failure, growth, seconds)
}

extension ReplayHostileInputTests {
    /// 100 MB of commas on one call line once took 8.45 GB and 79 s: refused at the 64 KiB
    /// line limit, in bounded memory, and the error does not quote the line.
    @Test func aHundredMegabyteLineOfCommasIsRefusedInBoundedMemory() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            let path = writeHostileFile(head: "Vulkan Memory Allocator,Calls recording\n1,8\n1,0.1,0,vmaCreateBuffer,",
                                        filler: UInt8(ascii: ","), count: 100 << 20, tail: "\n")
            defer { unlink(path) }
            let (error, growth, seconds) = readMeasured(path, label: "100 MB of commas on one line")
            let expected = VMARecordingError.lineTooLong(line: 3, limit: VMARecording.maximumLineLength)
            guard error == expected, growth < 64 << 20, seconds < 10, (error?.description.count ?? 0) < 200 else {
                print("expected \(expected) within 64 MiB and 10 s")
                exit(1)
            }
        }
        // The child's figures, for the record.
        print(String(decoding: result?.standardOutputContent ?? [], as: UTF8.self), terminator: "")
    }

    /// 100 MB of newlines once took 4.45 GB: a file of them is not a recording (its first
    /// line is empty); after a header, more than 1,000 blank lines in a row are refused.
    @Test func aHundredMegabytesOfNewlinesAreRefusedInBoundedMemory() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            var ok = true
            let bare = writeHostileFile(head: "", filler: UInt8(ascii: "\n"), count: 100 << 20, tail: "")
            let (bareError, bareGrowth, bareSeconds) = readMeasured(bare, label: "100 MB of newlines")
            unlink(bare)
            ok = ok && bareError == .notARecording(firstLine: "") && bareGrowth < 64 << 20 && bareSeconds < 10
            let headed = writeHostileFile(head: "Vulkan Memory Allocator,Calls recording\n1,8\n",
                                          filler: UInt8(ascii: "\n"), count: 100 << 20, tail: "1,0.1,0,vmaCreateAllocator\n")
            let (headedError, headedGrowth, headedSeconds) = readMeasured(headed, label: "a header, then 100 MB of newlines")
            unlink(headed)
            let blankLimit = VMARecording.maximumBlankLines
            ok = ok && headedError == .malformedLine(line: 2 + blankLimit + 1, reason: "more than \(blankLimit) blank lines "
                                                         + "in a row; a VMA recording has none")
                && headedGrowth < 64 << 20 && headedSeconds < 10
            if !ok { exit(1) }
        }
        // The child's figures, for the record.
        print(String(decoding: result?.standardOutputContent ?? [], as: UTF8.self), terminator: "")
    }

    /// A bad field is quoted up to 80 characters, with its length, and control characters
    /// (NUL, CR) escaped; a field past the line limit is not quoted at all.
    @Test func errorsQuoteAtMostAPrefixOfABadField() {
        let long = String(repeating: "9", count: 60_000) + "x"
        #expect(throws: VMARecordingError.malformedLine(
            line: 6, reason: "vmaCreateBuffer parameter 2 is '\(String(repeating: "9", count: 80))… (60001 bytes)', "
                + "not a 64-bit number")) {
            try VMARecording(parsing: recording([], ["1,0.1,0,vmaCreateBuffer,0,\(long),128,0,0,1,0,0,0,0,00A0,"]))
        }
        #expect(throws: VMARecordingError.malformedLine(line: 6, reason: "vmaCreateBuffer parameter 2 is '4\\u{0}96', not a 64-bit number")) {
            try VMARecording(parsing: recording([], ["1,0.1,0,vmaCreateBuffer,0,4\u{0}96,128,0,0,1,0,0,0,0,00A0,"]))
        }
        do {
            _ = try VMARecording(parsing: recording([], ["1,0.1,0,glCreate" + String(repeating: "Z", count: 50_000)]))
            Issue.record("a 50,000-character function that is not VMA's was read")
        } catch {
            #expect(error.description.count < 200, "\(error.description.count) characters")
        }
        do {
            _ = try VMARecording(parsing: String(repeating: "é", count: 30_000) + "\n1,8\n")
            Issue.record("a first line of 30,000 'é' was read")
        } catch {
            #expect(error.description.count < 250 && error.description.contains("(60000 bytes)"), "\(error)")
        }
        #expect(throws: VMARecordingError.lineTooLong(line: 6, limit: VMARecording.maximumLineLength)) {
            try VMARecording(parsing: recording([], ["1,0.1,0,vmaCreateBuffer,0," + String(repeating: "9", count: 70_000)]))
        }
    }

    /// Where the chunks of a file end (inside a line, between `\r` and `\n`, inside a
    /// UTF-8 sequence) does not change what is read.
    @Test func chunkBoundariesDoNotChangeWhatIsRead() throws {
        let text = recording(["PhysicalDevice,deviceName,Gérard's GPU"] + oneHeapOneType + ["PhysicalDeviceMemory,Type,0,heapIndex,0"],
                             ["1,0.1,0,vmaCreateBuffer,0,4096,128,0,0,1,0,0,0,0000000000000000,00A0,naïve,name",
                              "", "1,0.2,0,vmaDestroyBuffer,00A0"], separator: "\r\n")
        let whole = try VMARecording(parsing: text)
        #expect(whole.calls.count == 4 && whole.device.name == "Gérard's GPU" && whole.device.memory != nil)
        let bytes = Array(text.utf8)
        var generator = SplitMix(seed: 5)
        for _ in 0..<200 {
            var parser = RecordingParser()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...9, using: &generator))
                try bytes[start..<end].withUnsafeBufferPointer { (chunk) throws(VMARecordingError) in try parser.feed(chunk) }
                start = end
            }
            #expect(try parser.finish() == whole)
        }
    }

    /// Replay refuses, before creating them, images beyond what the device allows for
    /// their format (`vkGetPhysicalDeviceImageFormatProperties`) or beyond any device:
    /// skipped with the check's reason, no validation message, nothing left allocated.
    @Test func replaySkipsImagesBeyondTheDevicesLimits() throws {
        try withTestDevice { context in
            // flags,type,format,w,h,d,mips,layers,samples,tiling,usage,sharing,layout
            let images = [
                "0,1,37,64,64,1,100,1,1,0,4,0,0",            // 100 levels on 64×64
                "0,1,37,64,64,1,1,100000,1,0,4,0,0",         // 100,000 layers
                "0,1,37,100000,64,1,1,1,1,0,4,0,0",          // wider than maxExtent
                "0,2,37,64,64,4,1,2,1,0,4,0,0",              // a 3D image with layers
                "0,1,109,16384,16384,1,1,2048,1,0,4,0,0",    // RGBA32F beyond maxResourceSize
                "0,1,37,64,64,1,1,1,1,7,4,0,0",              // tiling 7
                "0,1,37,64,64,1,1,1,1,0,4,0,0",              // a valid one
            ]
            let calls = images.enumerated().map { index, image in
                "1,0.1,0,vmaCreateImage,\(image),0,1,0,0,0,0000000000000000,00000000000001\(index)0,"
            }
            let allocator = Allocator(device: context.device)
            let report = allocator.replay(try VMARecording(parsing: recording([], calls)))
            let skipped = report.adjustments.filter { $0.reason.hasPrefix("skipped") }
            #expect(skipped.map(\.line) == Array(6...11), "\(report.adjustments)")
            let reasons = skipped.map(\.reason)
            #expect(reasons[0].contains("mipLevels 100 exceeds 7"))
            #expect(reasons[1].contains("arrayLayers 100000 exceeds"))
            #expect(reasons[2].contains("exceeds this device's maxExtent"))
            #expect(reasons[3].contains("3D image has exactly 1 array layer"))
            #expect(reasons[4].contains("maxResourceSize") || reasons[4].contains("maxArrayLayers"))
            #expect(reasons[5].contains("tiling 7"))
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.replayed["vmaCreateImage"] == 1 && report.leftAlive.count == 1)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}

// MARK: - Seeded fuzzing of the recording format

/// A small recording of every call kind the reader knows, so the fuzzer has a seed even
/// where `../shared/traces` is not beside the project.
private let fuzzSeed: String = recording(
    ["PhysicalDevice,deviceName,Fuzz GPU", "PhysicalDevice,vendorID,4318", "PhysicalDevice,deviceType,2",
     "PhysicalDeviceLimits,bufferImageGranularity,1024", "PhysicalDeviceLimits,nonCoherentAtomSize,64",
     "PhysicalDeviceLimits,maxMemoryAllocationCount,4096"] + oneHeapOneType + ["PhysicalDeviceMemory,Type,0,heapIndex,0"],
    ["1,0.1,0,vmaCreateBuffer,0,65536,130,0,0,1,0,0,0,0000000000000000,00000000000000B0,vertices",
     "1,0.1,0,vmaCreateImage,0,1,37,256,256,1,9,1,1,0,6,0,0,0,1,0,0,0,0000000000000000,00000000000000C0,",
     "1,0.2,0,vmaCreateImage,16,1,37,64,64,1,1,6,1,0,4,0,0,32,1,0,0,0,0000000000000000,00000000000000C1,cube",
     "1,0.2,0,vmaAllocateMemory,4096,256,4294967295,0,2,0,0,0,0000000000000000,00000000000000D0,",
     "1,0.3,0,vmaAllocateMemoryForBuffer,8192,256,1,0,1,0,3,0,0,0,0000000000000000,00000000000000D1,",
     "1,0.3,1,vmaMapMemory,00000000000000D0", "1,0.3,1,vmaUnmapMemory,00000000000000D0",
     "1,0.4,1,vmaSetAllocationUserData,00000000000000B0,renamed", "1,0.4,1,vmaFlushAllocation,00000000000000D0,0,4096",
     "1,0.5,2,vmaDestroyBuffer,00000000000000B0", "1,0.5,2,vmaDestroyImage,00000000000000C0",
     "1,0.5,2,vmaFreeMemory,00000000000000D0", "1,0.6,2,vmaDestroyImage,00000000000000C1"])

/// `bytes` with `range` replaced by `replacement`, copied with `memcpy`: the test runs
/// in a debug build, where the standard library's generic splicing goes a byte at a time.
private func splice(_ bytes: inout [UInt8], _ range: Range<Int>, _ replacement: [UInt8]) {
    let count = bytes.count - range.count + replacement.count
    bytes = bytes.withUnsafeBytes { old in
        replacement.withUnsafeBytes { new in
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                let out = UnsafeMutableRawPointer(buffer.baseAddress!)
                if range.lowerBound > 0 { memcpy(out, old.baseAddress!, range.lowerBound) }
                if !new.isEmpty { memcpy(out + range.lowerBound, new.baseAddress!, new.count) }
                let tail = old.count - range.upperBound
                if tail > 0 { memcpy(out + range.lowerBound + new.count, old.baseAddress! + range.upperBound, tail) }
                initialized = count
            }
        }
    }
}

/// The line around `position` (its start, its end) and the offsets of its commas, found
/// with `memchr` where it can.
private func fieldBounds(_ bytes: [UInt8], around position: Int) -> (start: Int, end: Int, commas: [Int]) {
    bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> (start: Int, end: Int, commas: [Int]) in
        let base = raw.baseAddress!
        var start = position
        while start > 0, raw[start - 1] != 0x0A { start -= 1 }
        var end = raw.count
        if let newline = memchr(base + position, 0x0A, raw.count - position) {
            end = UnsafeRawPointer(newline) - base
        }
        var commas: [Int] = []
        var from = start
        while from < end, let comma = memchr(base + from, 0x2C, end - from) {
            let offset = UnsafeRawPointer(comma) - base
            commas.append(offset)
            from = offset + 1
        }
        return (start, end, commas)
    }
}

/// Applies one seeded mutation of the kinds a damaged or hostile file has.
private func mutate(_ bytes: inout [UInt8], _ generator: inout SplitMix) {
    let junk: [String] = ["", "-1", "+1", " 1", "0x10", "1e400", "nan", "-0", "18446744073709551616", "4294967296",
                          "99999999999999999999999999", "\u{0}", "é", "\u{FEFF}", "(nil)", ",", "\r", "\r\n", "\n\n",
                          "Config,Begin", "Config,End", "vmaCreateImage", "1,8"]
    let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &generator)
    switch Int.random(in: 0..<8, using: &generator) {
    case 0: // truncation
        splice(&bytes, at..<bytes.count, [])
    case 1: // a huge field: up to 100 KB of digits, commas, NULs or letters
        let filler = [UInt8(ascii: "9"), UInt8(ascii: ","), 0, UInt8(ascii: "a"), 0xFF].randomElement(using: &generator)!
        splice(&bytes, at..<at, [UInt8](repeating: filler, count: Int.random(in: 1_000...100_000, using: &generator)))
    case 2: // NULs and bytes that are not UTF-8
        splice(&bytes, at..<at, [[0], [0, 0, 0], [0xFF], [0xC3], [0xE2, 0x82]].randomElement(using: &generator)!)
    case 3: // separators
        splice(&bytes, at..<at, Array([",", "\n", "\r", "\r\n", ",,", "\n\n\n"].randomElement(using: &generator)!.utf8))
    default: // a field of a random line replaced with a bad number or a token
        guard !bytes.isEmpty else { return }
        let (lineStart, lineEnd, commas) = fieldBounds(bytes, around: min(at, bytes.count - 1))
        let bounds = [lineStart - 1] + commas + [lineEnd]
        let field = Int.random(in: 0..<bounds.count - 1, using: &generator)
        splice(&bytes, bounds[field] + 1..<bounds[field + 1], Array(junk.randomElement(using: &generator)!.utf8))
    }
}

extension ReplayHostileInputTests {
    /// Seeded mutations of the recording format (truncation, huge fields, bad numbers,
    /// NULs, bytes that are not UTF-8, separators), fed in random chunks: each reads or
    /// throws a `VMARecordingError` whose message stays short, and every 16th that reads
    /// is replayed under the validation layer with nothing left allocated.
    /// `VKMEM_REPLAY_FUZZ_ITERATIONS`, else `VKMEM_FUZZ_ITERATIONS` (`make test-long`),
    /// else 400, and `VKMEM_FUZZ_SEED` (default 1) set the run.
    @Test func seededFuzzOfTheRecordingFormat() throws {
        let environment = ProcessInfo.processInfo.environment
        // 400 keep the normal run to a few seconds in a debug build; the long run sets
        // thousands (its own variable lets it differ from the other fuzzers' count).
        let iterations = Int(environment["VKMEM_REPLAY_FUZZ_ITERATIONS"] ?? "")
            ?? Int(environment["VKMEM_FUZZ_ITERATIONS"] ?? "") ?? 400
        let seed = UInt64(environment["VKMEM_FUZZ_SEED"] ?? "") ?? 1
        var corpus = [Array(fuzzSeed.utf8)]
        if tracesPresent {
            for trace in [inexorTrace, vegaTrace] {
                // The first 120 lines: the config and many kinds of call, short enough to replay often.
                let text = try String(contentsOfFile: tracePath(trace), encoding: .utf8)
                corpus.append(Array(text.split(separator: "\n", omittingEmptySubsequences: false).prefix(120)
                    .joined(separator: "\n").utf8))
            }
        }
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            var generator = SplitMix(seed: seed)
            var (read, replayed, longestMessage) = (0, 0, 0)
            for iteration in 0..<iterations {
                var bytes = corpus.randomElement(using: &generator)!
                for _ in 0..<Int.random(in: 1...4, using: &generator) { mutate(&bytes, &generator) }
                var parser = RecordingParser()
                do throws(VMARecordingError) {
                    var start = 0
                    while start < bytes.count {
                        let end = min(bytes.count, start + Int.random(in: 1...70_000, using: &generator))
                        try bytes[start..<end].withUnsafeBufferPointer { (chunk) throws(VMARecordingError) in
                            try parser.feed(chunk)
                        }
                        start = end
                    }
                    let recording = try parser.finish()
                    read += 1
                    if let memory = recording.device.memory {
                        _ = MemoryTypeSelection(properties: memory, isDiscrete: recording.device.isDiscrete)
                            .rankedTypes(for: .usage(.dynamic))
                    }
                    if read % 16 == 0 {
                        let report = allocator.replay(recording)
                        replayed += 1
                        #expect(report.calls == recording.calls.count)
                        #expect(allocator.usage.allocationCount == 0, "seed \(seed) iteration \(iteration)")
                    }
                } catch {
                    longestMessage = max(longestMessage, error.description.count)
                    // A line number, a short reason and at most two 80-character quotes.
                    #expect(error.description.count < 300, "seed \(seed) iteration \(iteration): \(error.description.prefix(500))")
                }
            }
            print("fuzz: seed \(seed), \(iterations) inputs, \(read) read, \(replayed) replayed, "
                  + "longest error \(longestMessage) characters")
            #expect(read > iterations / 10)
        }
    }
}

extension ReplayHostileInputTests {
    /// A long recording of calls that all fail or are not replayed (50,000 lines, 2 MB)
    /// replays from its file as it is read: the report keeps 1,000 notes and 100 function
    /// names and counts the rest, so memory stays bounded; the replay runs in its own
    /// process to measure its peak resident set.
    @Test func aLongRecordingReplaysFromItsFileInBoundedMemory() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            let lines = 50_000
            var body = ""
            for index in 0..<lines {
                body += index % 2 == 0 ? "1,0.1,0,vmaUnmapMemory,\(String(index, radix: 16))\n"
                    : "1,0.1,0,vmaQuery\(index)Statistics,0\n"
            }
            let path = writeHostileFile(head: recording([], []) + "\n" + body, filler: 0, count: 0, tail: "")
            defer { unlink(path) }
            let ok = try withTestDevice { context in
                let allocator = Allocator(device: context.device)
                var reset = false
                if let clear = fopen("/proc/self/clear_refs", "w") {
                    reset = fputs("5", clear) >= 0 && fflush(clear) == 0
                    fclose(clear)
                }
                let before = residentBytes()
                let start = ContinuousClock.now
                let (report, device) = try allocator.replay(contentsOfFile: path)
                let elapsed = ContinuousClock.now - start
                let after = residentBytes()
                let growth = (reset ? after.peak : after.current) &- before.current
                print("a \(lines)-line recording of failing calls, replayed from its file: peak RSS growth "
                      + "\(growth / 1024) KiB (peak reset: \(reset)), \(elapsed); \(report.failures.count) failures kept, "
                      + "\(report.omittedNotes) omitted, \(report.notReplayed.count) names not replayed")
                return device.name.isEmpty && report.calls == lines + 2 && report.failures.count == ReplayReport.maximumNotes
                    && report.omittedNotes == lines / 2 - ReplayReport.maximumNotes
                    && report.notReplayed.count == ReplayReport.maximumNotReplayedNames + 1
                    && report.notReplayed.values.reduce(0, +) == lines / 2
                    && growth < 64 << 20 && allocator.usage.allocationCount == 0
            }
            if !ok { exit(1) }
        }
        print(String(decoding: result?.standardOutputContent ?? [], as: UTF8.self), terminator: "")
    }

    /// A file that breaks part-way is refused, and what its calls had made is destroyed.
    @Test func aFileThatBreaksPartWayLeavesNothingAllocated() throws {
        try withTestDevice { context in
            let text = recording([], ["1,0.1,0,vmaCreateBuffer,0,65536,128,0,0,1,0,0,0,0000000000000000,00000000000000A0,",
                                      "1,0.2,0,vmaCreateBuffer,0,big,128,0,0,1,0,0,0,0000000000000000,00000000000000B0,"])
            let path = writeHostileFile(head: text, filler: 0, count: 0, tail: "")
            defer { unlink(path) }
            let allocator = Allocator(device: context.device)
            #expect(throws: VMARecordingError.malformedLine(line: 7, reason: "vmaCreateBuffer parameter 2 is 'big', not a 64-bit number")) {
                _ = try allocator.replay(contentsOfFile: path)
            }
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
        }
    }

    /// A last line with no line break is read only when the file ends, after every call
    /// before it ran: when it is malformed, those calls' buffers are destroyed and the
    /// pages they made released, although the empty-page policy would keep one.
    @Test func aFileWhoseLastLineBreaksLeavesNoPage() throws {
        try withTestDevice { context in
            let text = ["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin", "Config,End",
                        "1,0.000,0,vmaCreateAllocator",
                        "1,0.1,0,vmaCreateBuffer,0,65536,128,0,0,1,0,0,0,0000000000000000,00000000000000A0,",
                        "1,0.2,0,vmaCreateBuffer,0,big,128,0,0,1,0,0,0,0000000000000000,00000000000000B0,"]
                .joined(separator: "\n")
            let path = writeHostileFile(head: text, filler: 0, count: 0, tail: "")
            defer { unlink(path) }
            let allocator = Allocator(device: context.device)
            #expect(throws: VMARecordingError.malformedLine(line: 7, reason: "vmaCreateBuffer parameter 2 is 'big', not a 64-bit number")) {
                _ = try allocator.replay(contentsOfFile: path)
            }
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
            #expect(allocator.usage.committedBytes == 0 && allocator.usage.pageCount == 0,
                    "\(allocator.usage.pageCount) page(s) of \(allocator.usage.committedBytes) bytes left")
        }
    }
}
