import CVulkan
import Synchronization

/// What the allocator remembers about each live suballocation, beside the pool's arena:
/// plain data, so writing it costs no reference counting.
struct AllocationRecord {
    var fileID: StaticString
    var line: UInt32
    var userData: UInt64
    /// Set by `MemoryTypePool.State.remember`, from whether a name was given.
    var isNamed = false
    /// Defragmentation leaves the allocation where it is: the range of a contiguous
    /// group, whose members' offsets other code holds.
    var isPinned = false
    /// A buffer or image is bound to the range: made so by `createBuffer`/`createImage`
    /// or a batch, or claimed by a bind to the allocation. A second bind is refused.
    var isBound = false
    /// log2 of the alignment the resource bound by a claim (`createBuffer(_:boundTo:)`)
    /// needs, when that is more than the allocation was placed with: a defragmentation
    /// move's destination keeps it, so the resource can be re-created there. 0 otherwise.
    var boundAlignmentLog2: UInt8 = 0
    /// log2 of the front margin (`AllocatorOptions.debugMargin`, rounded up to the
    /// allocation's alignment) the range was placed with; 0 when it has no margins. The
    /// back margin is the pool's `debug.margin`. Fits the record's padding: no larger record.
    var frontMarginLog2: UInt8 = 0

    /// The front margin in bytes: 0 without margins.
    @inline(__always)
    var frontMargin: UInt64 { frontMarginLog2 == 0 ? 0 : 1 << UInt64(frontMarginLog2) }
    /// The buffer or image bound to the range and its usage flags, when the allocator
    /// bound it (or a claim did): statistics name each range's resource, as VMA's dump
    /// does. nil while nothing is bound, and for a `.contiguous` group's shared range.
    var resource: BoundResource?

    static let empty = AllocationRecord(fileID: "", line: 0, userData: 0)
}

/// One `VkDeviceMemory` shared by many allocations: a region of its pool's arena.
///
/// A value stored in its pool's array and mutated in place there. Guarded by its pool's
/// lock.
struct Page {
    /// The page's memory; nil once the page was released and its slot awaits reuse.
    var memory: DeviceMemory?
    /// `memory`'s handle, kept apart so building an `Allocation` retains nothing.
    let handle: VkDeviceMemory
    /// The bytes of the arena this page serves, from its slot's base: the memory's size
    /// rounded down to the granularity, so the fence above never shares a granularity
    /// page with an allocation.
    let region: UInt64
    /// Live allocations in the page.
    var liveCount = 0
    /// Where the whole page is mapped, once something asked for a mapping.
    var mappedBase: UnsafeMutableRawPointer?
    /// A defragmentation pass is emptying the page: its free ranges are blocked and it
    /// is neither counted empty nor released until the pass ends.
    var isBeingEmptied = false

    /// Made by `Allocator.reserve`: kept, empty or not, until the reservation is released;
    /// never a defragmentation source.
    var isReserved = false

    /// An incremental defragmentation is draining the page between its passes: its free
    /// ranges, and each range freed in it, are blocked (`State.drainBlockers`), so the
    /// churn in between places nothing there and the page only empties.
    var isDraining = false
    /// The page drains because it was sparse (`AllocatorOptions.drainsSparsePages`), not
    /// for a defragmentation: once empty it goes back to the driver whatever the
    /// empty-page policy says, since keeping it would undo the drain.
    var releasesWhenEmpty = false

    /// Whether the page holds nothing, no pass is emptying it and no reservation keeps
    /// it: it may go back.
    var isRemovable: Bool { liveCount == 0 && !isBeingEmptied && !isReserved }

    init(memory: DeviceMemory, region: UInt64) {
        self.memory = memory
        self.handle = memory.handle
        self.region = region
    }
}

/// The pages of one memory type, behind one lock: the allocator's unit of concurrency.
///
/// All pages of the type live in one TLSF block, the arena: page slot `p` is the range
/// `p * stride ..< p * stride + region`, and fences (allocations of the arena that are
/// not the user's) fill the rest of each slot and every slot without a page, so one
/// search covers every page and no range straddles two. Why, and how pages grow: the
/// DocC article "Pages and the arena" (VulkanMemory.docc/PagesAndTheArena.md).
final class MemoryTypePool: @unchecked Sendable {
    struct State {
        /// Every page of this type, each in its own slot of `stride` bytes.
        var arena: VirtualBlock
        var pages: [Page] = []
        /// Per slot: a page slot's release count, so an allocation of a released page is
        /// told from one of the page that reuses the slot.
        var generations: [UInt32] = []
        /// Per slot: the fence above the page's region (a slot with a page), or over the
        /// whole slot (a released one).
        var fences: [VirtualAllocationHandle] = []
        /// The fence over every slot from `pages.count` on.
        var restFence: VirtualAllocationHandle?
        var freeSlots: [UInt32] = []
        /// Slots in use, oldest first.
        var active: [UInt32] = []
        /// Indexed by the arena's handle index.
        var records: [AllocationRecord] = []
        /// Names of the allocations that have one, by handle index.
        var names: [UInt32: String] = [:]
        /// The lifetimes of the views `Allocator.map` made, by handle index: only mapped
        /// allocations have one, so a free checks an empty dictionary and moves on.
        var viewLifetimes: [UInt32: ViewLifetime] = [:]
        var emptyPageCount = 0
        var committedBytes: UInt64 = 0
        var liveBytes: UInt64 = 0
        var liveCount = 0
        /// A custom pool that `Allocator.destroyPool` destroyed: it makes nothing more.
        var isClosed = false
        /// The resources aliasing live allocations (`Allocator.createAliasingBuffer`), by
        /// handle index: empty unless aliasing is used, so a free checks an empty
        /// dictionary and moves on.
        var aliases: [UInt32: [AliasRecord]] = [:]
        /// `aliases.count`, kept inline so the free path tests a word of the state it
        /// already touches rather than the dictionary's storage.
        var aliasedCount = 0
        /// Margins found overwritten on free, until `Allocator.takeCorruptionReports()`.
        var corruptions: [CorruptionReport] = []
        /// A custom pool's name (`Allocator.setName(_:of:)` changes it); nil for a type's
        /// default pages.
        var name: String?
        /// Dedicated allocations made in this custom pool and not yet freed: the pool
        /// cannot be destroyed while one lives.
        var dedicatedCount = 0
        /// The blockers of each draining page (`Page.isDraining`), by slot: empty unless
        /// an incremental defragmentation drains, so a free tests a word and moves on.
        var drainBlockers: [Int: [VirtualAllocationHandle]] = [:]
        /// An incremental defragmentation works on this type: pages grow in the smallest
        /// steps (`drainedPageSize`), since its passes, not headroom, absorb the churn.
        var movesIncrementally = false
        /// Frees left before the next look for a sparse page to drain
        /// (`startDrainingSparsestPage(state:)`): one decrement on the free path; where
        /// sparse pages never drain it starts at the most and the look returns at once.
        var freesUntilSparseCheck: UInt32 = .max

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
            // Most pools hold no names: skip the record's cache line then.
            if !names.isEmpty, records[Int(handle.index)].isNamed { names[handle.index] = nil }
            if !viewLifetimes.isEmpty, let lifetime = viewLifetimes.removeValue(forKey: handle.index) {
                lifetime.end()
            }
        }

        /// The lifetime the views of a live allocation share, made on its first view.
        mutating func viewLifetime(of handle: VirtualAllocationHandle) -> ViewLifetime {
            if let lifetime = viewLifetimes[handle.index] { return lifetime }
            let lifetime = ViewLifetime()
            viewLifetimes[handle.index] = lifetime
            return lifetime
        }

        /// Ends every view of the pool's allocations: the pool is closed or torn down.
        mutating func endViews() {
            for lifetime in viewLifetimes.values { lifetime.end() }
            viewLifetimes.removeAll()
        }
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
    /// log2 of the arena bytes per page slot: twice the heap's size rounded up to a power
    /// of two, so every page, however large, leaves room for its fence.
    let strideShift: UInt64
    /// The user data that marks the arena's own allocations (fences between pages,
    /// blockers of a defragmentation pass); allocations made for users carry none.
    static let fenceMark: UInt64 = 1

    /// Page slots the arena has: no more pages than this can exist at once.
    let slotCount: Int
    let state: Locked<State>
    /// A custom pool's (`MemoryPool`): every page of exactly this size; nil for a type's
    /// default pages, which grow as `nextPageSize` says.
    let fixedPageSize: UInt64?
    /// The most pages this pool may hold at once (`Int.max` for a type's default pages).
    let maxPages: Int
    /// ORed into the page slots of the allocations this pool makes, so `free` and the
    /// rest find the pool again: 0 for a type's default pages, a custom pool's number
    /// shifted by `slotTagShift` otherwise. Page slots stay below 2^16.
    let slotTag: UInt32
    /// Whether these are a custom pool's pages (`MemoryPool`) rather than a type's own.
    let isCustom: Bool
    /// A custom pool with the linear algorithm (`PoolAlgorithm.linear`): its arena is a
    /// linear block with no fences, see `MemoryTypePool+Linear.swift`.
    let isLinear: Bool
    /// `VK_EXT_memory_priority` priority of every page (a custom pool's
    /// `PoolOptions.priority`); nil for the driver's default.
    let pagePriority: Float?
    /// Handle types every page is exportable as (`PoolOptions.exportHandleTypes`).
    let exportHandleTypes: ExternalMemoryHandleTypes
    /// The least alignment of every range placed: the atom on non-coherent memory, a
    /// custom pool's `minAlignment`, whichever is larger; 1 otherwise. Folded into one
    /// value so the hot path pays one `max` for both.
    let alignmentFloor: UInt64
    static let slotTagShift: UInt32 = 20
    static let localSlotMask: UInt32 = (1 << slotTagShift) - 1

    /// The generation a page slot starts at: 0 for a type's default pages; for a custom
    /// pool, a multiple of 2^16 that no pool made before it in the allocator used.
    let generationBase: UInt32

    /// `AllocatorOptions.drainsSparsePages`, for a type's own pages (never a custom pool's).
    let drainsSparsePages: Bool
    /// `AllocatorOptions.sparseCheckInterval`.
    let sparseCheckInterval: UInt32

    /// Where the pages' memory comes from and goes back to.
    let ledger: MemoryLedger
    /// The debugging options in force on this type (margins, patterns); all off on a type
    /// that is not host-visible.
    let debug: DebugFill

    /// What sets a custom pool's pages apart from a type's own.
    struct CustomSettings {
        var pageSize: UInt64
        var maxPages: Int
        /// The pool's number shifted by `slotTagShift`.
        var tag: UInt32
        var name: String
        var generationBase: UInt32
        var isLinear = false
        var priority: Float?
        var exportHandleTypes: ExternalMemoryHandleTypes = []
        var minAlignment: UInt64 = 1
    }

    init(type: MemoryType, heap: MemoryHeap, limits: MemoryLimits, options: AllocatorOptions, ledger: MemoryLedger,
         custom: CustomSettings? = nil, laneTag: UInt32 = 0) {
        self.ledger = ledger
        typeIndex = type.index
        heapIndex = type.heapIndex
        heapSize = heap.size
        flags = type.flags
        fixedPageSize = custom?.pageSize
        maxPages = custom?.maxPages ?? .max
        slotTag = custom?.tag ?? laneTag
        isCustom = custom != nil
        isLinear = custom?.isLinear ?? false
        drainsSparsePages = options.drainsSparsePages && custom == nil
        sparseCheckInterval = max(options.sparseCheckInterval, 1)
        pagePriority = custom?.priority
        exportHandleTypes = custom?.exportHandleTypes ?? []
        generationBase = custom?.generationBase ?? 0
        preferredPageSize = custom?.pageSize ?? MemoryTypePool.preferredPageSize(type: type, heap: heap, options: options)
        atom = MemoryTypePool.atom(of: type, limits: limits)
        alignmentFloor = max(atom, custom?.minAlignment ?? 1)
        granularity = max(limits.bufferImageGranularity, 1)
        debug = DebugFill(options: options, hostVisible: type.isHostVisible, atom: atom)
        // A heap of 2^k bytes or less gets slots of 2^(k+1); at least 1 MiB per slot.
        let heapBits = UInt64(64 - max(heap.size, 1 << 20).subtractingReportingOverflow(1).partialValue.leadingZeroBitCount)
        strideShift = min(heapBits + 1, 62)
        // Never more slots than device allocations may exist, and the arena within 2^63.
        let bySize = UInt64(1) << min(63 - strideShift, 16)
        let granularity = self.granularity
        if let custom, custom.isLinear {
            // A linear pool of one page is that page alone, so a ring buffer wraps at the
            // page's end and a double stack's upper stack starts there; pages of a larger
            // linear pool follow each other slot by slot (`MemoryTypePool+Linear.swift`).
            slotCount = custom.maxPages == 1 ? 1 : Int(min(bySize, UInt64(max(limits.maxMemoryAllocationCount, 1))))
            let arenaSize = custom.maxPages == 1 ? custom.pageSize / granularity * granularity
                : UInt64(slotCount) << strideShift
            do {
                let arena = try VirtualBlock(size: arenaSize, algorithm: .linear(.automatic), granularity: granularity)
                state = Locked(State(arena: arena, restFence: nil, name: custom.name))
            } catch {
                preconditionFailure("a linear arena of \(arenaSize) bytes must be made: \(error)")
            }
            return
        }
        slotCount = Int(min(bySize, UInt64(max(limits.maxMemoryAllocationCount, 1))))
        let arenaSize = UInt64(slotCount) << strideShift
        do {
            var arena = try VirtualBlock(size: arenaSize, algorithm: .tlsf, granularity: granularity)
            let rest = try arena.allocate(at: 0, size: arenaSize, userData: MemoryTypePool.fenceMark)
            var initial = State(arena: arena, restFence: rest.handle, name: custom?.name)
            if drainsSparsePages { initial.freesUntilSparseCheck = sparseCheckInterval }
            state = Locked(initial)
        } catch {
            preconditionFailure("an empty arena of \(arenaSize) bytes must take its first fence: \(error)")
        }
    }

    /// A custom pool's name now, taking the lock: for error messages and reports made
    /// outside it. nil for a type's own pages.
    var poolName: String? { isCustom ? state.withLock { $0.name } : nil }

    /// The arena offset of page slot `slot`.
    @inline(__always)
    func base(of slot: Int) -> UInt64 { UInt64(slot) << strideShift }

    /// The page slot of arena offset `offset`.
    @inline(__always)
    func slot(of offset: UInt64) -> Int { Int(truncatingIfNeeded: offset >> strideShift) }

    /// The unit ranges of a type are rounded out to: `nonCoherentAtomSize` on
    /// host-visible memory that is not coherent, 1 elsewhere.
    static func atom(of type: MemoryType, limits: MemoryLimits) -> UInt64 {
        type.isHostVisible && !type.isHostCoherent ? max(limits.nonCoherentAtomSize, 1) : 1
    }

    static func preferredPageSize(type: MemoryType, heap: MemoryHeap, options: AllocatorOptions) -> UInt64 {
        if let size = options.pageSizeByType[type.index] { return max(size, 1) }
        if let size = options.pageSizeByHeap[heap.index] { return max(size, 1) }
        if heap.size <= 1 << 30 { return max(heap.size / 8, 1 << 16) }
        // 0 is taken as the least page, as for the per-type and per-heap sizes: a pool's
        // page count divides by it.
        return max(type.isDeviceLocal ? options.deviceLocalPageSize : options.hostPageSize, 1)
    }

    /// The size of the next page.
    ///
    /// Every `VkDeviceMemory` a process holds slows each `vkCreateBuffer` and
    /// `vkBindBufferMemory` on NVIDIA's driver (about 5 ns per memory object per pair), so
    /// pages grow quickly to few; what a large page costs is the part of the last one that
    /// sits unused. While pages fill up (the request failed for want of free bytes) and
    /// the type has committed less than the preferred size, a new page is as large as what
    /// is committed plus an eighth of the preferred size, never larger than the preferred
    /// size: from an empty type, pages of an eighth, a quarter, a half, then the whole
    /// (as VMA grows its blocks), so a program with a few MiB live commits an eighth of the
    /// preferred size, never the whole. Once the type has committed the preferred size, a
    /// page that fills adds a third of what is committed: from then on filling ends at most
    /// a third above the live bytes, room the churn that follows needs anyway (on W3 its
    /// live bytes peak about 10% above where filling ended, and exact best fit needs
    /// 118–123% of the final live bytes); below it, filling can end up to twice the live
    /// bytes plus an eighth of the preferred size. When a request fails although the pages
    /// hold more than four times its size in free bytes, the free space is scattered in
    /// holes too small for it, as it is once allocations are being freed and replaced: then
    /// the page brings committed memory up to 115% of the live bytes, or adds a sixteenth
    /// of what is committed where committed memory is already above that (an eighth of the
    /// preferred size at least, as every page). On W3 (2,000
    /// buffers, 100,000 steps) over 16 seeds: 6–7 pages (6.5 on average), 458.2 MB
    /// committed on average and at most 1 device allocation during the steps, against
    /// 21–24 pages, 473.7 MB and at most 2 with filling pages of a sixteenth of what is
    /// committed and 125% headroom; with 4,000 buffers, 9–10 pages and 890.0 MB against 32–35 and
    /// 918.7 MB. Between an eighth of the preferred size (at least 1 MiB) and the preferred
    /// size, never below `needed`, rounded up to whole MiB (so 1 MiB at least, even where
    /// the preferred size is smaller).
    static func nextPageSize(committed: UInt64, live: UInt64, preferred: UInt64, needed: UInt64) -> UInt64 {
        let step: UInt64 = 1 << 20
        let floor = max(preferred / 8, min(preferred, step))
        let free = committed - min(live, committed)
        let (scattered, overflow) = needed.multipliedReportingOverflow(by: 4)
        let grown: UInt64
        if !overflow, free > scattered {
            // Live bytes never exceed the heap, so 115% of them stays far from overflow.
            // Where committed memory is above that already, a sixteenth of it: pages of a
            // large type, however scattered, then stay few.
            let headroom = live / 20 * 23
            grown = headroom > committed ? headroom - committed : committed / 16
        } else if committed < preferred {
            // Doubling, capped below rather than after so a huge preferred size cannot overflow.
            grown = committed + min(floor, preferred - committed)
        } else {
            grown = committed / 3
        }
        let size = max(min(max(grown, floor), preferred), needed)
        return size % step == 0 ? size : (size / step + 1) * step
    }
}

extension MemoryTypePool {
    /// Calls `body` for each live allocation of every page, in arena order (pages by
    /// slot, allocations by offset), with page-relative offsets; the arena's own fences
    /// and blockers are skipped.
    /// - Complexity: O(arena ranges).
    func forEachPageAllocation(_ state: State, _ body: (_ slot: Int, _ offset: UInt64, _ size: UInt64,
                                                         _ kind: SuballocationKind, _ handle: VirtualAllocationHandle) -> Void) {
        state.arena.forEachAllocation { offset, size, kind, handle, mark in
            guard mark == 0 else { return }
            let slot = self.slot(of: offset)
            body(slot, offset - base(of: slot), size, kind, handle)
        }
    }

    /// Calls `body` for each free range of every page, in arena order, with
    /// page-relative offsets (fences leave free ranges nowhere else).
    /// - Complexity: O(arena ranges).
    func forEachPageFreeRange(_ state: State, _ body: (_ slot: Int, _ offset: UInt64, _ size: UInt64) -> Void) {
        if isLinear {
            forEachLinearPageFreeRange(state, body)
            return
        }
        state.arena.forEachFreeRange { offset, size in
            let slot = self.slot(of: offset)
            body(slot, offset - base(of: slot), size)
        }
    }
}
