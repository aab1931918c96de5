import CoreMetrics
import Synchronization
import VulkanMemory

/// An `AllocationObserver` that reports an allocator's memory through swift-metrics, to
/// whatever backend the program bootstrapped (Prometheus, StatsD, OpenTelemetry…).
///
/// Gauges, per heap (dimension `heap`): `<prefix>_heap_committed_bytes` (`VkDeviceMemory`
/// held), `<prefix>_heap_live_bytes` (in live allocations), `<prefix>_heap_budget_bytes` and
/// `<prefix>_heap_usage_bytes` (`MemoryBudget`: the driver's figures with
/// `VK_EXT_memory_budget`, else the estimate). Counters: `<prefix>_device_memory_allocations`
/// (`vkAllocateMemory` calls), `<prefix>_allocations`, `<prefix>_allocation_failures` (refusals
/// before the driver, dimension `reason`: `budget` or `heap_limit`) and
/// `<prefix>_defragmentation_moved_bytes`.
///
/// It is an observer like any other: an allocator without it pays the observer API's one
/// branch and nothing more, and the allocation path knows nothing of metrics.
///
/// It follows the first allocator it hears from; give each allocator its own observer
/// (with its own prefix) to see several. The budget gauges are read when device memory is
/// allocated or freed (a `vkAllocateMemory` costs far more than the read) and on
/// `refreshBudget()`, which a frame loop may call; other events touch no Vulkan call.
///
/// Thread safety: `observe` may be called from several threads at once (a lock).
public final class MetricsObserver: AllocationObserver {
    private struct Heaps {
        var committed: [Gauge] = []
        var live: [Gauge] = []
        var budget: [Gauge] = []
        var usage: [Gauge] = []
    }

    private struct State {
        var allocator: UInt64?
        var device: VulkanDevice?
        var heapOfType: [Int] = []
        var committedBytes: [UInt64] = []
        var liveBytes: [UInt64] = []
        var gauges = Heaps()
        var failures: [String: Counter] = [:]
    }

    private let prefix: String
    private let factory: any MetricsFactory
    private let deviceMemoryAllocations: Counter
    private let allocations: Counter
    private let movedBytes: Counter
    private let state = Mutex(State())

    /// An observer naming its metrics `<prefix>_…` and making them with `factory` (by
    /// default the one `MetricsSystem.bootstrap` installed).
    public init(prefix: String = "vkmem", factory: any MetricsFactory = MetricsSystem.factory) {
        self.prefix = prefix
        self.factory = factory
        deviceMemoryAllocations = Counter(label: "\(prefix)_device_memory_allocations", dimensions: [], factory: factory)
        allocations = Counter(label: "\(prefix)_allocations", dimensions: [], factory: factory)
        movedBytes = Counter(label: "\(prefix)_defragmentation_moved_bytes", dimensions: [], factory: factory)
    }

    /// One event: updates the gauges and counters it concerns (see `AllocationObserver`).
    public func observe(_ event: AllocationEvent, from allocator: UInt64) {
        state.withLock { state in
            if state.allocator == nil { state.allocator = allocator }
            guard state.allocator == allocator else { return }
            switch event {
            case let .began(device, properties):
                start(device: device, properties: properties, &state)
            case let .allocated(allocated):
                allocations.increment()
                changeLive(of: allocated.allocation, adding: true, &state)
            case let .freed(freed):
                changeLive(of: freed.allocation, adding: false, &state)
            case let .moved(move):
                // The destination was placed when the pass began; its bytes count from
                // the commit, when the source's `.freed` takes those off.
                movedBytes.increment(by: Int64(clamping: move.destination.size))
                changeLive(of: move.destination, adding: true, &state)
            case let .deviceMemoryAllocated(memory):
                deviceMemoryAllocations.increment()
                changeCommitted(memory, adding: true, &state)
            case let .deviceMemoryFreed(memory):
                changeCommitted(memory, adding: false, &state)
            case let .refused(refusal):
                // A category, not the reason's words: those carry byte counts, and a
                // dimension of unbounded values would make a series per refusal.
                let reason = refusal.reason.contains("budget") ? "budget" : "heap_limit"
                let counter = state.failures[reason] ?? Counter(label: "\(prefix)_allocation_failures",
                                                                dimensions: [("reason", reason)], factory: factory)
                state.failures[reason] = counter
                counter.increment()
            case .mapped, .labelChanged, .ended:
                break
            }
        }
    }

    /// Reads the device's budget and usage per heap now (`MemoryBudget`) into the budget
    /// gauges; does nothing before the allocator's first event.
    public func refreshBudget() {
        state.withLock { state in recordBudget(&state) }
    }

    private func start(device: VulkanDevice, properties: MemoryProperties, _ state: inout State) {
        state.device = device
        state.heapOfType = properties.types.map(\.heapIndex)
        state.committedBytes = Array(repeating: 0, count: properties.heaps.count)
        state.liveBytes = state.committedBytes
        func gauges(_ name: String) -> [Gauge] {
            properties.heaps.map { Gauge(label: "\(prefix)_heap_\(name)_bytes", dimensions: [("heap", "\($0.index)")],
                                         factory: factory) }
        }
        state.gauges = Heaps(committed: gauges("committed"), live: gauges("live"), budget: gauges("budget"),
                             usage: gauges("usage"))
        for heap in properties.heaps.indices {
            state.gauges.committed[heap].record(0)
            state.gauges.live[heap].record(0)
        }
        recordBudget(&state)
    }

    private func changeLive(of allocation: Allocation, adding: Bool, _ state: inout State) {
        guard state.heapOfType.indices.contains(allocation.memoryTypeIndex) else { return }
        let heap = state.heapOfType[allocation.memoryTypeIndex]
        state.liveBytes[heap] = adding ? state.liveBytes[heap] + allocation.size
            : state.liveBytes[heap] - min(state.liveBytes[heap], allocation.size)
        state.gauges.live[heap].record(Int64(clamping: state.liveBytes[heap]))
    }

    private func changeCommitted(_ memory: DeviceMemoryEvent, adding: Bool, _ state: inout State) {
        let heap = memory.heapIndex
        guard state.committedBytes.indices.contains(heap) else { return }
        state.committedBytes[heap] = adding ? state.committedBytes[heap] + memory.size
            : state.committedBytes[heap] - min(state.committedBytes[heap], memory.size)
        state.gauges.committed[heap].record(Int64(clamping: state.committedBytes[heap]))
        recordBudget(&state)
    }

    private func recordBudget(_ state: inout State) {
        guard let device = state.device else { return }
        for heap in MemoryBudget(device: device).heaps where state.gauges.budget.indices.contains(heap.heapIndex) {
            state.gauges.budget[heap.heapIndex].record(Int64(clamping: heap.budget))
            state.gauges.usage[heap.heapIndex].record(Int64(clamping: heap.usage))
        }
    }
}
