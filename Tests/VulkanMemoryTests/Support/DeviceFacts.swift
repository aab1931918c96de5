import Foundation
import Testing
@testable import VulkanMemory

// What the tests read from the device at hand rather than assume from lavapipe (one heap,
// one type that is device-local and host-visible at once, no VK_EXT_memory_budget, two
// cores). On a discrete GPU such as the H200 a plain GPU-only request lands in a type that
// cannot be mapped, a full heap falls back to another heap's types, host-visible memory
// lives on a heap of its own, and the driver's budget figures count every test of the
// process.

extension MemoryProperties {
    /// The bits of the types that draw from heap `heap`.
    func typeBits(onHeap heap: Int) -> UInt32 {
        types.filter { $0.heapIndex == heap && $0.index < 32 }.reduce(UInt32(0)) { $0 | 1 << UInt32($1.index) }
    }

    /// A type that can be mapped: a non-coherent one when the device has one (flushes and
    /// invalidations then reach the driver), else the first host-visible one.
    var mappableType: MemoryType? {
        types.first { $0.isHostVisible && !$0.isHostCoherent } ?? types.first { $0.isHostVisible }
    }
}

extension Allocator {
    /// The type a plain request of `usage` is placed in when nothing is full: its best
    /// candidate. Asking for a mapping changes nothing (it is ignored on a type that
    /// cannot be mapped); use an intent that maps, such as `.dynamic`, for mapped memory.
    func expectedType(for usage: MemoryUsage, memoryTypeBits: UInt32 = .max) -> MemoryType {
        guard let index = rankedTypes(for: .usage(usage, memoryTypeBits: memoryTypeBits)).first else {
            preconditionFailure("no memory type for \(usage) on \(device.info.name)")
        }
        return properties.types[index]
    }

    /// The pool of `expectedType(for:)`.
    func expectedPool(for usage: MemoryUsage) -> MemoryTypePool {
        pools[expectedType(for: usage).index]
    }

    /// Bytes committed per heap, from the statistics.
    var committedByHeap: [UInt64] { statistics().heaps.map(\.committedBytes) }
}

extension AllocatorOptions {
    /// Caps every heap at `bytes`: a cap on one heap alone lets a request that does not fit
    /// fall back to the types of another heap (on a discrete GPU, VRAM to host memory).
    mutating func capEveryHeap(at bytes: UInt64, of properties: MemoryProperties) {
        for heap in properties.heaps { heapSizeLimits[heap.index] = bytes }
    }

    /// Pages of every memory type grow towards `size` (lavapipe has one type; a GPU-only
    /// request on a discrete GPU goes to another type than a mapped or host one).
    mutating func setPageSize(_ size: UInt64, forEveryTypeOf properties: MemoryProperties) {
        for type in properties.types { pageSizeByType[type.index] = size }
    }
}

extension Allocator {
    /// Pretends other threads are allocating `bytes` on `heap`: bytes in flight count
    /// against the budget until the driver's usage shows them. Budget pressure without
    /// allocating anything (the H200's budget is 139.8 GiB). The one place the tests reach
    /// the allocator's budget bookkeeping.
    func simulateBudgetPressure(heap: Int, bytes: UInt64) {
        ledger.setBudgetInFlight(heap: heap, bytes: bytes)
    }
}

/// Threads for the tests that hammer the allocator from many threads at once: at least
/// `minimum`, and one per core where there are more (16 on the GPU machine, 2 here).
func stressThreadCount(minimum: Int) -> Int {
    max(minimum, ProcessInfo.processInfo.activeProcessorCount)
}

/// Checks that `bytes` of this device's memory are allocated on `heap`: the library's own
/// count exactly; `MemoryBudget`'s usage exactly when it is that count (no
/// VK_EXT_memory_budget); with the extension the driver's usage covers the whole process,
/// every test running in parallel included, so it is only at least `bytes`.
func expectHeapUsage(_ device: VulkanDevice, heap: Int, is bytes: UInt64,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(device.accounting.snapshot.bytes[heap] == bytes, "library's count of heap \(heap)",
            sourceLocation: sourceLocation)
    let budget = MemoryBudget(device: device)
    switch budget.source {
    case .estimated:
        #expect(budget.heaps[heap].usage == bytes, "estimated usage of heap \(heap)", sourceLocation: sourceLocation)
    case .memoryBudgetExtension:
        #expect(budget.heaps[heap].usage >= bytes, "driver's usage of heap \(heap)", sourceLocation: sourceLocation)
    }
}

extension Statistics {
    /// Whether two snapshots hold the same allocator state: everything but each heap's
    /// budget and usage as the driver reports them, which on a real GPU move with other
    /// processes and with the tests running beside this one.
    func sameAllocatorState(as other: Statistics) -> Bool {
        device == other.device && totals == other.totals && types == other.types && pages == other.pages
            && dedicated == other.dedicated && heaps.count == other.heaps.count
            && zip(heaps, other.heaps).allSatisfy {
                $0.index == $1.index && $0.size == $1.size && $0.flags == $1.flags && $0.committedBytes == $1.committedBytes
            }
    }
}
