import Foundation

extension Timeline {
    /// The timeline as Chrome's trace-event JSON (the "Trace Event Format"), which
    /// Perfetto's UI (ui.perfetto.dev) and chrome://tracing open:
    ///
    /// - a counter (`"ph": "C"`) per heap, `heap N`, with `committed` and `live` bytes,
    ///   and `all heaps` with the totals, after every change;
    /// - each allocation as an async span (`"b"` / `"e"`, category `allocation`, its id)
    ///   named by its name, with its size, type, heap and whether it leaked;
    /// - `vkAllocateMemory`, `vkFreeMemory`, refusals, the peaks and the leaks as
    ///   instants (`"i"`).
    ///
    /// Times (`ts`) are microseconds since the timeline began. Names go through the JSON
    /// encoder, so any name is a valid string.
    ///
    /// - Throws: `TimelineError.encodingFailed` when the encoder refuses a value (a time
    ///   that is not finite).
    public func chromeTraceJSON() throws(TimelineError) -> Data {
        var events: [TraceEvent] = [
            TraceEvent(name: "process_name", ph: "M", ts: 0, tid: 0, args: ["name": .string("vkmem: \(deviceName)")]),
        ]
        for sample in samples {
            events.append(TraceEvent(name: "heap \(sample.heapIndex)", ph: "C", ts: sample.time * 1e6, tid: 0,
                                     args: ["committed": .bytes(sample.committedBytes), "live": .bytes(sample.liveBytes)]))
            events.append(TraceEvent(name: "all heaps", ph: "C", ts: sample.time * 1e6, tid: 0,
                                     args: ["committed": .bytes(sample.totalCommittedBytes),
                                            "live": .bytes(sample.totalLiveBytes)]))
        }
        for span in spans {
            let name = span.name ?? "unnamed allocation"
            events.append(TraceEvent(name: name, ph: "b", ts: span.start * 1e6, tid: 1, cat: "allocation",
                                     id: "\(span.id)",
                                     args: ["size": .bytes(span.size), "memory_type": .bytes(UInt64(span.memoryTypeIndex)),
                                            "heap": .bytes(UInt64(span.heapIndex)), "dedicated": .bool(span.isDedicated)]))
            events.append(TraceEvent(name: name, ph: "e", ts: (span.end ?? duration) * 1e6, tid: 1, cat: "allocation",
                                     id: "\(span.id)", args: ["leaked": .bool(span.isLeak)]))
        }
        for instant in instants {
            var args: [String: TraceEvent.Value] = ["bytes": .bytes(instant.bytes)]
            if let heap = instant.heapIndex { args["heap"] = .bytes(UInt64(heap)) }
            if let detail = instant.detail { args["detail"] = .string(detail) }
            let name = instant.kind == .leak ? "leak: \(instant.detail ?? "unnamed allocation")" : instant.kind.rawValue
            // Peaks and leaks concern the whole process; calls, their own moment.
            let scope = [.peakCommitted, .peakLive, .leak].contains(instant.kind) ? "p" : "t"
            events.append(TraceEvent(name: name, ph: "i", ts: instant.time * 1e6, tid: 2, cat: "memory", s: scope,
                                     args: args))
        }
        let trace = TraceFile(traceEvents: events,
                              otherData: ["device": deviceName, "peak_committed_bytes": "\(peakCommittedBytes)",
                                          "peak_live_bytes": "\(peakLiveBytes)"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return try encoder.encode(trace)
        } catch {
            throw .encodingFailed(reason: "\(error)")
        }
    }
}

/// The file: the events, and facts about the trace that viewers show as metadata.
private struct TraceFile: Encodable {
    var traceEvents: [TraceEvent]
    var displayTimeUnit = "ms"
    var otherData: [String: String]
}

/// One trace event, with the fields the format names.
private struct TraceEvent: Encodable {
    /// An argument: a number of bytes (an index), a flag or words.
    enum Value: Encodable {
        case bytes(UInt64)
        case bool(Bool)
        case string(String)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .bytes(value): try container.encode(value)
            case let .bool(value): try container.encode(value)
            case let .string(value): try container.encode(value)
            }
        }
    }

    var name: String
    var ph: String
    var ts: Double
    var pid = 1
    var tid: Int
    var cat: String?
    var id: String?
    var s: String?
    var args: [String: Value]

    init(name: String, ph: String, ts: Double, tid: Int, cat: String? = nil, id: String? = nil, s: String? = nil,
         args: [String: Value]) {
        (self.name, self.ph, self.ts, self.tid, self.cat, self.id, self.s, self.args) = (name, ph, ts, tid, cat, id, s, args)
    }
}
