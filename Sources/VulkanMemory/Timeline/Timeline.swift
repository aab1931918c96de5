/// An allocator's memory over time: committed and live bytes per heap after every change,
/// each allocation's lifetime, and the `vkAllocateMemory` / `vkFreeMemory` calls, as a
/// `TimelineRecorder` saw them.
///
/// Written as Chrome's trace-event JSON (`chromeTraceJSON()`, for Perfetto's UI and
/// chrome://tracing) or drawn as an SVG chart (`svg()`); `vkmem timeline` writes both
/// from a VMA recording.
///
/// Thread safety: a value; use from any thread.
public struct Timeline: Sendable, Hashable {
    /// A heap's bytes after a change, with the totals over every heap then.
    public struct Sample: Sendable, Hashable {
        /// Seconds since the timeline began.
        public var time: Double
        /// The heap that changed.
        public var heapIndex: Int
        /// `VkDeviceMemory` bytes held in that heap.
        public var committedBytes: UInt64
        /// Bytes of live allocations in that heap.
        public var liveBytes: UInt64
        /// `VkDeviceMemory` bytes held in every heap.
        public var totalCommittedBytes: UInt64
        /// Bytes of live allocations in every heap.
        public var totalLiveBytes: UInt64
    }

    /// One allocation's life, from the call that made it to the one that freed it.
    public struct Span: Sendable, Hashable {
        /// Unique in the timeline, in order of allocation.
        public var id: Int
        /// The allocation's name (the last one given), if it had one.
        public var name: String?
        /// Bytes.
        public var size: UInt64
        /// The memory type.
        public var memoryTypeIndex: Int
        /// The memory type's heap.
        public var heapIndex: Int
        /// Whether it had a `VkDeviceMemory` of its own.
        public var isDedicated: Bool
        /// Seconds since the timeline began, when it was allocated.
        public var start: Double
        /// When it was freed; nil when it was still alive when the timeline was taken.
        public var end: Double?
        /// Whether it was still alive at the workload's end (`TimelineRecorder.markEnd()`):
        /// a leak, freed (if at all) only by the cleanup after it.
        public var isLeak: Bool
    }

    /// Something that happened at one moment.
    public struct Instant: Sendable, Hashable {
        /// What happened.
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            /// A `VkDeviceMemory` was allocated.
            case deviceMemoryAllocated = "vkAllocateMemory"
            /// A `VkDeviceMemory` was freed.
            case deviceMemoryFreed = "vkFreeMemory"
            /// A heap cap or the budget refused `vkAllocateMemory`.
            case refused = "refused"
            /// The most committed bytes over every heap were first reached.
            case peakCommitted = "peak committed"
            /// The most live bytes over every heap were first reached.
            case peakLive = "peak live"
            /// An allocation still alive at the workload's end.
            case leak = "leak"
        }

        /// What happened.
        public var kind: Kind
        /// Seconds since the timeline began.
        public var time: Double
        /// The heap concerned; nil for a figure over every heap.
        public var heapIndex: Int?
        /// The bytes concerned (the memory's size, the peak, the leaked allocation's size).
        public var bytes: UInt64
        /// More, in words: the refusal's reason, the leaked allocation's name.
        public var detail: String?
    }

    /// The device's name, from the allocator's first event.
    public var deviceName: String
    /// The device's heaps.
    public var heapCount: Int
    /// Every change of a heap's bytes, in order.
    public var samples: [Sample]
    /// Every allocation, in order of allocation.
    public var spans: [Span]
    /// Device memory calls, refusals, peaks and leaks, in order of time.
    public var instants: [Instant]
    /// Seconds from the timeline's beginning to its last event (or to the end mark).
    public var duration: Double

    /// The most `VkDeviceMemory` bytes held over every heap at once.
    public var peakCommittedBytes: UInt64 { samples.map(\.totalCommittedBytes).max() ?? 0 }
    /// The most bytes in live allocations over every heap at once.
    public var peakLiveBytes: UInt64 { samples.map(\.totalLiveBytes).max() ?? 0 }
    /// The allocations alive at the workload's end.
    public var leaks: [Span] { spans.filter(\.isLeak) }
}
