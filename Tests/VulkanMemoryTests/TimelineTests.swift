import CVulkan
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import VulkanMemory

/// A trace-event file as Chrome reads it: the events, parsed with `JSONSerialization`
/// (not with this library's own types), so the test sees what Perfetto would.
private struct ParsedTrace {
    let events: [[String: Any]]

    init(_ data: Data) throws {
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        events = try #require(root["traceEvents"] as? [[String: Any]])
    }

    func phase(_ ph: String) -> [[String: Any]] { events.filter { $0["ph"] as? String == ph } }

    /// The largest value of a counter's series (`"all heaps"`'s `committed`, say).
    func maximum(of counter: String, _ series: String) -> UInt64 {
        phase("C").filter { $0["name"] as? String == counter }
            .compactMap { ($0["args"] as? [String: Any])?[series] as? NSNumber }.map(\.uint64Value).max() ?? 0
    }

    /// Every async span's begin and end, by id: each must have exactly one of each, the
    /// end no earlier than the begin, and the same name.
    func checkSpansAreMatched() -> (count: Int, leaked: [String]) {
        var begins: [String: [String: Any]] = [:], ends: [String: [String: Any]] = [:]
        for event in phase("b") {
            let id = event["id"] as? String ?? ""
            #expect(begins[id] == nil, "span \(id) begins twice")
            begins[id] = event
        }
        for event in phase("e") {
            let id = event["id"] as? String ?? ""
            #expect(ends[id] == nil, "span \(id) ends twice")
            ends[id] = event
        }
        #expect(Set(begins.keys) == Set(ends.keys), "unmatched spans")
        var leaked: [String] = []
        for (id, begin) in begins {
            guard let end = ends[id] else { continue }
            #expect((end["ts"] as? Double ?? -1) >= (begin["ts"] as? Double ?? 0))
            #expect(end["name"] as? String == begin["name"] as? String)
            if (end["args"] as? [String: Any])?["leaked"] as? Bool == true { leaked.append(begin["name"] as? String ?? "") }
        }
        return (begins.count, leaked.sorted())
    }
}

@Suite("Timeline: trace-event JSON and SVG from recordings and live observation")
struct TimelineTests {
    /// Checks a replayed recording's trace against the replay's own report.
    private func checkTrace(_ timeline: Timeline, _ report: ReplayReport) throws -> ParsedTrace {
        let trace = try ParsedTrace(try timeline.chromeTraceJSON())
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(trace.maximum(of: "all heaps", "committed") == report.peakCommittedBytes)
        #expect(trace.maximum(of: "all heaps", "live") == report.peakLiveBytes)
        #expect(timeline.peakCommittedBytes == report.peakCommittedBytes && timeline.peakLiveBytes == report.peakLiveBytes)
        // Per heap too: no heap's counter exceeds the total's peak, and some heap holds memory.
        for heap in 0..<timeline.heapCount {
            #expect(trace.maximum(of: "heap \(heap)", "committed") <= report.peakCommittedBytes)
        }
        let spans = trace.checkSpansAreMatched()
        #expect(spans.count == report.replayed.filter { !$0.key.contains("Destroy") && !$0.key.contains("Free")
            && $0.key.hasPrefix("vmaCreate") && $0.key != "vmaCreateAllocator" || $0.key.hasPrefix("vmaAllocateMemory") }
            .values.reduce(0, +))
        #expect(spans.leaked == report.leftAlive.map { $0.name ?? "unnamed allocation" }.sorted())
        let leakInstants = trace.phase("i").filter { ($0["name"] as? String ?? "").hasPrefix("leak: ") }
        #expect(leakInstants.count == report.leftAlive.count)
        let vkAllocate = trace.phase("i").filter { $0["name"] as? String == "vkAllocateMemory" }
        #expect(vkAllocate.count == report.deviceMemoryAllocations)
        let peaks = trace.phase("i").filter { ($0["name"] as? String ?? "").hasPrefix("peak") }
        #expect(peaks.count == (report.peakLiveBytes > 0 ? 2 : 0))
        return trace
    }

    /// A recording this test makes itself with `CallRecorder`: named allocations (one name
    /// that would break markup), frees, and one buffer left alive.
    @Test func aRecordingMadeHereBecomesATimelineMatchingItsReplay() throws {
        try withTestDevice { context in
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("timeline-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let hostile = "vertices <&\"'> & more"
            var options = AllocatorOptions()
            options.recorder = try CallRecorder(path: path)
            let allocator = Allocator(device: context.device, options: options)
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            var buffers: [BoundBuffer] = []
            for index in 0..<12 {
                info.size = 4096 << UInt64(index % 6)
                buffers.append(try allocator.createBuffer(info, .usage(index % 2 == 0 ? .gpuOnly : .staging),
                                                          options: AllocationOptions(name: "buffer \(index)")))
            }
            info.size = 1 << 20
            let kept = try allocator.createBuffer(info, .usage(.gpuOnly), options: AllocationOptions(name: hostile))
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
            // The file so far (the recorder flushes every line) leaves `kept` alive.
            let (timeline, report) = try Timeline.replaying(contentsOfFile: path, on: context.device)
            try allocator.destroyBuffer(kept)
            #expect(report.leftAlive.map(\.name) == [hostile])
            let trace = try checkTrace(timeline, report)
            // The name went through the encoder: the parsed span carries it exactly.
            #expect(trace.phase("b").contains { $0["name"] as? String == hostile })
            #expect(timeline.leaks.map(\.name) == [hostile])

            let svg = timeline.svg()
            #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
            #expect(svg.contains("vertices &lt;&amp;&quot;&#39;&gt;") && !svg.contains("<&"))
            // Well-formed XML: the parser accepts it.
            #expect(XMLParser(data: Data(svg.utf8)).parse())
        }
    }

    @Test(needsTraces) func theVMARecordingsBecomeTimelinesMatchingTheirReplays() throws {
        try withTestDevice { context in
            let (inexor, inexorReport) = try Timeline.replaying(contentsOfFile: tracePath(inexorTrace), on: context.device)
            let trace = try checkTrace(inexor, inexorReport)
            // Its two depth buffers are never destroyed.
            #expect(trace.checkSpansAreMatched().leaked == ["Depth buffer image.", "Depth buffer image."])
            // The recording's own times: its last call is at 0.6 s or so, not at the replay's.
            let last = try #require(try VMARecording(contentsOfFile: tracePath(inexorTrace)).calls.last?.time)
            #expect(abs(inexor.duration - last) < 1e-9)
            let (vega, vegaReport) = try Timeline.replaying(contentsOfFile: tracePath(vegaTrace), on: context.device)
            _ = try checkTrace(vega, vegaReport)
            #expect(vega.leaks.isEmpty)
            #expect(XMLParser(data: Data(vega.svg().utf8)).parse())
        }
    }

    /// Live: the recorder given to an allocator follows `usage` after every call.
    @Test func aLiveRecorderFollowsTheAllocatorsUsage() throws {
        try withTestDevice { context in
            let recorder = TimelineRecorder()
            var options = AllocatorOptions()
            options.observers = [recorder]
            let allocator = Allocator(device: context.device, options: options)
            let requirements = MemoryRequirements(size: 300_000, alignment: 256, kind: .linear)
            var live: [Allocation] = []
            for index in 0..<6 {
                live.append(try allocator.allocate(requirements, usage: index % 2 == 0 ? .gpuOnly : .staging,
                                                   options: AllocationOptions(name: "live \(index)")))
                let last = try #require(recorder.timeline().samples.last)
                #expect(last.totalCommittedBytes == allocator.usage.committedBytes)
                #expect(last.totalLiveBytes == allocator.usage.liveBytes)
            }
            try allocator.setName("renamed", of: live[0])
            try allocator.free(live[1])
            var timeline = recorder.timeline()
            #expect(timeline.spans.count == 6)
            #expect(timeline.spans[0].name == "renamed" && timeline.spans[1].end != nil && timeline.spans[2].end == nil)
            #expect(timeline.samples.last?.totalLiveBytes == allocator.usage.liveBytes)
            // Times from the clock only move forward.
            #expect(zip(timeline.samples, timeline.samples.dropFirst()).allSatisfy { $0.time <= $1.time })
            recorder.markEnd()
            timeline = recorder.timeline()
            #expect(timeline.leaks.count == 5)
            _ = try ParsedTrace(try timeline.chromeTraceJSON()).checkSpansAreMatched()
            for allocation in live where allocation != live[1] { try allocator.free(allocation) }
            // After the end mark the frees close the spans as leaks and leave the counters be.
            #expect(recorder.timeline().spans.allSatisfy { $0.end != nil })
            #expect(recorder.timeline().samples.count == timeline.samples.count)
        }
    }
}
