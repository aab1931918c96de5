import CVulkan
import Synchronization

/// What the allocator remembers about each live suballocation, beside the page's block:
/// plain data, so writing it costs no reference counting.
struct AllocationRecord {
    var fileID: StaticString
    var line: UInt32
    var userData: UInt64
    /// Set by `Page.remember`, from whether a name was given.
    var isNamed = false

    static let empty = AllocationRecord(fileID: "", line: 0, userData: 0)
}

/// One `VkDeviceMemory` shared by many allocations.
///
/// A value stored in its pool's array and mutated in place there, so the allocation path
/// neither copies its tables nor pays for reference counting. Guarded by its pool's lock.
struct Page {
    /// The page's memory; nil once the page was released and its slot awaits reuse.
    var memory: DeviceMemory?
    /// `memory`'s handle, kept apart so building an `Allocation` retains nothing.
    let handle: VkDeviceMemory
    var block: VirtualBlock
    /// Indexed by the block's handle index.
    var records: [AllocationRecord] = []
    /// Names of the allocations that have one, by handle index.
    var names: [UInt32: String] = [:]
    /// Where the whole page is mapped, once something asked for a mapping.
    var mappedBase: UnsafeMutableRawPointer?
    /// The smallest size the page refused since its last free: larger requests skip it
    /// without a search, so full pages cost almost nothing to pass over.
    var refusedSize = UInt64.max
    /// The alignment and kind of that refused request: a request needing less (smaller
    /// alignment, another kind) may still fit and is not skipped.
    var refusedAlignment: UInt64 = 0
    var refusedKind = SuballocationKind.unknown

    init(memory: DeviceMemory, block: VirtualBlock) {
        self.memory = memory
        self.handle = memory.handle
        self.block = block
    }

    mutating func remember(_ handle: VirtualAllocationHandle, _ record: AllocationRecord, name: String?) {
        let index = Int(handle.index)
        if index >= records.count {
            records.append(contentsOf: repeatElement(.empty, count: index + 1 - records.count))
        }
        records[index] = record
        records[index].isNamed = name != nil
        if let name { names[handle.index] = name }
    }

    mutating func forget(_ handle: VirtualAllocationHandle) {
        // Most pages hold no names: skip the record's cache line then.
        if !names.isEmpty, records[Int(handle.index)].isNamed { names[handle.index] = nil }
    }
}

/// The pages of one memory type, behind one lock: the allocator's unit of concurrency.
final class MemoryTypePool: @unchecked Sendable {
    struct State {
        /// Page slots; a released page keeps its slot with `memory` nil. Slot numbers are
        /// reused, the generation tells a reused slot from the page an old allocation
        /// refers to.
        var pages: [Page] = []
        var generations: [UInt32] = []
        var freeSlots: [UInt32] = []
        /// Slots in use, in the order they are searched (oldest first).
        var active: [UInt32] = []
        var emptyPageCount = 0
        /// The page of the last free: tried first, as it has a fresh hole.
        var hint = -1
        var committedBytes: UInt64 = 0
        var liveBytes: UInt64 = 0
        var liveCount = 0
    }

    let typeIndex: Int
    let heapIndex: Int
    /// The heap's size: no request larger than this can be placed in this type.
    let heapSize: UInt64
    let flags: MemoryPropertyFlags
    /// The page size this type grows towards; also the dedicated threshold's base.
    let preferredPageSize: UInt64
    /// Non-coherent host-visible memory: ranges are rounded out to this so a flush of
    /// one never touches a neighbour's atom. 1 elsewhere.
    let atom: UInt64
    let granularity: UInt64
    let state = Locked(State())

    init(type: MemoryType, heap: MemoryHeap, limits: MemoryLimits, options: AllocatorOptions) {
        typeIndex = type.index
        heapIndex = type.heapIndex
        heapSize = heap.size
        flags = type.flags
        preferredPageSize = MemoryTypePool.preferredPageSize(type: type, heap: heap, options: options)
        atom = type.isHostVisible && !type.isHostCoherent ? max(limits.nonCoherentAtomSize, 1) : 1
        granularity = max(limits.bufferImageGranularity, 1)
    }

    /// The page size rules: a per-type or per-heap override, else heap/8 for heaps of
    /// 1 GiB or less, else 128 MiB for device-local and 8 MiB for other types.
    static func preferredPageSize(type: MemoryType, heap: MemoryHeap, options: AllocatorOptions) -> UInt64 {
        if let size = options.pageSizeByType[type.index] { return max(size, 1) }
        if let size = options.pageSizeByHeap[heap.index] { return max(size, 1) }
        if heap.size <= 1 << 30 { return max(heap.size / 8, 1 << 16) }
        return type.isDeviceLocal ? options.deviceLocalPageSize : options.hostPageSize
    }

    /// The size of the next page: it grows with what this type has committed, an eighth at
    /// a time, from an eighth of the preferred size up to the preferred size, so committed
    /// memory stays within about 12% of what is needed while page count stays logarithmic.
    static func nextPageSize(committed: UInt64, preferred: UInt64, needed: UInt64) -> UInt64 {
        let step: UInt64 = 1 << 20
        let floor = max(preferred / 8, min(preferred, step))
        let grown = min(max(committed / 8, floor), preferred)
        let size = max(grown, needed)
        return size % step == 0 ? size : (size / step + 1) * step
    }
}
