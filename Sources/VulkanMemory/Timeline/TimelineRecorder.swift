import Synchronization

/// An observer that keeps an allocator's memory over time, for `timeline()`: give it to
/// the allocator (`AllocatorOptions.observers`) and take the timeline when the work is done.
///
/// The allocation path knows nothing of it: it sees the same events as any observer, so an
/// allocator without one pays the observer API's one branch and nothing more.
///
/// It follows the first allocator it hears from; events of any other are ignored, so one
/// recorder is one timeline. It keeps every change it sees (a sample, and a span per
/// allocation), so it grows with the work observed: record a run, not a whole program.
///
/// Thread safety: `observe` may be called from several threads at once (a lock), and
/// `timeline()`, `markEnd()` and `setTime(seconds:)` from any thread.
public final class TimelineRecorder: AllocationObserver {
    /// Where the times of events come from.
    public enum TimeSource: Sendable, Hashable {
        /// Seconds since the recorder was made, by `ContinuousClock`: live observation.
        case continuousClock
        /// The last `setTime(seconds:)`: a replay stamps each event with its recorded
        /// call's time.
        case manual
    }

    private struct State {
        var allocator: UInt64?
        var deviceName = ""
        var heapOfType: [Int] = []
        var committed: [UInt64] = []
        var live: [UInt64] = []
        var manualTime = 0.0
        var lastTime = 0.0
        var endTime: Double?
        var samples: [Timeline.Sample] = []
        var spans: [Timeline.Span] = []
        var instants: [Timeline.Instant] = []
        /// The open span of each live allocation, by index into `spans`.
        var open: [Allocation: Int] = [:]
    }

    private let source: TimeSource
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    /// A recorder stamping events from `source`.
    public init(timeSource source: TimeSource = .continuousClock) {
        self.source = source
    }

    /// Sets the time of the events that follow, in seconds since the workload began
    /// (with `TimeSource.manual`; ignored otherwise, where the clock says). A time that is
    /// not a finite number (infinity, NaN) is ignored too: the events keep the last one.
    public func setTime(seconds: Double) {
        guard source == .manual, seconds.isFinite else { return }
        state.withLock { $0.manualTime = seconds }
    }

    /// Marks the end of the workload: what is alive now is a leak, and the frees that
    /// follow (a replay's cleanup, an allocator's teardown) close those spans as leaks
    /// without moving the counters, whose story ended here. `AllocationEvent.ended` marks
    /// it too, when not marked before.
    public func markEnd() {
        let now = currentTime()
        state.withLock { state in
            guard state.endTime == nil else { return }
            state.endTime = max(now, state.lastTime)
            state.lastTime = state.endTime!
            for (_, index) in state.open { state.spans[index].isLeak = true }
        }
    }

    /// One event: updates the counters and spans (see `AllocationObserver`).
    public func observe(_ event: AllocationEvent, from allocator: UInt64) {
        let now = currentTime()
        state.withLock { state in
            if state.allocator == nil { state.allocator = allocator }
            guard state.allocator == allocator else { return }
            Self.apply(event, at: now, to: &state)
        }
    }

    /// The timeline so far: spans still open have no end; the peaks and leaks are marked.
    public func timeline() -> Timeline {
        state.withLock { state in
            var instants = state.instants
            if let peak = state.samples.max(by: { $0.totalCommittedBytes < $1.totalCommittedBytes }),
               peak.totalCommittedBytes > 0 {
                instants.append(.init(kind: .peakCommitted, time: peak.time, heapIndex: nil,
                                      bytes: peak.totalCommittedBytes, detail: nil))
            }
            if let peak = state.samples.max(by: { $0.totalLiveBytes < $1.totalLiveBytes }), peak.totalLiveBytes > 0 {
                instants.append(.init(kind: .peakLive, time: peak.time, heapIndex: nil, bytes: peak.totalLiveBytes,
                                      detail: nil))
            }
            for span in state.spans where span.isLeak {
                instants.append(.init(kind: .leak, time: state.endTime ?? state.lastTime, heapIndex: span.heapIndex,
                                      bytes: span.size, detail: span.name))
            }
            // Stable: events of one moment keep the order they happened in.
            let ordered = instants.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            return Timeline(deviceName: state.deviceName, heapCount: state.committed.count, samples: state.samples,
                            spans: state.spans, instants: ordered.map(\.element),
                            duration: state.endTime ?? state.lastTime)
        }
    }

    private func currentTime() -> Double {
        switch source {
        case .manual:
            return state.withLock { $0.manualTime }
        case .continuousClock:
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }

    private static func apply(_ event: AllocationEvent, at now: Double, to state: inout State) {
        // Events of the cleanup after the end mark close spans only.
        let ended = state.endTime != nil
        if !ended { state.lastTime = max(state.lastTime, now) }
        let time = state.endTime ?? state.lastTime
        switch event {
        case let .began(device, properties):
            state.deviceName = device.info.name
            state.heapOfType = properties.types.map(\.heapIndex)
            state.committed = Array(repeating: 0, count: properties.heaps.count)
            state.live = state.committed
        case let .allocated(allocated):
            let allocation = allocated.allocation
            guard !ended, let heap = heap(of: allocation.memoryTypeIndex, in: state) else { return }
            state.live[heap] += allocation.size
            sample(heap, at: time, in: &state)
            state.open[allocation] = state.spans.count
            state.spans.append(.init(id: state.spans.count, name: allocated.options.name, size: allocation.size,
                                     memoryTypeIndex: allocation.memoryTypeIndex, heapIndex: heap,
                                     isDedicated: allocation.isDedicated, start: time, end: nil, isLeak: false))
        case let .freed(freed):
            let allocation = freed.allocation
            if let index = state.open.removeValue(forKey: allocation) { state.spans[index].end = time }
            guard !ended, let heap = heap(of: allocation.memoryTypeIndex, in: state) else { return }
            state.live[heap] -= min(state.live[heap], allocation.size)
            sample(heap, at: time, in: &state)
        case let .labelChanged(label):
            if let index = state.open[label.allocation] { state.spans[index].name = label.name }
        case let .moved(move):
            // The same allocation in a new place: its span goes on under the destination,
            // whose bytes count from now; the source's are dropped by its `.freed`.
            if let index = state.open.removeValue(forKey: move.source) { state.open[move.destination] = index }
            guard !ended, let heap = heap(of: move.destination.memoryTypeIndex, in: state) else { return }
            state.live[heap] += move.destination.size
            sample(heap, at: time, in: &state)
        case let .deviceMemoryAllocated(memory):
            guard !ended, state.committed.indices.contains(memory.heapIndex) else { return }
            state.committed[memory.heapIndex] += memory.size
            sample(memory.heapIndex, at: time, in: &state)
            state.instants.append(.init(kind: .deviceMemoryAllocated, time: time, heapIndex: memory.heapIndex,
                                        bytes: memory.size, detail: memory.isDedicated ? "dedicated" : "page"))
        case let .deviceMemoryFreed(memory):
            guard !ended, state.committed.indices.contains(memory.heapIndex) else { return }
            state.committed[memory.heapIndex] -= min(state.committed[memory.heapIndex], memory.size)
            sample(memory.heapIndex, at: time, in: &state)
            state.instants.append(.init(kind: .deviceMemoryFreed, time: time, heapIndex: memory.heapIndex,
                                        bytes: memory.size, detail: memory.isDedicated ? "dedicated" : "page"))
        case let .refused(refusal):
            guard !ended else { return }
            state.instants.append(.init(kind: .refused, time: time, heapIndex: refusal.heapIndex, bytes: refusal.size,
                                        detail: refusal.reason))
        case .ended:
            guard !ended else { return }
            state.endTime = state.lastTime
            for (_, index) in state.open { state.spans[index].isLeak = true }
        case .mapped:
            break
        }
    }

    private static func heap(of type: Int, in state: State) -> Int? {
        state.heapOfType.indices.contains(type) ? state.heapOfType[type] : nil
    }

    private static func sample(_ heap: Int, at time: Double, in state: inout State) {
        state.samples.append(.init(time: time, heapIndex: heap, committedBytes: state.committed[heap],
                                   liveBytes: state.live[heap], totalCommittedBytes: state.committed.reduce(0, +),
                                   totalLiveBytes: state.live.reduce(0, +)))
    }
}
