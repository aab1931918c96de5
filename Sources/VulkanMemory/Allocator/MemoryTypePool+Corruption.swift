import CVulkan
import Logging

/// The debugging options a memory type's pages honour (`AllocatorOptions.debugMargin`,
/// `detectCorruption`, `initializeAllocations`), fixed when the pool is made: all off on a
/// type that is not host-visible, where the host can neither fill nor check anything.
struct DebugFill {
    /// The back margin of every range, and the least front margin (which is rounded up to
    /// the allocation's alignment); 0 for none. A power of two and whole atoms on
    /// non-coherent memory, so a flush of the allocation never reaches into its margins.
    let margin: UInt64
    /// Margins carry `magic` and are checked.
    let detectCorruption: Bool
    /// New allocations are filled with `newPattern`, freed ones with `freedPattern`.
    let initialize: Bool
    /// Anything at all: the one branch the allocation and free paths take when it is off.
    let isActive: Bool

    /// What fills a margin: VMA's `VMA_CORRUPTION_DETECTION_MAGIC_VALUE`, little-endian
    /// from the margin's first byte.
    static let magic: UInt32 = 0x7F84_E666
    /// `VMA_DEBUG_INITIALIZE_ALLOCATIONS`'s byte for new allocations (0xDCDCDCDC).
    static let newPattern: UInt8 = 0xDC
    /// The same for freed ranges (0xEFEFEFEF).
    static let freedPattern: UInt8 = 0xEF

    init(options: AllocatorOptions, hostVisible: Bool, atom: UInt64) {
        let margin = hostVisible ? options.effectiveDebugMargin : 0
        self.margin = margin == 0 ? 0 : max(margin, atom)
        detectCorruption = self.margin > 0 && options.detectCorruption
        initialize = hostVisible && options.initializeAllocations
        isActive = self.margin > 0 || initialize
    }

    /// The front margin of a range placed with `alignment`: the margin rounded up to it,
    /// so the allocation after it starts aligned. Both are powers of two.
    @inline(__always)
    func frontMargin(alignment: UInt64) -> UInt64 { margin == 0 ? 0 : max(margin, alignment) }

    /// Fills `count` bytes at `pointer`, `offset` bytes into a margin, with the magic value.
    static func writeMagic(_ pointer: UnsafeMutableRawPointer, count: UInt64) {
        for index in 0..<Int(count) {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: magic >> (UInt32(index & 3) * 8)), toByteOffset: index,
                               as: UInt8.self)
        }
    }

    /// The first and last overwritten byte of a margin of `count` bytes at `pointer`,
    /// relative to it; nil when it still holds the magic value throughout.
    static func overwritten(_ pointer: UnsafeRawPointer, count: UInt64) -> (first: Int, last: Int)? {
        var first = -1
        var last = -1
        for index in 0..<Int(count)
        where pointer.load(fromByteOffset: index, as: UInt8.self) != UInt8(truncatingIfNeeded: magic >> (UInt32(index & 3) * 8)) {
            if first < 0 { first = index }
            last = index
        }
        return first < 0 ? nil : (first, last)
    }
}

/// A margin around an allocation found overwritten (VMA's `vmaCheckCorruption` answering
/// `VK_ERROR_UNKNOWN`, and its assertion on free): which allocation, on which side, where.
///
/// Reported, never trapped on: by `Allocator.checkCorruption(memoryTypeBits:)`, and for a
/// free (which completes: the range is freed all the same) through
/// `Allocator.takeCorruptionReports()` and a swift-log error.
public struct CorruptionReport: Sendable, Hashable, CustomStringConvertible {
    /// Which margin was overwritten.
    public enum Side: String, Sendable, Hashable {
        /// The margin before the allocation's first byte: an underrun.
        case before
        /// The margin after its last byte: an overrun.
        case after
    }

    /// What found it.
    public enum Detection: String, Sendable, Hashable {
        /// `Allocator.free` (or a destroy, or a defragmentation pass freeing a source).
        case free
        /// `Allocator.checkCorruption(memoryTypeBits:)`.
        case check
    }

    /// The allocation whose margin it is: name, size, offset, type, and the call that made it.
    public let allocation: AllocationReport
    /// Which margin.
    public let side: Side
    /// Bytes between the allocation and the overwritten byte nearest to it: 0 for the byte
    /// just past its end, or just before its start.
    public let distance: UInt64
    /// Overwritten bytes in the margin, from the first to the last (those between that
    /// happen to hold the magic value included).
    public let extent: UInt64
    /// What found it.
    public let detection: Detection

    /// "the margin after 'name' … was overwritten: 1 byte(s), 0 bytes past its end
    /// (found on free)".
    public var description: String {
        let place = side == .after ? "\(distance) bytes past its end" : "\(distance) bytes before its start"
        return "the margin \(side.rawValue) \(allocation) was overwritten: \(extent) byte(s), \(place) "
            + "(found on \(detection.rawValue))"
    }
}

extension MemoryTypePool {
    static let debugLogger = Logger(label: "VulkanMemory.Allocator")

    /// The range to place for an allocation of `size` bytes aligned to `alignment`, with
    /// the margins in force, and the record to keep (its front margin noted).
    /// - Complexity: O(1).
    @inline(never)
    func placedSize(_ size: UInt64, alignment: UInt64, record: inout AllocationRecord) -> UInt64 {
        let front = debug.frontMargin(alignment: alignment)
        guard front > 0 else { return size }
        record.frontMarginLog2 = UInt8(front.trailingZeroBitCount)
        return front + size + debug.margin
    }

    /// `finish` for a range placed with the debugging options in force: the allocation
    /// starts after the front margin and ends before the back one; the margins get the
    /// magic value and the allocation the new pattern, as asked.
    @inline(never)
    func finishDebug(_ placed: VirtualAllocation, state: inout State, mapped wantsMapping: Bool, name: String?,
                     record: AllocationRecord) -> Allocation {
        let range = finish(placed, state: &state, mapped: wantsMapping, name: name, record: record)
        return prepare(range, record: record, state: state)
    }

    /// The allocation inside a just-placed range (`range`, as `finish` built it), its
    /// margins and content filled as the options say.
    func prepare(_ range: Allocation, record: AllocationRecord, state: State) -> Allocation {
        let front = record.frontMargin
        let back = front == 0 ? 0 : debug.margin
        let allocation = Allocation(memory: range.memory, offset: range.offset + front, size: range.size - front - back,
                                    memoryTypeIndex: range.memoryTypeIndex,
                                    mappedPointer: range.mappedPointer.map { $0 + Int(front) }, location: range.location,
                                    startedPage: range.startedPage)
        guard let base = state.pages[slot(of: range)].mappedBase else { return allocation }
        if debug.detectCorruption, front > 0 {
            DebugFill.writeMagic(base + Int(range.offset), count: front)
            DebugFill.writeMagic(base + Int(allocation.offset + allocation.size), count: back)
        }
        if debug.initialize {
            (base + Int(allocation.offset)).initializeMemory(as: UInt8.self, repeating: DebugFill.newPattern,
                                                              count: Int(allocation.size))
        }
        return allocation
    }

    /// The local page slot of an allocation of this pool.
    @inline(__always)
    private func slot(of allocation: Allocation) -> Int {
        guard case let .page(slot, _, _) = allocation.location else { preconditionFailure("not a page allocation") }
        return Int(slot & MemoryTypePool.localSlotMask)
    }

    /// The allocation a live range of the arena holds: page-relative offset and size
    /// without its margins.
    @inline(__always)
    func userRegion(offset: UInt64, size: UInt64, record: AllocationRecord) -> (offset: UInt64, size: UInt64) {
        let front = record.frontMargin
        return front == 0 ? (offset, size) : (offset + front, size - front - debug.margin)
    }

    /// The margins of the live allocation `handle` (page `slot`, the allocation at
    /// page-relative `offset`, `size` bytes) that no longer hold the magic value.
    func corruption(of handle: VirtualAllocationHandle, slot: Int, offset: UInt64, size: UInt64,
                    detection: CorruptionReport.Detection, state: State) -> [CorruptionReport] {
        let record = state.records[Int(handle.index)]
        let front = record.frontMargin
        guard debug.detectCorruption, front > 0, let base = state.pages[slot].mappedBase else { return [] }
        var reports: [CorruptionReport] = []
        func report(_ side: CorruptionReport.Side, distance: Int, extent: Int) {
            reports.append(CorruptionReport(
                allocation: AllocationReport(name: state.names[handle.index], size: size, offset: offset,
                                             memoryTypeIndex: typeIndex, isDedicated: false, userData: record.userData,
                                             fileID: record.fileID.description, line: Int(record.line),
                                             aliasCount: state.aliases[handle.index]?.count ?? 0),
                side: side, distance: UInt64(distance), extent: UInt64(extent), detection: detection))
        }
        if let bad = DebugFill.overwritten(base + Int(offset - front), count: front) {
            report(.before, distance: Int(front) - 1 - bad.last, extent: bad.last - bad.first + 1)
        }
        if let bad = DebugFill.overwritten(base + Int(offset + size), count: debug.margin) {
            report(.after, distance: bad.first, extent: bad.last - bad.first + 1)
        }
        return reports
    }

    /// `free` with the debugging options in force: the same checks, then the margins
    /// checked (an overwritten one is kept for `Allocator.takeCorruptionReports()` and
    /// logged; the free completes all the same) and the allocation filled with the freed
    /// pattern, before the range goes back to the arena.
    @inline(never)
    func freeDebug(slot: UInt32, generation: UInt32, handle: VirtualAllocationHandle, memory: VkDeviceMemory,
                   offset: UInt64, keepEmpty: Int) throws(AllocationError) -> FreeOutcome {
        try state.withLock { (state: inout State) throws(AllocationError) -> FreeOutcome in
            let (size, _) = try liveRange(handle, slot: slot, generation: generation, memory: memory, offset: offset,
                                          state: state)
            if state.aliasedCount != 0, let aliases = state.aliases[handle.index] {
                throw .aliasesLive(count: aliases.count)
            }
            let index = Int(slot)
            let freed = releaseRange(handle, slot: index, offset: offset, size: size, state: &state)
            return settleFreed(handle, size: freed, slot: index, keepEmpty: keepEmpty, state: &state)
        }
    }

    /// The size of the live allocation `handle` at page-relative `offset` of page `slot`,
    /// and its range's arena offset; or why it is not one.
    func liveRange(_ handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
                   offset: UInt64, state: State) throws(AllocationError) -> (size: UInt64, rangeOffset: UInt64) {
        let placed = try pageOffset(of: handle, slot: slot, generation: generation, memory: memory, state: state).get()
        guard placed.offset == offset else { throw .unknownAllocation }
        return (placed.size, base(of: Int(slot)) + offset - state.records[Int(handle.index)].frontMargin)
    }

    /// Checks and fills a live allocation of page `slot` as the options say and frees its
    /// range, margins included; the bytes freed from the arena. The caller validated it.
    func releaseRange(_ handle: VirtualAllocationHandle, slot: Int, offset: UInt64, size: UInt64,
                      state: inout State) -> UInt64 {
        let found = corruption(of: handle, slot: slot, offset: offset, size: size, detection: .free, state: state)
        if !found.isEmpty {
            state.corruptions += found
            for report in found { MemoryTypePool.debugLogger.error("memory corruption: \(report)") }
        }
        if debug.initialize, let base = state.pages[slot].mappedBase {
            (base + Int(offset)).initializeMemory(as: UInt8.self, repeating: DebugFill.freedPattern, count: Int(size))
        }
        let at = base(of: slot) + offset - state.records[Int(handle.index)].frontMargin
        do throws(VirtualBlockError) {
            guard let freed = try state.arena.free(handle, at: at) else {
                preconditionFailure("memory type \(typeIndex): a validated range at \(at) did not free")
            }
            return freed
        } catch {
            preconditionFailure("memory type \(typeIndex): a validated range at \(at) did not free: \(error)")
        }
    }

    /// The margins of every live allocation of this pool that no longer hold the magic
    /// value, under its lock.
    /// - Complexity: O(arena ranges + margin bytes).
    func checkCorruption() -> [CorruptionReport] {
        guard debug.detectCorruption else { return [] }
        return state.withLock { state in
            var reports: [CorruptionReport] = []
            forEachPageAllocation(state) { slot, offset, size, _, handle in
                let region = userRegion(offset: offset, size: size, record: state.records[Int(handle.index)])
                reports += corruption(of: handle, slot: slot, offset: region.offset, size: region.size,
                                      detection: .check, state: state)
            }
            return reports
        }
    }

    /// The corruption frees found since the last call, oldest first; forgotten here.
    func takeCorruptionReports() -> [CorruptionReport] {
        state.withLock { state in
            defer { state.corruptions.removeAll() }
            return state.corruptions
        }
    }
}
